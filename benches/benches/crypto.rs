//! Signature verification (ZIP-215, single and batch) and tx decoding: the ceilings every other
//! figure is measured against.
use bytes::Bytes;
use cairn_benches::signed_transfers;
use cairn_proto::UncheckedTx;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

fn crypto(c: &mut Criterion) {
    let txs = signed_transfers("bench", 256, 256);
    let raw: Vec<Bytes> = txs.iter().map(|t| t.encoded().clone()).collect();
    let decoded: Vec<UncheckedTx> = raw.iter().map(|r| UncheckedTx::decode(r.clone()).unwrap()).collect();

    let mut g = c.benchmark_group("tx");
    g.throughput(Throughput::Elements(1));
    g.bench_function("decode", |b| b.iter(|| UncheckedTx::decode(raw[0].clone()).unwrap()));
    g.bench_function("verify_single", |b| {
        b.iter_batched(|| decoded[0].clone(), |t| t.verify().unwrap(), BatchSize::SmallInput)
    });
    g.throughput(Throughput::Elements(256));
    g.bench_function("verify_batch_256", |b| {
        b.iter_batched(|| decoded.clone(), UncheckedTx::verify_many, BatchSize::SmallInput)
    });
    g.finish();
}

criterion_group!(benches, crypto);
criterion_main!(benches);
