//! Genesis, block commit, the block store and the tx index.
use crate::common::*;
use cairn_proto::{Account, Hash};
use cairn_state::{State, StateError, TxLocation};

#[test]
fn genesis_is_written_once_and_checked_after() {
    let dir = tempfile::tempdir().unwrap();
    let state = open_with(dir.path(), test_config());
    assert_eq!(state.latest_height(), 0);
    assert!(matches!(state.commit_block(&next_block(&state, vec![])), Err(StateError::NoGenesis)));
    state.init_genesis(&genesis(10, 100)).unwrap();
    let root = state.state_root();
    assert_ne!(root, Hash::ZERO);
    assert_eq!(state.account(&key(3).address()), Account::new(100, 0));
    assert_eq!(state.root_at(0).unwrap(), Some(root));
    state.init_genesis(&genesis(10, 100)).unwrap();
    assert!(matches!(state.init_genesis(&genesis(10, 101)), Err(StateError::GenesisMismatch { .. })));
    drop(state);
    let state = open_with(dir.path(), test_config());
    assert_eq!(state.state_root(), root);
    assert!(matches!(state.init_genesis(&genesis(11, 100)), Err(StateError::GenesisMismatch { .. })));
}

#[test]
fn bad_genesis_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let state = open_with(dir.path(), test_config());
    let mut g = genesis(2, u64::MAX);
    assert!(matches!(state.init_genesis(&g), Err(StateError::InvalidGenesis(_))));
    g.accounts[1].address = g.accounts[0].address;
    g.accounts[0].balance = 1;
    g.accounts[1].balance = 1;
    assert!(matches!(state.init_genesis(&g), Err(StateError::InvalidGenesis(_))));
}

#[test]
fn commit_executes_indexes_and_stores_the_block() {
    let dir = tempfile::tempdir().unwrap();
    let state = fresh(dir.path(), 4, 100, test_config());
    let (a, b, c) = (key(0), key(1), key(9));
    let txs = vec![
        transfer(&a, 0, b.address(), 70, 1),
        transfer(&a, 1, c.address(), 30, 1), // a holds 29: fails, changes nothing
        transfer(&a, 1, c.address(), 20, 1),
        transfer(&b, 3, a.address(), 1, 1), // wrong nonce
    ];
    let hashes: Vec<Hash> = txs.iter().map(|t| t.hash()).collect();
    let genesis_root = state.state_root();
    let block = next_block(&state, txs);
    let out = state.commit_block(&block).unwrap();
    assert_eq!(out.height, 1);
    assert_eq!(out.state_root, state.state_root());
    assert_ne!(out.state_root, genesis_root);
    let errors: Vec<_> = out.receipts.iter().map(|r| r.error.as_deref()).collect();
    assert_eq!(errors, vec![None, Some("insufficient_balance"), None, Some("nonce_too_high")]);
    assert_eq!(state.account(&a.address()), Account::new(8, 2));
    assert_eq!(state.account(&b.address()), Account::new(170, 0));
    assert_eq!(state.account(&c.address()), Account::new(20, 0));
    assert!(out.touched.contains(&(c.address(), Account::new(20, 0))));
    assert!(out.touched.contains(&(b.address(), Account::new(170, 0))));
    assert_eq!(
        state.tx_location(&hashes[1]).unwrap(),
        Some(TxLocation { height: 1, index: 1, success: false, error: Some("insufficient_balance".into()) })
    );
    assert_eq!(
        state.tx_location(&hashes[2]).unwrap(),
        Some(TxLocation { height: 1, index: 2, success: true, error: None })
    );
    assert_eq!(state.tx_location(&Hash::of(b"nope")).unwrap(), None);
    assert_eq!(state.block(1).unwrap().as_ref(), Some(&block));
    assert_eq!(state.block_by_hash(&block.block.hash()).unwrap().as_ref(), Some(&block));
    assert_eq!(state.block(2).unwrap(), None);
    assert_eq!(state.account_at(&a.address(), 0).unwrap(), Account::new(100, 0));
    assert_eq!(state.account_at(&a.address(), 1).unwrap(), Account::new(8, 2));
    assert_eq!(state.root_at(0).unwrap(), Some(genesis_root));
    assert_eq!(state.root_at(2).unwrap(), None);
    assert!(matches!(state.account_at(&a.address(), 2), Err(StateError::FutureHeight { .. })));
}

#[test]
fn a_replayed_tx_keeps_its_first_location() {
    let dir = tempfile::tempdir().unwrap();
    let state = fresh(dir.path(), 2, 100, test_config());
    let tx = transfer(&key(0), 0, key(1).address(), 5, 1);
    state.commit_block(&next_block(&state, vec![tx.clone()])).unwrap();
    let out = state.commit_block(&next_block(&state, vec![tx.clone(), tx.clone()])).unwrap();
    assert_eq!(out.receipts[0].error.as_deref(), Some("nonce_too_low"));
    assert_eq!(
        state.tx_location(&tx.hash()).unwrap(),
        Some(TxLocation { height: 1, index: 0, success: true, error: None })
    );
}

#[test]
fn the_index_records_the_occurrence_that_succeeded() {
    let dir = tempfile::tempdir().unwrap();
    let state = fresh(dir.path(), 2, 100, test_config());
    let (second, first) = (transfer(&key(0), 1, key(1).address(), 5, 1), transfer(&key(0), 0, key(1).address(), 5, 1));
    // `second` fails at index 0 (nonce 1 before 0), then succeeds at index 2.
    let out = state.commit_block(&next_block(&state, vec![second.clone(), first, second.clone()])).unwrap();
    let errors: Vec<_> = out.receipts.iter().map(|r| r.error.as_deref()).collect();
    assert_eq!(errors, vec![Some("nonce_too_high"), None, None]);
    assert_eq!(
        state.tx_location(&second.hash()).unwrap(),
        Some(TxLocation { height: 1, index: 2, success: true, error: None })
    );
    // Included again, it fails (nonce too low): the successful location stays.
    let out = state.commit_block(&next_block(&state, vec![second.clone()])).unwrap();
    assert_eq!(out.receipts[0].error.as_deref(), Some("nonce_too_low"));
    assert_eq!(state.tx_location(&second.hash()).unwrap().map(|l| (l.height, l.index)), Some((1, 2)));
}

#[test]
fn wrong_height_chain_or_parent_root_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let state = fresh(dir.path(), 2, 100, test_config());
    let mut block = next_block(&state, vec![]);
    block.block.header.height = 2;
    assert!(matches!(state.commit_block(&block), Err(StateError::WrongHeight { expected: 1, got: 2 })));
    let mut block = next_block(&state, vec![]);
    block.block.header.state_root = Hash::of(b"diverged");
    assert!(matches!(state.commit_block(&block), Err(StateError::RootMismatch { .. })));
    let mut block = next_block(&state, vec![]);
    block.block.header.chain_id = "other".into();
    assert!(matches!(state.commit_block(&block), Err(StateError::WrongChain { .. })));
    assert_eq!(state.latest_height(), 0);
    assert_eq!(state.block(1).unwrap(), None);
}

#[test]
fn reopening_restores_the_same_state() {
    let dir = tempfile::tempdir().unwrap();
    let state = fresh(dir.path(), 30, 1_000, test_config());
    for _ in 0..10 {
        state.commit_block(&random_block(&state, 30, 40, 7)).unwrap();
    }
    let (root, acct) = (state.state_root(), state.account(&key(5).address()));
    drop(state);
    let state = open_with(dir.path(), test_config());
    assert_eq!((state.latest_height(), state.state_root()), (10, root));
    assert_eq!(state.account(&key(5).address()), acct);
    assert_eq!(state.account_at(&key(5).address(), 10).unwrap(), acct);
}

#[test]
fn execution_is_deterministic_across_stores() {
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let s1 = fresh(d1.path(), 20, 500, test_config());
    let s2: State = fresh(d2.path(), 20, 500, test_config());
    for _ in 0..8 {
        let block = random_block(&s1, 20, 50, 11);
        let (o1, o2) = (s1.commit_block(&block).unwrap(), s2.commit_block(&block).unwrap());
        assert_eq!(o1, o2);
        assert!(o1.receipts.iter().any(|r| !r.success), "the generator makes some txs fail");
    }
}
