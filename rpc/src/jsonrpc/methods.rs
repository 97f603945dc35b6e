//! The JSON-RPC methods of SPEC §4 (plus `chain_getEvidence`), each a thin translation of one
//! `NodeApi` call. RPC decides only what is about the request itself (hex, param shapes, batch
//! size); the node's mempool decides every transaction reason.
use super::json::{
    api_error, error_with_reason, invalid_params, malformed_hex, rejection_error, AccountJson, BlockJson, HashJson,
    SubmitJson, TxJson, TOO_MANY_SUBSCRIPTIONS_CODE,
};
use crate::api::NodeApi;
use crate::coalesce::Coalescer;
use crate::subscriptions::Subscriptions;
use bytes::Bytes;
use cairn_proto::{Address, Hash};
use jsonrpsee::core::server::{PendingSubscriptionSink, SubscriptionMessage, SubscriptionSink, TrySendError};
use jsonrpsee::core::SubscriptionError;
use jsonrpsee::server::RpcModule;
use jsonrpsee::types::{ErrorObjectOwned, Params};
use serde::Deserialize;
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;

/// Every method name served, for the metrics' `method` label (a fixed set, never user input).
pub const METHODS: &[&str] = &[
    "chain_status",
    "chain_getBlock",
    "chain_getValidators",
    "chain_getEvidence",
    "chain_subscribeNewHeads",
    "chain_unsubscribeNewHeads",
    "tx_submit",
    "tx_submitBatch",
    "tx_get",
    "state_getAccount",
    "mempool_status",
    "net_peers",
];

/// The notification method of `chain_subscribeNewHeads`.
pub const NEW_HEAD_NOTIFICATION: &str = "chain_newHead";

/// What the methods share: the node and the limits they enforce themselves.
pub struct Ctx {
    pub api: Arc<dyn NodeApi>,
    /// Single-tx submissions go through here, to reach the node in batches.
    pub singles: Coalescer,
    pub max_batch: usize,
    /// The node-wide cap on open subscriptions (jsonrpsee caps them per connection).
    pub subscriptions: Subscriptions,
}

/// Builds the module with every method registered.
pub fn module(ctx: Ctx) -> RpcModule<Ctx> {
    let mut m = RpcModule::new(ctx);
    register(&mut m).expect("method names are unique");
    m
}

fn register(m: &mut RpcModule<Ctx>) -> Result<(), jsonrpsee::core::RegisterMethodError> {
    m.register_method("chain_status", |_, ctx, _| ok(ctx.api.status()))?;
    // Block and account reads may hit the disk (and build a proof): they run on the blocking pool.
    m.register_blocking_method("chain_getBlock", |p, ctx, _| {
        let height = block_height(&p)?;
        ok(ctx.api.block(height).map(BlockJson::from))
    })?;
    m.register_method("chain_getValidators", |p, ctx, _| {
        let height = block_height(&p)?;
        ctx.api.validators(height).ok_or_else(|| {
            let which = height.map_or("the next height".to_string(), |h| format!("height {h}"));
            invalid_params(format!(
                "no validator set is known for {which}: sets are known from height 1 to two heights past the latest"
            ))
        })
    })?;
    m.register_method("chain_getEvidence", |_, ctx, _| ctx.api.evidence())?;
    m.register_method("mempool_status", |_, ctx, _| ok(ctx.api.mempool()))?;
    m.register_method("net_peers", |_, ctx, _| ctx.api.peers())?;
    m.register_method("tx_get", |p, ctx, _| -> Result<TxJson, ErrorObjectOwned> {
        let hash: Hash = parse_hex_param(&p, "hash")?;
        Ok(TxJson::new(hash, ctx.api.tx(&hash)))
    })?;
    m.register_blocking_method("state_getAccount", |p, ctx, _| -> Result<AccountJson, ErrorObjectOwned> {
        let mut seq = p.sequence();
        let address: String = seq.next()?;
        let address: Address = address.parse().map_err(|e| invalid_params(format!("address: {e}")))?;
        let opts: AccountOpts = seq.optional_next()?.unwrap_or_default();
        let info = ctx.api.account(&address, opts.height, opts.prove).map_err(api_error)?;
        Ok(AccountJson::from(info))
    })?;
    m.register_async_method("tx_submit", |p, ctx, _| tx_submit(p, ctx))?;
    m.register_async_method("tx_submitBatch", |p, ctx, _| tx_submit_batch(p, ctx))?;
    m.register_subscription(
        "chain_subscribeNewHeads",
        NEW_HEAD_NOTIFICATION,
        "chain_unsubscribeNewHeads",
        |_, pending, ctx, _| new_heads(pending, ctx),
    )?;
    Ok(())
}

async fn tx_submit(p: Params<'static>, ctx: Arc<Ctx>) -> Result<HashJson, ErrorObjectOwned> {
    let tx = decode_tx(&p.one::<String>()?)?;
    match ctx.singles.submit(tx).await {
        Some(Ok(hash)) => Ok(HashJson { hash }),
        Some(Err(rej)) => Err(rejection_error(&rej)),
        None => Err(no_result()),
    }
}

async fn tx_submit_batch(p: Params<'static>, ctx: Arc<Ctx>) -> Result<Vec<SubmitJson>, ErrorObjectOwned> {
    let hexes: Vec<String> = p.one()?;
    if hexes.len() > ctx.max_batch {
        return Err(invalid_params(format!("{} transactions, more than max_batch {}", hexes.len(), ctx.max_batch)));
    }
    Ok(submit_batch(&*ctx.api, &hexes).await)
}

async fn new_heads(pending: PendingSubscriptionSink, ctx: Arc<Ctx>) -> Result<(), SubscriptionError> {
    let _slot = match ctx.subscriptions.take(None) {
        Ok(slot) => slot,
        Err(why) => {
            pending.reject(error_with_reason(TOO_MANY_SUBSCRIPTIONS_CODE, why, "too_many_subscriptions")).await;
            return Ok(());
        }
    };
    let rx = ctx.api.subscribe_heads();
    let sink = pending.accept().await?;
    forward_heads(rx, sink).await
}

/// The node answered a batch with fewer results than txs (a node bug, reported as such).
fn no_result() -> ErrorObjectOwned {
    error_with_reason(
        jsonrpsee::types::error::INTERNAL_ERROR_CODE,
        "the node returned no result for this tx",
        "internal",
    )
}

/// A successful result (jsonrpsee answers `Result`s, not bare structs).
fn ok<T>(v: T) -> Result<T, ErrorObjectOwned> {
    Ok(v)
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountOpts {
    #[serde(default)]
    height: Option<u64>,
    #[serde(default)]
    prove: bool,
}

/// `[height]`, `["latest"]`, `[null]` or `[]`; `None` means latest.
fn block_height(p: &Params) -> Result<Option<u64>, ErrorObjectOwned> {
    match p.sequence().optional_next::<serde_json::Value>()? {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) if s == "latest" => Ok(None),
        Some(serde_json::Value::Number(n)) if n.as_u64().is_some() => Ok(n.as_u64()),
        Some(other) => Err(invalid_params(format!("height must be a non-negative integer or \"latest\", got {other}"))),
    }
}

fn parse_hex_param<T: std::str::FromStr<Err = cairn_proto::DecodeError>>(
    p: &Params,
    what: &str,
) -> Result<T, ErrorObjectOwned> {
    let s: String = p.sequence().next()?;
    s.parse().map_err(|e| invalid_params(format!("{what}: {e}")))
}

/// Hex (a `0x` prefix is tolerated) to bytes; anything else is `malformed_tx`.
fn decode_tx(s: &str) -> Result<Bytes, ErrorObjectOwned> {
    hex::decode(s.strip_prefix("0x").unwrap_or(s)).map(Bytes::from).map_err(malformed_hex)
}

/// Decodes every element, submits the well-formed ones in one call, and answers in input order.
async fn submit_batch(api: &dyn NodeApi, hexes: &[String]) -> Vec<SubmitJson> {
    let decoded: Vec<Result<Bytes, ErrorObjectOwned>> = hexes.iter().map(|h| decode_tx(h)).collect();
    let good: Vec<Bytes> = decoded.iter().filter_map(|d| d.as_ref().ok().cloned()).collect();
    let mut results = api.submit(good).await.into_iter();
    decoded
        .into_iter()
        .map(|d| match d {
            Ok(_) => results.next().map_or_else(|| SubmitJson::Err { error: no_result() }, SubmitJson::from),
            Err(error) => SubmitJson::Err { error },
        })
        .collect()
}

/// Pushes each finalized head to one subscriber. The connection's buffer is bounded
/// (`ws_buffer`); a subscriber that lets it fill, or that falls behind the node's broadcast,
/// is closed with an error notification instead of being buffered without bound.
async fn forward_heads(
    mut rx: tokio::sync::broadcast::Receiver<crate::api::NewHead>,
    mut sink: SubscriptionSink,
) -> Result<(), SubscriptionError> {
    loop {
        let head = tokio::select! {
            _ = sink.closed() => return Ok(()),
            r = rx.recv() => r,
        };
        match head {
            Ok(head) => {
                let msg = SubscriptionMessage::from(serde_json::value::to_raw_value(&head)?);
                match sink.try_send(msg) {
                    Ok(()) => {}
                    Err(TrySendError::Full(_)) => return Err(slow("its buffer is full")),
                    Err(TrySendError::Closed(_)) => return Ok(()),
                }
            }
            Err(RecvError::Lagged(n)) => return Err(slow(&format!("it missed {n} heads"))),
            Err(RecvError::Closed) => return Ok(()),
        }
    }
}

fn slow(why: &str) -> SubscriptionError {
    let err = error_with_reason(-32006, format!("subscription closed: subscriber too slow, {why}"), "slow_subscriber");
    match serde_json::value::to_raw_value(&err) {
        Ok(raw) => SubscriptionError::from_json(raw),
        Err(e) => SubscriptionError::from(e),
    }
}
