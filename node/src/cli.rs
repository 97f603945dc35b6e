//! The `cairn` command line (SPEC §3).
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(name = "cairn", version, about = "Cairn: a BFT validator node, its local testnet and load generator")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create one node's home: config, validator key and a single-validator genesis.
    Init {
        #[arg(long)]
        home: PathBuf,
        #[arg(long, default_value = "cairn-local")]
        chain_id: String,
        #[arg(long, default_value = "cairn")]
        moniker: String,
    },
    /// Run a node from its home directory.
    Start {
        #[arg(long)]
        home: PathBuf,
    },
    /// Generate or show keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// A local multi-validator network. With no subcommand: init ./testnet if absent, then start.
    Testnet(TestnetArgs),
    /// Build, sign and submit transactions.
    #[command(subcommand)]
    Tx(TxCommand),
    /// Read chain state over RPC.
    Query(QueryArgs),
    /// The load generator: pre-signed transfers at a fixed rate, latency to finality.
    Load(cairn_load::LoadArgs),
    /// Benchmark: a fresh local testnet per rate, the load generator at each rate, a JSON
    /// report and an SVG plot.
    Bench(cairn_load::bench::BenchArgs),
    /// Back up or restore a node's state database.
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
}

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// A new ed25519 key, printed (or written to --out, mode 0600).
    Generate {
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// The address and p2p peer id of a node's key.
    Show {
        #[arg(long)]
        home: PathBuf,
    },
}

#[derive(Args, Debug)]
pub struct TestnetArgs {
    #[command(subcommand)]
    pub command: Option<TestnetCommand>,
}

#[derive(Subcommand, Debug)]
pub enum TestnetCommand {
    /// Write DIR/node0 … DIR/node{N-1}, one shared genesis, and DIR/accounts.json.
    Init(TestnetInitArgs),
    /// Run every node of DIR as its own process until Ctrl-C / SIGTERM.
    Start {
        #[arg(long, default_value = "testnet")]
        dir: PathBuf,
    },
}

#[derive(Args, Debug, Clone)]
pub struct TestnetInitArgs {
    #[arg(long, default_value = "testnet")]
    pub dir: PathBuf,
    #[arg(long, default_value_t = 4)]
    pub validators: usize,
    #[arg(long, default_value_t = 1000)]
    pub accounts: usize,
    #[arg(long, default_value_t = 26600)]
    pub base_port: u16,
    #[arg(long, default_value = "cairn-local")]
    pub chain_id: String,
}

#[derive(Subcommand, Debug)]
pub enum TxCommand {
    /// Transfer `amount` to `to`; prints the tx hash.
    Transfer {
        #[arg(long, default_value = "http://127.0.0.1:26601")]
        rpc: String,
        /// The sender's secret key: 64 hex characters or a key file.
        #[arg(long)]
        key: String,
        #[arg(long)]
        to: String,
        #[arg(long)]
        amount: u64,
        #[arg(long, default_value_t = 1)]
        fee: u64,
        /// Defaults to the sender's current nonce, read over RPC.
        #[arg(long)]
        nonce: Option<u64>,
        /// Defaults to the node's chain id.
        #[arg(long)]
        chain_id: Option<String>,
        /// Return only once the transaction is finalized.
        #[arg(long)]
        wait: bool,
    },
}

#[derive(Args, Debug)]
pub struct QueryArgs {
    #[command(subcommand)]
    pub what: QueryWhat,
    #[arg(long, global = true, default_value = "http://127.0.0.1:26601")]
    pub rpc: String,
}

#[derive(Subcommand, Debug)]
pub enum QueryWhat {
    Status,
    /// A block by height (or "latest").
    Block {
        height: String,
    },
    Tx {
        hash: String,
    },
    /// An account; with --prove, verify the merkle proof and the certificate of the block that
    /// commits to its state root against the validators of --genesis.
    Account {
        address: String,
        #[arg(long)]
        prove: bool,
        #[arg(long, requires = "prove")]
        genesis: Option<PathBuf>,
        #[arg(long)]
        height: Option<u64>,
    },
}

#[derive(Subcommand, Debug)]
pub enum SnapshotCommand {
    /// Copy the state database of a stopped node to OUT (a RocksDB checkpoint).
    Export {
        #[arg(long)]
        home: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
    /// Replace a stopped node's state database with the snapshot at FROM, verified first.
    Import {
        #[arg(long)]
        home: PathBuf,
        #[arg(long)]
        from: PathBuf,
    },
}
