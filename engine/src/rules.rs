//! Building the block this validator proposes, and judging the blocks others propose
//! (Tendermint's `valid(v)`), against the tip, the validator set and the clock.
//!
//! Block time (proposer time, checked against the parent and the local clock, as CometBFT's
//! proposer-based timestamps; not BFT time from the precommits): a block's time is strictly
//! after its parent's; no validator accepts a block stamped more than `max_clock_drift_ms`
//! ahead of its own clock; and a *fresh* proposal stamped more than `max_clock_lag_ms` behind
//! its clock is refused too, so a byzantine proposer can neither run the chain's clock ahead
//! nor hold it back. A re-proposal (`pol_round` set, Tendermint L16) carries the block of an
//! earlier round unchanged, with that round's time and that round's proposer in its header:
//! 2f+1 prevotes already found it timely then, so only the upper bound is checked again, and
//! its header proposer need only be a validator. (Requiring the re-proposer there halted the
//! chain for good once the original proposer crashed while one validator was locked on its
//! block: nobody could ever re-propose it.)
use crate::{EngineConfig, InvalidBlock, Signers, Tip};
use cairn_proto::{Address, Block, Header, Proposal, VerifiedTx};

/// What a block is checked against.
pub struct BlockRules<'a> {
    pub chain_id: &'a str,
    pub tip: &'a Tip,
    /// The sets that sign the block (`current`) and the one after it (`next`).
    pub signers: &'a Signers,
    pub cfg: &'a EngineConfig,
}

impl BlockRules<'_> {
    /// The next block over `txs`, stamped with `now_ms` (strictly after the parent).
    pub fn build(&self, txs: Vec<VerifiedTx>, proposer: Address, now_ms: u64) -> Block {
        let header = Header {
            chain_id: self.chain_id.to_string(),
            height: self.tip.height + 1,
            parent_hash: self.tip.hash,
            timestamp_ms: now_ms.max(self.tip.timestamp_ms + 1),
            proposer,
            tx_root: cairn_proto::Hash::ZERO,
            state_root: self.tip.state_root,
            tx_count: 0,
            next_validators_hash: self.signers.next.hash(),
        };
        Block::new(header, txs)
    }

    /// `Ok` when `p`'s block may extend the tip. The proposal's signature and the proposer's
    /// turn are the state machine's to check; tx signatures were checked when it was decoded.
    pub fn check(&self, p: &Proposal, now_ms: u64) -> Result<(), InvalidBlock> {
        let h = &p.block.header;
        let fresh = p.pol_round.is_none();
        if h.chain_id != self.chain_id {
            return Err(InvalidBlock::ChainId { got: h.chain_id.clone() });
        }
        if h.height != self.tip.height + 1 {
            return Err(InvalidBlock::Height { got: h.height, tip: self.tip.height });
        }
        if h.parent_hash != self.tip.hash {
            return Err(InvalidBlock::Parent { got: h.parent_hash.to_string(), tip: self.tip.hash.to_string() });
        }
        if h.state_root != self.tip.state_root {
            return Err(InvalidBlock::StateRoot {
                got: h.state_root.to_string(),
                ours: self.tip.state_root.to_string(),
            });
        }
        let next = self.signers.next.hash();
        if h.next_validators_hash != next {
            return Err(InvalidBlock::NextValidators {
                got: h.next_validators_hash.to_string(),
                ours: next.to_string(),
            });
        }
        if self.signers.current.power_of(&h.proposer) == 0 {
            return Err(InvalidBlock::ProposerNotValidator(h.proposer.to_string()));
        }
        if fresh && h.proposer != p.proposer {
            return Err(InvalidBlock::ProposerNotSigner {
                header: h.proposer.to_string(),
                signer: p.proposer.to_string(),
            });
        }
        self.check_time(h.timestamp_ms, fresh, now_ms)?;
        let (count, max) = (p.block.txs.len(), self.cfg.max_block_txs);
        if count > max {
            return Err(InvalidBlock::TooManyTxs { count, max });
        }
        let bytes: usize = p.block.txs.iter().map(VerifiedTx::len).sum();
        if bytes > self.cfg.max_block_bytes {
            return Err(InvalidBlock::TooManyBytes { bytes, max: self.cfg.max_block_bytes });
        }
        match p.block.txs.iter().find(|t| t.body().chain_id != self.chain_id) {
            Some(t) => Err(InvalidBlock::TxChainId { hash: t.hash().to_string(), chain_id: t.body().chain_id.clone() }),
            None => Ok(()),
        }
    }

    fn check_time(&self, time_ms: u64, fresh: bool, now_ms: u64) -> Result<(), InvalidBlock> {
        let parent_ms = self.tip.timestamp_ms;
        if time_ms <= parent_ms {
            return Err(InvalidBlock::TimeNotAfterParent { time_ms, parent_ms });
        }
        let drift_ms = self.cfg.max_clock_drift_ms;
        if time_ms > now_ms.saturating_add(drift_ms) {
            return Err(InvalidBlock::TimeAhead { time_ms, now_ms, drift_ms });
        }
        let lag_ms = self.cfg.max_clock_lag_ms;
        if fresh && time_ms < now_ms.saturating_sub(lag_ms) {
            return Err(InvalidBlock::TimeBehind { time_ms, now_ms, lag_ms });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_proto::{Hash, Keypair, Validator, ValidatorSet};

    const NOW: u64 = 1_000_000;

    fn setup() -> (Vec<Keypair>, Signers, Tip) {
        let keys: Vec<Keypair> = (1..=4).map(|i| Keypair::from_seed([i; 32])).collect();
        let set = ValidatorSet::new(keys.iter().map(|k| Validator { address: k.address(), power: 1 }).collect());
        let tip = Tip { height: 4, hash: Hash([4; 32]), state_root: Hash([5; 32]), timestamp_ms: NOW - 5_000 };
        (keys, Signers::fixed(set.unwrap()), tip)
    }

    fn proposal(rules: &BlockRules<'_>, builder: &Keypair, signer: &Keypair, pol: Option<u32>, time: u64) -> Proposal {
        let block = rules.build(vec![], builder.address(), time);
        Proposal::new_signed(signer, rules.chain_id, 5, 1, pol, block)
    }

    #[test]
    fn a_reproposal_keeps_the_original_proposer_a_fresh_one_may_not() {
        let (keys, validators, tip) = setup();
        let cfg = EngineConfig::default();
        let rules = BlockRules { chain_id: "c", tip: &tip, signers: &validators, cfg: &cfg };
        assert_eq!(rules.check(&proposal(&rules, &keys[0], &keys[0], None, NOW), NOW), Ok(()));
        // Re-proposed by another validator: its header still names the first proposer.
        assert_eq!(rules.check(&proposal(&rules, &keys[0], &keys[1], Some(0), NOW), NOW), Ok(()));
        let fresh = rules.check(&proposal(&rules, &keys[0], &keys[1], None, NOW), NOW);
        assert!(matches!(fresh, Err(InvalidBlock::ProposerNotSigner { .. })), "{fresh:?}");
        let outsider = Keypair::from_seed([9; 32]);
        let bad = rules.check(&proposal(&rules, &outsider, &keys[1], Some(0), NOW), NOW);
        assert!(matches!(bad, Err(InvalidBlock::ProposerNotValidator(_))), "{bad:?}");
    }

    #[test]
    fn block_time_is_bounded_on_both_sides() {
        let (keys, validators, tip) = setup();
        let cfg = EngineConfig { max_clock_drift_ms: 1_000, max_clock_lag_ms: 3_000, ..EngineConfig::default() };
        let rules = BlockRules { chain_id: "c", tip: &tip, signers: &validators, cfg: &cfg };
        let at = |time, pol| rules.check(&proposal(&rules, &keys[0], &keys[0], pol, time), NOW);
        assert_eq!(at(NOW + 1_000, None), Ok(()));
        assert!(matches!(at(NOW + 1_001, None), Err(InvalidBlock::TimeAhead { .. })));
        assert_eq!(at(NOW - 3_000, None), Ok(()));
        assert!(matches!(at(NOW - 3_001, None), Err(InvalidBlock::TimeBehind { .. })));
        assert_eq!(at(NOW - 3_001, Some(0)), Ok(()), "a re-proposal carries an earlier round's time");
        // `build` never stamps at or before the parent, whatever the clock says.
        let block = rules.build(vec![], keys[0].address(), tip.timestamp_ms - 10);
        assert_eq!(block.header.timestamp_ms, tip.timestamp_ms + 1);
    }

    #[test]
    fn a_block_must_commit_to_our_next_validator_set() {
        let (keys, mut signers, tip) = setup();
        let cfg = EngineConfig::default();
        let built = BlockRules { chain_id: "c", tip: &tip, signers: &signers, cfg: &cfg };
        let p = proposal(&built, &keys[0], &keys[0], None, NOW);
        assert_eq!(p.block.header.next_validators_hash, signers.next.hash());
        // Our execution decided another next set (a validator joined): the block is refused.
        let newcomer = Keypair::from_seed([9; 32]);
        let joined = keys.iter().chain([&newcomer]);
        signers.next =
            ValidatorSet::new(joined.map(|k| Validator { address: k.address(), power: 1 }).collect()).unwrap();
        let rules = BlockRules { chain_id: "c", tip: &tip, signers: &signers, cfg: &cfg };
        let verdict = rules.check(&p, NOW);
        assert!(matches!(verdict, Err(InvalidBlock::NextValidators { .. })), "{verdict:?}");
    }
}
