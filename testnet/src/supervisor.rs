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
        let mut net = Testnet { binary: binary.to_path_buf(), envs, nodes: vec![] };
        for (home, ports) in homes {
            net.nodes.push(NodeProcess { home, ports, child: None });
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
        let child = Command::new(&self.binary)
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

    /// A table of every node's endpoints, for people.
    pub fn endpoints_table(&self) -> String {
        let row = |cells: [String; 6]| {
            format!("{:<6} {:<8} {:<24} {:<24} {:<18} {}\n", cells[0], cells[1], cells[2], cells[3], cells[4], cells[5])
        };
        let mut s = row(["node", "pid", "JSON-RPC / WS", "gRPC", "p2p", "metrics"].map(String::from));
        for (i, n) in self.nodes.iter().enumerate() {
            let p = n.ports;
            s += &row([
                format!("node{i}"),
                n.pid().map_or("-".into(), |p| p.to_string()),
                format!("http://127.0.0.1:{}", p.jsonrpc),
                format!("127.0.0.1:{}", p.grpc),
                format!("127.0.0.1:{}", p.p2p),
                format!("http://127.0.0.1:{}/metrics", p.metrics),
            ]);
        }
        s
    }
}

impl Drop for Testnet {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(10));
    }
}
