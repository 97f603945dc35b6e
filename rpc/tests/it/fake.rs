//! An in-memory `NodeApi`: a toy chain with real transaction checks (decode, signature, chain
//! id, nonce window, balance, duplicates, capacity), so every SPEC §4 reason can be produced
//! by the input that causes it.
use bytes::Bytes;
use cairn_proto::{
    pb, Account, Address, Block, Certificate, DuplicateVoteEvidence, Hash, Header, Keypair, RejectReason, Transfer,
    TxAction, TxBody, TxRejection, UncheckedTx, Validator, VerifiedTx, Vote, VoteKind,
};
use cairn_rpc::{AccountInfo, ApiError, BlockInfo, MempoolInfo, NewHead, NodeApi, NodeStatus, PeerInfo, TxStatus};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::broadcast;

pub const CHAIN_ID: &str = "cairn-test";
pub const MAX_TX_BYTES: usize = 1024;
pub const CAPACITY: usize = 64;
pub const SENDER_LIMIT: usize = 8;
pub const NONCE_WINDOW: u64 = 16;
pub const MIN_FEE: u64 = 1;
pub const GENESIS_BALANCE: u64 = 1_000_000;

pub struct FakeNode {
    pub inner: Mutex<Chain>,
    pub heads: broadcast::Sender<NewHead>,
    validator: Keypair,
}

#[derive(Default)]
pub struct Chain {
    pub accounts: HashMap<Address, Account>,
    pub pending: Vec<VerifiedTx>,
    pub blocks: Vec<BlockInfo>,
    pub committed: HashMap<Hash, (u64, u32)>,
    pub live: bool,
    pub ready: bool,
    /// Delay added to every `submit`, to exercise the request timeout.
    pub submit_delay: Duration,
    /// How many times `submit` was called (to see single submissions coalesced).
    pub submit_calls: usize,
}

impl FakeNode {
    /// A chain where each of `funded` starts with `GENESIS_BALANCE`.
    pub fn new(funded: &[Address], broadcast_capacity: usize) -> Self {
        let mut chain = Chain { live: true, ready: true, ..Chain::default() };
        for a in funded {
            chain.accounts.insert(*a, Account::new(GENESIS_BALANCE, 0));
        }
        FakeNode {
            inner: Mutex::new(chain),
            heads: broadcast::channel(broadcast_capacity).0,
            validator: Keypair::from_seed([9; 32]),
        }
    }

    fn check(c: &Chain, raw: Bytes) -> Result<VerifiedTx, TxRejection> {
        let rej = |r, m: String| TxRejection::new(r, m);
        if raw.len() > MAX_TX_BYTES {
            return Err(rej(RejectReason::TxTooLarge, format!("{} bytes, limit {MAX_TX_BYTES}", raw.len())));
        }
        let tx = UncheckedTx::decode(raw).map_err(|e| rej(RejectReason::MalformedTx, e.to_string()))?;
        let tx = tx.verify().map_err(|e| rej(RejectReason::InvalidSignature, e.to_string()))?;
        let b = tx.body();
        if b.chain_id != CHAIN_ID {
            return Err(rej(RejectReason::WrongChainId, format!("chain id {:?}, expected {CHAIN_ID:?}", b.chain_id)));
        }
        if b.fee < MIN_FEE {
            return Err(rej(RejectReason::FeeTooLow, format!("fee {} below {MIN_FEE}", b.fee)));
        }
        if c.pending.iter().any(|p| p.hash() == tx.hash()) || c.committed.contains_key(&tx.hash()) {
            return Err(rej(RejectReason::Duplicate, "already known".into()));
        }
        let acct = c.accounts.get(&b.sender).copied().unwrap_or_default();
        if b.nonce < acct.nonce {
            return Err(rej(RejectReason::NonceTooLow, format!("nonce {} < account nonce {}", b.nonce, acct.nonce)));
        }
        if b.nonce >= acct.nonce + NONCE_WINDOW {
            return Err(rej(RejectReason::NonceTooHigh, format!("nonce {} beyond window", b.nonce)));
        }
        if b.total_cost().is_none_or(|cost| cost > acct.balance) {
            return Err(rej(RejectReason::InsufficientBalance, format!("balance {}", acct.balance)));
        }
        if c.pending.len() >= CAPACITY {
            return Err(rej(RejectReason::MempoolFull, format!("{CAPACITY} txs pending")));
        }
        if c.pending.iter().filter(|p| p.sender() == b.sender).count() >= SENDER_LIMIT {
            return Err(rej(RejectReason::SenderLimit, format!("{SENDER_LIMIT} txs from this sender")));
        }
        Ok(tx)
    }

    /// Finalizes a block of every pending tx (executing transfers) and announces it.
    pub fn commit_block(&self) -> NewHead {
        let mut c = self.inner.lock();
        let height = c.blocks.len() as u64 + 1;
        let txs = std::mem::take(&mut c.pending);
        for (i, tx) in txs.iter().enumerate() {
            // The fake moves balances only: staking is the state crate's to model.
            let action = &tx.body().action;
            let from = c.accounts.entry(tx.sender()).or_default();
            from.balance -= action.debit() + tx.fee();
            from.nonce += 1;
            if let Some(to) = action.recipient() {
                c.accounts.entry(to).or_default().balance += action.debit();
            }
            c.committed.insert(tx.hash(), (height, i as u32));
        }
        let parent_hash = c.blocks.last().map_or(Hash::ZERO, |b| b.hash);
        let header = Header {
            chain_id: CHAIN_ID.into(),
            height,
            parent_hash,
            timestamp_ms: 1_700_000_000_000 + height * 1000,
            proposer: self.validator.address(),
            tx_root: Hash::ZERO,
            state_root: Hash::of(&height.to_le_bytes()),
            tx_count: 0,
            next_validators_hash: cairn_proto::Hash::ZERO,
        };
        let block = Block::new(header, txs);
        let hash = block.hash();
        let commit = Certificate { height, round: 0, block_hash: hash, signatures: vec![] };
        let info = BlockInfo {
            hash,
            header: block.header.clone(),
            tx_hashes: block.txs.iter().map(VerifiedTx::hash).collect(),
            commit,
        };
        c.blocks.push(info);
        let head = NewHead {
            height,
            hash,
            tx_count: block.txs.len() as u32,
            timestamp_ms: block.header.timestamp_ms,
            state_root: block.header.state_root,
        };
        drop(c);
        let _ = self.heads.send(head.clone());
        head
    }

    pub fn evidence_sample(&self) -> DuplicateVoteEvidence {
        let a = Vote::new_signed(&self.validator, CHAIN_ID, VoteKind::Prevote, 1, 0, Some(Hash([1; 32])));
        let b = Vote::new_signed(&self.validator, CHAIN_ID, VoteKind::Prevote, 1, 0, Some(Hash([2; 32])));
        DuplicateVoteEvidence { first: a, second: b }
    }
}

/// A signed transfer of `amount` from `key` with `nonce`, `fee` and `chain_id`.
pub fn transfer(key: &Keypair, nonce: u64, fee: u64, amount: u64, chain_id: &str) -> VerifiedTx {
    TxBody {
        chain_id: chain_id.into(),
        sender: key.address(),
        nonce,
        fee,
        action: TxAction::Transfer(Transfer { recipient: Address([0x11; 32]), amount }),
    }
    .sign(key)
}

#[async_trait::async_trait]
impl NodeApi for FakeNode {
    fn status(&self) -> NodeStatus {
        let c = self.inner.lock();
        let last = c.blocks.last();
        NodeStatus {
            chain_id: CHAIN_ID.into(),
            node_id: "fake-node".into(),
            validator: true,
            height: last.map_or(0, |b| b.header.height),
            block_hash: last.map_or(Hash::ZERO, |b| b.hash),
            state_root: last.map_or(Hash::ZERO, |b| b.header.state_root),
            block_time_ms: last.map_or(0, |b| b.header.timestamp_ms),
            syncing: !c.ready,
            peers: 3,
            live: c.live,
            ready: c.ready,
        }
    }

    async fn submit(&self, txs: Vec<Bytes>) -> Vec<Result<Hash, TxRejection>> {
        let delay = self.inner.lock().submit_delay;
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let mut c = self.inner.lock();
        c.submit_calls += 1;
        txs.into_iter()
            .map(|raw| {
                let tx = Self::check(&c, raw)?;
                let h = tx.hash();
                c.pending.push(tx);
                Ok(h)
            })
            .collect()
    }

    fn tx(&self, hash: &Hash) -> TxStatus {
        let c = self.inner.lock();
        if let Some((height, index)) = c.committed.get(hash) {
            return TxStatus::Committed { height: *height, index: *index, success: true, error: None };
        }
        if c.pending.iter().any(|p| p.hash() == *hash) {
            return TxStatus::Pending;
        }
        TxStatus::Unknown
    }

    fn block(&self, height: Option<u64>) -> Option<BlockInfo> {
        let c = self.inner.lock();
        match height {
            None => c.blocks.last().cloned(),
            Some(h) => c.blocks.get(h.checked_sub(1)? as usize).cloned(),
        }
    }

    fn validators(&self, height: Option<u64>) -> Option<Vec<Validator>> {
        let known = height.is_none_or(|h| h >= 1 && h <= self.inner.lock().blocks.len() as u64 + 2);
        known.then(|| vec![Validator { address: self.validator.address(), power: 10 }])
    }

    fn account(&self, address: &Address, height: Option<u64>, prove: bool) -> Result<AccountInfo, ApiError> {
        let c = self.inner.lock();
        let latest = c.blocks.len() as u64;
        let height = height.unwrap_or(latest);
        if height != latest {
            return Err(ApiError::NotFound(format!("state at height {height} is not kept (latest {latest})")));
        }
        let account = c.accounts.get(address).copied().unwrap_or_default();
        let proof = prove.then(|| pb::AccountProof {
            siblings: vec![Bytes::from(vec![0xab; 32]), Bytes::from(vec![0xcd; 32])],
            other_leaf_key: Bytes::new(),
            other_leaf_value_hash: Bytes::new(),
        });
        Ok(AccountInfo { address: *address, account, height, state_root: Hash::of(&height.to_le_bytes()), proof })
    }

    fn mempool(&self) -> MempoolInfo {
        let c = self.inner.lock();
        MempoolInfo { size: c.pending.len(), bytes: c.pending.iter().map(VerifiedTx::len).sum(), capacity: CAPACITY }
    }

    fn peers(&self) -> Vec<PeerInfo> {
        vec![
            PeerInfo {
                peer_id: "peer-a".into(),
                address: "/ip4/127.0.0.1/tcp/26610".into(),
                validator: Some(Address([7; 32])),
            },
            PeerInfo { peer_id: "peer-b".into(), address: "/ip4/127.0.0.1/tcp/26620".into(), validator: None },
        ]
    }

    fn subscribe_heads(&self) -> broadcast::Receiver<NewHead> {
        self.heads.subscribe()
    }

    fn evidence(&self) -> Vec<DuplicateVoteEvidence> {
        vec![self.evidence_sample()]
    }
}
