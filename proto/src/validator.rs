//! A validator set: addresses with voting power, quorum thresholds, proposer rotation weighted
//! by power, and the hash that headers commit to. Which set signs which height is the staking
//! rule's business (`staking`); a `ValidatorSet` is one height's set.
use crate::{pb, Address, DecodeError, Hash};
use bytes::Bytes;
use prost::Message;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validator {
    pub address: Address,
    pub power: u64,
}

impl Validator {
    pub fn to_pb(&self) -> pb::Validator {
        pb::Validator { address: Bytes::copy_from_slice(&self.address.0), power: self.power }
    }
}

/// A set of validators, sorted by address, with positive powers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidatorSet {
    validators: Vec<Validator>,
    total_power: u64,
    /// Proposer turns, one period of the rotation (`proposer`); derived from the powers.
    schedule: Arc<[u16]>,
}

/// Turns per validator in one rotation period: the period holds `TURNS_PER_VALIDATOR * n`
/// turns, shared in proportion to power.
const TURNS_PER_VALIDATOR: u64 = 64;

impl ValidatorSet {
    /// Sorts by address; refuses an empty set, zero power, duplicates or overflowing power.
    pub fn new(mut validators: Vec<Validator>) -> Result<Self, String> {
        if validators.is_empty() {
            return Err("validator set is empty".into());
        }
        validators.sort_by_key(|v| v.address);
        let mut total: u64 = 0;
        for (i, v) in validators.iter().enumerate() {
            if v.power == 0 {
                return Err(format!("validator {} has zero power", v.address));
            }
            if i > 0 && validators[i - 1].address == v.address {
                return Err(format!("validator {} is listed twice", v.address));
            }
            total = total.checked_add(v.power).ok_or("total voting power overflows u64")?;
        }
        if validators.len() > u16::MAX as usize {
            return Err(format!("{} validators: at most {} are supported", validators.len(), u16::MAX));
        }
        let schedule = rotation(&validators, total).into();
        Ok(ValidatorSet { validators, total_power: total, schedule })
    }

    pub fn to_pb(&self) -> pb::ValidatorSet {
        pb::ValidatorSet { validators: self.validators.iter().map(Validator::to_pb).collect() }
    }

    /// Decodes a set; refuses what `new` refuses and a set not sorted by address (the encoding
    /// is canonical, so that one set has one hash).
    pub fn from_pb(p: pb::ValidatorSet) -> Result<Self, DecodeError> {
        let validators = p
            .validators
            .into_iter()
            .map(|v| Ok(Validator { address: Address::from_slice(&v.address)?, power: v.power }))
            .collect::<Result<Vec<_>, DecodeError>>()?;
        if !validators.windows(2).all(|w| w[0].address < w[1].address) {
            return Err(DecodeError::Invalid {
                field: "validators",
                reason: "not sorted by address, or a repeat".into(),
            });
        }
        ValidatorSet::new(validators).map_err(|reason| DecodeError::Invalid { field: "validators", reason })
    }

    /// blake3 of the encoded `cairn.v1.ValidatorSet`: what a header's `next_validators_hash` is.
    pub fn hash(&self) -> Hash {
        Hash::of(&self.to_pb().encode_to_vec())
    }

    pub fn validators(&self) -> &[Validator] {
        &self.validators
    }
    pub fn len(&self) -> usize {
        self.validators.len()
    }
    pub fn is_empty(&self) -> bool {
        self.validators.is_empty()
    }
    pub fn total_power(&self) -> u64 {
        self.total_power
    }

    pub fn index_of(&self, a: &Address) -> Option<usize> {
        self.validators.binary_search_by_key(a, |v| v.address).ok()
    }

    /// Voting power of `a`, 0 if it is not a validator.
    pub fn power_of(&self, a: &Address) -> u64 {
        self.index_of(a).map_or(0, |i| self.validators[i].power)
    }

    /// True when `power` is more than two thirds of the total (a 2f+1 quorum).
    pub fn is_quorum(&self, power: u64) -> bool {
        power as u128 * 3 > self.total_power as u128 * 2
    }

    /// True when `power` is more than one third of the total (f+1: at least one honest).
    pub fn is_one_third(&self, power: u64) -> bool {
        power as u128 * 3 > self.total_power as u128
    }

    /// The proposer of (height, round): turn `(height + round) mod period` of the rotation. The
    /// rotation is a smooth weighted round-robin (CometBFT's priority rule, run over one period
    /// at a time) in which each validator has turns in proportion to its power: a function of
    /// the set alone, so a light client or a syncing node computes it without history. With
    /// equal powers it is plain round-robin in address order.
    pub fn proposer(&self, height: u64, round: u32) -> &Validator {
        let turn = height.wrapping_add(round as u64) % self.schedule.len() as u64;
        &self.validators[self.schedule[turn as usize] as usize]
    }
}

/// One period of proposer turns. Each validator gets `max(1, power * T / total)` turns, where
/// `T = TURNS_PER_VALIDATOR * n`, so turns follow power to within `1 / T` of the total, and
/// nobody with power is never proposer. The turns are spread by the smooth weighted
/// round-robin: every step each validator's priority grows by its turns, the highest priority
/// (the lower address on a tie) proposes and pays the period's length back. Over any window a
/// validator's turns stay within one of its share, as in CometBFT's rotation.
fn rotation(validators: &[Validator], total_power: u64) -> Vec<u16> {
    let target = TURNS_PER_VALIDATOR as u128 * validators.len() as u128;
    let turns: Vec<i64> =
        validators.iter().map(|v| ((v.power as u128 * target / total_power as u128) as i64).max(1)).collect();
    let period: i64 = turns.iter().sum();
    let mut priority = vec![0i64; validators.len()];
    (0..period)
        .map(|_| {
            for (p, t) in priority.iter_mut().zip(&turns) {
                *p += t;
            }
            let mut best = 0;
            for i in 1..priority.len() {
                if priority[i] > priority[best] {
                    best = i;
                }
            }
            priority[best] -= period;
            best as u16
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(powers: &[u64]) -> ValidatorSet {
        ValidatorSet::new(
            powers.iter().enumerate().map(|(i, p)| Validator { address: Address([i as u8; 32]), power: *p }).collect(),
        )
        .unwrap()
    }

    #[test]
    fn thresholds() {
        let s = set(&[1, 1, 1, 1]);
        assert!(!s.is_quorum(2) && s.is_quorum(3));
        assert!(!s.is_one_third(1) && s.is_one_third(2));
        assert_eq!(s.proposer(1, 0).address, Address([1; 32]));
        assert_eq!(s.proposer(1, 3).address, Address([0; 32]));
    }

    #[test]
    fn proposer_turns_follow_power() {
        let s = set(&[1, 2, 3, 2]);
        let period = TURNS_PER_VALIDATOR * 4;
        let mut turns = [0u64; 4];
        for h in 0..period {
            turns[s.index_of(&s.proposer(h, 0).address).unwrap()] += 1;
        }
        assert_eq!(turns, [32, 64, 96, 64]);
        // Spread, not bunched: the heaviest never proposes more than twice in a row here.
        let run = (0..period).map(|h| s.proposer(h, 0).address == Address([2; 32]));
        let longest = run.fold((0, 0), |(cur, best), p| if p { (cur + 1, best.max(cur + 1)) } else { (0, best) }).1;
        assert!(longest <= 2, "{longest}");
        // A round change moves to the next turn.
        assert_eq!(s.proposer(7, 1), s.proposer(8, 0));
    }

    #[test]
    fn a_tiny_power_still_gets_a_turn() {
        let s = set(&[1, 1_000_000]);
        assert!((0..128).any(|h| s.proposer(h, 0).address == Address([0; 32])));
    }

    #[test]
    fn the_hash_covers_addresses_and_powers_and_the_encoding_round_trips() {
        let (a, b) = (set(&[1, 1, 1]), set(&[1, 2, 1]));
        assert_ne!(a.hash(), b.hash());
        assert_eq!(ValidatorSet::from_pb(b.to_pb()).unwrap(), b);
        let mut unsorted = b.to_pb();
        unsorted.validators.swap(0, 1);
        assert!(ValidatorSet::from_pb(unsorted).is_err());
    }

    #[test]
    fn rejects_bad_sets() {
        assert!(ValidatorSet::new(vec![]).is_err());
        let v = Validator { address: Address([1; 32]), power: 1 };
        assert!(ValidatorSet::new(vec![v.clone(), v]).is_err());
        assert!(ValidatorSet::new(vec![Validator { address: Address([1; 32]), power: 0 }]).is_err());
    }
}
