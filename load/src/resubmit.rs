//! Sends refused transactions again once a node can accept them, so that one refusal does not
//! strand every later nonce of its sender for the rest of the run.
//!
//! A node refuses a nonce at or beyond the sender's committed nonce plus its window (64 by
//! default) as `nonce_too_high`, and a full pool refuses with `mempool_full`. The pre-signed
//! txs of a sender queue behind each other: if nonce n is refused and never sent again, nonces
//! n+1… can never commit, and under a transient stall whole senders drop out of the run (the
//! collapse seen at 10k tx/s in session 5). So those two refusals are held: a `nonce_too_high`
//! tx is sent again once the sender's finalized nonce has come within the window of it, a
//! `mempool_full` one after a pause. Every send and every refusal is still counted; the
//! latency clock of a tx keeps running from its first send.
use crate::sender::Batch;
use cairn_proto::{Address, Hash, RejectReason, VerifiedTx};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// The least time between two sends of the same tx.
const PAUSE: Duration = Duration::from_millis(500);

pub struct Resubmit {
    window: u64,
    inner: Mutex<Inner>,
    /// How many txs `due` has handed out.
    resent: AtomicU64,
}

struct Inner {
    /// Each of our txs: hash → (sender, nonce).
    owners: HashMap<Hash, (Address, u64)>,
    /// Per sender, the nonce after its highest finalized tx of this run.
    finalized_next: HashMap<Address, u64>,
    /// Refused txs waiting to be sent again, with when they were last sent.
    held: Vec<(VerifiedTx, Instant)>,
}

/// The reason the senders give a batch whose request failed in transport.
pub const TRANSPORT_ERROR: &str = "rpc_error";

impl Resubmit {
    /// For a run of `txs` against nodes whose mempool window is `window`; `start` is each
    /// sender's committed nonce before the run.
    pub fn new(window: u64, txs: &[VerifiedTx], start: impl IntoIterator<Item = (Address, u64)>) -> Self {
        let owners = txs.iter().map(|t| (t.hash(), (t.sender(), t.nonce()))).collect();
        let inner = Inner { owners, finalized_next: start.into_iter().collect(), held: Vec::new() };
        Resubmit { window, inner: Mutex::new(inner), resent: AtomicU64::new(0) }
    }

    /// Holds `tx` for another send if `reason` (a SPEC §4 reason name) is a temporary refusal,
    /// or if the send failed in transport (`rpc_error…`: a node down or restarting). A tx lost
    /// that way would leave a gap in its sender's nonces and strand all its later ones; sent
    /// again, it goes to the next worker's endpoint, and a node that did admit it the first
    /// time answers `duplicate`.
    pub fn hold(&self, tx: &VerifiedTx, reason: &str) -> bool {
        let temporary = reason.starts_with(TRANSPORT_ERROR)
            || [RejectReason::NonceTooHigh, RejectReason::MempoolFull].iter().any(|r| r.name() == reason);
        if temporary {
            self.inner.lock().held.push((tx.clone(), Instant::now()));
        }
        temporary
    }

    /// One of our txs was seen finalized: its sender's next nonce is at least the one after it.
    pub fn finalized(&self, hash: &Hash) {
        let mut inner = self.inner.lock();
        if let Some(&(sender, nonce)) = inner.owners.get(hash) {
            let next = inner.finalized_next.entry(sender).or_default();
            *next = (*next).max(nonce + 1);
        }
    }

    /// Takes the held txs a node should accept now: a pause after their last send, and within
    /// the window of their sender's finalized nonce. In sender and nonce order, so that a
    /// sender's txs arrive in the order its queue needs.
    pub fn due(&self, now: Instant) -> Batch {
        let mut inner = self.inner.lock();
        let Inner { finalized_next, held, .. } = &mut *inner;
        let ready = |(tx, sent): &(VerifiedTx, Instant)| {
            let next = finalized_next.get(&tx.sender()).copied().unwrap_or(0);
            now.saturating_duration_since(*sent) >= PAUSE && tx.nonce() < next + self.window
        };
        let (mut due, kept): (Vec<_>, Vec<_>) = held.drain(..).partition(ready);
        *held = kept;
        due.sort_by_key(|(tx, _)| (tx.sender(), tx.nonce()));
        self.resent.fetch_add(due.len() as u64, Relaxed);
        due.into_iter().map(|(tx, _)| tx).collect()
    }

    pub fn held(&self) -> usize {
        self.inner.lock().held.len()
    }

    pub fn resent(&self) -> u64 {
        self.resent.load(Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_proto::{Keypair, Transfer, TxAction, TxBody};

    fn tx(key: &Keypair, nonce: u64) -> VerifiedTx {
        TxBody {
            chain_id: "cairn-local".into(),
            sender: key.address(),
            nonce,
            fee: 1,
            action: TxAction::Transfer(Transfer { recipient: Address([1; 32]), amount: 1 }),
        }
        .sign(key)
    }

    #[test]
    fn a_send_lost_in_transport_is_held_and_sent_again() {
        let k = Keypair::from_seed([6; 32]);
        let txs: Vec<_> = (0..3).map(|n| tx(&k, n)).collect();
        let r = Resubmit::new(4, &txs, [(k.address(), 0)]);
        assert!(r.hold(&txs[0], &format!("{TRANSPORT_ERROR}: connection refused")));
        let due = r.due(Instant::now() + PAUSE);
        assert_eq!(due.iter().map(VerifiedTx::nonce).collect::<Vec<_>>(), vec![0]);
    }

    #[test]
    fn a_nonce_too_high_waits_for_its_sender_to_come_within_the_window() {
        let k = Keypair::from_seed([5; 32]);
        let txs: Vec<_> = (0..10).map(|n| tx(&k, n)).collect();
        let r = Resubmit::new(4, &txs, [(k.address(), 0)]);
        assert!(r.hold(&txs[6], "nonce_too_high") && r.hold(&txs[5], "nonce_too_high"));
        assert!(!r.hold(&txs[7], "insufficient_balance"), "a lasting refusal is not held");
        let later = Instant::now() + PAUSE;
        assert!(r.due(later).is_empty(), "finalized nonce 0 + window 4 does not reach 5");
        r.finalized(&txs[1].hash());
        assert_eq!(r.due(later).iter().map(VerifiedTx::nonce).collect::<Vec<_>>(), vec![5], "next nonce 2: 5 < 6");
        r.finalized(&txs[3].hash());
        assert!(r.due(Instant::now()).is_empty(), "not again before the pause");
        assert_eq!(r.due(later).iter().map(VerifiedTx::nonce).collect::<Vec<_>>(), vec![6]);
        assert_eq!((r.held(), r.resent()), (0, 2));
    }

    #[test]
    fn a_full_pool_refusal_is_sent_again_after_the_pause_in_nonce_order() {
        let k = Keypair::from_seed([6; 32]);
        let txs: Vec<_> = (0..3).map(|n| tx(&k, n)).collect();
        let r = Resubmit::new(64, &txs, [(k.address(), 0)]);
        for t in txs.iter().rev() {
            assert!(r.hold(t, "mempool_full"));
        }
        assert!(r.due(Instant::now()).is_empty());
        let due = r.due(Instant::now() + PAUSE);
        assert_eq!(due.iter().map(VerifiedTx::nonce).collect::<Vec<_>>(), vec![0, 1, 2]);
    }
}
