//! The validator set: addresses with voting power, quorum thresholds and proposer rotation.
use crate::Address;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validator {
    pub address: Address,
    pub power: u64,
}

/// A fixed set of validators, sorted by address, with positive powers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidatorSet {
    validators: Vec<Validator>,
    total_power: u64,
}

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
        Ok(ValidatorSet { validators, total_power: total })
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

    /// Round-robin proposer: validator `(height + round) mod n` in address order. Power weighs
    /// votes, not proposer turns (documented in proto/README.md).
    pub fn proposer(&self, height: u64, round: u32) -> &Validator {
        let i = (height.wrapping_add(round as u64) % self.validators.len() as u64) as usize;
        &self.validators[i]
    }
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
    fn rejects_bad_sets() {
        assert!(ValidatorSet::new(vec![]).is_err());
        let v = Validator { address: Address([1; 32]), power: 1 };
        assert!(ValidatorSet::new(vec![v.clone(), v]).is_err());
        assert!(ValidatorSet::new(vec![Validator { address: Address([1; 32]), power: 0 }]).is_err());
    }
}
