//! The validator sets of a simulated chain: a plan of joins, leaves and power changes, as stake
//! transactions would decide them. The sim's stand-in for execution reads the set of `h + 2`
//! from it when block h commits (the rule of `cairn_proto::staking`), so every honest node
//! learns the same sets in the same order, as the real execution would make it; an honest node
//! that misses a change fails its next commit with `ValidatorSetDiverged`. Plans keep the
//! faulty validators' power under a third of every set, so the chain must stay live.
use cairn_proto::staking::EFFECT_DELAY;
use cairn_proto::{Address, Validator, ValidatorSet};
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// The last height whose execution changes the set: runs go on until its change has signed
/// blocks (`Scenario::min_height`).
pub const LAST_DECIDED: u64 = 8;

/// Block `decided_at`'s execution sets `node`'s power (0: it leaves the set).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SetChange {
    pub decided_at: u64,
    pub node: usize,
    pub power: u64,
}

/// Who holds power when: the initial powers by key index, then the changes.
#[derive(Clone, Debug, Default)]
pub struct SetPlan {
    pub initial: Vec<u64>,
    pub changes: Vec<SetChange>,
}

impl SetPlan {
    /// `n` validators of power 1 and `spares` keys without power, for ever.
    pub fn fixed(n: usize, spares: usize) -> Self {
        SetPlan { initial: (0..n + spares).map(|i| u64::from(i < n)).collect(), changes: Vec::new() }
    }

    /// Up to five changes decided at heights 1 to `LAST_DECIDED`: spares join, honest validators change
    /// power or leave. `faulty` (byzantine, down for good, wiped) keep power 1 throughout; a
    /// change that would give them a third of the power or more, or empty the set, is skipped.
    pub fn generate(rng: &mut ChaCha8Rng, n: usize, spares: usize, faulty: &[usize]) -> Self {
        let mut plan = Self::fixed(n, spares);
        let mut powers = plan.initial.clone();
        let honest: Vec<usize> = (0..n + spares).filter(|i| !faulty.contains(i)).collect();
        let mut at = 0;
        for _ in 0..rng.gen_range(1..=5) {
            at = (at + rng.gen_range(0..=3)).min(LAST_DECIDED);
            let node = *honest.choose(rng).expect("an honest validator");
            let power = if rng.gen_bool(0.3) { 0 } else { rng.gen_range(1..=3) };
            let mut next = powers.clone();
            next[node] = power;
            let total: u64 = next.iter().sum();
            let bad: u64 = faulty.iter().map(|i| next[*i]).sum();
            if total > 0 && 3 * bad < total && next != powers {
                powers = next;
                plan.changes.push(SetChange { decided_at: at.max(1), node, power });
            }
        }
        plan
    }

    /// The powers that sign `height`: every change decided at least `EFFECT_DELAY` heights
    /// before it applied.
    fn powers_at(&self, height: u64) -> Vec<u64> {
        let mut powers = self.initial.clone();
        for c in self.changes.iter().filter(|c| c.decided_at + EFFECT_DELAY <= height) {
            powers[c.node] = c.power;
        }
        powers
    }
}

/// A plan bound to the keys' addresses, with each distinct set built once.
pub struct Sets {
    /// (first height it signs, the set), by height.
    epochs: Vec<(u64, ValidatorSet)>,
}

impl Sets {
    pub fn new(plan: &SetPlan, addresses: &[Address]) -> Self {
        let set = |powers: Vec<u64>| {
            let vs = addresses.iter().zip(powers).filter(|(_, p)| *p > 0);
            ValidatorSet::new(vs.map(|(a, power)| Validator { address: *a, power }).collect()).expect("a valid set")
        };
        let mut epochs = vec![(1, set(plan.powers_at(1)))];
        let mut starts: Vec<u64> = plan.changes.iter().map(|c| c.decided_at + EFFECT_DELAY).collect();
        starts.sort_unstable();
        starts.dedup();
        for h in starts {
            let vs = set(plan.powers_at(h));
            if vs != epochs.last().expect("one epoch").1 {
                epochs.push((h, vs));
            }
        }
        Sets { epochs }
    }

    /// The set that signs `height` (the genesis set for 0).
    pub fn at(&self, height: u64) -> &ValidatorSet {
        &self.epochs.iter().rev().find(|(from, _)| *from <= height).unwrap_or(&self.epochs[0]).1
    }

    /// The largest set, for the bounds that grow with the number of validators.
    pub fn max_len(&self) -> usize {
        self.epochs.iter().map(|(_, s)| s.len()).max().unwrap_or(0)
    }

    /// How many set changes took effect at or below `height`.
    pub fn changes_by(&self, height: u64) -> usize {
        self.epochs.iter().filter(|(from, _)| (2..=height).contains(from)).count()
    }
}
