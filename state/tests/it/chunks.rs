//! State-sync chunks (`State::snapshot_chunks`): the manifest of a past height folds to that
//! height's committed root and every chunk verifies against it, for states from empty-ish (one
//! account in most chunks: the compression rule at the fold) to thousands of accounts; a
//! manifest for another root, with a chunk's hash altered, or a lone account's count, a
//! chunk with an altered balance, a dropped, an added or a reordered account, or a chunk sent
//! under another index, is each refused.
use crate::common::*;
use cairn_proto::Account;
use cairn_state::{ChunkError, SnapshotChunk, SnapshotManifest, CHUNKS};

fn verified(manifest: &SnapshotManifest, chunks: &[SnapshotChunk]) {
    manifest.verify(&manifest.state_root).unwrap();
    for c in chunks {
        c.verify(manifest).unwrap_or_else(|e| panic!("chunk {}: {e}", c.index));
    }
}

#[test]
fn chunks_of_small_and_large_states_verify_against_the_committed_root() {
    for accounts in [1, 3, 200, 5_000] {
        let dir = tempfile::tempdir().unwrap();
        let state = fresh(dir.path(), accounts, 1_000, test_config());
        for seed in 0..3 {
            state.commit_block(&random_block(&state, accounts, 50, seed)).unwrap();
        }
        for height in [1, state.latest_height()] {
            let (manifest, chunks) = state.snapshot_chunks(height).unwrap();
            assert_eq!(manifest.state_root, state.root_at(height).unwrap().unwrap());
            assert_eq!(chunks.len(), CHUNKS);
            let held: u64 = manifest.chunks.iter().map(|c| c.accounts).sum();
            assert!(held > accounts, "{accounts} funded accounts and a validator, {held} in the snapshot");
            verified(&manifest, &chunks);
        }
    }
}

#[test]
fn a_lying_manifest_or_chunk_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let state = fresh(dir.path(), 2_000, 1_000, test_config());
    state.commit_block(&random_block(&state, 2_000, 100, 7)).unwrap();
    let (manifest, chunks) = state.snapshot_chunks(1).unwrap();
    let other_root = cairn_proto::Hash([9; 32]);
    assert!(matches!(manifest.verify(&other_root), Err(ChunkError::Root { .. })));
    let mut forged = manifest.clone();
    forged.chunks[3].hash = cairn_proto::Hash([7; 32]);
    assert!(matches!(forged.verify(&manifest.state_root), Err(ChunkError::Root { .. })));
    let chunk = chunks.iter().find(|c| c.accounts.len() >= 3).unwrap().clone();
    let refuse = |c: SnapshotChunk| c.verify(&manifest).unwrap_err();
    let mut richer = chunk.clone();
    richer.accounts[1].1 = Account { balance: richer.accounts[1].1.balance + 1, ..richer.accounts[1].1 };
    assert!(matches!(refuse(richer), ChunkError::Hash { .. }));
    let mut fewer = chunk.clone();
    fewer.accounts.pop();
    assert!(matches!(refuse(fewer), ChunkError::Hash { .. }));
    let mut swapped = chunk.clone();
    swapped.accounts.swap(0, 1);
    assert!(matches!(refuse(swapped), ChunkError::Misplaced { .. }));
    let mut moved = chunk.clone();
    moved.index = (chunk.index + 1) % CHUNKS;
    assert!(matches!(refuse(moved), ChunkError::Misplaced { .. }));
    let mut added = chunk.clone();
    let stranger = chunks.iter().find(|c| c.index != chunk.index && !c.accounts.is_empty()).unwrap();
    added.accounts.push(stranger.accounts[0]);
    assert!(matches!(refuse(added), ChunkError::Misplaced { .. }));
    assert_eq!(chunk.verify(&manifest), Ok(()), "the unaltered chunk still verifies");
}

/// Where a chunk's sibling subtree is empty, the compression rule makes its count matter to
/// the fold: a single account said to be none or several is refused. (Beside a non-empty
/// sibling one and several fold alike, and the chunk is judged by its hash.)
#[test]
fn a_lie_about_a_lone_account_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let state = fresh(dir.path(), 3, 1_000, test_config());
    let (manifest, chunks) = state.snapshot_chunks(0).unwrap();
    verified(&manifest, &chunks);
    let lone = (0..CHUNKS)
        .find(|i| manifest.chunks[*i].accounts == 1 && manifest.chunks[i ^ 1].accounts == 0)
        .expect("a lone account beside an empty chunk among 4 accounts in 256 chunks");
    for claimed in [0, 2] {
        let mut forged = manifest.clone();
        forged.chunks[lone].accounts = claimed;
        let err = forged.verify(&manifest.state_root).unwrap_err();
        assert!(matches!(err, ChunkError::Root { .. }), "claimed {claimed}: {err}");
    }
}

/// A store restored from the chunks of height h (with block h as its tip and the set of h + 1
/// given) is the original at h: same root, accounts, stakes and sets; the next block commits
/// to the same root on both; and chunks that do not match their manifest restore nothing.
#[test]
fn a_restored_store_goes_on_as_the_original() {
    use cairn_proto::staking::STAKE_PER_POWER;
    use cairn_proto::{Stake, TxAction, TxBody};
    let (dir, target) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let state = fresh(dir.path(), 300, 10 * STAKE_PER_POWER, test_config());
    let joiner = key(5);
    let action = TxAction::Stake(Stake { amount: 2 * STAKE_PER_POWER });
    let stake = TxBody { chain_id: CHAIN.into(), sender: joiner.address(), nonce: 0, fee: 1, action }.sign(&joiner);
    state.commit_block(&next_block(&state, vec![stake])).unwrap();
    for seed in 0..3 {
        state.commit_block(&random_block(&state, 300, 40, seed)).unwrap();
    }
    let h = state.latest_height();
    let (manifest, chunks) = state.snapshot_chunks(h).unwrap();
    let tip = state.block(h).unwrap().unwrap();
    let next_set = state.validator_set_at(h + 1).unwrap().unwrap();
    let genesis = genesis(300, 10 * STAKE_PER_POWER);

    // A chunk that does not match: nothing is restored, nothing is left behind.
    let mut bad = chunks.clone();
    let lied = bad.iter_mut().find(|c| !c.accounts.is_empty()).unwrap();
    lied.accounts[0].1.balance += 1;
    let to = target.path().join("bad");
    let restore = |chunks| cairn_state::Restore {
        genesis: &genesis,
        manifest: &manifest,
        chunks,
        tip: &tip,
        next_set: &next_set,
    };
    let err = cairn_state::State::restore(&to, test_config(), restore(bad)).err().expect("a lying chunk restored");
    assert!(err.to_string().contains("state root"), "{err}");
    assert!(!to.exists(), "a failed restore left {}", to.display());

    let to = target.path().join("good");
    let restored = cairn_state::State::restore(&to, test_config(), restore(chunks)).unwrap();
    assert_eq!((restored.latest_height(), restored.state_root()), (h, state.state_root()));
    assert_eq!(restored.chain_id(), state.chain_id());
    assert_eq!(restored.block(h).unwrap(), Some(tip.clone()));
    for height in [h + 1, h + 2] {
        assert_eq!(restored.validator_set_at(height).unwrap(), state.validator_set_at(height).unwrap());
    }
    assert_eq!(restored.validator_set_at(h + 2).unwrap().unwrap().power_of(&joiner.address()), 2);
    for i in [0, 5, 17, 299] {
        assert_eq!(restored.account(&key(i).address()), state.account(&key(i).address()), "account {i}");
    }
    let next = random_block(&state, 300, 40, 99);
    let (a, b) = (state.commit_block(&next).unwrap(), restored.commit_block(&next).unwrap());
    assert_eq!((a.state_root, a.later_set), (b.state_root, b.later_set));
    // And it reopens as any store does.
    drop(restored);
    assert_eq!(open_with(&to, test_config()).state_root(), state.state_root());
}
