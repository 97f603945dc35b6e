//! Sync answers from a lying or junk-sending peer (`sync::verify_response`): a forged
//! certificate is caught before a single tx of its block is looked at, a block whose txs do not
//! verify is refused even with a good certificate, blocks out of order are refused, and a
//! claimed height is believed only together with a verified block.
use crate::fixtures::{certified_naming, keys, set_of, CHAIN};
use cairn_engine::{sync, Signers, SyncError};
use cairn_proto::{pb, CertifiedBlock, Hash, Keypair};
use std::cell::Cell;

/// Block `height` with `n` signed transfers, certified by `signers` (their precommits), in a
/// chain whose set never changes.
fn certified(height: u64, n: u64, signers: &[Keypair]) -> CertifiedBlock {
    certified_naming(height, n, signers, keys().1.hash())
}

fn answer(blocks: &[CertifiedBlock], latest_height: u64) -> pb::SyncResponse {
    pb::SyncResponse { blocks: blocks.iter().map(CertifiedBlock::to_pb).collect(), latest_height, ..Default::default() }
}

#[test]
fn honest_blocks_are_accepted_and_their_height_believed() {
    let (keys, set) = keys();
    let blocks = [certified(5, 3, &keys[..3]), certified(6, 2, &keys[1..])];
    let synced = sync::verify_response(answer(&blocks, 40), 5, CHAIN, &Signers::fixed(set.clone()), |_| None).unwrap();
    assert_eq!((synced.len(), synced.believed_height()), (2, Some(40)));
}

#[test]
fn a_claimed_height_alone_is_not_believed() {
    let (_, set) = keys();
    let synced =
        sync::verify_response(answer(&[], 1_000_000), 5, CHAIN, &Signers::fixed(set.clone()), |_| None).unwrap();
    assert_eq!(synced.believed_height(), None, "no verified block, so no reason to think we are behind");
}

#[test]
fn a_forged_certificate_is_caught_before_any_tx_is_looked_at() {
    let (keys, set) = keys();
    let outsiders: Vec<Keypair> = (50..53).map(|i| Keypair::from_seed([i; 32])).collect();
    // Signed by keys outside the set, and by too few validators: both refused, no tx touched.
    for signers in [&outsiders[..], &keys[..2]] {
        let looked_at = Cell::new(0);
        let known = |_: &Hash| {
            looked_at.set(looked_at.get() + 1);
            None
        };
        let err = sync::verify_response(
            answer(&[certified(5, 500, signers)], 9),
            5,
            CHAIN,
            &Signers::fixed(set.clone()),
            known,
        )
        .unwrap_err();
        assert!(matches!(err, SyncError::Certificate { height: 5, .. }), "{err}");
        assert_eq!(looked_at.get(), 0, "txs were looked at before the certificate was checked");
    }
}

#[test]
fn a_certificate_for_another_block_or_height_is_refused() {
    let (keys, set) = keys();
    let mut swapped = certified(5, 1, &keys[..3]);
    swapped.certificate = certified(5, 2, &keys[..3]).certificate;
    let err =
        sync::verify_response(answer(&[swapped], 9), 5, CHAIN, &Signers::fixed(set.clone()), |_| None).unwrap_err();
    assert!(matches!(err, SyncError::Certificate { height: 5, .. }), "{err}");
    let err = sync::verify_response(
        answer(&[certified(6, 1, &keys[..3])], 9),
        5,
        CHAIN,
        &Signers::fixed(set.clone()),
        |_| None,
    )
    .unwrap_err();
    assert!(matches!(err, SyncError::OutOfOrder { index: 0, got: 6, expected: 5 }), "{err}");
}

#[test]
fn a_certified_header_over_forged_txs_is_refused() {
    let (keys, set) = keys();
    let good = certified(5, 4, &keys[..3]);
    let mut resp = answer(&[good], 9);
    // Swap one tx's last byte (inside its signature): the header and certificate still match.
    let block = resp.blocks[0].block.as_mut().unwrap();
    let mut tx = block.txs[2].to_vec();
    let last = tx.len() - 1;
    tx[last] ^= 1;
    block.txs[2] = tx.into();
    let err = sync::verify_response(resp, 5, CHAIN, &Signers::fixed(set.clone()), |_| None).unwrap_err();
    assert!(matches!(err, SyncError::Transactions { height: 5, .. }), "{err}");
}

#[test]
fn the_next_block_is_checked_against_the_set_its_parent_named() {
    let (keys, set) = keys();
    // Height 6 is signed by validators 2..=5 (validator 1 left, 5 joined), as block 5 says.
    let joined: Vec<Keypair> = (2..=5).map(|i| Keypair::from_seed([i; 32])).collect();
    let later = set_of(&joined);
    let signers = Signers { current: set.clone(), next: later.clone() };
    let blocks = [certified_naming(5, 1, &keys[..3], later.hash()), certified_naming(6, 1, &joined[1..], later.hash())];
    let synced = sync::verify_response(answer(&blocks, 9), 5, CHAIN, &signers, |_| None).unwrap();
    assert_eq!(synced.len(), 2);

    // The same height-6 block signed by the old set (which holds too few of the new one) fails.
    let old_signed =
        [certified_naming(5, 1, &keys[..3], later.hash()), certified_naming(6, 1, &keys[..3], later.hash())];
    let err = sync::verify_response(answer(&old_signed, 9), 5, CHAIN, &signers, |_| None).unwrap_err();
    assert!(matches!(err, SyncError::Certificate { height: 6, .. }), "{err}");

    // A block naming a set this node does not know yet ends the answer there, unverified.
    let unknown = [certified_naming(5, 1, &keys[..3], Hash([3; 32])), certified_naming(6, 1, &keys[..3], set.hash())];
    let synced = sync::verify_response(answer(&unknown, 9), 5, CHAIN, &signers, |_| None).unwrap();
    assert_eq!(synced.len(), 1, "the block after a set change it cannot check is left for a later pull");
}
