//! The JSON shapes of SPEC §4 and the JSON-RPC error objects. Field names here are the
//! contract: clients and `conformance.py` read exactly these.
use crate::api::{AccountInfo, ApiError, BlockInfo, TxStatus};
use cairn_proto::{pb, Address, Certificate, Hash, Header, RejectReason, TxRejection};
use jsonrpsee::types::ErrorObjectOwned;
use serde::Serialize;

/// JSON-RPC code for a call refused by the per-client rate limit (over HTTP with status 429).
pub const RATE_LIMITED_CODE: i32 = -32005;
/// JSON-RPC code for a call that ran past `request_timeout`.
pub const TIMEOUT_CODE: i32 = -32003;
/// JSON-RPC code for a well-formed query about something the node does not have.
pub const NOT_FOUND_CODE: i32 = -32001;
/// JSON-RPC code for a subscription refused because the node holds `max_subscriptions`.
pub const TOO_MANY_SUBSCRIPTIONS_CODE: i32 = -32007;

#[derive(Clone, Serialize)]
pub struct BlockJson {
    pub hash: Hash,
    /// All header fields (the SPEC's six plus `chain_id` and `tx_count`).
    pub header: Header,
    pub txs: Vec<Hash>,
    pub commit: Certificate,
}

impl From<BlockInfo> for BlockJson {
    fn from(b: BlockInfo) -> Self {
        BlockJson { hash: b.hash, header: b.header, txs: b.tx_hashes, commit: b.commit }
    }
}

#[derive(Clone, Serialize)]
pub struct HashJson {
    pub hash: Hash,
}

/// One element of a `tx_submitBatch` result: `{hash}` or `{error:{code, message, data}}`.
#[derive(Clone, Serialize)]
#[serde(untagged)]
pub enum SubmitJson {
    Ok { hash: Hash },
    Err { error: ErrorObjectOwned },
}

impl From<Result<Hash, TxRejection>> for SubmitJson {
    fn from(r: Result<Hash, TxRejection>) -> Self {
        match r {
            Ok(hash) => SubmitJson::Ok { hash },
            Err(e) => SubmitJson::Err { error: rejection_error(&e) },
        }
    }
}

#[derive(Clone, Serialize)]
pub struct TxJson {
    pub hash: Hash,
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub success: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl TxJson {
    pub fn new(hash: Hash, status: TxStatus) -> Self {
        let (status, height, index, success, error) = match status {
            TxStatus::Pending => ("pending", None, None, None, None),
            TxStatus::Unknown => ("unknown", None, None, None, None),
            TxStatus::Committed { height, index, success, error } => {
                ("committed", Some(height), Some(index), Some(success), error)
            }
        };
        TxJson { hash, status, height, index, success, error }
    }
}

/// A merkle proof with every byte string as lowercase hex.
#[derive(Clone, Serialize)]
pub struct ProofJson {
    pub siblings: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub other_leaf_key: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub other_leaf_value_hash: String,
}

impl From<&pb::AccountProof> for ProofJson {
    fn from(p: &pb::AccountProof) -> Self {
        ProofJson {
            siblings: p.siblings.iter().map(hex::encode).collect(),
            other_leaf_key: hex::encode(&p.other_leaf_key),
            other_leaf_value_hash: hex::encode(&p.other_leaf_value_hash),
        }
    }
}

#[derive(Clone, Serialize)]
pub struct AccountJson {
    pub address: Address,
    pub balance: u64,
    pub nonce: u64,
    /// Staking (proto/README.md "Staking"): omitted when zero, as for an account that never staked.
    #[serde(skip_serializing_if = "is_zero")]
    pub bonded: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub unbonding: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub release_height: u64,
    pub height: u64,
    pub state_root: Hash,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proof: Option<ProofJson>,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

impl From<AccountInfo> for AccountJson {
    fn from(a: AccountInfo) -> Self {
        AccountJson {
            address: a.address,
            balance: a.account.balance,
            nonce: a.account.nonce,
            bonded: a.account.bonded,
            unbonding: a.account.unbonding,
            release_height: a.account.release_height,
            height: a.height,
            state_root: a.state_root,
            proof: a.proof.as_ref().map(ProofJson::from),
        }
    }
}

/// An error object with `data: {"reason": reason}`.
pub fn error_with_reason(code: i32, message: impl Into<String>, reason: &str) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(code, message.into(), Some(serde_json::json!({ "reason": reason })))
}

/// A refused transaction: code 1001–1011, the mempool's message, `data.reason` = the name.
pub fn rejection_error(r: &TxRejection) -> ErrorObjectOwned {
    error_with_reason(r.reason.code(), r.message.clone(), r.reason.name())
}

/// A tx parameter that is not hex at all: `malformed_tx` (1001), decided here, not by the mempool.
pub fn malformed_hex(detail: impl std::fmt::Display) -> ErrorObjectOwned {
    rejection_error(&TxRejection::new(RejectReason::MalformedTx, format!("transaction is not hex: {detail}")))
}

/// -32602 with `data.reason = "invalid_params"`.
pub fn invalid_params(message: impl Into<String>) -> ErrorObjectOwned {
    error_with_reason(jsonrpsee::types::error::INVALID_PARAMS_CODE, message, "invalid_params")
}

pub fn api_error(e: ApiError) -> ErrorObjectOwned {
    match e {
        ApiError::NotFound(m) => error_with_reason(NOT_FOUND_CODE, m, "not_found"),
        ApiError::InvalidParams(m) => invalid_params(m),
        ApiError::Internal(m) => error_with_reason(jsonrpsee::types::error::INTERNAL_ERROR_CODE, m, "internal"),
    }
}
