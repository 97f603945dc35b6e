//! Duplicate-vote evidence is judged against the set of its own height: two conflicting votes
//! by a key that held power there are evidence; by a key outside that set (one that joined
//! later or left before) they are refused, whatever their signatures.
use cairn_proto::{DuplicateVoteEvidence, Hash, Keypair, Validator, ValidatorSet, VerifyError, Vote, VoteKind};

const CHAIN: &str = "evidence-test";

fn equivocation(key: &Keypair, height: u64) -> DuplicateVoteEvidence {
    let vote = |b: u8| Vote::new_signed(key, CHAIN, VoteKind::Prevote, height, 0, Some(Hash([b; 32])));
    DuplicateVoteEvidence { first: vote(1), second: vote(2) }
}

fn set_of(keys: &[&Keypair]) -> ValidatorSet {
    ValidatorSet::new(keys.iter().map(|k| Validator { address: k.address(), power: 1 }).collect()).unwrap()
}

#[test]
fn evidence_counts_only_against_a_validator_of_its_height() {
    let (a, b, newcomer) = (Keypair::from_seed([1; 32]), Keypair::from_seed([2; 32]), Keypair::from_seed([3; 32]));
    let at_height_5 = set_of(&[&a, &b]);
    assert_eq!(equivocation(&a, 5).verify_in(CHAIN, &at_height_5), Ok(()));
    // The newcomer's votes at height 5 verify as signatures, but it had no power there.
    let e = equivocation(&newcomer, 5);
    assert_eq!(e.verify(CHAIN), Ok(()));
    assert!(matches!(e.verify_in(CHAIN, &at_height_5), Err(VerifyError::UnknownValidator(_))));
    // Votes that do not conflict are no evidence, even from a validator.
    let same = DuplicateVoteEvidence { first: equivocation(&a, 5).first, second: equivocation(&a, 5).first };
    assert!(matches!(same.verify_in(CHAIN, &at_height_5), Err(VerifyError::Mismatch { .. })));
}
