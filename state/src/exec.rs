//! Deterministic execution of a block's transfers (SPEC §2, proto/README.md "Execution").
//!
//! Transactions run in block order against an overlay of the accounts they touch. A
//! transaction that cannot run records a failure reason and changes nothing — not even the
//! sender's nonce — so every node computes the same result from the same block. All
//! arithmetic is checked: a would-be overflow is a failure, never a wrap.
//!
//! No state for free: a transaction must pay at least [`MIN_FEE`], and its sender must have an
//! account — a record written by genesis or by an earlier successful transaction, in an earlier
//! block or earlier in this one. Mempools refuse both before admission; these checks are what
//! holds against a proposer that includes such transactions anyway (they fail here, on every
//! node alike, and change nothing).
use crate::accounts::Entry;
use cairn_proto::{Account, Address, Hash, RejectReason, TxAction, VerifiedTx, MIN_FEE};
use rayon::prelude::*;
use std::collections::HashMap;

/// The result of one transaction in a block.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Receipt {
    pub hash: Hash,
    pub success: bool,
    /// The failure reason name (`nonce_too_low`, `insufficient_balance`, …) when it failed.
    pub error: Option<String>,
}

/// Failure reasons that execution can record, beyond the mempool's `RejectReason` names.
pub const BALANCE_OVERFLOW: &str = "balance_overflow";
pub const NONCE_OVERFLOW: &str = "nonce_overflow";
/// The sender has no account (never funded): it cannot send, not even a zero-amount transfer.
pub const UNKNOWN_SENDER: &str = "unknown_sender";

/// What executing a block produced.
#[derive(Debug, Default)]
pub struct Execution {
    pub receipts: Vec<Receipt>,
    /// Every account written by a successful transaction, final value, in first-touch order,
    /// with the version that wrote its previous value (`None`: a new account).
    pub changed: Vec<Changed>,
    /// Senders (even of failed txs) and recipients, final values, in first-touch order.
    pub touched: Vec<(Address, Account)>,
}

/// An account a block wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Changed {
    pub address: Address,
    pub account: Account,
    /// The version (height) whose write this one supersedes; `None` for a new account.
    pub prior_version: Option<u64>,
}

/// One account as execution sees it: its value, the version it was read at, and whether a
/// successful tx wrote it.
struct Slot {
    address: Address,
    account: Account,
    prior_version: Option<u64>,
    changed: bool,
}

/// Executes `txs` in order on top of the accounts that `base` reads (`None`: no such account).
pub fn execute(chain_id: &str, txs: &[VerifiedTx], base: impl Fn(&Address) -> Option<Entry> + Sync) -> Execution {
    let mut index: HashMap<Address, usize, foldhash::fast::RandomState> =
        HashMap::with_capacity_and_hasher(txs.len() * 2, Default::default());
    let mut slots: Vec<Slot> = Vec::with_capacity(txs.len() * 2);
    let mut slot = |address: Address| -> usize {
        *index.entry(address).or_insert_with(|| {
            slots.push(Slot { address, account: Account::default(), prior_version: None, changed: false });
            slots.len() - 1
        })
    };
    let mut plan = Vec::with_capacity(txs.len());
    for tx in txs {
        let TxAction::Transfer(t) = &tx.body().action;
        plan.push((slot(tx.sender()), slot(t.recipient)));
    }
    // The base values are independent reads (mostly cache misses in a large state): fetch
    // them in parallel before the sequential, order-dependent part.
    slots.par_iter_mut().for_each(|s| {
        if let Some(e) = base(&s.address) {
            (s.account, s.prior_version) = (e.account, Some(e.version));
        }
    });
    let receipts = txs
        .iter()
        .zip(plan)
        .map(|(tx, (s, r))| {
            let error = apply(chain_id, tx, &mut slots, s, r).err().map(str::to_owned);
            Receipt { hash: tx.hash(), success: error.is_none(), error }
        })
        .collect();
    let changed = slots
        .iter()
        .filter(|s| s.changed)
        .map(|s| Changed { address: s.address, account: s.account, prior_version: s.prior_version })
        .collect();
    let touched = slots.iter().map(|s| (s.address, s.account)).collect();
    Execution { receipts, changed, touched }
}

/// Applies one transfer, or returns why it cannot run (leaving `slots` untouched).
fn apply(chain_id: &str, tx: &VerifiedTx, slots: &mut [Slot], s: usize, r: usize) -> Result<(), &'static str> {
    let body = tx.body();
    let TxAction::Transfer(t) = &body.action;
    if body.chain_id != chain_id {
        return Err(RejectReason::WrongChainId.name());
    }
    if body.fee < MIN_FEE {
        return Err(RejectReason::FeeTooLow.name());
    }
    // Present in the base state, or written by a successful tx earlier in this block.
    if slots[s].prior_version.is_none() && !slots[s].changed {
        return Err(UNKNOWN_SENDER);
    }
    let sender = slots[s].account;
    if body.nonce < sender.nonce {
        return Err(RejectReason::NonceTooLow.name());
    }
    if body.nonce > sender.nonce {
        return Err(RejectReason::NonceTooHigh.name());
    }
    let cost = body.total_cost().ok_or(RejectReason::InsufficientBalance.name())?;
    let balance = sender.balance.checked_sub(cost).ok_or(RejectReason::InsufficientBalance.name())?;
    let nonce = sender.nonce.checked_add(1).ok_or(NONCE_OVERFLOW)?;
    if s == r {
        // A transfer to oneself only burns the fee; `balance + amount` cannot overflow as it
        // is at most the balance the sender held.
        slots[s].account = Account { balance: balance + t.amount, nonce };
        slots[s].changed = true;
        return Ok(());
    }
    let recipient_balance = slots[r].account.balance.checked_add(t.amount).ok_or(BALANCE_OVERFLOW)?;
    slots[s].account = Account { balance, nonce };
    slots[r].account.balance = recipient_balance;
    slots[s].changed = true;
    slots[r].changed = true;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_proto::{Keypair, Transfer, TxBody};

    fn tx(key: &Keypair, nonce: u64, to: Address, amount: u64, fee: u64) -> VerifiedTx {
        TxBody {
            chain_id: "c".into(),
            sender: key.address(),
            nonce,
            fee,
            action: TxAction::Transfer(Transfer { recipient: to, amount }),
        }
        .sign(key)
    }

    #[test]
    fn transfers_fees_nonces_and_failures() {
        let (a, b) = (Keypair::from_seed([1; 32]), Keypair::from_seed([2; 32]));
        let base = |addr: &Address| {
            (*addr == a.address()).then_some(Entry { account: Account { balance: 100, nonce: 0 }, version: 0 })
        };
        let txs = vec![
            tx(&a, 0, b.address(), 60, 1), // ok: a 39/1, b 60
            tx(&a, 1, b.address(), 39, 1), // insufficient: needs 40
            tx(&a, 0, b.address(), 1, 1),  // nonce too low
            tx(&a, 5, b.address(), 1, 1),  // nonce too high
            tx(&b, 0, a.address(), 10, 2), // ok: b 48/1, a 49
            tx(&a, 1, a.address(), 10, 4), // self transfer burns the fee: a 45/2
        ];
        let out = execute("c", &txs, base);
        let errors: Vec<Option<&str>> = out.receipts.iter().map(|r| r.error.as_deref()).collect();
        assert_eq!(
            errors,
            vec![None, Some("insufficient_balance"), Some("nonce_too_low"), Some("nonce_too_high"), None, None]
        );
        let changed: Vec<_> = out.changed.iter().map(|c| (c.address, c.account, c.prior_version)).collect();
        assert_eq!(
            changed,
            vec![
                (a.address(), Account { balance: 45, nonce: 2 }, Some(0)),
                (b.address(), Account { balance: 48, nonce: 1 }, None),
            ]
        );
    }

    #[test]
    fn overflow_and_wrong_chain_change_nothing() {
        let (a, b) = (Keypair::from_seed([1; 32]), Keypair::from_seed([2; 32]));
        let base = |addr: &Address| {
            let balance = if *addr == a.address() { 10 } else { u64::MAX };
            Some(Entry { account: Account { balance, nonce: 0 }, version: 3 })
        };
        let mut wrong_chain = tx(&a, 0, b.address(), 1, 1).body().clone();
        wrong_chain.chain_id = "other".into();
        let txs = vec![tx(&a, 0, b.address(), 5, 1), tx(&a, 0, b.address(), u64::MAX, 1), wrong_chain.sign(&a)];
        let out = execute("c", &txs, base);
        let errors: Vec<Option<&str>> = out.receipts.iter().map(|r| r.error.as_deref()).collect();
        assert_eq!(errors, vec![Some(BALANCE_OVERFLOW), Some("insufficient_balance"), Some("wrong_chain_id")]);
        assert!(out.changed.is_empty());
        assert_eq!(out.touched.len(), 2);
    }

    #[test]
    fn no_free_state_a_zero_fee_or_an_unfunded_sender_changes_nothing() {
        let (a, fresh, other) = (Keypair::from_seed([1; 32]), Keypair::from_seed([3; 32]), Address([9; 32]));
        let base = |addr: &Address| {
            (*addr == a.address()).then_some(Entry { account: Account { balance: 100, nonce: 0 }, version: 0 })
        };
        let txs = vec![
            tx(&a, 0, other, 0, 0),           // no fee: would create `other` for nothing
            tx(&fresh, 0, other, 0, 1),       // unfunded sender
            tx(&fresh, 0, other, 0, 0),       // both
            tx(&a, 0, fresh.address(), 5, 1), // funds `fresh` …
            tx(&fresh, 0, other, 1, 1),       // … which may then send, in the same block
        ];
        let out = execute("c", &txs, base);
        let errors: Vec<Option<&str>> = out.receipts.iter().map(|r| r.error.as_deref()).collect();
        assert_eq!(errors, vec![Some("fee_too_low"), Some(UNKNOWN_SENDER), Some("fee_too_low"), None, None]);
        let changed: Vec<_> = out.changed.iter().map(|c| (c.address, c.account)).collect();
        assert_eq!(
            changed,
            vec![
                (a.address(), Account { balance: 94, nonce: 1 }),
                (other, Account { balance: 1, nonce: 0 }),
                (fresh.address(), Account { balance: 3, nonce: 1 }),
            ]
        );
    }
}
