//! The command line: init, keys, testnet init, and errors that say what to do.
use crate::net::cairn;

#[test]
fn init_writes_a_home_and_refuses_to_overwrite_it() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("h");
    let h = home.to_str().unwrap();
    let (ok, out, err) = cairn(&["init", "--home", h, "--chain-id", "demo", "--moniker", "m"]);
    assert!(ok, "{err}");
    assert!(out.contains("chain demo"), "{out}");
    for f in ["config.toml", "genesis.json", "validator_key.json"] {
        assert!(home.join(f).exists(), "{f} missing");
    }
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(home.join("validator_key.json")).unwrap().permissions().mode();
    assert_eq!(mode & 0o077, 0, "key file is readable by others: {mode:o}");
    let (ok, _, err) = cairn(&["init", "--home", h]);
    assert!(!ok && err.contains("already initialised"), "{err}");
    let (ok, out, _) = cairn(&["keys", "show", "--home", h]);
    assert!(ok && out.contains("address: ") && out.contains("peer_id: 12D3KooW"), "{out}");
}

#[test]
fn start_without_a_home_says_how_to_make_one() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, err) = cairn(&["start", "--home", dir.path().join("nope").to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("cairn init --home"), "{err}");
}

#[test]
fn testnet_init_lays_out_nodes_ports_and_accounts() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let (ok, _, err) =
        cairn(&["testnet", "init", "--dir", d, "--validators", "3", "--accounts", "5", "--base-port", "31000"]);
    assert!(ok, "{err}");
    let accounts = cairn_testnet::read_accounts(&dir.path().join("accounts.json")).unwrap();
    assert_eq!(accounts.len(), 5);
    let cfg = std::fs::read_to_string(dir.path().join("node2/config.toml")).unwrap();
    assert!(cfg.contains("127.0.0.1:31020") && cfg.contains("127.0.0.1:31021"), "{cfg}");
    // Commented, and each key's comment comes from one table (config_doc.rs).
    assert!(
        cfg.contains(
            "# Most established connections, inbound and outbound together.
max_peers = 100"
        ),
        "{cfg}"
    );
    let g0 = std::fs::read(dir.path().join("node0/genesis.json")).unwrap();
    assert_eq!(g0, std::fs::read(dir.path().join("node2/genesis.json")).unwrap(), "one shared genesis");
}

#[test]
fn bad_key_input_is_explained() {
    let (ok, _, err) = cairn(&[
        "tx",
        "transfer",
        "--rpc",
        "http://127.0.0.1:1",
        "--key",
        "not-a-key",
        "--to",
        &"11".repeat(32),
        "--amount",
        "1",
    ]);
    assert!(!ok);
    assert!(err.contains("neither 64 hex characters nor a readable key file"), "{err}");
}

#[test]
fn genesis_ceremony_collects_signed_entries_and_refuses_forgeries() {
    let dir = tempfile::tempdir().unwrap();
    let accounts = crate::hosts::ceremony(dir.path(), 4, |i| format!("/ip4/127.0.0.1/tcp/{}", 26600 + 10 * i));
    let text = std::fs::read_to_string(dir.path().join("genesis.json")).unwrap();
    let g = cairn_proto::Genesis::from_json(&text).unwrap();
    assert_eq!((g.validators.len(), g.gentxs.len()), (4, 4));
    assert_eq!(g.chain_id, "netns-test");
    // The test accounts and each validator's own account.
    assert_eq!(g.accounts.len(), accounts.len() + 4);
    for i in 0..4 {
        let home = dir.path().join(format!("node{i}"));
        assert_eq!(
            std::fs::read_to_string(home.join("genesis.json")).unwrap(),
            text,
            "node{i} has the collected genesis"
        );
        let cfg = cairn_node::config::NodeConfig::load(&home.join("config.toml"), vec![]).unwrap();
        assert_eq!(cfg.p2p.bootstrap.len(), 3, "the other three validators");
        assert!(cfg.p2p.bootstrap.iter().all(|a| a.to_string().contains("/p2p/12D3KooW")), "{:?}", cfg.p2p.bootstrap);
    }

    // A collector who raises one validator's power cannot re-sign its entry.
    let mut forged = g.clone();
    forged.validators[1].power = 10;
    forged.gentxs.iter_mut().filter(|e| e.address == forged.validators[1].address).for_each(|e| e.power = 10);
    let forged_path = dir.path().join("forged.json");
    std::fs::write(&forged_path, forged.to_json()).unwrap();
    let fresh = dir.path().join("fresh");
    let f = fresh.to_str().unwrap();
    assert!(cairn(&["init", "--home", f, "--chain-id", "netns-test"]).0);
    let (ok, _, err) = cairn(&["genesis", "install", "--home", f, "--genesis", forged_path.to_str().unwrap()]);
    assert!(!ok && err.contains("signature does not verify"), "{err}");

    // An entry for another chain is refused by collect.
    let other = dir.path().join("other");
    let o = other.to_str().unwrap();
    assert!(cairn(&["init", "--home", o, "--chain-id", "elsewhere"]).0);
    let entry = other.join("gentx.json");
    let (ok, _, err) = cairn(&["genesis", "gentx", "--home", o, "--p2p-addr", "/dns4/x/tcp/1"]);
    assert!(ok && entry.exists(), "{err}");
    let entries = format!("{},{}", dir.path().join("entries").display(), entry.display());
    let (ok, _, err) =
        cairn(&["genesis", "collect", "--entries", &entries, "--out", dir.path().join("g2.json").to_str().unwrap()]);
    assert!(!ok && err.contains("\"elsewhere\""), "{err}");
}

#[test]
fn testnet_init_lays_out_homes_for_other_hosts() {
    use cairn_node::config::NodeConfig;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let (ok, out, err) = cairn(&[
        "testnet",
        "init",
        "--dir",
        d,
        "--hosts",
        "val0.example,10.1.2.3",
        "--accounts",
        "2",
        "--rpc-bind",
        "0.0.0.0",
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("to val0.example"), "{out}");
    let cfg = |i: usize| NodeConfig::load(&dir.path().join(format!("node{i}/config.toml")), vec![]).unwrap();
    let (n0, n1) = (cfg(0), cfg(1));
    assert_eq!(n0.p2p.listen, "0.0.0.0:26600".parse().unwrap());
    assert_eq!(n0.p2p.external_addrs[0].to_string(), "/dns4/val0.example/tcp/26600");
    assert_eq!(n1.p2p.external_addrs[0].to_string(), "/ip4/10.1.2.3/tcp/26610");
    assert!(
        n0.p2p.bootstrap[0].to_string().starts_with("/ip4/10.1.2.3/tcp/26610/p2p/12D3KooW"),
        "{:?}",
        n0.p2p.bootstrap
    );
    assert!(n1.p2p.bootstrap[0].to_string().starts_with("/dns4/val0.example/tcp/26600/p2p/12D3KooW"));
    assert_eq!(n1.rpc.jsonrpc_addr, "0.0.0.0:26611".parse().unwrap());

    let other = dir.path().join("x");
    let (ok, _, err) =
        cairn(&["testnet", "init", "--dir", other.to_str().unwrap(), "--validators", "3", "--hosts", "a,b"]);
    assert!(!ok && err.contains("one host per validator"), "{err}");
    let (ok, _, err) = cairn(&["testnet", "init", "--dir", other.to_str().unwrap(), "--hosts", "a,bad host"]);
    assert!(!ok && err.contains("neither an IP address nor a DNS name"), "{err}");
}

#[test]
fn completions_are_printed_for_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let (ok, out, err) = cairn(&["completions", shell]);
        assert!(ok, "{shell}: {err}");
        assert!(out.contains("cairn") && out.contains("genesis") && out.contains("base-port"), "{shell}: {out}");
    }
    let (ok, _, err) = cairn(&["completions", "tcsh"]);
    assert!(!ok && err.contains("invalid value"), "{err}");
}

/// `cairn testnet start` tells where each node's RPC, dashboard, metrics and log are.
#[test]
fn testnet_start_says_where_logs_metrics_and_the_dashboard_are() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let base = crate::net::base_port(4);
    let (ok, _, err) = cairn(&[
        "testnet",
        "init",
        "--dir",
        d,
        "--validators",
        "1",
        "--accounts",
        "2",
        "--base-port",
        &base.to_string(),
    ]);
    assert!(ok, "{err}");
    let mut child = std::process::Command::new(crate::net::bin())
        .args(["testnet", "start", "--dir", d])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut text = String::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        text += &line;
        text.push('\n');
        if line.starts_with("stop:") {
            break;
        }
    }
    std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    assert!(child.wait().unwrap().success(), "{text}{}", rest.join("\n"));
    assert_eq!(rest.last().map(String::as_str), Some("stopped"));
    for want in [
        format!("http://127.0.0.1:{}/dashboard", base + 1),
        format!("http://127.0.0.1:{}/metrics", base + 3),
        format!("{d}/node0/node.log"),
        "accounts.json".into(),
    ] {
        assert!(text.contains(&want), "no {want} in:\n{text}");
    }
}
