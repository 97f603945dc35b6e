//! State sync's verifiable pieces: the accounts at a height, split into `CHUNKS` chunks by the
//! first `CHUNK_PREFIX_BITS` bits of their tree key, each a subtree of the state tree. A
//! manifest lists every chunk's subtree hash and account count; it is checked against a state
//! root the joiner trusts (from a certified header) by folding the hashes up the tree's top
//! levels, and each chunk is then checked against its manifest entry alone — so a peer that
//! serves one bad chunk is caught at that chunk, without trusting any peer's word.
//!
//! The fold follows the tree's compression rule (README "The tree"): a subtree with no account
//! hashes to zero, one with exactly one account is that account's leaf wherever it starts, and
//! only one with two or more is an internal node; so the counts go with the hashes. A count
//! changes the fold only where the rule applies (none, or one beside an empty sibling), so
//! that is all the fold binds; otherwise a count is a hint for progress and preallocation, and
//! a chunk is judged by its hash alone (equal hashes mean equal accounts).
use crate::tree::node::{bit, internal_hash, key_of, Leaf, EMPTY_HASH};
use crate::{State, StateError};
use bytes::Bytes;
use cairn_proto::{pb, Account, Address, DecodeError, Hash};
use thiserror::Error;

/// Chunks are the subtrees at this depth.
pub const CHUNK_PREFIX_BITS: usize = 8;
/// How many chunks a snapshot has (some may be empty).
pub const CHUNKS: usize = 1 << CHUNK_PREFIX_BITS;

/// One chunk as the manifest states it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkSummary {
    /// The subtree's hash under the tree's rules.
    pub hash: Hash,
    /// How many accounts it holds (verified as 0, 1 or more; see the module doc).
    pub accounts: u64,
}

/// What a snapshot holds: its height and state root, and a summary per chunk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotManifest {
    pub height: u64,
    pub state_root: Hash,
    pub chunks: Vec<ChunkSummary>,
}

/// The accounts of chunk `index`, in key order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotChunk {
    pub index: usize,
    pub accounts: Vec<(Address, Account)>,
}

impl SnapshotManifest {
    pub fn to_pb(&self) -> pb::SnapshotManifest {
        pb::SnapshotManifest {
            height: self.height,
            state_root: Bytes::copy_from_slice(&self.state_root.0),
            chunks: self
                .chunks
                .iter()
                .map(|c| pb::ChunkSummary { hash: Bytes::copy_from_slice(&c.hash.0), accounts: c.accounts })
                .collect(),
        }
    }

    pub fn from_pb(m: pb::SnapshotManifest) -> Result<Self, DecodeError> {
        let chunks = m
            .chunks
            .iter()
            .map(|c| Ok(ChunkSummary { hash: Hash::from_slice(&c.hash)?, accounts: c.accounts }))
            .collect::<Result<_, DecodeError>>()?;
        Ok(SnapshotManifest { height: m.height, state_root: Hash::from_slice(&m.state_root)?, chunks })
    }
}

impl SnapshotChunk {
    /// The chunk of the snapshot of `height`, as sent.
    pub fn to_pb(&self, height: u64) -> pb::SnapshotChunk {
        let accounts = self
            .accounts
            .iter()
            .map(|(a, acc)| pb::AccountEntry { address: Bytes::copy_from_slice(&a.0), account: Some(acc.to_pb()) })
            .collect();
        pb::SnapshotChunk { height, index: self.index as u32, accounts }
    }

    pub fn from_pb(c: pb::SnapshotChunk) -> Result<Self, DecodeError> {
        let accounts = c
            .accounts
            .into_iter()
            .map(|e| {
                let account = e.account.ok_or(DecodeError::Missing("account"))?;
                Ok((Address::from_slice(&e.address)?, Account::from_pb(account)))
            })
            .collect::<Result<_, DecodeError>>()?;
        Ok(SnapshotChunk { index: c.index as usize, accounts })
    }
}

/// Why a manifest or a chunk was refused: the peer that sent it lied or is broken.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ChunkError {
    #[error("the manifest has {0} chunks, not {CHUNKS}")]
    ChunkCount(usize),
    #[error("the manifest folds to root {got}, not the certified {want}")]
    Root { got: Hash, want: Hash },
    #[error("chunk {0} is not in the manifest")]
    Index(usize),
    #[error("chunk {index} holds account {address}, whose key is outside it or out of order")]
    Misplaced { index: usize, address: Address },
    #[error("chunk {index} hashes to {got}, the manifest says {want}")]
    Hash { index: usize, got: Hash, want: Hash },
}

/// The hash of the subtree at `depth` holding `leaves` (sorted by key, all sharing the first
/// `depth` bits), by the tree's rules.
fn subtree_hash(leaves: &[Leaf], depth: usize) -> Hash {
    match leaves {
        [] => EMPTY_HASH,
        [one] => one.hash,
        _ => {
            let split = leaves.partition_point(|l| !bit(&l.key, depth));
            internal_hash(&subtree_hash(&leaves[..split], depth + 1), &subtree_hash(&leaves[split..], depth + 1))
        }
    }
}

/// Two sibling subtrees as their parent, by the compression rule.
fn join(left: ChunkSummary, right: ChunkSummary) -> ChunkSummary {
    let accounts = left.accounts + right.accounts;
    let hash = match (left.accounts, right.accounts) {
        (0, 0) => EMPTY_HASH,
        (1, 0) => left.hash,
        (0, 1) => right.hash,
        _ => internal_hash(&left.hash, &right.hash),
    };
    ChunkSummary { hash, accounts }
}

/// Which chunk a tree key falls in: its first `CHUNK_PREFIX_BITS` bits.
fn chunk_of(key: &Hash) -> usize {
    usize::from(key.0[0]) >> (8 - CHUNK_PREFIX_BITS)
}

impl SnapshotManifest {
    /// Checks that the chunks' summaries make up `certified_root`.
    pub fn verify(&self, certified_root: &Hash) -> Result<(), ChunkError> {
        if self.chunks.len() != CHUNKS {
            return Err(ChunkError::ChunkCount(self.chunks.len()));
        }
        let mut level = self.chunks.clone();
        while level.len() > 1 {
            level = level.chunks(2).map(|pair| join(pair[0], pair[1])).collect();
        }
        let got = level[0].hash;
        if got != *certified_root || self.state_root != *certified_root {
            return Err(ChunkError::Root { got, want: *certified_root });
        }
        Ok(())
    }
}

impl SnapshotChunk {
    /// Checks this chunk against a verified manifest: every account's key in the chunk's
    /// range and in strictly increasing order, and the subtree hash.
    pub fn verify(&self, manifest: &SnapshotManifest) -> Result<(), ChunkError> {
        let index = self.index;
        let want = *manifest.chunks.get(index).ok_or(ChunkError::Index(index))?;
        let mut leaves: Vec<Leaf> = Vec::with_capacity(self.accounts.len());
        for (address, account) in &self.accounts {
            let key = key_of(address);
            let ordered = leaves.last().is_none_or(|last| last.key < key);
            if chunk_of(&key) != index || !ordered {
                return Err(ChunkError::Misplaced { index, address: *address });
            }
            leaves.push(Leaf::new(key, account));
        }
        let hash = subtree_hash(&leaves, CHUNK_PREFIX_BITS);
        if hash != want.hash {
            return Err(ChunkError::Hash { index, got: hash, want: want.hash });
        }
        Ok(())
    }
}

impl State {
    /// The accounts at `height` (a retained height) as a manifest and its chunks: one scan of
    /// the account index in key order, so each chunk is a run of it.
    pub fn snapshot_chunks(&self, height: u64) -> Result<(SnapshotManifest, Vec<SnapshotChunk>), StateError> {
        self.check_readable(height)?;
        let state_root =
            self.root_at(height)?.ok_or(StateError::FutureHeight { height, latest: self.latest_height() })?;
        let mut chunks: Vec<SnapshotChunk> =
            (0..CHUNKS).map(|index| SnapshotChunk { index, accounts: Vec::new() }).collect();
        self.inner.index.wait_for(height)?;
        self.inner.db.scan_leaves_at(height, |key, address, account, _| {
            chunks[chunk_of(&key)].accounts.push((address, account));
            Ok(())
        })?;
        let summaries = chunks
            .iter()
            .map(|c| {
                let leaves: Vec<Leaf> = c.accounts.iter().map(|(a, acc)| Leaf::new(key_of(a), acc)).collect();
                ChunkSummary { hash: subtree_hash(&leaves, CHUNK_PREFIX_BITS), accounts: leaves.len() as u64 }
            })
            .collect();
        Ok((SnapshotManifest { height, state_root, chunks: summaries }, chunks))
    }
}
