//! cairn-state benchmarks: committing a block of 10,000 transfers into states of growing size,
//! proof generation and verification, point reads, and state-sync chunks.
//!
//! `cargo bench -p cairn-benches --bench state -- --warm-up-time 1 --measurement-time 3`
use cairn_proto::{
    Account, Address, Block, Certificate, CertifiedBlock, Genesis, GenesisAccount, GenesisValidator, Hash, Header,
    Keypair, Transfer, TxAction, TxBody, VerifiedTx,
};
use cairn_state::tree::node::{key_of, Leaf};
use cairn_state::tree::Tree;
use cairn_state::{verify_proof, State, StateConfig};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode};
use rand::{Rng, SeedableRng};
use rayon::prelude::*;
use std::time::{Duration, Instant};

const CHAIN: &str = "cairn-bench";
const BLOCK_TXS: usize = 10_000;

/// A store holding `accounts` accounts, `BLOCK_TXS` of them controlled by `senders`.
struct Fixture {
    _dir: tempfile::TempDir,
    state: State,
    senders: Vec<Keypair>,
    accounts: u64,
}

fn synthetic(i: u64) -> Address {
    Address(Hash::of(&i.to_le_bytes()).0)
}

fn fixture(accounts: u64) -> Fixture {
    let senders: Vec<Keypair> = (0..BLOCK_TXS as u64)
        .into_par_iter()
        .map(|i| {
            let mut seed = [7u8; 32];
            seed[..8].copy_from_slice(&i.to_le_bytes());
            Keypair::from_seed(seed)
        })
        .collect();
    let mut funded: Vec<GenesisAccount> =
        senders.iter().map(|k| GenesisAccount { address: k.address(), balance: 1 << 40 }).collect();
    funded.extend((senders.len() as u64..accounts).map(|i| GenesisAccount { address: synthetic(i), balance: 1_000 }));
    let genesis = Genesis {
        chain_id: CHAIN.into(),
        genesis_time_ms: 0,
        validators: vec![GenesisValidator { address: Address([1; 32]), power: 1, name: String::new() }],
        accounts: funded,
        gentxs: vec![],
    };
    let dir = tempfile::tempdir().unwrap();
    // Defaults, including an fsync per commit: the figures are what a node pays.
    let state = State::open(dir.path(), StateConfig::default()).unwrap();
    state.init_genesis(&genesis).unwrap();
    Fixture { _dir: dir, state, senders, accounts }
}

impl Fixture {
    /// The next block: every sender pays one random account.
    fn next_block(&self, seed: u64) -> CertifiedBlock {
        let height = self.state.latest_height() + 1;
        let txs: Vec<VerifiedTx> = self
            .senders
            .par_iter()
            .enumerate()
            .map(|(i, k)| {
                let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ ((i as u64) << 20) ^ height);
                let to = synthetic(rng.gen_range(0..self.accounts));
                let body = TxBody {
                    chain_id: CHAIN.into(),
                    sender: k.address(),
                    nonce: height - 1,
                    fee: 1,
                    action: TxAction::Transfer(Transfer { recipient: to, amount: 3 }),
                };
                body.sign(k)
            })
            .collect();
        let header = Header {
            chain_id: CHAIN.into(),
            height,
            parent_hash: Hash::ZERO,
            timestamp_ms: height,
            proposer: Address([1; 32]),
            tx_root: Hash::ZERO,
            state_root: self.state.state_root(),
            tx_count: 0,
            next_validators_hash: cairn_proto::Hash::ZERO,
        };
        let block = Block::new(header, txs);
        let certificate = Certificate { height, round: 0, block_hash: block.hash(), signatures: vec![] };
        CertifiedBlock { block, certificate }
    }
}

fn commit(c: &mut Criterion) {
    let mut group = c.benchmark_group("state_commit_10k_transfers");
    group.sample_size(10);
    for accounts in [10_000u64, 100_000, 1_000_000] {
        let f = fixture(accounts);
        group.bench_with_input(BenchmarkId::from_parameter(accounts), &accounts, |b, _| {
            b.iter_custom(|iters| timed_commits(&f, iters, Duration::ZERO))
        });
    }
    group.finish();
}

/// Commits `iters` fresh blocks, starting one every `pace` at most (zero: back to back), and
/// returns the time spent in `commit_block` alone (building and signing blocks is not timed).
fn timed_commits(f: &Fixture, iters: u64, pace: Duration) -> Duration {
    let mut total = Duration::ZERO;
    let mut last = Instant::now();
    for _ in 0..iters {
        let block = f.next_block(1);
        std::thread::sleep(pace.saturating_sub(last.elapsed()));
        last = Instant::now();
        let out = f.state.commit_block(&block).unwrap();
        total += last.elapsed();
        assert!(out.receipts.iter().all(|r| r.success));
    }
    total
}

/// One block per second: the node's steady state at 10k TPS.
const PACE: Duration = Duration::from_secs(1);

/// The same commit at a node's pace: RocksDB's background flushes and compactions and the
/// freeing of retired tree versions get the time between blocks, as they do in a node. Back
/// to back (above), ten blocks a second, they compete with the next commit for this
/// machine's two cores, which is ten times the load of 10k TPS.
fn commit_paced(c: &mut Criterion) {
    let mut group = c.benchmark_group("state_commit_10k_transfers_one_block_per_second");
    group.sample_size(10).sampling_mode(SamplingMode::Flat);
    let f = fixture(1_000_000);
    group.bench_function(BenchmarkId::from_parameter(f.accounts), |b| {
        b.iter_custom(|iters| timed_commits(&f, iters, PACE))
    });
    group.finish();
}

fn reads_and_proofs(c: &mut Criterion) {
    let f = fixture(1_000_000);
    f.state.commit_block(&f.next_block(2)).unwrap();
    let height = f.state.latest_height();
    let root = f.state.state_root();
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let addrs: Vec<Address> = (0..1024).map(|_| synthetic(rng.gen_range(0..f.accounts))).collect();
    let mut i = 0;
    let mut next = move || {
        i = (i + 1) % addrs.len();
        addrs[i]
    };
    let mut group = c.benchmark_group("state_1m_accounts");
    group.bench_function("account_latest", |b| b.iter(|| f.state.account(&next())));
    group.bench_function("account_at_height", |b| b.iter(|| f.state.account_at(&next(), height).unwrap()));
    group.bench_function("prove_latest", |b| b.iter(|| f.state.prove(&next(), height).unwrap()));
    let a = next();
    let (account, proof) = f.state.prove(&a, height).unwrap();
    group.bench_function("verify_proof", |b| b.iter(|| verify_proof(&root, &a, account.as_ref(), &proof).unwrap()));
    assert_ne!(account, Some(Account::default()));
    group.finish();
}

/// State sync at 1M accounts: cutting a height into chunks (one scan of the account index and
/// every chunk's subtree hashed), and a joiner's checks of the manifest and of every chunk.
fn state_sync_chunks(c: &mut Criterion) {
    let f = fixture(1_000_000);
    let height = f.state.latest_height();
    let mut group = c.benchmark_group("state_sync_1m_accounts");
    group.sample_size(10).sampling_mode(SamplingMode::Flat);
    group.bench_function("snapshot_chunks", |b| b.iter(|| f.state.snapshot_chunks(height).unwrap()));
    let (manifest, chunks) = f.state.snapshot_chunks(height).unwrap();
    group.bench_function("verify_manifest_and_chunks", |b| {
        b.iter(|| {
            manifest.verify(&manifest.state_root).unwrap();
            chunks.par_iter().try_for_each(|c| c.verify(&manifest)).unwrap()
        })
    });
    group.finish();
}

/// The tree alone: one block's 20k account updates applied to trees of growing size.
fn tree_apply(c: &mut Criterion) {
    let leaf = |i: u64, balance: u64| Leaf::new(key_of(&synthetic(i)), &Account::new(balance, 0));
    let sorted = |mut v: Vec<Leaf>| {
        v.sort_by_key(|l| l.key);
        v.dedup_by_key(|l| l.key);
        v
    };
    let mut group = c.benchmark_group("tree_apply_20k_updates");
    group.sample_size(10);
    for accounts in [100_000u64, 1_000_000] {
        let tree = Tree::build(&sorted((0..accounts).into_par_iter().map(|i| leaf(i, 1)).collect()));
        let mut rng = rand::rngs::StdRng::seed_from_u64(4);
        let updates = sorted((0..20_000).map(|_| leaf(rng.gen_range(0..accounts), rng.gen())).collect());
        group.bench_with_input(BenchmarkId::from_parameter(accounts), &accounts, |b, _| {
            b.iter(|| tree.apply(&updates).root_hash())
        });
    }
    group.finish();
}

criterion_group!(benches, commit, commit_paced, tree_apply, reads_and_proofs, state_sync_chunks);
criterion_main!(benches);
