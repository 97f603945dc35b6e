//! A fresh local testnet for one rate of the benchmark: laid out by the benchmarked binary
//! itself (`BINARY testnet init`, so its homes and genesis are that build's), run by
//! `cairn-testnet`'s supervisor, and stopped and cleared afterwards.
use super::procfs::{self, Memory};
use crate::client::RpcClient;
use crate::error::{LoadError, Result};
use cairn_testnet::{NodePorts, Testnet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// How long a fresh testnet may take until every node has finalized `READY_HEIGHT`.
const STARTUP: Duration = Duration::from_secs(120);
/// The height every node must reach before the load starts: the chain is live and connected.
const READY_HEIGHT: u64 = 2;

/// The shape of the testnets to start.
#[derive(Debug, Clone)]
pub struct NetSpec {
    pub binary: PathBuf,
    pub validators: usize,
    pub accounts: usize,
    pub base_port: u16,
    pub node_env: Vec<(String, String)>,
}

/// A running testnet of the benchmark.
pub struct BenchNet {
    pub dir: PathBuf,
    net: Testnet,
    base_port: u16,
}

impl BenchNet {
    /// Lays out a testnet in `dir` (which must not exist) and starts it; returns once every node
    /// has finalized `READY_HEIGHT`.
    pub async fn start(spec: &NetSpec, dir: &Path) -> Result<BenchNet> {
        let out = Command::new(&spec.binary)
            .arg("testnet")
            .arg("init")
            .arg("--dir")
            .arg(dir)
            .args(["--validators", &spec.validators.to_string()])
            .args(["--accounts", &spec.accounts.to_string()])
            .args(["--base-port", &spec.base_port.to_string()])
            .output()
            .map_err(|e| LoadError::Testnet(format!("cannot run {}: {e}", spec.binary.display())))?;
        if !out.status.success() {
            return Err(LoadError::Testnet(format!(
                "{} testnet init failed: {}",
                spec.binary.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        let homes = (0..spec.validators)
            .map(|i| (dir.join(format!("node{i}")), NodePorts::for_node(spec.base_port, i)))
            .collect();
        let net = Testnet::start(&spec.binary, homes, spec.node_env.clone())
            .map_err(|e| LoadError::Testnet(format!("cannot start the testnet in {}: {e:#}", dir.display())))?;
        let mut bench = BenchNet { dir: dir.to_path_buf(), net, base_port: spec.base_port };
        bench.wait_ready().await?;
        Ok(bench)
    }

    pub fn rpc_url(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}", NodePorts::for_node(self.base_port, i).jsonrpc)
    }

    pub fn grpc_addr(&self, i: usize) -> String {
        format!("127.0.0.1:{}", NodePorts::for_node(self.base_port, i).grpc)
    }

    pub fn node_count(&self) -> usize {
        self.net.nodes.len()
    }

    pub fn accounts_file(&self) -> PathBuf {
        self.dir.join("accounts.json")
    }

    /// The memory of every node process, in node order.
    pub fn memory(&mut self) -> Result<Vec<Memory>> {
        let mut all = vec![];
        for (i, n) in self.net.nodes.iter_mut().enumerate() {
            let pid = match (n.is_running(), n.pid()) {
                (true, Some(pid)) => pid,
                _ => return Err(exited(i, &n.log_file())),
            };
            all.push(procfs::memory(pid)?);
        }
        Ok(all)
    }

    async fn wait_ready(&mut self) -> Result<()> {
        let clients = (0..self.node_count()).map(|i| RpcClient::new(&self.rpc_url(i))).collect::<Result<Vec<_>>>()?;
        let deadline = Instant::now() + STARTUP;
        for (i, c) in clients.iter().enumerate() {
            loop {
                if c.status().await.is_ok_and(|s| s.height >= READY_HEIGHT) {
                    break;
                }
                let node = &mut self.net.nodes[i];
                if !node.is_running() {
                    return Err(exited(i, &node.log_file()));
                }
                if Instant::now() > deadline {
                    return Err(LoadError::Testnet(format!(
                        "node{i} did not reach height {READY_HEIGHT} within {STARTUP:?}; see {}",
                        node.log_file().display()
                    )));
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        Ok(())
    }

    /// Stops every node (SIGTERM, then SIGKILL after 15 s) and copies each node's log to
    /// `logs/nodeI.log`.
    pub async fn stop(self, logs: &Path) -> Result<()> {
        let BenchNet { mut net, .. } = self;
        let net = tokio::task::spawn_blocking(move || {
            net.stop(Duration::from_secs(15));
            net
        })
        .await
        .map_err(|e| LoadError::Testnet(format!("stopping the testnet: {e}")))?;
        for (i, n) in net.nodes.iter().enumerate() {
            let to = logs.join(format!("node{i}.log"));
            std::fs::copy(n.log_file(), &to).map_err(|e| LoadError::file("cannot copy the node log to", &to, e))?;
        }
        Ok(())
    }
}

fn exited(i: usize, log: &Path) -> LoadError {
    LoadError::Testnet(format!("node{i} exited; see {}", log.display()))
}
