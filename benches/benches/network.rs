//! Tx-batch gossip throughput between two cairn-network nodes on loopback TCP: node A
//! broadcasts batches of 200-byte txs, node B receives them; a window of batches is kept in
//! flight so the queues never overflow. Reports txs/s (and MB/s in the `bytes` group).
use bytes::Bytes;
use cairn_network::{start, NetworkConfig, NetworkEvent, NetworkHandle};
use cairn_proto::{Keypair, Validator, ValidatorSet};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;
use tokio::sync::mpsc::Receiver;

const TX_BYTES: usize = 200;
/// Batches in flight: below the handle's tx queue (128) and the node's tx-event allowance (64).
const WINDOW: u64 = 32;

struct Pair {
    sender: NetworkHandle,
    receiver: Receiver<NetworkEvent>,
    _keep: NetworkHandle,
}

fn pair(rt: &Runtime) -> Pair {
    rt.block_on(async {
        let keys: Vec<Keypair> = (1..=2u8).map(|i| Keypair::from_seed([i; 32])).collect();
        let set =
            ValidatorSet::new(keys.iter().map(|k| Validator { address: k.address(), power: 1 }).collect()).unwrap();
        let config =
            |bootstrap| NetworkConfig { listen: ([127, 0, 0, 1], 0).into(), bootstrap, ..NetworkConfig::default() };
        let (a, _a_events) =
            start(config(vec![]), &keys[0], "bench", set.clone(), &prometheus::Registry::new()).await.unwrap();
        let addr = format!("{}/p2p/{}", a.listen_addrs()[0], a.local_peer_id()).parse().unwrap();
        let (b, mut receiver) =
            start(config(vec![addr]), &keys[1], "bench", set, &prometheus::Registry::new()).await.unwrap();
        while !matches!(receiver.recv().await, Some(NetworkEvent::PeerConnected { .. })) {}
        // Let gossipsub exchange subscriptions before publishing.
        tokio::time::sleep(Duration::from_secs(2)).await;
        Pair { sender: a, receiver, _keep: b }
    })
}

fn batch(n: usize) -> Vec<Bytes> {
    (0..n).map(|i| Bytes::from([&(i as u64).to_le_bytes()[..], &[7u8; TX_BYTES - 8]].concat())).collect()
}

/// Sends `iters` batches of `txs` and waits until all arrived.
async fn run(p: &mut Pair, txs: &[Bytes], iters: u64) -> Duration {
    let start = Instant::now();
    let (mut sent, mut received) = (0u64, 0u64);
    while received < iters {
        while sent < iters && sent - received < WINDOW {
            p.sender.broadcast_txs(txs.to_vec());
            sent += 1;
        }
        match tokio::time::timeout(Duration::from_secs(10), p.receiver.recv()).await {
            Ok(Some(NetworkEvent::TxBatch { .. })) => received += 1,
            Ok(Some(_)) => {}
            _ => panic!("batch lost ({received}/{iters} received)"),
        }
    }
    start.elapsed()
}

fn gossip(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let mut p = pair(&rt);
    let mut g = c.benchmark_group("network/tx_gossip");
    for n in [100usize, 1000, 4000] {
        let txs = batch(n);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("txs_per_batch", n), &txs, |b, txs| {
            b.iter_custom(|iters| rt.block_on(run(&mut p, txs, iters)))
        });
    }
    g.finish();
    let mut g = c.benchmark_group("network/tx_gossip_bytes");
    let txs = batch(1000);
    g.throughput(Throughput::Bytes((1000 * TX_BYTES) as u64));
    g.bench_function("txs_per_batch/1000", |b| b.iter_custom(|iters| rt.block_on(run(&mut p, &txs, iters))));
    g.finish();
}

criterion_group!(benches, gossip);
criterion_main!(benches);
