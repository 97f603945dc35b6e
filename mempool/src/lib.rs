#![doc = include_str!("../README.md")]

mod admit;
mod commit;
mod config;
mod error;
mod gossip;
mod metrics;
pub mod peer;
mod reap;
mod sender;
mod submit;

pub use config::{AccountSource, MempoolConfig, MempoolStatus, Origin};
pub use error::AdmitError;
pub use gossip::GossipReceiver;
pub use submit::{PeerBatch, VERIFY_CHUNK};

use cairn_proto::{Address, Hash, VerifiedTx};
use commit::RecentlyCommitted;
use crossbeam_skiplist::SkipMap;
use gossip::Gossip;
use metrics::Metrics;
use sender::{Entry, FeeKey, SenderQueue, Slot};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

/// The hasher of every map keyed by an address or a hash: foldhash (quality variant), seeded
/// at random per process and per map. Keys can be chosen by an attacker (addresses are ground
/// keys, hashes are ground bodies), so the hash must be keyed: without the seed nobody can
/// aim many keys at one bucket. It is several times cheaper than SipHash on 32-byte keys.
pub(crate) type KeyHasher = foldhash::quality::RandomState;

/// The transaction pool. `Send + Sync`: share it as `Arc<Mempool>`; every method takes `&self`.
pub struct Mempool {
    config: MempoolConfig,
    accounts: Arc<dyn AccountSource>,
    /// Sender → its nonce-ordered queue, held in the map's own entry (no allocation of its
    /// own). A queue exists exactly while it holds a transaction.
    senders: papaya::HashMap<Address, SenderQueue, KeyHasher>,
    /// Hash → entry, for `get`/`contains`, duplicate refusal and the TTL sweep.
    by_hash: papaya::HashMap<Hash, Entry, KeyHasher>,
    /// Every pending transaction, best first (highest fee, then oldest): reap walks it
    /// forwards, eviction backwards.
    by_fee: SkipMap<FeeKey, Slot>,
    recent: RecentlyCommitted,
    /// Transactions and bytes held or reserved by admissions in flight.
    size: AtomicUsize,
    bytes: AtomicUsize,
    /// Arrival order, for FIFO among equal fees.
    seq: AtomicU64,
    /// Bumped by each `on_commit`; see `admit::new_queue`.
    commit_epoch: AtomicU64,
    gossip: Gossip,
    metrics: Metrics,
}

/// Initial (and least) capacity of the maps that hold at most `max_txs` entries. Small: they
/// grow to what the pool holds and shrink back once it empties. A map sized for a full pool
/// (200k by default) spread a few thousand live entries over megabytes of slots, a cache miss
/// per probe; and it gains nothing against churn: papaya reuses no tombstone, so a map copies
/// itself once inserts have filled its slots, the same work per insert at any size.
fn initial_capacity(max_txs: usize) -> usize {
    max_txs.min(1 << 14)
}

impl Mempool {
    /// A pool that registers its metrics in `registry`.
    ///
    /// # Panics
    /// If the metrics are already registered there (a second pool on the same registry); use
    /// [`Mempool::try_new`] to handle that.
    pub fn new(config: MempoolConfig, accounts: Arc<dyn AccountSource>, registry: &prometheus::Registry) -> Self {
        Self::try_new(config, accounts, registry).expect("mempool metrics already registered in this registry")
    }

    /// Like [`Mempool::new`], but reports a metrics registration failure.
    pub fn try_new(
        config: MempoolConfig,
        accounts: Arc<dyn AccountSource>,
        registry: &prometheus::Registry,
    ) -> Result<Self, prometheus::Error> {
        let config = config.sanitized();
        let metrics = Metrics::new(registry, config.max_txs)?;
        Ok(Mempool {
            gossip: Gossip::new(&config, metrics.gossip_dropped.clone()),
            recent: RecentlyCommitted::new(config.recent_committed),
            accounts,
            senders: papaya::HashMap::with_capacity_and_hasher(initial_capacity(config.max_txs), KeyHasher::default()),
            by_hash: papaya::HashMap::with_capacity_and_hasher(initial_capacity(config.max_txs), KeyHasher::default()),
            by_fee: SkipMap::new(),
            size: AtomicUsize::new(0),
            bytes: AtomicUsize::new(0),
            seq: AtomicU64::new(0),
            commit_epoch: AtomicU64::new(0),
            metrics,
            config,
        })
    }

    pub fn config(&self) -> &MempoolConfig {
        &self.config
    }

    /// The pending transaction with this hash. The node uses it to skip re-verifying
    /// proposal transactions it already holds.
    pub fn get(&self, hash: &Hash) -> Option<VerifiedTx> {
        self.by_hash.pin().get(hash).map(|e| e.tx.clone())
    }

    pub fn contains(&self, hash: &Hash) -> bool {
        self.by_hash.pin().contains_key(hash)
    }

    /// Number of pending transactions of `sender` (0 if none).
    pub fn sender_pending(&self, sender: &Address) -> usize {
        self.senders.pin().get(sender).map_or(0, |q| q.state.lock().len())
    }

    /// `{size, bytes, capacity}` for `mempool_status`.
    pub fn status(&self) -> MempoolStatus {
        MempoolStatus {
            size: self.size.load(Ordering::Acquire),
            bytes: self.bytes.load(Ordering::Acquire),
            capacity: self.config.max_txs,
        }
    }

    /// Locally admitted transactions, in batches of up to `gossip_batch`, for the network to
    /// gossip. Bounded: when the network falls behind, batches are dropped (and counted in
    /// `cairn_mempool_gossip_dropped_total`); admission never blocks. Call once; nothing is
    /// queued for gossip before the first call, and a second call gets a closed receiver.
    pub fn gossip_receiver(&self) -> GossipReceiver {
        self.gossip.subscribe()
    }

    /// Copies the atomic counters into the gauges (after each public call that changes them).
    fn sync_gauges(&self) {
        self.metrics.size.set(self.size.load(Ordering::Relaxed) as i64);
        self.metrics.bytes.set(self.bytes.load(Ordering::Relaxed) as i64);
    }
}
