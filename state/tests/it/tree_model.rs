//! The tree against a reference model: a `BTreeMap` of accounts and a naive recursive root
//! that knows nothing of incremental updates, node sharing or parallelism.
use cairn_proto::{Account, Address, Hash};
use cairn_state::tree::node::{bit, internal_hash, key_of, leaf_hash, value_hash, Leaf, EMPTY_HASH};
use cairn_state::tree::Tree;
use cairn_state::verify_proof;
use proptest::prelude::*;
use std::collections::{BTreeMap, VecDeque};

/// The root by the definition: empty = zeros, one leaf = its leaf hash, else hash the halves.
fn naive_root(leaves: &[(Hash, Hash)], depth: usize) -> Hash {
    match leaves {
        [] => EMPTY_HASH,
        [(k, v)] => leaf_hash(k, v),
        _ => {
            let (l, r): (Vec<_>, Vec<_>) = leaves.iter().partition(|(k, _)| !bit(k, depth));
            internal_hash(&naive_root(&l, depth + 1), &naive_root(&r, depth + 1))
        }
    }
}

fn model_root(model: &BTreeMap<Address, Account>) -> Hash {
    let mut leaves: Vec<(Hash, Hash)> = model.iter().map(|(a, acct)| (key_of(a), value_hash(acct))).collect();
    leaves.sort();
    naive_root(&leaves, 0)
}

fn leaves(batch: &BTreeMap<Address, Account>) -> Vec<Leaf> {
    let mut v: Vec<Leaf> = batch.iter().map(|(a, acct)| Leaf::new(key_of(a), acct)).collect();
    v.sort_by_key(|l| l.key);
    v
}

fn batches() -> impl Strategy<Value = Vec<BTreeMap<Address, Account>>> {
    // Small address space (u8) so batches overwrite each other's accounts often.
    let account = (0u64..1_000, 0u64..5).prop_map(|(balance, nonce)| Account::new(balance, nonce));
    let batch = prop::collection::btree_map(any::<u8>().prop_map(|b| Address([b; 32])), account, 0..40);
    prop::collection::vec(batch, 1..8)
}

/// Checks that `tree` holds exactly `model`: its root, and proofs for a spread of addresses.
fn check_version(tree: &Tree, model: &BTreeMap<Address, Account>) -> Result<(), TestCaseError> {
    let root = tree.root_hash();
    prop_assert_eq!(root, model_root(model));
    for b in (0u8..=255).step_by(17) {
        let address = Address([b; 32]);
        let proof = tree.prove(&key_of(&address));
        prop_assert!(verify_proof(&root, &address, model.get(&address), &proof).is_ok());
        let claim = Account::new(model.get(&address).map_or(1, |a| a.balance + 1), 0);
        prop_assert!(verify_proof(&root, &address, Some(&claim), &proof).is_err());
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Each batch makes a new version; only the last `window` versions are kept, so nodes of
    /// dropped versions are reused by later updates while the kept ones are still read.
    #[test]
    fn incremental_updates_match_the_model(batches in batches(), window in 1usize..=8) {
        let mut model = BTreeMap::new();
        let mut tree = Tree::default();
        let mut versions = VecDeque::new();
        for batch in &batches {
            tree = tree.apply(&leaves(batch));
            tree.accept();
            model.extend(batch.iter().map(|(a, acct)| (*a, *acct)));
            prop_assert_eq!(tree.root_hash(), model_root(&model));
            prop_assert_eq!(Tree::build(&leaves(&model)).root_hash(), tree.root_hash());
            versions.push_back((tree.clone(), model.clone()));
            if versions.len() > window {
                versions.pop_front();
            }
            // Kept versions are untouched by later updates and by the reuse of dropped ones'
            // nodes, and prove their own contents.
            for (tree, model) in &versions {
                check_version(tree, model)?;
            }
        }
    }
}
