//! `cairn query account --prove` trusts only the genesis validators: against an honest node it
//! verifies (a funded account and an existing empty one as present, an unknown address as
//! absent), and against a proxy that alters the account or the certified header it refuses
//! with a clear message. (Across validator-set changes, and a proxy lying about a set:
//! `staking.rs`.)
use crate::net::{bin, LocalNet};
use cairn_load::RpcClient;
use cairn_proto::{Address, Keypair, Transfer, TxAction, TxBody};
use jsonrpsee::server::{RpcModule, Server};
use jsonrpsee::types::{ErrorObjectOwned, Params};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the proxy falsifies.
#[derive(Clone, Copy)]
pub enum Lie {
    Balance,
    HeaderStateRoot,
    /// One more power for the first validator of every set it reports (seen by a client only
    /// when it follows a set change: `staking.rs`).
    ValidatorPower,
}

/// A JSON-RPC server in front of `upstream` that tells `lie`; its URL and handle.
pub async fn proxy(upstream: RpcClient, lie: Lie) -> (String, jsonrpsee::server::ServerHandle) {
    let server = Server::builder().build("127.0.0.1:0").await.unwrap();
    let addr = server.local_addr().unwrap();
    let mut module = RpcModule::new((upstream, lie));
    for method in ["state_getAccount", "chain_getBlock", "chain_getValidators"] {
        module
            .register_async_method(method, move |params: Params<'static>, ctx: Arc<(RpcClient, Lie)>, _| async move {
                let args: Vec<Value> = params.parse().unwrap_or_default();
                let mut v: Value = ctx
                    .0
                    .call(method, args)
                    .await
                    .map_err(|e| ErrorObjectOwned::owned(-32603, e.to_string(), None::<()>))?;
                match (method, ctx.1) {
                    ("state_getAccount", Lie::Balance) => {
                        v["balance"] = Value::from(v["balance"].as_u64().unwrap() + 1)
                    }
                    ("chain_getBlock", Lie::HeaderStateRoot) if !v.is_null() => {
                        v["header"]["state_root"] = Value::from("ab".repeat(32))
                    }
                    ("chain_getValidators", Lie::ValidatorPower) => {
                        v[0]["power"] = Value::from(v[0]["power"].as_u64().unwrap() + 1)
                    }
                    _ => {}
                }
                Ok::<Value, ErrorObjectOwned>(v)
            })
            .unwrap();
    }
    (format!("http://{addr}"), server.start(module))
}

/// `cairn query account ADDRESS --prove --genesis node0/genesis.json --rpc RPC`: (success, stderr).
pub async fn query_prove(ln: &LocalNet, rpc: &str, address: &str) -> (bool, String) {
    let out = tokio::process::Command::new(bin())
        .args(["query", "account", address, "--prove", "--genesis"])
        .arg(ln.dir.path().join("node0/genesis.json"))
        .args(["--rpc", rpc])
        .output()
        .await
        .unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into())
}

/// Makes `to` an account holding balance 0 and nonce 0: a transfer of amount 0 to it.
async fn create_empty_account(ln: &LocalNet, from: &Keypair, to: Address) {
    let c = ln.client(0);
    let nonce = c.account(&from.address().to_hex()).await.unwrap().nonce;
    let tx = TxBody {
        chain_id: "cairn-local".into(),
        sender: from.address(),
        nonce,
        fee: 1,
        action: TxAction::Transfer(Transfer { recipient: to, amount: 0 }),
    }
    .sign(from);
    let r: Value = c.call("tx_submit", vec![json!(hex::encode(tx.encoded()))]).await.unwrap();
    assert_eq!(r["hash"], json!(tx.hash().to_hex()));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let st: Value = c.call("tx_get", vec![json!(tx.hash().to_hex())]).await.unwrap();
        if st["status"] == "committed" {
            assert_eq!(st["success"], json!(true), "{st}");
            return;
        }
        assert!(Instant::now() < deadline, "the zero-amount transfer did not commit: {st}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub async fn lying_servers_are_caught(ln: &LocalNet) {
    let accounts = cairn_testnet::read_accounts(&ln.accounts_file()).unwrap();
    let addr = accounts[0].address.to_hex();
    let (ok, err) = query_prove(ln, &ln.rpc_url(0), &addr).await;
    assert!(ok, "an honest node's proof must verify: {err}");
    assert!(err.contains("account present"), "{err}");
    let absent = "ee".repeat(32);
    let (ok, err) = query_prove(ln, &ln.rpc_url(0), &absent).await;
    assert!(ok, "an honest node's proof of absence must verify: {err}");
    assert!(err.contains("account absent"), "{err}");
    // An account that exists with balance 0 and nonce 0 is proven present, not "absent".
    let empty = Address([0x42; 32]);
    create_empty_account(ln, &accounts[14].keypair().unwrap(), empty).await;
    let (ok, err) = query_prove(ln, &ln.rpc_url(0), &empty.to_hex()).await;
    assert!(ok, "an honest node's proof of an existing empty account must verify: {err}");
    assert!(err.contains("account present"), "{err}");
    for (lie, expect) in
        [(Lie::Balance, "merkle proof does not verify"), (Lie::HeaderStateRoot, "is not for its header")]
    {
        let (url, handle) = proxy(ln.client(0), lie).await;
        let (ok, err) = query_prove(ln, &url, &addr).await;
        assert!(!ok, "a lying server was believed");
        assert!(err.contains(expect), "expected {expect:?}, got: {err}");
        handle.stop().unwrap();
    }
}
