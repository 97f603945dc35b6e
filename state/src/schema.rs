//! The on-disk layout: column families, key encodings and record codecs.
//!
//! | column family  | key                                   | value                                   |
//! |----------------|---------------------------------------|-----------------------------------------|
//! | `meta`         | name                                  | see the `META_*` constants              |
//! | `tree_leaves`  | `blake3(address)` ‖ `!version` (BE)   | address ‖ encoded `Account`             |
//! | `tree_roots`   | version (BE)                          | state root after that version           |
//! | `state_diffs`  | version (BE)                          | the version's [`DiffEntry`]s, by key    |
//! | `blocks`       | height (BE)                           | encoded `CertifiedBlock`                |
//! | `block_hashes` | block hash                            | height (BE)                             |
//! | `tx_index`     | tx hash                               | height ‖ index (u32) ‖ success ‖ error  |
//! | `validator_sets` | first height it signs (BE)          | encoded `cairn.v1.ValidatorSet`         |
//!
//! Versions are block heights (genesis is 0). Storing `!version` makes a forward seek to
//! `key ‖ !h` land on the newest version at or below `h`.
//!
//! A commit's batch holds the version's diff (every account it wrote, one record); the
//! per-account records in `tree_leaves` are an index derived from the diffs, written behind
//! the commit (see `crate::index`) and completed from the diffs at open.
use crate::StateError;
use cairn_proto::{Account, Address, Hash};

pub const CF_META: &str = "meta";
pub const CF_LEAVES: &str = "tree_leaves";
pub const CF_ROOTS: &str = "tree_roots";
pub const CF_DIFFS: &str = "state_diffs";
pub const CF_BLOCKS: &str = "blocks";
pub const CF_BLOCK_HASHES: &str = "block_hashes";
pub const CF_TX_INDEX: &str = "tx_index";
/// A record per change of the validator set: the set that signs from that height on.
pub const CF_VALIDATOR_SETS: &str = "validator_sets";
pub const ALL_CFS: [&str; 8] =
    [CF_META, CF_LEAVES, CF_ROOTS, CF_DIFFS, CF_BLOCKS, CF_BLOCK_HASHES, CF_TX_INDEX, CF_VALIDATOR_SETS];

/// Identifies the layout and the tree's hash rules; a database with another value is refused.
/// Version 2 hashes tree nodes with keyed blake3 (version 1 used a prefix byte), so its roots
/// differ from version 1's for the same accounts. Version 3 commits a diff per version and
/// indexes `tree_leaves` from it (version 2 wrote `tree_leaves` in the commit batch and kept
/// a `tree_stale` family). Version 4 adds staking: accounts carry stake (so diff entries are
/// longer) and `validator_sets` records each set change.
pub const META_FORMAT: &[u8] = b"format";
pub const FORMAT_VERSION: &[u8] = b"cairn-state/4";
/// blake3 of the canonical genesis JSON.
pub const META_GENESIS: &[u8] = b"genesis";
pub const META_CHAIN_ID: &[u8] = b"chain_id";
/// The commit-progress marker: the last fully committed height, the last put of each batch.
pub const META_HEIGHT: &[u8] = b"height";
/// The oldest version whose tree is still retained (pruning moves it forward).
pub const META_OLDEST: &[u8] = b"oldest";
/// The last version whose diff is in `tree_leaves`.
pub const META_INDEXED: &[u8] = b"indexed";

pub fn u64_key(v: u64) -> [u8; 8] {
    v.to_be_bytes()
}

pub fn decode_u64(what: &'static str, b: &[u8]) -> Result<u64, StateError> {
    <[u8; 8]>::try_from(b).map(u64::from_be_bytes).map_err(|_| StateError::bad_record(what, "not 8 bytes"))
}

pub fn decode_hash(what: &'static str, b: &[u8]) -> Result<Hash, StateError> {
    Hash::from_slice(b).map_err(|e| StateError::bad_record(what, e))
}

pub fn leaf_key(key: &Hash, version: u64) -> [u8; 40] {
    let mut k = [0u8; 40];
    k[..32].copy_from_slice(&key.0);
    k[32..].copy_from_slice(&(!version).to_be_bytes());
    k
}

/// Splits a `tree_leaves` key into (tree key, version).
pub fn split_leaf_key(k: &[u8]) -> Result<(Hash, u64), StateError> {
    if k.len() != 40 {
        return Err(StateError::bad_record("leaf key", format!("{} bytes, expected 40", k.len())));
    }
    Ok((decode_hash("leaf key", &k[..32])?, !decode_u64("leaf version", &k[32..])?))
}

pub fn leaf_value(address: &Address, account: &Account) -> Vec<u8> {
    let mut v = Vec::with_capacity(32 + 20);
    v.extend_from_slice(&address.0);
    v.extend_from_slice(&account.encode());
    v
}

pub fn decode_leaf_value(v: &[u8]) -> Result<(Address, Account), StateError> {
    if v.len() < 32 {
        return Err(StateError::bad_record("leaf", "shorter than an address"));
    }
    let address = Address::from_slice(&v[..32]).map_err(|e| StateError::bad_record("leaf", e))?;
    let account = Account::decode(&v[32..]).map_err(|e| StateError::bad_record("leaf", e))?;
    Ok((address, account))
}

/// Where a transaction landed and how it ended.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TxLocation {
    pub height: u64,
    pub index: u32,
    pub success: bool,
    pub error: Option<String>,
}

impl TxLocation {
    pub fn encode(&self) -> Vec<u8> {
        let err = self.error.as_deref().unwrap_or("");
        let mut v = Vec::with_capacity(13 + err.len());
        v.extend_from_slice(&self.height.to_be_bytes());
        v.extend_from_slice(&self.index.to_be_bytes());
        v.push(self.success as u8);
        v.extend_from_slice(err.as_bytes());
        v
    }

    pub fn decode(v: &[u8]) -> Result<Self, StateError> {
        if v.len() < 13 || v[12] > 1 {
            return Err(StateError::bad_record("tx index", "malformed"));
        }
        let height = decode_u64("tx height", &v[..8])?;
        let index = u32::from_be_bytes([v[8], v[9], v[10], v[11]]);
        let success = v[12] == 1;
        let error = std::str::from_utf8(&v[13..]).map_err(|e| StateError::bad_record("tx error", e))?;
        Ok(TxLocation { height, index, success, error: (!success).then(|| error.to_owned()) })
    }
}

/// An account a version wrote: its tree key, address, new value, and the version of the
/// value it superseded (`None`: a new account). A diff is a version's entries, sorted by key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiffEntry {
    pub key: Hash,
    pub address: Address,
    pub account: Account,
    pub prior: Option<u64>,
}

/// Fixed-size entries: key, address, prior version (BE, `u64::MAX` for none: no chain reaches
/// that height), then the account's balance, nonce, bonded, unbonding and release height (BE).
pub const DIFF_ENTRY_LEN: usize = 32 + 32 + 8 + 5 * 8;

pub fn encode_diff(entries: &[DiffEntry]) -> Vec<u8> {
    let mut v = Vec::with_capacity(entries.len() * DIFF_ENTRY_LEN);
    for e in entries {
        v.extend_from_slice(&e.key.0);
        v.extend_from_slice(&e.address.0);
        v.extend_from_slice(&e.prior.unwrap_or(u64::MAX).to_be_bytes());
        let a = &e.account;
        for field in [a.balance, a.nonce, a.bonded, a.unbonding, a.release_height] {
            v.extend_from_slice(&field.to_be_bytes());
        }
    }
    v
}

pub fn decode_diff(v: &[u8]) -> Result<Vec<DiffEntry>, StateError> {
    if !v.len().is_multiple_of(DIFF_ENTRY_LEN) {
        return Err(StateError::bad_record("state diff", format!("length is not a multiple of {DIFF_ENTRY_LEN}")));
    }
    v.chunks_exact(DIFF_ENTRY_LEN)
        .map(|c| {
            let prior = decode_u64("diff prior version", &c[64..72])?;
            Ok(DiffEntry {
                key: decode_hash("diff key", &c[..32])?,
                address: Address::from_slice(&c[32..64]).map_err(|e| StateError::bad_record("diff address", e))?,
                prior: (prior != u64::MAX).then_some(prior),
                account: Account {
                    balance: decode_u64("diff balance", &c[72..80])?,
                    nonce: decode_u64("diff nonce", &c[80..88])?,
                    bonded: decode_u64("diff bonded", &c[88..96])?,
                    unbonding: decode_u64("diff unbonding", &c[96..104])?,
                    release_height: decode_u64("diff release height", &c[104..112])?,
                },
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let loc = TxLocation { height: 7, index: 3, success: false, error: Some("nonce_too_low".into()) };
        assert_eq!(TxLocation::decode(&loc.encode()).unwrap(), loc);
        let ok = TxLocation { height: 1, index: 0, success: true, error: None };
        assert_eq!(TxLocation::decode(&ok.encode()).unwrap(), ok);
        let k = Hash::of(b"k");
        assert_eq!(split_leaf_key(&leaf_key(&k, 42)).unwrap(), (k, 42));
        assert!(leaf_key(&k, 5) < leaf_key(&k, 4), "newer versions sort first");
        let (a, acct) =
            (Address([9; 32]), Account { bonded: 7, unbonding: 8, release_height: 9, ..Account::new(5, 2) });
        let diff = vec![
            DiffEntry { key: k, address: a, account: acct, prior: Some(3) },
            DiffEntry { key: Hash::of(b"j"), address: Address([1; 32]), account: Account::default(), prior: None },
        ];
        assert_eq!(decode_diff(&encode_diff(&diff)).unwrap(), diff);
        assert!(decode_diff(&encode_diff(&diff)[1..]).is_err());
        assert_eq!(decode_leaf_value(&leaf_value(&a, &acct)).unwrap(), (a, acct));
    }
}
