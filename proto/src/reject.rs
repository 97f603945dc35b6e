//! Why a transaction was refused: the codes and reason names of SPEC §4, shared by the
//! mempool (which decides), the RPC servers (which report) and the load generator (which counts).
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    MalformedTx,
    InvalidSignature,
    WrongChainId,
    NonceTooLow,
    NonceTooHigh,
    InsufficientBalance,
    Duplicate,
    MempoolFull,
    TxTooLarge,
    FeeTooLow,
    SenderLimit,
}

impl RejectReason {
    pub const ALL: [RejectReason; 11] = [
        RejectReason::MalformedTx,
        RejectReason::InvalidSignature,
        RejectReason::WrongChainId,
        RejectReason::NonceTooLow,
        RejectReason::NonceTooHigh,
        RejectReason::InsufficientBalance,
        RejectReason::Duplicate,
        RejectReason::MempoolFull,
        RejectReason::TxTooLarge,
        RejectReason::FeeTooLow,
        RejectReason::SenderLimit,
    ];

    /// The JSON-RPC error code (SPEC §4).
    pub fn code(self) -> i32 {
        1001 + RejectReason::ALL.iter().position(|r| *r == self).expect("listed") as i32
    }

    /// The reason name, as in `data.reason` and the `reason` metric label.
    pub fn name(self) -> &'static str {
        match self {
            RejectReason::MalformedTx => "malformed_tx",
            RejectReason::InvalidSignature => "invalid_signature",
            RejectReason::WrongChainId => "wrong_chain_id",
            RejectReason::NonceTooLow => "nonce_too_low",
            RejectReason::NonceTooHigh => "nonce_too_high",
            RejectReason::InsufficientBalance => "insufficient_balance",
            RejectReason::Duplicate => "duplicate",
            RejectReason::MempoolFull => "mempool_full",
            RejectReason::TxTooLarge => "tx_too_large",
            RejectReason::FeeTooLow => "fee_too_low",
            RejectReason::SenderLimit => "sender_limit",
        }
    }

    pub fn from_code(code: i32) -> Option<Self> {
        RejectReason::ALL.iter().copied().find(|r| r.code() == code)
    }

    /// True for refusals that fill or overload the pool rather than fault the tx
    /// (gRPC RESOURCE_EXHAUSTED instead of INVALID_ARGUMENT).
    pub fn is_resource_exhausted(self) -> bool {
        matches!(self, RejectReason::MempoolFull | RejectReason::SenderLimit)
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A refused transaction: the reason and a message that says what was wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("{reason}: {message}")]
pub struct TxRejection {
    pub reason: RejectReason,
    pub message: String,
}

impl TxRejection {
    pub fn new(reason: RejectReason, message: impl Into<String>) -> Self {
        TxRejection { reason, message: message.into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_the_spec() {
        assert_eq!(RejectReason::MalformedTx.code(), 1001);
        assert_eq!(RejectReason::WrongChainId.code(), 1003);
        assert_eq!(RejectReason::NonceTooHigh.code(), 1005);
        assert_eq!(RejectReason::SenderLimit.code(), 1011);
        for r in RejectReason::ALL {
            assert_eq!(RejectReason::from_code(r.code()), Some(r));
            assert_eq!(serde_json::to_string(&r).unwrap(), format!("\"{}\"", r.name()));
        }
    }
}
