//! Damaged store files: each kind is reported with its path and position, and left exactly
//! as it was. An unacknowledged tail after the last commit is the one thing that is not
//! damage.

use std::fs;
use std::path::{Path, PathBuf};

use api_tokens::{FileStore, HashingKey, Lifetime, NewToken, StoreError, TokenManager, TokenStore};
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
