//! The gRPC service `cairn.v1.Node` of SPEC §5, served with `grpc.health.v1.Health` and server
//! reflection (v1 and v1alpha) so that stock tools (grpcurl, grpc_health_probe, Python's
//! grpcio-reflection) work without our .proto files.
use crate::api::{ApiError, NodeApi, TxStatus};
use crate::client_ip::{ClientIp, FORWARDED_FOR};
use crate::coalesce::Coalescer;
use crate::metrics::{Outcome, RpcMetrics};
use crate::ratelimit::IpRateLimiter;
use crate::subscriptions::{Held, Subscriptions};
use bytes::Bytes;
use cairn_proto::pb::node_server::Node;
use cairn_proto::{pb, Address, Hash, RejectReason, TxRejection, Validator};
use futures::{Stream, StreamExt};
use prost::Message;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::BroadcastStream;
use tonic::{Code, Request, Response, Status, Streaming};

/// Metadata keys that carry the SPEC §4 reason of a refused transaction on a gRPC error.
pub const REASON_METADATA: &str = "cairn-reason";
pub const CODE_METADATA: &str = "cairn-code";

/// The `Node` service over a `NodeApi`.
pub struct NodeService {
    pub api: Arc<dyn NodeApi>,
    /// Single-tx `SubmitTx` calls go through here, to reach the node in batches.
    pub singles: Coalescer,
    pub metrics: RpcMetrics,
    pub limiter: IpRateLimiter,
    /// Who the client is (the peer, or what a trusted proxy says in `x-forwarded-for`).
    pub client_ip: ClientIp,
    /// Caps on open `SubscribeBlocks` streams, per connection and on the node.
    pub subscriptions: Subscriptions,
    pub max_batch: usize,
    /// Responses queued per `SubmitTxStream` before the server stops reading requests.
    pub stream_buffer: usize,
    /// Becomes true when the server stops: open streams end so that shutdown can finish.
    pub shutdown: tokio::sync::watch::Receiver<bool>,
}

/// The gRPC status for a refused transaction: the code follows gRPC's guidance (state-free
/// faults are INVALID_ARGUMENT, state-dependent ones FAILED_PRECONDITION, a full pool
/// RESOURCE_EXHAUSTED), the message is `"<reason>: <message>"`, and the reason name and SPEC
/// code are also in the `cairn-reason` / `cairn-code` metadata.
pub fn rejection_status(r: &TxRejection) -> Status {
    let code = match r.reason {
        RejectReason::MempoolFull | RejectReason::SenderLimit => Code::ResourceExhausted,
        RejectReason::Duplicate => Code::AlreadyExists,
        RejectReason::NonceTooLow | RejectReason::NonceTooHigh | RejectReason::InsufficientBalance => {
            Code::FailedPrecondition
        }
        RejectReason::MalformedTx
        | RejectReason::InvalidSignature
        | RejectReason::WrongChainId
        | RejectReason::TxTooLarge
        | RejectReason::FeeTooLow => Code::InvalidArgument,
    };
    let mut s = Status::new(code, format!("{}: {}", r.reason.name(), r.message));
    if let Ok(v) = r.reason.name().parse() {
        s.metadata_mut().insert(REASON_METADATA, v);
    }
    if let Ok(v) = r.reason.code().to_string().parse() {
        s.metadata_mut().insert(CODE_METADATA, v);
    }
    s
}

fn rate_limited() -> Status {
    Status::resource_exhausted("rate limit exceeded")
}

fn api_status(e: ApiError) -> Status {
    match e {
        ApiError::NotFound(m) => Status::not_found(m),
        ApiError::InvalidParams(m) => Status::invalid_argument(m),
        ApiError::Internal(m) => Status::internal(m),
    }
}

fn submit_result(r: Result<Hash, TxRejection>) -> pb::SubmitResult {
    use pb::submit_result::Result as R;
    pb::SubmitResult {
        result: Some(match r {
            Ok(h) => R::Hash(Bytes::copy_from_slice(&h.0)),
            Err(e) => R::Error(pb::TxError {
                code: e.reason.code() as u32,
                reason: e.reason.name().to_owned(),
                message: e.message,
            }),
        }),
    }
}

/// Runs a call that may read the disk on tokio's blocking pool.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, Status> {
    tokio::task::spawn_blocking(f).await.map_err(|e| Status::internal(format!("node call failed: {e}")))
}

fn bytes32<T>(b: &[u8], what: &str, f: fn(&[u8]) -> Result<T, cairn_proto::DecodeError>) -> Result<T, Status> {
    f(b).map_err(|e| Status::invalid_argument(format!("{what}: {e}")))
}

impl NodeService {
    /// The client of a request: its peer, or the address a trusted proxy forwarded it for.
    fn client<T>(&self, req: &Request<T>) -> Option<IpAddr> {
        let peer = req.remote_addr()?.ip();
        let forwarded = req.metadata().get_all(FORWARDED_FOR).iter().filter_map(|v| v.to_str().ok());
        Some(self.client_ip.resolve(peer, forwarded))
    }

    /// Per-client rate limit (one token per call), and the request counter; returns the start
    /// time for the histogram.
    fn admit<T>(&self, method: &'static str, req: &Request<T>) -> Result<Instant, Status> {
        self.admit_n(method, req, 1)
    }

    /// The same, for a call that costs `cost` tokens (one per transaction it carries).
    fn admit_n<T>(&self, method: &'static str, req: &Request<T>, cost: usize) -> Result<Instant, Status> {
        if let Some(ip) = self.client(req) {
            if !self.charge(ip, cost) {
                self.metrics.observe(method, 0.0, Outcome::ClientError);
                return Err(rate_limited());
            }
        }
        Ok(Instant::now())
    }

    /// Takes one token per transaction (at least one); a list longer than `max_batch` is
    /// refused unread, so it costs no more than that.
    fn charge(&self, ip: IpAddr, txs: usize) -> bool {
        let cost = txs.clamp(1, self.max_batch);
        self.limiter.check_n(ip, u32::try_from(cost).unwrap_or(u32::MAX))
    }

    fn done<T>(&self, method: &'static str, start: Instant, r: Result<T, Status>) -> Result<Response<T>, Status> {
        let outcome = r.as_ref().map_or_else(|s| Outcome::of_grpc_code(s.code()), |_| Outcome::Ok);
        self.metrics.observe(method, start.elapsed().as_secs_f64(), outcome);
        r.map(Response::new)
    }

    /// Checks the batch size and submits; one result per tx, in order.
    async fn submit(&self, txs: Vec<Bytes>) -> Result<Vec<Result<Hash, TxRejection>>, Status> {
        if txs.is_empty() {
            return Err(Status::invalid_argument("no transactions"));
        }
        if txs.len() > self.max_batch {
            return Err(Status::invalid_argument(format!(
                "{} transactions, more than max_batch {}",
                txs.len(),
                self.max_batch
            )));
        }
        Ok(self.api.submit(txs).await)
    }

    async fn submit_many(&self, txs: Vec<Bytes>) -> Result<pb::SubmitTxResponse, Status> {
        let results = self.submit(txs).await?;
        Ok(pb::SubmitTxResponse { results: results.into_iter().map(submit_result).collect() })
    }
}

impl NodeService {
    /// Resolves when the server is stopping.
    fn closing(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self.shutdown.clone();
        async move {
            let _ = rx.wait_for(|stopping| *stopping).await;
        }
    }
}

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl Node for NodeService {
    async fn status(&self, req: Request<pb::StatusRequest>) -> Result<Response<pb::StatusResponse>, Status> {
        let start = self.admit("grpc.Status", &req)?;
        let s = self.api.status();
        let rp = pb::StatusResponse {
            chain_id: s.chain_id,
            node_id: s.node_id,
            validator: s.validator,
            height: s.height,
            block_hash: Bytes::copy_from_slice(&s.block_hash.0),
            state_root: Bytes::copy_from_slice(&s.state_root.0),
            block_time_ms: s.block_time_ms,
            syncing: s.syncing,
            peers: u32::try_from(s.peers).unwrap_or(u32::MAX),
        };
        self.done("grpc.Status", start, Ok(rp))
    }

    /// One tx: like `tx_submit`, a refusal is an error status. Several: like `tx_submitBatch`,
    /// one `SubmitResult` per tx in order.
    async fn submit_tx(&self, req: Request<pb::SubmitTxRequest>) -> Result<Response<pb::SubmitTxResponse>, Status> {
        let start = self.admit_n("grpc.SubmitTx", &req, req.get_ref().txs.len())?;
        let mut txs = req.into_inner().txs;
        let r = match (txs.pop(), txs.is_empty()) {
            (Some(tx), true) => match self.singles.submit(tx).await {
                Some(Err(rej)) => Err(rejection_status(&rej)),
                Some(Ok(h)) => Ok(pb::SubmitTxResponse { results: vec![submit_result(Ok(h))] }),
                None => Err(Status::internal("the node returned no result")),
            },
            (last, _) => {
                txs.extend(last);
                self.submit_many(txs).await
            }
        };
        self.done("grpc.SubmitTx", start, r)
    }

    type SubmitTxStreamStream = BoxStream<pb::SubmitTxResponse>;

    /// Each request message (one or more txs) gets one response, in order. Requests are
    /// processed one at a time and at most `stream_buffer` responses wait to be sent, so a
    /// client that stops reading is pushed back on by HTTP/2 flow control, not buffered.
    async fn submit_tx_stream(
        &self,
        req: Request<Streaming<pb::SubmitTxRequest>>,
    ) -> Result<Response<Self::SubmitTxStreamStream>, Status> {
        let start = self.admit("grpc.SubmitTxStream", &req)?;
        let ip = self.client(&req);
        let mut incoming = req.into_inner();
        let (tx, rx) = tokio::sync::mpsc::channel(self.stream_buffer.max(1));
        let svc = NodeService {
            api: self.api.clone(),
            singles: self.singles.clone(),
            metrics: self.metrics.clone(),
            limiter: self.limiter.clone(),
            client_ip: self.client_ip.clone(),
            subscriptions: self.subscriptions.clone(),
            max_batch: self.max_batch,
            stream_buffer: self.stream_buffer,
            shutdown: self.shutdown.clone(),
        };
        tokio::spawn(async move {
            while let Some(msg) = incoming.next().await {
                let t = Instant::now();
                let rp = match msg {
                    Err(status) => Err(status),
                    // Each message costs one token per tx it carries.
                    Ok(m) if ip.is_some_and(|ip| !svc.charge(ip, m.txs.len())) => Err(rate_limited()),
                    Ok(m) => svc.submit_many(m.txs).await,
                };
                let outcome = rp.as_ref().map_or_else(|s| Outcome::of_grpc_code(s.code()), |_| Outcome::Ok);
                svc.metrics.observe("grpc.SubmitTxStream", t.elapsed().as_secs_f64(), outcome);
                let stop = rp.is_err();
                if tx.send(rp).await.is_err() || stop {
                    break;
                }
            }
        });
        let out = tokio_stream::wrappers::ReceiverStream::new(rx).take_until(self.closing());
        self.done("grpc.SubmitTxStream", start, Ok(Box::pin(out) as _))
    }

    async fn get_tx(&self, req: Request<pb::GetTxRequest>) -> Result<Response<pb::GetTxResponse>, Status> {
        let start = self.admit("grpc.GetTx", &req)?;
        let r = bytes32(&req.get_ref().hash, "hash", Hash::from_slice).map(|hash| {
            let mut rp = pb::GetTxResponse { hash: Bytes::copy_from_slice(&hash.0), ..Default::default() };
            match self.api.tx(&hash) {
                TxStatus::Unknown => rp.status = pb::TxStatus::Unknown as i32,
                TxStatus::Pending => rp.status = pb::TxStatus::Pending as i32,
                TxStatus::Committed { height, index, success, error } => {
                    rp.status = pb::TxStatus::Committed as i32;
                    rp.height = height;
                    rp.index = index;
                    rp.success = success;
                    rp.error = error.unwrap_or_default();
                }
            }
            rp
        });
        self.done("grpc.GetTx", start, r)
    }

    async fn get_block(&self, req: Request<pb::GetBlockRequest>) -> Result<Response<pb::GetBlockResponse>, Status> {
        let start = self.admit("grpc.GetBlock", &req)?;
        let h = req.get_ref().height;
        let api = self.api.clone();
        let block = blocking(move || api.block((h != 0).then_some(h))).await?;
        let rp = match block {
            None => pb::GetBlockResponse::default(),
            Some(b) => pb::GetBlockResponse {
                found: true,
                hash: Bytes::copy_from_slice(&b.hash.0),
                header: Some(b.header.to_pb()),
                tx_hashes: b.tx_hashes.iter().map(|h| Bytes::copy_from_slice(&h.0)).collect(),
                commit: Some(b.commit.to_pb()),
            },
        };
        self.done("grpc.GetBlock", start, Ok(rp))
    }

    async fn get_validators(
        &self,
        req: Request<pb::GetValidatorsRequest>,
    ) -> Result<Response<pb::GetValidatorsResponse>, Status> {
        let start = self.admit("grpc.GetValidators", &req)?;
        let h = req.get_ref().height;
        let api = self.api.clone();
        let set = blocking(move || api.validators((h != 0).then_some(h))).await?;
        let rp = match set {
            None => pb::GetValidatorsResponse::default(),
            Some(validators) => pb::GetValidatorsResponse {
                found: true,
                validators: Some(pb::ValidatorSet { validators: validators.iter().map(Validator::to_pb).collect() }),
            },
        };
        self.done("grpc.GetValidators", start, Ok(rp))
    }

    async fn get_account(
        &self,
        req: Request<pb::GetAccountRequest>,
    ) -> Result<Response<pb::GetAccountResponse>, Status> {
        let start = self.admit("grpc.GetAccount", &req)?;
        let m = req.into_inner();
        let api = self.api.clone();
        let r = match bytes32(&m.address, "address", Address::from_slice) {
            Err(s) => Err(s),
            Ok(address) => blocking(move || api.account(&address, (m.height != 0).then_some(m.height), m.prove))
                .await
                .and_then(|r| r.map_err(api_status))
                .map(|a| pb::GetAccountResponse {
                    address: Bytes::copy_from_slice(&a.address.0),
                    balance: a.account.balance,
                    nonce: a.account.nonce,
                    height: a.height,
                    state_root: Bytes::copy_from_slice(&a.state_root.0),
                    proof: a.proof.map(|p| Bytes::from(p.encode_to_vec())).unwrap_or_default(),
                    bonded: a.account.bonded,
                    unbonding: a.account.unbonding,
                    release_height: a.account.release_height,
                }),
        };
        self.done("grpc.GetAccount", start, r)
    }

    type SubscribeBlocksStream = BoxStream<pb::BlockEvent>;

    /// Streams straight from the node's bounded broadcast channel: a subscriber that falls
    /// behind it gets RESOURCE_EXHAUSTED and the stream ends (no per-subscriber queue).
    async fn subscribe_blocks(
        &self,
        req: Request<pb::SubscribeBlocksRequest>,
    ) -> Result<Response<Self::SubscribeBlocksStream>, Status> {
        let start = self.admit("grpc.SubscribeBlocks", &req)?;
        let slot = match self.subscriptions.take(req.remote_addr()) {
            Ok(slot) => slot,
            Err(why) => return self.done("grpc.SubscribeBlocks", start, Err(Status::resource_exhausted(why))),
        };
        let stream = BroadcastStream::new(self.api.subscribe_heads())
            .map(|r| match r {
                Ok(h) => Ok(pb::BlockEvent {
                    height: h.height,
                    hash: Bytes::copy_from_slice(&h.hash.0),
                    tx_count: h.tx_count,
                    timestamp_ms: h.timestamp_ms,
                    state_root: Bytes::copy_from_slice(&h.state_root.0),
                }),
                Err(BroadcastStreamRecvError::Lagged(n)) => {
                    Err(Status::resource_exhausted(format!("subscriber too slow: missed {n} blocks")))
                }
            })
            // End the stream right after the first error.
            .scan(false, |failed, r| {
                let out = if *failed { None } else { Some(r) };
                *failed = out.as_ref().is_some_and(|r| r.is_err());
                futures::future::ready(out)
            })
            .take_until(self.closing());
        // The slot is given back when the stream is dropped: it ended, or the client went away.
        let held = Held { stream: Box::pin(stream), _slot: slot };
        self.done("grpc.SubscribeBlocks", start, Ok(Box::pin(held) as _))
    }
}
