//! Building the block this validator proposes, and judging the blocks others propose
//! (Tendermint's `valid(v)`), against the local tip, state root and clock.
use super::shared::Tip;
use crate::commands::init::now_ms;
use crate::config::ConsensusSection;
use cairn_mempool::Mempool;
use cairn_proto::{Address, Block, Hash, Header, Proposal};

/// What a block is checked against: the chain, the tip it must extend, the limits.
pub struct BlockRules<'a> {
    pub chain_id: &'a str,
    pub tip: &'a Tip,
    /// State root after the tip; execution is deferred, so the next header carries it.
    pub state_root: Hash,
    pub cfg: &'a ConsensusSection,
}

impl BlockRules<'_> {
    /// The next block: the mempool's best txs on top of the tip, stamped with our clock
    /// (strictly after the parent).
    pub fn build(&self, mempool: &Mempool, proposer: Address) -> Block {
        let txs = mempool.reap(self.cfg.max_block_txs, self.cfg.max_block_bytes);
        let header = Header {
            chain_id: self.chain_id.to_string(),
            height: self.tip.height + 1,
            parent_hash: self.tip.hash,
            timestamp_ms: now_ms().max(self.tip.timestamp_ms + 1),
            proposer,
            tx_root: Hash::ZERO,
            state_root: self.state_root,
            tx_count: 0,
        };
        Block::new(header, txs)
    }

    /// Why `p`'s block may not extend the tip, or `Ok`. The proposal signature, the proposer's
    /// turn and the tx signatures are checked elsewhere (consensus and block decoding).
    pub fn check(&self, p: &Proposal) -> Result<(), String> {
        let h = &p.block.header;
        let want = |ok: bool, what: String| if ok { Ok(()) } else { Err(what) };
        want(h.chain_id == self.chain_id, format!("chain id {:?}", h.chain_id))?;
        want(h.height == self.tip.height + 1, format!("height {} on tip {}", h.height, self.tip.height))?;
        want(h.parent_hash == self.tip.hash, format!("parent {} is not the tip {}", h.parent_hash, self.tip.hash))?;
        want(h.state_root == self.state_root, format!("state root {} is not ours {}", h.state_root, self.state_root))?;
        want(h.proposer == p.proposer, "header proposer is not the proposal's signer".into())?;
        want(h.timestamp_ms > self.tip.timestamp_ms, format!("timestamp {} not after parent", h.timestamp_ms))?;
        let limit = now_ms() + self.cfg.max_clock_drift_ms;
        want(
            h.timestamp_ms <= limit,
            format!("timestamp {} is ahead of our clock by more than the drift", h.timestamp_ms),
        )?;
        want(p.block.txs.len() <= self.cfg.max_block_txs, format!("{} txs over the limit", p.block.txs.len()))?;
        let bytes: usize = p.block.txs.iter().map(|t| t.len()).sum();
        want(bytes <= self.cfg.max_block_bytes, format!("{bytes} bytes of txs over the limit"))?;
        match p.block.txs.iter().find(|t| t.body().chain_id != self.chain_id) {
            Some(t) => Err(format!("tx {} is for another chain", t.hash())),
            None => Ok(()),
        }
    }
}
