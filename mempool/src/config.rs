//! The mempool's configuration, the small types of its public API, and the trait through
//! which it reads committed account state.
use cairn_proto::config_serde::{millis, secs};
use cairn_proto::{Account, Address, MIN_FEE};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// What the mempool needs from committed state (the node adapts cairn-state to it).
///
/// Called only when a sender without pending transactions submits one (to seed its queue), and
/// in `on_commit` for senders of committed transactions that `touched` did not list.
pub trait AccountSource: Send + Sync + 'static {
    /// The committed account; an absent account is `Account::default()` (balance 0, nonce 0).
    fn account(&self, address: &Address) -> Account;

    /// The committed account, or `None` when state holds no record of it (an address that was
    /// never funded): such a sender is refused before its signature is checked. The default
    /// reads `account` and takes an all-zero account for absent — an account at balance 0
    /// cannot pay the least fee either, so only the refusal's message can differ; a source
    /// that knows presence (the node's state store) should say so.
    fn record(&self, address: &Address) -> Option<Account> {
        Some(self.account(address)).filter(|a| *a != Account::default())
    }
}

/// Limits and policy. `Default` gives the documented defaults for chain `cairn-local`. The same
/// struct is the `[mempool]` section of the node's `config.toml` (where `chain_id` is not a
/// key: the node takes it from the genesis).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MempoolConfig {
    /// Transactions with another chain id are refused (`wrong_chain_id`).
    #[serde(skip)]
    pub chain_id: String,
    /// Most transactions held at once (`mempool_full` beyond, after trying eviction).
    pub max_txs: usize,
    /// Most encoded bytes held at once.
    pub max_bytes: usize,
    /// Largest encoded SignedTx accepted (`tx_too_large`).
    pub max_tx_bytes: usize,
    /// Most pending transactions per sender (`sender_limit`).
    pub sender_limit: usize,
    /// Nonces from the committed nonce up to `committed + nonce_window - 1` are accepted
    /// (future ones wait in the parking lot); beyond that, `nonce_too_high`.
    pub nonce_window: u64,
    /// Lowest fee accepted (`fee_too_low`). At least `cairn_proto::MIN_FEE` (1), which every
    /// transaction must pay to execute: a lower setting is raised to it.
    pub min_fee: u64,
    /// How long a transaction may wait before `evict_expired` drops it.
    #[serde(rename = "ttl_secs", with = "secs")]
    pub ttl: Duration,
    /// Most transactions checked in one ed25519 batch: a larger submission is cut into batches
    /// of this size, verified in parallel on rayon's pool. Larger batches cost less per
    /// signature (`cargo bench -p cairn-benches --bench crypto`); smaller ones spread one
    /// submission over more cores.
    pub verify_batch: usize,
    /// Most transactions in one gossip batch.
    pub gossip_batch: usize,
    /// Longest a locally admitted transaction waits for its gossip batch to fill.
    #[serde(rename = "gossip_interval_ms", with = "millis")]
    pub gossip_interval: Duration,
    /// Most gossip batches waiting for the network; beyond, batches are dropped (never blocks).
    pub gossip_channel: usize,
    /// How many recently committed transaction hashes are remembered to refuse replays as
    /// `duplicate`: at least the last half of this many, at most this many (they age out half
    /// at a time). Older replays are still refused, as `nonce_too_low`.
    pub recent_committed: usize,
}

impl Default for MempoolConfig {
    fn default() -> Self {
        MempoolConfig {
            chain_id: "cairn-local".to_string(),
            max_txs: 200_000,
            max_bytes: 128 << 20,
            max_tx_bytes: 4096,
            sender_limit: 256,
            nonce_window: 64,
            min_fee: MIN_FEE,
            ttl: Duration::from_secs(600),
            verify_batch: crate::VERIFY_CHUNK,
            gossip_batch: 256,
            gossip_interval: Duration::from_millis(10),
            gossip_channel: 1024,
            recent_committed: 100_000,
        }
    }
}

impl MempoolConfig {
    /// Zero limits that would make the pool unusable are raised to 1, and the fee floor to the
    /// protocol's (a tx below it could only fail in execution).
    pub(crate) fn sanitized(mut self) -> Self {
        self.min_fee = self.min_fee.max(MIN_FEE);
        self.max_txs = self.max_txs.max(1);
        self.max_bytes = self.max_bytes.max(1);
        self.sender_limit = self.sender_limit.max(1);
        self.nonce_window = self.nonce_window.max(1);
        self.verify_batch = self.verify_batch.max(1);
        self.gossip_batch = self.gossip_batch.max(1);
        self.gossip_channel = self.gossip_channel.max(1);
        self
    }
}

/// Where a transaction came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Origin {
    /// From this node's RPC: gossiped onwards once admitted.
    Local,
    /// From a peer's gossip: not gossiped again.
    Peer,
}

impl Origin {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Origin::Local => "local",
            Origin::Peer => "peer",
        }
    }
}

/// What `mempool_status` reports (SPEC §4).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MempoolStatus {
    /// Transactions held.
    pub size: usize,
    /// Their encoded bytes.
    pub bytes: usize,
    /// `max_txs`.
    pub capacity: usize,
}
