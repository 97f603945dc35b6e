//! State sync against a real four-validator testnet that snapshots every 20 heights: a joiner
//! (a bare network peer with an outsider key) fetches the newest snapshot in chunks over the
//! block-sync protocol from three peers — nodes 1 and 2 and a liar that relays node 0's answers
//! but adds 1 to a balance in every chunk it relays — verifies blocks from genesis, the
//! manifest and every chunk, drops and bans the liar at its first bad chunk and gets each
//! chunk elsewhere, then restores a
//! store whose root is the one the chain certified and whose accounts are node 0's at that
//! height. Then a fifth `cairn` process with `state_sync.join` joins the running chain the same
//! way: it restores a snapshot, block-syncs from there and follows the chain, holding no block
//! from before its snapshot.
use crate::net::{assert_same_chain, base_port, bin, cairn, node_env, wait_height, LocalNet};
use cairn_load::RpcClient;
use cairn_network::{peer_id_of, Multiaddr, NetworkConfig, NetworkEvent, NetworkHandle, PeerId};
use cairn_node::home::Home;
use cairn_node::node::state_sync;
use cairn_proto::{Genesis, Keypair};
use cairn_state::{Restore, State, StateConfig};
use cairn_testnet::{NodePorts, Testnet};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

const MIN: Duration = Duration::from_secs(60);
const INTERVAL: u64 = 20;

/// A bare network peer with `key`, dialling `bootstrap`.
async fn bare_peer(
    key: u8,
    genesis: &Genesis,
    bootstrap: Vec<Multiaddr>,
) -> (NetworkHandle, mpsc::Receiver<NetworkEvent>) {
    let config = NetworkConfig { listen: ([127, 0, 0, 1], 0).into(), bootstrap, ..NetworkConfig::default() };
    let set = genesis.validator_set().unwrap();
    let registry = prometheus::Registry::new();
    cairn_network::start(config, &Keypair::from_seed([key; 32]), &genesis.chain_id, set, &registry).await.unwrap()
}

fn dial(peer: PeerId, port: u16) -> Multiaddr {
    format!("/ip4/127.0.0.1/tcp/{port}/p2p/{peer}").parse().unwrap()
}

async fn wait_for_peers(net: &NetworkHandle, want: &[PeerId]) {
    let deadline = Instant::now() + MIN;
    loop {
        let have: Vec<String> = net.peers().into_iter().map(|p| p.peer_id).collect();
        if want.iter().all(|p| have.contains(&p.to_string())) {
            return;
        }
        assert!(Instant::now() < deadline, "peers {want:?} not connected; have {have:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_joiner_restores_a_verified_snapshot_and_drops_a_peer_serving_a_bad_chunk() {
    let interval = INTERVAL.to_string();
    let ln = LocalNet::start_with(4, base_port(8), 50, &[("CAIRN_STATE_SYNC__SNAPSHOT_INTERVAL", &interval)]);
    let c0 = ln.client(0);
    wait_height(&c0, INTERVAL + 2, MIN, "a snapshot height").await;
    let homes: Vec<Home> = (0..4).map(|i| Home(ln.dir.path().join(format!("node{i}")))).collect();
    let genesis = homes[0].load_genesis().unwrap();
    let ids: Vec<PeerId> = homes.iter().map(|h| peer_id_of(&h.load_key().unwrap())).collect();
    let port = |i: usize| NodePorts::for_node(ln.base, i).p2p;

    // The liar relays every request to node 0 and corrupts the chunks it relays.
    let (liar, mut liar_events) = bare_peer(77, &genesis, vec![dial(ids[0], port(0))]).await;
    wait_for_peers(&liar, &ids[..1]).await;
    let relay = liar.clone();
    let node0 = ids[0];
    tokio::spawn(async move {
        while let Some(ev) = liar_events.recv().await {
            if let NetworkEvent::SyncRequest { req, reply, .. } = ev {
                let relay = relay.clone();
                tokio::spawn(async move {
                    let mut res = relay.request_blocks(node0, req).await.unwrap_or_default();
                    if let Some(account) = res.chunk.as_mut().and_then(|c| c.accounts.first_mut()) {
                        account.account.as_mut().unwrap().balance += 1;
                    }
                    let _ = reply.send(res);
                });
            }
        }
    });
    let liar_id = liar.local_peer_id();
    let deadline = Instant::now() + MIN;
    while liar.listen_addrs().is_empty() {
        assert!(Instant::now() < deadline, "the liar does not listen");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let liar_addr = liar.listen_addrs()[0].clone().with(cairn_network::multiaddr::Protocol::P2p(liar_id));

    let (joiner, _events) =
        bare_peer(78, &genesis, vec![liar_addr, dial(ids[1], port(1)), dial(ids[2], port(2))]).await;
    let peers = vec![liar_id, ids[1], ids[2]];
    wait_for_peers(&joiner, &peers).await;
    let fetched = state_sync::fetch(&joiner, peers, &genesis).await.unwrap();
    let height = fetched.manifest.height;
    assert!(height >= INTERVAL && height.is_multiple_of(INTERVAL), "snapshot of height {height}");
    assert_eq!(fetched.dropped, vec![liar_id], "the liar must be dropped, and only it");
    // And banned: the joiner hangs up on it.
    let deadline = Instant::now() + MIN;
    while joiner.peers().iter().any(|p| p.peer_id == liar_id.to_string()) {
        assert!(Instant::now() < deadline, "the liar is still connected");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let dir = tempfile::tempdir().unwrap();
    let accounts = cairn_testnet::read_accounts(&ln.accounts_file()).unwrap();
    let restore = Restore {
        genesis: &genesis,
        manifest: &fetched.manifest,
        chunks: fetched.chunks,
        tip: &fetched.tip,
        next_set: &fetched.next_set,
    };
    let state = State::restore(&dir.path().join("state"), StateConfig::default(), restore).unwrap();
    let certifying: Value = c0.call("chain_getBlock", vec![json!(height + 1)]).await.unwrap();
    assert_eq!(json!(state.state_root()), certifying["header"]["state_root"]);
    for a in accounts.iter().take(5) {
        let at: Value =
            c0.call("state_getAccount", vec![json!(a.address.to_hex()), json!({"height": height})]).await.unwrap();
        assert_eq!(json!(state.account(&a.address).balance), at["balance"], "account {}", a.address);
    }
    drop(state);

    // A real node joining the same way: a fifth home with `state_sync.join`, started on the
    // running chain, restores a snapshot and block-syncs from there, never replaying genesis.
    let (ok, _, err) = cairn(&["testnet", "add-node", "--dir", ln.dir.path().to_str().unwrap()]);
    assert!(ok, "add-node: {err}");
    let home4 = Home(ln.dir.path().join("node4"));
    let env = node_env(&[("CAIRN_STATE_SYNC__JOIN", "true"), ("CAIRN_STATE_SYNC__SNAPSHOT_INTERVAL", &interval)]);
    let mut node4 = Testnet::start(&bin(), vec![(home4.0.clone(), NodePorts::for_node(ln.base, 4))], env).unwrap();
    let c4 = RpcClient::new(&format!("http://127.0.0.1:{}", NodePorts::for_node(ln.base, 4).jsonrpc)).unwrap();
    let target = crate::net::height(&c0).await.unwrap() + 3;
    let log = || std::fs::read_to_string(home4.0.join("node.log")).unwrap_or_default();
    wait_height(&c4, target, MIN, &format!("node4 after state sync; log:\n{}", log())).await;
    let first: Value = c4.call("chain_getBlock", vec![json!(1)]).await.unwrap();
    assert!(first.is_null(), "node4 holds block 1: it replayed the chain instead of restoring a snapshot");
    assert!(log().contains("state sync: restored the snapshot"), "no restore in node4's log");
    assert_same_chain(&[c0.clone(), c4.clone()], target - 2, target).await;
    node4.stop(Duration::from_secs(10));
}
