//! Sends pre-signed batches to the nodes: batched JSON-RPC (`tx_submitBatch`) or a gRPC
//! `SubmitTxStream` per endpoint. Each reply is matched to its tx and counted.
use crate::client::RpcClient;
use crate::error::{LoadError, Result};
use crate::resubmit::{Resubmit, TRANSPORT_ERROR};
use crate::tracker::Tracker;
use bytes::Bytes;
use cairn_proto::pb::{node_client::NodeClient, submit_result, SubmitTxRequest};
use cairn_proto::{RejectReason, VerifiedTx};
use std::sync::Arc;
use tokio::sync::mpsc;

pub type Batch = Vec<VerifiedTx>;

/// Where workers report each reply and the watcher each finalized tx: the counters, and the
/// held txs to send again.
#[derive(Clone)]
pub struct Replies {
    pub tracker: Arc<Tracker>,
    pub resubmit: Option<Arc<Resubmit>>,
    /// The endpoint this worker sends to (its index in the run's endpoint list).
    pub endpoint: usize,
}

impl Replies {
    fn sending(&self, batch: &[VerifiedTx]) {
        self.tracker.sending(batch.iter().map(VerifiedTx::hash));
    }

    /// A tx hash seen in a finalized block (ours or not).
    pub fn finalized(&self, hash: &cairn_proto::Hash, seen: std::time::Instant) {
        self.tracker.finalized(hash, seen);
        if let Some(r) = &self.resubmit {
            r.finalized(hash);
        }
    }

    fn rejected(&self, tx: &VerifiedTx, reason: String) {
        match &self.resubmit {
            Some(r) if r.hold(tx, &reason) => self.tracker.refused_for_now(reason),
            _ => self.tracker.rejected(&tx.hash(), reason),
        }
    }
}

/// One worker: takes batches from `rx` and submits them over JSON-RPC until the channel closes.
pub async fn jsonrpc_worker(client: RpcClient, mut rx: mpsc::Receiver<Batch>, replies: Replies) {
    while let Some(batch) = rx.recv().await {
        replies.sending(&batch);
        let hexes = batch.iter().map(|t| hex::encode(t.encoded())).collect();
        match client.submit_batch(hexes).await {
            Ok(results) => {
                for (tx, r) in batch.iter().zip(results) {
                    match r.error {
                        None => replies.tracker.accepted(tx.hash(), replies.endpoint),
                        Some(e) => replies.rejected(tx, e.reason()),
                    }
                }
            }
            Err(e) => {
                let reason = format!("{TRANSPORT_ERROR}: {}", e.to_string().chars().take(60).collect::<String>());
                for tx in &batch {
                    replies.rejected(tx, reason.clone());
                }
            }
        }
    }
}

/// One gRPC stream to `endpoint`: every batch from `rx` is one request message; responses come
/// back in order on the same stream.
pub async fn grpc_worker(endpoint: String, mut rx: mpsc::Receiver<Batch>, replies: Replies) -> Result<()> {
    let url = if endpoint.starts_with("http") { endpoint.clone() } else { format!("http://{endpoint}") };
    let mut client = NodeClient::connect(url.clone())
        .await
        .map_err(|e| LoadError::Unreachable { what: format!("cannot connect to gRPC {url}"), reason: e.to_string() })?
        .max_decoding_message_size(64 << 20)
        .max_encoding_message_size(64 << 20);
    let (req_tx, req_rx) = mpsc::channel::<SubmitTxRequest>(16);
    let (order_tx, mut order_rx) = mpsc::unbounded_channel::<Batch>();
    let feeder = {
        let replies = replies.clone();
        tokio::spawn(async move {
            while let Some(batch) = rx.recv().await {
                replies.sending(&batch);
                let txs: Vec<Bytes> = batch.iter().map(|t| t.encoded().clone()).collect();
                if order_tx.send(batch).is_err() || req_tx.send(SubmitTxRequest { txs }).await.is_err() {
                    break;
                }
            }
        })
    };
    let failed = |e: tonic::Status| LoadError::Protocol(format!("SubmitTxStream to {url} failed: {e}"));
    let mut responses = client
        .submit_tx_stream(tokio_stream::wrappers::ReceiverStream::new(req_rx))
        .await
        .map_err(failed)?
        .into_inner();
    while let Some(resp) = responses.message().await.map_err(failed)? {
        let batch = order_rx
            .recv()
            .await
            .ok_or_else(|| LoadError::Protocol("gRPC server answered a batch we did not send".into()))?;
        for (tx, r) in batch.iter().zip(resp.results) {
            match r.result {
                Some(submit_result::Result::Hash(_)) => replies.tracker.accepted(tx.hash(), replies.endpoint),
                Some(submit_result::Result::Error(e)) => {
                    let reason = RejectReason::from_code(e.code as i32).map_or(e.reason, |r| r.name().to_string());
                    replies.rejected(tx, reason)
                }
                None => replies.rejected(tx, "empty_result".into()),
            }
        }
    }
    feeder.await.ok();
    Ok(())
}
