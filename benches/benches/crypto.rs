//! Signature verification (ZIP-215, single and batch) and tx decoding: the ceilings every other
//! figure is measured against. Batches of 16 to 1024 txs by 2,000 repeat signers (keys come from
//! the node's key cache, as for a validator's clients), and ed25519-zebra's batch on the same
//! 256, which verifies by the same equation but decompresses every signer's key each time.
use bytes::Bytes;
use cairn_benches::mempool_fixtures::RawBatchInputs;
use cairn_benches::signed_transfers;
use cairn_proto::UncheckedTx;
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};

fn crypto(c: &mut Criterion) {
    let txs = signed_transfers("bench", 4096, 2000);
    let raw: Vec<Bytes> = txs.iter().map(|t| t.encoded().clone()).collect();
    let decoded: Vec<UncheckedTx> = raw.iter().map(|r| UncheckedTx::decode(r.clone()).unwrap()).collect();

    let mut g = c.benchmark_group("tx");
    g.throughput(Throughput::Elements(1));
    g.bench_function("decode", |b| b.iter(|| UncheckedTx::decode(raw[0].clone()).unwrap()));
    g.bench_function("verify_single", |b| {
        b.iter_batched(|| decoded[0].clone(), |t| t.verify().unwrap(), BatchSize::SmallInput)
    });
    for n in [16, 64, 72, 128, 200, 256, 1024] {
        g.throughput(Throughput::Elements(n as u64));
        // Consecutive windows of the 4,096, so every signer's key has been seen before.
        let mut at = 0;
        g.bench_with_input(BenchmarkId::new("verify_batch", n), &n, |b, &n| {
            b.iter_batched(
                || {
                    at = (at + n) % (decoded.len() - n);
                    decoded[at..at + n].to_vec()
                },
                UncheckedTx::verify_many,
                BatchSize::SmallInput,
            )
        });
    }
    let zebra = RawBatchInputs::of(&raw[..256]);
    g.throughput(Throughput::Elements(256));
    g.bench_function("zebra_batch_256", |b| b.iter(|| assert!(zebra.verify_as_one_batch())));
    g.finish();
}

criterion_group!(benches, crypto);
criterion_main!(benches);
