//! Writing: genesis, block commit and pruning. Each is one RocksDB `WriteBatch`, and a
//! commit's batch ends with the commit-progress marker, so a crash at any point leaves the
//! store at the previous height or the new one, never between.
use crate::accounts::Entry;
use crate::exec::{execute, Changed, Receipt};
use crate::failpoint;
use crate::index::{put_leaves, Diff};
use crate::schema::*;
use crate::staking::{encode_set, StakeRegistry};
use crate::state::Head;
use crate::tree::node::{key_of, Leaf};
use crate::tree::Tree;
use crate::{State, StateError};
use cairn_proto::staking::{genesis_stake, EFFECT_DELAY};
use cairn_proto::{Account, Address, CertifiedBlock, Genesis, Hash, ValidatorSet};
use prost::Message;
use rayon::prelude::*;
use rocksdb::WriteBatch;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

/// How many versions one prune pass removes at most, so that catching up after the window
/// shrinks does not build one enormous batch.
const MAX_PRUNE_VERSIONS_PER_PASS: u64 = 64;

/// What committing a block did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitOutcome {
    pub height: u64,
    /// The state root after executing this block.
    pub state_root: Hash,
    /// One per transaction, in block order.
    pub receipts: Vec<Receipt>,
    /// Senders (also of failed txs) and recipients, with their values after the block.
    pub touched: Vec<(Address, Account)>,
    /// The validator set that signs `height + EFFECT_DELAY`, which this block's stakes decided.
    pub later_set: ValidatorSet,
}

/// The written accounts sorted by key (as tree updates need): their leaves, hashed in
/// parallel, and the diff entries (same order) that the batch and the index take.
pub(crate) fn leaves_of(accounts: &[Changed]) -> (Vec<Leaf>, Diff) {
    // Sorted by the key held inline: comparing keys behind each leaf's pointer missed the cache.
    let mut diff: Diff = accounts
        .par_iter()
        .map(|c| DiffEntry { key: key_of(&c.address), address: c.address, account: c.account, prior: c.prior_version })
        .collect();
    diff.par_sort_unstable_by(|x, y| x.key.cmp(&y.key));
    (diff.par_iter().map(|e| Leaf::new(e.key, &e.account)).collect(), diff)
}

/// The in-memory entries of accounts written at `version`.
fn written_at(diff: &[DiffEntry], version: u64) -> impl Iterator<Item = (Address, Entry)> + '_ {
    diff.iter().map(move |e| (e.address, Entry { account: e.account, version }))
}

/// The genesis accounts, with each genesis validator's power bonded as stake (minted, not
/// taken from its balance); the total supply, stake included, must fit a u64.
fn genesis_accounts(genesis: &Genesis) -> Result<Vec<Changed>, StateError> {
    let invalid = |why: String| StateError::InvalidGenesis(why);
    let mut seen = HashSet::new();
    let mut supply = 0u64;
    let mut accounts: Vec<Changed> = Vec::with_capacity(genesis.accounts.len() + genesis.validators.len());
    for a in &genesis.accounts {
        if !seen.insert(a.address) {
            return Err(invalid(format!("account {} is listed twice", a.address)));
        }
        // Bounding the total supply by u64 means no later balance can overflow either.
        supply = supply.checked_add(a.balance).ok_or_else(|| invalid("total supply overflows u64".into()))?;
        accounts.push(Changed { address: a.address, account: Account::new(a.balance, 0), prior_version: None });
    }
    for v in &genesis.validators {
        let stake =
            genesis_stake(v.power).ok_or_else(|| invalid(format!("validator {} power overflows", v.address)))?;
        supply = supply.checked_add(stake).ok_or_else(|| invalid("total supply overflows u64".into()))?;
        match accounts.iter_mut().find(|c| c.address == v.address) {
            Some(c) => c.account.bonded = stake,
            None => accounts.push(Changed {
                address: v.address,
                account: Account { bonded: stake, ..Account::default() },
                prior_version: None,
            }),
        }
    }
    Ok(accounts)
}

/// The set that signs block 1: what the genesis stakes make, which must be exactly the genesis
/// validators (it is not, with more than `MAX_VALIDATORS` of them).
fn genesis_set(genesis: &Genesis, registry: &StakeRegistry) -> Result<ValidatorSet, StateError> {
    let listed = genesis.validator_set().map_err(StateError::InvalidGenesis)?;
    match registry.set() {
        Some(set) if set == listed => Ok(set),
        _ => Err(StateError::InvalidGenesis(format!(
            "the genesis stakes do not make the genesis validator set (at most {} validators)",
            cairn_proto::staking::MAX_VALIDATORS
        ))),
    }
}

/// The set that signs `height + EFFECT_DELAY`, and the record to write if it differs from the
/// set in force before it. Execution refuses the unbond that would leave nobody with power, so
/// the stakes always make a set; were that broken, the set in force stays.
fn later_set(registry: &mut StakeRegistry, height: u64) -> Result<(ValidatorSet, Option<Vec<u8>>), StateError> {
    let (_, in_force) = registry.latest.clone().ok_or(StateError::NoGenesis)?;
    match registry.set() {
        Some(set) if set != in_force => {
            registry.latest = Some((height + EFFECT_DELAY, set.clone()));
            let record = encode_set(&set);
            Ok((set, Some(record)))
        }
        Some(_) => Ok((in_force, None)),
        None => {
            tracing::error!(height, "no account has voting power: the validator set in force stays");
            Ok((in_force, None))
        }
    }
}

impl State {
    /// Writes the genesis accounts as height 0 if the store is empty; otherwise checks that
    /// the stored genesis is this one.
    pub fn init_genesis(&self, genesis: &Genesis) -> Result<(), StateError> {
        let inner = &self.inner;
        let _writer = inner.commit_lock.lock();
        let given = genesis.hash();
        if let Some(stored) = inner.db.get(CF_META, META_GENESIS)? {
            let stored = decode_hash("genesis hash", &stored)?;
            return if stored == given { Ok(()) } else { Err(StateError::GenesisMismatch { stored, given }) };
        }
        if genesis.chain_id.is_empty() {
            return Err(StateError::InvalidGenesis("empty chain id".into()));
        }
        let accounts = genesis_accounts(genesis)?;
        let mut registry = StakeRegistry::default();
        for c in &accounts {
            registry.update(c.address, &c.account);
        }
        let first_set = genesis_set(genesis, &registry)?;
        let (leaves, diff) = leaves_of(&accounts);
        let tree = Tree::build(&leaves);
        tree.reserve_for_updates();
        let db = &inner.db;
        // Genesis has no diff: its accounts go straight into the index, as version 0.
        let mut batch = WriteBatch::default();
        put_leaves(db, &mut batch, 0, &diff);
        batch.put_cf(db.cf(CF_ROOTS), u64_key(0), tree.root_hash().0);
        batch.put_cf(db.cf(CF_META), META_GENESIS, given.0);
        batch.put_cf(db.cf(CF_META), META_CHAIN_ID, genesis.chain_id.as_bytes());
        batch.put_cf(db.cf(CF_META), META_OLDEST, u64_key(0));
        batch.put_cf(db.cf(CF_META), META_INDEXED, u64_key(0));
        batch.put_cf(db.cf(CF_META), META_HEIGHT, u64_key(0));
        batch.put_cf(db.cf(CF_VALIDATOR_SETS), u64_key(1), encode_set(&first_set));
        db.write(batch)?;
        registry.latest = Some((1, first_set));
        *inner.staking.lock() = registry;
        inner.accounts.insert_all(written_at(&diff, 0));
        *inner.head.write() = Head::starting_at(genesis.chain_id.clone(), 0, 0, tree);
        inner.metrics.accounts.set(inner.accounts.len() as i64);
        Ok(())
    }

    /// Executes `block` on top of the latest height and persists the block, its certificate,
    /// the state changes, the tx index and the progress marker in one `WriteBatch`.
    ///
    /// The header's `state_root` must be the latest root (execution is deferred by one
    /// block); a different one means this node's state diverged, and nothing is written.
    pub fn commit_block(&self, block: &CertifiedBlock) -> Result<CommitOutcome, StateError> {
        let started = Instant::now();
        let inner = &self.inner;
        let _writer = inner.commit_lock.lock();
        inner.index.check()?;
        // Only what this commit needs: cloning the whole head would keep the version that
        // this commit retires alive until the function returns.
        let (chain_id, latest, parent) = {
            let head = inner.head.read();
            (head.chain_id.clone().ok_or(StateError::NoGenesis)?, head.height, head.tree())
        };
        let chain_id = chain_id.as_str();
        let header = &block.block.header;
        let height = header.height;
        if height != latest + 1 {
            return Err(StateError::WrongHeight { expected: latest + 1, got: height });
        }
        if header.chain_id != chain_id {
            return Err(StateError::WrongChain { height, expected: chain_id.to_owned(), got: header.chain_id.clone() });
        }
        let parent_root = parent.root_hash();
        if header.state_root != parent_root {
            return Err(StateError::RootMismatch {
                height: height - 1,
                expected: header.state_root,
                computed: parent_root,
            });
        }

        let mut registry = inner.staking.lock().clone();
        let exec = execute(chain_id, &registry.context(height), &block.block.txs, |a| inner.accounts.get(a));
        failpoint::hit("commit:executed");
        for c in &exec.changed {
            if registry.concerns(&c.address, &c.account) {
                registry.update(c.address, &c.account);
            }
        }
        let (later_set, set_record) = later_set(&mut registry, height)?;

        let (leaves, diff) = leaves_of(&exec.changed);
        // The tree and the bulk of the batch (block, diff, tx index) do not depend
        // on each other: build them side by side.
        let (tree, batch) = rayon::join(|| parent.apply(&leaves), || self.commit_batch(block, &exec.receipts, &diff));
        drop(parent);
        let state_root = tree.root_hash();
        let mut batch = batch?;
        let db = &inner.db;
        batch.put_cf(db.cf(CF_ROOTS), u64_key(height), state_root.0);
        if let Some(record) = set_record {
            batch.put_cf(db.cf(CF_VALIDATOR_SETS), u64_key(height + EFFECT_DELAY), record);
        }
        // The commit-progress marker, last.
        batch.put_cf(db.cf(CF_META), META_HEIGHT, u64_key(height));
        failpoint::hit("commit:batch_built");

        inner.db.write(batch)?;
        failpoint::hit("commit:written");

        // Written: from now on the tree's nodes that this version replaced are reused once the
        // versions before it are dropped, and the diff is readable until it is indexed.
        tree.accept();
        *inner.staking.lock() = registry;
        inner.accounts.insert_all(written_at(&diff, height));
        inner.index.hold(height, Arc::new(diff));
        let retired = inner.head.write().push(height, tree, inner.config.cached_versions);
        drop(retired);
        self.record_metrics(height, &exec.receipts, started);
        failpoint::hit("commit:applied");

        // Indexing starts only now, so that it does not compete with the rest of the commit
        // for the cores; before pruning, which may have to wait for it.
        inner.index.start_indexing(height);
        self.prune_locked()?;
        Ok(CommitOutcome { height, state_root, receipts: exec.receipts, touched: exec.touched, later_set })
    }

    /// The one batch of a commit, but for the new root and the progress marker, which the
    /// caller appends once the tree is done.
    fn commit_batch(
        &self,
        block: &CertifiedBlock,
        receipts: &[Receipt],
        diff: &[DiffEntry],
    ) -> Result<WriteBatch, StateError> {
        let db = &self.inner.db;
        let height = block.block.header.height;
        let encoded_block = block.to_pb().encode_to_vec();
        // Sized up front (generously: key, value and record overhead per entry): growing a
        // batch of several MB by doubling copies it over and over.
        let capacity = encoded_block.len() + diff.len() * DIFF_ENTRY_LEN + receipts.len() * (32 + 32 + 8) + 1024;
        let mut batch = WriteBatch::with_capacity_bytes(capacity);
        // One record for every account the block wrote.
        batch.put_cf(db.cf(CF_DIFFS), u64_key(height), encode_diff(diff));
        batch.put_cf(db.cf(CF_BLOCKS), u64_key(height), encoded_block);
        batch.put_cf(db.cf(CF_BLOCK_HASHES), block.block.hash().0, u64_key(height));
        let cf_tx = db.cf(CF_TX_INDEX);
        // In hash order: RocksDB's memtable inserts sorted keys much faster than random ones.
        let mut by_hash: Vec<(usize, &Receipt)> = receipts.iter().enumerate().collect();
        by_hash.sort_by_key(|(index, r)| (r.hash, *index));
        for occurrences in by_hash.chunk_by(|a, b| a.1.hash == b.1.hash) {
            // A tx included more than once (the same bytes: the same nonce, so at most one of
            // them can succeed) is indexed where it succeeded, else where it first appears; and
            // a failed inclusion never hides an earlier block's location of the same tx.
            let &(index, r) = occurrences.iter().find(|(_, r)| r.success).unwrap_or(&occurrences[0]);
            if !r.success && db.get(CF_TX_INDEX, &r.hash.0)?.is_some() {
                continue;
            }
            let loc = TxLocation { height, index: index as u32, success: r.success, error: r.error.clone() };
            batch.put_cf(cf_tx, r.hash.0, loc.encode());
        }
        Ok(batch)
    }

    fn record_metrics(&self, height: u64, receipts: &[Receipt], started: Instant) {
        let m = &self.inner.metrics;
        let ok = receipts.iter().filter(|r| r.success).count() as u64;
        m.txs.with_label_values(&["success"]).inc_by(ok);
        m.txs.with_label_values(&["failed"]).inc_by(receipts.len() as u64 - ok);
        m.height.set(height as i64);
        m.accounts.set(self.inner.accounts.len() as i64);
        m.commit_duration.observe(started.elapsed().as_secs_f64());
    }

    /// Deletes the account versions that no retained height can read any more. Called with
    /// the commit lock held; its own batch, so a crash before it only delays the pruning.
    fn prune_locked(&self) -> Result<(), StateError> {
        let inner = &self.inner;
        let retain = inner.config.retain_versions;
        let (latest, oldest) = {
            let h = inner.head.read();
            (h.height, h.oldest)
        };
        if retain == 0 {
            return Ok(());
        }
        let target = (latest + 1).saturating_sub(retain).min(oldest + MAX_PRUNE_VERSIONS_PER_PASS);
        if target <= oldest {
            return Ok(());
        }
        // The leaves the pruned diffs supersede must be in `tree_leaves` before they are
        // deleted (else indexing would write them back). Indexing is a block or two behind, so
        // this waits only with a window that small (backpressure when indexing falls behind).
        inner.index.wait_for(target)?;
        let db = &inner.db;
        let mut batch = WriteBatch::default();
        // A leaf superseded at version v <= target is needed only by heights below v.
        for v in oldest + 1..=target {
            if let Some(record) = db.get(CF_DIFFS, &u64_key(v))? {
                for e in decode_diff(&record)? {
                    if let Some(old) = e.prior {
                        batch.delete_cf(db.cf(CF_LEAVES), leaf_key(&e.key, old));
                    }
                }
                batch.delete_cf(db.cf(CF_DIFFS), u64_key(v));
            }
        }
        batch.put_cf(db.cf(CF_META), META_OLDEST, u64_key(target));
        // Readers check `oldest` before and after reading, so raise it before deleting.
        inner.head.write().oldest = target;
        // Unsynced: a crash that loses it only delays the pruning (the next pass redoes it),
        // and it costs no second fsync per block.
        db.write_unsynced(batch)?;
        failpoint::hit("prune:written");
        let retired: Vec<Tree> = {
            let mut head = inner.head.write();
            let below = head.recent.iter().take_while(|(h, _)| *h < target).count();
            head.recent.drain(..below).map(|(_, t)| t).collect()
        };
        drop(retired);
        inner.rebuilt.lock().take_if(|(h, _)| *h < target);
        inner.metrics.oldest.set(target as i64);
        Ok(())
    }
}
