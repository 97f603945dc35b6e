//! State sync's last step: a store made from a snapshot's verified chunks instead of from
//! genesis and every block. The restored store starts at the snapshot's height h with the
//! certified block h as its tip (the next block names it as parent), the set that signs h + 1
//! (which the joiner learnt by light verification) and the set that the restored stakes decide
//! for h + 2; no blocks or state below h. Opening it then checks it as any store is checked:
//! the tree rebuilt from the accounts must give the snapshot's root, so accounts that are not
//! the snapshot's are refused even from a caller that skipped the chunk checks.
use crate::chunks::{SnapshotChunk, SnapshotManifest, CHUNKS};
use crate::commit::leaves_of;
use crate::exec::Changed;
use crate::index::put_leaves;
use crate::schema::*;
use crate::staking::{encode_set, StakeRegistry};
use crate::{State, StateConfig, StateError};
use cairn_proto::staking::EFFECT_DELAY;
use cairn_proto::{CertifiedBlock, Genesis, ValidatorSet};
use prost::Message;
use rocksdb::WriteBatch;
use std::path::Path;

/// What a joiner restores from.
pub struct Restore<'a> {
    /// The chain's genesis (its hash and chain id are recorded, as `init_genesis` does).
    pub genesis: &'a Genesis,
    /// A manifest the joiner verified against a certified root (`SnapshotManifest::verify`);
    /// the restored store must have its root.
    pub manifest: &'a SnapshotManifest,
    /// Every chunk of it, in index order.
    pub chunks: Vec<SnapshotChunk>,
    /// The certified block at the manifest's height.
    pub tip: &'a CertifiedBlock,
    /// The set that signs the height after the tip.
    pub next_set: &'a ValidatorSet,
}

fn refuse(why: String) -> StateError {
    StateError::Snapshot(why)
}

impl State {
    /// Creates the store at `path` (which must hold none) from `r`; on any failure nothing is
    /// left there.
    pub fn restore(path: &Path, config: StateConfig, r: Restore<'_>) -> Result<State, StateError> {
        if std::fs::read_dir(path).is_ok_and(|mut d| d.next().is_some()) {
            return Err(refuse(format!("target {} is not empty", path.display())));
        }
        let result = Self::write_restored(path, config.clone(), r).and_then(|()| State::open(path, config));
        if result.is_err() {
            let _ = std::fs::remove_dir_all(path);
        }
        result
    }

    fn write_restored(path: &Path, config: StateConfig, r: Restore<'_>) -> Result<(), StateError> {
        let height = r.manifest.height;
        let tip = &r.tip.block.header;
        if tip.height != height || tip.chain_id != r.genesis.chain_id || height == 0 {
            return Err(refuse(format!(
                "tip is block {} of {:?}, the snapshot is of height {height} of {:?} (and not genesis)",
                tip.height, tip.chain_id, r.genesis.chain_id
            )));
        }
        if r.chunks.len() != CHUNKS || r.chunks.iter().enumerate().any(|(i, c)| c.index != i) {
            return Err(refuse(format!("{} chunks, not the {CHUNKS} in index order", r.chunks.len())));
        }
        // The chunks are not checked again here: opening the store rebuilds the tree from
        // these accounts and refuses it unless it gives the manifest's root.
        let accounts: Vec<Changed> = r
            .chunks
            .into_iter()
            .flat_map(|c| c.accounts)
            .map(|(address, account)| Changed { address, account, prior_version: None })
            .collect();
        let mut registry = StakeRegistry::default();
        for c in accounts.iter().filter(|c| c.account.bonded > 0 || c.account.unbonding > 0) {
            registry.update(c.address, &c.account);
        }
        let later_set = registry.set().ok_or_else(|| refuse("no account holds power in the snapshot".into()))?;
        let (_, diff) = leaves_of(&accounts);
        let state = State::open(path, config)?;
        let db = &state.inner.db;
        let mut batch = WriteBatch::default();
        put_leaves(db, &mut batch, height, &diff);
        batch.put_cf(db.cf(CF_ROOTS), u64_key(height), r.manifest.state_root.0);
        batch.put_cf(db.cf(CF_BLOCKS), u64_key(height), r.tip.to_pb().encode_to_vec());
        batch.put_cf(db.cf(CF_BLOCK_HASHES), r.tip.block.hash().0, u64_key(height));
        batch.put_cf(db.cf(CF_VALIDATOR_SETS), u64_key(height + 1), encode_set(r.next_set));
        batch.put_cf(db.cf(CF_VALIDATOR_SETS), u64_key(height + EFFECT_DELAY), encode_set(&later_set));
        batch.put_cf(db.cf(CF_META), META_GENESIS, r.genesis.hash().0);
        batch.put_cf(db.cf(CF_META), META_CHAIN_ID, r.genesis.chain_id.as_bytes());
        for marker in [META_OLDEST, META_INDEXED, META_HEIGHT] {
            batch.put_cf(db.cf(CF_META), marker, u64_key(height));
        }
        db.write(batch)?;
        Ok(())
    }
}
