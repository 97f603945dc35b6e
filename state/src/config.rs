//! Tuning knobs of the state store.
use serde::{Deserialize, Serialize};

/// Also the `[state]` section of the node's `config.toml`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StateConfig {
    /// Pruning window: tree versions (account values and proofs) are kept for the last
    /// `retain_versions` heights; older ones are deleted after each commit. 0 keeps everything.
    pub retain_versions: u64,
    /// How many recent tree versions stay in memory for proofs without a rebuild.
    pub cached_versions: usize,
    /// fsync the write-ahead log on every block commit (off only for benches and tests).
    pub sync_writes: bool,
    /// RocksDB block cache, in MiB.
    pub block_cache_mb: usize,
    /// RocksDB memtable size per column family, in MiB (up to 4 per family may be in memory).
    pub write_buffer_mb: usize,
    /// Memtable flushes and compactions write with O_DIRECT, bypassing the page cache (where
    /// the filesystem supports it; otherwise the store warns and writes through the cache).
    pub direct_io: bool,
    /// RocksDB's flush and compaction threads run at the lowest CPU priority (nice 19), so a
    /// flush takes only CPU that consensus, admission and commits leave idle. RocksDB's default
    /// `Env` is shared by the process: once one store lowers it, it stays lowered.
    pub background_low_priority: bool,
}

impl Default for StateConfig {
    fn default() -> Self {
        StateConfig {
            retain_versions: 1000,
            cached_versions: 8,
            sync_writes: true,
            block_cache_mb: 256,
            write_buffer_mb: 64,
            direct_io: true,
            background_low_priority: true,
        }
    }
}
