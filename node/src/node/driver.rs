//! The consensus thread: owns the engine (and through it the state machine, the WAL and the
//! state store's write side) and feeds it events until shutdown. Everything it does is the
//! engine's; this file is only the loop.
use super::host::NodeHost;
use anyhow::{Context, Result};
use cairn_consensus::WalEntry;
use cairn_engine::{Engine, Event, SignPoint};
use cairn_network::PeerId;
use tokio::sync::mpsc;

/// What the consensus thread receives (`Shutdown` is rare, so its size does not matter).
#[allow(clippy::large_enum_variant)]
pub enum DriverEvent {
    Engine(Event<PeerId>),
    Shutdown,
}

/// Starts the engine (WAL replay, signing floor) and serves events until `Shutdown` or until
/// every sender is gone. An engine error (a failed commit or fsync) stops the node.
pub fn run(
    mut engine: Engine<NodeHost>,
    wal: Vec<WalEntry>,
    signed: Option<SignPoint>,
    mut rx: mpsc::Receiver<DriverEvent>,
) -> Result<()> {
    engine.start(wal, signed).context("starting consensus")?;
    while let Some(ev) = rx.blocking_recv() {
        match ev {
            DriverEvent::Engine(ev) => engine.handle(ev).context("consensus engine stopped")?,
            DriverEvent::Shutdown => break,
        }
    }
    tracing::info!("consensus driver stopped");
    Ok(())
}
