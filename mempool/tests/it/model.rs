//! Model test: random operation sequences against a deliberately simple reference mempool
//! (plain maps, whole-pool scans). Every admission outcome, the pool's contents and every
//! reap must agree.
use crate::common::*;
use cairn_mempool::MempoolConfig;
use cairn_proto::{Account, Address, Hash, RejectReason, VerifiedTx};
use proptest::prelude::*;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, OnceLock};

const SENDERS: u64 = 4;
const NONCES: u64 = 7;
const FEES: [u64; 3] = [1, 3, 5];
const AMOUNTS: [u64; 2] = [10, 40];
const BALANCE: u64 = 150;

fn config() -> MempoolConfig {
    MempoolConfig { max_txs: 8, nonce_window: 5, sender_limit: 4, ..MempoolConfig::default() }
}

/// Every transaction a test may use, signed once.
fn tx(s: u64, n: u64, f: usize, a: usize) -> VerifiedTx {
    static TXS: OnceLock<HashMap<(u64, u64, usize, usize), VerifiedTx>> = OnceLock::new();
    let all = TXS.get_or_init(|| {
        let mut m = HashMap::new();
        for s in 0..SENDERS {
            for n in 0..NONCES {
                for (f, fee) in FEES.iter().enumerate() {
                    for (a, amount) in AMOUNTS.iter().enumerate() {
                        m.insert((s, n, f, a), transfer(&key(s), n, *fee, *amount));
                    }
                }
            }
        }
        m
    });
    all[&(s, n, f, a)].clone()
}

fn cost(tx: &VerifiedTx) -> u64 {
    tx.body().total_cost().expect("test amounts do not overflow")
}

#[derive(Clone, Debug)]
enum Op {
    Insert { s: u64, n: u64, f: usize, a: usize },
    Reap { k: usize },
    Commit { k: usize },
    SetBalance { s: u64, balance: u64 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..SENDERS, 0..NONCES, 0..FEES.len(), 0..AMOUNTS.len()).prop_map(|(s, n, f, a)| Op::Insert { s, n, f, a }),
        1 => (0..10usize).prop_map(|k| Op::Reap { k }),
        2 => (0..6usize).prop_map(|k| Op::Commit { k }),
        1 => (0..SENDERS, 0..200u64).prop_map(|(s, balance)| Op::SetBalance { s, balance }),
    ]
}

/// The reference: the rules of the issue, written as plainly as possible.
#[derive(Default)]
struct Model {
    accounts: HashMap<Address, Account>,
    /// sender → nonce → (tx, arrival number)
    pending: BTreeMap<Address, BTreeMap<u64, (VerifiedTx, u64)>>,
    recent: HashSet<Hash>,
    arrivals: u64,
}

impl Model {
    fn len(&self) -> usize {
        self.pending.values().map(BTreeMap::len).sum()
    }

    fn insert(&mut self, tx: VerifiedTx, c: &MempoolConfig) -> Result<(), RejectReason> {
        let known = self.pending.values().flat_map(|q| q.values()).any(|(t, _)| t.hash() == tx.hash());
        if known || self.recent.contains(&tx.hash()) {
            return Err(RejectReason::Duplicate);
        }
        let account = self.accounts[&tx.sender()];
        if tx.nonce() < account.nonce {
            return Err(RejectReason::NonceTooLow);
        }
        if tx.nonce() >= account.nonce + c.nonce_window {
            return Err(RejectReason::NonceTooHigh);
        }
        let queue = self.pending.entry(tx.sender()).or_default();
        let replaced = queue.get(&tx.nonce()).map(|(t, _)| t.clone());
        match &replaced {
            Some(old) if old.fee() >= tx.fee() => return Err(RejectReason::Duplicate),
            None if queue.len() >= c.sender_limit => return Err(RejectReason::SenderLimit),
            _ => {}
        }
        let others: u64 = queue.values().filter(|(t, _)| t.nonce() != tx.nonce()).map(|(t, _)| cost(t)).sum();
        if others + cost(&tx) > account.balance {
            return Err(RejectReason::InsufficientBalance);
        }
        if replaced.is_none() && self.len() >= c.max_txs {
            // Victim: the lowest (fee, newest) tail of another sender, with a lower fee.
            let victim = self
                .pending
                .iter()
                .filter(|(s, _)| **s != tx.sender())
                .filter_map(|(s, q)| q.last_key_value().map(|(n, (t, seq))| (t.fee(), u64::MAX - seq, *s, *n)))
                .filter(|(fee, ..)| *fee < tx.fee())
                .min();
            let Some((_, _, s, n)) = victim else { return Err(RejectReason::MempoolFull) };
            self.pending.get_mut(&s).expect("victim sender").remove(&n);
        }
        self.arrivals += 1;
        self.pending.entry(tx.sender()).or_default().insert(tx.nonce(), (tx, self.arrivals));
        self.pending.retain(|_, q| !q.is_empty());
        Ok(())
    }

    /// Repeatedly takes the best (fee, oldest) among each sender's next executable tx.
    fn reap(&self, k: usize) -> Vec<VerifiedTx> {
        let mut next: HashMap<Address, u64> = self.pending.keys().map(|s| (*s, self.accounts[s].nonce)).collect();
        let mut out = Vec::new();
        while out.len() < k {
            let best = self
                .pending
                .iter()
                .filter_map(|(s, q)| q.get(&next[s]).map(|(t, seq)| ((t.fee(), u64::MAX - seq), t)))
                .max_by_key(|(key, _)| *key);
            let Some((_, t)) = best else { break };
            *next.get_mut(&t.sender()).expect("sender") += 1;
            out.push(t.clone());
        }
        out
    }

    /// New account values for `touched` senders: drop stale nonces and what cannot be paid.
    fn apply(&mut self, touched: &[(Address, Account)]) {
        for (s, account) in touched {
            self.accounts.insert(*s, *account);
            let Some(q) = self.pending.get_mut(s) else { continue };
            q.retain(|n, _| *n >= account.nonce);
            let mut spent = 0;
            let cut = q.iter().find(|(_, (t, _))| {
                spent += cost(t);
                spent > account.balance
            });
            if let Some((n, _)) = cut {
                let n = *n;
                q.retain(|m, _| *m < n);
            }
        }
        self.pending.retain(|_, q| !q.is_empty());
    }
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let c = config();
    let accounts = Arc::new(Accounts::default());
    let mut model = Model::default();
    for s in 0..SENDERS {
        accounts.set(key(s).address(), BALANCE, 0);
        model.accounts.insert(key(s).address(), Account::new(BALANCE, 0));
    }
    let (pool, _registry) = pool_with(c.clone(), &accounts);
    for op in ops {
        match op.clone() {
            Op::Insert { s, n, f, a } => {
                let t = tx(s, n, f, a);
                prop_assert_eq!(insert(&pool, &t).map(drop), model.insert(t, &c), "insert {:?}", op);
            }
            Op::Reap { k } => prop_assert_eq!(pool.reap(k, usize::MAX), model.reap(k)),
            Op::Commit { k } => {
                let block = pool.reap(k, usize::MAX);
                prop_assert_eq!(&block, &model.reap(k));
                let mut touched = HashMap::new();
                for t in &block {
                    let mut acc = accounts.get(&t.sender());
                    prop_assert_eq!(acc.nonce, t.nonce(), "reaped tx must be executable");
                    acc.nonce += 1;
                    acc.balance = acc.balance.checked_sub(cost(t)).expect("reaped tx must be payable");
                    accounts.set(t.sender(), acc.balance, acc.nonce);
                    touched.insert(t.sender(), acc);
                    model.recent.insert(t.hash());
                }
                let touched: Vec<_> = touched.into_iter().collect();
                model.apply(&touched);
                pool.on_commit(&block, &touched);
            }
            Op::SetBalance { s, balance } => {
                let address = key(s).address();
                let acc = Account::new(balance, accounts.get(&address).nonce);
                accounts.set(address, balance, acc.nonce);
                model.apply(&[(address, acc)]);
                pool.on_commit(&[], &[(address, acc)]);
            }
        }
        prop_assert_eq!(pool.status().size, model.len());
        for (t, _) in model.pending.values().flat_map(|q| q.values()) {
            prop_assert!(pool.contains(&t.hash()));
        }
        let bytes: usize = model.pending.values().flat_map(|q| q.values()).map(|(t, _)| t.len()).sum();
        prop_assert_eq!(pool.status().bytes, bytes);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
    #[test]
    fn mempool_agrees_with_reference(ops in proptest::collection::vec(op(), 1..60)) {
        run(ops)?;
    }
}

#[test]
fn model_itself_is_sane() {
    // Guard against a model that refuses everything (which would make the property vacuous).
    let c = config();
    let mut model = Model::default();
    model.accounts.insert(key(0).address(), Account::new(BALANCE, 0));
    assert_eq!(model.insert(tx(0, 0, 0, 0), &c), Ok(()));
    assert_eq!(model.insert(tx(0, 1, 2, 0), &c), Ok(()));
    assert_eq!(model.reap(5).len(), 2);
}
