//! The interface between the RPC servers and the node: the `NodeApi` trait the node implements,
//! and the plain data types it returns. Both servers (JSON-RPC and gRPC) are thin translations
//! of these calls, so every method means the same thing on both.
use bytes::Bytes;
use cairn_proto::{pb, Account, Address, Certificate, DuplicateVoteEvidence, Hash, Header, TxRejection, Validator};
use serde::Serialize;

/// What `chain_status` / gRPC `Status` report, plus the liveness and readiness behind
/// `/livez` and `/readyz`.
/// Serialized as the `chain_status` result; `live` and `ready` only drive the health paths.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NodeStatus {
    pub chain_id: String,
    pub node_id: String,
    pub validator: bool,
    /// Latest finalized height.
    pub height: u64,
    pub block_hash: Hash,
    pub state_root: Hash,
    pub block_time_ms: u64,
    pub syncing: bool,
    pub peers: usize,
    /// Consensus makes progress or waits legitimately (`/livez`).
    #[serde(skip)]
    pub live: bool,
    /// Caught up with peers (`/readyz`).
    #[serde(skip)]
    pub ready: bool,
}

/// Where a transaction is, as `tx_get` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxStatus {
    Pending,
    Committed { height: u64, index: u32, success: bool, error: Option<String> },
    Unknown,
}

/// A finalized block as the RPC shows it: header, tx hashes and its commit certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockInfo {
    pub hash: Hash,
    pub header: Header,
    pub tx_hashes: Vec<Hash>,
    pub commit: Certificate,
}

/// An account read at `height`, whose state root is `state_root`; `proof` when asked for.
#[derive(Clone, Debug, PartialEq)]
pub struct AccountInfo {
    pub address: Address,
    pub account: Account,
    pub height: u64,
    pub state_root: Hash,
    pub proof: Option<pb::AccountProof>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct MempoolInfo {
    pub size: usize,
    pub bytes: usize,
    pub capacity: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PeerInfo {
    pub peer_id: String,
    pub address: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validator: Option<Address>,
}

/// One finalized block, as pushed to `chain_subscribeNewHeads` and gRPC `SubscribeBlocks`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NewHead {
    pub height: u64,
    pub hash: Hash,
    pub tx_count: u32,
    pub timestamp_ms: u64,
    pub state_root: Hash,
}

/// A query the node could not answer. Reported as JSON-RPC -32602 / -32603 (or `null` for
/// `NotFound` where the SPEC says so) and gRPC NOT_FOUND / INVALID_ARGUMENT / INTERNAL.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    #[error("not found: {0}")]
    NotFound(String),
    #[error("invalid params: {0}")]
    InvalidParams(String),
    #[error("internal error: {0}")]
    Internal(String),
}

/// What the node gives the RPC servers. Implemented by the node; tests use an in-memory fake.
///
/// The synchronous methods are called on the async runtime's worker threads and must be cheap
/// (read a snapshot or an index), except `block` and `account`, which may read the disk and
/// build proofs: the RPC servers call those two on tokio's blocking pool.
#[async_trait::async_trait]
pub trait NodeApi: Send + Sync + 'static {
    fn status(&self) -> NodeStatus;
    /// Admits encoded SignedTx values to the mempool; one result per input, in order.
    async fn submit(&self, txs: Vec<Bytes>) -> Vec<Result<Hash, TxRejection>>;
    fn tx(&self, hash: &Hash) -> TxStatus;
    /// The finalized block at `height`, `None` = latest.
    fn block(&self, height: Option<u64>) -> Option<BlockInfo>;
    /// The validator set that signs `height` (`None`: the next block), or `None` when that
    /// height's set is not decided yet (more than two heights ahead) or before genesis.
    fn validators(&self, height: Option<u64>) -> Option<Vec<Validator>>;
    /// An account at `height` (`None` = latest); an absent account is balance 0, nonce 0.
    fn account(&self, address: &Address, height: Option<u64>, prove: bool) -> Result<AccountInfo, ApiError>;
    fn mempool(&self) -> MempoolInfo;
    fn peers(&self) -> Vec<PeerInfo>;
    fn subscribe_heads(&self) -> tokio::sync::broadcast::Receiver<NewHead>;
    /// Duplicate-vote evidence seen by this node (extension method `chain_getEvidence`).
    fn evidence(&self) -> Vec<DuplicateVoteEvidence>;
}
