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
    Load(LoadArgs),
    /// Back up or restore a node's state database.
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
    /// A genesis for validators on different hosts: gentx on each, collect once, install on each.
    #[command(subcommand)]
    Genesis(GenesisCommand),
}

#[derive(Subcommand, Debug)]
pub enum GenesisCommand {
    /// Sign this validator's entry for the genesis of its home's chain (HOME/gentx.json).
    Gentx {
        #[arg(long)]
        home: PathBuf,
        /// Voting power asked for.
        #[arg(long, default_value_t = 1)]
        power: u64,
        /// Where the other validators reach this one, e.g. /dns4/val0.example/tcp/26600
        /// [default: the first p2p.external_addrs, else p2p.listen_addr if it is a specific IP].
        #[arg(long)]
        p2p_addr: Option<cairn_network::Multiaddr>,
        /// Where to write the entry [default: HOME/gentx.json].
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Verify the validators' entries and write the genesis with them and the funded accounts.
    Collect {
        /// Entry files, or directories of them (every *.json inside), comma-separated or repeated.
        #[arg(long, value_delimiter = ',', required = true)]
        entries: Vec<PathBuf>,
        /// Accounts to fund: JSON lists of {"address", "balance"?} (accounts.json of
        /// `cairn testnet init` works; its secret keys are ignored), comma-separated or repeated.
        #[arg(long, value_delimiter = ',')]
        accounts: Vec<PathBuf>,
        /// Balance of each validator's own account and of accounts listed without one (0: no
        /// account for validators).
        #[arg(long, default_value_t = crate::commands::init::GENESIS_BALANCE)]
        validator_balance: u64,
        /// Genesis time in Unix milliseconds [default: now].
        #[arg(long)]
        genesis_time_ms: Option<u64>,
        #[arg(long, default_value = "genesis.json")]
        out: PathBuf,
    },
    /// Check a collected genesis and install it in a home (filling an empty p2p.bootstrap).
    Install {
        #[arg(long)]
        home: PathBuf,
        #[arg(long)]
        genesis: PathBuf,
    },
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
    /// Number of validators [default: 4, or one per --hosts entry].
    #[arg(long)]
    pub validators: Option<usize>,
    /// Host names or IPs of the validators, comma-separated, one per node: each node announces
    /// and is dialled at its host (`/dns4/NAME/…` for names) and listens on every interface.
    #[arg(long, value_delimiter = ',')]
    pub hosts: Vec<String>,
    /// IP the RPC, gRPC and metrics servers bind.
    #[arg(long, default_value = "127.0.0.1")]
    pub rpc_bind: std::net::IpAddr,
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

#[derive(Args, Debug, Clone)]
pub struct LoadArgs {
    /// JSON-RPC endpoints, comma-separated; load is spread over all of them.
    #[arg(long, value_delimiter = ',', default_value = "http://127.0.0.1:26601")]
    pub rpc: Vec<String>,
    /// gRPC endpoints (host:port), comma-separated: when given, txs go over SubmitTxStream.
    #[arg(long, value_delimiter = ',')]
    pub grpc: Vec<String>,
    #[arg(long, default_value = "testnet/accounts.json")]
    pub accounts: PathBuf,
    #[arg(long, default_value_t = 1000)]
    pub tps: u64,
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// Print one JSON report (SPEC §7) instead of progress and a summary.
    #[arg(long)]
    pub json: bool,
    #[arg(long, default_value_t = 1)]
    pub fee: u64,
    /// Txs per submission batch.
    #[arg(long, default_value_t = 200)]
    pub batch: usize,
    /// How long to wait for the last txs to finalize after sending stops.
    #[arg(long, default_value_t = 30)]
    pub drain_secs: u64,
    /// The nodes' mempool nonce window (`mempool.nonce_window`): a tx refused as
    /// `nonce_too_high` is sent again once its sender's finalized nonce is within it.
    #[arg(long, default_value_t = 64)]
    pub nonce_window: u64,
    /// Do not send `nonce_too_high` / `mempool_full` refusals again (each refusal then strands
    /// the sender's later nonces for the rest of the run).
    #[arg(long)]
    pub no_resubmit: bool,
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
