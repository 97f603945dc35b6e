//! Where each node of a local testnet lives and listens: `DIR/nodeI`, ports `base + 10*i + k`.
use std::path::{Path, PathBuf};

/// The four ports of one node (SPEC §3): p2p, JSON-RPC, gRPC, metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodePorts {
    pub p2p: u16,
    pub jsonrpc: u16,
    pub grpc: u16,
    pub metrics: u16,
}

impl NodePorts {
    /// Node `i` listens on `base + 10*i` (p2p), `+1` (JSON-RPC), `+2` (gRPC), `+3` (metrics).
    pub fn for_node(base: u16, i: usize) -> Self {
        let p = base + 10 * i as u16;
        NodePorts { p2p: p, jsonrpc: p + 1, grpc: p + 2, metrics: p + 3 }
    }
}

/// The shape of a testnet directory.
#[derive(Clone, Debug)]
pub struct TestnetLayout {
    pub dir: PathBuf,
    pub validators: usize,
    pub base_port: u16,
}

impl TestnetLayout {
    pub fn node_home(&self, i: usize) -> PathBuf {
        self.dir.join(format!("node{i}"))
    }

    pub fn ports(&self, i: usize) -> NodePorts {
        NodePorts::for_node(self.base_port, i)
    }

    pub fn accounts_file(&self) -> PathBuf {
        self.dir.join("accounts.json")
    }

    /// Finds the nodes of an existing testnet directory (`node0`, `node1`, … in order).
    pub fn discover(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
        let mut homes = vec![];
        while dir.join(format!("node{}", homes.len())).join("config.toml").exists() {
            homes.push(dir.join(format!("node{}", homes.len())));
        }
        anyhow::ensure!(
            !homes.is_empty(),
            "{} holds no testnet (no node0/config.toml); create one with `cairn testnet init --dir {}`",
            dir.display(),
            dir.display()
        );
        Ok(homes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_follow_the_spec() {
        assert_eq!(
            NodePorts::for_node(26600, 0),
            NodePorts { p2p: 26600, jsonrpc: 26601, grpc: 26602, metrics: 26603 }
        );
        assert_eq!(NodePorts::for_node(26600, 3).p2p, 26630);
    }
}
