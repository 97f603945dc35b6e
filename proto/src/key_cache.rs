//! Decompressed public keys of recent signers.
//!
//! Turning an address (a compressed Edwards point) into a verification key costs a field square
//! root, a sizeable part of a single signature check. Validators sign votes again and again,
//! and single checks (votes, proposals, and the fallback after a failed batch) take their keys
//! from here, as batches do, so each process keeps the keys it has already decompressed.
//!
//! Bounded and fixed in size: 64 shards, each a mutex over a table of 1024 key slots (≈ 12.5 MiB
//! in all, allocated per shard on first use, never grown). A key has one slot, chosen by a hash
//! keyed at random per process (nobody can aim keys at a victim's slot), and a newer key takes
//! the slot over. Only keys seen twice are cached: a *doorkeeper* of 4096 fingerprints per shard
//! remembers first sightings, and the second sighting stores the key. So a flood of one-time
//! senders neither evicts the keys of senders who sign again nor pays for storing keys that are
//! never asked for again, and a repeat sender pays the decompression twice before its hits begin.
//! Only valid keys are cached; the result is the same with or without the cache.
use crate::crypto::PublicKey;
use crate::Address;
use std::hash::BuildHasher;
use std::sync::{Mutex, OnceLock};

const SHARDS: usize = 64;
const SLOTS: usize = 1024;
const DOOR_SLOTS: usize = 4096;

/// One shard's tables. `door` holds fingerprints (never 0) of keys seen once; 0 is empty.
struct Tables {
    keys: Vec<Option<PublicKey>>,
    door: Vec<u64>,
}

struct Shard {
    tables: OnceLock<Mutex<Tables>>,
    slots: usize,
    door_slots: usize,
}

/// Where an address lives in its shard, from one keyed hash of it.
#[derive(Clone, Copy)]
struct Place {
    slot: usize,
    door: usize,
    fingerprint: u64,
}

impl Shard {
    const fn new(slots: usize, door_slots: usize) -> Self {
        Shard { tables: OnceLock::new(), slots, door_slots }
    }

    fn tables(&self) -> std::sync::MutexGuard<'_, Tables> {
        let tables = self
            .tables
            .get_or_init(|| Mutex::new(Tables { keys: vec![None; self.slots], door: vec![0; self.door_slots] }));
        // A poisoned shard only means another thread panicked while writing one slot.
        tables.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn place(&self, hash: u64) -> Place {
        Place {
            slot: (hash >> 8) as usize % self.slots,
            door: (hash >> 24) as usize % self.door_slots,
            fingerprint: hash | 1,
        }
    }

    fn lookup(&self, hash: u64, address: &Address) -> Option<PublicKey> {
        let at = self.place(hash);
        if let Some(k) = &self.tables().keys[at.slot] {
            if k.bytes == address.0 {
                return Some(*k);
            }
        }
        // Not under the lock: decompressing takes microseconds.
        let key = PublicKey::decompress(address.0)?;
        let mut tables = self.tables();
        if tables.door[at.door] == at.fingerprint {
            tables.door[at.door] = 0;
            tables.keys[at.slot] = Some(key);
        } else {
            tables.door[at.door] = at.fingerprint;
        }
        Some(key)
    }
}

fn cache() -> &'static (foldhash::quality::RandomState, Vec<Shard>) {
    static CACHE: OnceLock<(foldhash::quality::RandomState, Vec<Shard>)> = OnceLock::new();
    CACHE.get_or_init(|| (Default::default(), (0..SHARDS).map(|_| Shard::new(SLOTS, DOOR_SLOTS)).collect()))
}

/// The key of `address`, decompressed once per process while it stays cached; None if the
/// address is not the encoding of a curve point.
pub(crate) fn public_key(address: &Address) -> Option<PublicKey> {
    let (hasher, shards) = cache();
    let hash = hasher.hash_one(address.0);
    shards[hash as usize % SHARDS].lookup(hash, address)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Keypair;

    fn cached(shard: &Shard, hash: u64) -> Option<PublicKey> {
        shard.tables().keys[shard.place(hash).slot]
    }

    #[test]
    fn cached_keys_equal_fresh_ones_and_invalid_keys_are_refused_every_time() {
        let a = Keypair::from_seed([9; 32]).address();
        let fresh = PublicKey::decompress(a.0).unwrap();
        for _ in 0..3 {
            assert_eq!(public_key(&a), Some(fresh));
        }
        // Not a point on the curve: y = 2 has no x.
        let mut bad = [0u8; 32];
        bad[0] = 2;
        for _ in 0..3 {
            assert_eq!(public_key(&Address(bad)), None);
        }
    }

    #[test]
    fn a_key_is_stored_on_its_second_sighting() {
        let shard = Shard::new(4, 8);
        let a = Keypair::from_seed([1; 32]).address();
        let fresh = PublicKey::decompress(a.0).unwrap();
        assert_eq!(shard.lookup(7, &a).unwrap(), fresh);
        assert_eq!(cached(&shard, 7), None, "seen once: only remembered by the doorkeeper");
        assert_eq!(shard.lookup(7, &a).unwrap(), fresh);
        assert_eq!(cached(&shard, 7), Some(fresh), "seen twice: stored");
        assert_eq!(shard.lookup(7, &a).unwrap(), fresh, "and served from the slot");
    }

    #[test]
    fn a_newer_key_takes_the_slot_over_and_both_stay_correct() {
        let shard = Shard::new(4, 8);
        let (a, b) = (Keypair::from_seed([1; 32]).address(), Keypair::from_seed([2; 32]).address());
        // Same slot (hash >> 8), different doorkeeper places (hash >> 24) and fingerprints.
        let (ha, hb) = (0x0000_0000_0000_0100, 0x0000_0000_0100_0100);
        assert_eq!(shard.place(ha).slot, shard.place(hb).slot);
        for _ in 0..2 {
            shard.lookup(ha, &a).unwrap();
        }
        assert_eq!(cached(&shard, ha).map(|k| k.bytes), Some(a.0));
        for _ in 0..2 {
            shard.lookup(hb, &b).unwrap();
        }
        assert_eq!(cached(&shard, ha).map(|k| k.bytes), Some(b.0), "b took the slot over");
        assert_eq!(shard.lookup(ha, &a).unwrap().bytes, a.0, "a is decompressed again, not confused with b");
    }

    #[test]
    fn a_one_time_key_does_not_evict_a_cached_one() {
        let shard = Shard::new(4, 8);
        let (a, b) = (Keypair::from_seed([1; 32]).address(), Keypair::from_seed([2; 32]).address());
        let (ha, hb) = (0x0000_0000_0000_0100, 0x0000_0000_0100_0100);
        for _ in 0..2 {
            shard.lookup(ha, &a).unwrap();
        }
        shard.lookup(hb, &b).unwrap();
        assert_eq!(cached(&shard, ha).map(|k| k.bytes), Some(a.0));
    }
}
