//! The authenticated account tree: a binary sparse merkle tree over 256-bit keys
//! (`blake3(address)`), with every single-leaf subtree compressed into one leaf at the depth
//! where its key first differs from all others (as in Diem/Aptos' JMT, but binary).
//!
//! Updates come in batches (one block's changed accounts, sorted by key): the tree is walked
//! once, only the touched paths are copied, and disjoint subtrees are rebuilt in parallel on
//! rayon. Accounts are never deleted (transfers cannot delete one), so the tree has no
//! deletion path. The hash rules are in [`node`]; the proof format in [`crate::proof`]; where
//! nodes live in [`arena`]; when old versions' nodes are reused in [`version`].
pub mod arena;
pub mod node;
pub mod version;

use crate::proof::{AccountProof, OtherLeaf};
use arena::{Alloc, Arena, NodeView, Slot, NONE};
use cairn_proto::Hash;
use node::{bit, internal_hash, Leaf, EMPTY_HASH};
use std::sync::Arc;
use version::Version;

/// Below this many leaves a subtree is built on the current thread: rayon's fork cost would
/// exceed the hashing it parallelises.
const PARALLEL_THRESHOLD: usize = 256;

/// One immutable version of the tree. Cloning is O(1) and shares every node.
#[derive(Clone)]
pub struct Tree {
    version: Arc<Version>,
    root: Child,
}

impl Default for Tree {
    /// An empty tree in a new arena.
    fn default() -> Tree {
        Tree { version: Version::root(Arc::new(Arena::new())), root: Child::EMPTY }
    }
}

impl std::fmt::Debug for Tree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tree").field("root_hash", &self.root.hash).finish_non_exhaustive()
    }
}

/// A subtree as its parent sees it: the slot of its top node and its hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Child {
    index: u32,
    hash: Hash,
}

impl Child {
    const EMPTY: Child = Child { index: NONE, hash: EMPTY_HASH };
}

impl Tree {
    /// Builds a tree from leaves sorted by key, without duplicates, in a new arena.
    pub fn build(leaves: &[Leaf]) -> Tree {
        debug_assert!(is_sorted_unique(leaves));
        let arena = Arc::new(Arena::new());
        let keys = keys_of(leaves);
        let alloc = Alloc::new(&arena);
        let root = build(&alloc, Batch { keys: &keys, leaves }, None, 0);
        alloc.finish();
        Tree { version: Version::root(arena), root }
    }

    /// Allocates room for the versions that updates will add before the first ones are
    /// dropped and their nodes reused (≈ 170k nodes per 10k-transfer block at 1M accounts, a
    /// few versions cached), so that the first commits do not grow the arena. For the tree a
    /// writer will update; a tree that is only read needs none.
    pub fn reserve_for_updates(&self) {
        let arena = &self.version.arena;
        arena.reserve(arena.live_slots() * 2);
    }

    /// A new version with `updates` (sorted by key, without duplicates) inserted or replaced.
    ///
    /// The new version is pending until [`Tree::accept`]: dropped before that, it gives its
    /// nodes back. Only one update may run on a lineage at a time (the state has one writer).
    pub fn apply(&self, updates: &[Leaf]) -> Tree {
        debug_assert!(is_sorted_unique(updates));
        let keys = keys_of(updates);
        let alloc = Alloc::new(&self.version.arena);
        let mut replaced = Vec::new();
        let root = update(&alloc, self.root, Batch { keys: &keys, leaves: updates }, 0, &mut replaced);
        let created = alloc.finish();
        Tree { version: Version::derived(&self.version, replaced, created), root }
    }

    /// Makes this version (from [`Tree::apply`]) its parent's successor, so that the nodes it
    /// replaced are reused once the parent and every older version are dropped. A no-op for
    /// a tree that is not pending. Panics if the parent was itself never accepted, or already
    /// has an accepted successor.
    pub fn accept(&self) {
        self.version.accept();
    }

    pub fn root_hash(&self) -> Hash {
        self.root.hash
    }

    /// Nodes this tree's arena holds for all its live versions (each leaf and internal node once).
    pub fn arena_nodes(&self) -> usize {
        self.version.arena.live_slots()
    }

    /// The leaf stored under `key`, if any.
    pub fn get(&self, key: &Hash) -> Option<Leaf> {
        self.descend(key, |_| {}).filter(|l| l.key == *key)
    }

    /// The proof for `key`: siblings from the root down to where the key's path ends, and
    /// the leaf found there (this key's leaf: inclusion; another key's: non-inclusion).
    pub fn prove(&self, key: &Hash) -> AccountProof {
        let mut siblings = Vec::new();
        let end = self.descend(key, |sibling| siblings.push(sibling));
        let other_leaf = end.filter(|l| l.key != *key).map(|l| OtherLeaf { key: l.key, value_hash: l.value_hash });
        AccountProof { siblings, other_leaf }
    }

    /// Follows `key`'s path from the root, passing each sibling's hash (root first) to
    /// `sibling`, to where it ends: a leaf (this key's or another's), or an empty subtree.
    fn descend(&self, key: &Hash, mut sibling: impl FnMut(Hash)) -> Option<Leaf> {
        let arena = &self.version.arena;
        let mut node = self.root;
        let mut depth = 0;
        while node.index != NONE {
            match arena.get(node.index).view() {
                NodeView::Leaf { key: k, value_hash } => return Some(Leaf { key: k, value_hash, hash: node.hash }),
                NodeView::Internal { hashes, children } => {
                    let side = bit(key, depth) as usize;
                    sibling(hashes[1 - side]);
                    node = Child { index: children[side], hash: hashes[side] };
                    depth += 1;
                }
            }
        }
        None
    }
}

fn is_sorted_unique(leaves: &[Leaf]) -> bool {
    leaves.windows(2).all(|w| w[0].key < w[1].key)
}

fn keys_of(leaves: &[Leaf]) -> Vec<Hash> {
    leaves.iter().map(|l| l.key).collect()
}

/// Runs `a` and `b`, in parallel when the subtree is large enough. Each side collects the
/// slots it replaced; the right side's list is appended to `replaced` after both finish.
fn join<A: Send, B: Send>(
    n: usize,
    replaced: &mut Vec<u32>,
    a: impl FnOnce(&mut Vec<u32>) -> A + Send,
    b: impl FnOnce(&mut Vec<u32>) -> B + Send,
) -> (A, B) {
    if n >= PARALLEL_THRESHOLD {
        let mut right = Vec::new();
        let out = rayon::join(|| a(replaced), || b(&mut right));
        replaced.append(&mut right);
        out
    } else {
        (a(replaced), b(replaced))
    }
}

/// Leaves sorted by key, with their keys copied side by side: splitting a batch binary-searches
/// the keys, and a contiguous array of them stays in cache.
#[derive(Clone, Copy)]
struct Batch<'a> {
    keys: &'a [Hash],
    leaves: &'a [Leaf],
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

/// An existing leaf that an update pushes down beside new ones: its key and where it is.
#[derive(Clone, Copy)]
struct Kept {
    key: Hash,
    node: Child,
}

/// The subtree at `depth` holding the new `leaves` and, if given, one existing leaf.
fn build(alloc: &Alloc, b: Batch, kept: Option<Kept>, depth: usize) -> Child {
    match (b.len(), kept) {
        (0, None) => Child::EMPTY,
        (0, Some(k)) => k.node,
        (1, None) => {
            let leaf = &b.leaves[0];
            Child { index: alloc.put(Slot::leaf(leaf.key, leaf.value_hash)), hash: leaf.hash }
        }
        (n, kept) => {
            let (left, right) = b.split_at_bit(depth);
            let (kept_left, kept_right) = match kept {
                Some(k) if bit(&k.key, depth) => (None, Some(k)),
                k => (k, None),
            };
            let (l, r) = if n >= PARALLEL_THRESHOLD {
                rayon::join(|| build(alloc, left, kept_left, depth + 1), || build(alloc, right, kept_right, depth + 1))
            } else {
                (build(alloc, left, kept_left, depth + 1), build(alloc, right, kept_right, depth + 1))
            };
            internal(alloc, l, r)
        }
    }
}

/// A new internal node over two subtrees.
fn internal(alloc: &Alloc, l: Child, r: Child) -> Child {
    let hashes = [l.hash, r.hash];
    Child { index: alloc.put(Slot::internal(hashes, [l.index, r.index])), hash: internal_hash(&l.hash, &r.hash) }
}

/// The subtree `node` at `depth` with `ups` applied; the slots it replaces go to `replaced`.
fn update(alloc: &Alloc, node: Child, ups: Batch, depth: usize, replaced: &mut Vec<u32>) -> Child {
    if ups.len() == 0 {
        return node;
    }
    if node.index == NONE {
        return build(alloc, ups, None, depth);
    }
    match alloc.arena().get(node.index).view() {
        NodeView::Leaf { key, .. } => match ups.keys.binary_search(&key) {
            // The old leaf is replaced; the subtree is just the new leaves.
            Ok(_) => {
                replaced.push(node.index);
                build(alloc, ups, None, depth)
            }
            // The old leaf stays and is pushed down beside the new ones.
            Err(_) => build(alloc, ups, Some(Kept { key, node }), depth),
        },
        NodeView::Internal { hashes, children } => {
            replaced.push(node.index);
            let (left, right) = ups.split_at_bit(depth);
            let l = Child { index: children[0], hash: hashes[0] };
            let r = Child { index: children[1], hash: hashes[1] };
            let (l, r) = join(
                ups.len(),
                replaced,
                |out| update(alloc, l, left, depth + 1, out),
                |out| update(alloc, r, right, depth + 1, out),
            );
            internal(alloc, l, r)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::node::{key_of, EMPTY_HASH};
    use super::*;
    use cairn_proto::{Account, Address};

    fn leaf(i: u8, balance: u64) -> Leaf {
        Leaf::new(key_of(&Address([i; 32])), &Account::new(balance, 0))
    }

    fn sorted(mut v: Vec<Leaf>) -> Vec<Leaf> {
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
        let tree = Tree::build(&sorted(vec![a, b]));
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
        let mut all: Vec<Leaf> = base.iter().filter(|l| !ups.iter().any(|u| u.key == l.key)).copied().collect();
        all.extend(ups.iter().copied());
        assert_eq!(v2.root_hash(), Tree::build(&sorted(all)).root_hash());
        assert_eq!(v1.root_hash(), Tree::build(&base).root_hash());
        assert_eq!(v2.get(&ups[0].key), Some(ups[0]));
        assert!(v1.get(&leaf(200, 4).key).is_none());
    }

    /// Nodes a tree of `n` distinct leaves has: the leaves and `n - 1` internal nodes, plus the
    /// internal nodes on single-child chains where two keys share a prefix below the split.
    fn nodes_of(tree: &Tree) -> usize {
        fn count(arena: &Arena, index: u32) -> usize {
            if index == NONE {
                return 0;
            }
            match arena.get(index).view() {
                NodeView::Leaf { .. } => 1,
                NodeView::Internal { children, .. } => 1 + count(arena, children[0]) + count(arena, children[1]),
            }
        }
        count(&tree.version.arena, tree.root.index)
    }

    #[test]
    fn a_dropped_pending_version_gives_its_nodes_back() {
        let base = Tree::build(&sorted((0..64).map(|i| leaf(i, 1)).collect()));
        let before = base.arena_nodes();
        assert_eq!(before, nodes_of(&base));
        let pending = base.apply(&sorted(vec![leaf(3, 9), leaf(100, 1)]));
        assert!(pending.arena_nodes() > before);
        drop(pending);
        assert_eq!(base.arena_nodes(), before);
        // The parent can still take an accepted successor afterwards.
        let next = base.apply(&sorted(vec![leaf(3, 9)]));
        next.accept();
        assert_eq!(next.get(&leaf(3, 9).key), Some(leaf(3, 9)));
    }

    #[test]
    fn replaced_nodes_are_reused_once_every_older_version_is_gone() {
        let v0 = Tree::build(&sorted((0..64).map(|i| leaf(i, 1)).collect()));
        let v1 = v0.apply(&sorted(vec![leaf(5, 2), leaf(70, 1)]));
        v1.accept();
        let v2 = v1.apply(&sorted(vec![leaf(6, 3)]));
        v2.accept();
        let (r0, r1, r2) = (v0.root_hash(), v1.root_hash(), v2.root_hash());
        // While v0 lives, nothing is freed: v0, v1 and v2 are all readable.
        drop(v1);
        assert_eq!(v0.arena_nodes(), nodes_of(&v0) + (v2.arena_nodes() - nodes_of(&v0)));
        assert!(v2.arena_nodes() > nodes_of(&v2));
        // Dropping v0 frees what v1 and v2 replaced: only v2's nodes stay.
        drop(v0);
        assert_eq!(v2.arena_nodes(), nodes_of(&v2));
        // Reused slots do not disturb the live version.
        let v3 = v2.apply(&sorted((0..64).map(|i| leaf(i, 7)).collect()));
        v3.accept();
        assert_eq!(v2.root_hash(), r2);
        assert_ne!(r0, r1);
        let expect = Tree::build(&sorted((0..64).map(|i| leaf(i, 7)).chain([leaf(70, 1)]).collect()));
        assert_eq!(v3.root_hash(), expect.root_hash());
        drop(v2);
        assert_eq!(v3.arena_nodes(), nodes_of(&v3));
    }

    #[test]
    #[should_panic(expected = "only one accepted successor")]
    fn a_version_takes_one_successor() {
        let v0 = Tree::build(&sorted((0..8).map(|i| leaf(i, 1)).collect()));
        let (a, b) = (v0.apply(&[leaf(1, 2)]), v0.apply(&[leaf(2, 2)]));
        a.accept();
        b.accept();
    }
}
