//! Readers on other threads during commits always see a consistent, provable state; the
//! metrics land in the registry the node passes in.
use crate::common::*;
use cairn_state::{verify_proof, State, StateConfig};
use std::sync::atomic::{AtomicBool, Ordering};

#[test]
fn proofs_read_during_commits_verify() {
    let dir = tempfile::tempdir().unwrap();
    let state = fresh(dir.path(), 40, 1_000, StateConfig { retain_versions: 4, ..test_config() });
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        for t in 0..2u64 {
            let (state, done) = (state.clone(), &done);
            s.spawn(move || {
                let mut checked = 0;
                while !done.load(Ordering::Relaxed) || checked == 0 {
                    let height = state.latest_height();
                    let address = key((checked + t) % 50).address();
                    // A height can be pruned between reading it and proving it; skip those.
                    let Ok((account, proof)) = state.prove(&address, height) else { continue };
                    let root = state.root_at(height).unwrap().unwrap();
                    verify_proof(&root, &address, account.as_ref(), &proof).unwrap();
                    checked += 1;
                }
            });
        }
        for _ in 0..25 {
            state.commit_block(&random_block(&state, 40, 30, 17)).unwrap();
        }
        done.store(true, Ordering::Relaxed);
    });
    assert_eq!(state.latest_height(), 25);
}

#[test]
fn metrics_are_registered_and_updated() {
    let dir = tempfile::tempdir().unwrap();
    let registry = prometheus::Registry::new();
    let state = State::open_with_registry(dir.path(), test_config(), &registry).unwrap();
    state.init_genesis(&genesis(5, 100)).unwrap();
    state.commit_block(&random_block(&state, 5, 10, 1)).unwrap();
    let text = prometheus::TextEncoder::new().encode_to_string(&registry.gather()).unwrap();
    assert!(text.contains("cairn_state_commit_duration_seconds_count 1\n"), "{text}");
    assert!(text.contains("cairn_state_height 1\n"), "{text}");
    let count = |result: &str| -> u64 {
        let prefix = format!("cairn_state_executed_txs_total{{result=\"{result}\"}} ");
        text.lines().find_map(|l| l.strip_prefix(prefix.as_str())).map_or(0, |v| v.parse().unwrap())
    };
    assert_eq!(count("success") + count("failed"), 10, "{text}");
}
