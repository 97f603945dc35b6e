//! State sync, the serving side: the newest snapshot of the accounts, made every
//! `snapshot_interval` heights on a blocking thread after the commit (`State::snapshot_chunks`,
//! about 0.5 s at 1M accounts) and kept encoded in memory, the newest two (so a joiner that
//! started on one finishes it while the next is made; older ones are dropped); and
//! the answers to a peer's `SnapshotRequest` (the manifest, a chunk, a height's validator set).
use cairn_proto::pb;
use cairn_state::State;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Snapshots kept: the newest and the one before.
const KEPT: usize = 2;

/// One snapshot, as sent.
struct Served {
    manifest: pb::SnapshotManifest,
    chunks: Vec<pb::SnapshotChunk>,
}

pub struct Snapshots {
    interval: u64,
    /// The newest snapshot last.
    kept: Mutex<Vec<Arc<Served>>>,
    making: AtomicBool,
}

impl Snapshots {
    pub fn new(interval: u64) -> Arc<Self> {
        Arc::new(Snapshots { interval, kept: Mutex::new(Vec::new()), making: AtomicBool::new(false) })
    }

    /// Called after each commit: starts a snapshot of `height` when it is due and none is
    /// being made (a slow one makes the next due height wait, never two at once).
    pub fn committed(self: &Arc<Self>, rt: &tokio::runtime::Handle, state: &State, height: u64) {
        if self.interval == 0 || !height.is_multiple_of(self.interval) || self.making.swap(true, Ordering::AcqRel) {
            return;
        }
        let (me, state) = (self.clone(), state.clone());
        rt.spawn_blocking(move || {
            match state.snapshot_chunks(height) {
                Ok((manifest, chunks)) => {
                    let chunks = chunks.iter().map(|c| c.to_pb(height)).collect();
                    let mut kept = me.kept.lock();
                    kept.push(Arc::new(Served { manifest: manifest.to_pb(), chunks }));
                    let excess = kept.len().saturating_sub(KEPT);
                    kept.drain(..excess);
                    drop(kept);
                    let accounts: u64 = manifest.chunks.iter().map(|c| c.accounts).sum();
                    tracing::info!(height, accounts, "state snapshot made");
                }
                Err(e) => tracing::warn!(height, %e, "state snapshot failed"),
            }
            me.making.store(false, Ordering::Release);
        });
    }

    /// The answer to a snapshot request: empty fields when this node has nothing to say.
    pub fn answer(&self, state: &State, req: &pb::SnapshotRequest) -> pb::SyncResponse {
        use pb::snapshot_request::What;
        let kept = self.kept.lock().clone();
        let mut res = pb::SyncResponse { latest_height: state.latest_height(), ..Default::default() };
        match req.what {
            Some(What::Manifest(_)) => res.manifest = kept.last().map(|s| s.manifest.clone()),
            Some(What::Chunk(i)) => {
                let of_height = kept.iter().find(|s| s.manifest.height == req.height);
                res.chunk = of_height.and_then(|s| s.chunks.get(i as usize).cloned())
            }
            Some(What::ValidatorsAt(h)) => res.validators = state.validator_set_at(h).ok().flatten().map(|s| s.to_pb()),
            None => {}
        }
        res
    }
}
