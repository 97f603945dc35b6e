//! The binary merkle root over a block's transaction hashes (RFC 6962 shape, blake3,
//! domain-separated leaves and nodes) that goes into `Header::tx_root`.
use crate::Hash;

/// `merkle_root([])` = 32 zero bytes; a leaf is `blake3(0x00 || tx_hash)`; a node is
/// `blake3(0x01 || left || right)`, splitting `n` items at the largest power of two below `n`.
pub fn merkle_root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => Hash::ZERO,
        1 => {
            let mut h = blake3::Hasher::new();
            h.update(&[0]).update(&leaves[0].0);
            Hash(*h.finalize().as_bytes())
        }
        n => {
            let split = n.next_power_of_two() / 2;
            let (l, r) = (merkle_root(&leaves[..split]), merkle_root(&leaves[split..]));
            let mut h = blake3::Hasher::new();
            h.update(&[1]).update(&l.0).update(&r.0);
            Hash(*h.finalize().as_bytes())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_depends_on_every_leaf_and_on_order() {
        let leaves: Vec<Hash> = (0..5u8).map(|i| Hash::of(&[i])).collect();
        let root = merkle_root(&leaves);
        let mut swapped = leaves.clone();
        swapped.swap(1, 2);
        assert_ne!(root, merkle_root(&swapped));
        assert_ne!(root, merkle_root(&leaves[..4]));
        assert_eq!(merkle_root(&[]), Hash::ZERO);
        assert_ne!(merkle_root(&leaves[..1]), leaves[0]);
    }
}
