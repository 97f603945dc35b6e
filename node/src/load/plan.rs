//! Pre-signs the whole run before the clock starts: tx `i` is sent by account `i mod N` with
//! that account's next nonce, to the next account, so signing is never on the timed path.
use crate::client::RpcClient;
use anyhow::Result;
use cairn_proto::{Keypair, Transfer, TxAction, TxBody, VerifiedTx};
use cairn_testnet::TestAccount;
use futures::stream::{self, StreamExt};

/// Reads every account's current nonce (32 requests in flight).
pub async fn current_nonces(client: &RpcClient, accounts: &[TestAccount]) -> Result<Vec<u64>> {
    let replies: Vec<Result<u64>> = stream::iter(accounts.iter())
        .map(|a| async move { Ok(client.account(&a.address.to_hex()).await?.nonce) })
        .buffered(32)
        .collect()
        .await;
    replies.into_iter().collect()
}

/// `count` signed transfers, in send order, spread over the accounts round-robin.
pub fn sign_all(chain_id: &str, keys: &[Keypair], nonces: &[u64], count: usize, fee: u64) -> Vec<VerifiedTx> {
    let n = keys.len();
    let sign = |i: usize| {
        let (a, round) = (i % n, (i / n) as u64);
        TxBody {
            chain_id: chain_id.to_string(),
            sender: keys[a].address(),
            nonce: nonces[a] + round,
            fee,
            action: TxAction::Transfer(Transfer { recipient: keys[(a + 1) % n].address(), amount: 1 }),
        }
        .sign(&keys[a])
    };
    use rayon::prelude::*;
    (0..count).into_par_iter().map(sign).collect()
}
