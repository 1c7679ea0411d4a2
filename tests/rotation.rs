//! Rolling a token over to a replacement, and rotating the server's hashing key.

mod common;

use api_tokens::{
    Expiry, Lifetime, ManageError, ManualClock, MemoryStore, NewToken, TokenManager, TokenStore,
    VerifyError,
};
use common::{START, create, key, manager};
use std::sync::Arc;
use time::Duration;

#[test]
fn rotation_without_grace_retires_the_old_token_at_once() {
    let (manager, _) = manager();
    let request = NewToken::new("deploy", Lifetime::For(Duration::days(30)))
        .owner("ci")
        .scope("repo:write")
        .metadata("team", "infra");
    let (old_token, old) = manager.create(request).unwrap().into_parts();

    let (new_token, new) = manager
        .rotate(&old.id, Duration::ZERO)
        .unwrap()
        .into_parts();

    assert!(matches!(
        manager.verify(old_token.expose_secret()),
        Err(VerifyError::Invalid)
    ));
    let verified = manager.verify(new_token.expose_secret()).unwrap();
    assert_ne!(new.id, old.id);
    assert_eq!(
        (new.name.as_str(), new.owner.as_deref()),
        ("deploy", Some("ci"))
    );
    assert_eq!(verified.scopes(), ["repo:write"]);
    assert_eq!(verified.metadata(), &old.metadata);
    assert_eq!(new.expires, Expiry::At(START + Duration::days(30)));
    assert!(matches!(
        manager.get(&old.id),
        Err(ManageError::NotFound(_))
    ));
}

#[test]
fn rotation_with_grace_keeps_the_old_token_until_the_grace_ends() {
    let (manager, clock) = manager();
    let (old_id, old_token) = create(&manager, "deploy", Lifetime::Never);

    let (new_token, new) = manager
        .rotate(&old_id, Duration::hours(1))
        .unwrap()
        .into_parts();
    assert_eq!(new.expires, Expiry::Never);
    assert_eq!(
        manager.get(&old_id).unwrap().expires,
        Expiry::At(START + Duration::hours(1))
    );

    clock.advance(Duration::minutes(59));
    assert!(manager.verify(old_token.expose_secret()).is_ok());
    clock.advance(Duration::minutes(1));
    assert!(matches!(
        manager.verify(old_token.expose_secret()),
        Err(VerifyError::Expired)
    ));
    assert!(manager.verify(new_token.expose_secret()).is_ok());
}

#[test]
fn grace_never_extends_the_old_token() {
    let (manager, _) = manager();
    let (old_id, _) = create(&manager, "soon", Lifetime::For(Duration::minutes(10)));

    let _ = manager.rotate(&old_id, Duration::days(1)).unwrap();

    assert_eq!(
        manager.get(&old_id).unwrap().expires,
        Expiry::At(START + Duration::minutes(10))
    );
}

#[test]
fn rotation_can_set_a_new_lifetime_and_refuses_negative_grace() {
    let (manager, _) = manager();
    let (old_id, _) = create(&manager, "deploy", Lifetime::Never);

    assert!(matches!(
        manager.rotate(&old_id, Duration::seconds(-1)),
        Err(ManageError::Invalid(_))
    ));
    assert_eq!(manager.list(None).unwrap().len(), 1);

    let lifetime = Lifetime::For(Duration::days(7));
    let created = manager
        .rotate_with_lifetime(&old_id, Duration::ZERO, lifetime)
        .unwrap();
    assert_eq!(
        created.info().expires,
        Expiry::At(START + Duration::days(7))
    );
}

#[test]
fn rotating_an_unknown_token_is_not_found() {
    let (manager, _) = manager();
    let unknown = "zzzzzzzzzzzzzzzzz".parse().unwrap();
    assert!(matches!(
        manager.rotate(&unknown, Duration::ZERO),
        Err(ManageError::NotFound(_))
    ));
    assert!(manager.list(None).unwrap().is_empty());
}

#[test]
fn records_hashed_under_a_previous_key_verify_and_are_rehashed() {
    let store = Arc::new(MemoryStore::new());
    let clock = ManualClock::new(START);
    let old_manager = TokenManager::builder(store.clone(), key(1), "test")
        .clock(clock.clone())
        .build()
        .unwrap();
    let (id, token) = create(&old_manager, "before rotation", Lifetime::Never);
    assert_eq!(store.get(&id).unwrap().unwrap().key_id(), key(1).id());

    // The service restarts with a new current key and keeps the old one for verification.
    let new_manager = TokenManager::builder(store.clone(), key(2), "test")
        .previous_key(key(1))
        .clock(clock.clone())
        .build()
        .unwrap();
    assert!(new_manager.verify(token.expose_secret()).is_ok());
    assert_eq!(store.get(&id).unwrap().unwrap().key_id(), key(2).id());

    // New tokens use the new key; once rehashed, the old key is no longer needed.
    let (fresh_id, _) = create(&new_manager, "after rotation", Lifetime::Never);
    assert_eq!(store.get(&fresh_id).unwrap().unwrap().key_id(), key(2).id());
    let only_new = TokenManager::builder(store.clone(), key(2), "test")
        .build()
        .unwrap();
    assert!(only_new.verify(token.expose_secret()).is_ok());
}

#[test]
fn records_under_a_key_the_manager_does_not_hold_are_invalid() {
    let store = Arc::new(MemoryStore::new());
    let old_manager = TokenManager::builder(store.clone(), key(1), "test")
        .build()
        .unwrap();
    let (_, token) = create(&old_manager, "orphaned", Lifetime::Never);

    let new_manager = TokenManager::builder(store, key(2), "test")
        .build()
        .unwrap();
    assert!(matches!(
        new_manager.verify(token.expose_secret()),
        Err(VerifyError::Invalid)
    ));
}

#[test]
fn the_same_key_twice_is_a_configuration_error() {
    let built = TokenManager::builder(MemoryStore::new(), key(1), "test")
        .previous_key(key(1))
        .build();
    assert!(built.is_err());
}
