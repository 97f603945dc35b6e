#![doc = include_str!("../README.md")]

pub mod mempool_fixtures;

use cairn_proto::{Address, Keypair, Transfer, TxAction, TxBody, VerifiedTx};
use rayon::prelude::*;

/// `n` signed transfers from `senders` distinct accounts (round-robin, consecutive nonces),
/// signed in parallel, for benches that need realistic transactions.
pub fn signed_transfers(chain_id: &str, n: usize, senders: usize) -> Vec<VerifiedTx> {
    let keys: Vec<Keypair> = (0..senders).map(|i| Keypair::from_seed(seed(i))).collect();
    (0..n)
        .into_par_iter()
        .map(|i| {
            let k = &keys[i % senders];
            TxBody {
                chain_id: chain_id.to_string(),
                sender: k.address(),
                nonce: (i / senders) as u64,
                fee: 1 + (i % 7) as u64,
                action: TxAction::Transfer(Transfer { recipient: Address(seed(i + 1_000_000)), amount: 1 }),
            }
            .sign(k)
        })
        .collect()
}

/// A deterministic 32-byte seed for account `i`.
pub fn seed(i: usize) -> [u8; 32] {
    *blake3::hash(&(i as u64).to_le_bytes()).as_bytes()
}
