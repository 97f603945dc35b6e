//! The authenticated account tree: a binary sparse merkle tree over 256-bit keys
//! (`blake3(address)`), with every single-leaf subtree compressed into one leaf at the depth
//! where its key first differs from all others (as in Diem/Aptos' JMT, but binary).
//!
//! Updates come in batches (one block's changed accounts, sorted by key): the tree is walked
//! once, only the touched paths are copied, and disjoint subtrees are rebuilt in parallel on
//! rayon. Accounts are never deleted (transfers cannot delete one), so the tree has no
//! deletion path. The hash rules are in [`node`]; the proof format in [`crate::proof`].
pub mod node;
pub mod reclaim;

use crate::proof::{AccountProof, OtherLeaf};
use cairn_proto::Hash;
use node::{bit, hash_of, Internal, Leaf, Node};
use std::sync::Arc;

/// Below this many leaves a subtree is built on the current thread: rayon's fork cost would
/// exceed the hashing it parallelises.
const PARALLEL_THRESHOLD: usize = 256;

/// One immutable version of the tree. Cloning is O(1) and shares every node.
#[derive(Clone, Debug, Default)]
pub struct Tree {
    root: Option<Node>,
}

impl Tree {
    /// Builds a tree from leaves sorted by key, without duplicates.
    pub fn build(leaves: &[Arc<Leaf>]) -> Tree {
        debug_assert!(is_sorted_unique(leaves));
        let keys = keys_of(leaves);
        Tree { root: build(Batch { keys: &keys, leaves }, 0) }
    }

    /// A new version with `updates` (sorted by key, without duplicates) inserted or replaced.
    pub fn apply(&self, updates: &[Arc<Leaf>]) -> Tree {
        debug_assert!(is_sorted_unique(updates));
        let keys = keys_of(updates);
        Tree { root: update(&self.root, Batch { keys: &keys, leaves: updates }, 0) }
    }

    pub fn root_hash(&self) -> Hash {
        hash_of(&self.root)
    }

    /// The leaf stored under `key`, if any.
    pub fn get(&self, key: &Hash) -> Option<&Arc<Leaf>> {
        let mut node = self.root.as_ref()?;
        let mut depth = 0;
        loop {
            match node {
                Node::Leaf(l) => return (l.key == *key).then_some(l),
                Node::Internal(n) => {
                    node = n.child(bit(key, depth)).as_ref()?;
                    depth += 1;
                }
            }
        }
    }

    /// The proof for `key`: siblings from the root down to where the key's path ends, and
    /// the leaf found there (this key's leaf: inclusion; another key's: non-inclusion).
    pub fn prove(&self, key: &Hash) -> AccountProof {
        let mut siblings = Vec::new();
        let mut node = &self.root;
        let mut depth = 0;
        loop {
            match node {
                None => return AccountProof { siblings, other_leaf: None },
                Some(Node::Leaf(l)) => {
                    let other_leaf = (l.key != *key).then(|| OtherLeaf { key: l.key, value_hash: l.value_hash });
                    return AccountProof { siblings, other_leaf };
                }
                Some(Node::Internal(n)) => {
                    let right = bit(key, depth);
                    siblings.push(hash_of(n.child(!right)));
                    node = n.child(right);
                    depth += 1;
                }
            }
        }
    }
}

fn is_sorted_unique(leaves: &[Arc<Leaf>]) -> bool {
    leaves.windows(2).all(|w| w[0].key < w[1].key)
}

fn keys_of(leaves: &[Arc<Leaf>]) -> Vec<Hash> {
    leaves.iter().map(|l| l.key).collect()
}

fn join<A: Send, B: Send>(n: usize, a: impl FnOnce() -> A + Send, b: impl FnOnce() -> B + Send) -> (A, B) {
    if n >= PARALLEL_THRESHOLD {
        rayon::join(a, b)
    } else {
        (a(), b())
    }
}

/// Leaves sorted by key, with their keys copied side by side: splitting a batch binary-searches
/// the keys, and a contiguous array of them stays in cache where chasing each leaf's pointer
/// would miss.
#[derive(Clone, Copy)]
struct Batch<'a> {
    keys: &'a [Hash],
    leaves: &'a [Arc<Leaf>],
}

impl<'a> Batch<'a> {
    fn len(&self) -> usize {
        self.keys.len()
    }

    /// Leaves of one subtree at `depth` all share the key's first `depth` bits, so sorted
    /// order puts the left child's leaves (bit `depth` = 0) first.
    fn split_at_bit(self, depth: usize) -> (Batch<'a>, Batch<'a>) {
        let mid = self.keys.partition_point(|k| !bit(k, depth));
        let (kl, kr) = self.keys.split_at(mid);
        let (ll, lr) = self.leaves.split_at(mid);
        (Batch { keys: kl, leaves: ll }, Batch { keys: kr, leaves: lr })
    }
}

fn build(b: Batch, depth: usize) -> Option<Node> {
    match b.len() {
        0 => None,
        1 => Some(Node::Leaf(b.leaves[0].clone())),
        n => {
            let (left, right) = b.split_at_bit(depth);
            let (l, r) = join(n, || build(left, depth + 1), || build(right, depth + 1));
            Some(Node::Internal(Arc::new(Internal::new(l, r))))
        }
    }
}

fn update(node: &Option<Node>, ups: Batch, depth: usize) -> Option<Node> {
    if ups.keys.is_empty() {
        return node.clone();
    }
    match node {
        None => build(ups, depth),
        Some(Node::Leaf(old)) => match ups.keys.binary_search(&old.key) {
            // The old leaf is replaced; the subtree is just the new leaves.
            Ok(_) => build(ups, depth),
            // The old leaf stays and is pushed down beside the new ones.
            Err(pos) => {
                let mut leaves = Vec::with_capacity(ups.len() + 1);
                leaves.extend_from_slice(&ups.leaves[..pos]);
                leaves.push(old.clone());
                leaves.extend_from_slice(&ups.leaves[pos..]);
                let keys = keys_of(&leaves);
                build(Batch { keys: &keys, leaves: &leaves }, depth)
            }
        },
        Some(Node::Internal(n)) => {
            let (left, right) = ups.split_at_bit(depth);
            let (l, r) = join(ups.len(), || update(&n.left, left, depth + 1), || update(&n.right, right, depth + 1));
            Some(Node::Internal(Arc::new(Internal::new(l, r))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::node::{internal_hash, key_of, EMPTY_HASH};
    use super::*;
    use cairn_proto::{Account, Address};

    fn leaf(i: u8, balance: u64) -> Arc<Leaf> {
        Arc::new(Leaf::new(key_of(&Address([i; 32])), &Account { balance, nonce: 0 }))
    }

    fn sorted(mut v: Vec<Arc<Leaf>>) -> Vec<Arc<Leaf>> {
        v.sort_by_key(|l| l.key);
        v
    }

    #[test]
    fn empty_and_single_leaf_roots() {
        assert_eq!(Tree::default().root_hash(), EMPTY_HASH);
        let l = leaf(1, 5);
        assert_eq!(Tree::build(std::slice::from_ref(&l)).root_hash(), l.hash);
    }

    #[test]
    fn two_leaves_hash_by_their_first_differing_bit() {
        let (a, b) = (leaf(1, 1), leaf(2, 2));
        let tree = Tree::build(&sorted(vec![a.clone(), b.clone()]));
        let d = node::common_prefix_bits(&a.key, &b.key);
        let (lo, hi) = if bit(&a.key, d) { (&b, &a) } else { (&a, &b) };
        let mut h = internal_hash(&lo.hash, &hi.hash);
        for i in (0..d).rev() {
            h = if bit(&a.key, i) { internal_hash(&EMPTY_HASH, &h) } else { internal_hash(&h, &EMPTY_HASH) };
        }
        assert_eq!(tree.root_hash(), h);
    }

    #[test]
    fn apply_matches_build_and_keeps_old_versions() {
        let base = sorted((0..50).map(|i| leaf(i, 1)).collect());
        let v1 = Tree::build(&base);
        let ups = sorted(vec![leaf(3, 9), leaf(200, 4), leaf(17, 0)]);
        let v2 = v1.apply(&ups);
        let mut all: Vec<Arc<Leaf>> = base.iter().filter(|l| !ups.iter().any(|u| u.key == l.key)).cloned().collect();
        all.extend(ups.iter().cloned());
        assert_eq!(v2.root_hash(), Tree::build(&sorted(all)).root_hash());
        assert_eq!(v1.root_hash(), Tree::build(&base).root_hash());
        assert_eq!(v2.get(&ups[0].key).map(|l| l.hash), Some(ups[0].hash));
        assert!(v1.get(&leaf(200, 4).key).is_none());
    }
}
