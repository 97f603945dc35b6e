//! Requests per second through cairn-rpc on loopback: `chain_status` (HTTP, WebSocket, gRPC)
//! and transaction submission (`tx_submit` one by one, `tx_submitBatch`, gRPC `SubmitTx`
//! batches and the `SubmitTxStream` bidirectional stream).
//!
//! The node behind the servers is a stub that answers at once (hash of the bytes, no
//! signature check), so these figures are the RPC layer's own cost: HTTP/WS/HTTP2 framing,
//! JSON or protobuf, hex, middleware and metrics.
use bytes::Bytes;
use cairn_proto::{
    pb, Address, DuplicateVoteEvidence, Hash, Keypair, Transfer, TxAction, TxBody, TxRejection, Validator,
};
use cairn_rpc::{AccountInfo, ApiError, BlockInfo, MempoolInfo, NewHead, NodeApi, NodeStatus, PeerInfo, TxStatus};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use jsonrpsee::core::client::ClientT;
use jsonrpsee::rpc_params;
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Stub(tokio::sync::broadcast::Sender<NewHead>);

#[async_trait::async_trait]
impl NodeApi for Stub {
    fn status(&self) -> NodeStatus {
        NodeStatus {
            chain_id: "cairn-bench".into(),
            node_id: "bench".into(),
            validator: true,
            height: 42,
            block_hash: Hash([1; 32]),
            state_root: Hash([2; 32]),
            block_time_ms: 1_700_000_000_000,
            syncing: false,
            peers: 3,
            live: true,
            ready: true,
        }
    }
    async fn submit(&self, txs: Vec<Bytes>) -> Vec<Result<Hash, TxRejection>> {
        txs.iter().map(|t| Ok(Hash::of(t))).collect()
    }
    fn tx(&self, _: &Hash) -> TxStatus {
        TxStatus::Unknown
    }
    fn block(&self, _: Option<u64>) -> Option<BlockInfo> {
        None
    }
    fn validators(&self, _: Option<u64>) -> Option<Vec<Validator>> {
        Some(Vec::new())
    }
    fn account(&self, address: &Address, _: Option<u64>, _: bool) -> Result<AccountInfo, ApiError> {
        Ok(AccountInfo {
            address: *address,
            account: Default::default(),
            height: 42,
            state_root: Hash::ZERO,
            proof: None,
        })
    }
    fn mempool(&self) -> MempoolInfo {
        MempoolInfo { size: 0, bytes: 0, capacity: 0 }
    }
    fn peers(&self) -> Vec<PeerInfo> {
        Vec::new()
    }
    fn subscribe_heads(&self) -> tokio::sync::broadcast::Receiver<NewHead> {
        self.0.subscribe()
    }
    fn evidence(&self) -> Vec<DuplicateVoteEvidence> {
        Vec::new()
    }
}

fn signed_txs(n: usize) -> Vec<Bytes> {
    let key = Keypair::from_seed([3; 32]);
    (0..n as u64)
        .map(|nonce| {
            TxBody {
                chain_id: "cairn-bench".into(),
                sender: key.address(),
                nonce,
                fee: 1,
                action: TxAction::Transfer(Transfer { recipient: Address([9; 32]), amount: 1 }),
            }
            .sign(&key)
            .encoded()
            .clone()
        })
        .collect()
}

/// Runs `round` (which handles `per_round` requests or txs) enough times for criterion.
fn timed<F, Fut>(rt: &tokio::runtime::Runtime, iters: u64, round: F) -> Duration
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    rt.block_on(async {
        let start = Instant::now();
        for _ in 0..iters {
            round().await;
        }
        start.elapsed()
    })
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let mut config = cairn_rpc::RpcConfig::ephemeral();
    config.rate_limit_per_sec = 0; // measure the server, not the limiter
    config.max_connections = 10_000;
    let api = Arc::new(Stub(tokio::sync::broadcast::channel(16).0));
    let handle = rt.block_on(cairn_rpc::serve(config, api, prometheus::Registry::new())).expect("serve");
    let (j, g, _) = handle.local_addrs();
    let http = jsonrpsee::http_client::HttpClientBuilder::default().build(format!("http://{j}")).expect("http client");
    let ws = rt
        .block_on(
            jsonrpsee::ws_client::WsClientBuilder::default().max_concurrent_requests(4096).build(format!("ws://{j}")),
        )
        .expect("ws client");
    let grpc = rt.block_on(pb::node_client::NodeClient::connect(format!("http://{g}"))).expect("grpc client");

    const CONCURRENT: usize = 64;
    const BATCH: usize = 1000;
    let txs = signed_txs(BATCH);
    let hexes: Vec<String> = txs.iter().map(hex::encode).collect();

    let mut group = c.benchmark_group("rpc_loopback");
    group.sample_size(10);

    group.throughput(Throughput::Elements(CONCURRENT as u64));
    group.bench_function("chain_status/http_64_concurrent", |b| {
        b.iter_custom(|iters| {
            timed(&rt, iters, || async {
                let calls =
                    (0..CONCURRENT).map(|_| http.request::<serde_json::Value, _>("chain_status", rpc_params![]));
                for r in futures::future::join_all(calls).await {
                    r.expect("chain_status");
                }
            })
        })
    });
    group.bench_function("chain_status/ws_64_concurrent", |b| {
        b.iter_custom(|iters| {
            timed(&rt, iters, || async {
                let calls = (0..CONCURRENT).map(|_| ws.request::<serde_json::Value, _>("chain_status", rpc_params![]));
                for r in futures::future::join_all(calls).await {
                    r.expect("chain_status");
                }
            })
        })
    });
    group.bench_function("chain_status/grpc_64_concurrent", |b| {
        b.iter_custom(|iters| {
            timed(&rt, iters, || async {
                let calls = (0..CONCURRENT).map(|_| {
                    let mut c = grpc.clone();
                    async move { c.status(pb::StatusRequest {}).await }
                });
                for r in futures::future::join_all(calls).await {
                    r.expect("Status");
                }
            })
        })
    });
    group.bench_function("tx_submit/ws_64_concurrent", |b| {
        b.iter_custom(|iters| {
            timed(&rt, iters, || async {
                let calls =
                    hexes[..CONCURRENT].iter().map(|h| ws.request::<serde_json::Value, _>("tx_submit", rpc_params![h]));
                for r in futures::future::join_all(calls).await {
                    r.expect("tx_submit");
                }
            })
        })
    });

    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("tx_submitBatch/http_1000", |b| {
        b.iter_custom(|iters| {
            timed(&rt, iters, || async {
                let r: Vec<serde_json::Value> =
                    http.request("tx_submitBatch", rpc_params![&hexes]).await.expect("batch");
                assert_eq!(r.len(), BATCH);
            })
        })
    });
    group.bench_function("SubmitTx/grpc_batch_1000", |b| {
        b.iter_custom(|iters| {
            timed(&rt, iters, || async {
                let mut c = grpc.clone();
                let r = c.submit_tx(pb::SubmitTxRequest { txs: txs.clone() }).await.expect("SubmitTx");
                assert_eq!(r.get_ref().results.len(), BATCH);
            })
        })
    });
    group.bench_function("SubmitTxStream/grpc_10x100", |b| {
        b.iter_custom(|iters| {
            timed(&rt, iters, || async {
                let mut c = grpc.clone();
                let msgs: Vec<pb::SubmitTxRequest> =
                    txs.chunks(100).map(|ch| pb::SubmitTxRequest { txs: ch.to_vec() }).collect();
                let mut out = c.submit_tx_stream(futures::stream::iter(msgs)).await.expect("stream").into_inner();
                let mut n = 0;
                while let Some(rp) = out.message().await.expect("response") {
                    n += rp.results.len();
                }
                assert_eq!(n, BATCH);
            })
        })
    });
    group.finish();
    rt.block_on(handle.stop());
}

criterion_group!(benches, bench);
criterion_main!(benches);
