//! Where the tree's nodes live: one arena of fixed-size slots per tree lineage, addressed by
//! `u32` index, with slots reused once no readable version can reach them.
//!
//! Why not one `Arc` per node: a block changes ≈ 170k nodes at 1M accounts, and with `Arc`
//! children every new node also bumped the reference count of its unchanged sibling (a cache
//! miss on a node the update does not otherwise touch), and freeing a retired version walked
//! all of its nodes again. Here a node holds its children's hashes and indices inline, so an
//! update reads only the nodes on its paths, and a retired version is freed by handing its
//! list of replaced slots back (see [`super::version`]).
//!
//! No `unsafe`: a slot is nine `AtomicU64` words, read and written with relaxed ordering
//! (plain loads and stores on x86-64 and arm64). Two rules, kept by [`super::version`] and
//! [`Alloc`], make that enough: a slot is written only while no readable version can reach
//! it (freshly taken, or freed after every version that contained it is gone), and a version
//! is handed to other threads only after its slots are written, through a lock or a thread
//! join, which orders the writes before the reads. Breaking the first rule would give wrong
//! nodes, never undefined behaviour.
use cairn_proto::Hash;
use parking_lot::Mutex;
use std::sync::atomic::{
    AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering::Acquire, Ordering::Relaxed, Ordering::Release,
};
use std::sync::OnceLock;

/// The index of no node: an empty subtree.
pub const NONE: u32 = u32::MAX;
/// In `Slot::children[0]`, marks a leaf.
const LEAF: u32 = u32::MAX - 1;
/// The first bucket holds 2^FIRST_BUCKET_BITS slots and each next one twice as many, so an
/// arena grows without moving a slot and its index finds the slot with two shifts.
const FIRST_BUCKET_BITS: u32 = 10;
const BUCKETS: usize = (33 - FIRST_BUCKET_BITS) as usize;

/// One node. An internal node holds its children's hashes and indices (an empty child is
/// `NONE` with the zero hash); a leaf holds its key and value hash. A node's own hash is kept
/// by its parent (the root's by the version), so updating a path never reads a sibling.
#[derive(Clone, Copy)]
pub struct Slot {
    a: Hash,
    b: Hash,
    children: [u32; 2],
}

/// A slot's contents, decoded.
pub enum NodeView {
    Internal { hashes: [Hash; 2], children: [u32; 2] },
    Leaf { key: Hash, value_hash: Hash },
}

impl Slot {
    pub fn internal(hashes: [Hash; 2], children: [u32; 2]) -> Slot {
        let [a, b] = hashes;
        Slot { a, b, children }
    }

    pub fn leaf(key: Hash, value_hash: Hash) -> Slot {
        Slot { a: key, b: value_hash, children: [LEAF, NONE] }
    }

    pub fn view(&self) -> NodeView {
        if self.children[0] == LEAF {
            NodeView::Leaf { key: self.a, value_hash: self.b }
        } else {
            NodeView::Internal { hashes: [self.a, self.b], children: self.children }
        }
    }
}

/// A slot's storage: the two hashes as four words each, then both child indices in one word.
#[derive(Default)]
struct Cell([AtomicU64; 9]);

impl Cell {
    fn load(&self) -> Slot {
        let w = |i: usize| self.0[i].load(Relaxed).to_ne_bytes();
        let hash = |at: usize| {
            let mut h = [0u8; 32];
            for (i, chunk) in h.chunks_exact_mut(8).enumerate() {
                chunk.copy_from_slice(&w(at + i));
            }
            Hash(h)
        };
        let c = self.0[8].load(Relaxed);
        Slot { a: hash(0), b: hash(4), children: [c as u32, (c >> 32) as u32] }
    }

    fn store(&self, slot: &Slot) {
        for (at, hash) in [(0, &slot.a), (4, &slot.b)] {
            for (i, chunk) in hash.0.chunks_exact(8).enumerate() {
                self.0[at + i].store(u64::from_ne_bytes(chunk.try_into().expect("8 bytes")), Relaxed);
            }
        }
        self.0[8].store(slot.children[0] as u64 | (slot.children[1] as u64) << 32, Relaxed);
    }
}

pub struct Arena {
    buckets: [OnceLock<Box<[Cell]>>; BUCKETS],
    /// Slots `0..fresh` have been handed out at least once.
    fresh: AtomicU32,
    /// Slots no readable version reaches, ready for reuse.
    free: Mutex<Vec<u32>>,
    /// Set while an [`Alloc`] is live: two at once would hand out the same fresh slots.
    updating: AtomicBool,
}

/// The bucket of slot `index` and the slot's place in it.
fn locate(index: u32) -> (usize, usize) {
    let j = index as u64 + (1 << FIRST_BUCKET_BITS);
    let bucket = 63 - j.leading_zeros() - FIRST_BUCKET_BITS;
    (bucket as usize, (j - (1 << (bucket + FIRST_BUCKET_BITS))) as usize)
}

impl Arena {
    pub fn new() -> Arena {
        Arena {
            buckets: Default::default(),
            fresh: AtomicU32::new(0),
            free: Mutex::new(Vec::new()),
            updating: AtomicBool::new(false),
        }
    }

    fn cell(&self, index: u32) -> &Cell {
        let (bucket, offset) = locate(index);
        let cells = self.buckets[bucket].get().expect("a tree slot that was never allocated");
        &cells[offset]
    }

    /// The node in slot `index` (which a readable version reaches).
    pub fn get(&self, index: u32) -> Slot {
        self.cell(index).load()
    }

    /// Allocates the buckets of slots `first..=last` that do not exist yet.
    fn ensure_allocated(&self, first: u32, last: u32) {
        let (from, _) = locate(first);
        let (to, _) = locate(last);
        for bucket in from..=to {
            self.buckets[bucket]
                .get_or_init(|| (0..1usize << (bucket as u32 + FIRST_BUCKET_BITS)).map(|_| Cell::default()).collect());
        }
    }

    /// Allocates room for at least `slots` slots in all.
    pub fn reserve(&self, slots: usize) {
        if slots > 0 {
            self.ensure_allocated(0, slots.min(LEAF as usize - 1) as u32 - 1);
        }
    }

    /// Returns slots that no readable version reaches any more.
    pub fn release(&self, slots: impl IntoIterator<Item = u32>) {
        self.free.lock().extend(slots);
    }

    /// Slots in use: handed out and not free.
    pub fn live_slots(&self) -> usize {
        self.fresh.load(Relaxed) as usize - self.free.lock().len()
    }
}

impl Default for Arena {
    fn default() -> Self {
        Arena::new()
    }
}

/// Slots a thread takes from the shared cursor at once. Taking them one by one made the
/// cursor's cache line bounce between the cores on every node (14 % of an update's time).
const BLOCK: usize = 64;

/// The allocator of one update: hands out the arena's free slots, then fresh ones, to any
/// number of rayon tasks at once.
///
/// Slots are numbered by *position*: positions below `reuse.len()` are the free slots at the
/// start of the update, the ones above are fresh slots in order. Each thread takes `BLOCK`
/// positions at a time from a shared cursor and fills them from its own block, which only it
/// writes (plain loads and stores, no lock, no contended cache line).
pub struct Alloc<'a> {
    arena: &'a Arena,
    reuse: Vec<u32>,
    /// The first fresh slot: position `reuse.len() + i` is slot `fresh_from + i`.
    fresh_from: u32,
    /// The first position not yet in any thread's block.
    cursor: AtomicUsize,
    /// One per rayon thread (callers outside the pool take positions one at a time).
    threads: Box<[Block]>,
}

/// A thread's block of positions: `next..end` are taken but not yet filled. Written only by
/// its thread.
#[derive(Default)]
#[repr(align(128))]
struct Block {
    next: AtomicUsize,
    end: AtomicUsize,
}

impl<'a> Alloc<'a> {
    /// Panics if another update of this arena is running (the tree has one writer).
    pub fn new(arena: &'a Arena) -> Alloc<'a> {
        assert!(!arena.updating.swap(true, Acquire), "two updates of one tree lineage at once");
        let reuse = std::mem::take(&mut *arena.free.lock());
        let threads = (0..rayon::current_num_threads()).map(|_| Block::default()).collect();
        let fresh_from = arena.fresh.load(Relaxed);
        Alloc { arena, reuse, fresh_from, cursor: AtomicUsize::new(0), threads }
    }

    pub fn arena(&self) -> &'a Arena {
        self.arena
    }

    fn slot_at(&self, position: usize) -> u32 {
        match self.reuse.get(position) {
            Some(&index) => index,
            None => self.fresh_from + (position - self.reuse.len()) as u32,
        }
    }

    /// Stores `slot` in a slot no version reaches and returns its index.
    pub fn put(&self, slot: Slot) -> u32 {
        let position = match rayon::current_thread_index().and_then(|i| self.threads.get(i)) {
            Some(block) => self.take_in(block),
            // Outside the pool (a caller's thread): one position at a time from the cursor.
            None => self.take_positions(1),
        };
        let index = self.slot_at(position);
        // Nothing reaches this slot: it is fresh, or free (see the module doc).
        self.arena.cell(index).store(&slot);
        index
    }

    /// The next position of this thread's block, refilled from the cursor when it runs out.
    fn take_in(&self, block: &Block) -> usize {
        let next = block.next.load(Relaxed);
        if next < block.end.load(Relaxed) {
            block.next.store(next + 1, Relaxed);
            return next;
        }
        let start = self.take_positions(BLOCK);
        block.next.store(start + 1, Relaxed);
        block.end.store(start + BLOCK, Relaxed);
        start
    }

    /// Takes `n` positions from the cursor, making sure the fresh slots among them exist.
    fn take_positions(&self, n: usize) -> usize {
        let start = self.cursor.fetch_add(n, Relaxed);
        let end = start + n;
        if end > self.reuse.len() {
            let fresh_end = self.fresh_from as usize + (end - self.reuse.len());
            assert!(fresh_end <= LEAF as usize, "the tree arena is full ({LEAF} nodes)");
            self.arena.fresh.fetch_max(fresh_end as u32, Relaxed);
            self.arena.ensure_allocated(self.slot_at(start.max(self.reuse.len())), self.slot_at(end - 1));
        }
        start
    }

    /// Ends the update: gives the slots taken but not filled back, and returns those filled.
    pub fn finish(self) -> Vec<u32> {
        let taken = self.cursor.load(Relaxed);
        let mut unfilled: Vec<(usize, usize)> = self
            .threads
            .iter()
            .map(|b| (b.next.load(Relaxed), b.end.load(Relaxed)))
            .filter(|(next, end)| next < end)
            .collect();
        unfilled.sort_unstable();
        let mut filled = Vec::with_capacity(taken);
        let mut from = 0;
        for &(next, end) in &unfilled {
            filled.extend((from..next).map(|p| self.slot_at(p)));
            from = end;
        }
        filled.extend((from..taken).map(|p| self.slot_at(p)));
        let returned = unfilled.iter().flat_map(|&(next, end)| next..end).chain(taken..self.reuse.len());
        self.arena.release(returned.map(|p| self.slot_at(p)));
        self.arena.updating.store(false, Release);
        filled
    }
}
