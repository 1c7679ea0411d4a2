//! The contract every `TokenStore` keeps, checked against each store the crate ships.

mod common;

use std::sync::Arc;
use std::thread;

use api_tokens::{
    FileStore, Lifetime, MemoryStore, NewToken, StoreError, TokenManager, TokenStore,
};
use common::{START, key};
use time::Duration;

/// Runs every contract check against stores made by `fresh`.
fn check_contract<S: TokenStore + 'static>(fresh: impl Fn() -> S) {
    duplicate_ids_are_refused(fresh());
    missing_ids_are_reported(fresh());
    updates_build_on_the_current_record(fresh());
    an_update_may_not_change_the_id(fresh());
    purge_removes_what_is_expired(fresh());
    concurrent_verifies_and_writes(fresh());
}

fn manager<S: TokenStore>(store: S) -> TokenManager<S> {
    TokenManager::builder(store, key(3), "contract")
        .clock(api_tokens::ManualClock::new(START))
        .build()
        .unwrap()
}

fn duplicate_ids_are_refused<S: TokenStore>(store: S) {
    let manager = manager(store);
    let created = manager
        .create(NewToken::new("original", Lifetime::Never))
        .unwrap();
    let record = manager.store().get(&created.info().id).unwrap().unwrap();

    let mut copy = (*record).clone();
    copy.set_last_used_at(START);
    let refused = manager.store().insert(copy);

    assert!(matches!(refused, Err(StoreError::Duplicate(id)) if id == created.info().id));
    let kept = manager.store().get(&created.info().id).unwrap().unwrap();
    assert_eq!(
        kept.last_used_at(),
        None,
        "the stored record must be left as it was"
    );
}

fn missing_ids_are_reported<S: TokenStore>(store: S) {
    let manager = manager(store);
    let created = manager
        .create(NewToken::new("gone", Lifetime::Never))
        .unwrap();
    let id = created.info().id;
    manager.store().remove(&id).unwrap();

    assert!(manager.store().get(&id).unwrap().is_none());
    assert!(matches!(
        manager.store().remove(&id),
        Err(StoreError::NotFound(_))
    ));
    let mut called = false;
    assert!(matches!(
        manager.store().update(&id, &mut |_| called = true),
        Err(StoreError::NotFound(_))
    ));
    assert!(!called, "no record, nothing to change");
    assert!(
        manager.store().get(&id).unwrap().is_none(),
        "update must not re-add"
    );
    manager.store().record_use(&id, START).unwrap();
    assert!(manager.store().list(None).unwrap().is_empty());
}

fn updates_build_on_the_current_record<S: TokenStore>(store: S) {
    let manager = manager(store);
    let created = manager
        .create(NewToken::new("used", Lifetime::Never))
        .unwrap();
    let id = created.info().id;

    manager
        .store()
        .record_use(&id, START + Duration::hours(1))
        .unwrap();
    let mut seen = None;
    let changed = manager
        .store()
        .update(&id, &mut |record| seen = record.last_used_at())
        .unwrap();
    let stored = manager.store().get(&id).unwrap().unwrap();

    // The change saw the use recorded before it, and what it returned is what is stored.
    let used = Some(START + Duration::hours(1));
    assert_eq!(seen, used);
    assert_eq!(changed.last_used_at(), used);
    assert_eq!(stored.last_used_at(), used);
}

fn an_update_may_not_change_the_id<S: TokenStore>(store: S) {
    let manager = manager(store);
    let first = manager
        .create(NewToken::new("first", Lifetime::Never))
        .unwrap();
    let second = manager
        .create(NewToken::new("second", Lifetime::Never))
        .unwrap();
    let other = (*manager.store().get(&second.info().id).unwrap().unwrap()).clone();

    let refused = manager
        .store()
        .update(&first.info().id, &mut |record| *record = other.clone());

    assert!(refused.is_err());
    let kept = manager.store().get(&first.info().id).unwrap().unwrap();
    assert_eq!(kept.name(), "first");
}

fn purge_removes_what_is_expired<S: TokenStore>(store: S) {
    let manager = manager(store);
    let soon = manager
        .create(NewToken::new("soon", Lifetime::For(Duration::hours(1))))
        .unwrap();
    let _ = manager
        .create(NewToken::new("later", Lifetime::For(Duration::hours(2))))
        .unwrap();

    let purged = manager
        .store()
        .purge_expired(START + Duration::hours(1))
        .unwrap();

    assert_eq!(purged, [soon.info().id]);
    assert_eq!(manager.store().list(None).unwrap().len(), 1);
}

fn concurrent_verifies_and_writes<S: TokenStore + 'static>(store: S) {
    let manager = Arc::new(manager(store));
    let tokens: Vec<String> = (0..64)
        .map(|i| {
            let created = manager
                .create(NewToken::new(format!("t{i}"), Lifetime::Never))
                .unwrap();
            created.token().expose_secret().to_owned()
        })
        .collect();
    let tokens = Arc::new(tokens);

    let readers: Vec<_> = (0..4)
        .map(|_| {
            let (manager, tokens) = (manager.clone(), tokens.clone());
            thread::spawn(move || {
                for _ in 0..50 {
                    for token in tokens.iter() {
                        manager.verify(token).unwrap();
                    }
                }
            })
        })
        .collect();
    for i in 0..200 {
        let created = manager
            .create(NewToken::new(format!("w{i}"), Lifetime::Never))
            .unwrap();
        manager.delete(&created.info().id).unwrap();
    }
    for reader in readers {
        reader.join().unwrap();
    }
    assert_eq!(manager.list(None).unwrap().len(), 64);
}

#[test]
fn memory_store_keeps_the_contract() {
    check_contract(MemoryStore::new);
}

#[test]
fn file_store_keeps_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let count = std::cell::Cell::new(0);
    check_contract(|| {
        count.set(count.get() + 1);
        FileStore::open(dir.path().join(format!("contract-{}.store", count.get()))).unwrap()
    });
}

#[test]
fn memory_store_reports_its_size() {
    let store = Arc::new(MemoryStore::new());
    assert!(store.is_empty());
    let manager = manager(store.clone());
    let _ = manager
        .create(NewToken::new("one", Lifetime::Never))
        .unwrap();
    assert_eq!(store.len(), 1);
}

#[test]
fn the_store_trait_is_object_safe() {
    let store: Box<dyn TokenStore> = Box::new(MemoryStore::new());
    let manager = manager(store);
    let created = manager
        .create(NewToken::new("dynamic", Lifetime::Never))
        .unwrap();
    assert!(manager.verify(created.token().expose_secret()).is_ok());
}
