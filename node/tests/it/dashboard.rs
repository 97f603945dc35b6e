//! The live page `/dashboard` of a real node, rendered in headless Chromium: it shows the
//! chain's real height and follows it as blocks arrive over its WebSocket subscription, lists
//! real blocks (hash and tx count as the node has them) and the validator set with its power.
use crate::chromium::Browser;
use crate::net::{height, wait_height, LocalNet};
use cairn_load::RpcClient;
use cairn_proto::Address;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// What the page shows, read from its DOM.
const PAGE_STATE: &str = r#"JSON.stringify({
  height: Number(document.getElementById('height').dataset.height || 0),
  ws: document.getElementById('ws-state').textContent,
  chain: document.getElementById('chain-id').textContent,
  finality: document.getElementById('finality').textContent,
  mempool: document.getElementById('mempool').textContent,
  chart: (document.getElementById('line').getAttribute('d') || '').length,
  blocks: [...document.querySelectorAll('#blocks tr[data-height]')].map(r => ({
    height: Number(r.dataset.height), via: r.dataset.via, txs: r.children[2].textContent, hash: r.children[4].title })),
  validators: [...document.querySelectorAll('#validators tr[data-power]')].map(r => ({
    address: r.children[0].title, power: Number(r.dataset.power), connected: r.children[3].textContent })),
})"#;

async fn page(b: &mut Browser) -> Value {
    serde_json::from_str(b.eval(PAGE_STATE).await.as_str().expect("a JSON string")).unwrap()
}

/// Reads the page until `ok` holds for it; panics with the last state after `limit`.
async fn wait_page(b: &mut Browser, limit: Duration, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + limit;
    loop {
        let s = page(b).await;
        if ok(&s) {
            return s;
        }
        assert!(Instant::now() < deadline, "the page never showed {what}; it shows {s:#}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn block_hash(c: &RpcClient, h: u64) -> Value {
    c.block(h).await.unwrap().unwrap_or_else(|| panic!("no block {h}"))["hash"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_shows_the_real_height_and_follows_new_blocks() {
    let mut ln = LocalNet::start(1, 1);
    let c = ln.client(0);
    wait_height(&c, 2, Duration::from_secs(60), &format!("startup, log:\n{}", ln.log_tail(0))).await;
    let url = format!("{}/dashboard", ln.rpc_url(0));
    let mut b = Browser::open(&url).await;

    // The page reaches the height the node reported, and never shows one it did not have.
    let before = height(&c).await.unwrap();
    // The validator table fills from the page's own poll, which may land after the first head.
    let what = "the node's height, a live subscription and the validator table";
    let s = wait_page(&mut b, Duration::from_secs(30), what, |s| {
        s["height"].as_u64() >= Some(before)
            && s["ws"] == "live"
            && s["validators"].as_array().is_some_and(|v| !v.is_empty())
    })
    .await;
    let after = height(&c).await.unwrap();
    let shown = s["height"].as_u64().unwrap();
    assert!(shown <= after, "page shows height {shown}, the node has {after}");
    assert_eq!(s["chain"], "cairn-local");

    // The validator set, with its real power; the one validator is this node.
    let vals: Value = c.call("chain_getValidators", Vec::<Value>::new()).await.unwrap();
    let want: Vec<Value> = vals
        .as_array()
        .unwrap()
        .iter()
        .map(|v| json!({"address": v["address"], "power": v["power"], "connected": "★ this node"}))
        .collect();
    assert_eq!(s["validators"], json!(want));

    // A transfer lands in a block; the page lists that block, with its real hash and 1 tx,
    // as pushed by the subscription (not from its initial backfill).
    let accounts = cairn_testnet::read_accounts(&ln.accounts_file()).unwrap();
    let key = accounts[0].keypair().unwrap();
    let tx = crate::e2e::transfer(&key, 0, Address([9; 32]), 5);
    let _: Value = c.call("tx_submit", vec![json!(hex::encode(tx.encoded()))]).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let tx_height = loop {
        let st: Value = c.call("tx_get", vec![json!(tx.hash().to_hex())]).await.unwrap();
        if st["status"] == "committed" {
            break st["height"].as_u64().unwrap();
        }
        assert!(Instant::now() < deadline, "tx not committed: {st}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let s = wait_page(&mut b, Duration::from_secs(30), &format!("block {tx_height} with its tx"), |s| {
        s["blocks"].as_array().unwrap().iter().any(|r| r["height"] == json!(tx_height))
    })
    .await;
    let row = s["blocks"].as_array().unwrap().iter().find(|r| r["height"] == json!(tx_height)).unwrap().clone();
    assert_eq!(row["txs"], "1", "{row}");
    assert_eq!(row["via"], "ws", "block {tx_height} came after the page opened: {row}");
    assert_eq!(row["hash"], block_hash(&c, tx_height).await);

    // It goes on following the chain: three more blocks, all shown, height updated.
    let target = height(&c).await.unwrap() + 3;
    wait_height(&c, target, Duration::from_secs(60), "three more blocks").await;
    let s = wait_page(&mut b, Duration::from_secs(30), &format!("height {target}"), |s| {
        s["height"].as_u64() >= Some(target)
    })
    .await;
    assert!(s["height"].as_u64().unwrap() > shown, "the height shown did not advance");
    let live: Vec<u64> = s["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["via"] == "ws")
        .map(|r| r["height"].as_u64().unwrap())
        .collect();
    assert!(live.len() >= 3, "blocks pushed over the subscription: {live:?}");
    for w in live.windows(2) {
        assert_eq!(w[0], w[1] + 1, "the table skips or repeats a height: {live:?}");
    }
    let top = s["blocks"][0].clone();
    assert_eq!(top["hash"], block_hash(&c, top["height"].as_u64().unwrap()).await, "{top}");
    assert!(s["finality"].as_str().unwrap().ends_with(" ms") || s["finality"].as_str().unwrap().ends_with(" s"), "{s}");
    assert_ne!(s["mempool"], "–", "mempool size shown");
    assert!(s["chart"].as_u64().unwrap() > 100, "the tx/s chart has a line");

    let shot = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dashboard.png");
    b.screenshot(&shot).await;
    assert!(std::fs::metadata(&shot).unwrap().len() > 10_000, "screenshot {} is nearly empty", shot.display());
    drop(b);
    ln.net.stop(Duration::from_secs(10));
}

/// Regenerates `docs/dashboard.png` from a running testnet (the README's picture):
/// `CAIRN_DASHBOARD_URL=http://127.0.0.1:26601/dashboard CAIRN_DASHBOARD_PNG=$PWD/docs/dashboard.png
/// cargo test -p cairn-node --test it dashboard_screenshot -- --ignored` (an absolute path: tests
/// run in `node/`); the page is watched for `CAIRN_DASHBOARD_SECS` (default 30) first so that
/// its chart has data. The README's picture: a fresh `cairn testnet`, `cairn load --tps 600
/// --duration 250` over the four nodes, the page watched for 210 s.
#[tokio::test]
#[ignore = "needs a running testnet; see the doc comment"]
async fn dashboard_screenshot() {
    let url = std::env::var("CAIRN_DASHBOARD_URL").expect("CAIRN_DASHBOARD_URL");
    let png = std::env::var("CAIRN_DASHBOARD_PNG").expect("CAIRN_DASHBOARD_PNG");
    let secs: u64 = std::env::var("CAIRN_DASHBOARD_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(30);
    let mut b = Browser::open(&url).await;
    tokio::time::sleep(Duration::from_secs(secs)).await;
    b.screenshot(std::path::Path::new(&png)).await;
}
