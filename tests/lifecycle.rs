//! The life of a token through the public API: create, list, get, verify, update, delete,
//! purge.

mod common;

use api_tokens::{
    Expiry, Lifetime, ManageError, NewToken, TokenId, TokenUpdate, VerifyError, bearer_token,
};
use common::{START, create, manager};
use time::Duration;

#[test]
fn a_created_token_verifies_and_carries_its_details() {
    let (manager, _) = manager();
    let request = NewToken::new("  CI deploy  ", Lifetime::For(Duration::days(30)))
        .owner("team-infra")
        .scopes(["repo:write", "repo:read"])
        .metadata("created-by", "alice");

    let created = manager.create(request).unwrap();
    let verified = manager.verify(created.token().expose_secret()).unwrap();

    assert_eq!(verified.id(), &created.info().id);
    assert_eq!(verified.name(), "CI deploy");
    assert_eq!(verified.owner(), Some("team-infra"));
    assert_eq!(verified.scopes(), ["repo:read", "repo:write"]);
    assert_eq!(verified.metadata()["created-by"], "alice");
    assert_eq!(verified.expires(), Expiry::At(START + Duration::days(30)));
    assert_eq!(created.info().created_at, START);
}

#[test]
fn the_token_text_has_the_documented_shape() {
    let (manager, _) = manager();
    let (id, token) = create(&manager, "shape", Lifetime::Never);
    let text = token.expose_secret();

    assert_eq!(text.len(), "test_".len() + 66);
    assert!(text.starts_with("test_"));
    assert_eq!(&text[5..22], id.as_str());
    assert!(text[5..].bytes().all(|b| b.is_ascii_alphanumeric()));
    assert_eq!(manager.format().parse_id(text), Ok(id));
}

#[test]
fn every_token_is_different() {
    let (manager, _) = manager();
    let (id_a, token_a) = create(&manager, "a", Lifetime::Never);
    let (id_b, token_b) = create(&manager, "b", Lifetime::Never);
    assert_ne!(id_a, id_b);
    assert_ne!(token_a.expose_secret(), token_b.expose_secret());
}

#[test]
fn listing_is_newest_first_and_filters_by_owner() {
    let (manager, clock) = manager();
    for (name, owner) in [("first", "alice"), ("second", "bob"), ("third", "alice")] {
        let _ = manager
            .create(NewToken::new(name, Lifetime::Never).owner(owner))
            .unwrap();
        clock.advance(Duration::seconds(1));
    }

    let names = |owner| -> Vec<String> {
        manager
            .list(owner)
            .unwrap()
            .into_iter()
            .map(|info| info.name)
            .collect()
    };
    assert_eq!(names(None), ["third", "second", "first"]);
    assert_eq!(names(Some("alice")), ["third", "first"]);
    assert_eq!(names(Some("nobody")), Vec::<String>::new());
}

#[test]
fn get_returns_details_and_refuses_unknown_ids() {
    let (manager, _) = manager();
    let (id, _) = create(&manager, "details", Lifetime::Never);
    assert_eq!(manager.get(&id).unwrap().name, "details");

    let unknown: TokenId = "00000000000000000".parse().unwrap();
    assert!(
        matches!(manager.get(&unknown), Err(ManageError::NotFound(missing)) if missing == unknown)
    );
}

#[test]
fn update_changes_name_scopes_and_expiry() {
    let (manager, _) = manager();
    let (id, token) = create(&manager, "old name", Lifetime::Never);

    let change = TokenUpdate::new()
        .name("new name")
        .scopes(["admin"])
        .expires(Lifetime::For(Duration::hours(1)));
    let info = manager.update(&id, change).unwrap();

    assert_eq!(info.name, "new name");
    assert_eq!(info.scopes, ["admin"]);
    assert_eq!(info.expires, Expiry::At(START + Duration::hours(1)));
    let verified = manager.verify(token.expose_secret()).unwrap();
    assert_eq!(verified.name(), "new name");
    assert!(verified.has_scope("admin"));
}

#[test]
fn a_refused_update_changes_nothing() {
    let (manager, _) = manager();
    let (id, _) = create(&manager, "kept", Lifetime::Never);

    let change = TokenUpdate::new().name("renamed").scopes(["not a scope"]);
    assert!(matches!(
        manager.update(&id, change),
        Err(ManageError::Invalid(_))
    ));
    assert_eq!(manager.get(&id).unwrap().name, "kept");
}

#[test]
fn a_deleted_token_stops_verifying_and_cannot_be_deleted_twice() {
    let (manager, _) = manager();
    let (id, token) = create(&manager, "short-lived", Lifetime::Never);

    manager.delete(&id).unwrap();

    assert!(matches!(
        manager.verify(token.expose_secret()),
        Err(VerifyError::Invalid)
    ));
    assert!(matches!(manager.delete(&id), Err(ManageError::NotFound(_))));
    assert!(manager.list(None).unwrap().is_empty());
}

#[test]
fn purge_removes_only_expired_tokens() {
    let (manager, clock) = manager();
    let (short, _) = create(&manager, "short", Lifetime::For(Duration::minutes(5)));
    let (long, _) = create(&manager, "long", Lifetime::For(Duration::days(5)));
    let (never, _) = create(&manager, "never", Lifetime::Never);

    clock.advance(Duration::minutes(5));
    assert_eq!(manager.purge_expired().unwrap(), [short]);

    let left: Vec<TokenId> = manager
        .list(None)
        .unwrap()
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(left.len(), 2);
    assert!(left.contains(&long) && left.contains(&never));
}

#[test]
fn last_use_is_recorded_at_the_configured_resolution() {
    let (manager, clock) = manager();
    let (id, token) = create(&manager, "busy", Lifetime::Never);
    assert_eq!(manager.get(&id).unwrap().last_used_at, None);

    manager.verify(token.expose_secret()).unwrap();
    assert_eq!(manager.get(&id).unwrap().last_used_at, Some(START));

    // Within the default minute nothing is written; after it, the new time is.
    clock.advance(Duration::seconds(59));
    manager.verify(token.expose_secret()).unwrap();
    assert_eq!(manager.get(&id).unwrap().last_used_at, Some(START));

    clock.advance(Duration::seconds(1));
    manager.verify(token.expose_secret()).unwrap();
    assert_eq!(
        manager.get(&id).unwrap().last_used_at,
        Some(START + Duration::minutes(1))
    );
}

#[test]
fn a_clock_stepped_back_does_not_move_the_last_use_time_back() {
    let (manager, clock) = manager();
    let (id, token) = create(&manager, "skewed", Lifetime::Never);
    clock.advance(Duration::hours(2));
    manager.verify(token.expose_secret()).unwrap();

    clock.set(START + Duration::minutes(10));
    manager.verify(token.expose_secret()).unwrap();

    assert_eq!(
        manager.get(&id).unwrap().last_used_at,
        Some(START + Duration::hours(2))
    );
}

#[test]
fn tokens_verify_from_an_authorization_header() {
    let (manager, _) = manager();
    let (id, token) = create(&manager, "header", Lifetime::Never);

    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let header = format!("{scheme} {}", token.expose_secret());
        let verified = manager.verify(bearer_token(&header).unwrap()).unwrap();
        assert_eq!(verified.id(), &id);
    }
    let header = format!("Token {}", token.expose_secret());
    assert!(bearer_token(&header).is_err());
}
