//! Messages of heights this node has not reached yet, kept until it gets there: a fast
//! validator's votes for the next height often arrive before our own commit. Bounded in count
//! and in bytes, and per signer in bytes (its fair share), so one byzantine validator flooding
//! future heights with large proposals can neither exhaust memory nor crowd out the others.
use cairn_proto::{Address, ConsensusMessage, VerifiedTx};
use std::collections::{BTreeMap, HashMap};

/// Framing and signature overhead counted per message besides its block's transactions.
const MESSAGE_OVERHEAD: usize = 256;

/// The height and signer of a consensus message (cheap: no pass over a block's txs).
pub fn height_and_signer(m: &ConsensusMessage) -> (u64, Address) {
    match m {
        ConsensusMessage::Proposal(p) => (p.height, p.proposer),
        ConsensusMessage::Vote(v) => (v.height, v.validator),
    }
}

/// The approximate size in memory of a consensus message; only messages being kept need it.
fn size(m: &ConsensusMessage) -> usize {
    match m {
        ConsensusMessage::Proposal(p) => MESSAGE_OVERHEAD + p.block.txs.iter().map(VerifiedTx::len).sum::<usize>(),
        ConsensusMessage::Vote(_) => MESSAGE_OVERHEAD,
    }
}

/// Why a future message was not kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    Full,
    SignerShare,
}

#[derive(Debug)]
pub struct FutureBuffer {
    by_height: BTreeMap<u64, Vec<(ConsensusMessage, Address, usize)>>,
    bytes: usize,
    count: usize,
    by_signer: HashMap<Address, usize>,
    max_bytes: usize,
    max_count: usize,
    signer_share: usize,
}

impl FutureBuffer {
    pub fn new(max_bytes: usize, max_count: usize, signers: usize) -> Self {
        FutureBuffer {
            by_height: BTreeMap::new(),
            bytes: 0,
            count: 0,
            by_signer: HashMap::new(),
            max_bytes,
            max_count,
            signer_share: max_bytes / signers.max(1),
        }
    }

    /// Each signer's share for a set of `signers` validators (the larger of the two sets the
    /// buffered heights may have, after a set change). What a signer holds beyond a smaller
    /// share stays until its height is taken; it only keeps that signer from adding more.
    pub fn set_signers(&mut self, signers: usize) {
        self.signer_share = self.max_bytes / signers.max(1);
    }

    /// Keeps `m` unless a bound would be crossed.
    pub fn push(&mut self, m: ConsensusMessage) -> Result<(), Refused> {
        let ((height, signer), size) = (height_and_signer(&m), size(&m));
        if self.count >= self.max_count || self.bytes + size > self.max_bytes {
            return Err(Refused::Full);
        }
        let held = self.by_signer.entry(signer).or_default();
        if *held + size > self.signer_share {
            return Err(Refused::SignerShare);
        }
        *held += size;
        self.bytes += size;
        self.count += 1;
        self.by_height.entry(height).or_default().push((m, signer, size));
        Ok(())
    }

    /// Removes and returns the messages of `height`, dropping those of lower heights.
    pub fn take(&mut self, height: u64) -> Vec<ConsensusMessage> {
        let later = self.by_height.split_off(&(height + 1));
        let up_to = std::mem::replace(&mut self.by_height, later);
        let mut out = Vec::new();
        for (h, msgs) in up_to {
            for (m, signer, size) in msgs {
                self.release(signer, size);
                if h == height {
                    out.push(m);
                }
            }
        }
        out
    }

    fn release(&mut self, signer: Address, size: usize) {
        self.bytes -= size;
        self.count -= 1;
        if let Some(held) = self.by_signer.get_mut(&signer) {
            *held -= size;
            if *held == 0 {
                self.by_signer.remove(&signer);
            }
        }
    }

    /// (messages, bytes) held.
    pub fn held(&self) -> (usize, usize) {
        (self.count, self.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_proto::{Keypair, Vote, VoteKind};

    fn vote(seed: u8, height: u64) -> ConsensusMessage {
        ConsensusMessage::Vote(Vote::new_signed(
            &Keypair::from_seed([seed; 32]),
            "c",
            VoteKind::Prevote,
            height,
            0,
            None,
        ))
    }

    #[test]
    fn bounded_by_count_bytes_and_signer_share() {
        let mut b = FutureBuffer::new(4 * MESSAGE_OVERHEAD, 3, 2);
        b.push(vote(1, 5)).unwrap();
        b.push(vote(1, 5)).unwrap();
        assert_eq!(b.push(vote(1, 6)), Err(Refused::SignerShare), "signer 1 holds its half");
        b.push(vote(2, 6)).unwrap();
        assert_eq!(b.push(vote(3, 6)), Err(Refused::Full), "three messages at most");
        assert_eq!(b.held(), (3, 3 * MESSAGE_OVERHEAD));
        assert_eq!(b.take(6).len(), 1, "height 5 is dropped, height 6 returned");
        assert_eq!(b.held(), (0, 0));
        b.push(vote(1, 9)).unwrap();
    }

    #[test]
    fn the_signer_share_follows_the_set_size() {
        let mut b = FutureBuffer::new(8 * MESSAGE_OVERHEAD, 100, 2);
        for _ in 0..4 {
            b.push(vote(1, 5)).unwrap();
        }
        // Eight validators now: an eighth each; signer 1 is over it and may add nothing.
        b.set_signers(8);
        assert_eq!(b.push(vote(1, 6)), Err(Refused::SignerShare));
        b.take(6);
        b.push(vote(1, 7)).unwrap();
        assert_eq!(b.push(vote(1, 7)), Err(Refused::SignerShare), "one message is an eighth");
        b.push(vote(2, 7)).unwrap();
    }
}
