//! Scenarios: random ones from a seed (network size, byzantine roles, validators down for good,
//! link quality, partitions, slow links, crashes and wipes, when the network stabilises), and
//! scripted ones that pin a known failure.
use super::net::{LinkConfig, Partition, SlowLink};
use super::sets::{SetPlan, LAST_DECIDED};
use cairn_proto::staking::EFFECT_DELAY;
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

#[derive(Clone, Debug, Default)]
pub struct Scenario {
    /// Validators at genesis (3f+1).
    pub n: usize,
    /// Honest nodes that start without power (keys `n..n + spares`): full nodes that the set
    /// plan may make validators.
    pub spares: usize,
    /// Who holds power at each height; faulty validators hold 1 each throughout.
    pub sets: SetPlan,
    /// Validator index that equivocates (sends different votes and proposals to different peers).
    pub equivocator: Option<usize>,
    /// Validator index whose key is shared by two instances (the Twins paper's byzantine node).
    pub twin: Option<usize>,
    /// Validator index that floods (far-future rounds, large future-height blocks).
    pub flooder: Option<usize>,
    /// Honest validators that crash before GST and never come back: with the byzantine ones at
    /// most f, so the chain must still decide.
    pub down_forever: Vec<(u64, usize)>,
    pub links: LinkConfig,
    /// (time, instance, restart time): crashes and restarts, all before GST.
    pub crashes: Vec<(u64, usize, u64)>,
    /// (time, instance, restart time): the instance's data directory is lost (its signing state
    /// is kept), then it restarts and must sync.
    pub wipes: Vec<(u64, usize, u64)>,
    /// Chance, per effect carried out, that an instance is killed right there (the sim's kill
    /// -9 in the middle of a batch: WAL written up to some point, later effects lost). Before
    /// GST only.
    pub kill_chance: f64,
    /// Heights every live honest node must decide after GST, within `bound_ms`.
    pub heights_after_gst: u64,
    /// A height every live honest node must reach as well (past the last set change).
    pub min_height: u64,
    /// The engine's pause before an empty block. 0 builds at once, which a set reduced to one
    /// validator (no network delay between its proposal and its decision) would turn into a
    /// loop of blocks at one virtual instant; so changing sets pace blocks as nodes do.
    pub empty_block_interval_ms: u64,
    pub bound_ms: u64,
}

impl Scenario {
    /// A random scenario with the genesis set for ever.
    pub fn generate(rng: &mut ChaCha8Rng) -> Self {
        Self::generate_with(rng, 0)
    }

    /// A random scenario whose validator set changes: up to two spare nodes, then a plan of
    /// joins, leaves and power changes (`SetPlan::generate`) drawn after the rest.
    pub fn generate_with_set_changes(rng: &mut ChaCha8Rng) -> Self {
        let spares = rng.gen_range(0..=2);
        let mut s = Self::generate_with(rng, spares);
        let faulty: Vec<usize> = [s.equivocator, s.twin, s.flooder]
            .into_iter()
            .flatten()
            .chain(s.down_forever.iter().map(|(_, i)| *i))
            .chain(s.wipes.iter().map(|(_, i, _)| *i))
            .collect();
        s.sets = SetPlan::generate(rng, s.n, spares, &faulty);
        // Two heights signed by the last set: its first, and one whose parent it signed.
        s.min_height = LAST_DECIDED + EFFECT_DELAY + 2;
        s.empty_block_interval_ms = 20;
        s
    }

    /// With `spares` = 0 this draws exactly what it drew before sets could change, so the
    /// seeds of `many_seeds` (and its regression seeds) keep their scenarios.
    fn generate_with(rng: &mut ChaCha8Rng, spares: usize) -> Self {
        let n = if rng.gen_bool(0.7) { 4 } else { 7 };
        let f = (n - 1) / 3;
        let mut free: Vec<usize> = (0..n).collect();
        free.shuffle(rng);
        let gst = if rng.gen_bool(0.2) { 0 } else { rng.gen_range(300..5_000) };
        let sets = SetPlan::fixed(n, spares);
        let mut s = Scenario { n, spares, sets, heights_after_gst: 3, bound_ms: 60_000, ..Scenario::default() };
        // At most f faulty validators: byzantine, down for good, or wiped (a wiped validator
        // refuses to sign at the heights its signing state covers, like a crashed one).
        let mut wiped = None;
        for _ in 0..rng.gen_range(0..=f) {
            let who = free.pop().expect("n > f");
            match rng.gen_range(0..6) {
                0 => s.equivocator = s.equivocator.or(Some(who)),
                1 => s.twin = s.twin.or(Some(who)),
                2 => s.flooder = s.flooder.or(Some(who)),
                3 if gst > 0 => wiped = Some(who),
                _ if gst > 0 => s.down_forever.push((rng.gen_range(0..gst), who)),
                _ => {}
            }
        }
        let instances = n + spares + usize::from(s.twin.is_some());
        let partitions = (0..rng.gen_range(0..=2))
            .map(|_| {
                let start = rng.gen_range(0..gst.max(1));
                let end = rng.gen_range(start..=gst);
                Partition { start, end, group: (0..instances).map(|_| rng.gen_range(0..2)).collect() }
            })
            .collect();
        let slow = (0..rng.gen_range(0..=3))
            .map(|_| SlowLink {
                until: rng.gen_range(0..=gst),
                from: rng.gen_range(0..instances),
                to: rng.gen_range(0..instances),
                extra: rng.gen_range(100..2_000),
                proposals_only: rng.gen_bool(0.5),
            })
            .collect();
        s.links = LinkConfig {
            latency: rng.gen_range(1..40),
            jitter: rng.gen_range(0..80),
            drop: if rng.gen_bool(0.3) { 0.0 } else { rng.gen_range(0.0..0.4) },
            dup: rng.gen_range(0.0..0.2),
            gst,
            partitions,
            slow,
        };
        if gst > 0 {
            let fault = |rng: &mut ChaCha8Rng| {
                let at = rng.gen_range(0..gst);
                (at, rng.gen_range(0..instances), rng.gen_range(at..=gst))
            };
            s.crashes = (0..rng.gen_range(0..=3)).map(|_| fault(rng)).collect();
            s.wipes = wiped
                .map(|who| (fault(rng).0, who))
                .map(|(at, who)| (at, who, rng.gen_range(at..=gst)))
                .into_iter()
                .collect();
            s.kill_chance = rng.gen_range(0.0..0.003);
        }
        s
    }

    /// The halt of a re-proposal (issue 16): at height 1 the round-0 proposer P's block B gets
    /// prevotes from P, R and V, but only V sees all three in time (V's own prevote reaches the
    /// others late, and B reaches Q late), so V alone locks on B while everybody precommits nil;
    /// then P crashes for good. Q's fresh block in round 1 cannot get V's prevote (locked), so
    /// only V's re-proposal of B in round 2 can decide — with B's header still naming P as
    /// proposer. Nodes are given as indices of the proposer order at height 1: `order[r]` is the
    /// proposer of round r.
    pub fn reproposal_after_proposer_crash(order: [usize; 4]) -> Self {
        let [p, q, v, r] = order;
        let late = |from, to, proposals_only| SlowLink { until: 700, from, to, extra: 1_000, proposals_only };
        Scenario {
            n: 4,
            sets: SetPlan::fixed(4, 0),
            down_forever: vec![(520, p)],
            links: LinkConfig {
                latency: 5,
                jitter: 0,
                drop: 0.0,
                dup: 0.0,
                gst: 1_000,
                partitions: vec![],
                slow: vec![late(p, q, true), late(v, p, false), late(v, r, false), late(v, q, false)],
            },
            heights_after_gst: 2,
            bound_ms: 30_000,
            ..Scenario::default()
        }
    }
}
