//! Staking through the store: a stake changes the set two heights later, the record survives a
//! reopen, an unbond removes the validator and its funds come back after the unbonding period.
use crate::common::*;
use cairn_proto::staking::{EFFECT_DELAY, STAKE_PER_POWER, UNBONDING_PERIOD};
use cairn_proto::{Keypair, Stake, TxAction, TxBody, Unbond, VerifiedTx};

fn staking(from: &Keypair, nonce: u64, action: TxAction) -> VerifiedTx {
    TxBody { chain_id: CHAIN.into(), sender: from.address(), nonce, fee: 1, action }.sign(from)
}

#[test]
fn a_stake_joins_the_set_two_heights_on_and_an_unbond_leaves_and_pays_back() {
    let dir = tempfile::tempdir().unwrap();
    let state = fresh(dir.path(), 2, 10 * STAKE_PER_POWER, test_config());
    let genesis_set = state.validator_set_at(1).unwrap().unwrap();
    assert_eq!(genesis_set.len(), 1);
    assert_eq!(state.validator_set_at(2).unwrap(), Some(genesis_set.clone()));
    assert_eq!(state.validator_set_at(3).unwrap(), None, "not decided before block 1 executes");

    let joiner = key(0);
    let stake = TxAction::Stake(Stake { amount: 3 * STAKE_PER_POWER });
    let out = state.commit_block(&next_block(&state, vec![staking(&joiner, 0, stake)])).unwrap();
    assert!(out.receipts[0].success, "{:?}", out.receipts[0]);
    let joined = out.later_set.clone();
    assert_eq!(joined.power_of(&joiner.address()), 3);
    assert_eq!(joined.len(), 2);
    assert_eq!(state.validator_set_at(2).unwrap(), Some(genesis_set.clone()), "block 2 is still signed by genesis");
    assert_eq!(state.validator_set_at(1 + EFFECT_DELAY).unwrap(), Some(joined.clone()));

    // The record and the registry survive a reopen.
    drop(state);
    let state = open_with(dir.path(), test_config());
    assert_eq!(state.validator_set_at(3).unwrap(), Some(joined.clone()));
    assert_eq!(state.validator_set_at(2).unwrap(), Some(genesis_set.clone()));

    let unbond = TxAction::Unbond(Unbond { amount: 3 * STAKE_PER_POWER });
    let out = state.commit_block(&next_block(&state, vec![staking(&joiner, 1, unbond)])).unwrap();
    assert!(out.receipts[0].success, "{:?}", out.receipts[0]);
    assert_eq!(out.later_set, genesis_set, "the joiner left");
    assert_eq!(state.validator_set_at(4).unwrap(), Some(genesis_set.clone()));
    assert_eq!(state.validator_set_at(3).unwrap(), Some(joined), "block 3 is still signed by the joined set");
    let waiting = state.account(&joiner.address());
    assert_eq!(
        (waiting.bonded, waiting.unbonding, waiting.release_height),
        (0, 3 * STAKE_PER_POWER, 2 + UNBONDING_PERIOD)
    );

    // Reopened in the middle of the wait, the payback still comes, at its height and not before.
    drop(state);
    let state = open_with(dir.path(), test_config());
    while state.latest_height() + 1 < 2 + UNBONDING_PERIOD {
        state.commit_block(&next_block(&state, vec![])).unwrap();
    }
    assert_eq!(state.account(&joiner.address()).unbonding, 3 * STAKE_PER_POWER);
    let out = state.commit_block(&next_block(&state, vec![])).unwrap();
    let paid = state.account(&joiner.address());
    assert_eq!((paid.balance, paid.unbonding, paid.release_height), (10 * STAKE_PER_POWER - 2, 0, 0));
    assert!(out.touched.iter().any(|(a, acct)| *a == joiner.address() && *acct == paid), "the pool hears of it");
}

#[test]
fn the_last_validator_cannot_unbond() {
    let dir = tempfile::tempdir().unwrap();
    let validator = key(1_000_000);
    let mut g = genesis(0, 0);
    g.accounts.push(cairn_proto::GenesisAccount { address: validator.address(), balance: 10 });
    let state = open_with(dir.path(), test_config());
    state.init_genesis(&g).unwrap();
    let unbond = TxAction::Unbond(Unbond { amount: STAKE_PER_POWER });
    let out = state.commit_block(&next_block(&state, vec![staking(&validator, 0, unbond)])).unwrap();
    assert_eq!(out.receipts[0].error.as_deref(), Some(cairn_state::LAST_VALIDATOR));
    assert_eq!(out.later_set, state.validator_set_at(1).unwrap().unwrap());
    assert_eq!(state.account(&validator.address()).bonded, STAKE_PER_POWER);
}
