//! RocksDB's flush threads run at the lowest CPU priority (`background_low_priority`), so a
//! flush yields the cores to consensus. RocksDB's default `Env` is one per process, so
//! this checks the threads of this test process after forcing flushes.
use crate::common::*;
use cairn_state::StateConfig;
use std::time::{Duration, Instant};

/// The nice value of every thread of this process named `name`.
fn nice_of_threads(name: &str) -> Vec<i64> {
    let mut found = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").expect("read /proc/self/task").flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.trim() != name {
            continue;
        }
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        // Fields after the parenthesised command: state is field 3, nice is field 19.
        let after = stat.rsplit_once(") ").map(|(_, rest)| rest).unwrap_or_default();
        if let Some(nice) = after.split_whitespace().nth(16).and_then(|n| n.parse().ok()) {
            found.push(nice);
        }
    }
    found
}

#[test]
fn flush_threads_run_at_the_lowest_cpu_priority() {
    let dir = tempfile::tempdir().unwrap();
    // 1 MB memtables: a few blocks of transfers fill one, so RocksDB flushes.
    let config = StateConfig { write_buffer_mb: 1, background_low_priority: true, ..test_config() };
    let state = fresh(dir.path(), 500, 1_000_000, config);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seed = 0;
    loop {
        let nices = nice_of_threads("rocksdb:high");
        if !nices.is_empty() && nices.iter().all(|&n| n == 19) {
            break;
        }
        assert!(Instant::now() < deadline, "flush threads still at nice {nices:?} after a minute of flushes");
        seed += 1;
        state.commit_block(&random_block(&state, 500, 500, seed)).unwrap();
    }
}
