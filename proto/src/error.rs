//! Typed errors for decoding untrusted bytes and for signature checks.
use thiserror::Error;

/// Why bytes from outside could not be turned into a protocol value. Decoding never panics.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    #[error("invalid protobuf: {0}")]
    Protobuf(String),
    #[error("field `{field}` must be {expected} bytes, got {got}")]
    WrongLength { field: &'static str, expected: usize, got: usize },
    #[error("field `{0}` is missing")]
    Missing(&'static str),
    #[error("{0} is {1} bytes, more than the limit of {2}")]
    TooLarge(&'static str, usize, usize),
    #[error("invalid hex: {0}")]
    Hex(String),
    #[error("invalid value for `{field}`: {reason}")]
    Invalid { field: &'static str, reason: String },
}

impl From<prost::DecodeError> for DecodeError {
    fn from(e: prost::DecodeError) -> Self {
        DecodeError::Protobuf(e.to_string())
    }
}

/// Why a signature, or a certificate made of signatures, did not check.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum VerifyError {
    #[error("invalid signature")]
    BadSignature,
    #[error("{0} is not a valid ed25519 public key")]
    BadPublicKey(String),
    #[error("{0} is not in the validator set")]
    UnknownValidator(String),
    #[error("validator {0} signed twice in one certificate")]
    DuplicateSigner(String),
    #[error("certificate has {got} voting power, needs more than {needed}")]
    NoQuorum { got: u64, needed: u64 },
    #[error("certificate is for {got}, expected {expected}")]
    Mismatch { expected: String, got: String },
}
