//! Why the mempool refused a transaction, with the numbers that explain it. Each variant maps to
//! one of SPEC §4's reasons; `TxRejection` (what RPC reports) is made from it.
use cairn_proto::{Address, DecodeError, Hash, RejectReason, TxRejection};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdmitError {
    #[error("cannot decode transaction: {source}")]
    Malformed {
        #[from]
        source: DecodeError,
    },
    #[error("transaction is {size} bytes, more than the limit of {max}")]
    TooLarge { size: usize, max: usize },
    #[error("chain id {got:?} is not this chain's {expected:?}")]
    WrongChainId { expected: String, got: String },
    #[error("fee {fee} is below this node's minimum fee {min} (every transaction pays a fee of at least 1)")]
    FeeTooLow { fee: u64, min: u64 },
    #[error("sender {sender} has no account: an address that was never funded cannot send")]
    UnknownSender { sender: Address },
    #[error("signature does not verify under sender {sender}")]
    InvalidSignature { sender: Address },
    #[error("nonce {nonce} is below the account nonce {account_nonce}")]
    NonceTooLow { nonce: u64, account_nonce: u64 },
    #[error("nonce {nonce} is not below account nonce {account_nonce} + window {window}")]
    NonceTooHigh { nonce: u64, account_nonce: u64, window: u64 },
    #[error("balance {balance} cannot pay {cost} on top of {pending} already pending")]
    InsufficientBalance { balance: u64, cost: u128, pending: u128 },
    #[error("transaction {hash} is already pending or recently committed")]
    Duplicate { hash: Hash },
    #[error("nonce {nonce} of {sender} is already pending with fee {pending_fee}; a replacement needs more than that")]
    NonceTaken { sender: Address, nonce: u64, pending_fee: u64 },
    #[error("mempool is full ({size} txs, {bytes} bytes) and holds no lower-fee transaction to evict")]
    Full { size: usize, bytes: usize },
    #[error("sender {sender} already has {limit} pending transactions")]
    SenderLimit { sender: Address, limit: usize },
}

impl AdmitError {
    /// The SPEC §4 reason (JSON-RPC code and metric label).
    pub fn reason(&self) -> RejectReason {
        match self {
            AdmitError::Malformed { .. } => RejectReason::MalformedTx,
            AdmitError::TooLarge { .. } => RejectReason::TxTooLarge,
            AdmitError::WrongChainId { .. } => RejectReason::WrongChainId,
            AdmitError::FeeTooLow { .. } => RejectReason::FeeTooLow,
            AdmitError::InvalidSignature { .. } => RejectReason::InvalidSignature,
            AdmitError::NonceTooLow { .. } => RejectReason::NonceTooLow,
            AdmitError::NonceTooHigh { .. } => RejectReason::NonceTooHigh,
            // SPEC §4 has no reason of its own for it: an absent account has balance 0.
            AdmitError::InsufficientBalance { .. } | AdmitError::UnknownSender { .. } => {
                RejectReason::InsufficientBalance
            }
            AdmitError::Duplicate { .. } | AdmitError::NonceTaken { .. } => RejectReason::Duplicate,
            AdmitError::Full { .. } => RejectReason::MempoolFull,
            AdmitError::SenderLimit { .. } => RejectReason::SenderLimit,
        }
    }
}

impl From<AdmitError> for TxRejection {
    fn from(e: AdmitError) -> Self {
        TxRejection::new(e.reason(), e.to_string())
    }
}
