//! `cairn tx transfer|stake|unbond`: build, sign and submit a transaction; optionally wait for
//! finality.
use crate::cli::{TxArgs, TxCommand};
use crate::home::read_key;
use anyhow::{bail, Context, Result};
use cairn_load::RpcClient;
use cairn_proto::{Address, Stake, Transfer, TxAction, TxBody, Unbond};
use serde_json::Value;
use std::time::{Duration, Instant};

pub async fn run(command: TxCommand) -> Result<()> {
    match command {
        TxCommand::Transfer { common, to, amount } => {
            let recipient: Address = to.parse().map_err(|e| anyhow::anyhow!("--to: {e}"))?;
            submit(common, TxAction::Transfer(Transfer { recipient, amount })).await
        }
        TxCommand::Stake { common, amount } => submit(common, TxAction::Stake(Stake { amount })).await,
        TxCommand::Unbond { common, amount } => submit(common, TxAction::Unbond(Unbond { amount })).await,
    }
}

/// Signs `action` with the sender's key (reading the chain id and nonce over RPC unless given),
/// submits it and prints its hash; with `--wait`, returns once it is finalized.
async fn submit(a: TxArgs, action: TxAction) -> Result<()> {
    let key = read_key(&a.key)?;
    let client = RpcClient::new(&a.rpc)?;
    let chain_id = match a.chain_id {
        Some(c) => c,
        None => client.status().await?.chain_id,
    };
    let nonce = match a.nonce {
        Some(n) => n,
        None => client.account(&key.address().to_hex()).await?.nonce,
    };
    let tx = TxBody { chain_id, sender: key.address(), nonce, fee: a.fee, action }.sign(&key);
    let reply: Value = client.call("tx_submit", vec![Value::from(hex::encode(tx.encoded()))]).await?;
    let hash = reply["hash"].as_str().context("tx_submit returned no hash")?.to_string();
    println!("{hash}");
    if a.wait {
        wait_for_finality(&client, &hash).await?;
    }
    Ok(())
}

async fn wait_for_finality(client: &RpcClient, hash: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let st: Value = client.call("tx_get", vec![Value::from(hash)]).await?;
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
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("transaction {hash} not finalized within 60 s (status {})", st["status"]);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
