//! `cairn query status|block|tx|account`, and the trust-nothing check of `account --prove`.
use crate::cli::QueryWhat;
use crate::home::Home;
use anyhow::{bail, ensure, Context, Result};
use cairn_engine::light::LightChain;
use cairn_load::RpcClient;
use cairn_proto::{Account, Address, Certificate, Genesis, Hash, Header, Validator, ValidatorSet};
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};

pub async fn run(rpc: &str, what: QueryWhat) -> Result<()> {
    let client = RpcClient::new(rpc)?;
    let out: Value = match what {
        QueryWhat::Status => client.call("chain_status", vec![]).await?,
        QueryWhat::Block { height } => {
            let p =
                if height == "latest" { json!("latest") } else { json!(height.parse::<u64>().context("height")?) };
            client.call("chain_getBlock", vec![p]).await?
        }
        QueryWhat::Tx { hash } => client.call("tx_get", vec![json!(hash)]).await?,
        QueryWhat::Account { address, prove, genesis, height } => {
            let mut opts = json!({"prove": prove});
            if let Some(h) = height {
                opts["height"] = json!(h);
            }
            let acc: Value = client.call("state_getAccount", vec![json!(address), opts]).await?;
            if prove {
                let genesis = match genesis {
                    Some(path) => load_genesis(&path)?,
                    None => bail!("--prove needs --genesis FILE: the validator set to check the certificate against"),
                };
                let verified = verify_account(&client, &genesis, &address, &acc).await?;
                let proven = match verified.proven {
                    cairn_state::Proven::Present => "present with these values",
                    cairn_state::Proven::Absent => "absent (a proof of absence)",
                };
                eprintln!("verified: account {proven}; {}", proven_how(&verified));
            }
            acc
        }
    };
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

fn load_genesis(path: &Path) -> Result<Genesis> {
    if path.is_dir() {
        return Home(path.to_path_buf()).load_genesis();
    }
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Genesis::from_json(&text).map_err(anyhow::Error::msg)
}

/// What `--prove` established, for the closing line.
struct Verified {
    proven: cairn_state::Proven,
    /// The height of the certifying block, and the set changes followed to reach it.
    certified_at: u64,
    transitions: u64,
}

fn proven_how(v: &Verified) -> String {
    format!(
        "proof against the state root certified by >2/3 of the validators of block {}, whose set was followed \
         from genesis through every block ({} set changes)",
        v.certified_at, v.transitions
    )
}

/// Checks, trusting only the genesis validators: (1) every block up to h+1 is certified by more
/// than 2/3 of the set its parent named, starting from the genesis set (`cairn_engine::light`),
/// (2) block h+1's header commits to the state root after h (execution is deferred by one
/// block), (3) the merkle proof shows this account with these values, or — for zero values
/// only — its absence, under that root.
async fn verify_account(client: &RpcClient, genesis: &Genesis, address: &str, acc: &Value) -> Result<Verified> {
    let addr: Address = address.parse().map_err(|e| anyhow::anyhow!("address: {e}"))?;
    let height = acc["height"].as_u64().context("reply has no height")?;
    let root: Hash = serde_json::from_value(acc["state_root"].clone()).context("reply has no state_root")?;
    let proof = proof_from_json(&acc["proof"]).context("reply has no valid proof")?;
    let staking = |field: &str| acc[field].as_u64().unwrap_or(0);
    let account = Account {
        balance: acc["balance"].as_u64().context("balance")?,
        nonce: acc["nonce"].as_u64().context("nonce")?,
        bonded: staking("bonded"),
        unbonding: staking("unbonding"),
        release_height: staking("release_height"),
    };
    // The certifying block may not be finalized yet: wait for it a little.
    let deadline = Instant::now() + Duration::from_secs(20);
    while client.block(height + 1).await?.is_none() {
        ensure!(Instant::now() < deadline, "block {} that certifies height {height} did not appear", height + 1);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let genesis_set = genesis.validator_set().map_err(anyhow::Error::msg)?;
    let mut light = LightChain::from_genesis(&genesis.chain_id, genesis_set);
    let header = follow_sets(client, &mut light, height + 1).await?;
    ensure!(
        header.state_root == root,
        "certified state root {} differs from the proof's root {root} (lying server?)",
        header.state_root
    );
    let proven = cairn_state::verify_account_proof(&root, &addr, &account, &proof)
        .map_err(|e| anyhow::anyhow!("the merkle proof does not verify: {e}"))?;
    Ok(Verified { proven, certified_at: height + 1, transitions: light.transitions() })
}

/// Blocks fetched ahead of the one being verified (they are checked in order).
const FETCH_AHEAD: usize = 16;

/// Verifies blocks `light.height()..=upto` in order, fetching the full set from the server
/// whenever a header names a new one; returns the verified header of `upto`.
async fn follow_sets(client: &RpcClient, light: &mut LightChain, upto: u64) -> Result<Header> {
    use futures::StreamExt;
    let fetch = |h: u64| async move {
        let block = client.block(h).await?.with_context(|| format!("the server has no block {h}"))?;
        let header: Header = serde_json::from_value(block["header"].clone())
            .with_context(|| format!("block {h}'s header is malformed"))?;
        let cert: Certificate = serde_json::from_value(block["commit"].clone())
            .with_context(|| format!("block {h}'s commit is malformed"))?;
        anyhow::Ok((header, cert))
    };
    let mut blocks = futures::stream::iter(light.height()..=upto).map(fetch).buffered(FETCH_AHEAD);
    while let Some(block) = blocks.next().await {
        let (header, cert) = block?;
        light.verify(&header, &cert).map_err(|e| anyhow::anyhow!("{e} (lying server?)"))?;
        if header.height == upto {
            return Ok(header);
        }
        let next = if light.needs_set(&header) { Some(validator_set(client, header.height + 1).await?) } else { None };
        light.advance(&header, next).map_err(|e| anyhow::anyhow!("{e} (lying server?)"))?;
    }
    bail!("the server stopped before block {upto}")
}

/// The set that signs `height`, as the server states it (`chain_getValidators`).
async fn validator_set(client: &RpcClient, height: u64) -> Result<ValidatorSet> {
    let list: Vec<Validator> = serde_json::from_value(client.call("chain_getValidators", vec![json!(height)]).await?)
        .with_context(|| format!("the validator set of height {height} is malformed"))?;
    ValidatorSet::new(list).map_err(|e| anyhow::anyhow!("the validator set of height {height}: {e}"))
}

/// The JSON-RPC proof (`{siblings: [hex], other_leaf_key?, other_leaf_value_hash?}`).
fn proof_from_json(v: &Value) -> Result<cairn_state::AccountProof> {
    let bytes = |v: &Value| -> Result<bytes::Bytes> {
        Ok(hex::decode(v.as_str().unwrap_or_default()).context("proof field is not hex")?.into())
    };
    let siblings =
        v["siblings"].as_array().context("proof.siblings missing")?.iter().map(bytes).collect::<Result<_>>()?;
    let pb = cairn_proto::pb::AccountProof {
        siblings,
        other_leaf_key: bytes(&v["other_leaf_key"])?,
        other_leaf_value_hash: bytes(&v["other_leaf_value_hash"])?,
    };
    cairn_state::AccountProof::from_pb(pb).map_err(|e| anyhow::anyhow!("malformed proof: {e}"))
}
