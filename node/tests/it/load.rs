//! `cairn load` against a running testnet, from a single sender: 2000 nonces in 1 s, in batches
//! of 100 consecutive nonces, run past the nodes' 64-nonce window in every batch, so they all
//! commit only because the load generator sends `nonce_too_high` refusals again once the
//! sender's nonce has caught up.
use crate::net::{cairn, LocalNet};
use serde_json::Value;

pub async fn one_sender_past_the_window(ln: &LocalNet) {
    let accounts = cairn_testnet::read_accounts(&ln.accounts_file()).unwrap();
    let one = ln.dir.path().join("one-sender.json");
    cairn_testnet::write_accounts(&one, &accounts[accounts.len() - 1..]).unwrap();
    let rpc = (0..4).map(|i| ln.rpc_url(i)).collect::<Vec<_>>().join(",");
    let one = one.to_str().unwrap().to_string();
    let (ok, out, err) = tokio::task::spawn_blocking(move || {
        let args = ["load", "--rpc", &rpc, "--accounts", &one, "--tps", "2000", "--duration", "1", "--json"];
        cairn(&[&args[..], &["--drain-secs", "90"]].concat())
    })
    .await
    .unwrap();
    assert!(ok, "cairn load failed: {err}");
    let r: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("not one JSON report ({e}): {out}"));
    let n = |k: &str| r[k].as_u64().unwrap_or_else(|| panic!("report without {k}: {r}"));
    assert_eq!(n("committed"), 2000, "every nonce commits: {r}");
    assert_eq!(n("submitted"), n("accepted") + n("rejected"), "each send answered once: {r}");
    assert_eq!(n("submitted"), 2000 + n("resent"), "{r}");
    assert!(n("resent") > 0 && r["rejected_by_reason"]["nonce_too_high"].as_u64() > Some(0), "{r}");
    for q in ["p50", "p95", "p99", "max"] {
        assert!(r["latency_ms"][q].as_f64().is_some_and(|v| v > 0.0), "latency {q}: {r}");
    }
}
