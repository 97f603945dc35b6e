//! Heights per second of 4 in-process cairn-consensus validators with no network delay:
//! every broadcast is handed to the other three at once, `BuildBlock` is answered with an
//! empty block, and the next height starts as soon as a node decides. With signature checks
//! each height costs 9 signatures and 27 verifications; without, only the signing remains.
use cairn_consensus::{Consensus, ConsensusConfig, Input, Output};
use cairn_proto::{Address, Block, ConsensusMessage, Hash, Header, Keypair, Validator, ValidatorSet};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::collections::VecDeque;

struct Net {
    nodes: Vec<Consensus>,
    height: u64,
}

impl Net {
    fn new(verify_signatures: bool) -> Self {
        let keys: Vec<Keypair> = (0..4u8).map(|i| Keypair::from_seed([i + 1; 32])).collect();
        let set = ValidatorSet::new(keys.iter().map(|k| Validator { address: k.address(), power: 1 }).collect())
            .expect("validator set");
        let config = ConsensusConfig { verify_signatures, ..ConsensusConfig::default() };
        let nodes =
            keys.into_iter().map(|k| Consensus::new(config.clone(), "bench".into(), set.clone(), Some(k))).collect();
        Net { nodes, height: 0 }
    }

    /// Runs one height to decision at every node.
    fn height(&mut self) {
        self.height += 1;
        let h = self.height;
        let mut queue: VecDeque<(usize, Input)> = (0..4)
            .map(|i| (i, Input::StartHeight { height: h, validators: self.nodes[i].validators().clone() }))
            .collect();
        let mut decided = 0;
        while let Some((i, input)) = queue.pop_front() {
            for out in self.nodes[i].handle(input) {
                match out {
                    Output::Broadcast(m) => {
                        for j in (0..4).filter(|j| *j != i) {
                            let input = match &m {
                                ConsensusMessage::Proposal(p) => Input::Proposal { proposal: p.clone(), valid: true },
                                ConsensusMessage::Vote(v) => Input::Vote(v.clone()),
                            };
                            queue.push_back((j, input));
                        }
                    }
                    Output::BuildBlock { height, round } => {
                        let header = Header {
                            chain_id: "bench".into(),
                            height,
                            parent_hash: Hash::ZERO,
                            timestamp_ms: height,
                            proposer: Address::ZERO,
                            tx_root: Hash::ZERO,
                            state_root: Hash::ZERO,
                            tx_count: 0,
                            next_validators_hash: cairn_proto::Hash::ZERO,
                        };
                        queue.push_back((i, Input::ProposeBlock { height, round, block: Block::new(header, vec![]) }));
                    }
                    Output::Decided { .. } => decided += 1,
                    _ => {}
                }
            }
        }
        assert_eq!(decided, 4, "every validator decides height {h}");
    }
}

fn heights(c: &mut Criterion) {
    let mut g = c.benchmark_group("consensus_4_validators");
    g.throughput(Throughput::Elements(1));
    for (name, verify) in [("height_with_signature_checks", true), ("height_without_signature_checks", false)] {
        let mut net = Net::new(verify);
        g.bench_function(name, |b| b.iter(|| net.height()));
    }
    g.finish();
}

criterion_group!(benches, heights);
criterion_main!(benches);
