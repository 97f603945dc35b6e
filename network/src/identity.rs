//! Validator identity: a node's libp2p identity is its validator ed25519 key, so a peer id
//! names a validator address and the other way round.
use cairn_proto::{Address, Keypair, ValidatorSet};
use libp2p::{identity, PeerId};
use std::collections::HashMap;

/// The libp2p keypair of a validator key (the same ed25519 seed).
pub(crate) fn libp2p_keypair(key: &Keypair) -> identity::Keypair {
    let mut seed = key.seed(); // zeroized by `ed25519_from_bytes`
    identity::Keypair::ed25519_from_bytes(&mut seed).expect("a 32-byte seed is always a valid ed25519 secret key")
}

/// The peer id a node running with validator key `key` has (`cairn keys show` prints it).
pub fn peer_id_of(key: &Keypair) -> PeerId {
    libp2p_keypair(key).public().to_peer_id()
}

/// The peer id of the node whose validator address (ed25519 public key) is `address`, or
/// `None` if those bytes are not an ed25519 public key.
pub fn peer_id_of_address(address: &Address) -> Option<PeerId> {
    let public = identity::ed25519::PublicKey::try_from_bytes(&address.0).ok()?;
    Some(identity::PublicKey::from(public).to_peer_id())
}

/// Peer id → validator address for every validator in the sets.
pub(crate) fn validator_peers(sets: &[ValidatorSet]) -> HashMap<PeerId, Address> {
    let all = sets.iter().flat_map(|s| s.validators());
    all.filter_map(|v| Some((peer_id_of_address(&v.address)?, v.address))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_id_is_bound_to_the_validator_key() {
        let key = Keypair::from_seed([5; 32]);
        let id = peer_id_of(&key);
        assert_eq!(peer_id_of_address(&key.address()), Some(id));
        assert_ne!(peer_id_of(&Keypair::from_seed([6; 32])), id);
        // Stable across calls (it is derived, not random).
        assert_eq!(peer_id_of(&key).to_string(), id.to_string());
        assert!(id.to_string().starts_with("12D3KooW"));
    }
}
