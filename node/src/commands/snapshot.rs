//! `cairn snapshot export|import`: back up and restore a stopped node's state database, with
//! a progress bar of the bytes copied and a spinner while the import recomputes the root.
use crate::config::NodeConfig;
use crate::home::Home;
use crate::progress::{dir_bytes, CopyWatch};
use anyhow::{Context, Result};
use cairn_state::{State, StateConfig};
use std::path::Path;

/// The `[state]` section of the home's config (RocksDB cache and buffer sizes, as the node uses).
fn state_config(home: &Home) -> Result<StateConfig> {
    Ok(NodeConfig::load(&home.config(), std::env::vars())?.state)
}

pub fn export(home: &Path, out: &Path) -> Result<()> {
    let home = Home::require(home)?;
    let state = State::open(&home.state_dir(), state_config(&home)?)
        .context("cannot open the state database (is the node still running?)")?;
    let watch =
        CopyWatch::start(out.to_path_buf(), dir_bytes(&home.state_dir()), "exporting", "finishing the checkpoint");
    let info = state.export_snapshot(out).context("snapshot export failed");
    drop(watch);
    let info = info?;
    println!("exported height {} (state root {}) to {}", info.height, info.state_root, out.display());
    Ok(())
}

pub fn import(home: &Path, from: &Path) -> Result<()> {
    let home = Home::require(home)?;
    let config = state_config(&home)?;
    let watch = CopyWatch::start(
        home.state_dir(),
        dir_bytes(from),
        "importing",
        "recomputing the state root from every account",
    );
    let state = State::import_snapshot(from, &home.state_dir(), config, None);
    drop(watch);
    let state =
        state.context("snapshot import failed (the node's state directory must be empty: move it away first)")?;
    println!(
        "imported height {} (state root {}, recomputed and checked) into {}",
        state.latest_height(),
        state.state_root(),
        home.state_dir().display()
    );
    Ok(())
}
