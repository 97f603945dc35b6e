//! The staking registry: which accounts have stake bonded or unbonding, kept beside the account
//! map and derived from it (so state sync and open rebuild it from the accounts), and the
//! record of validator sets by the height they start signing (`validator_sets`).
//!
//! A commit at height h updates the registry from the accounts the block wrote and derives the
//! set that signs h + `EFFECT_DELAY`; when that differs from the set in force before, one
//! record keyed by h + `EFFECT_DELAY` goes into the commit's batch. A set is in force from its
//! record's height until the next record's.
use crate::db::Db;
use crate::exec::BlockContext;
use crate::schema::{u64_key, CF_VALIDATOR_SETS};
use crate::StateError;
use cairn_proto::staking::{power_of, set_from_stakes};
use cairn_proto::{pb, Account, Address, ValidatorSet};
use prost::Message;
use std::collections::{BTreeMap, BTreeSet};

/// Accounts with stake, by address; small (validators and those leaving), so scanned freely.
#[derive(Clone, Default)]
pub(crate) struct StakeRegistry {
    bonded: BTreeMap<Address, u64>,
    /// Each unbonding account's payback height, and the same as (height, address) for the
    /// payback due at a height.
    release_of: BTreeMap<Address, u64>,
    releases: BTreeSet<(u64, Address)>,
    /// The newest `validator_sets` record: the height it signs from, and the set.
    pub latest: Option<(u64, ValidatorSet)>,
}

impl StakeRegistry {
    /// Whether an account written with `account` matters here: it has stake, or had.
    pub fn concerns(&self, address: &Address, account: &Account) -> bool {
        account.bonded > 0
            || account.unbonding > 0
            || self.bonded.contains_key(address)
            || self.release_of.contains_key(address)
    }

    /// Records the new value of an account (any account: one without stake is a no-op unless
    /// it had stake before).
    pub fn update(&mut self, address: Address, account: &Account) {
        if account.bonded > 0 {
            self.bonded.insert(address, account.bonded);
        } else {
            self.bonded.remove(&address);
        }
        if let Some(old) = self.release_of.remove(&address) {
            self.releases.remove(&(old, address));
        }
        if account.unbonding > 0 {
            self.release_of.insert(address, account.release_height);
            self.releases.insert((account.release_height, address));
        }
    }

    /// What executing `height` needs from the registry.
    pub fn context(&self, height: u64) -> BlockContext {
        BlockContext {
            height,
            releases: self.releases.range(..=(height, Address([0xff; 32]))).map(|(_, a)| *a).collect(),
            validators_with_power: self.bonded.values().filter(|b| power_of(**b) > 0).count(),
        }
    }

    /// The set the current stakes make (`None`: nobody has power).
    pub fn set(&self) -> Option<ValidatorSet> {
        set_from_stakes(self.bonded.iter().map(|(a, b)| (*a, *b)))
    }
}

pub(crate) fn encode_set(set: &ValidatorSet) -> Vec<u8> {
    set.to_pb().encode_to_vec()
}

/// The set record in force at `height`: the newest record at or below it, with its height.
pub(crate) fn set_record_at(db: &Db, height: u64) -> Result<Option<(u64, ValidatorSet)>, StateError> {
    let mut it = db.db.raw_iterator_cf(db.cf(CF_VALIDATOR_SETS));
    it.seek_for_prev(u64_key(height));
    let (Some(k), Some(v)) = (it.key(), it.value()) else {
        it.status()?;
        return Ok(None);
    };
    let from = crate::schema::decode_u64("validator set height", k)?;
    let set = pb::ValidatorSet::decode(v)
        .map_err(|e| StateError::bad_record("validator set", e))
        .and_then(|p| ValidatorSet::from_pb(p).map_err(|e| StateError::bad_record("validator set", e)))?;
    Ok(Some((from, set)))
}
