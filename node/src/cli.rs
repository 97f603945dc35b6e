//! The `cairn` command line (SPEC §3). Every flag says what it does and its default (clap
//! prints `[default: …]` for flags that have one; optional flags say what their absence
//! means), every command ends its `--help` with an example; a test walks the whole tree.
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "cairn",
    version,
    about = "Cairn: a BFT validator node, its local testnet and load generator",
    after_help = "Examples:
  cairn testnet                                  # a local 4-validator network in ./testnet
  cairn query status --rpc http://127.0.0.1:26601
  cairn init --home val0 --chain-id mychain      # one node; see `cairn genesis --help` for many hosts
  cairn completions bash > /etc/bash_completion.d/cairn"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create one node's home: config.toml (commented), validator key and a single-validator genesis.
    #[command(after_help = "Example:
  cairn init --home ~/.cairn --chain-id mychain --moniker val0
  cairn start --home ~/.cairn")]
    Init {
        /// Directory to create (refused if it already holds a config.toml).
        #[arg(long)]
        home: PathBuf,
        /// Chain id written into the genesis; every tx and vote is signed for it.
        #[arg(long, default_value = "cairn-local")]
        chain_id: String,
        /// A name for the node, shown in logs and in its genesis entry.
        #[arg(long, default_value = "cairn")]
        moniker: String,
    },
    /// Run a node from its home directory (config: HOME/config.toml and CAIRN_* variables).
    #[command(after_help = "Examples:
  cairn start --home ~/.cairn
  CAIRN_RPC__JSONRPC_ADDR=0.0.0.0:26601 CAIRN_LOG__FORMAT=json cairn start --home ~/.cairn")]
    Start {
        /// The node's home, made by `cairn init`, `cairn testnet init` or the genesis ceremony.
        #[arg(long)]
        home: PathBuf,
    },
    /// Generate or show keys.
    #[command(
        subcommand,
        after_help = "Examples:
  cairn keys generate --out alice.json
  cairn keys show --home ~/.cairn"
    )]
    Keys(KeysCommand),
    /// A local multi-validator network. With no subcommand: init ./testnet if absent, then start.
    #[command(after_help = "Examples:
  cairn testnet                                          # ./testnet, 4 validators, 1000 accounts
  cairn testnet init --dir net --validators 7 --accounts 100000
  cairn testnet init --dir net --hosts val0.example,val1.example,10.0.0.3,10.0.0.4
  cairn testnet start --dir net")]
    Testnet(TestnetArgs),
    /// Build, sign and submit transactions.
    #[command(
        subcommand,
        after_help = "Example:
  cairn tx transfer --rpc http://127.0.0.1:26601 --key alice.json --to <ADDRESS> --amount 5 --wait"
    )]
    Tx(TxCommand),
    /// Read chain state over RPC.
    #[command(after_help = "Examples:
  cairn query status
  cairn query block latest --rpc http://127.0.0.1:26611
  cairn query account <ADDRESS> --prove --genesis testnet/node0/genesis.json")]
    Query(QueryArgs),
    /// The load generator: pre-signed transfers at a fixed rate, latency to finality.
    #[command(after_help = "Example:
  cairn load --rpc http://127.0.0.1:26601,http://127.0.0.1:26611 --accounts testnet/accounts.json --tps 2000 --duration 30 --json")]
    Load(cairn_load::LoadArgs),
    /// Benchmark: a fresh local testnet per rate, the load generator at each rate, a JSON
    /// report and an SVG plot.
    #[command(after_help = "Example (release build, as the README's figures):
  cargo build --release -p cairn-node
  target/release/cairn bench --rates 2000,5000,10000 --duration 30 --out bench-out")]
    Bench(cairn_load::bench::BenchArgs),
    /// Back up or restore a node's state database.
    #[command(
        subcommand,
        after_help = "Examples:
  cairn snapshot export --home ~/.cairn --out backup-1
  cairn snapshot import --home ~/.cairn --from backup-1"
    )]
    Snapshot(SnapshotCommand),
    /// A genesis for validators on different hosts: gentx on each, collect once, install on each.
    #[command(
        subcommand,
        after_help = "Example, four validators on four hosts:
  # on each host i:
  cairn init --home val --chain-id mychain --moniker val$i
  cairn genesis gentx --home val --p2p-addr /dns4/val$i.example/tcp/26600   # writes val/gentx.json
  # once, with the four gentx.json files copied into entries/:
  cairn genesis collect --entries entries --accounts accounts.json --out genesis.json
  # on each host, with genesis.json copied there:
  cairn genesis install --home val --genesis genesis.json && cairn start --home val"
    )]
    Genesis(GenesisCommand),
    /// Print a shell completion script for bash, zsh, fish, elvish or powershell.
    #[command(after_help = "Examples:
  cairn completions bash > /etc/bash_completion.d/cairn
  cairn completions zsh > \"${fpath[1]}/_cairn\"
  cairn completions fish > ~/.config/fish/completions/cairn.fish")]
    Completions {
        /// The shell to write the script for.
        shell: clap_complete::Shell,
    },
}

#[derive(Subcommand, Debug)]
pub enum GenesisCommand {
    /// Sign this validator's entry for the genesis of its home's chain.
    #[command(after_help = "Example:
  cairn genesis gentx --home val --p2p-addr /dns4/val0.example/tcp/26600 --out val0.json")]
    Gentx {
        /// The validator's home (made by `cairn init --chain-id …`): key, chain id and moniker.
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
    #[command(after_help = "Example:
  cairn genesis collect --entries entries/ --accounts accounts.json --out genesis.json")]
    Collect {
        /// Entry files, or directories of them (every *.json inside), comma-separated or repeated.
        #[arg(long, value_delimiter = ',', required = true)]
        entries: Vec<PathBuf>,
        /// Accounts to fund: JSON lists of {"address", "balance"?} (accounts.json of
        /// `cairn testnet init` works; its secret keys are ignored), comma-separated or repeated
        /// [default: none].
        #[arg(long, value_delimiter = ',')]
        accounts: Vec<PathBuf>,
        /// Balance of each validator's own account and of accounts listed without one (0: no
        /// account for validators).
        #[arg(long, default_value_t = crate::commands::init::GENESIS_BALANCE)]
        validator_balance: u64,
        /// Genesis time in Unix milliseconds [default: now].
        #[arg(long)]
        genesis_time_ms: Option<u64>,
        /// Where to write the genesis.
        #[arg(long, default_value = "genesis.json")]
        out: PathBuf,
    },
    /// Check a collected genesis and install it in a home (filling an empty p2p.bootstrap).
    #[command(after_help = "Example:
  cairn genesis install --home val --genesis genesis.json")]
    Install {
        /// The validator's home; its state must still be empty.
        #[arg(long)]
        home: PathBuf,
        /// The genesis written by `cairn genesis collect`.
        #[arg(long)]
        genesis: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// A new ed25519 key, printed (or written to --out, mode 0600).
    #[command(after_help = "Example:
  cairn keys generate --out alice.json")]
    Generate {
        /// File to write the key to, readable by its owner only [default: print it].
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// The address and p2p peer id of a node's key.
    #[command(after_help = "Example:
  cairn keys show --home testnet/node0")]
    Show {
        /// The node's home.
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
    #[command(after_help = "Examples:
  cairn testnet init --dir net --validators 4 --accounts 1000 --base-port 26600
  cairn testnet init --dir net --hosts val0.example,val1.example,val2.example,val3.example --rpc-bind 0.0.0.0")]
    Init(TestnetInitArgs),
    /// Run every node of DIR as its own process until Ctrl-C / SIGTERM.
    #[command(after_help = "Example:
  cairn testnet start --dir net      # prints each node's RPC, dashboard, metrics and log")]
    Start {
        /// The testnet directory made by `cairn testnet init`.
        #[arg(long, default_value = "testnet")]
        dir: PathBuf,
    },
    /// Add DIR/nodeN: a full node of the same chain with a new key, dialling every node of DIR.
    /// It becomes a validator once its key bonds stake (`cairn tx stake`).
    #[command(after_help = "Example:
  cairn testnet add-node --dir net && cairn start --home net/node4")]
    AddNode {
        /// The testnet directory made by `cairn testnet init` (single machine).
        #[arg(long, default_value = "testnet")]
        dir: PathBuf,
    },
}

#[derive(Args, Debug, Clone)]
pub struct TestnetInitArgs {
    /// Directory to create the node homes and accounts.json in.
    #[arg(long, default_value = "testnet")]
    pub dir: PathBuf,
    /// Number of validators [default: 4, or one per --hosts entry].
    #[arg(long)]
    pub validators: Option<usize>,
    /// Host names or IPs of the validators, comma-separated, one per node: each node announces
    /// and is dialled at its host (`/dns4/NAME/…` for names) and listens on every interface
    /// [default: all on 127.0.0.1].
    #[arg(long, value_delimiter = ',')]
    pub hosts: Vec<String>,
    /// IP the RPC, gRPC and metrics servers bind.
    #[arg(long, default_value = "127.0.0.1")]
    pub rpc_bind: std::net::IpAddr,
    /// Funded test accounts to create (their keys go to DIR/accounts.json).
    #[arg(long, default_value_t = 1000)]
    pub accounts: usize,
    /// Node i listens on base+10*i (p2p), +1 (JSON-RPC), +2 (gRPC), +3 (metrics).
    #[arg(long, default_value_t = 26600)]
    pub base_port: u16,
    /// Chain id of the testnet's genesis.
    #[arg(long, default_value = "cairn-local")]
    pub chain_id: String,
}

#[derive(Subcommand, Debug)]
pub enum TxCommand {
    /// Transfer `amount` to `to`; prints the tx hash.
    #[command(after_help = "Example:
  cairn tx transfer --key alice.json --to 1111111111111111111111111111111111111111111111111111111111111111 --amount 5 --wait")]
    Transfer {
        #[command(flatten)]
        common: TxArgs,
        /// Recipient address (64 hex characters).
        #[arg(long)]
        to: String,
        /// Amount to transfer.
        #[arg(long)]
        amount: u64,
    },
    /// Bond `amount` from the sender's balance: the sender's key becomes (or stays) a validator
    /// two heights after the block that includes it, with power amount / 10^9.
    #[command(after_help = "Example:
  cairn tx stake --key testnet/node4/validator_key.json --amount 2000000000 --wait")]
    Stake {
        #[command(flatten)]
        common: TxArgs,
        /// Amount to bond (at least 10^9 in total to be a validator).
        #[arg(long)]
        amount: u64,
    },
    /// Start returning `amount` of bonded stake; it is paid back after the unbonding period.
    #[command(after_help = "Example:
  cairn tx unbond --key testnet/node4/validator_key.json --amount 2000000000 --wait")]
    Unbond {
        #[command(flatten)]
        common: TxArgs,
        /// Amount to unbond.
        #[arg(long)]
        amount: u64,
    },
}

/// The arguments every `cairn tx` command shares: where to send, who signs, how to pay.
#[derive(Args, Debug)]
pub struct TxArgs {
    /// JSON-RPC endpoint of a node.
    #[arg(long, default_value = "http://127.0.0.1:26601")]
    pub rpc: String,
    /// The sender's secret key: 64 hex characters or a key file.
    #[arg(long)]
    pub key: String,
    /// Fee paid (burned).
    #[arg(long, default_value_t = 1)]
    pub fee: u64,
    /// The sender's nonce [default: its current nonce, read over RPC].
    #[arg(long)]
    pub nonce: Option<u64>,
    /// Chain id to sign for [default: the node's, read over RPC].
    #[arg(long)]
    pub chain_id: Option<String>,
    /// Return only once the transaction is finalized (up to 60 s).
    #[arg(long)]
    pub wait: bool,
}

#[derive(Args, Debug)]
pub struct QueryArgs {
    #[command(subcommand)]
    pub what: QueryWhat,
    /// JSON-RPC endpoint of a node.
    #[arg(long, global = true, default_value = "http://127.0.0.1:26601")]
    pub rpc: String,
}

#[derive(Subcommand, Debug)]
pub enum QueryWhat {
    /// Chain id, height, latest block, peers, sync state.
    #[command(after_help = "Example:
  cairn query status --rpc http://127.0.0.1:26601")]
    Status,
    /// A block by height (or "latest").
    #[command(after_help = "Example:
  cairn query block latest")]
    Block {
        /// A height, or "latest".
        height: String,
    },
    /// A transaction's status by hash.
    #[command(after_help = "Example:
  cairn query tx 884a6986d5cdb1b76736713511125e5c1e5b6d40d157b78da316fedbee2d55e8")]
    Tx {
        /// The tx hash (64 hex characters).
        hash: String,
    },
    /// An account; with --prove, verify the merkle proof and the certificate of the block that
    /// commits to its state root against the validators of --genesis.
    #[command(after_help = "Example:
  cairn query account 1111111111111111111111111111111111111111111111111111111111111111 --prove --genesis testnet/node0/genesis.json")]
    Account {
        /// The account address (64 hex characters).
        address: String,
        /// Verify the answer instead of trusting the node (needs --genesis).
        #[arg(long)]
        prove: bool,
        /// Genesis file (or a node home) whose validators certify blocks [required with --prove].
        #[arg(long, requires = "prove")]
        genesis: Option<PathBuf>,
        /// Height whose state to read [default: the latest].
        #[arg(long)]
        height: Option<u64>,
    },
}

#[derive(Subcommand, Debug)]
pub enum SnapshotCommand {
    /// Copy the state database of a stopped node to OUT (a RocksDB checkpoint).
    #[command(after_help = "Example:
  cairn snapshot export --home testnet/node0 --out backup-1")]
    Export {
        /// The (stopped) node's home.
        #[arg(long)]
        home: PathBuf,
        /// Directory to create for the snapshot (must not exist).
        #[arg(long)]
        out: PathBuf,
    },
    /// Replace a stopped node's state database with the snapshot at FROM, verified first.
    #[command(after_help = "Example:
  mv testnet/node0/data/state state.old && cairn snapshot import --home testnet/node0 --from backup-1")]
    Import {
        /// The (stopped) node's home; its state directory must be empty or absent.
        #[arg(long)]
        home: PathBuf,
        /// The snapshot directory written by `cairn snapshot export`.
        #[arg(long)]
        from: PathBuf,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Every command, by its path of names.
    fn walk<'a>(cmd: &'a clap::Command, path: String, out: &mut Vec<(String, &'a clap::Command)>) {
        out.push((path.clone(), cmd));
        for sub in cmd.get_subcommands() {
            walk(sub, format!("{path} {}", sub.get_name()), out);
        }
    }

    #[test]
    fn every_flag_has_help_and_every_command_an_example() {
        Cli::command().debug_assert();
        let root = Cli::command();
        let mut all = vec![];
        walk(&root, "cairn".into(), &mut all);
        let mut problems = vec![];
        for (path, cmd) in &all {
            if cmd.get_name() == "help" {
                continue;
            }
            if cmd.get_after_help().is_none_or(|h| !h.to_string().contains("cairn ")) {
                problems.push(format!("`{path}` has no example (after_help)"));
            }
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if matches!(id, "help" | "version") {
                    continue;
                }
                if arg.get_help().is_none() {
                    problems.push(format!("`{path}`: --{id} has no help text"));
                }
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    /// An optional flag either has a default that clap prints or says in its help what its
    /// absence means.
    #[test]
    fn every_optional_flag_states_its_default() {
        let mut all = vec![];
        let root = Cli::command();
        walk(&root, "cairn".into(), &mut all);
        let mut problems = vec![];
        for (path, cmd) in &all {
            for arg in cmd.get_arguments().filter(|a| a.get_long().is_some()) {
                let id = arg.get_id().as_str();
                let is_switch = matches!(
                    arg.get_action(),
                    clap::ArgAction::SetTrue | clap::ArgAction::Help | clap::ArgAction::Version
                );
                if arg.is_required_set() || is_switch || !arg.get_default_values().is_empty() {
                    continue;
                }
                let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
                if !help.contains("[default:") && !help.contains("[required with") {
                    problems.push(format!("`{path}`: --{id} says neither its default nor what its absence means"));
                }
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }
}
