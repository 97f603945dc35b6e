//! Decompressed public keys of recent signers.
//!
//! Turning an address (a compressed Edwards point) into a verifying key costs a field square
//! root, ≈ 15–20 % of verifying one signature. Senders and validators sign again and again,
//! so each process keeps the keys it has already decompressed.
//!
//! Bounded: 64 shards of at most 1024 keys (≈ 13 MiB in all). A full shard is emptied and
//! refilled rather than tracking recency: cheap, and a miss costs only the decompression. Only
//! valid keys are cached; the result is the same with or without the cache.
use crate::Address;
use ed25519_dalek::VerifyingKey;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

const SHARDS: usize = 64;
const SHARD_CAPACITY: usize = 1024;

type Shard = Mutex<HashMap<[u8; 32], VerifyingKey>>;

fn shards() -> &'static [Shard] {
    static SHARDS_: OnceLock<Vec<Shard>> = OnceLock::new();
    SHARDS_.get_or_init(|| (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect())
}

/// The verifying key of `address`, decompressed once per process (while it stays cached).
pub(crate) fn verifying_key(address: &Address) -> Result<VerifyingKey, ed25519_dalek::SignatureError> {
    lookup(&shards()[address.0[0] as usize % SHARDS], SHARD_CAPACITY, address)
}

fn lookup(shard: &Shard, capacity: usize, address: &Address) -> Result<VerifyingKey, ed25519_dalek::SignatureError> {
    // A poisoned shard only means another thread panicked mid-insert of a valid key.
    if let Some(k) = shard.lock().unwrap_or_else(|e| e.into_inner()).get(&address.0) {
        return Ok(*k);
    }
    let key = VerifyingKey::from_bytes(&address.0)?;
    let mut map = shard.lock().unwrap_or_else(|e| e.into_inner());
    if map.len() >= capacity {
        map.clear();
    }
    map.insert(address.0, key);
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Keypair;

    #[test]
    fn cached_keys_equal_fresh_ones_and_invalid_keys_are_refused_every_time() {
        let a = Keypair::from_seed([9; 32]).address();
        let fresh = VerifyingKey::from_bytes(&a.0).unwrap();
        assert_eq!(verifying_key(&a).unwrap(), fresh);
        assert_eq!(verifying_key(&a).unwrap(), fresh, "second lookup, from the cache");
        // Not a point on the curve: y = 2 has no x.
        let mut bad = [0u8; 32];
        bad[0] = 2;
        assert!(verifying_key(&Address(bad)).is_err());
        assert!(verifying_key(&Address(bad)).is_err());
    }

    #[test]
    fn a_full_shard_is_emptied_and_refilled() {
        let shard = Shard::default();
        let keys: Vec<Address> = (0..7u8).map(|i| Keypair::from_seed([i; 32]).address()).collect();
        for (n, a) in keys.iter().enumerate() {
            assert_eq!(lookup(&shard, 3, a).unwrap(), VerifyingKey::from_bytes(&a.0).unwrap());
            // 3 keys fill it; the 4th empties it first: sizes 1 2 3 1 2 3 1.
            assert_eq!(shard.lock().unwrap().len(), n % 3 + 1);
        }
    }
}
