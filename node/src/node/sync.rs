//! Block sync: a lagging or restarted node asks peers for certified blocks after its tip,
//! verifies each certificate against the validator set, and hands the blocks to the driver.
//! It also serves the same requests from its own block store.
use super::driver::DriverEvent;
use super::shared::Shared;
use anyhow::{Context, Result};
use cairn_mempool::Mempool;
use cairn_network::NetworkHandle;
use cairn_proto::{pb, CertifiedBlock, ValidatorSet};
use cairn_state::State;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, Notify};

/// Blocks per request, and the most bytes one response may carry.
const BATCH: u32 = 32;
const RESPONSE_BYTES: usize = 6 << 20;

pub struct Syncer {
    pub net: NetworkHandle,
    pub state: State,
    pub mempool: Arc<Mempool>,
    pub shared: Arc<Shared>,
    pub chain_id: String,
    pub validators: ValidatorSet,
    pub driver: mpsc::Sender<DriverEvent>,
    pub behind: Arc<Notify>,
}

impl Syncer {
    /// Polls a peer every second (or at once when the driver sees we are behind) for blocks
    /// after our tip, rotating through peers.
    pub async fn run(self) {
        let mut turn = 0usize;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = self.behind.notified() => {}
            }
            let peers = self.net.peers();
            if peers.is_empty() {
                continue;
            }
            turn = turn.wrapping_add(1);
            let peer = &peers[turn % peers.len()];
            let Ok(peer_id) = peer.peer_id.parse() else { continue };
            // Keep pulling from this peer while it has more for us.
            loop {
                match self.pull(peer_id).await {
                    Ok(true) => continue,
                    Ok(false) => break,
                    Err(e) => {
                        tracing::debug!(peer = %peer.peer_id, "sync request failed: {e:#}");
                        break;
                    }
                }
            }
        }
    }

    /// One request; `Ok(true)` when blocks were applied and the peer has more.
    async fn pull(&self, peer: cairn_network::PeerId) -> Result<bool> {
        let from = self.state.latest_height() + 1;
        let resp = self.net.request_blocks(peer, pb::SyncRequest { from_height: from, max_blocks: BATCH }).await?;
        let behind = resp.latest_height > from;
        self.shared.set_syncing(behind);
        if resp.blocks.is_empty() {
            return Ok(false);
        }
        let (mempool, chain_id, validators) = (self.mempool.clone(), self.chain_id.clone(), self.validators.clone());
        let blocks = tokio::task::spawn_blocking(move || -> Result<Vec<CertifiedBlock>> {
            let mut out = vec![];
            for (i, b) in resp.blocks.into_iter().enumerate() {
                let cb = CertifiedBlock::from_pb(b, |h| mempool.get(h)).context("peer sent an invalid block")?;
                anyhow::ensure!(cb.block.header.height == from + i as u64, "peer sent blocks out of order");
                cb.certificate.verify_for(&chain_id, &validators, &cb.block).context("peer sent a bad certificate")?;
                out.push(cb);
            }
            Ok(out)
        })
        .await??;
        let n = blocks.len();
        for cb in blocks {
            self.driver.send(DriverEvent::Synced(cb)).await.ok();
        }
        tracing::info!(from, n, "synced blocks from a peer");
        // Let the driver commit before asking for more.
        for _ in 0..200 {
            if self.state.latest_height() + 1 >= from + n as u64 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(behind)
    }
}

/// Answers a peer's sync request from the block store.
pub fn serve(state: &State, req: &pb::SyncRequest) -> pb::SyncResponse {
    let latest = state.latest_height();
    let mut blocks = vec![];
    let mut bytes = 0;
    let max = req.max_blocks.clamp(1, BATCH) as u64;
    for h in req.from_height.max(1)..=latest.min(req.from_height.saturating_add(max - 1)) {
        match state.block(h) {
            Ok(Some(cb)) => {
                let pb = cb.to_pb();
                bytes += prost::Message::encoded_len(&pb);
                blocks.push(pb);
                if bytes > RESPONSE_BYTES {
                    break;
                }
            }
            _ => break,
        }
    }
    pb::SyncResponse { blocks, latest_height: latest }
}
