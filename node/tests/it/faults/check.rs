//! The checks run after every fault scenario, once the fault has healed:
//! - **resumption**: a new height on some node within [`RESUME_BOUND`] of the healing, and every
//!   node at that height within [`CATCH_UP_BOUND`];
//! - **one chain**: every node has the same block hash and state root at every height (heights
//!   already compared by an earlier scenario are not fetched again);
//! - **exactly once**: no tx hash in two blocks; every tx the load generator got admitted is in
//!   a block, or pending in some node's mempool, or was admitted by a node that was kill -9'd
//!   afterwards (its mempool died with it; counted and reported, never silently);
//! - **no double-sign**: no node ever reported duplicate-vote evidence (polled all along, since
//!   evidence is kept in memory), and no node's log has an equivocation line (logs survive
//!   restarts).
use super::harness::{Admitted, Faulty, RPC_PATIENCE};
use crate::net::assert_same_chain;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The chain makes a new height within this time of a fault healing (process back, network
/// whole again). Timeouts are 1 s propose plus the engine's round steps: a few rounds fit.
pub const RESUME_BOUND: Duration = Duration::from_secs(30);
/// Every node, the restarted ones included, has that height within this time of the healing
/// (a wiped node resyncs the whole chain from its peers within it).
pub const CATCH_UP_BOUND: Duration = Duration::from_secs(60);

/// What earlier checks established: heights compared so far and the tx hashes in them.
#[derive(Default)]
pub struct Checked {
    upto: u64,
    committed: HashMap<String, u64>,
}

/// How a scenario went, for its report line and the README.
#[derive(Debug)]
pub struct Outcome {
    pub what: String,
    pub resumed: Duration,
    pub caught_up: Duration,
    pub height: u64,
    pub admitted: usize,
    pub committed: usize,
    pub pending: usize,
    pub lost_with_crashed_node: usize,
}

/// Waits for resumption after a fault healed at `healed`, when the chain was at `at_heal`.
/// Returns (time to a new height on some node, time until every node has it).
pub async fn resumption(f: &Faulty, healed: Instant, at_heal: u64, what: &str) -> (Duration, Duration) {
    let all = [0, 1, 2, 3];
    let target = at_heal + 1;
    let resumed = loop {
        if f.top(&all).await >= target {
            break healed.elapsed();
        }
        assert!(healed.elapsed() < RESUME_BOUND, "{what}: no height above {at_heal} within {RESUME_BOUND:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    for i in all {
        while f.height(i).await.unwrap_or(0) < target {
            assert!(
                healed.elapsed() < CATCH_UP_BOUND,
                "{what}: node{i} not at height {target} within {CATCH_UP_BOUND:?}; log:\n{}\npeer verdicts:\n{}",
                f.ln.log_tail(i),
                f.ln.peer_verdicts()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    (resumed, healed.elapsed())
}

/// Every check of the module doc, for a scenario whose load admitted `admitted`.
pub async fn after(
    f: &mut Faulty,
    what: &str,
    admitted: &[Admitted],
    (resumed, caught_up): (Duration, Duration),
) -> Outcome {
    // Every node is up again: compare up to the lowest node's height.
    let mut common = u64::MAX;
    for i in 0..4 {
        common = common.min(f.height(i).await.unwrap_or_else(|| panic!("{what}: node{i} does not answer")));
    }
    let blocks = assert_same_chain(&f.clients, f.chain.upto + 1, common).await;
    for b in blocks {
        let h = b["header"]["height"].as_u64().unwrap();
        for tx in b["txs"].as_array().unwrap() {
            let tx = tx.as_str().unwrap().to_string();
            if let Some(first) = f.chain.committed.insert(tx.clone(), h) {
                panic!("{what}: tx {tx} committed twice, at heights {first} and {h}");
            }
        }
    }
    f.chain.upto = common;

    let (mut committed, mut pending, mut lost) = (0, 0, 0);
    for a in admitted {
        if f.chain.committed.contains_key(&a.hash) {
            committed += 1;
            continue;
        }
        match status_anywhere(f, &a.hash).await.as_str() {
            // Committed above the compared heights: the next scenario's check compares them.
            "committed" => committed += 1,
            "pending" => pending += 1,
            _ if f.crashes.iter().any(|&(n, t)| n == a.node && t > a.at) => lost += 1,
            other => panic!("{what}: tx {} admitted by node{} is {other} on every node, and node{} was not crashed after admitting it", a.hash, a.node, a.node),
        }
    }

    let evidence = f.evidence.lock().clone();
    assert!(evidence.is_empty(), "{what}: duplicate-vote evidence (a double-sign): {evidence:?}");
    for i in 0..4 {
        let log = std::fs::read_to_string(f.ln.net.nodes[i].log_file()).unwrap_or_default();
        if let Some(line) = log.lines().find(|l| l.contains("equivocation")) {
            panic!("{what}: node{i} logged an equivocation: {line}");
        }
    }
    Outcome {
        what: what.to_string(),
        resumed,
        caught_up,
        height: common,
        admitted: admitted.len(),
        committed,
        pending,
        lost_with_crashed_node: lost,
    }
}

impl std::fmt::Display for Outcome {
    /// One row of the suite's summary (the README's table has these columns).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "| {} | {:.1} s | {:.1} s | {} | {} | {} | {} | {} |",
            self.what,
            self.resumed.as_secs_f64(),
            self.caught_up.as_secs_f64(),
            self.height,
            self.admitted,
            self.committed,
            self.pending,
            self.lost_with_crashed_node
        )
    }
}

/// "committed" or "pending" if any node says so, else what the last one said.
async fn status_anywhere(f: &Faulty, hash: &str) -> String {
    let mut last = "unknown".to_string();
    for c in &f.clients {
        let reply = tokio::time::timeout(RPC_PATIENCE, c.call::<Value>("tx_get", vec![json!(hash)])).await;
        if let Ok(Ok(st)) = reply {
            last = st["status"].as_str().unwrap_or("unknown").to_string();
            if last == "committed" || last == "pending" {
                return last;
            }
        }
    }
    last
}
