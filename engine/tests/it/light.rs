//! Light verification (`cairn_engine::light`) from the genesis set across a join and a leave:
//! the honest chain is followed, and each lie is refused at its step — a set whose hash the
//! certified header did not name, a block signed by a set that no longer holds the power, a
//! certificate for another header, a block of another chain or height.
use crate::fixtures::{certified_naming, keys, set_of, CHAIN};
use cairn_engine::light::{LightChain, LightError};
use cairn_proto::{CertifiedBlock, Keypair, ValidatorSet};

/// Heights 1..=5: blocks 1 and 2 signed by keys 1-4 (A); block 2 names A + key 5 (B) for
/// height 3; block 3 names B; block 4 names keys 2-5 (C, key 1 left) for height 5.
struct Chain {
    blocks: Vec<CertifiedBlock>,
    sets: [ValidatorSet; 3],
    keys: Vec<Keypair>,
}

fn chain() -> Chain {
    let (mut keys, a) = keys();
    keys.push(Keypair::from_seed([5; 32]));
    let (b, c) = (set_of(&keys), set_of(&keys[1..]));
    let blocks = vec![
        certified_naming(1, 0, &keys[..3], a.hash()),
        certified_naming(2, 1, &keys[1..4], b.hash()),
        certified_naming(3, 0, &keys[1..5], b.hash()),
        certified_naming(4, 2, &keys[..4], c.hash()),
        certified_naming(5, 0, &keys[2..5], c.hash()),
    ];
    Chain { blocks, sets: [a, b, c], keys }
}

/// Verifies and advances over `blocks`, fetching the next set from `sets` when it changes.
fn follow(light: &mut LightChain, blocks: &[CertifiedBlock], sets: &[ValidatorSet]) -> Result<(), LightError> {
    for cb in blocks {
        let header = &cb.block.header;
        light.verify(header, &cb.certificate)?;
        let next = light
            .needs_set(header)
            .then(|| sets.iter().find(|s| s.hash() == header.next_validators_hash).cloned().expect("the server's set"));
        light.advance(header, next)?;
    }
    Ok(())
}

#[test]
fn the_honest_chain_is_followed_through_a_join_and_a_leave() {
    let c = chain();
    let mut light = LightChain::from_genesis(CHAIN, c.sets[0].clone());
    follow(&mut light, &c.blocks, &c.sets).unwrap();
    assert_eq!((light.height(), light.transitions()), (6, 2));
    assert_eq!(light.set(), &c.sets[2]);
}

#[test]
fn a_set_the_header_did_not_name_is_refused() {
    let c = chain();
    let mut light = LightChain::from_genesis(CHAIN, c.sets[0].clone());
    follow(&mut light, &c.blocks[..1], &c.sets).unwrap();
    let header = &c.blocks[1].block.header;
    light.verify(header, &c.blocks[1].certificate).unwrap();
    // The server offers C (key 1 already gone) where block 2 certified B.
    let err = light.advance(header, Some(c.sets[2].clone())).unwrap_err();
    assert!(matches!(err, LightError::SetHash { height: 3, .. }), "{err}");
    // Nor may it say nothing changed.
    assert!(matches!(light.advance(header, None), Err(LightError::SetHash { .. })));
    assert_eq!(light.height(), 2, "a refused step must not move the trusted position");
}

#[test]
fn a_block_signed_by_the_old_set_after_a_leave_is_refused() {
    let c = chain();
    let mut light = LightChain::from_genesis(CHAIN, c.sets[0].clone());
    follow(&mut light, &c.blocks[..4], &c.sets).unwrap();
    // Keys 1-3 held 3 of 4 in A, but key 1 left: in C they hold 2 of 4.
    let forged = certified_naming(5, 0, &c.keys[..3], c.sets[2].hash());
    let err = light.verify(&forged.block.header, &forged.certificate).unwrap_err();
    assert!(matches!(err, LightError::Certificate { height: 5, .. }), "{err}");
}

#[test]
fn a_certificate_for_another_header_or_height_or_chain_is_refused() {
    let c = chain();
    let light = LightChain::from_genesis(CHAIN, c.sets[0].clone());
    let first = &c.blocks[0];
    let mut altered = first.block.header.clone();
    altered.state_root = cairn_proto::Hash([1; 32]);
    assert_eq!(light.verify(&altered, &first.certificate), Err(LightError::CertificateMismatch { height: 1 }));
    let second = &c.blocks[1];
    assert!(matches!(
        light.verify(&second.block.header, &second.certificate),
        Err(LightError::Height { want: 1, got: 2 })
    ));
    let other = LightChain::from_genesis("another-chain", c.sets[0].clone());
    assert!(matches!(other.verify(&first.block.header, &first.certificate), Err(LightError::ChainId { .. })));
}
