//! `State`: the handle the node holds. Opening loads and verifies the latest version; the
//! read methods serve accounts, proofs, blocks and the tx index at any retained height.
use crate::accounts::{AccountMap, Entry};
use crate::db::Db;
use crate::index::{write_index, LeafIndex};
use crate::metrics::Metrics;
use crate::proof::AccountProof;
use crate::schema::*;
use crate::staking::{set_record_at, StakeRegistry};
use crate::tree::node::{key_of, EMPTY_HASH};
use crate::tree::{node::Leaf, Tree};
use crate::{StateConfig, StateError};
use cairn_proto::staking::EFFECT_DELAY;
use cairn_proto::{pb, Account, Address, CertifiedBlock, Hash, ValidatorSet};
use parking_lot::{Mutex, RwLock};
use prometheus::Registry;
use prost::Message;
use rayon::prelude::*;
use std::collections::VecDeque;
use std::path::Path;
use std::sync::Arc;

/// The persisted chain state. Cheap to clone; every clone is the same store.
#[derive(Clone)]
pub struct State {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub db: Arc<Db>,
    /// Writes `tree_leaves` from each committed diff, behind the commit.
    pub index: LeafIndex,
    pub config: StateConfig,
    /// Serialises writers (genesis, commit, prune, snapshot export); readers never take it.
    pub commit_lock: Mutex<()>,
    pub head: RwLock<Head>,
    pub accounts: AccountMap,
    /// Accounts with stake, and the newest validator set record (writers only).
    pub staking: Mutex<StakeRegistry>,
    /// The last tree rebuilt from disk for a height no longer cached in memory.
    pub rebuilt: Mutex<Option<(u64, Tree)>>,
    pub metrics: Metrics,
}

/// What is committed, as seen by readers.
#[derive(Clone, Default)]
pub(crate) struct Head {
    /// `None` until genesis is written.
    pub chain_id: Option<String>,
    pub height: u64,
    pub oldest: u64,
    /// Recent tree versions, oldest first; the last one is `height`'s.
    pub recent: VecDeque<(u64, Tree)>,
}

impl Head {
    /// A head whose only cached version is `tree`, at `height`.
    pub fn starting_at(chain_id: String, height: u64, oldest: u64, tree: Tree) -> Head {
        Head { chain_id: Some(chain_id), height, oldest, recent: VecDeque::from([(height, tree)]) }
    }

    pub fn tree(&self) -> Tree {
        self.recent.back().map(|(_, t)| t.clone()).unwrap_or_default()
    }

    /// Makes `tree` the latest version and returns the versions that leave the cache, for the
    /// caller to drop outside the lock.
    #[must_use = "retired versions are dropped after the head lock is released"]
    pub fn push(&mut self, height: u64, tree: Tree, keep: usize) -> Vec<Tree> {
        self.height = height;
        self.recent.push_back((height, tree));
        let excess = self.recent.len().saturating_sub(keep.max(1));
        self.recent.drain(..excess).map(|(_, t)| t).collect()
    }
}

impl State {
    /// Opens or creates the store at `path`, with metrics in a private registry.
    pub fn open(path: &Path, config: StateConfig) -> Result<State, StateError> {
        Self::open_with_registry(path, config, &Registry::new())
    }

    /// Opens or creates the store at `path`, registering its metrics in `registry`. An existing
    /// database is checked: format marker, progress marker, the latest block, and the state
    /// root recomputed from every stored account against the committed one.
    pub fn open_with_registry(path: &Path, config: StateConfig, registry: &Registry) -> Result<State, StateError> {
        let db = Arc::new(Db::open(path, &config)?);
        let metrics = Metrics::new(registry)?;
        let inner = Inner {
            index: LeafIndex::start(db.clone(), 0),
            db,
            config,
            commit_lock: Mutex::new(()),
            head: RwLock::new(Head::default()),
            accounts: AccountMap::new(),
            staking: Mutex::new(StakeRegistry::default()),
            rebuilt: Mutex::new(None),
            metrics,
        };
        let state = State { inner: Arc::new(inner) };
        state.load().map_err(|e| match e {
            // Whatever fails while loading what we committed means the store is damaged.
            StateError::Db(_) | StateError::BadRecord { .. } => state.inner.db.corrupt(e.to_string()),
            e => e,
        })?;
        Ok(state)
    }

    fn load(&self) -> Result<(), StateError> {
        let db = &self.inner.db;
        let genesis = db.get(CF_META, META_GENESIS)?;
        let height = match (genesis, db.get_u64(CF_META, META_HEIGHT, "height")?) {
            (None, None) => return Ok(()),
            (Some(_), Some(h)) => h,
            _ => return Err(db.corrupt("genesis marker and commit-progress marker disagree")),
        };
        let chain_id = db.get(CF_META, META_CHAIN_ID)?.ok_or_else(|| db.corrupt("no chain id"))?;
        let chain_id = String::from_utf8(chain_id).map_err(|_| db.corrupt("chain id is not UTF-8"))?;
        let oldest = db.get_u64(CF_META, META_OLDEST, "oldest")?.ok_or_else(|| db.corrupt("no pruning marker"))?;
        let expected = db.root(height)?.ok_or_else(|| db.corrupt(format!("no state root for height {height}")))?;
        // The progress marker is written in the same batch as its block, so a block above
        // it, or a missing block at it, means the store was not written by us atomically.
        if db.get(CF_BLOCKS, &u64_key(height + 1))?.is_some() {
            return Err(db.corrupt(format!("block {} exists above the committed height {height}", height + 1)));
        }
        if height > 0 {
            let block = self.block(height)?.ok_or_else(|| db.corrupt(format!("block {height} is missing")))?;
            if self.block_by_hash(&block.block.hash())?.is_none() {
                return Err(db.corrupt(format!("block {height} is not in the hash index")));
            }
        }
        self.index_committed_diffs(height)?;
        let (tree, entries) = self.load_tree(height)?;
        if tree.root_hash() != expected {
            let e = StateError::RootMismatch { height, expected, computed: tree.root_hash() };
            return Err(db.corrupt(e.to_string()));
        }
        // The head's tree is the one commits update (trees rebuilt for old heights are not).
        tree.reserve_for_updates();
        let inner = &self.inner;
        let mut registry = StakeRegistry::default();
        for (address, e) in entries.iter().filter(|(_, e)| e.account.bonded > 0 || e.account.unbonding > 0) {
            registry.update(*address, &e.account);
        }
        registry.latest = set_record_at(db, height + EFFECT_DELAY)?;
        if registry.latest.is_none() {
            return Err(db.corrupt("no validator set record"));
        }
        *inner.staking.lock() = registry;
        inner.accounts.clear();
        inner.accounts.insert_all(entries);
        *inner.head.write() = Head::starting_at(chain_id, height, oldest, tree);
        inner.metrics.height.set(height as i64);
        inner.metrics.oldest.set(oldest as i64);
        inner.metrics.accounts.set(inner.accounts.len() as i64);
        Ok(())
    }

    /// Indexes the committed versions whose diffs are not in `tree_leaves` yet: what the
    /// background indexing had not written (or a crash lost) when the store was last closed.
    fn index_committed_diffs(&self, height: u64) -> Result<(), StateError> {
        let db = &self.inner.db;
        let indexed = db.get_u64(CF_META, META_INDEXED, "indexed")?.ok_or_else(|| db.corrupt("no index marker"))?;
        if indexed > height {
            return Err(
                db.corrupt(format!("accounts are indexed up to {indexed}, above the committed height {height}"))
            );
        }
        for version in indexed + 1..=height {
            let diff = db
                .get(CF_DIFFS, &u64_key(version))?
                .ok_or_else(|| db.corrupt(format!("the state diff of height {version} is missing")))?;
            write_index(db, version, &decode_diff(&diff)?)?;
        }
        self.inner.index.reset(height);
        Ok(())
    }

    /// Rebuilds the tree of `version` from the stored accounts (and returns those accounts).
    pub(crate) fn load_tree(&self, version: u64) -> Result<(Tree, Vec<(Address, Entry)>), StateError> {
        self.inner.index.wait_for(version)?;
        let db = &self.inner.db;
        let mut rows: Vec<(Hash, Address, Account, u64)> = Vec::new();
        db.scan_leaves_at(version, |key, address, account, written| {
            rows.push((key, address, account, written));
            Ok(())
        })?;
        let leaves: Vec<Leaf> = rows
            .par_iter()
            .map(|(key, address, account, _)| {
                if key_of(address) != *key {
                    return Err(db.corrupt(format!("account {address} is stored under the wrong key")));
                }
                Ok(Leaf::new(*key, account))
            })
            .collect::<Result<_, _>>()?;
        let tree = Tree::build(&leaves);
        let entries = rows.into_iter().map(|(_, address, account, version)| (address, Entry { account, version }));
        Ok((tree, entries.collect()))
    }

    pub fn latest_height(&self) -> u64 {
        self.inner.head.read().height
    }

    /// The state root after the latest height (32 zero bytes before genesis).
    pub fn state_root(&self) -> Hash {
        self.inner.head.read().recent.back().map_or(EMPTY_HASH, |(_, t)| t.root_hash())
    }

    /// The oldest height whose accounts and proofs are still readable.
    pub fn oldest_retained_height(&self) -> u64 {
        self.inner.head.read().oldest
    }

    /// The chain id of the initialised genesis.
    pub fn chain_id(&self) -> Option<String> {
        self.inner.head.read().chain_id.clone()
    }

    /// The state root after `height`; roots are kept for every height, even pruned ones.
    pub fn root_at(&self, height: u64) -> Result<Option<Hash>, StateError> {
        if self.inner.head.read().chain_id.is_none() || height > self.latest_height() {
            return Ok(None);
        }
        self.inner.db.root(height)
    }

    /// The validator set that signs block `height`: known from 1 up to the latest height plus
    /// `EFFECT_DELAY` (the stakes of block h decide the set of h + `EFFECT_DELAY`), `None` else.
    pub fn validator_set_at(&self, height: u64) -> Result<Option<ValidatorSet>, StateError> {
        if height == 0 || self.inner.head.read().chain_id.is_none() || height > self.latest_height() + EFFECT_DELAY {
            return Ok(None);
        }
        Ok(set_record_at(&self.inner.db, height)?.map(|(_, set)| set))
    }

    /// The latest value of an account (zero if absent). Lock-sharded in-memory read.
    pub fn account(&self, address: &Address) -> Account {
        self.account_record(address).unwrap_or_default()
    }

    /// The latest value of an account, or `None` if state holds no record of it (never
    /// funded): such an account cannot send (see `exec`). Lock-sharded in-memory read.
    pub fn account_record(&self, address: &Address) -> Option<Account> {
        self.inner.accounts.get(address).map(|e| e.account)
    }

    /// Fails unless `height` is committed and not pruned.
    pub(crate) fn check_readable(&self, height: u64) -> Result<(), StateError> {
        let head = self.inner.head.read();
        if head.chain_id.is_none() {
            return Err(StateError::NoGenesis);
        }
        if height > head.height {
            return Err(StateError::FutureHeight { height, latest: head.height });
        }
        if height < head.oldest {
            return Err(StateError::Pruned { height, oldest: head.oldest });
        }
        Ok(())
    }

    /// The stored account value at `height`, or `None` if absent then.
    pub(crate) fn stored_account(&self, address: &Address, height: u64) -> Result<Option<Account>, StateError> {
        self.check_readable(height)?;
        let key = key_of(address);
        if let Some(account) = self.inner.index.pending_value(&key, height) {
            return Ok(Some(account));
        }
        let found = self.inner.db.leaf_at(&key, height)?;
        // Pruning may have run between the check and the read: then the read is not valid.
        self.check_readable(height)?;
        Ok(found.map(|(_, account)| account))
    }

    /// An account's value at a retained height (zero if absent).
    pub fn account_at(&self, address: &Address, height: u64) -> Result<Account, StateError> {
        Ok(self.stored_account(address, height)?.unwrap_or_default())
    }

    /// A block and its certificate by height.
    pub fn block(&self, height: u64) -> Result<Option<CertifiedBlock>, StateError> {
        let Some(bytes) = self.inner.db.get(CF_BLOCKS, &u64_key(height))? else { return Ok(None) };
        let pb = pb::CertifiedBlock::decode(bytes.as_slice()).map_err(|e| StateError::bad_record("block", e))?;
        CertifiedBlock::from_trusted_pb(pb).map(Some).map_err(|e| StateError::bad_record("block", e))
    }

    pub fn block_by_hash(&self, hash: &Hash) -> Result<Option<CertifiedBlock>, StateError> {
        match self.inner.db.get_u64(CF_BLOCK_HASHES, &hash.0, "block height")? {
            Some(height) => self.block(height),
            None => Ok(None),
        }
    }

    /// Where a committed transaction is, and whether it succeeded.
    pub fn tx_location(&self, hash: &Hash) -> Result<Option<TxLocation>, StateError> {
        self.inner.db.get(CF_TX_INDEX, &hash.0)?.map(|v| TxLocation::decode(&v)).transpose()
    }

    /// A proof of the account's value (or absence) at `height` against `root_at(height)`.
    pub fn prove(&self, address: &Address, height: u64) -> Result<(Option<Account>, AccountProof), StateError> {
        let tree = self.tree_at(height)?;
        let key = key_of(address);
        let proof = tree.prove(&key);
        let Some(leaf) = tree.get(&key) else { return Ok((None, proof)) };
        let account = self
            .stored_account(address, height)?
            .ok_or_else(|| self.inner.db.corrupt(format!("account {address} is in the tree but not stored")))?;
        if Leaf::new(key, &account).hash != leaf.hash {
            return Err(self.inner.db.corrupt(format!("stored account {address} does not match its leaf")));
        }
        Ok((Some(account), proof))
    }

    /// The tree of `height`: from memory if recent, else rebuilt from disk (and kept).
    pub(crate) fn tree_at(&self, height: u64) -> Result<Tree, StateError> {
        self.check_readable(height)?;
        if let Some((_, t)) = self.inner.head.read().recent.iter().find(|(h, _)| *h == height) {
            return Ok(t.clone());
        }
        let mut rebuilt = self.inner.rebuilt.lock();
        if let Some((h, t)) = rebuilt.as_ref() {
            if *h == height {
                return Ok(t.clone());
            }
        }
        let (tree, _) = self.load_tree(height)?;
        let expected = self.inner.db.root(height)?.ok_or_else(|| self.inner.db.corrupt("missing state root"))?;
        // A prune that ran during the scan makes the rebuilt tree wrong but not corrupt.
        self.check_readable(height)?;
        if tree.root_hash() != expected {
            let e = StateError::RootMismatch { height, expected, computed: tree.root_hash() };
            return Err(self.inner.db.corrupt(e.to_string()));
        }
        *rebuilt = Some((height, tree.clone()));
        Ok(tree)
    }
}
