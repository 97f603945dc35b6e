//! The properties checked on every simulated run: agreement, validity, no double-sign by an
//! honest validator, evidence only against byzantine validators, verifiable certificates.
//! Violations are collected as strings so a failing seed reports all of them.
use cairn_engine::SignPoint;
use cairn_proto::{Address, Block, Certificate, ConsensusMessage, Hash, ValidatorSet, VoteKind};
use std::collections::{BTreeMap, BTreeSet};

/// What one signature committed to, keyed by (validator, height, round, step).
type SignKey = (Address, u64, u32, u8);

#[derive(Default)]
pub struct Checker {
    pub violations: Vec<String>,
    /// Decided block hash per height, as first seen from an honest node.
    decided: BTreeMap<u64, (Hash, usize)>,
    /// Everything honest validators signed.
    signed: BTreeMap<SignKey, Hash>,
    pub byzantine: BTreeSet<Address>,
    pub evidence: u64,
    /// Certificates already verified (nodes often build identical ones).
    verified: BTreeSet<Vec<u8>>,
}

fn sign_key(m: &ConsensusMessage) -> (SignKey, Hash) {
    match m {
        ConsensusMessage::Proposal(p) => {
            // A proposal commits to its block and its pol_round: fold both into one hash.
            let mut bytes = p.block.hash().0.to_vec();
            bytes.extend_from_slice(&p.pol_round.map_or(-1, i64::from).to_le_bytes());
            ((p.proposer, p.height, p.round, 0), Hash::of(&bytes))
        }
        ConsensusMessage::Vote(v) => {
            let step = if v.kind == VoteKind::Prevote { 1 } else { 2 };
            ((v.validator, v.height, v.round, step), v.block_hash.unwrap_or(Hash([0xff; 32])))
        }
    }
}

impl Checker {
    fn fail(&mut self, msg: String) {
        if self.violations.len() < 20 {
            self.violations.push(msg);
        }
    }

    /// Every message a validator sends passes here. A signature counts once it leaves the
    /// process (one killed between its WAL append and sending never signed anything anyone can
    /// hold against it), and by then the signing state, which a wipe keeps, must cover it:
    /// otherwise a wiped validator could sign that step again.
    pub fn sent(&mut self, node: usize, me: Address, m: &ConsensusMessage, saved: Option<SignPoint>) {
        let (key, what) = sign_key(m);
        if key.0 != me || self.byzantine.contains(&key.0) {
            return; // a relayed message, or a byzantine one
        }
        let point = SignPoint { height: key.1, round: key.2, step: key.3 };
        if saved < Some(point) {
            self.fail(format!(
                "node {node} sent its signature at (h={}, r={}, step={}) before the signing state covered it",
                key.1, key.2, key.3
            ));
        }
        match self.signed.get(&key) {
            Some(prev) if *prev != what => {
                self.fail(format!("honest node {node} double-signed at (h={}, r={}, step={})", key.1, key.2, key.3))
            }
            Some(_) => {}
            None => {
                self.signed.insert(key, what);
            }
        }
    }

    /// A decided block (by consensus or synced with its certificate) at an honest node whose
    /// chain so far ends in `parent`.
    #[allow(clippy::too_many_arguments)]
    pub fn decided(
        &mut self,
        node: usize,
        honest: bool,
        block: &Block,
        cert: &Certificate,
        parent: Hash,
        height: u64,
        chain_id: &str,
        validators: &ValidatorSet,
    ) {
        if cert.block_hash != block.hash() || !self.verified.contains(&cert.encode()) {
            match cert.verify_for(chain_id, validators, block) {
                Ok(()) => {
                    self.verified.insert(cert.encode());
                }
                Err(e) => self.fail(format!("node {node}: certificate of height {height} does not verify: {e}")),
            }
        }
        if !honest {
            return;
        }
        // Validity: the decided block is one a correct node accepts as the next block.
        if block.header.height != height || block.header.parent_hash != parent {
            self.fail(format!("node {node}: decided an invalid block at height {height}"));
        }
        let hash = block.hash();
        match self.decided.get(&height) {
            Some((h, other)) if *h != hash => {
                let other = *other;
                self.fail(format!("agreement: nodes {other} and {node} decided different blocks at height {height}"))
            }
            Some(_) => {}
            None => {
                self.decided.insert(height, (hash, node));
            }
        }
    }

    pub fn evidence(&mut self, node: usize, against: Address) {
        self.evidence += 1;
        if !self.byzantine.contains(&against) {
            self.fail(format!("node {node} reported evidence against honest validator {against}"));
        }
    }
}
