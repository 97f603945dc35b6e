//! Block sync's I/O: a lagging or restarted node asks peers for certified blocks after its tip
//! (every second, or at once when the engine sees later heights), has the engine's
//! `sync::verify_response` check them off the async threads (certificate before transactions),
//! and hands them to the engine. It also serves peers' requests from the block store. A peer
//! whose answer does not verify is reported.
use super::driver::DriverEvent;
use super::shared::Shared;
use anyhow::Result;
use cairn_engine::{sync, Event, Signers};
use cairn_mempool::Mempool;
use cairn_network::{NetworkHandle, PeerId};
use cairn_proto::pb;
use cairn_state::State;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

pub struct Syncer {
    pub net: NetworkHandle,
    pub state: State,
    pub mempool: Arc<Mempool>,
    pub shared: Arc<Shared>,
    pub chain_id: String,
    pub driver: mpsc::Sender<DriverEvent>,
    /// Blocks asked for per request.
    pub batch: u32,
}

impl Syncer {
    /// Polls a peer every second (or at once, from the hinted peer, when the engine sees we are
    /// behind), rotating through peers.
    pub async fn run(self) {
        let mut turn = 0usize;
        loop {
            let hint = tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => None,
                hint = self.shared.wait_sync_wanted() => hint,
            };
            let peers = self.net.peers();
            if peers.is_empty() {
                continue;
            }
            turn = turn.wrapping_add(1);
            let Some(peer) = hint.or_else(|| peers[turn % peers.len()].peer_id.parse().ok()) else { continue };
            // Keep pulling from this peer while it has more for us.
            loop {
                match self.pull(peer).await {
                    Ok(true) => continue,
                    Ok(false) => break,
                    Err(e) => {
                        tracing::debug!(%peer, "sync request failed: {e:#}");
                        break;
                    }
                }
            }
        }
    }

    /// One request; `Ok(true)` when verified blocks were handed over and the peer has more.
    async fn pull(&self, peer: PeerId) -> Result<bool> {
        let from = self.state.latest_height() + 1;
        let resp = self
            .net
            .request_blocks(peer, pb::SyncRequest { from_height: from, max_blocks: self.batch, snapshot: None })
            .await?;
        // The sets that sign `from` and the height after: both decided once `from - 1` is.
        let set_at = |h| self.state.validator_set_at(h)?.ok_or_else(|| anyhow::anyhow!("no validator set for {h}"));
        let signers = Signers { current: set_at(from)?, next: set_at(from + 1)? };
        let (mempool, chain_id) = (self.mempool.clone(), self.chain_id.clone());
        let verified = tokio::task::spawn_blocking(move || {
            sync::verify_response(resp, from, &chain_id, &signers, |h| mempool.get(h))
        })
        .await?;
        let blocks = match verified {
            Ok(blocks) => blocks,
            Err(e) => {
                tracing::warn!(%peer, "peer sent blocks that do not verify: {e}");
                self.net.report_misbehaviour(peer, "invalid_sync_response");
                return Ok(false);
            }
        };
        let n = blocks.len() as u64;
        // Even an empty answer goes to the engine: it ends a `syncing` state.
        self.driver.send(DriverEvent::Engine(Event::Synced(blocks))).await.ok();
        if n == 0 {
            return Ok(false);
        }
        tracing::info!(from, n, "synced blocks from a peer");
        // Let the engine commit before asking for more.
        for _ in 0..200 {
            if self.state.latest_height() + 1 >= from + n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(self.shared.syncing())
    }
}

/// The block store as the engine's sync source.
pub struct StoreSource<'a>(pub &'a State);

impl sync::BlockSource for StoreSource<'_> {
    fn latest_height(&self) -> u64 {
        self.0.latest_height()
    }
    fn block_pb(&self, height: u64) -> Option<pb::CertifiedBlock> {
        self.0.block(height).ok().flatten().map(|cb| cb.to_pb())
    }
}
