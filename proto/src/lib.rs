#![doc = include_str!("../README.md")]

mod account;
mod block;
mod bytes32;
pub mod config_serde;
mod crypto;
mod error;
mod genesis;
mod key_cache;
mod merkle;
mod reject;
pub mod staking;
mod tx;
mod validator;
mod vote;

/// The prost-generated wire types of package `cairn.v1` (and, with the `grpc` feature, the
/// tonic client and server of service `Node`).
#[allow(clippy::all, missing_docs)]
pub mod pb {
    include!(concat!(env!("OUT_DIR"), "/cairn.v1.rs"));
}

/// The encoded `FileDescriptorSet` of every `.proto` file, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/cairn_descriptor.bin"));

pub use account::Account;
pub use block::{Block, BlockError, CertifiedBlock, Header};
pub use bytes32::{Address, Hash};
pub use crypto::{signature_backend, verify_batch, verify_one, BatchItem, Keypair, Signature, SignatureDomain};
pub use error::{DecodeError, VerifyError};
pub use genesis::{Genesis, GenesisAccount, GenesisEntry, GenesisValidator};
pub use merkle::merkle_root;
pub use reject::{RejectReason, TxRejection};
pub use tx::{Stake, Transfer, TxAction, TxBody, Unbond, UncheckedTx, VerifiedTx, MIN_FEE, TX_SIGN_DOMAIN};
pub use validator::{Validator, ValidatorSet};
pub use vote::{
    pol_round_from_pb, Certificate, CommitSig, ConsensusMessage, DuplicateVoteEvidence, Proposal, Vote, VoteKind,
};
