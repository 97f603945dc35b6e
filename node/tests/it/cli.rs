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
