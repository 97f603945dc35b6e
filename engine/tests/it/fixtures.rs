//! Certified blocks for the sync and light-verification tests: a chain id, four keys and
//! their set, blocks signed by any keys and naming any next set.
use cairn_proto::{
    Address, Block, Certificate, CertifiedBlock, CommitSig, Hash, Header, Keypair, Transfer, TxAction, TxBody,
    Validator, ValidatorSet, Vote, VoteKind,
};

pub const CHAIN: &str = "sync-test";

/// Four keys and their set (power 1 each).
pub fn keys() -> (Vec<Keypair>, ValidatorSet) {
    let keys: Vec<Keypair> = (1..=4).map(|i| Keypair::from_seed([i; 32])).collect();
    (keys.clone(), set_of(&keys))
}

/// The set of `keys`, power 1 each.
pub fn set_of(keys: &[Keypair]) -> ValidatorSet {
    ValidatorSet::new(keys.iter().map(|k| Validator { address: k.address(), power: 1 }).collect()).unwrap()
}

/// Block `height` with `n` signed transfers, certified by `signers` (their precommits), its
/// header naming `next_set` as the set that signs the next block.
pub fn certified_naming(height: u64, n: u64, signers: &[Keypair], next_set: Hash) -> CertifiedBlock {
    let sender = Keypair::from_seed([9; 32]);
    let txs = (0..n)
        .map(|i| {
            let action = TxAction::Transfer(Transfer { recipient: Address([7; 32]), amount: 1 });
            TxBody { chain_id: CHAIN.into(), sender: sender.address(), nonce: height * 100 + i, fee: 1, action }
                .sign(&sender)
        })
        .collect();
    let header = Header {
        chain_id: CHAIN.into(),
        height,
        parent_hash: Hash::ZERO,
        timestamp_ms: height,
        proposer: signers[0].address(),
        tx_root: Hash::ZERO,
        state_root: Hash::ZERO,
        tx_count: 0,
        next_validators_hash: next_set,
    };
    let block = Block::new(header, txs);
    let hash = block.hash();
    let signatures = signers
        .iter()
        .map(|k| {
            let v = Vote::new_signed(k, CHAIN, VoteKind::Precommit, height, 0, Some(hash));
            CommitSig { validator: v.validator, signature: v.signature }
        })
        .collect();
    CertifiedBlock { block, certificate: Certificate { height, round: 0, block_hash: hash, signatures } }
}
