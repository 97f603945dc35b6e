//! A peer that floods a real node with tx batches it can never admit — one tx copied over and
//! over within a batch, nonces far beyond the window — is complained about once per batch
//! (`Mempool::submit_peer_batch`), and the complaints get it banned: the node hangs up and
//! counts the ban. The flood comes from a bare libp2p peer (`cairn_network::testkit`) with an
//! outsider key, the way an attacker would send it.
use crate::net::{scrape_metrics, LocalNet};
use cairn_network::testkit::{closed_within, connect, publish_txs, raw_swarm};
use cairn_proto::{Address, Keypair, Transfer, TxAction, TxBody, VerifiedTx};
use cairn_testnet::NodePorts;
use std::time::Duration;

const CHAIN: &str = "cairn-local";

fn transfer(k: &Keypair, nonce: u64, amount: u64) -> VerifiedTx {
    let action = TxAction::Transfer(Transfer { recipient: Address([9; 32]), amount });
    TxBody { chain_id: CHAIN.into(), sender: k.address(), nonce, fee: 1, action }.sign(k)
}

/// The sum of every series of `name` in a Prometheus text page.
fn metric(page: &str, name: &str, label: Option<&str>) -> f64 {
    page.lines()
        .filter(|l| l.starts_with(name) && label.is_none_or(|want| l.contains(want)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

pub async fn wasteful_peers_are_banned(ln: &LocalNet) {
    let accounts = cairn_testnet::read_accounts(&ln.accounts_file()).unwrap();
    let (a, b) = (accounts[16].keypair().unwrap(), accounts[17].keypair().unwrap());
    // One valid tx 32 times: the first copy is admitted, 31 are duplicates.
    let duplicates = vec![transfer(&a, 0, 5).encoded().clone(); 32];
    // 32 distinct txs at a nonce far beyond the window.
    let out_of_window: Vec<_> = (0..32).map(|i| transfer(&b, 100_000, i + 1).encoded().clone()).collect();

    let ports = NodePorts::for_node(ln.base, 0);
    let before = scrape_metrics(ports.metrics);
    let mut attacker = raw_swarm(&Keypair::from_seed([99; 32]), CHAIN);
    let node = connect(&mut attacker, format!("/ip4/127.0.0.1/tcp/{}", ports.p2p).parse().unwrap()).await;
    let mut sent = 0;
    let banned = loop {
        let batch = if sent % 2 == 0 { duplicates.clone() } else { out_of_window.clone() };
        publish_txs(&mut attacker, CHAIN, batch);
        sent += 1;
        if closed_within(&mut attacker, node, Duration::from_secs(1)).await {
            break true;
        }
        if sent == 20 {
            break false;
        }
    };
    let after = scrape_metrics(ports.metrics);
    let complaints = metric(&after, "cairn_p2p_rejected_messages_total", Some("misbehaviour"))
        - metric(&before, "cairn_p2p_rejected_messages_total", Some("misbehaviour"));
    assert!(banned, "20 wasteful batches and still connected; {complaints} complaints; log:\n{}", ln.log_tail(0));
    // Each report costs 20 score and the ban is at -80, against at most +20 earned: five.
    assert!((5.0..=sent as f64).contains(&complaints), "{complaints} complaints for {sent} batches");
    let bans =
        metric(&after, "cairn_p2p_banned_peers_total", None) - metric(&before, "cairn_p2p_banned_peers_total", None);
    assert!(bans >= 1.0, "no ban counted");
    let log = std::fs::read_to_string(ln.dir.path().join("node0/node.log")).unwrap();
    assert!(log.contains("wasteful_tx_batch"), "the complaint is not in the log");
}
