//! Fixtures shared by the mempool benches: a pool whose every sender is rich, signed
//! transfers from fresh senders, and the raw ed25519 batch-verification baseline that
//! admission with signature checks is compared with.
use bytes::Bytes;
use cairn_mempool::{AccountSource, Mempool, MempoolConfig, VERIFY_CHUNK};
use cairn_proto::{Account, Address, Keypair, SignatureDomain, Transfer, TxAction, TxBody, UncheckedTx, VerifiedTx};
use rand::{Rng, SeedableRng};
use rayon::prelude::*;
use std::sync::Arc;
use std::time::Duration;

/// CPU time consumed so far by this thread (`ThreadCPUTime`) or the whole process (`ProcessCPUTime`).
pub fn cpu_time(clock: rustix::time::ClockId) -> Duration {
    let t = rustix::time::clock_gettime(clock);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// Every account is rich and at nonce 0.
pub struct Rich;
impl AccountSource for Rich {
    fn account(&self, _: &Address) -> Account {
        Account::new(u64::MAX / 2, 0)
    }
}

pub fn pool(max_txs: usize) -> Mempool {
    let config = MempoolConfig { max_txs, max_bytes: usize::MAX / 2, ..MempoolConfig::default() };
    Mempool::new(config, Arc::new(Rich), &prometheus::Registry::new())
}

/// `senders × nonces` signed transfers with random fees, nonce-major (as clients send them),
/// signed on all cores.
pub fn txs(senders: u64, nonces: u64, seed: u64) -> Vec<VerifiedTx> {
    let (keys, plan) = tx_plan(senders, nonces, seed);
    plan.into_par_iter().map(|step| sign(&keys, step)).collect()
}

/// The same as `txs`, signed on the calling thread only. For setups that run just before a
/// timed routine: rayon's workers keep spinning for a while after a parallel job, and would
/// compete with the routine for the two vCPUs.
pub fn txs_on_this_thread(senders: u64, nonces: u64, seed: u64) -> Vec<VerifiedTx> {
    let (keys, plan) = tx_plan(senders, nonces, seed);
    plan.into_iter().map(|step| sign(&keys, step)).collect()
}

/// `n` encoded txs from `n` new senders (one tx each), signed on the calling thread: what the
/// signature benches feed both sides, new every iteration so that no sender key is cached.
pub fn encoded_from_new_senders(n: u64, seed: u64) -> Vec<Bytes> {
    txs_on_this_thread(n, 1, seed).iter().map(|t| t.encoded().clone()).collect()
}

/// The senders' keys and, per tx, (sender index, nonce, fee).
fn tx_plan(senders: u64, nonces: u64, seed: u64) -> (Vec<Keypair>, Vec<(usize, u64, u64)>) {
    let keys: Vec<Keypair> = (0..senders)
        .map(|i| {
            let mut s = [0u8; 32];
            s[..8].copy_from_slice(&(i + (seed << 32)).to_le_bytes());
            Keypair::from_seed(s)
        })
        .collect();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let plan = (0..nonces)
        .flat_map(|n| (0..senders as usize).map(move |k| (k, n)))
        .map(|(k, n)| (k, n, rng.gen_range(1..1000)))
        .collect();
    (keys, plan)
}

fn sign(keys: &[Keypair], (k, nonce, fee): (usize, u64, u64)) -> VerifiedTx {
    TxBody {
        chain_id: "cairn-local".into(),
        sender: keys[k].address(),
        nonce,
        fee,
        action: TxAction::Transfer(Transfer { recipient: Address([7; 32]), amount: 1 }),
    }
    .sign(&keys[k])
}

/// One batch-verification input per tx, as the ed25519 batch verifier takes them (public keys
/// as bytes: decompressing them is part of verifying a tx from the wire, and the batch
/// verifier does it itself).
pub struct RawBatchInputs {
    msgs: Vec<Vec<u8>>,
    sigs: Vec<ed25519_zebra::Signature>,
    keys: Vec<[u8; 32]>,
}

impl RawBatchInputs {
    pub fn of(raw: &[Bytes]) -> Self {
        let unchecked: Vec<UncheckedTx> =
            raw.iter().map(|r| UncheckedTx::decode(r.clone()).expect("decodes")).collect();
        RawBatchInputs {
            msgs: unchecked.iter().map(|u| SignatureDomain::Tx.message(&u.body_bytes)).collect(),
            sigs: unchecked.iter().map(|u| ed25519_zebra::Signature::from_bytes(&u.signature.0)).collect(),
            keys: unchecked.iter().map(|u| u.body.sender.0).collect(),
        }
    }

    /// The baseline: `ed25519_zebra::batch::Verifier` (the ZIP-215 equation the node uses) on
    /// rayon chunks of the mempool's size, without the node's decoding, checks and admission.
    pub fn verify(&self) -> bool {
        let chunks = self.msgs.par_chunks(VERIFY_CHUNK).zip(self.sigs.par_chunks(VERIFY_CHUNK));
        chunks.zip(self.keys.par_chunks(VERIFY_CHUNK)).all(|((msgs, sigs), keys)| zebra_batch(msgs, sigs, keys))
    }

    /// All of them as one `ed25519_zebra` batch, on the calling thread.
    pub fn verify_as_one_batch(&self) -> bool {
        zebra_batch(&self.msgs, &self.sigs, &self.keys)
    }
}

fn zebra_batch(msgs: &[Vec<u8>], sigs: &[ed25519_zebra::Signature], keys: &[[u8; 32]]) -> bool {
    let mut batch = ed25519_zebra::batch::Verifier::new();
    for ((m, s), k) in msgs.iter().zip(sigs).zip(keys) {
        batch.queue((ed25519_zebra::VerificationKeyBytes::from(*k), *s, m.as_slice()));
    }
    batch.verify(rand::thread_rng()).is_ok()
}
