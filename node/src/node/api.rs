//! The node's side of the RPC interface: answers every `NodeApi` call from the state store,
//! the mempool, the network and the shared tip.
use super::shared::Shared;
use bytes::Bytes;
use cairn_mempool::{Mempool, Origin};
use cairn_network::NetworkHandle;
use cairn_proto::{Address, DuplicateVoteEvidence, Hash, TxRejection, Validator, VerifiedTx};
use cairn_rpc::{AccountInfo, ApiError, BlockInfo, MempoolInfo, NewHead, NodeApi, NodeStatus, PeerInfo, TxStatus};
use cairn_state::State;
use std::sync::Arc;
use std::time::Duration;

/// Consensus that has not moved for this long is not live (a healthy chain commits at least
/// one empty block per `empty_block_interval`).
const LIVENESS_WINDOW: Duration = Duration::from_secs(60);

pub struct Api {
    pub state: State,
    pub mempool: Arc<Mempool>,
    pub net: NetworkHandle,
    pub shared: Arc<Shared>,
    pub chain_id: String,
    /// This node's key's address: a validator whenever the next height's set holds it.
    pub me: Address,
}

impl Api {
    fn is_validator(&self) -> bool {
        let next = self.state.validator_set_at(self.state.latest_height() + 1).ok().flatten();
        next.is_some_and(|set| set.power_of(&self.me) > 0)
    }
}

#[async_trait::async_trait]
impl NodeApi for Api {
    fn status(&self) -> NodeStatus {
        let tip = self.shared.tip();
        let peers = self.net.peers().len();
        let syncing = self.shared.syncing();
        NodeStatus {
            chain_id: self.chain_id.clone(),
            node_id: self.net.local_peer_id().to_string(),
            validator: self.is_validator(),
            height: tip.height,
            block_hash: tip.hash,
            state_root: tip.state_root,
            block_time_ms: tip.timestamp_ms,
            syncing,
            peers,
            live: self.shared.since_progress() < LIVENESS_WINDOW,
            ready: !syncing,
        }
    }

    async fn submit(&self, txs: Vec<Bytes>) -> Vec<Result<Hash, TxRejection>> {
        let mempool = self.mempool.clone();
        let results = tokio::task::spawn_blocking(move || mempool.submit(txs, Origin::Local))
            .await
            .unwrap_or_else(|e| panic!("mempool admission panicked: {e}"));
        if results.iter().any(Result::is_ok) {
            self.shared.txs_admitted(); // wakes an idle proposer
        }
        results
    }

    fn tx(&self, hash: &Hash) -> TxStatus {
        if let Ok(Some(loc)) = self.state.tx_location(hash) {
            return TxStatus::Committed {
                height: loc.height,
                index: loc.index,
                success: loc.success,
                error: loc.error,
            };
        }
        if self.mempool.contains(hash) {
            TxStatus::Pending
        } else {
            TxStatus::Unknown
        }
    }

    fn block(&self, height: Option<u64>) -> Option<BlockInfo> {
        let h = height.unwrap_or_else(|| self.state.latest_height());
        let cb = self.state.block(h).ok().flatten()?;
        Some(BlockInfo {
            hash: cb.block.hash(),
            tx_hashes: cb.block.txs.iter().map(VerifiedTx::hash).collect(),
            header: cb.block.header,
            commit: cb.certificate,
        })
    }

    fn validators(&self, height: Option<u64>) -> Option<Vec<Validator>> {
        let height = height.unwrap_or_else(|| self.state.latest_height() + 1);
        let set = self.state.validator_set_at(height).ok().flatten()?;
        Some(set.validators().to_vec())
    }

    fn account(&self, address: &Address, height: Option<u64>, prove: bool) -> Result<AccountInfo, ApiError> {
        let latest = self.state.latest_height();
        let height = height.unwrap_or(latest);
        if height > latest {
            return Err(ApiError::InvalidParams(format!("height {height} is above the latest height {latest}")));
        }
        let internal = |e: cairn_state::StateError| ApiError::Internal(e.to_string());
        let state_root = self
            .state
            .root_at(height)
            .map_err(internal)?
            .ok_or_else(|| ApiError::NotFound(format!("state at height {height} is pruned")))?;
        let (account, proof) = if prove {
            let (acc, proof) = self.state.prove(address, height).map_err(internal)?;
            (acc.unwrap_or_default(), Some(proof.to_pb()))
        } else {
            (self.state.account_at(address, height).map_err(internal)?, None)
        };
        Ok(AccountInfo { address: *address, account, height, state_root, proof })
    }

    fn mempool(&self) -> MempoolInfo {
        let s = self.mempool.status();
        MempoolInfo { size: s.size, bytes: s.bytes, capacity: s.capacity }
    }

    fn peers(&self) -> Vec<PeerInfo> {
        self.net
            .peers()
            .into_iter()
            .map(|p| PeerInfo { peer_id: p.peer_id, address: p.address, validator: p.validator })
            .collect()
    }

    fn subscribe_heads(&self) -> tokio::sync::broadcast::Receiver<NewHead> {
        self.shared.subscribe_heads()
    }

    fn evidence(&self) -> Vec<DuplicateVoteEvidence> {
        self.shared.evidence()
    }
}
