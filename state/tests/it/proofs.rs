//! Inclusion and non-inclusion proofs at any retained height, and tampered proofs refused.
use crate::common::*;
use cairn_proto::{pb, Account, Address, Hash};
use cairn_state::{verify_account_proof, verify_proof, AccountProof, OtherLeaf, ProofError, Proven, StateConfig};

#[test]
fn proofs_verify_at_every_height_for_present_and_absent_accounts() {
    let dir = tempfile::tempdir().unwrap();
    // Two cached versions: heights below are proven from trees rebuilt from disk.
    let config = StateConfig { cached_versions: 2, ..test_config() };
    let state = fresh(dir.path(), 40, 1_000, config);
    for _ in 0..6 {
        state.commit_block(&random_block(&state, 40, 30, 3)).unwrap();
    }
    let mut absent_end_kinds = (0, 0);
    for height in 0..=6 {
        let root = state.root_at(height).unwrap().unwrap();
        for i in 0..60 {
            let address = key(i).address();
            let (account, proof) = state.prove(&address, height).unwrap();
            assert_eq!(account.unwrap_or_default(), state.account_at(&address, height).unwrap());
            verify_proof(&root, &address, account.as_ref(), &proof).unwrap();
            match (&account, &proof.other_leaf) {
                (None, Some(_)) => absent_end_kinds.0 += 1,
                (None, None) => absent_end_kinds.1 += 1,
                _ => {}
            }
            // The same proof cannot claim another value or absence/presence.
            let wrong = Account::new(account.unwrap_or_default().balance + 1, 0);
            assert!(verify_proof(&root, &address, Some(&wrong), &proof).is_err());
            if account.is_some() {
                assert!(verify_proof(&root, &address, None, &proof).is_err());
            }
            let back = AccountProof::from_pb(proof.to_pb()).unwrap();
            assert_eq!(back, proof);
            let json: AccountProof = serde_json::from_str(&serde_json::to_string(&proof).unwrap()).unwrap();
            assert_eq!(json, proof);
        }
    }
    assert!(absent_end_kinds.0 > 0 && absent_end_kinds.1 > 0, "both kinds of absence proof seen: {absent_end_kinds:?}");
}

#[test]
fn tampered_proofs_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let state = fresh(dir.path(), 64, 10, test_config());
    let root = state.state_root();
    let address = key(7).address();
    let (account, proof) = state.prove(&address, 0).unwrap();
    let account = account.unwrap();
    verify_proof(&root, &address, Some(&account), &proof).unwrap();
    for i in 0..proof.siblings.len() {
        let mut bad = proof.clone();
        bad.siblings[i].0[0] ^= 1;
        assert!(matches!(verify_proof(&root, &address, Some(&account), &bad), Err(ProofError::RootMismatch { .. })));
    }
    let mut short = proof.clone();
    short.siblings.pop();
    assert!(verify_proof(&root, &address, Some(&account), &short).is_err());
    let mut longer = proof.clone();
    longer.siblings.push(Hash::ZERO);
    assert!(verify_proof(&root, &address, Some(&account), &longer).is_err());
    assert!(verify_proof(&Hash::of(b"other root"), &address, Some(&account), &proof).is_err());
    assert!(verify_proof(&root, &key(8).address(), Some(&account), &proof).is_err());
    let with_other =
        AccountProof { other_leaf: Some(OtherLeaf { key: Hash::ZERO, value_hash: Hash::ZERO }), ..proof.clone() };
    assert_eq!(verify_proof(&root, &address, Some(&account), &with_other), Err(ProofError::UnexpectedOtherLeaf));
    let deep = AccountProof { siblings: vec![Hash::ZERO; 257], other_leaf: None };
    assert!(matches!(verify_proof(&root, &address, None, &deep), Err(ProofError::TooDeep { .. })));

    // An absent account cannot be "proven absent" by pointing at a leaf off its path.
    let missing = Address([0xee; 32]);
    let (none, absence) = state.prove(&missing, 0).unwrap();
    assert!(none.is_none());
    verify_proof(&root, &missing, None, &absence).unwrap();
    let forged = AccountProof {
        siblings: proof.siblings.clone(),
        other_leaf: Some(OtherLeaf { key: Hash::of(&address.0), value_hash: Hash::ZERO }),
    };
    assert!(verify_proof(&root, &missing, None, &forged).is_err());
    // A present account's own proof does not prove it absent.
    assert!(verify_proof(&root, &address, None, &AccountProof { other_leaf: None, ..proof }).is_err());
}

#[test]
fn malformed_pb_proofs_are_refused() {
    let p = pb::AccountProof { siblings: vec![vec![1u8; 31].into()], ..Default::default() };
    assert!(AccountProof::from_pb(p).is_err());
    let p = pb::AccountProof { other_leaf_key: vec![0u8; 32].into(), ..Default::default() };
    assert!(AccountProof::from_pb(p).is_err());
}

#[test]
fn a_genesis_of_only_the_validators_stake_proves_every_other_account_absent() {
    let dir = tempfile::tempdir().unwrap();
    let state = fresh(dir.path(), 0, 0, test_config());
    // The validator's stake is an account (minted at genesis), the only one.
    let root = state.state_root();
    assert_ne!(root, Hash::ZERO);
    let validator = state.validator_set_at(1).unwrap().unwrap().validators()[0].address;
    let (acct, proof) = state.prove(&validator, 0).unwrap();
    let acct = acct.unwrap();
    assert_eq!((acct.balance, acct.bonded), (0, cairn_proto::staking::STAKE_PER_POWER));
    verify_proof(&root, &validator, Some(&acct), &proof).unwrap();
    let (acct, proof) = state.prove(&key(1).address(), 0).unwrap();
    assert!(acct.is_none() && proof.siblings.is_empty());
    verify_proof(&root, &key(1).address(), None, &proof).unwrap();
}

#[test]
fn an_existing_empty_account_is_proven_present_and_absence_only_by_an_absence_proof() {
    let dir = tempfile::tempdir().unwrap();
    let state = fresh(dir.path(), 8, 100, test_config());
    // A transfer of amount 0 makes `empty` an account holding balance 0 and nonce 0.
    let (empty, missing) = (key(500).address(), key(501).address());
    state.commit_block(&next_block(&state, vec![transfer(&key(0), 0, empty, 0, 1)])).unwrap();
    let (root, height) = (state.state_root(), state.latest_height());
    let (account, proof) = state.prove(&empty, height).unwrap();
    assert_eq!(account, Some(Account::default()), "present, with zeros");
    assert_eq!(verify_account_proof(&root, &empty, &Account::default(), &proof), Ok(Proven::Present));
    // Reading the zeros as absence (what `query account --prove` did) refuses a valid proof.
    assert!(verify_proof(&root, &empty, None, &proof).is_err());

    let (none, absence) = state.prove(&missing, height).unwrap();
    assert_eq!(none, None);
    assert_eq!(verify_account_proof(&root, &missing, &Account::default(), &absence), Ok(Proven::Absent));

    // A funded account claimed as zeros, or an empty one claimed funded, proves nothing.
    let funded = key(1).address();
    let (_, funded_proof) = state.prove(&funded, height).unwrap();
    assert!(verify_account_proof(&root, &funded, &Account::default(), &funded_proof).is_err());
    let rich = Account::new(1, 0);
    assert!(verify_account_proof(&root, &empty, &rich, &proof).is_err());
    assert!(verify_account_proof(&root, &missing, &rich, &absence).is_err());
    // The present account's proof cannot be passed off as another address's absence.
    assert!(verify_account_proof(&root, &missing, &Account::default(), &proof).is_err());
}
