//! Watches finality: a `chain_subscribeNewHeads` WebSocket subscription says a block is final;
//! the block's tx hashes (fetched once per height) stop the latency clocks of our txs.
use crate::client::RpcClient;
use crate::error::{LoadError, Result};
use crate::sender::Replies;
use cairn_proto::Hash;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Follows finalized heights from `from_height + 1` until `stop` is set. Watches the first
/// endpoint; when it fails (a node killed under a fault test, a closed subscription) it moves
/// to the next one and goes on from the same height, so one node's death does not end the
/// run's finality tracking (and with it the resending, which waits for finalized nonces).
pub async fn watch(clients: Vec<RpcClient>, from_height: u64, replies: Replies, stop: Arc<AtomicBool>) -> Result<()> {
    let mut next = from_height + 1;
    let mut failures = 0usize;
    while !stop.load(Ordering::Relaxed) {
        let client = &clients[failures % clients.len()];
        let before = next;
        match follow(client, &mut next, &replies, &stop).await {
            Ok(()) => return Ok(()),
            Err(e) => {
                // Count only failures in a row without a block read in between.
                if next > before {
                    failures = 0;
                }
                failures += 1;
                // Every endpoint failed in turn with nothing in between: give up, as before.
                if failures >= clients.len() * 50 {
                    return Err(e);
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    Ok(())
}

/// Follows `client`'s new heads until `stop` (Ok) or a failure (Err); `next` is the first
/// height not yet read.
async fn follow(client: &RpcClient, next: &mut u64, replies: &Replies, stop: &AtomicBool) -> Result<()> {
    let (_ws, mut heads) = client.subscribe_heads().await?;
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
        while *next <= height {
            if let Some(block) = client.block(*next).await? {
                for h in block["txs"].as_array().map(Vec::as_slice).unwrap_or_default() {
                    if let Some(hash) = h.as_str().and_then(|s| s.parse::<Hash>().ok()) {
                        replies.finalized(&hash, seen);
                    }
                }
            }
            *next += 1;
        }
    }
    Ok(())
}
