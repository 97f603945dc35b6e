//! Blocks and headers. A `Block` only ever holds verified transactions: decoding one from the
//! wire checks every signature not already known to this node.
use crate::{merkle_root, pb, Address, Certificate, DecodeError, Hash, UncheckedTx, VerifiedTx, VerifyError};
use bytes::Bytes;
use prost::Message;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub chain_id: String,
    pub height: u64,
    pub parent_hash: Hash,
    pub timestamp_ms: u64,
    pub proposer: Address,
    pub tx_root: Hash,
    /// State root after executing the parent block (execution is deferred by one block).
    pub state_root: Hash,
    pub tx_count: u32,
    /// Hash of the validator set that signs the next block (`ValidatorSet::hash`): the light
    /// client's link from one set to the next (proto/README.md "Staking").
    pub next_validators_hash: Hash,
}

impl Header {
    pub fn to_pb(&self) -> pb::Header {
        pb::Header {
            chain_id: self.chain_id.clone(),
            height: self.height,
            parent_hash: Bytes::copy_from_slice(&self.parent_hash.0),
            timestamp_ms: self.timestamp_ms,
            proposer: Bytes::copy_from_slice(&self.proposer.0),
            tx_root: Bytes::copy_from_slice(&self.tx_root.0),
            state_root: Bytes::copy_from_slice(&self.state_root.0),
            tx_count: self.tx_count,
            next_validators_hash: Bytes::copy_from_slice(&self.next_validators_hash.0),
        }
    }

    pub fn from_pb(h: pb::Header) -> Result<Self, DecodeError> {
        Ok(Header {
            chain_id: h.chain_id,
            height: h.height,
            parent_hash: Hash::from_slice(&h.parent_hash)?,
            timestamp_ms: h.timestamp_ms,
            proposer: Address::from_slice(&h.proposer)?,
            tx_root: Hash::from_slice(&h.tx_root)?,
            state_root: Hash::from_slice(&h.state_root)?,
            tx_count: h.tx_count,
            next_validators_hash: Hash::from_slice(&h.next_validators_hash)?,
        })
    }

    /// The block hash: blake3 of the encoded header.
    pub fn hash(&self) -> Hash {
        Hash::of(&self.to_pb().encode_to_vec())
    }
}

/// Why a block from the wire was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    #[error("block does not decode: {0}")]
    Decode(#[from] DecodeError),
    #[error("transaction {index} has a bad signature: {source}")]
    BadTx { index: usize, source: VerifyError },
    #[error("header says {header} txs, block has {actual}")]
    TxCount { header: u32, actual: usize },
    #[error("tx_root {got} does not match the transactions ({expected})")]
    TxRoot { expected: Hash, got: Hash },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    pub header: Header,
    pub txs: Vec<VerifiedTx>,
}

impl Block {
    /// Builds a block over `txs`, filling in `tx_root` and `tx_count`.
    pub fn new(mut header: Header, txs: Vec<VerifiedTx>) -> Self {
        header.tx_root = merkle_root(&txs.iter().map(VerifiedTx::hash).collect::<Vec<_>>());
        header.tx_count = txs.len() as u32;
        Block { header, txs }
    }

    pub fn hash(&self) -> Hash {
        self.header.hash()
    }

    pub fn to_pb(&self) -> pb::Block {
        pb::Block { header: Some(self.header.to_pb()), txs: self.txs.iter().map(|t| t.encoded().clone()).collect() }
    }

    /// Decodes a wire block, taking already-verified txs from `known` (e.g. the mempool) and
    /// batch-verifying the rest; checks `tx_count` and `tx_root`.
    pub fn from_pb(b: pb::Block, known: impl Fn(&Hash) -> Option<VerifiedTx>) -> Result<Self, BlockError> {
        Self::from_pb_with(b, |tx| known(&tx.hash))
    }

    /// Decodes a block read back from this node's own database: its signatures were checked
    /// before it was stored, so only the structure and `tx_root` are checked again.
    pub fn from_trusted_pb(b: pb::Block) -> Result<Self, BlockError> {
        Self::from_pb_with(b, |tx| Some(VerifiedTx::from_trusted_storage(tx.clone())))
    }

    fn from_pb_with(b: pb::Block, known: impl Fn(&UncheckedTx) -> Option<VerifiedTx>) -> Result<Self, BlockError> {
        let header = Header::from_pb(b.header.ok_or(DecodeError::Missing("header"))?)?;
        if header.tx_count as usize != b.txs.len() {
            return Err(BlockError::TxCount { header: header.tx_count, actual: b.txs.len() });
        }
        let mut txs: Vec<Option<VerifiedTx>> = Vec::with_capacity(b.txs.len());
        let mut unknown = Vec::new();
        let mut unknown_at = Vec::new();
        for (i, raw) in b.txs.into_iter().enumerate() {
            let tx = UncheckedTx::decode(raw)?;
            match known(&tx) {
                Some(v) => txs.push(Some(v)),
                None => {
                    txs.push(None);
                    unknown.push(tx);
                    unknown_at.push(i);
                }
            }
        }
        for (res, i) in UncheckedTx::verify_many(unknown).into_iter().zip(unknown_at) {
            txs[i] = Some(res.map_err(|source| BlockError::BadTx { index: i, source })?);
        }
        let txs: Vec<VerifiedTx> = txs.into_iter().flatten().collect();
        let expected = merkle_root(&txs.iter().map(VerifiedTx::hash).collect::<Vec<_>>());
        if expected != header.tx_root {
            return Err(BlockError::TxRoot { expected, got: header.tx_root });
        }
        Ok(Block { header, txs })
    }

    pub fn decode(bytes: Bytes, known: impl Fn(&Hash) -> Option<VerifiedTx>) -> Result<Self, BlockError> {
        Block::from_pb(pb::Block::decode(bytes).map_err(DecodeError::from)?, known)
    }
}

/// A decided block with the certificate that proves it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertifiedBlock {
    pub block: Block,
    pub certificate: Certificate,
}

impl CertifiedBlock {
    pub fn to_pb(&self) -> pb::CertifiedBlock {
        pb::CertifiedBlock { block: Some(self.block.to_pb()), certificate: Some(self.certificate.to_pb()) }
    }

    pub fn from_pb(c: pb::CertifiedBlock, known: impl Fn(&Hash) -> Option<VerifiedTx>) -> Result<Self, BlockError> {
        let block = Block::from_pb(c.block.ok_or(DecodeError::Missing("block"))?, known)?;
        let certificate = Certificate::from_pb(c.certificate.ok_or(DecodeError::Missing("certificate"))?)?;
        Ok(CertifiedBlock { block, certificate })
    }

    /// Decodes a certified block from this node's own database (see `Block::from_trusted_pb`).
    pub fn from_trusted_pb(c: pb::CertifiedBlock) -> Result<Self, BlockError> {
        let block = Block::from_trusted_pb(c.block.ok_or(DecodeError::Missing("block"))?)?;
        let certificate = Certificate::from_pb(c.certificate.ok_or(DecodeError::Missing("certificate"))?)?;
        Ok(CertifiedBlock { block, certificate })
    }
}
