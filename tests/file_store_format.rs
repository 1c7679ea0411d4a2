//! The file format as the README describes it: a file written from the description opens,
//! and the crate writes what the description says.

#[path = "file_store_format/spec.rs"]
mod spec;

use std::fs;

use api_tokens::{
    FileStore, HashingKey, Lifetime, MemoryStore, NewToken, Prefix, TokenManager, TokenStore,
};
use spec::{LOG_START, MAGIC, SECTOR, is_sealed, le};

fn key() -> HashingKey {
    HashingKey::new(&[5; 32]).expect("32 bytes make a key")
}

#[test]
fn a_file_written_from_the_description_opens() {
    let memory = TokenManager::builder(MemoryStore::new(), key(), "spec")
        .build()
        .unwrap();
    let mut tokens = Vec::new();
    for i in 0..300 {
        let request = NewToken::new(format!("token {i}"), Lifetime::Never)
            .owner("team")
            .scope("read")
            .metadata("n", i.to_string());
        let created = memory.create(request).unwrap();
        tokens.push(created.token().expose_secret().to_owned());
    }
    let records = memory.store().list(None).unwrap();
    let records: Vec<_> = records.iter().map(|record| &**record).collect();

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spec.store");
    spec::write_store(&path, "spec", &records).unwrap();

    let store = FileStore::open(&path).unwrap();
    assert_eq!(store.prefix().map(Prefix::as_str), Some("spec"));
    assert_eq!(store.len(), 300);
    let manager = TokenManager::builder(store, key(), "spec").build().unwrap();
    for token in [&tokens[0], &tokens[299]] {
        assert_eq!(manager.verify(token).unwrap().owner(), Some("team"));
    }
}

#[test]
fn the_crate_writes_what_the_description_says() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("described.store");
    let store = FileStore::options()
        .prefix(Prefix::new("described").unwrap())
        .open(&path)
        .unwrap();
    let manager = TokenManager::builder(store, key(), "described")
        .build()
        .unwrap();
    let created = manager
        .create(NewToken::new("one", Lifetime::Never))
        .unwrap();
    drop(manager);
    let bytes = fs::read(&path).unwrap();

    // The header sector.
    let header = &bytes[..SECTOR];
    assert_eq!(header[..8], MAGIC);
    assert_eq!(le(&header[8..12]), 1);
    assert_eq!(le(&header[12..16]), u64::from(!1u32));
    let instance = le(&header[16..24]);
    assert_eq!(le(&header[24..32]), LOG_START as u64, "created empty");
    assert_eq!(&header[32..33 + 9], b"\x09described");
    assert!(is_sealed(header));

    // Two slots: the creation (sequence 1) and the one commit since (sequence 2, slot 0).
    let slot = |index: usize| &bytes[SECTOR * (1 + index)..SECTOR * (2 + index)];
    assert!(is_sealed(slot(0)) && is_sealed(slot(1)));
    assert_eq!(le(&slot(1)[..8]), 1);
    assert_eq!(le(&slot(0)[..8]), 2);
    assert_eq!(le(&slot(0)[16..24]), instance);
    assert_eq!(le(&slot(0)[8..16]), bytes.len() as u64);

    // One entry holding one insert, with the record's hash and not its secret.
    let log = &bytes[LOG_START..];
    let len = le(&log[..4]) as usize;
    assert_eq!(log.len(), 8 + len);
    assert_eq!(log[..len + 8], spec::entry(&log[8..])[..]);
    let ops: serde_json::Value = serde_json::from_slice(&log[8..]).unwrap();
    let record = &ops[0]["insert"];
    assert_eq!(record["id"], created.info().id.as_str());
    assert_eq!(record["name"], "one");
    assert!(record["hash"].is_string());
    let secret = &created.token().expose_secret()["described_".len() + 17..][..43];
    assert!(!String::from_utf8_lossy(&bytes).contains(secret));
}
