//! Shared fixtures: an in-memory account source, deterministic keys and signed transfers.
use cairn_mempool::{AccountSource, Mempool, MempoolConfig};
use cairn_proto::{Account, Address, Keypair, Transfer, TxAction, TxBody, VerifiedTx};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;

/// Where every test transfer sends its coins (never a sender, so its balance is not tracked).
pub const SINK: Address = Address([0xee; 32]);

/// Committed state as a map; absent accounts read as zero and have no record.
#[derive(Default)]
pub struct Accounts(Mutex<HashMap<Address, Account>>);

impl Accounts {
    pub fn set(&self, address: Address, balance: u64, nonce: u64) {
        self.0.lock().insert(address, Account::new(balance, nonce));
    }
    pub fn get(&self, address: &Address) -> Account {
        self.0.lock().get(address).copied().unwrap_or_default()
    }
}

impl AccountSource for Accounts {
    fn account(&self, address: &Address) -> Account {
        self.get(address)
    }
    fn record(&self, address: &Address) -> Option<Account> {
        self.0.lock().get(address).copied()
    }
}

pub fn key(i: u64) -> Keypair {
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&i.to_le_bytes());
    seed[31] = 0x5a;
    Keypair::from_seed(seed)
}

pub fn body(k: &Keypair, nonce: u64, fee: u64, amount: u64) -> TxBody {
    TxBody {
        chain_id: "cairn-local".into(),
        sender: k.address(),
        nonce,
        fee,
        action: TxAction::Transfer(Transfer { recipient: SINK, amount }),
    }
}

pub fn transfer(k: &Keypair, nonce: u64, fee: u64, amount: u64) -> VerifiedTx {
    body(k, nonce, fee, amount).sign(k)
}

/// A pool over `accounts` with its own registry.
pub fn pool_with(config: MempoolConfig, accounts: &Arc<Accounts>) -> (Mempool, prometheus::Registry) {
    let registry = prometheus::Registry::new();
    let pool = Mempool::new(config, accounts.clone(), &registry);
    (pool, registry)
}

/// A default pool where senders `0..n` hold `balance` each.
pub fn funded_pool(n: u64, balance: u64) -> (Mempool, Arc<Accounts>, prometheus::Registry) {
    funded_pool_with(MempoolConfig::default(), n, balance)
}

pub fn funded_pool_with(config: MempoolConfig, n: u64, balance: u64) -> (Mempool, Arc<Accounts>, prometheus::Registry) {
    let accounts = Arc::new(Accounts::default());
    for i in 0..n {
        accounts.set(key(i).address(), balance, 0);
    }
    let (pool, registry) = pool_with(config, &accounts);
    (pool, accounts, registry)
}

/// The value of counter `name{label=value}` in `registry` (0 if absent).
pub fn counter(registry: &prometheus::Registry, name: &str, label: &str, value: &str) -> u64 {
    registry
        .gather()
        .iter()
        .filter(|f| f.name() == name)
        .flat_map(|f| f.get_metric().iter())
        .filter(|m| m.get_label().iter().any(|l| l.name() == label && l.value() == value))
        .map(|m| m.get_counter().get_value() as u64)
        .sum()
}

/// The sum of every series of counter `name`.
pub fn total(registry: &prometheus::Registry, name: &str) -> u64 {
    registry
        .gather()
        .iter()
        .filter(|f| f.name() == name)
        .flat_map(|f| f.get_metric().iter())
        .map(|m| m.get_counter().get_value() as u64)
        .sum()
}

pub fn gauge(registry: &prometheus::Registry, name: &str) -> i64 {
    registry
        .gather()
        .iter()
        .filter(|f| f.name() == name)
        .flat_map(|f| f.get_metric().iter())
        .map(|m| m.get_gauge().get_value() as i64)
        .sum()
}

/// Submits one verified tx and returns its outcome.
pub fn insert(pool: &Mempool, tx: &VerifiedTx) -> Result<cairn_proto::Hash, cairn_proto::RejectReason> {
    pool.insert_verified(vec![tx.clone()], cairn_mempool::Origin::Peer).remove(0).map_err(|e| e.reason)
}
