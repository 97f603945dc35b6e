//! Deterministic execution of a block (SPEC §2, proto/README.md "Execution" and "Staking"):
//! first the unbonded stake due at this height goes back to its accounts, then the
//! transactions (transfers, stakes, unbonds) run in block order.
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
use cairn_proto::staking::{power_of, MIN_VALIDATOR_STAKE, UNBONDING_PERIOD};
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
/// A stake or unbond of nothing.
pub const ZERO_AMOUNT: &str = "zero_amount";
/// A stake that leaves less than `MIN_VALIDATOR_STAKE` bonded, or an unbond that leaves less
/// but not nothing.
pub const BELOW_MIN_STAKE: &str = "below_min_stake";
/// An unbond of more than is bonded.
pub const INSUFFICIENT_STAKE: &str = "insufficient_stake";
/// An unbond that would leave no account with voting power: the chain would have no validator.
pub const LAST_VALIDATOR: &str = "last_validator";

/// What execution needs to know beyond the accounts: the height it executes (unbonds schedule
/// their payback from it), the accounts whose payback is due at it, and how many accounts have
/// voting power before it (so that the last one cannot leave).
#[derive(Clone, Debug, Default)]
pub struct BlockContext {
    pub height: u64,
    pub releases: Vec<Address>,
    pub validators_with_power: usize,
}

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

/// Executes the paybacks of `ctx` and then `txs` in order, on top of the accounts that `base`
/// reads (`None`: no such account).
pub fn execute(
    chain_id: &str,
    ctx: &BlockContext,
    txs: &[VerifiedTx],
    base: impl Fn(&Address) -> Option<Entry> + Sync,
) -> Execution {
    let mut index: HashMap<Address, usize, foldhash::fast::RandomState> =
        HashMap::with_capacity_and_hasher(txs.len() * 2, Default::default());
    let mut slots: Vec<Slot> = Vec::with_capacity(txs.len() * 2);
    let mut slot = |address: Address| -> usize {
        *index.entry(address).or_insert_with(|| {
            slots.push(Slot { address, account: Account::default(), prior_version: None, changed: false });
            slots.len() - 1
        })
    };
    let releases: Vec<usize> = ctx.releases.iter().map(|a| slot(*a)).collect();
    let mut plan = Vec::with_capacity(txs.len());
    for tx in txs {
        plan.push((slot(tx.sender()), tx.body().action.recipient().map(&mut slot)));
    }
    // The base values are independent reads (mostly cache misses in a large state): fetch
    // them in parallel before the sequential, order-dependent part.
    slots.par_iter_mut().for_each(|s| {
        if let Some(e) = base(&s.address) {
            (s.account, s.prior_version) = (e.account, Some(e.version));
        }
    });
    for s in releases {
        release(&mut slots[s], ctx.height);
    }
    let mut block = Running { chain_id, height: ctx.height, validators_with_power: ctx.validators_with_power };
    let receipts = txs
        .iter()
        .zip(plan)
        .map(|(tx, (s, r))| {
            let error = block.apply(tx, &mut slots, s, r).err().map(str::to_owned);
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

/// Pays a due unbonding back to the balance. Staking moves funds between balance, bonded and
/// unbonding and only fees leave the supply, which genesis bounds by u64: the sum cannot
/// overflow, and `saturating_add` only keeps a broken invariant from panicking.
fn release(slot: &mut Slot, height: u64) {
    let a = &mut slot.account;
    if a.unbonding == 0 || a.release_height > height {
        return;
    }
    a.balance = a.balance.saturating_add(a.unbonding);
    (a.unbonding, a.release_height) = (0, 0);
    slot.changed = true;
}

/// The block being executed, as far as the transactions so far changed it.
struct Running<'a> {
    chain_id: &'a str,
    height: u64,
    validators_with_power: usize,
}

impl Running<'_> {
    /// Applies one transaction, or returns why it cannot run (leaving `slots` untouched).
    fn apply(&mut self, tx: &VerifiedTx, slots: &mut [Slot], s: usize, r: Option<usize>) -> Result<(), &'static str> {
        let body = tx.body();
        if body.chain_id != self.chain_id {
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
        let paid = Account { balance, nonce, ..sender };
        match (&body.action, r) {
            (TxAction::Transfer(t), Some(r)) if r == s => {
                // A transfer to oneself only burns the fee; `balance + amount` cannot overflow
                // as it is at most the balance the sender held.
                slots[s].account = Account { balance: balance + t.amount, ..paid };
            }
            (TxAction::Transfer(t), Some(r)) => {
                let recipient_balance = slots[r].account.balance.checked_add(t.amount).ok_or(BALANCE_OVERFLOW)?;
                slots[r].account.balance = recipient_balance;
                slots[r].changed = true;
                slots[s].account = paid;
            }
            (TxAction::Stake(stake), _) => slots[s].account = self.stake(paid, stake.amount)?,
            (TxAction::Unbond(unbond), _) => slots[s].account = self.unbond(paid, unbond.amount)?,
            (TxAction::Transfer(_), None) => unreachable!("a transfer's recipient always has a slot"),
        }
        slots[s].changed = true;
        Ok(())
    }

    /// `account` (already charged the amount and fee) with `amount` more bonded.
    fn stake(&mut self, account: Account, amount: u64) -> Result<Account, &'static str> {
        if amount == 0 {
            return Err(ZERO_AMOUNT);
        }
        let bonded = account.bonded.checked_add(amount).ok_or(BALANCE_OVERFLOW)?;
        if bonded < MIN_VALIDATOR_STAKE {
            return Err(BELOW_MIN_STAKE);
        }
        self.count_power_change(account.bonded, bonded);
        Ok(Account { bonded, ..account })
    }

    /// `account` (already charged the fee) with `amount` moved from bonded to unbonding, paid
    /// back at `height + UNBONDING_PERIOD`. An unbonding still pending joins the new one and
    /// is paid back with it, at the later height.
    fn unbond(&mut self, account: Account, amount: u64) -> Result<Account, &'static str> {
        if amount == 0 {
            return Err(ZERO_AMOUNT);
        }
        let bonded = account.bonded.checked_sub(amount).ok_or(INSUFFICIENT_STAKE)?;
        if bonded != 0 && bonded < MIN_VALIDATOR_STAKE {
            return Err(BELOW_MIN_STAKE);
        }
        if power_of(account.bonded) > 0 && power_of(bonded) == 0 && self.validators_with_power <= 1 {
            return Err(LAST_VALIDATOR);
        }
        let unbonding = account.unbonding.checked_add(amount).ok_or(BALANCE_OVERFLOW)?;
        self.count_power_change(account.bonded, bonded);
        Ok(Account { bonded, unbonding, release_height: self.height.saturating_add(UNBONDING_PERIOD), ..account })
    }

    fn count_power_change(&mut self, before: u64, after: u64) {
        match (power_of(before) > 0, power_of(after) > 0) {
            (false, true) => self.validators_with_power += 1,
            (true, false) => self.validators_with_power -= 1,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_proto::staking::STAKE_PER_POWER;
    use cairn_proto::{Keypair, Stake, Transfer, TxBody, Unbond};

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
        let base =
            |addr: &Address| (*addr == a.address()).then_some(Entry { account: Account::new(100, 0), version: 0 });
        let txs = vec![
            tx(&a, 0, b.address(), 60, 1), // ok: a 39/1, b 60
            tx(&a, 1, b.address(), 39, 1), // insufficient: needs 40
            tx(&a, 0, b.address(), 1, 1),  // nonce too low
            tx(&a, 5, b.address(), 1, 1),  // nonce too high
            tx(&b, 0, a.address(), 10, 2), // ok: b 48/1, a 49
            tx(&a, 1, a.address(), 10, 4), // self transfer burns the fee: a 45/2
        ];
        let out = execute("c", &BlockContext::default(), &txs, base);
        let errors: Vec<Option<&str>> = out.receipts.iter().map(|r| r.error.as_deref()).collect();
        assert_eq!(
            errors,
            vec![None, Some("insufficient_balance"), Some("nonce_too_low"), Some("nonce_too_high"), None, None]
        );
        let changed: Vec<_> = out.changed.iter().map(|c| (c.address, c.account, c.prior_version)).collect();
        assert_eq!(
            changed,
            vec![(a.address(), Account::new(45, 2), Some(0)), (b.address(), Account::new(48, 1), None),]
        );
    }

    #[test]
    fn overflow_and_wrong_chain_change_nothing() {
        let (a, b) = (Keypair::from_seed([1; 32]), Keypair::from_seed([2; 32]));
        let base = |addr: &Address| {
            let balance = if *addr == a.address() { 10 } else { u64::MAX };
            Some(Entry { account: Account::new(balance, 0), version: 3 })
        };
        let mut wrong_chain = tx(&a, 0, b.address(), 1, 1).body().clone();
        wrong_chain.chain_id = "other".into();
        let txs = vec![tx(&a, 0, b.address(), 5, 1), tx(&a, 0, b.address(), u64::MAX, 1), wrong_chain.sign(&a)];
        let out = execute("c", &BlockContext::default(), &txs, base);
        let errors: Vec<Option<&str>> = out.receipts.iter().map(|r| r.error.as_deref()).collect();
        assert_eq!(errors, vec![Some(BALANCE_OVERFLOW), Some("insufficient_balance"), Some("wrong_chain_id")]);
        assert!(out.changed.is_empty());
        assert_eq!(out.touched.len(), 2);
    }

    #[test]
    fn no_free_state_a_zero_fee_or_an_unfunded_sender_changes_nothing() {
        let (a, fresh, other) = (Keypair::from_seed([1; 32]), Keypair::from_seed([3; 32]), Address([9; 32]));
        let base =
            |addr: &Address| (*addr == a.address()).then_some(Entry { account: Account::new(100, 0), version: 0 });
        let txs = vec![
            tx(&a, 0, other, 0, 0),           // no fee: would create `other` for nothing
            tx(&fresh, 0, other, 0, 1),       // unfunded sender
            tx(&fresh, 0, other, 0, 0),       // both
            tx(&a, 0, fresh.address(), 5, 1), // funds `fresh` …
            tx(&fresh, 0, other, 1, 1),       // … which may then send, in the same block
        ];
        let out = execute("c", &BlockContext::default(), &txs, base);
        let errors: Vec<Option<&str>> = out.receipts.iter().map(|r| r.error.as_deref()).collect();
        assert_eq!(errors, vec![Some("fee_too_low"), Some(UNKNOWN_SENDER), Some("fee_too_low"), None, None]);
        let changed: Vec<_> = out.changed.iter().map(|c| (c.address, c.account)).collect();
        assert_eq!(
            changed,
            vec![
                (a.address(), Account::new(94, 1)),
                (other, Account::new(1, 0)),
                (fresh.address(), Account::new(3, 1)),
            ]
        );
    }

    fn staking(key: &Keypair, nonce: u64, action: TxAction) -> VerifiedTx {
        TxBody { chain_id: "c".into(), sender: key.address(), nonce, fee: 1, action }.sign(key)
    }
    fn stake(amount: u64) -> TxAction {
        TxAction::Stake(Stake { amount })
    }
    fn unbond(amount: u64) -> TxAction {
        TxAction::Unbond(Unbond { amount })
    }

    #[test]
    fn stake_and_unbond_move_funds_and_schedule_the_payback() {
        const P: u64 = STAKE_PER_POWER;
        let (a, b) = (Keypair::from_seed([1; 32]), Keypair::from_seed([2; 32]));
        let base = |addr: &Address| {
            let account = if *addr == a.address() { Account::new(10 * P, 0) } else { Account::new(10, 0) };
            Some(Entry { account, version: 0 })
        };
        let ctx = BlockContext { height: 7, releases: vec![], validators_with_power: 1 };
        let txs = vec![
            staking(&a, 0, stake(0)),          // nothing
            staking(&a, 0, stake(P - 1)),      // below the minimum
            staking(&a, 0, stake(3 * P)),      // ok: bonded 3P
            staking(&a, 1, unbond(4 * P)),     // more than bonded
            staking(&a, 1, unbond(2 * P + 1)), // leaves P - 1: below the minimum, not nothing
            staking(&a, 1, unbond(P)),         // ok: bonded 2P, unbonding P, due at 7 + period
            staking(&b, 0, stake(P)),          // b cannot pay it
        ];
        let out = execute("c", &ctx, &txs, base);
        let errors: Vec<Option<&str>> = out.receipts.iter().map(|r| r.error.as_deref()).collect();
        assert_eq!(
            errors,
            vec![
                Some(ZERO_AMOUNT),
                Some(BELOW_MIN_STAKE),
                None,
                Some(INSUFFICIENT_STAKE),
                Some(BELOW_MIN_STAKE),
                None,
                Some("insufficient_balance")
            ]
        );
        let a_after = out.changed.iter().find(|c| c.address == a.address()).unwrap().account;
        assert_eq!(
            a_after,
            Account { balance: 7 * P - 2, nonce: 2, bonded: 2 * P, unbonding: P, release_height: 7 + UNBONDING_PERIOD }
        );
    }

    #[test]
    fn the_payback_comes_at_its_height_and_the_last_validator_cannot_leave() {
        const P: u64 = STAKE_PER_POWER;
        let (a, b) = (Keypair::from_seed([1; 32]), Keypair::from_seed([2; 32]));
        let staked = Account { balance: 5, nonce: 0, bonded: P, unbonding: 3, release_height: 50 };
        let base = move |_: &Address| Some(Entry { account: staked, version: 0 });
        // Not due yet: a release listed early changes nothing.
        let early = BlockContext { height: 49, releases: vec![a.address()], validators_with_power: 2 };
        assert!(execute("c", &early, &[], base).changed.is_empty());
        // Due: paid back before the block's txs run, so they can spend it.
        let due = BlockContext { height: 50, releases: vec![a.address()], validators_with_power: 2 };
        let spend = TxBody {
            chain_id: "c".into(),
            sender: a.address(),
            nonce: 0,
            fee: 1,
            action: TxAction::Transfer(Transfer { recipient: b.address(), amount: 7 }),
        }
        .sign(&a);
        let out = execute("c", &due, &[spend], base);
        assert_eq!(out.receipts[0].error, None);
        assert_eq!(
            out.changed[0].account,
            Account { balance: 0, nonce: 1, bonded: P, unbonding: 0, release_height: 0 }
        );
        // Two validators: the first may leave, the second may not (it would be the last).
        let ctx = BlockContext { height: 60, releases: vec![], validators_with_power: 2 };
        let out = execute("c", &ctx, &[staking(&a, 0, unbond(P)), staking(&b, 0, unbond(P))], base);
        let errors: Vec<Option<&str>> = out.receipts.iter().map(|r| r.error.as_deref()).collect();
        assert_eq!(errors, vec![None, Some(LAST_VALIDATOR)]);
    }
}
