//! RocksDB access: opening (refusing anything that is not a complete database of ours) and
//! the few typed reads the store needs.
use crate::config::StateConfig;
use crate::schema::*;
use crate::StateError;
use cairn_proto::{Account, Address, Hash};
use rocksdb::{
    BlockBasedOptions, Cache, ColumnFamily, ColumnFamilyDescriptor, DBCompressionType, Env, ErrorKind, MemtableFactory,
    Options, ReadOptions, SliceTransform, WriteBatch, WriteOptions, DB,
};
use std::path::{Path, PathBuf};

pub struct Db {
    pub db: DB,
    pub path: PathBuf,
    sync: bool,
}

impl Db {
    /// Opens the database at `path`, creating it if the directory holds none (or only what a
    /// crash during creation leaves), and refusing anything that is not ours and complete.
    pub fn open(path: &Path, config: &StateConfig) -> Result<Db, StateError> {
        let corrupt = |what: String| StateError::Corrupt { path: path.to_owned(), what };
        let fresh = !path.join("CURRENT").exists();
        if fresh && has_db_files(path)? {
            return Err(corrupt("it holds RocksDB data files but no CURRENT file".into()));
        }
        let missing_cfs = if fresh { Vec::new() } else { missing_column_families(path)? };
        let mut opts = Options::default();
        opts.create_if_missing(fresh);
        // Column families are created one by one after the database itself, so a crash
        // during creation can leave some missing; the format marker below decides if that is
        // an unfinished creation (fine) or damage.
        opts.create_missing_column_families(fresh || !missing_cfs.is_empty());
        opts.set_paranoid_checks(true);
        opts.increase_parallelism(2);
        // A 10k-transfer block writes ≈ 4 MB. Higher level-0 triggers let compaction fall
        // behind for a while under bursts instead of throttling the commit (RocksDB's default
        // slowdown at 20 files caps writes at 16 MB/s: one such block every 250 ms).
        opts.set_write_buffer_size(config.write_buffer_mb << 20);
        opts.set_max_write_buffer_number(4);
        opts.set_level_zero_slowdown_writes_trigger(40);
        opts.set_level_zero_stop_writes_trigger(64);
        opts.set_compression_type(DBCompressionType::Lz4);
        // A memtable flush written through the page cache turns the next fsync of a commit (on
        // every validator at once: they flush at the same height) into a wait for tens of MB
        // of table data, ext4's ordered mode writing it out before the journal commits: p99
        // 986 / 730 / 976 ms at 10k tx/s, against 479 / 443 / 462 ms with O_DIRECT (README).
        if config.direct_io && direct_io_supported(path)? {
            opts.set_use_direct_io_for_flush_and_compaction(true);
        }
        // Four validators' flushes start at the same height on a shared machine: at normal
        // priority they take the cores from consensus for a second (p99 spikes at 10k tx/s).
        if config.background_low_priority {
            let mut env = Env::new()?;
            env.lower_thread_pool_cpu_priority();
            env.lower_high_priority_thread_pool_cpu_priority();
            opts.set_env(&env);
        }
        let mut table = BlockBasedOptions::default();
        table.set_block_cache(&Cache::new_lru_cache(config.block_cache_mb << 20));
        table.set_bloom_filter(10.0, false);
        opts.set_block_based_table_factory(&table);
        // The hash memtable of `tx_index` (below) takes one writer at a time; commits and the
        // leaf index write one batch each anyway.
        opts.set_allow_concurrent_memtable_write(false);
        let cfs = ALL_CFS.iter().map(|name| ColumnFamilyDescriptor::new(*name, cf_options(name, &opts)));
        let db = DB::open_cf_descriptors(&opts, path, cfs).map_err(|e| match e.kind() {
            ErrorKind::Corruption | ErrorKind::InvalidArgument | ErrorKind::NotFound => {
                corrupt(format!("RocksDB refuses to open it: {e}"))
            }
            _ => StateError::Db(e),
        })?;
        let db = Db { db, path: path.to_owned(), sync: config.sync_writes };
        match db.get(CF_META, META_FORMAT)? {
            Some(v) if v == FORMAT_VERSION && missing_cfs.is_empty() => {}
            Some(v) if v == FORMAT_VERSION => {
                return Err(corrupt(format!("column families {missing_cfs:?} are missing")));
            }
            Some(v) if EARLIER_FORMATS.contains(&v.as_slice()) => {
                return Err(StateError::OldFormat { path: path.to_owned(), found: String::from_utf8_lossy(&v).into() });
            }
            Some(v) => return Err(corrupt(format!("unknown format {:?}", String::from_utf8_lossy(&v)))),
            // The marker is the last step of creation: without it the store must be empty.
            None if db.get(CF_META, META_HEIGHT)?.is_none() && db.get(CF_META, META_GENESIS)?.is_none() => {
                db.db.put_cf(db.cf(CF_META), META_FORMAT, FORMAT_VERSION)?;
            }
            None => return Err(corrupt("no format marker in meta".into())),
        }
        Ok(db)
    }

    pub fn corrupt(&self, what: impl Into<String>) -> StateError {
        StateError::Corrupt { path: self.path.clone(), what: what.into() }
    }

    pub fn cf(&self, name: &str) -> &ColumnFamily {
        // Every column family in ALL_CFS is opened (or the open fails), so this cannot miss.
        self.db.cf_handle(name).expect("column family opened at startup")
    }

    pub fn get(&self, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        Ok(self.db.get_cf(self.cf(cf), key)?)
    }

    pub fn get_u64(&self, cf: &str, key: &[u8], what: &'static str) -> Result<Option<u64>, StateError> {
        self.get(cf, key)?.map(|v| decode_u64(what, &v)).transpose()
    }

    pub fn root(&self, version: u64) -> Result<Option<Hash>, StateError> {
        self.get(CF_ROOTS, &u64_key(version))?.map(|v| decode_hash("state root", &v)).transpose()
    }

    /// Writes `batch` atomically, durable on return when `sync_writes` is set.
    pub fn write(&self, batch: WriteBatch) -> Result<(), StateError> {
        self.write_with_sync(batch, self.sync)
    }

    /// Writes `batch` atomically without waiting for the disk, for work that a crash may lose
    /// (it is redone). The write-ahead log keeps order: the next synced write makes this one
    /// durable too, so it can never be lost while a later write survives.
    pub fn write_unsynced(&self, batch: WriteBatch) -> Result<(), StateError> {
        self.write_with_sync(batch, false)
    }

    fn write_with_sync(&self, batch: WriteBatch, sync: bool) -> Result<(), StateError> {
        let mut opts = WriteOptions::default();
        opts.set_sync(sync);
        Ok(self.db.write_opt(batch, &opts)?)
    }

    /// The newest value of `key` at or below `version`.
    pub fn leaf_at(&self, key: &Hash, version: u64) -> Result<Option<(Address, Account)>, StateError> {
        let mut it = self.db.raw_iterator_cf(self.cf(CF_LEAVES));
        it.seek(leaf_key(key, version));
        match it.key() {
            Some(k) if k.starts_with(&key.0) => decode_leaf_value(it.value().unwrap_or_default()).map(Some),
            _ => {
                it.status()?;
                Ok(None)
            }
        }
    }

    /// Calls `f(key, address, account, written_at)` for every account alive at `version`, in
    /// key order: the newest record of each key at or below `version`.
    pub fn scan_leaves_at(
        &self,
        version: u64,
        mut f: impl FnMut(Hash, Address, Account, u64) -> Result<(), StateError>,
    ) -> Result<(), StateError> {
        let mut read = ReadOptions::default();
        read.fill_cache(false);
        let mut it = self.db.raw_iterator_cf_opt(self.cf(CF_LEAVES), read);
        it.seek_to_first();
        let mut last: Option<Hash> = None;
        while let (Some(k), Some(v)) = (it.key(), it.value()) {
            let (key, written) = split_leaf_key(k)?;
            if last != Some(key) && written <= version {
                last = Some(key);
                let (address, account) = decode_leaf_value(v)?;
                f(key, address, account, written)?;
            }
            it.next();
        }
        Ok(it.status()?)
    }
}

/// A column family's options: the database's, but for `tx_index`, which is only ever read by
/// whole key (a tx hash). Its memtable is a hash table of short lists instead of a skip list:
/// ten thousand random hashes a block went into the skip list at several cache misses each,
/// ≈ 1.5 µs per tx of a loaded validator's CPU (issue #18's profile).
fn cf_options(name: &str, db: &Options) -> Options {
    let mut opts = db.clone();
    if name == CF_TX_INDEX {
        opts.set_prefix_extractor(SliceTransform::create_fixed_prefix(TX_INDEX_KEY_LEN));
        opts.set_memtable_factory(MemtableFactory::HashLinkList { bucket_count: TX_INDEX_BUCKETS });
    }
    opts
}

/// Whether files in `path` (created if missing) open with O_DIRECT; RocksDB's own check would
/// refuse to open with an error that reads like damage. Some filesystems lack it.
fn direct_io_supported(path: &Path) -> Result<bool, StateError> {
    use std::os::unix::fs::OpenOptionsExt;
    let io = |source| StateError::Io { path: path.to_owned(), source };
    std::fs::create_dir_all(path).map_err(io)?;
    let probe = path.join("DIRECT_IO_PROBE");
    let opened = std::fs::OpenOptions::new().write(true).create(true).custom_flags(libc::O_DIRECT).open(&probe);
    let _ = std::fs::remove_file(&probe);
    match opened {
        Ok(_) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
            tracing::warn!(path = %path.display(), "the filesystem lacks O_DIRECT: RocksDB flushes go through the page cache");
            Ok(false)
        }
        Err(source) => Err(io(source)),
    }
}

/// A tx hash, the whole key of `tx_index`.
const TX_INDEX_KEY_LEN: usize = 32;
/// Buckets of a `tx_index` memtable: a full 64 MB memtable holds ≈ 800k entries, so lists of
/// ≈ 3 (the bucket array, 2 MB, comes out of the memtable's own budget).
const TX_INDEX_BUCKETS: usize = 1 << 18;

/// Whether `path` holds RocksDB data (tables, a write-ahead log or a later manifest), as
/// opposed to what a crash while creating the database leaves: at most the first manifest,
/// written just before `CURRENT`, and RocksDB's lock and log files. Such a directory holds
/// nothing committed and is created afresh.
fn has_db_files(path: &Path) -> Result<bool, StateError> {
    let entries = match std::fs::read_dir(path) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(source) => return Err(StateError::Io { path: path.to_owned(), source }),
    };
    for entry in entries {
        let entry = entry.map_err(|source| StateError::Io { path: path.to_owned(), source })?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let later_manifest = name.starts_with("MANIFEST-") && name != "MANIFEST-000001";
        if later_manifest || name.ends_with(".sst") || name.ends_with(".log") {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Formats this build refuses by name (it reads only `FORMAT_VERSION`).
const EARLIER_FORMATS: [&[u8]; 2] = [b"cairn-state/1", b"cairn-state/2"];
/// The column family only format `cairn-state/2` had, to name that format in the refusal.
const FORMAT_2_FAMILY: &str = "tree_stale";

/// Our column families that the database at `path` lacks; an unknown one is an error.
fn missing_column_families(path: &Path) -> Result<Vec<&'static str>, StateError> {
    let corrupt = |what: String| StateError::Corrupt { path: path.to_owned(), what };
    let existing =
        DB::list_cf(&Options::default(), path).map_err(|e| corrupt(format!("cannot list its column families: {e}")))?;
    if let Some(unknown) = existing.iter().find(|c| *c != "default" && !ALL_CFS.contains(&c.as_str())) {
        if unknown == FORMAT_2_FAMILY {
            return Err(StateError::OldFormat { path: path.to_owned(), found: "cairn-state/2".into() });
        }
        return Err(corrupt(format!("unknown column family {unknown:?}: not a cairn-state database")));
    }
    Ok(ALL_CFS.iter().copied().filter(|c| !existing.iter().any(|e| e == c)).collect())
}
