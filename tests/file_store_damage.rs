//! Damaged store files: each kind is reported with its path and position, and left exactly
//! as it was. An unacknowledged tail after the last commit is the one thing that is not
//! damage.

#[path = "file_store_format/spec.rs"]
mod spec;

use std::fs;
use std::path::{Path, PathBuf};

use api_tokens::{FileStore, HashingKey, Lifetime, NewToken, StoreError, TokenManager, TokenStore};
use serde_json::{Value, json};
use tempfile::TempDir;

fn manager(store: FileStore) -> TokenManager<FileStore> {
    let key = HashingKey::new(&[4; 32]).expect("32 bytes make a key");
    TokenManager::builder(store, key, "damage")
        .last_used_resolution(time::Duration::ZERO)
        .build()
        .expect("the configuration is valid")
}

/// A small store with every kind of entry: inserts, an update, a removal, a last use.
fn small_store(dir: &TempDir) -> (Vec<u8>, Vec<String>) {
    let path = dir.path().join("source.store");
    let manager = manager(FileStore::open(&path).expect("a new store opens"));
    let mut tokens = Vec::new();
    let mut ids = Vec::new();
    for name in ["first", "second", "third"] {
        let created = manager
            .create(NewToken::new(name, Lifetime::Never).scope("read"))
            .expect("creating a token succeeds");
        tokens.push(created.token().expose_secret().to_owned());
        ids.push(created.info().id);
    }
    manager.delete(&ids[0]).expect("deleting succeeds");
    let renamed = api_tokens::TokenUpdate::new().name("renamed");
    manager.update(&ids[1], renamed).expect("updating succeeds");
    manager.verify(&tokens[2]).expect("the token verifies");
    drop(manager);
    (fs::read(&path).expect("the store file reads"), tokens)
}

/// Writes `bytes` as a store file, opens it, and checks that opening failed and left the
/// file as it was. Returns the error.
fn open_damaged(path: &Path, bytes: &[u8]) -> StoreError {
    fs::write(path, bytes).expect("the damaged copy writes");
    let error = match FileStore::open(path) {
        Ok(store) => panic!("a damaged file opened: {store:?}"),
        Err(error) => error,
    };
    let after = fs::read(path).expect("the damaged copy reads");
    assert_eq!(after, bytes, "the file was modified");
    let message = error.to_string();
    assert!(
        message.contains(&path.display().to_string()),
        "the error does not name the file: {message}"
    );
    error
}

fn target(dir: &TempDir) -> PathBuf {
    dir.path().join("damaged.store")
}

#[test]
fn a_file_cut_at_any_offset_is_reported_where_it_ends() {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, _) = small_store(&dir);
    let path = target(&dir);
    for cut in 0..bytes.len() {
        match open_damaged(&path, &bytes[..cut]) {
            StoreError::Corrupt { offset, .. } => {
                assert!(offset <= cut as u64, "cut at {cut}, reported at {offset}");
            }
            other => panic!("cut at {cut}: {other}"),
        }
    }
}

#[test]
fn one_flipped_bit_anywhere_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, _) = small_store(&dir);
    let path = target(&dir);
    for at in 0..bytes.len() {
        for mask in [0x01, 0x80] {
            let mut damaged = bytes.clone();
            damaged[at] ^= mask;
            match open_damaged(&path, &damaged) {
                StoreError::Corrupt { offset, .. } => {
                    assert!(offset <= at as u64, "flip at {at}, reported at {offset}");
                }
                other => panic!("flip at {at}: {other}"),
            }
        }
    }
}

#[test]
fn an_empty_file_is_not_taken_for_a_new_store() {
    let dir = tempfile::tempdir().unwrap();
    let error = open_damaged(&target(&dir), b"");
    assert!(
        matches!(error, StoreError::Corrupt { offset: 0, .. }),
        "{error}"
    );
    assert!(error.to_string().contains("empty"), "{error}");
}

#[test]
fn files_of_other_formats_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let others: [&[u8]; 5] = [
        b"{\"tokens\": []}\n",
        b"SQLite format 3\0\x10\0\x01\x01\0\x40\x20\x20",
        b"id,name,hash\n",
        &[0; 4096],
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR",
    ];
    for bytes in others {
        let error = open_damaged(&target(&dir), bytes);
        assert!(
            matches!(error, StoreError::Corrupt { offset: 0, .. }),
            "{error}"
        );
        assert!(error.to_string().contains("not a token store"), "{error}");
    }
}

#[test]
fn a_later_format_version_is_named_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let (mut bytes, _) = small_store(&dir);
    bytes[8..12].copy_from_slice(&2u32.to_le_bytes());
    bytes[12..16].copy_from_slice(&(!2u32).to_le_bytes());
    let error = open_damaged(&target(&dir), &bytes);
    assert!(
        matches!(error, StoreError::UnsupportedVersion { version: 2, .. }),
        "{error}"
    );
}

#[test]
fn a_store_damaged_while_open_refuses_to_write_over_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = target(&dir);
    let manager = manager(FileStore::open(&path).unwrap());
    let created = manager
        .create(NewToken::new("one", Lifetime::Never))
        .unwrap();

    // Damage a commit slot underneath the open store.
    let mut bytes = fs::read(&path).unwrap();
    bytes[600] ^= 0x10;
    bytes[1100] ^= 0x10;
    fs::write(&path, &bytes).unwrap();

    let refused = manager.create(NewToken::new("two", Lifetime::Never));
    assert!(matches!(
        refused,
        Err(api_tokens::ManageError::Store(StoreError::Corrupt { .. }))
    ));
    assert!(manager.store().remove(&created.info().id).is_err());
    assert_eq!(fs::read(&path).unwrap(), bytes);
}

#[test]
fn an_unacknowledged_tail_is_ignored_and_then_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, tokens) = small_store(&dir);
    let path = target(&dir);

    // What a writer leaves when it is killed after appending, before committing.
    let mut with_tail = bytes.clone();
    with_tail.extend_from_slice(&[0x5a; 300]);
    fs::write(&path, &with_tail).unwrap();

    let manager = manager(FileStore::open(&path).unwrap());
    assert_eq!(manager.list(None).unwrap().len(), 2);
    assert_eq!(manager.verify(&tokens[2]).unwrap().name(), "third");
    let created = manager
        .create(NewToken::new("fourth", Lifetime::Never))
        .unwrap();
    drop(manager);

    let reopened = FileStore::open(&path).unwrap();
    assert_eq!(reopened.len(), 3);
    assert!(reopened.get(&created.info().id).unwrap().is_some());
}

/// `bytes`, a valid store, with one more committed entry holding `ops`, as an editor that
/// knows the format would write it; and the offset of that entry.
fn with_entry(bytes: &[u8], ops: &Value) -> (Vec<u8>, u64) {
    let slot = |index: usize| &bytes[spec::SECTOR * (1 + index)..spec::SECTOR * (2 + index)];
    let (seq, len) = (0..2)
        .map(|index| (spec::le(&slot(index)[0..8]), spec::le(&slot(index)[8..16])))
        .max()
        .unwrap();
    let instance = spec::le(&bytes[16..24]);

    let mut edited = bytes[..len as usize].to_vec();
    edited.extend_from_slice(&spec::entry(&serde_json::to_vec(ops).unwrap()));
    let next = spec::slot(seq + 1, edited.len() as u64, instance);
    let at = spec::SECTOR * (1 + (seq as usize + 1) % 2);
    edited[at..at + spec::SECTOR].copy_from_slice(&next);
    (edited, len)
}

/// The serialised form of one live record of `bytes`.
fn a_record(dir: &TempDir, bytes: &[u8]) -> Value {
    let path = dir.path().join("read.store");
    fs::write(&path, bytes).unwrap();
    let store = FileStore::open(&path).unwrap();
    let record = serde_json::to_value(&*store.list(None).unwrap()[0]).unwrap();
    drop(store);
    fs::remove_file(&path).unwrap();
    record
}

#[test]
fn times_outside_the_supported_range_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, _) = small_store(&dir);
    let record = a_record(&dir, &bytes);
    let id = record["id"].clone();
    let replaced = |field: &str, value: Value| {
        let mut edited = record.clone();
        edited[field] = value;
        json!([{ "remove": id }, { "insert": edited }])
    };

    // Each is a valid RFC 3339 time whose instant is before year 0 or after year 9999.
    let edits = [
        json!([{ "used": { "id": id, "at": "0000-01-01T00:00:00+01:00" } }]),
        json!([{ "used": { "id": id, "at": "9999-12-31T23:59:59-00:01" } }]),
        replaced("last_used_at", json!("0000-01-01T00:30:00+01:00")),
        replaced("created_at", json!("9999-12-31T23:00:00-05:00")),
        replaced("expires", json!({ "at": "0000-01-01T00:00:00+00:01" })),
    ];
    let path = target(&dir);
    for ops in edits {
        let (edited, entry) = with_entry(&bytes, &ops);
        match open_damaged(&path, &edited) {
            StoreError::Corrupt { offset, reason, .. } => {
                assert_eq!(offset, entry, "{ops}");
                assert!(reason.contains("outside the supported range"), "{reason}");
            }
            other => panic!("{ops}: {other}"),
        }
    }
}

#[test]
fn times_at_the_ends_of_the_supported_range_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, _) = small_store(&dir);
    let record = a_record(&dir, &bytes);
    let id = record["id"].clone();
    let path = target(&dir);

    for at in ["0000-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999Z"] {
        let mut edited = record.clone();
        edited["last_used_at"] = json!(at);
        let ops = json!([{ "remove": id }, { "insert": edited }]);
        fs::write(&path, with_entry(&bytes, &ops).0).unwrap();

        // Read, written whole by a compaction, and read again.
        let store = FileStore::open(&path).unwrap();
        store.compact().unwrap();
        drop(store);
        let store = FileStore::open(&path).unwrap();
        let kept = serde_json::to_value(
            &*store
                .get(&id.as_str().unwrap().parse().unwrap())
                .unwrap()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(kept["last_used_at"], json!(at));
    }
}
