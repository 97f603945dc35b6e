//! Damaged databases are refused at open with a clear error, never served.
use crate::common::*;
use cairn_proto::Account;
use cairn_state::{StateError, COLUMN_FAMILIES};
use rocksdb::{Options, DB};
use std::path::{Path, PathBuf};

/// A closed store with 5 committed blocks, every column family flushed to table files.
fn store() -> (tempfile::TempDir, u64) {
    let dir = tempfile::tempdir().unwrap();
    let state = fresh(dir.path(), 200, 1_000, test_config());
    for _ in 0..5 {
        state.commit_block(&random_block(&state, 200, 100, 5)).unwrap();
    }
    drop(state);
    let db = raw(dir.path());
    for cf in COLUMN_FAMILIES {
        db.flush_cf(db.cf_handle(cf).unwrap()).unwrap();
    }
    (dir, 5)
}

fn raw(path: &Path) -> DB {
    DB::open_cf(&Options::default(), path, COLUMN_FAMILIES).unwrap()
}

/// The table files of one column family.
fn tables(path: &Path, cf: &str) -> Vec<PathBuf> {
    let db = raw(path);
    let files = db.live_files().unwrap();
    files.iter().filter(|f| f.column_family_name == cf).map(|f| path.join(f.name.trim_start_matches('/'))).collect()
}

fn open_err(path: &Path) -> String {
    match cairn_state::State::open(path, test_config()) {
        Err(e @ StateError::Corrupt { .. }) => e.to_string(),
        Err(e) => panic!("expected a Corrupt error, got {e:?}"),
        Ok(s) => panic!("opened a damaged store at height {}", s.latest_height()),
    }
}

#[test]
fn flipped_bytes_in_the_account_table_are_detected() {
    let (dir, _) = store();
    let files = tables(dir.path(), "tree_leaves");
    assert!(!files.is_empty());
    for f in &files {
        let mut bytes = std::fs::read(f).unwrap();
        let mid = bytes.len() / 3;
        for b in &mut bytes[mid..mid + 64] {
            *b ^= 0x5a;
        }
        std::fs::write(f, bytes).unwrap();
    }
    let msg = open_err(dir.path());
    assert!(msg.contains("orrupt"), "{msg}");
}

#[test]
fn a_truncated_table_is_detected() {
    let (dir, _) = store();
    let f = &tables(dir.path(), "tree_leaves")[0];
    let len = std::fs::metadata(f).unwrap().len();
    std::fs::OpenOptions::new().write(true).open(f).unwrap().set_len(len / 2).unwrap();
    open_err(dir.path());
}

#[test]
fn a_tampered_account_fails_the_root_check() {
    let (dir, height) = store();
    {
        let db = raw(dir.path());
        let cf = db.cf_handle("tree_leaves").unwrap();
        let address = key(3).address();
        let mut k = blake3::hash(&address.0).as_bytes().to_vec();
        k.extend_from_slice(&(!height).to_be_bytes());
        let mut v = address.0.to_vec();
        v.extend_from_slice(&Account::new(1 << 40, 0).encode());
        db.put_cf(cf, k, v).unwrap();
    }
    let msg = open_err(dir.path());
    assert!(msg.contains("state root"), "{msg}");
}

#[test]
fn a_block_above_the_progress_marker_is_detected() {
    let (dir, height) = store();
    {
        let db = raw(dir.path());
        let cf = db.cf_handle("blocks").unwrap();
        db.put_cf(cf, (height + 1).to_be_bytes(), b"half-written").unwrap();
    }
    open_err(dir.path());
}

#[test]
fn a_lost_current_file_or_foreign_data_is_detected() {
    let (dir, _) = store();
    std::fs::remove_file(dir.path().join("CURRENT")).unwrap();
    open_err(dir.path());

    let other = tempfile::tempdir().unwrap();
    let db = raw_create(other.path());
    drop(db);
    let msg = open_err(other.path());
    assert!(msg.contains("format"), "{msg}");
}

#[test]
fn a_store_of_the_earlier_format_is_refused_as_such() {
    let (dir, _) = store();
    {
        // Format 2 had a `tree_stale` column family, which format 3 folded into its diffs.
        let mut db = raw(dir.path());
        db.create_cf("tree_stale", &Options::default()).unwrap();
    }
    match cairn_state::State::open(dir.path(), test_config()) {
        Err(e @ StateError::OldFormat { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("earlier cairn (cairn-state/2)") && msg.contains("node home again"), "{msg}");
        }
        Err(e) => panic!("expected an OldFormat error, got {e:?}"),
        Ok(_) => panic!("opened a store of the earlier format"),
    }
}

/// A RocksDB database with our column families and some data, but not written by us.
fn raw_create(path: &Path) -> DB {
    let mut opts = Options::default();
    opts.create_if_missing(true);
    opts.create_missing_column_families(true);
    let db = DB::open_cf(&opts, path, COLUMN_FAMILIES).unwrap();
    db.put_cf(db.cf_handle("meta").unwrap(), b"height", 7u64.to_be_bytes()).unwrap();
    db
}
