//! Shared helpers: deterministic keys, genesis and block generation.
use cairn_proto::{
    Address, Block, Certificate, CertifiedBlock, Genesis, GenesisAccount, GenesisValidator, Hash, Header, Keypair,
    Transfer, TxAction, TxBody, VerifiedTx,
};
use cairn_state::{State, StateConfig};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::Path;

pub const CHAIN: &str = "cairn-test";

pub fn key(i: u64) -> Keypair {
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&i.to_le_bytes());
    seed[31] = 0xca;
    Keypair::from_seed(seed)
}

/// `n` funded accounts (`key(0..n)`), each with `balance`.
pub fn genesis(n: u64, balance: u64) -> Genesis {
    Genesis {
        chain_id: CHAIN.into(),
        genesis_time_ms: 1_000,
        validators: vec![GenesisValidator { address: key(1_000_000).address(), power: 1, name: "v0".into() }],
        accounts: (0..n).map(|i| GenesisAccount { address: key(i).address(), balance }).collect(),
        gentxs: vec![],
    }
}

pub fn test_config() -> StateConfig {
    StateConfig {
        retain_versions: 0,
        cached_versions: 4,
        sync_writes: false,
        block_cache_mb: 8,
        write_buffer_mb: 4,
        direct_io: true,
        background_low_priority: true,
    }
}

pub fn open_with(path: &Path, config: StateConfig) -> State {
    State::open(path, config).expect("open state")
}

/// A fresh store at `path` holding `genesis(n, balance)`.
pub fn fresh(path: &Path, n: u64, balance: u64, config: StateConfig) -> State {
    let state = open_with(path, config);
    state.init_genesis(&genesis(n, balance)).expect("genesis");
    state
}

pub fn transfer(from: &Keypair, nonce: u64, to: Address, amount: u64, fee: u64) -> VerifiedTx {
    TxBody {
        chain_id: CHAIN.into(),
        sender: from.address(),
        nonce,
        fee,
        action: TxAction::Transfer(Transfer { recipient: to, amount }),
    }
    .sign(from)
}

/// The next block on top of `state` holding `txs`, with a (structurally valid) certificate.
pub fn next_block(state: &State, txs: Vec<VerifiedTx>) -> CertifiedBlock {
    let height = state.latest_height() + 1;
    let parent_hash = state.block(height - 1).unwrap().map_or(Hash::ZERO, |b| b.block.hash());
    let header = Header {
        chain_id: CHAIN.into(),
        height,
        parent_hash,
        timestamp_ms: 1_000 + height,
        proposer: key(1_000_000).address(),
        tx_root: Hash::ZERO,
        state_root: state.state_root(),
        tx_count: 0,
        next_validators_hash: cairn_proto::Hash::ZERO,
    };
    let block = Block::new(header, txs);
    let certificate = Certificate { height, round: 0, block_hash: block.hash(), signatures: vec![] };
    CertifiedBlock { block, certificate }
}

/// A deterministic block of random transfers among `accounts` funded accounts (plus some
/// fresh recipients), mostly valid, some with wrong nonces or amounts beyond the balance.
pub fn random_block(state: &State, accounts: u64, txs: usize, seed: u64) -> CertifiedBlock {
    let height = state.latest_height() + 1;
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ height.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let mut nonces = std::collections::HashMap::new();
    let list = (0..txs)
        .map(|_| {
            let i = rng.gen_range(0..accounts);
            let from = key(i);
            let nonce = nonces.entry(i).or_insert_with(|| state.account(&from.address()).nonce);
            let to = key(rng.gen_range(0..accounts + accounts / 4 + 1)).address();
            let (amount, tx_nonce) = match rng.gen_range(0..20) {
                0 => (u64::MAX / 2, *nonce),
                1 => (1, *nonce + 1),
                _ => (rng.gen_range(0..50), *nonce),
            };
            let tx = transfer(&from, tx_nonce, to, amount, rng.gen_range(0..3));
            *nonce += 1;
            tx
        })
        .collect();
    next_block(state, list)
}
