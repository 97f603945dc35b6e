//! Pre-signs the whole run before the clock starts: tx `i` is sent by account `i mod N` with
//! that account's next nonce, to the next account, so signing is never on the timed path.
use crate::client::RpcClient;
use crate::error::Result;
use cairn_proto::{Keypair, Transfer, TxAction, TxBody, VerifiedTx};
use cairn_testnet::TestAccount;
use futures::stream::{self, StreamExt};
use indicatif::ProgressBar;

/// Reads every account's current nonce (32 requests in flight).
pub async fn current_nonces(client: &RpcClient, accounts: &[TestAccount]) -> Result<Vec<u64>> {
    let replies: Vec<Result<u64>> = stream::iter(accounts.iter())
        .map(|a| async move { Ok(client.account(&a.address.to_hex()).await?.nonce) })
        .buffered(32)
        .collect()
        .await;
    replies.into_iter().collect()
}

/// `count` signed transfers, in send order, spread over the accounts round-robin; `progress`
/// counts the signed ones.
pub fn sign_all(
    chain_id: &str,
    keys: &[Keypair],
    nonces: &[u64],
    count: usize,
    fee: u64,
    progress: &ProgressBar,
) -> Vec<VerifiedTx> {
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
    // One bar step per tx: an atomic add and a clock read, next to ≈ 20 µs of signing.
    (0..count)
        .into_par_iter()
        .map(|i| {
            let tx = sign(i);
            progress.inc(1);
            tx
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_account_sends_its_next_nonces_in_turn_and_the_bar_counts_them_all() {
        let keys: Vec<_> = (0..3u8).map(|i| Keypair::from_seed([i + 1; 32])).collect();
        let progress = ProgressBar::hidden();
        let txs = sign_all("c", &keys, &[5, 0, 9], 1000, 2, &progress);
        assert_eq!(progress.position(), 1000);
        assert_eq!(txs.len(), 1000);
        for (i, tx) in txs.iter().enumerate() {
            let (a, round) = (i % 3, (i / 3) as u64);
            assert_eq!(tx.sender(), keys[a].address(), "tx {i}");
            assert_eq!(tx.nonce(), [5, 0, 9][a] + round, "tx {i}");
        }
    }
}
