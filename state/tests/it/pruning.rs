//! Pruning keeps exactly the configured window readable and provable.
use crate::common::*;
use cairn_state::{verify_proof, StateConfig, StateError, COLUMN_FAMILIES};

fn count_leaf_versions(path: &std::path::Path) -> usize {
    let db = rocksdb::DB::open_cf(&rocksdb::Options::default(), path, COLUMN_FAMILIES).unwrap();
    db.iterator_cf(db.cf_handle("tree_leaves").unwrap(), rocksdb::IteratorMode::Start).count()
}

#[test]
fn old_versions_are_pruned_and_the_window_stays_exact() {
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let pruned = fresh(d1.path(), 30, 1_000, StateConfig { retain_versions: 5, cached_versions: 2, ..test_config() });
    let full = fresh(d2.path(), 30, 1_000, test_config());
    for _ in 0..20 {
        let block = random_block(&full, 30, 30, 21);
        assert_eq!(pruned.commit_block(&block).unwrap(), full.commit_block(&block).unwrap());
    }
    assert_eq!(pruned.oldest_retained_height(), 16);
    assert!(matches!(pruned.account_at(&key(1).address(), 15), Err(StateError::Pruned { height: 15, oldest: 16 })));
    assert!(matches!(pruned.prove(&key(1).address(), 3), Err(StateError::Pruned { .. })));
    assert_eq!(pruned.root_at(3).unwrap(), full.root_at(3).unwrap(), "roots are kept for every height");
    for height in 16..=20 {
        let root = pruned.root_at(height).unwrap().unwrap();
        for i in 0..40 {
            let a = key(i).address();
            assert_eq!(pruned.account_at(&a, height).unwrap(), full.account_at(&a, height).unwrap());
            let (acct, proof) = pruned.prove(&a, height).unwrap();
            verify_proof(&root, &a, acct.as_ref(), &proof).unwrap();
        }
    }
    drop((pruned, full));
    assert!(count_leaf_versions(d1.path()) < count_leaf_versions(d2.path()));
    let reopened = open_with(d1.path(), StateConfig { retain_versions: 5, ..test_config() });
    assert_eq!((reopened.latest_height(), reopened.oldest_retained_height()), (20, 16));
}
