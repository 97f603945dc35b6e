//! Four validators on four "hosts": each in a Linux network namespace of its own, with its own
//! address on a bridge (itself in a fifth namespace, so nothing is added to the machine's own
//! network), dialling each other by DNS name (`/dns4/valI/…`, names from the namespace's
//! /etc/hosts). The genesis comes from the ceremony (`cairn init`, `genesis gentx` on each,
//! `genesis collect` once, `genesis install` on each); transactions are submitted through
//! every node and seen committed on all of them. Needs root and iproute2; skips otherwise.
use crate::net::{bin, cairn};
use cairn_testnet::{write_accounts, TestAccount};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const NODES: usize = 4;
/// Private addresses, used only inside the namespaces this test creates.
const SUBNET: &str = "10.77.0";

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip").args(args).output().map_err(|e| format!("cannot run `ip`: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("`ip {}` failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()))
    }
}

/// The namespaces, links and files of one run; removed on drop, also when the test panics.
struct Hosts {
    tag: String,
    names: Vec<String>,
    bridge: String,
    children: Vec<Child>,
}

impl Hosts {
    fn ns(&self, i: usize) -> &str {
        &self.names[i]
    }

    /// Builds the bridge namespace and one namespace per node, each with `SUBNET.(i+1)/24`.
    fn create(tag: &str) -> Result<Hosts, String> {
        let mut h = Hosts { tag: tag.into(), names: vec![], bridge: format!("cairn-{tag}-br"), children: vec![] };
        ip(&["netns", "add", &h.bridge])?;
        let br = h.bridge.clone();
        ip(&["-n", &br, "link", "add", "br0", "type", "bridge"])?;
        ip(&["-n", &br, "link", "set", "br0", "up"])?;
        let hosts_file: String = std::iter::once("127.0.0.1 localhost\n".to_string())
            .chain((0..NODES).map(|i| format!("{SUBNET}.{} val{i}\n", i + 1)))
            .collect();
        for i in 0..NODES {
            let ns = format!("cairn-{tag}-n{i}");
            ip(&["netns", "add", &ns])?;
            h.names.push(ns.clone());
            // `ip netns exec` bind-mounts /etc/netns/NS/hosts over /etc/hosts.
            let etc = PathBuf::from("/etc/netns").join(&ns);
            std::fs::create_dir_all(&etc).map_err(|e| e.to_string())?;
            std::fs::write(etc.join("hosts"), &hosts_file).map_err(|e| e.to_string())?;
            // Both ends are created inside the bridge namespace, then one is moved: the
            // machine's own namespace never holds them.
            let (a, b) = (format!("v{i}"), format!("v{i}b"));
            ip(&["-n", &br, "link", "add", &a, "type", "veth", "peer", "name", &b])?;
            ip(&["-n", &br, "link", "set", &a, "netns", &ns])?;
            ip(&["-n", &br, "link", "set", &b, "master", "br0"])?;
            ip(&["-n", &br, "link", "set", &b, "up"])?;
            ip(&["-n", &ns, "addr", "add", &format!("{SUBNET}.{}/24", i + 1), "dev", &a])?;
            ip(&["-n", &ns, "link", "set", &a, "up"])?;
            ip(&["-n", &ns, "link", "set", "lo", "up"])?;
        }
        Ok(h)
    }

    fn exec_cmd(&self, i: usize) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", self.ns(i)]).arg(bin());
        c
    }

    /// Runs `cairn ARGS…` inside node `i`'s namespace.
    fn cairn(&self, i: usize, args: &[&str]) -> Output {
        self.exec_cmd(i).args(args).output().expect("run ip netns exec")
    }

    /// `cairn start` in node `i`'s namespace, logging to HOME/node.log.
    fn start(&mut self, i: usize, home: &Path) {
        let log = std::fs::File::create(home.join("node.log")).unwrap();
        let child = self
            .exec_cmd(i)
            .arg("start")
            .arg("--home")
            .arg(home)
            .env("CAIRN_CONSENSUS__EMPTY_BLOCK_INTERVAL_MS", "300")
            .env("CAIRN_CONSENSUS__TIMEOUT_PROPOSE_MS", "1000")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("spawn cairn start");
        self.children.push(child);
    }
}

impl Drop for Hosts {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = Command::new("kill").arg("-TERM").arg(c.id().to_string()).status();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        for c in &mut self.children {
            while c.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
        // Deleting a namespace deletes the veth ends inside it, and so their peers.
        for ns in self.names.iter().chain([&self.bridge]) {
            let _ = ip(&["netns", "del", ns]);
            let _ = std::fs::remove_dir_all(PathBuf::from("/etc/netns").join(ns));
        }
        // Gone only if no one else keeps files there.
        let _ = std::fs::remove_dir("/etc/netns");
        if !self.names.is_empty() {
            eprintln!("netns test {}: namespaces removed", self.tag);
        }
    }
}

fn json(out: &Output) -> Value {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

fn ok(step: &str, (ok, out, err): (bool, String, String)) -> String {
    assert!(ok, "{step} failed:\n{out}\n{err}");
    out
}

/// The ceremony in `dir`: four homes, an entry each, one collected genesis installed in all.
/// Returns the funded accounts.
pub fn ceremony(dir: &Path, p2p_addr: impl Fn(usize) -> String) -> Vec<TestAccount> {
    let entries = dir.join("entries");
    std::fs::create_dir_all(&entries).unwrap();
    for i in 0..NODES {
        let home = dir.join(format!("node{i}"));
        let h = home.to_str().unwrap();
        ok("init", cairn(&["init", "--home", h, "--chain-id", "netns-test", "--moniker", &format!("val{i}")]));
        let out = entries.join(format!("val{i}.json"));
        ok(
            "gentx",
            cairn(&["genesis", "gentx", "--home", h, "--p2p-addr", &p2p_addr(i), "--out", out.to_str().unwrap()]),
        );
    }
    let accounts: Vec<TestAccount> = (0..NODES).map(|_| TestAccount::generate()).collect();
    write_accounts(&dir.join("accounts.json"), &accounts).unwrap();
    let genesis = dir.join("genesis.json");
    ok(
        "collect",
        cairn(&[
            "genesis",
            "collect",
            "--entries",
            entries.to_str().unwrap(),
            "--accounts",
            dir.join("accounts.json").to_str().unwrap(),
            "--out",
            genesis.to_str().unwrap(),
        ]),
    );
    for i in 0..NODES {
        let home = dir.join(format!("node{i}"));
        ok(
            "install",
            cairn(&["genesis", "install", "--home", home.to_str().unwrap(), "--genesis", genesis.to_str().unwrap()]),
        );
    }
    accounts
}

#[test]
fn four_validators_in_four_network_namespaces() {
    let tag = format!("{}", std::process::id() % 100_000);
    let mut hosts = match Hosts::create(&tag) {
        Ok(h) => h,
        Err(e) => {
            // What `create` made before failing was removed when its `Hosts` dropped.
            eprintln!("SKIPPED four_validators_in_four_network_namespaces: network namespaces are unavailable here ({e}); it needs root and iproute2 (`ip netns`)");
            return;
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let accounts = ceremony(dir.path(), |i| format!("/dns4/val{i}/tcp/26600"));
    let homes: Vec<PathBuf> = (0..NODES).map(|i| dir.path().join(format!("node{i}"))).collect();
    for (i, home) in homes.iter().enumerate() {
        let cfg = std::fs::read_to_string(home.join("config.toml")).unwrap();
        assert!(cfg.contains("/dns4/val"), "bootstrap from the genesis entries:\n{cfg}");
        hosts.start(i, home);
    }
    let log_tail = |i: usize| {
        let text = std::fs::read_to_string(homes[i].join("node.log")).unwrap_or_default();
        text.lines().rev().take(30).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n")
    };
    // Every node (RPC on its own loopback, as the default config binds) sees three peers and
    // makes blocks.
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
    drop(hosts);
}
