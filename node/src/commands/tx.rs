//! `cairn tx transfer`: build, sign and submit a transfer; optionally wait for finality.
use crate::home::read_key;
use anyhow::{bail, Context, Result};
use cairn_load::RpcClient;
use cairn_proto::{Address, Transfer, TxAction, TxBody};
use serde_json::Value;
use std::time::{Duration, Instant};

pub struct TransferArgs<'a> {
    pub rpc: &'a str,
    pub key: &'a str,
    pub to: &'a str,
    pub amount: u64,
    pub fee: u64,
    pub nonce: Option<u64>,
    pub chain_id: Option<String>,
    pub wait: bool,
}

pub async fn transfer(a: TransferArgs<'_>) -> Result<()> {
    let key = read_key(a.key)?;
    let recipient: Address = a.to.parse().map_err(|e| anyhow::anyhow!("--to: {e}"))?;
    let client = RpcClient::new(a.rpc)?;
    let chain_id = match a.chain_id {
        Some(c) => c,
        None => client.status().await?.chain_id,
    };
    let nonce = match a.nonce {
        Some(n) => n,
        None => client.account(&key.address().to_hex()).await?.nonce,
    };
    let tx = TxBody {
        chain_id,
        sender: key.address(),
        nonce,
        fee: a.fee,
        action: TxAction::Transfer(Transfer { recipient, amount: a.amount }),
    }
    .sign(&key);
    let reply: Value = client.call("tx_submit", vec![Value::from(hex::encode(tx.encoded()))]).await?;
    let hash = reply["hash"].as_str().context("tx_submit returned no hash")?.to_string();
    println!("{hash}");
    if a.wait {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let st: Value = client.call("tx_get", vec![Value::from(hash.clone())]).await?;
            if st["status"] == "committed" {
                let ok = st["success"].as_bool().unwrap_or(false);
                eprintln!(
                    "finalized at height {} index {}{}",
                    st["height"],
                    st["index"],
                    if ok { String::new() } else { format!(", FAILED: {}", st["error"]) }
                );
                if !ok {
                    bail!("transaction {hash} failed at execution: {}", st["error"]);
                }
                break;
            }
            if Instant::now() > deadline {
                bail!("transaction {hash} not finalized within 60 s (status {})", st["status"]);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    Ok(())
}
