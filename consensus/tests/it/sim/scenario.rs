//! Random scenarios from a seed: network size, byzantine roles, link quality, partitions,
//! crashes, and when the network stabilises (GST).
use super::net::{LinkConfig, Partition};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

#[derive(Clone, Debug)]
pub struct Scenario {
    /// Validators (3f+1).
    pub n: usize,
    /// Validator index that equivocates (sends different votes and proposals to different peers).
    pub equivocator: Option<usize>,
    /// Validator index whose key is shared by two instances (the Twins paper's byzantine node).
    pub twin: Option<usize>,
    pub links: LinkConfig,
    /// (time, instance, restart time): crashes and restarts, all before GST.
    pub crashes: Vec<(u64, usize, u64)>,
    /// Chance that an instance is killed in the middle of carrying out one batch of outputs
    /// (the sim's kill -9: WAL written up to some point, later outputs lost). Before GST only.
    pub kill_mid_batch: f64,
    /// Heights every honest node must decide after GST, within `bound_ms`.
    pub heights_after_gst: u64,
    pub bound_ms: u64,
}

impl Scenario {
    pub fn generate(rng: &mut ChaCha8Rng) -> Self {
        let n = if rng.gen_bool(0.7) { 4 } else { 7 };
        let (equivocator, twin) = match (n, rng.gen_range(0..4)) {
            (4, 0) => (None, None),
            (4, 1) => (Some(rng.gen_range(0..n)), None),
            (4, _) => (None, Some(rng.gen_range(0..n))),
            (_, 0) => (Some(rng.gen_range(0..n)), None),
            (_, 1) => (None, Some(rng.gen_range(0..n))),
            _ => {
                let e = rng.gen_range(0..n);
                (Some(e), Some((e + rng.gen_range(1..n)) % n))
            }
        };
        let instances = n + usize::from(twin.is_some());
        let gst = if rng.gen_bool(0.2) { 0 } else { rng.gen_range(300..5_000) };
        let partitions = (0..rng.gen_range(0..=2))
            .map(|_| {
                let start = rng.gen_range(0..gst.max(1));
                let end = rng.gen_range(start..=gst);
                Partition { start, end, group: (0..instances).map(|_| rng.gen_range(0..2)).collect() }
            })
            .collect();
        let links = LinkConfig {
            latency: rng.gen_range(1..40),
            jitter: rng.gen_range(0..80),
            drop: if rng.gen_bool(0.3) { 0.0 } else { rng.gen_range(0.0..0.4) },
            dup: rng.gen_range(0.0..0.2),
            gst,
            partitions,
        };
        let crashes = if gst == 0 {
            vec![]
        } else {
            (0..rng.gen_range(0..=3))
                .map(|_| {
                    let at = rng.gen_range(0..gst);
                    (at, rng.gen_range(0..instances), rng.gen_range(at..=gst))
                })
                .collect()
        };
        Scenario {
            n,
            equivocator,
            twin,
            links,
            crashes,
            kill_mid_batch: if gst == 0 { 0.0 } else { rng.gen_range(0.0..0.01) },
            heights_after_gst: 3,
            bound_ms: 60_000,
        }
    }
}
