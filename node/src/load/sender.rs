//! Sends pre-signed batches to the nodes: batched JSON-RPC (`tx_submitBatch`) or a gRPC
//! `SubmitTxStream` per endpoint. Each reply is matched to its tx and counted.
use super::tracker::Tracker;
use crate::client::RpcClient;
use anyhow::{Context, Result};
use bytes::Bytes;
use cairn_proto::pb::{node_client::NodeClient, submit_result, SubmitTxRequest};
use cairn_proto::{Hash, RejectReason, VerifiedTx};
use std::sync::Arc;
use tokio::sync::mpsc;

pub type Batch = Vec<VerifiedTx>;

/// One worker: takes batches from `rx` and submits them over JSON-RPC until the channel closes.
pub async fn jsonrpc_worker(client: RpcClient, mut rx: mpsc::Receiver<Batch>, tracker: Arc<Tracker>) {
    while let Some(batch) = rx.recv().await {
        tracker.sending(batch.iter().map(VerifiedTx::hash));
        let hexes = batch.iter().map(|t| hex::encode(t.encoded())).collect();
        match client.submit_batch(hexes).await {
            Ok(replies) => {
                for (tx, r) in batch.iter().zip(replies) {
                    match r.error {
                        None => tracker.accepted(),
                        Some(e) => tracker.rejected(&tx.hash(), e.reason()),
                    }
                }
            }
            Err(e) => {
                let reason = format!("rpc_error: {}", e.to_string().chars().take(60).collect::<String>());
                for tx in &batch {
                    tracker.rejected(&tx.hash(), reason.clone());
                }
            }
        }
    }
}

/// One gRPC stream to `endpoint`: every batch from `rx` is one request message; responses come
/// back in order on the same stream.
pub async fn grpc_worker(endpoint: String, mut rx: mpsc::Receiver<Batch>, tracker: Arc<Tracker>) -> Result<()> {
    let url = if endpoint.starts_with("http") { endpoint.clone() } else { format!("http://{endpoint}") };
    let mut client = NodeClient::connect(url.clone())
        .await
        .with_context(|| format!("cannot connect to gRPC {url}"))?
        .max_decoding_message_size(64 << 20)
        .max_encoding_message_size(64 << 20);
    let (req_tx, req_rx) = mpsc::channel::<SubmitTxRequest>(16);
    let (order_tx, mut order_rx) = mpsc::unbounded_channel::<Vec<Hash>>();
    let feeder = {
        let tracker = tracker.clone();
        tokio::spawn(async move {
            while let Some(batch) = rx.recv().await {
                let hashes: Vec<Hash> = batch.iter().map(VerifiedTx::hash).collect();
                tracker.sending(hashes.iter().copied());
                let txs: Vec<Bytes> = batch.iter().map(|t| t.encoded().clone()).collect();
                if order_tx.send(hashes).is_err() || req_tx.send(SubmitTxRequest { txs }).await.is_err() {
                    break;
                }
            }
        })
    };
    let mut responses =
        client.submit_tx_stream(tokio_stream::wrappers::ReceiverStream::new(req_rx)).await?.into_inner();
    while let Some(resp) = responses.message().await? {
        let hashes = order_rx.recv().await.context("gRPC server answered a batch we did not send")?;
        for (h, r) in hashes.iter().zip(resp.results) {
            match r.result {
                Some(submit_result::Result::Hash(_)) => tracker.accepted(),
                Some(submit_result::Result::Error(e)) => {
                    let reason = RejectReason::from_code(e.code as i32).map_or(e.reason, |r| r.name().to_string());
                    tracker.rejected(h, reason)
                }
                None => tracker.rejected(h, "empty_result".into()),
            }
        }
    }
    feeder.await.ok();
    Ok(())
}
