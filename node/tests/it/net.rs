//! Helpers to run a local testnet of real `cairn` processes and talk to its nodes.
use cairn_load::RpcClient;
use cairn_testnet::{NodePorts, Testnet};
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_cairn"))
}

/// Runs `cairn ARGS…` to completion; returns (success, stdout, stderr).
pub fn cairn(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(bin()).args(args).output().expect("run cairn");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

/// A port range unlikely to collide with another test run on this machine.
/// Each test that starts nodes has its own slot (tests of one binary run in parallel): 0 the
/// four-validator end-to-end test, 1 the dashboard, 2 `cairn bench`, 3 the deploy check, 4
/// `testnet start`'s output, 5 and 6 the fault suite, 7 the validator set change, 8 state sync. Nodes in network namespaces of their own
/// (`hosts.rs`) need no slot: each namespace has its own ports.
///
/// Every port stays below 32768, where Linux's ephemeral range (32768–60999) begins: there
/// an outgoing connection can take a node's port while the node is down, and a fault test's
/// restarted validator then cannot listen (a CI run failed so, on port 49380).
pub fn base_port(slot: u16) -> u16 {
    // 25 runs' ranges of 10 slots of 50 ports: 20000 + 24 * 500 + 9 * 50 + 50 = 32500.
    20000 + (std::process::id() % 25) as u16 * 500 + slot * 50
}

pub struct LocalNet {
    pub dir: tempfile::TempDir,
    pub net: Testnet,
    pub base: u16,
    /// Each node's JSON-RPC URL.
    pub rpc: Vec<String>,
    /// The namespaces the nodes run in, if they do (`hosts.rs`); after `net`, so that the nodes
    /// are stopped before their namespaces go.
    pub hosts: Option<crate::hosts::Hosts>,
}

/// The nodes' environment: short timeouts keep the fault tests quick, empty blocks every
/// 300 ms; `env` adds to (or overrides) these.
pub fn node_env(env: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut envs: Vec<(String, String)> = vec![
        ("CAIRN_CONSENSUS__EMPTY_BLOCK_INTERVAL_MS".into(), "300".into()),
        ("CAIRN_CONSENSUS__TIMEOUT_PROPOSE_MS".into(), "1000".into()),
        // `TESTNET_RUST_LOG` sets the nodes' filter for a diagnosis (e.g. a libp2p target at
        // debug) without a rebuild.
        ("RUST_LOG".into(), std::env::var("TESTNET_RUST_LOG").unwrap_or_else(|_| "info".into())),
    ];
    for (k, v) in env {
        envs.retain(|(key, _)| key != k);
        envs.push((k.to_string(), v.to_string()));
    }
    envs
}

/// A temp dir for a testnet's homes. With `TESTNET_KEEP` set it stays after the test,
/// failed or not, with the nodes' full logs: for a diagnosis.
pub fn testnet_dir() -> tempfile::TempDir {
    let mut dir = tempfile::tempdir().unwrap();
    if std::env::var_os("TESTNET_KEEP").is_some() {
        dir.disable_cleanup(true);
        eprintln!("TESTNET_KEEP: the testnet stays in {}", dir.path().display());
    }
    dir
}

impl LocalNet {
    /// `cairn testnet init` into a temp dir, then start every node.
    pub fn start(validators: usize, slot: u16) -> LocalNet {
        Self::start_at(validators, base_port(slot))
    }

    /// Like [`LocalNet::start`], with node 0's p2p port at `base`.
    pub fn start_at(validators: usize, base: u16) -> LocalNet {
        Self::start_with(validators, base, 20, &[])
    }

    /// Like [`LocalNet::start_at`], with `accounts` funded test accounts and `env` added to
    /// (or overriding) the nodes' environment.
    pub fn start_with(validators: usize, base: u16, accounts: usize, env: &[(&str, &str)]) -> LocalNet {
        let dir = testnet_dir();
        let d = dir.path().to_str().unwrap();
        let (ok, _, err) = cairn(&[
            "testnet",
            "init",
            "--dir",
            d,
            "--validators",
            &validators.to_string(),
            "--accounts",
            &accounts.to_string(),
            "--base-port",
            &base.to_string(),
        ]);
        assert!(ok, "testnet init failed: {err}");
        let homes =
            (0..validators).map(|i| (dir.path().join(format!("node{i}")), NodePorts::for_node(base, i))).collect();
        let net = Testnet::start(&bin(), homes, node_env(env)).unwrap();
        let rpc =
            (0..validators).map(|i| format!("http://127.0.0.1:{}", NodePorts::for_node(base, i).jsonrpc)).collect();
        LocalNet { dir, net, base, rpc, hosts: None }
    }

    pub fn rpc_url(&self, i: usize) -> String {
        self.rpc[i].clone()
    }

    pub fn client(&self, i: usize) -> RpcClient {
        RpcClient::new(&self.rpc_url(i)).unwrap()
    }

    pub fn accounts_file(&self) -> PathBuf {
        self.dir.path().join("accounts.json")
    }

    pub fn log_tail(&self, i: usize) -> String {
        let text = std::fs::read_to_string(self.dir.path().join(format!("node{i}/node.log"))).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// What the other nodes' logs say about peers they reported or banned (the last 10 lines):
    /// the first thing to read when a node cannot rejoin.
    pub fn peer_verdicts(&self) -> String {
        let mut out = String::new();
        for i in 0..self.net.nodes.len() {
            let text = std::fs::read_to_string(self.dir.path().join(format!("node{i}/node.log"))).unwrap_or_default();
            let hits: Vec<&str> =
                text.lines().filter(|l| l.contains("misbehaviour") || l.contains("banning")).collect();
            for l in &hits[hits.len().saturating_sub(10)..] {
                out += &format!("node{i}: {l}\n");
            }
        }
        out
    }
}

/// The latest height node `i` reports, or None while it does not answer.
pub async fn height(c: &RpcClient) -> Option<u64> {
    c.status().await.ok().map(|s| s.height)
}

/// Waits until `c` reports at least `h`; panics with `why` after `limit`.
pub async fn wait_height(c: &RpcClient, h: u64, limit: Duration, why: &str) -> u64 {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(now) = height(c).await {
            if now >= h {
                return now;
            }
        }
        assert!(Instant::now() < deadline, "{why}: {} did not reach height {h} within {limit:?}", c.url());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Every node agrees on the block hash and state root of each height in `from..=upto` (each
/// must have it); returns the first node's blocks of those heights.
pub async fn assert_same_chain(clients: &[RpcClient], from: u64, upto: u64) -> Vec<Value> {
    let mut blocks = vec![];
    for h in from..=upto {
        let first = block(&clients[0], h).await;
        for c in &clients[1..] {
            let b = block(c, h).await;
            assert_eq!(b["hash"], first["hash"], "fork at height {h} between {} and {}", clients[0].url(), c.url());
            assert_eq!(b["header"]["state_root"], first["header"]["state_root"], "state differs at {h}");
        }
        blocks.push(first);
    }
    blocks
}

pub async fn block(c: &RpcClient, h: u64) -> Value {
    c.block(h).await.unwrap().unwrap_or_else(|| panic!("{} has no block {h}", c.url()))
}

/// The body of `GET /metrics` on `port` (asserting a 200).
pub fn scrape_metrics(port: u16) -> String {
    use std::io::{Read, Write};
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    conn.write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n").unwrap();
    let mut text = String::new();
    conn.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    assert!(head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/1.0 200"), "{head}");
    body.to_string()
}
