//! Validators on separate "hosts": each node in a Linux network namespace of its own, with its
//! own address on a bridge (itself in one more namespace, so nothing is added to the machine's
//! own network), peers dialled by DNS name (`/dns4/valI/…`, from the namespace's /etc/hosts).
//! Used by `netns.rs` (the ceremony across namespaces) and the fault suite's partitions, which
//! cut links between namespaces with blackhole routes: a real cut, the kernel drops every
//! packet between the two sides while each side's own links stay whole.
//!
//! Everything made here is removed when [`Hosts`] drops, also when a test panics. Names carry a
//! tag of the caller's choosing, so tests of one binary running in parallel do not collide.
use crate::net::{bin, cairn, node_env, LocalNet};
use cairn_testnet::{write_accounts, NodePorts, TestAccount, Testnet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const NODES: usize = 4;
/// Private addresses, used only inside the namespaces made here.
const SUBNET: &str = "10.77.0";
/// The bridge namespace's own address on the bridge: where the test's RPC traffic comes from
/// once a thread has entered it (see [`enter_netns`]).
const BRIDGE_ADDR: &str = "10.77.0.254";

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip").args(args).output().map_err(|e| format!("cannot run `ip`: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("`ip {}` failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()))
    }
}

/// Node `i`'s address on the bridge.
pub fn addr(i: usize) -> String {
    format!("{SUBNET}.{}", i + 1)
}

/// The namespaces and links of one run; removed on drop.
pub struct Hosts {
    tag: String,
    names: Vec<String>,
    bridge: String,
    /// Blackhole routes in place: (node, address cut off from it).
    cuts: Vec<(usize, String)>,
}

impl Hosts {
    pub fn ns(&self, i: usize) -> &str {
        &self.names[i]
    }

    /// Builds the bridge namespace and one namespace per node, each with `SUBNET.(i+1)/24`.
    /// Fails (having removed what it made) without root or `ip netns`.
    pub fn create(tag: &str) -> Result<Hosts, String> {
        let mut h = Hosts { tag: tag.into(), names: vec![], bridge: format!("cairn-{tag}-br"), cuts: vec![] };
        ip(&["netns", "add", &h.bridge])?;
        let br = h.bridge.clone();
        ip(&["-n", &br, "link", "add", "br0", "type", "bridge"])?;
        ip(&["-n", &br, "link", "set", "br0", "up"])?;
        ip(&["-n", &br, "addr", "add", &format!("{BRIDGE_ADDR}/24"), "dev", "br0"])?;
        ip(&["-n", &br, "link", "set", "lo", "up"])?;
        let hosts_file: String = std::iter::once("127.0.0.1 localhost\n".to_string())
            .chain((0..NODES).map(|i| format!("{} val{i}\n", addr(i))))
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
            ip(&["-n", &ns, "addr", "add", &format!("{}/24", addr(i)), "dev", &a])?;
            ip(&["-n", &ns, "link", "set", &a, "up"])?;
            ip(&["-n", &ns, "link", "set", "lo", "up"])?;
        }
        Ok(h)
    }

    /// What to run a command under to run it in node `i`'s namespace (it execs the command, so
    /// its pid is the command's).
    pub fn prefix(&self, i: usize) -> Vec<String> {
        ["ip", "netns", "exec", self.ns(i)].map(String::from).to_vec()
    }

    /// Runs `cairn ARGS…` inside node `i`'s namespace.
    pub fn cairn(&self, i: usize, args: &[&str]) -> Output {
        Command::new("ip")
            .args(["netns", "exec", self.ns(i)])
            .arg(bin())
            .args(args)
            .output()
            .expect("run ip netns exec")
    }

    /// The bridge namespace, from where every node's bridge address is reachable: for
    /// [`enter_netns`].
    pub fn bridge_file(&self) -> PathBuf {
        PathBuf::from("/run/netns").join(&self.bridge)
    }

    /// Cuts the network between `side` and every other node, both ways: in each namespace, a
    /// blackhole route for each address across the cut, so the kernel drops those packets
    /// (connections across it fail; links within each side and to the bridge stay whole).
    pub fn cut(&mut self, side: &[usize]) {
        for i in 0..NODES {
            for j in 0..NODES {
                if side.contains(&i) != side.contains(&j) {
                    let to = addr(j);
                    ip(&["-n", &self.names[i], "route", "add", "blackhole", &format!("{to}/32")]).unwrap();
                    self.cuts.push((i, to));
                }
            }
        }
    }

    /// Removes every cut: the network is whole again.
    pub fn heal(&mut self) {
        for (i, to) in std::mem::take(&mut self.cuts) {
            ip(&["-n", &self.names[i], "route", "del", "blackhole", &format!("{to}/32")]).unwrap();
        }
    }
}

/// Moves the calling thread (only it) into the network namespace of file `ns`. Sockets the
/// thread opens afterwards live there, and processes it spawns start there.
pub fn enter_netns(ns: &Path) -> std::io::Result<()> {
    let f = File::open(ns)?;
    nix::sched::setns(&f, nix::sched::CloneFlags::CLONE_NEWNET).map_err(std::io::Error::from)
}

impl Drop for Hosts {
    fn drop(&mut self) {
        // Deleting a namespace deletes the veth ends and routes inside it, and so the peers of
        // those ends. A namespace with processes left in it lives on until they exit; whoever
        // holds a `Hosts` stops its nodes first.
        for ns in self.names.iter().chain([&self.bridge]) {
            let _ = ip(&["netns", "del", ns]);
            let _ = std::fs::remove_dir_all(PathBuf::from("/etc/netns").join(ns));
        }
        // Gone only if no one else keeps files there.
        let _ = std::fs::remove_dir("/etc/netns");
        if !self.names.is_empty() {
            eprintln!("hosts {}: namespaces removed", self.tag);
        }
    }
}

impl LocalNet {
    /// Four validators from a ceremony genesis (with `accounts` funded test accounts), each in
    /// a namespace of its own named after `tag`, p2p on the default port 26600 dialled by name,
    /// JSON-RPC on every interface so that it answers on the node's bridge address (the URLs
    /// of `rpc_url`, reachable from a thread that entered the bridge namespace). `env` as for
    /// [`LocalNet::start_with`]. Err (nothing left behind) when namespaces are unavailable.
    pub fn in_namespaces(tag: &str, accounts: usize, env: &[(&str, &str)]) -> Result<LocalNet, String> {
        let hosts = Hosts::create(tag)?;
        let dir = crate::net::testnet_dir();
        ceremony(dir.path(), accounts, |i| format!("/dns4/val{i}/tcp/26600"));
        // Every node has the default ports, in its own namespace.
        let homes = (0..NODES).map(|i| (dir.path().join(format!("node{i}")), NodePorts::for_node(26600, 0))).collect();
        let mut env = env.to_vec();
        env.push(("CAIRN_RPC__JSONRPC_ADDR", "0.0.0.0:26601"));
        let net = Testnet::start_prefixed(&bin(), homes, node_env(&env), |i| hosts.prefix(i)).unwrap();
        let rpc = (0..NODES).map(|i| format!("http://{}:26601", addr(i))).collect();
        Ok(LocalNet { dir, net, base: 26600, rpc, hosts: Some(hosts) })
    }
}

fn ok(step: &str, (ok, out, err): (bool, String, String)) -> String {
    assert!(ok, "{step} failed:\n{out}\n{err}");
    out
}

/// The ceremony in `dir`: four homes `dir/nodeI`, an entry each (p2p address `p2p_addr(i)`),
/// one collected genesis funding `accounts` new test accounts (written to `dir/accounts.json`),
/// installed in all. Returns the accounts.
pub fn ceremony(dir: &Path, accounts: usize, p2p_addr: impl Fn(usize) -> String) -> Vec<TestAccount> {
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
    let accounts: Vec<TestAccount> = (0..accounts).map(|_| TestAccount::generate()).collect();
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
