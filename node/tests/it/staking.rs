//! The validator set changes by transactions on a running four-validator testnet of real
//! processes: `cairn testnet add-node` writes a fifth node, `cairn tx transfer` funds its key and
//! `cairn tx stake` makes it a validator (it then signs certificates); `cairn tx unbond` takes
//! node 0 out. With the set then {1, 2, 3, 4}, stopping nodes 0 and 1 leaves 3 of 4 voting
//! powers and the chain goes on — it would halt (3 of 5) had either change not taken effect.
//! `cairn query account --prove` then follows both changes from the genesis set, and refuses a
//! server that lies about a set. Throughout, no two consecutive blocks are more than `MAX_GAP`
//! apart: the chain never stalls.
use crate::lying::{proxy, query_prove, Lie};
use crate::net::{assert_same_chain, bin, height, node_env, scrape_metrics, wait_height, LocalNet};
use cairn_load::RpcClient;
use cairn_node::home::Home;
use cairn_proto::staking::STAKE_PER_POWER;
use cairn_testnet::{NodePorts, Testnet};
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};

const MIN: Duration = Duration::from_secs(60);
/// The longest wait between two blocks that still counts as "not stalled": a few rounds of the
/// test's 1 s propose timeout, with room for a loaded machine.
const MAX_GAP_MS: u64 = 10_000;

/// Runs `cairn ARGS…` off the runtime's threads; panics with its stderr unless it succeeds.
async fn cairn_ok(args: Vec<String>) -> String {
    let out = tokio::process::Command::new(bin()).args(&args).output().await.unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "cairn {args:?} failed: {err}");
    String::from_utf8_lossy(&out.stdout).to_string() + &err
}

/// `cairn tx KIND --key KEY … --wait` against `rpc`.
async fn tx(rpc: &str, kind: &str, key: &str, extra: &[&str]) -> String {
    let mut args: Vec<String> = ["tx", kind, "--rpc", rpc, "--key", key].map(String::from).into();
    args.extend(extra.iter().map(|s| s.to_string()));
    args.push("--wait".into());
    cairn_ok(args).await
}

/// The addresses of the set that signs the latest height + 1, as `c` reports it.
async fn validator_set(c: &RpcClient, height: Option<u64>) -> Vec<String> {
    let params = height.map_or(vec![], |h| vec![json!(h)]);
    let set: Value = c.call("chain_getValidators", params).await.unwrap();
    set.as_array().unwrap().iter().map(|v| v["address"].as_str().unwrap().to_string()).collect()
}

/// Waits until the set `c` reports for the next height is `want` (in any order).
async fn wait_set(c: &RpcClient, want: &[String], why: &str) -> u64 {
    let deadline = Instant::now() + MIN;
    let mut want = want.to_vec();
    want.sort();
    loop {
        let mut got = validator_set(c, None).await;
        got.sort();
        if got == want {
            return height(c).await.unwrap();
        }
        assert!(Instant::now() < deadline, "{why}: the set is {got:?}, not {want:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The addresses that signed the certificate of block `h`.
async fn signers(c: &RpcClient, h: u64) -> Vec<String> {
    let b = crate::net::block(c, h).await;
    b["commit"]["signatures"].as_array().unwrap().iter().map(|s| s["validator"].as_str().unwrap().into()).collect()
}

fn address(home: &Home) -> String {
    home.load_key().unwrap().address().to_hex()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fifth_validator_joins_by_stake_and_one_leaves_by_unbond() {
    let mut ln = LocalNet::start(4, 7);
    let c: Vec<RpcClient> = (0..5)
        .map(|i| RpcClient::new(&format!("http://127.0.0.1:{}", NodePorts::for_node(ln.base, i).jsonrpc)).unwrap())
        .collect();
    for (i, x) in c.iter().take(4).enumerate() {
        wait_height(x, 2, MIN, &format!("startup, log:\n{}", ln.log_tail(i))).await;
    }
    let homes: Vec<Home> = (0..4).map(|i| Home(ln.dir.path().join(format!("node{i}")))).collect();
    let genesis_set: Vec<String> = homes.iter().map(address).collect();

    // A fifth node, a full node at first.
    let dir = ln.dir.path().display().to_string();
    cairn_ok(["testnet", "add-node", "--dir", &dir].map(String::from).into()).await;
    let home4 = Home(ln.dir.path().join("node4"));
    let new = address(&home4);
    let mut node4 =
        Testnet::start(&bin(), vec![(home4.0.clone(), NodePorts::for_node(ln.base, 4))], node_env(&[])).unwrap();
    let start = height(&c[0]).await.unwrap();
    wait_height(&c[4], start, MIN, "node4 syncs as a full node").await;

    // Fund its key from a test account, then bond the minimum stake from it.
    let accounts = cairn_testnet::read_accounts(&ln.accounts_file()).unwrap();
    let rpc0 = ln.rpc_url(0);
    let funds = (2 * STAKE_PER_POWER).to_string();
    tx(&rpc0, "transfer", &accounts[0].secret_key, &["--to", &new, "--amount", &funds]).await;
    let staked = tx(c[4].url(), "stake", &path(&home4.key()), &["--amount", &STAKE_PER_POWER.to_string()]).await;
    assert!(staked.contains("finalized at height"), "{staked}");

    let mut five = genesis_set.clone();
    five.push(new.clone());
    let joined = wait_set(&c[0], &five, "after the stake").await;
    // Blocks signed by the new set carry node4's precommit once it votes.
    let deadline = Instant::now() + MIN;
    let mut h = joined + 1;
    loop {
        wait_height(&c[0], h, MIN, "after the join").await;
        if signers(&c[0], h).await.contains(&new) {
            break;
        }
        assert!(Instant::now() < deadline, "node4 never signed a certificate; log:\n{}", ln.log_tail(4));
        h += 1;
    }
    let st: Value = c[4].call("chain_status", vec![]).await.unwrap();
    assert_eq!(st["validator"], json!(true), "node4 does not call itself a validator: {st}");

    // Node 0 unbonds all its (genesis) stake and leaves the set.
    tx(&rpc0, "unbond", &path(&homes[0].key()), &["--amount", &STAKE_PER_POWER.to_string()]).await;
    let four: Vec<String> = five.iter().filter(|a| **a != genesis_set[0]).cloned().collect();
    let left = wait_set(&c[1], &four, "after the unbond").await;
    let account: Value = c[1].call("state_getAccount", vec![json!(genesis_set[0])]).await.unwrap();
    assert_eq!(account["unbonding"], json!(STAKE_PER_POWER), "node0's stake is not unbonding: {account}");

    // The set is now {1, 2, 3, 4}: without nodes 0 and 1 it still has 3 of 4 powers.
    ln.net.stop_node(0, Duration::from_secs(10)).unwrap();
    ln.net.stop_node(1, Duration::from_secs(10)).unwrap();
    let after = height(&c[2]).await.unwrap();
    let end = wait_height(&c[2], after + 5, MIN, "with nodes 0 and 1 stopped").await;
    for h in [left + 3, end] {
        let who = signers(&c[2], h).await;
        assert!(who.iter().all(|a| four.contains(a)), "block {h} signed by {who:?}, outside {four:?}");
    }
    assert_eq!(validator_set(&c[2], Some(1)).await.len(), 4, "the genesis set at height 1 is not kept");

    // A light client follows both changes from genesis; a server lying about a set is caught.
    let funded = accounts[0].address.to_hex();
    let (ok, err) = query_prove(&ln, c[2].url(), &funded).await;
    assert!(ok && err.contains("(2 set changes)"), "the proof across set changes must verify: {err}");
    let (url, proxy) = proxy(c[2].clone(), Lie::ValidatorPower).await;
    let (ok, err) = query_prove(&ln, &url, &funded).await;
    assert!(!ok && err.contains("the validator set offered for height"), "a lying set was believed: {err}");
    proxy.stop().unwrap();

    // Every block from the start to the end: one chain on the nodes still up, no stall.
    let blocks = assert_same_chain(&c[2..], 1, end).await;
    let times: Vec<u64> = blocks.iter().map(|b| b["header"]["timestamp_ms"].as_u64().unwrap()).collect();
    let (worst, at) = times.windows(2).enumerate().map(|(i, w)| (w[1] - w[0], i + 2)).max().unwrap();
    if worst > MAX_GAP_MS {
        let logs: Vec<String> = (2..5).map(|i| format!("node{i}:\n{}", ln.log_tail(i))).collect();
        panic!("block {at} came {worst} ms after its parent: the chain stalled; logs:\n{}", logs.join("\n"));
    }
    eprintln!("set changes: joined by {joined}, left by {left}, {end} blocks, longest gap {worst} ms at {at}");

    // Nobody here lies: a vote crossing a set change (a leaver's late precommit, a joiner's
    // first vote seen by a node a height behind) is no reason to reject a message, which would
    // cost the peer that relayed it gossip score, its place in the mesh, or a ban.
    for i in 2..5 {
        let body = scrape_metrics(NodePorts::for_node(ln.base, i).metrics);
        let rejected: Vec<&str> = body
            .lines()
            .filter(|l| l.starts_with("cairn_p2p_rejected_messages_total{") && !l.ends_with(" 0"))
            .collect();
        assert!(rejected.is_empty(), "node {i} rejected honest gossip: {rejected:?}");
    }
    node4.stop(Duration::from_secs(10));
}

fn path(p: &Path) -> String {
    p.display().to_string()
}
