//! The chain's own throughput over a run, from its blocks' timestamps, independent of what the
//! load generator observed.
use crate::client::RpcClient;
use crate::error::{LoadError, Result};
use serde::Serialize;

/// One finalized block: its height, its proposer's timestamp and how many txs it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockStamp {
    pub height: u64,
    pub timestamp_ms: u64,
    pub txs: u64,
}

/// Committed txs per second by the blocks' timestamps.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChainThroughput {
    /// The blocks read: from the last one before the run to the last one after it.
    pub from_height: u64,
    pub to_height: u64,
    /// Blocks that carry txs, and all their txs.
    pub blocks_with_txs: u64,
    pub txs: u64,
    /// From the timestamp of the first block with txs to that of the last.
    pub window_s: f64,
    /// The txs of the blocks after the first one with txs, over `window_s`: the first block's
    /// txs arrived before its timestamp, over a time the chain does not show. 0 when fewer than
    /// two blocks carry txs.
    pub tps: f64,
    /// Txs committed in each second of the window (second 0 starts at the first block with
    /// txs), by block timestamp.
    pub per_second: Vec<u64>,
}

/// Reads blocks `from..=to` of `client`'s chain.
pub async fn read_blocks(client: &RpcClient, from: u64, to: u64) -> Result<Vec<BlockStamp>> {
    let mut blocks = Vec::with_capacity((to + 1).saturating_sub(from) as usize);
    for height in from..=to {
        let block = client
            .block(height)
            .await?
            .ok_or_else(|| LoadError::Protocol(format!("{} has no block {height}", client.url())))?;
        let timestamp_ms = block["header"]["timestamp_ms"]
            .as_u64()
            .ok_or_else(|| LoadError::Protocol(format!("block {height} has no header.timestamp_ms")))?;
        let txs = block["txs"]
            .as_array()
            .ok_or_else(|| LoadError::Protocol(format!("block {height} has no txs list")))?
            .len() as u64;
        blocks.push(BlockStamp { height, timestamp_ms, txs });
    }
    Ok(blocks)
}

/// The throughput of `blocks` (consecutive heights).
pub fn throughput(blocks: &[BlockStamp]) -> ChainThroughput {
    let (from_height, to_height) = (blocks.first().map_or(0, |b| b.height), blocks.last().map_or(0, |b| b.height));
    let empty = ChainThroughput {
        from_height,
        to_height,
        blocks_with_txs: 0,
        txs: 0,
        window_s: 0.0,
        tps: 0.0,
        per_second: vec![],
    };
    let (Some(first), Some(last)) = (blocks.iter().position(|b| b.txs > 0), blocks.iter().rposition(|b| b.txs > 0))
    else {
        return empty;
    };
    let window = &blocks[first..=last];
    let start_ms = blocks[first].timestamp_ms;
    let window_ms = blocks[last].timestamp_ms.saturating_sub(start_ms);
    let txs: u64 = window.iter().map(|b| b.txs).sum();
    let mut per_second = vec![0; (window_ms / 1000 + 1) as usize];
    for b in window {
        per_second[(b.timestamp_ms.saturating_sub(start_ms).min(window_ms) / 1000) as usize] += b.txs;
    }
    let after_first = txs - blocks[first].txs;
    let round = |v: f64, digits: i32| (v * 10f64.powi(digits)).round() / 10f64.powi(digits);
    ChainThroughput {
        blocks_with_txs: window.iter().filter(|b| b.txs > 0).count() as u64,
        txs,
        window_s: round(window_ms as f64 / 1000.0, 3),
        tps: if window_ms == 0 { 0.0 } else { round(after_first as f64 * 1000.0 / window_ms as f64, 1) },
        per_second,
        ..empty
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(height: u64, timestamp_ms: u64, txs: u64) -> BlockStamp {
        BlockStamp { height, timestamp_ms, txs }
    }

    #[test]
    fn the_rate_counts_the_txs_after_the_first_block_over_the_time_from_it_to_the_last() {
        let blocks =
            [b(5, 1_000, 0), b(6, 2_000, 0), b(7, 2_500, 300), b(8, 3_000, 0), b(9, 4_000, 600), b(10, 9_000, 0)];
        let t = throughput(&blocks);
        assert_eq!((t.from_height, t.to_height, t.blocks_with_txs, t.txs), (5, 10, 2, 900));
        assert_eq!((t.window_s, t.tps), (1.5, 400.0));
        assert_eq!(t.per_second, vec![300, 600]);
    }

    #[test]
    fn too_few_blocks_with_txs_give_zero_not_a_division_by_zero() {
        assert_eq!(throughput(&[b(1, 0, 0), b(2, 1000, 0)]).tps, 0.0);
        assert_eq!(throughput(&[]).tps, 0.0);
        let t = throughput(&[b(3, 0, 0), b(4, 1000, 50), b(5, 2000, 0)]);
        assert_eq!((t.txs, t.tps, t.per_second.clone()), (50, 0.0, vec![50]));
        // Two blocks with the same timestamp (a clock that did not move).
        assert_eq!(throughput(&[b(1, 500, 3), b(2, 500, 4)]).tps, 0.0);
    }
}
