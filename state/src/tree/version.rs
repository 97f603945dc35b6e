//! Tree versions and when the slots they stop using can be reused.
//!
//! Versions of one lineage form a chain: each accepted version holds its successor alive, and
//! records which of its own slots the successor replaced. When a version is dropped, every
//! older version of its lineage is gone too (each held it), and the successor does not
//! contain the replaced slots, so nothing readable reaches them: they go back to the arena.
//! This is JMT's stale-node index, in memory.
//!
//! A version made by an update is *pending* until [`super::Tree::accept`]: the commit accepts
//! it only after the block is written, and a pending version that is dropped (the write
//! failed) gives back the slots it filled, while its parent keeps the slots it would have
//! replaced.
use super::arena::Arena;
use parking_lot::Mutex;
use std::sync::Arc;

pub struct Version {
    pub arena: Arc<Arena>,
    lifecycle: Mutex<Lifecycle>,
}

#[derive(Default)]
struct Lifecycle {
    pending: Option<Pending>,
    /// Slots of this version that the accepted successor replaced.
    replaced_by_next: Vec<u32>,
    next: Option<Arc<Version>>,
}

/// What an update did, kept until the new version is accepted or dropped.
struct Pending {
    parent: Arc<Version>,
    /// Slots of `parent` that the new version replaced.
    replaced: Vec<u32>,
    /// Slots the update filled.
    created: Vec<u32>,
}

impl Version {
    /// The first version of a lineage (a tree built from scratch).
    pub fn root(arena: Arc<Arena>) -> Arc<Version> {
        Arc::new(Version { arena, lifecycle: Mutex::default() })
    }

    /// A pending version derived from `parent` by an update.
    pub fn derived(parent: &Arc<Version>, replaced: Vec<u32>, created: Vec<u32>) -> Arc<Version> {
        let pending = Pending { parent: parent.clone(), replaced, created };
        Arc::new(Version {
            arena: parent.arena.clone(),
            lifecycle: Mutex::new(Lifecycle { pending: Some(pending), ..Lifecycle::default() }),
        })
    }

    /// Makes a pending version its parent's successor. A no-op for a version that is not
    /// pending. Panics if the parent is pending or already has a successor: the tree has one
    /// writer, which accepts each version before deriving the next.
    pub fn accept(self: &Arc<Version>) {
        let Some(Pending { parent, replaced, .. }) = self.lifecycle.lock().pending.take() else { return };
        let mut p = parent.lifecycle.lock();
        assert!(p.pending.is_none(), "accepting a version derived from a version that was never accepted");
        assert!(p.next.is_none(), "a tree version can have only one accepted successor");
        p.replaced_by_next = replaced;
        p.next = Some(self.clone());
    }

    /// Hands back what this version alone held, and takes its successor out.
    fn retire(&mut self) -> Option<Arc<Version>> {
        let life = std::mem::take(self.lifecycle.get_mut());
        match life.pending {
            // Dropped before it was accepted: nothing else reaches what the update filled.
            Some(p) => self.arena.release(p.created),
            None => self.arena.release(life.replaced_by_next),
        }
        life.next
    }
}

impl Drop for Version {
    fn drop(&mut self) {
        // Successors that only this version held are retired here too, in a loop rather than
        // by recursive drops, however long the chain that a reader kept alive.
        let mut next = self.retire();
        while let Some(version) = next {
            next = Arc::into_inner(version).and_then(|mut v| v.retire());
        }
    }
}
