//! Four validators on four "hosts": each in a Linux network namespace of its own (`hosts.rs`),
//! dialling each other by DNS name (`/dns4/valI/…`). The genesis comes from the ceremony
//! (`cairn init`, `genesis gentx` on each, `genesis collect` once, `genesis install` on each);
//! transactions are submitted through every node with the CLI run in its namespace and seen
//! committed on all of them. Needs root and iproute2; skips otherwise.
use crate::hosts::NODES;
use crate::net::LocalNet;
use serde_json::Value;
use std::path::PathBuf;
use std::process::Output;
use std::time::{Duration, Instant};

fn json(out: &Output) -> Value {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn four_validators_in_four_network_namespaces() {
    let tag = format!("{}", std::process::id() % 100_000);
    let ln = match LocalNet::in_namespaces(&tag, NODES, &[]) {
        Ok(ln) => ln,
        Err(e) => {
            // What was made before the failure was removed when its `Hosts` dropped.
            eprintln!("SKIPPED four_validators_in_four_network_namespaces: network namespaces are unavailable here ({e}); it needs root and iproute2 (`ip netns`)");
            return;
        }
    };
    let hosts = ln.hosts.as_ref().unwrap();
    let accounts = cairn_testnet::read_accounts(&ln.accounts_file()).unwrap();
    let homes: Vec<PathBuf> = (0..NODES).map(|i| ln.dir.path().join(format!("node{i}"))).collect();
    for home in &homes {
        let cfg = std::fs::read_to_string(home.join("config.toml")).unwrap();
        assert!(cfg.contains("/dns4/val"), "bootstrap from the genesis entries:\n{cfg}");
    }
    let log_tail = |i: usize| ln.log_tail(i);
    // Every node (asked on its own loopback) sees three peers and makes blocks.
    let rpc = "http://127.0.0.1:26601";
    for i in 0..NODES {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let out = hosts.cairn(i, &["query", "status", "--rpc", rpc]);
            if out.status.success() {
                let st = json(&out);
                if st["height"].as_u64() >= Some(2) && st["peers"].as_u64() == Some(3) {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "node {i} did not reach height 2 with 3 peers; log:\n{}", log_tail(i));
            std::thread::sleep(Duration::from_millis(500));
        }
    }
    // One transfer through each node, waited for until final.
    let recipient = "77".repeat(32);
    let mut txs = vec![];
    for (i, acc) in accounts.iter().enumerate() {
        let out = hosts.cairn(
            i,
            &["tx", "transfer", "--rpc", rpc, "--key", &acc.secret_key, "--to", &recipient, "--amount", "5", "--wait"],
        );
        assert!(
            out.status.success(),
            "transfer through node {i}: {}\nlog:\n{}",
            String::from_utf8_lossy(&out.stderr),
            log_tail(i)
        );
        txs.push(String::from_utf8_lossy(&out.stdout).trim().to_string());
    }
    // Every node has every tx committed, at the same height, and the same balance.
    for i in 0..NODES {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let acc = json(&hosts.cairn(i, &["query", "account", &recipient, "--rpc", rpc]));
            if acc["balance"].as_u64() == Some(5 * NODES as u64) {
                break;
            }
            assert!(Instant::now() < deadline, "node {i} shows recipient {acc}");
            std::thread::sleep(Duration::from_millis(300));
        }
    }
    for hash in &txs {
        let at: Vec<Value> = (0..NODES).map(|i| json(&hosts.cairn(i, &["query", "tx", hash, "--rpc", rpc]))).collect();
        for st in &at {
            assert_eq!(st["status"], "committed", "{hash}: {st}");
            assert_eq!(st["height"], at[0]["height"], "{hash} at different heights");
        }
    }
    drop(ln);
}
