//! `cairn snapshot export|import`: back up and restore a stopped node's state database.
use crate::home::Home;
use anyhow::{Context, Result};
use std::path::Path;

pub fn export(home: &Path, out: &Path) -> Result<()> {
    let home = Home::require(home)?;
    let height = cairn_state::export_snapshot(&home.state_dir(), out).context("snapshot export failed")?;
    println!("exported state at height {height} to {}", out.display());
    Ok(())
}

pub fn import(home: &Path, from: &Path) -> Result<()> {
    let home = Home::require(home)?;
    let height = cairn_state::import_snapshot(from, &home.state_dir()).context("snapshot import failed")?;
    println!("imported state at height {height} into {}", home.state_dir().display());
    Ok(())
}
