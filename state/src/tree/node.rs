//! The hash rules of the sparse merkle tree, which every verifier re-implements, and the
//! leaf as updates carry it.
use cairn_proto::{Account, Address, Hash};

/// Key of leaf hashes, `blake3("cairn.v1 state tree leaf")`: a leaf hashes as
/// `blake3_keyed(LEAF_KEY, key || value_hash)`.
///
/// Keyed hashing separates the two node domains without a prefix byte, so both inputs are
/// exactly 64 bytes: one blake3 block, one compression per node instead of two.
pub const LEAF_KEY: [u8; 32] = [
    0x58, 0xa5, 0xbe, 0x20, 0x15, 0x98, 0xb2, 0x16, 0x09, 0x87, 0x9e, 0xa0, 0x74, 0x60, 0x8a, 0x70, 0x4f, 0xed, 0x71,
    0x9a, 0xa7, 0xc8, 0x51, 0x47, 0x1e, 0x08, 0xe7, 0x31, 0x3d, 0xf4, 0xd1, 0xf3,
];
/// Key of internal node hashes, `blake3("cairn.v1 state tree internal node")`: an internal
/// node hashes as `blake3_keyed(INTERNAL_KEY, left || right)`.
pub const INTERNAL_KEY: [u8; 32] = [
    0x5c, 0xc6, 0x69, 0x1e, 0x8e, 0xb6, 0xc7, 0xb2, 0xdb, 0x85, 0x55, 0x0e, 0xac, 0xaf, 0xc2, 0xc4, 0x5d, 0x22, 0x20,
    0xa4, 0x87, 0x58, 0xa8, 0x8b, 0x9e, 0x0c, 0xe8, 0x1c, 0xba, 0xad, 0xab, 0xde,
];
/// The hash of an empty subtree (and the root of an empty tree): 32 zero bytes.
pub const EMPTY_HASH: Hash = Hash::ZERO;

/// The tree key of an account: `blake3(address)`, which spreads keys uniformly so the tree
/// stays balanced whatever addresses users pick.
pub fn key_of(address: &Address) -> Hash {
    Hash::of(&address.0)
}

/// `blake3(Account::encode())`: the canonical protobuf encoding of the account.
pub fn value_hash(account: &Account) -> Hash {
    let mut buf = [0u8; Account::MAX_ENCODED_LEN];
    let len = account.encode_into(&mut buf);
    Hash::of(&buf[..len])
}

pub fn leaf_hash(key: &Hash, value_hash: &Hash) -> Hash {
    keyed_pair_hash(&LEAF_KEY, key, value_hash)
}

pub fn internal_hash(left: &Hash, right: &Hash) -> Hash {
    keyed_pair_hash(&INTERNAL_KEY, left, right)
}

fn keyed_pair_hash(domain: &[u8; 32], a: &Hash, b: &Hash) -> Hash {
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(&a.0);
    buf[32..].copy_from_slice(&b.0);
    Hash(*blake3::keyed_hash(domain, &buf).as_bytes())
}

/// Bit `i` of a key, most significant bit of byte 0 first: bit 0 picks the root's child.
pub fn bit(key: &Hash, i: usize) -> bool {
    (key.0[i / 8] >> (7 - (i % 8))) & 1 == 1
}

/// How many leading bits two keys share (256 when equal).
pub fn common_prefix_bits(a: &Hash, b: &Hash) -> usize {
    for (i, (x, y)) in a.0.iter().zip(b.0.iter()).enumerate() {
        let d = x ^ y;
        if d != 0 {
            return i * 8 + d.leading_zeros() as usize;
        }
    }
    256
}

/// An account as the tree sees it: its key, the hash of its value, and its leaf hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Leaf {
    pub key: Hash,
    pub value_hash: Hash,
    pub hash: Hash,
}

impl Leaf {
    pub fn new(key: Hash, account: &Account) -> Leaf {
        let value_hash = value_hash(account);
        Leaf { key, value_hash, hash: leaf_hash(&key, &value_hash) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_keys_are_the_documented_hashes() {
        assert_eq!(*blake3::hash(b"cairn.v1 state tree leaf").as_bytes(), LEAF_KEY);
        assert_eq!(*blake3::hash(b"cairn.v1 state tree internal node").as_bytes(), INTERNAL_KEY);
    }

    #[test]
    fn leaf_and_internal_hashes_differ_on_the_same_input() {
        let (a, b) = (Hash([1; 32]), Hash([2; 32]));
        assert_ne!(leaf_hash(&a, &b), internal_hash(&a, &b));
    }
}
