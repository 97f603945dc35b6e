//! `cairn start`: composes state, mempool, network, consensus and RPC into a running node, and
//! shuts it down cleanly on SIGINT/SIGTERM (the driver stops, RocksDB is flushed and closed).
mod api;
mod dispatch;
mod driver;
mod host;
mod metrics;
mod shared;
mod sign_state;
mod snapshots;
pub mod state_sync;
mod sync;
pub mod wal;

use crate::config::NodeConfig;
use crate::home::Home;
use anyhow::{Context, Result};
use cairn_consensus::{Consensus, WalEntry};
use cairn_engine::{Engine, Signers};
use cairn_mempool::{AccountSource, Mempool, MempoolConfig};
use cairn_proto::{Account, Address, Hash, ValidatorSet};
use cairn_state::State;
use driver::DriverEvent;
use shared::{Shared, Tip};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// The mempool reads committed accounts straight from the state store.
struct StateAccounts(State);

impl AccountSource for StateAccounts {
    fn account(&self, address: &Address) -> Account {
        self.0.account(address)
    }
}

pub async fn run(home: &Home, cfg: NodeConfig) -> Result<()> {
    let genesis = home.load_genesis()?;
    let key = home.load_key()?;
    let chain_id = genesis.chain_id.clone();
    let registry = prometheus::Registry::new();

    if cfg.state_sync.join && state_sync::is_first_start(home) {
        state_sync::join(home, &cfg, &genesis, &key).await?;
    }
    let state = State::open_with_registry(&home.state_dir(), cfg.state.clone(), &registry)
        .with_context(|| format!("cannot open the state database in {}", home.state_dir().display()))?;
    state.init_genesis(&genesis).context("genesis does not match the database")?;
    let tip = match state.block(state.latest_height())? {
        Some(cb) => Tip {
            height: cb.block.header.height,
            hash: cb.block.hash(),
            state_root: state.state_root(),
            timestamp_ms: cb.block.header.timestamp_ms,
        },
        None => {
            Tip { height: 0, hash: Hash::ZERO, state_root: state.state_root(), timestamp_ms: genesis.genesis_time_ms }
        }
    };
    let set_at = |h: u64| -> Result<ValidatorSet> {
        state.validator_set_at(h)?.with_context(|| format!("the state holds no validator set for height {h}"))
    };
    let signers = Signers { current: set_at(tip.height + 1)?, next: set_at(tip.height + 2)? };
    let validator = signers.current.power_of(&key.address()) > 0;
    tracing::info!(height = tip.height, chain_id, validator, "state opened");
    let shared = Arc::new(Shared::new(tip.clone()));
    let snapshots = snapshots::Snapshots::new(cfg.state_sync.snapshot_interval);

    let mempool = Arc::new(Mempool::new(
        MempoolConfig { chain_id: chain_id.clone(), ..cfg.mempool.clone() },
        Arc::new(StateAccounts(state.clone())),
        &registry,
    ));

    let p = &cfg.p2p;
    let net_cfg_sync_blocks = p.sync_max_blocks;
    let (net, net_events) = cairn_network::start(p.clone(), &key, &chain_id, signers.current.clone(), &registry)
        .await
        .with_context(|| format!("cannot start p2p on {} (port in use?)", p.listen))?;
    net.set_validators(vec![signers.current.clone(), signers.next.clone()]);

    // Every vote and proposal reaches consensus only through the network's gossip validator,
    // which has already checked its signer and signature: checking again here would verify
    // each signature twice on the hot path.
    let consensus = Consensus::with_registry(
        cfg.consensus.consensus(false),
        chain_id.clone(),
        signers.current.clone(),
        Some(key.clone()),
        &registry,
    )?;
    let (wal, wal_records) = driver_wal(home)?;
    let wal_entries = wal_records
        .iter()
        .map(|r| WalEntry::decode(r))
        .collect::<Result<Vec<_>, _>>()
        .context("the consensus WAL holds a record that does not decode")?;
    let (sign_state, signed) = sign_state::SignStateFile::open(&home.sign_state())?;
    let (driver_tx, driver_rx) = mpsc::channel::<DriverEvent>(cfg.consensus.event_queue);
    let node_metrics = metrics::NodeMetrics::new(&registry)?;
    let host = host::NodeHost {
        state: state.clone(),
        mempool: mempool.clone(),
        net: net.clone(),
        shared: shared.clone(),
        snapshots: snapshots.clone(),
        events: driver_tx.clone(),
        rt: tokio::runtime::Handle::current(),
        wal,
        sign_state,
        metrics: node_metrics.clone(),
    };
    let engine = Engine::new(host, consensus, cfg.consensus.clone(), signers, tip);
    let driver_thread = std::thread::Builder::new()
        .name("consensus".into())
        .spawn(move || driver::run(engine, wal_entries, signed, driver_rx))
        .context("cannot start the consensus thread")?;

    tokio::spawn(
        dispatch::Dispatcher {
            net: net.clone(),
            mempool: mempool.clone(),
            state: state.clone(),
            shared: shared.clone(),
            snapshots,
            driver: driver_tx.clone(),
            workers: cfg.consensus.peer_workers,
            max_waiting_batches: cfg.consensus.peer_tx_batches_waiting,
            dropped_batches: node_metrics.dropped_peer_batches.clone(),
            sync_max_blocks: net_cfg_sync_blocks,
            sync_max_bytes: p.max_message_bytes * 3 / 4,
        }
        .run(net_events),
    );
    tokio::spawn(
        sync::Syncer {
            net: net.clone(),
            state: state.clone(),
            mempool: mempool.clone(),
            shared: shared.clone(),
            chain_id: chain_id.clone(),
            driver: driver_tx.clone(),
            batch: net_cfg_sync_blocks,
        }
        .run(),
    );
    spawn_gossip(&mempool, &net, shared.clone());
    {
        let mempool = mempool.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            loop {
                tick.tick().await;
                mempool.evict_expired();
            }
        });
    }

    let r = &cfg.rpc;
    let rpc_cfg = r.clone();
    let api = api::Api {
        state: state.clone(),
        mempool: mempool.clone(),
        net: net.clone(),
        shared: shared.clone(),
        chain_id: chain_id.clone(),
        me: key.address(),
    };
    let rpc = cairn_rpc::serve(rpc_cfg, Arc::new(api), registry.clone()).await.with_context(|| {
        format!("cannot start RPC on {} / {} / {} (port in use?)", r.jsonrpc_addr, r.grpc_addr, r.metrics_addr)
    })?;
    tracing::info!(
        jsonrpc = %r.jsonrpc_addr,
        grpc = %r.grpc_addr,
        metrics = %r.metrics_addr,
        p2p = %p.listen,
        sig_backend = cairn_proto::signature_backend(),
        "node running"
    );

    wait_for_signal(&driver_thread).await?;
    tracing::info!("shutting down");
    rpc.stop().await;
    driver_tx.send(DriverEvent::Shutdown).await.ok();
    let joined = tokio::task::spawn_blocking(move || driver_thread.join()).await?;
    net.shutdown().await;
    drop(state);
    match joined {
        Ok(res) => res.context("consensus driver failed"),
        Err(_) => anyhow::bail!("consensus driver panicked"),
    }
}

fn driver_wal(home: &Home) -> Result<(wal::Wal, Vec<Vec<u8>>)> {
    wal::Wal::open(&home.wal()).with_context(|| format!("cannot open the consensus WAL {}", home.wal().display()))
}

/// Locally admitted txs leave in batches for gossip (a thread, as the mempool's channel blocks).
/// Not while we are behind the network (`Shared::caught_up`): admitted against a stale state,
/// they may be committed already, and peers would rightly find such batches wasteful. They stay
/// in our pool and go into our own proposals.
fn spawn_gossip(mempool: &Mempool, net: &cairn_network::NetworkHandle, shared: Arc<Shared>) {
    let rx = mempool.gossip_receiver();
    let net = net.clone();
    std::thread::Builder::new()
        .name("tx-gossip".into())
        .spawn(move || {
            while let Ok(batch) = rx.recv() {
                if shared.caught_up() {
                    net.broadcast_txs(batch.iter().map(|t| t.encoded().clone()).collect());
                } else {
                    tracing::debug!(txs = batch.len(), "not gossiping local txs while behind the network");
                }
            }
        })
        .expect("spawn gossip thread");
}

/// Returns on SIGINT/SIGTERM, or when the consensus thread ends on its own (an error).
async fn wait_for_signal(driver: &std::thread::JoinHandle<Result<()>>) -> Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut check = tokio::time::interval(Duration::from_millis(500));
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(()),
            _ = term.recv() => return Ok(()),
            _ = check.tick() => if driver.is_finished() { return Ok(()) },
        }
    }
}
