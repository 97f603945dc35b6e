//! Nodes of the in-memory sparse merkle tree and the hash rules every verifier re-implements.
//!
//! Immutable, reference-counted nodes: an update copies only the paths it touches, so older
//! versions stay readable for as long as someone holds their root (structural sharing).
use cairn_proto::{Account, Address, Hash};
use std::sync::Arc;

/// Domain byte of a leaf hash: `blake3(0x00 || key || value_hash)`.
pub const LEAF_DOMAIN: u8 = 0x00;
/// Domain byte of an internal node hash: `blake3(0x01 || left || right)`.
pub const INTERNAL_DOMAIN: u8 = 0x01;
/// The hash of an empty subtree (and the root of an empty tree): 32 zero bytes.
pub const EMPTY_HASH: Hash = Hash::ZERO;

/// The tree key of an account: `blake3(address)`, which spreads keys uniformly so the tree
/// stays balanced whatever addresses users pick.
pub fn key_of(address: &Address) -> Hash {
    Hash::of(&address.0)
}

/// `blake3(Account::encode())`: the canonical protobuf encoding of the account.
pub fn value_hash(account: &Account) -> Hash {
    Hash::of(&account.encode())
}

pub fn leaf_hash(key: &Hash, value_hash: &Hash) -> Hash {
    let mut h = blake3::Hasher::new();
    h.update(&[LEAF_DOMAIN]).update(&key.0).update(&value_hash.0);
    Hash(*h.finalize().as_bytes())
}

pub fn internal_hash(left: &Hash, right: &Hash) -> Hash {
    let mut buf = [0u8; 65];
    buf[0] = INTERNAL_DOMAIN;
    buf[1..33].copy_from_slice(&left.0);
    buf[33..].copy_from_slice(&right.0);
    Hash(*blake3::hash(&buf).as_bytes())
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

#[derive(Debug)]
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

#[derive(Debug)]
pub struct Internal {
    pub hash: Hash,
    pub left: Option<Node>,
    pub right: Option<Node>,
}

impl Internal {
    pub fn new(left: Option<Node>, right: Option<Node>) -> Internal {
        let hash = internal_hash(&hash_of(&left), &hash_of(&right));
        Internal { hash, left, right }
    }

    pub fn child(&self, right: bool) -> &Option<Node> {
        if right {
            &self.right
        } else {
            &self.left
        }
    }
}

/// A non-empty subtree: a single (compressed) leaf or an internal node with two children, at
/// least one of which is non-empty. Empty subtrees are `None`.
#[derive(Clone, Debug)]
pub enum Node {
    Leaf(Arc<Leaf>),
    Internal(Arc<Internal>),
}

impl Node {
    pub fn hash(&self) -> Hash {
        match self {
            Node::Leaf(l) => l.hash,
            Node::Internal(n) => n.hash,
        }
    }
}

/// The hash of a possibly empty subtree.
pub fn hash_of(node: &Option<Node>) -> Hash {
    node.as_ref().map_or(EMPTY_HASH, Node::hash)
}
