//! `cairn keys generate|show`.
use crate::home::{write_key_file, Home, KeyFile};
use anyhow::Result;
use cairn_proto::Keypair;
use std::path::Path;

pub fn generate(out: Option<&Path>) -> Result<()> {
    let key = Keypair::generate();
    match out {
        Some(path) => {
            write_key_file(path, &key)?;
            println!("address: {}\nwritten to {} (mode 0600)", key.address(), path.display());
        }
        None => println!("{}", serde_json::to_string_pretty(&KeyFile::new(&key))?),
    }
    Ok(())
}

pub fn show(home: &Path) -> Result<()> {
    let key = Home::require(home)?.load_key()?;
    let kf = KeyFile::new(&key);
    println!("address: {}\npeer_id: {}", kf.address, kf.peer_id);
    Ok(())
}
