//! Runs every node of a local testnet as its own OS process (`cairn start --home DIR/nodeI`),
//! logging to `DIR/nodeI/node.log`, and stops, kills or restarts them on demand.
use crate::NodePorts;
use anyhow::{Context, Result};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One node process of a testnet.
#[derive(Debug)]
pub struct NodeProcess {
    pub home: PathBuf,
    pub ports: NodePorts,
    /// A command the node runs under, before the binary (`ip netns exec NS` for a node in a
    /// network namespace of its own); empty for a plain process. The wrapper must exec the
    /// binary, so that the pid signalled is the node's.
    pub prefix: Vec<String>,
    child: Option<Child>,
}

impl NodeProcess {
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn log_file(&self) -> PathBuf {
        self.home.join("node.log")
    }
}

/// A set of running node processes. Dropping it stops them all.
#[derive(Debug)]
pub struct Testnet {
    binary: PathBuf,
    envs: Vec<(String, String)>,
    pub nodes: Vec<NodeProcess>,
}

impl Testnet {
    /// Spawns `binary start --home HOME` for each home, with `envs` added to the environment.
    pub fn start(binary: &Path, homes: Vec<(PathBuf, NodePorts)>, envs: Vec<(String, String)>) -> Result<Self> {
        Self::start_prefixed(binary, homes, envs, |_| vec![])
    }

    /// Like [`Testnet::start`], node `i` run as `prefix(i)… binary start --home HOME`.
    pub fn start_prefixed(
        binary: &Path,
        homes: Vec<(PathBuf, NodePorts)>,
        envs: Vec<(String, String)>,
        prefix: impl Fn(usize) -> Vec<String>,
    ) -> Result<Self> {
        let mut net = Testnet { binary: binary.to_path_buf(), envs, nodes: vec![] };
        for (i, (home, ports)) in homes.into_iter().enumerate() {
            net.nodes.push(NodeProcess { home, ports, prefix: prefix(i), child: None });
        }
        for i in 0..net.nodes.len() {
            net.spawn(i)?;
        }
        Ok(net)
    }

    fn spawn(&mut self, i: usize) -> Result<()> {
        let node = &mut self.nodes[i];
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(node.log_file())
            .with_context(|| format!("cannot open {}", node.log_file().display()))?;
        let mut cmd = match node.prefix.split_first() {
            Some((first, rest)) => {
                let mut c = Command::new(first);
                c.args(rest).arg(&self.binary);
                c
            }
            None => Command::new(&self.binary),
        };
        let child = cmd
            .arg("start")
            .arg("--home")
            .arg(&node.home)
            .envs(self.envs.iter().cloned())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot run {}", self.binary.display()))?;
        node.child = Some(child);
        Ok(())
    }

    /// SIGKILL, as a crash would: no chance to flush anything.
    pub fn kill(&mut self, i: usize) -> Result<()> {
        if let Some(mut c) = self.nodes[i].child.take() {
            c.kill().ok();
            c.wait()?;
        }
        Ok(())
    }

    /// SIGTERM, then SIGKILL if the node has not exited after `grace`.
    pub fn stop_node(&mut self, i: usize, grace: Duration) -> Result<()> {
        if let Some(mut c) = self.nodes[i].child.take() {
            kill(Pid::from_raw(c.id() as i32), Signal::SIGTERM).ok();
            let deadline = Instant::now() + grace;
            while Instant::now() < deadline {
                if c.try_wait()?.is_some() {
                    return Ok(());
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            c.kill().ok();
            c.wait()?;
        }
        Ok(())
    }

    /// Starts node `i` again (after `kill` or `stop_node`).
    pub fn restart(&mut self, i: usize) -> Result<()> {
        if self.nodes[i].is_running() {
            return Ok(());
        }
        self.spawn(i)
    }

    /// Stops every node: SIGTERM to all, then waits up to `grace` before SIGKILL.
    pub fn stop(&mut self, grace: Duration) {
        for n in &self.nodes {
            if let Some(pid) = n.pid() {
                kill(Pid::from_raw(pid as i32), Signal::SIGTERM).ok();
            }
        }
        for i in 0..self.nodes.len() {
            self.stop_node(i, grace).ok();
        }
    }

    /// Every node's endpoints, dashboard and log file, for people. `host` is the address to
    /// show for the RPC servers (they may bind a wildcard).
    pub fn endpoints_table(&self, host: &str) -> String {
        let mut s = String::new();
        for (i, n) in self.nodes.iter().enumerate() {
            let p = n.ports;
            let pid = n.pid().map_or("not running".into(), |p| format!("pid {p}"));
            s += &format!("node{i} ({pid})\n");
            for (what, at) in [
                ("JSON-RPC + WebSocket", format!("http://{host}:{}", p.jsonrpc)),
                ("dashboard", format!("http://{host}:{}/dashboard", p.jsonrpc)),
                ("gRPC", format!("{host}:{}", p.grpc)),
                ("metrics", format!("http://{host}:{}/metrics", p.metrics)),
                ("p2p", format!("port {}", p.p2p)),
                ("log", n.log_file().display().to_string()),
            ] {
                s += &format!("  {what:<21} {at}\n");
            }
        }
        s
    }
}

impl Drop for Testnet {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(10));
    }
}
