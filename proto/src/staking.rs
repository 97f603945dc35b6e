//! The staking rules (proto/README.md "Staking"): how bonded stake becomes voting power, which
//! accounts make up the validator set, and when a change takes effect. Every node, the
//! simulator and the light client derive validator sets with these functions alone.
use crate::{Address, Validator, ValidatorSet};

/// Bonded stake per unit of voting power: power is `bonded / STAKE_PER_POWER`, rounded down.
pub const STAKE_PER_POWER: u64 = 1_000_000_000;

/// The least stake a validator keeps bonded: a stake that leaves less fails, and so does an
/// unbond that leaves less but not nothing (`below_min_stake`).
pub const MIN_VALIDATOR_STAKE: u64 = STAKE_PER_POWER;

/// Blocks between an unbond and the payback: an unbond executed in block h pays back when
/// block `h + UNBONDING_PERIOD` executes. Until then the stake still answers for what its
/// validator signed (evidence of those heights can still be judged).
pub const UNBONDING_PERIOD: u64 = 100;

/// The most validators a set holds: the accounts with the most power, ties to the lower address.
pub const MAX_VALIDATORS: usize = 100;

/// A change made by block h (its execution) decides the set that signs block `h + EFFECT_DELAY`.
/// Execution of h is deferred until h is decided, and the proposer of h + 1 waits for it (its
/// header carries h's state root), so the header of h + 1 can commit to the set of h + 2.
pub const EFFECT_DELAY: u64 = 2;

/// The voting power that `bonded` stake gives.
pub fn power_of(bonded: u64) -> u64 {
    bonded / STAKE_PER_POWER
}

/// The set that bonded stakes make: accounts with power at least 1, the `MAX_VALIDATORS` with
/// the most power (ties to the lower address). `None` when no account has power.
pub fn set_from_stakes(stakes: impl IntoIterator<Item = (Address, u64)>) -> Option<ValidatorSet> {
    let mut v: Vec<Validator> = stakes
        .into_iter()
        .map(|(address, bonded)| Validator { address, power: power_of(bonded) })
        .filter(|v| v.power > 0)
        .collect();
    v.sort_by(|a, b| b.power.cmp(&a.power).then(a.address.cmp(&b.address)));
    v.truncate(MAX_VALIDATORS);
    // At most MAX_VALIDATORS powers of at most u64::MAX / STAKE_PER_POWER each: no overflow.
    ValidatorSet::new(v).ok()
}

/// The stake that gives a genesis validator its power (minted at genesis, not taken from a
/// balance), or `None` if it overflows.
pub fn genesis_stake(power: u64) -> Option<u64> {
    power.checked_mul(STAKE_PER_POWER)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn power_rounds_down_and_the_set_keeps_the_largest() {
        assert_eq!(power_of(STAKE_PER_POWER - 1), 0);
        assert_eq!(power_of(3 * STAKE_PER_POWER + 5), 3);
        assert!(set_from_stakes([(Address([1; 32]), STAKE_PER_POWER - 1)]).is_none());
        let many = (0..=MAX_VALIDATORS as u8).map(|i| (Address([i; 32]), (1 + u64::from(i % 3)) * STAKE_PER_POWER));
        let set = set_from_stakes(many).unwrap();
        assert_eq!(set.len(), MAX_VALIDATORS);
        // The one left out has the least power and, among those, the highest address.
        let out = (0..=MAX_VALIDATORS as u8).find(|i| set.index_of(&Address([*i; 32])).is_none()).unwrap();
        assert_eq!(out % 3, 0);
        assert!((0..=MAX_VALIDATORS as u8).filter(|i| i % 3 == 0).all(|i| i <= out));
    }
}
