//! Watches finality: a `chain_subscribeNewHeads` WebSocket subscription says a block is final;
//! the block's tx hashes (fetched once per height) stop the latency clocks of our txs.
use crate::client::RpcClient;
use crate::error::{LoadError, Result};
use crate::sender::Replies;
use cairn_proto::Hash;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Follows finalized heights from `from_height + 1` until `stop` is set.
pub async fn watch(client: RpcClient, from_height: u64, replies: Replies, stop: Arc<AtomicBool>) -> Result<()> {
    let (_ws, mut heads) = client.subscribe_heads().await?;
    let mut next = from_height + 1;
    while !stop.load(Ordering::Relaxed) {
        let head = match tokio::time::timeout(Duration::from_millis(500), heads.next()).await {
            Ok(Some(Ok(h))) => h,
            Ok(Some(Err(e))) => return Err(LoadError::Protocol(format!("new-heads subscription failed: {e}"))),
            Ok(None) => return Err(LoadError::Protocol("the node closed the new-heads subscription".into())),
            Err(_) => continue, // no block in 500 ms: look at `stop` again
        };
        let seen = Instant::now();
        let height =
            head["height"].as_u64().ok_or_else(|| LoadError::Protocol(format!("head without height: {head}")))?;
        // Fetch every block up to this head, including any the subscription skipped.
        while next <= height {
            if let Some(block) = client.block(next).await? {
                for h in block["txs"].as_array().map(Vec::as_slice).unwrap_or_default() {
                    if let Some(hash) = h.as_str().and_then(|s| s.parse::<Hash>().ok()) {
                        replies.finalized(&hash, seen);
                    }
                }
            }
            next += 1;
        }
    }
    Ok(())
}
