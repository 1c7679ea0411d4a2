//! Limits on names, owners, scopes, metadata and configuration, and scope checks.

mod common;

use api_tokens::validate::{
    MAX_METADATA_ENTRIES, MAX_METADATA_VALUE_CHARS, MAX_NAME_CHARS, MAX_OWNER_CHARS,
    MAX_SCOPE_CHARS, MAX_SCOPES,
};
use api_tokens::{
    ConfigError, HashingKey, InvalidInput, Lifetime, ManageError, MemoryStore, NewToken, Prefix,
    TokenManager,
};
use common::{key, manager};

fn refusal(request: NewToken) -> InvalidInput {
    let (manager, _) = manager();
    match manager.create(request) {
        Err(ManageError::Invalid(why)) => {
            assert!(manager.list(None).unwrap().is_empty(), "nothing is stored");
            why
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn named(name: &str) -> NewToken {
    NewToken::new(name, Lifetime::Never)
}

#[test]
fn names_must_have_1_to_100_characters_after_trimming() {
    assert_eq!(refusal(named("")), InvalidInput::NameLength);
    assert_eq!(refusal(named("  \t\n ")), InvalidInput::NameLength);
    assert_eq!(
        refusal(named(&"x".repeat(MAX_NAME_CHARS + 1))),
        InvalidInput::NameLength
    );

    let (manager, _) = manager();
    let longest = format!("  {}  ", "ß".repeat(MAX_NAME_CHARS));
    let created = manager.create(named(&longest)).unwrap();
    assert_eq!(created.info().name, "ß".repeat(MAX_NAME_CHARS));
}

#[test]
fn names_must_not_hide_characters() {
    for name in [
        "tab\tinside",
        "nul\0",
        "escape\u{1b}[31m",
        "rtl\u{202e}txt",
        "isolate\u{2066}",
    ] {
        assert_eq!(
            refusal(named(name)),
            InvalidInput::NameCharacters,
            "{name:?}"
        );
    }
}

#[test]
fn owners_are_checked() {
    let long = "o".repeat(MAX_OWNER_CHARS + 1);
    for owner in [
        "",
        " alice",
        "alice ",
        "al\nice",
        "al\u{202d}ice",
        long.as_str(),
    ] {
        assert_eq!(
            refusal(named("t").owner(owner)),
            InvalidInput::Owner,
            "{owner:?}"
        );
    }
}

#[test]
fn scopes_are_checked() {
    let long = "s".repeat(MAX_SCOPE_CHARS + 1);
    for scope in ["", "has space", "é", "repo:*", "**", long.as_str()] {
        assert_eq!(
            refusal(named("t").scope(scope)),
            InvalidInput::Scope,
            "{scope:?}"
        );
    }
    let too_many = (0..=MAX_SCOPES).map(|i| format!("scope{i}"));
    assert_eq!(
        refusal(named("t").scopes(too_many)),
        InvalidInput::TooManyScopes
    );
}

#[test]
fn metadata_is_checked() {
    let long_value = "v".repeat(MAX_METADATA_VALUE_CHARS + 1);
    let cases = [
        ("", "v"),
        ("bad key", "v"),
        ("k", "line\nbreak"),
        ("k", long_value.as_str()),
    ];
    for (key, value) in cases {
        let request = named("t").metadata(key, value);
        assert_eq!(refusal(request), InvalidInput::Metadata, "{key:?}");
    }
    let mut request = named("t");
    for i in 0..=MAX_METADATA_ENTRIES {
        request = request.metadata(format!("k{i}"), "v");
    }
    assert_eq!(refusal(request), InvalidInput::TooManyMetadataEntries);
}

#[test]
fn scope_checks_honour_the_wildcard_only() {
    let (manager, _) = manager();
    let reader = manager
        .create(named("reader").scopes(["repo:read", "user:email"]))
        .unwrap();
    let admin = manager.create(named("admin").scope("*")).unwrap();
    let none = manager.create(named("none")).unwrap();

    let reader = manager.verify(reader.token().expose_secret()).unwrap();
    assert!(reader.require_scope("repo:read").is_ok());
    assert!(!reader.has_scope("repo:write"));
    assert!(!reader.has_scope("repo"));
    assert!(!reader.has_scope("*"));
    let missing = reader.require_scope("repo:write").unwrap_err();
    assert_eq!(missing.scope, "repo:write");

    let admin = manager.verify(admin.token().expose_secret()).unwrap();
    assert!(admin.has_scope("repo:write") && admin.has_scope("anything:at:all"));

    let none = manager.verify(none.token().expose_secret()).unwrap();
    assert!(!none.has_scope("repo:read"));
}

#[test]
fn prefixes_are_validated_when_the_manager_is_built() {
    for good in [
        "a",
        "acme",
        "acme_live",
        "x9",
        "a_b_c",
        "abcdefghij0123456789",
    ] {
        assert!(Prefix::new(good).is_ok(), "{good:?}");
    }
    let too_long = "a".repeat(21);
    for bad in [
        "",
        "_acme",
        "acme_",
        "Acme",
        "ac-me",
        "ac me",
        "é",
        too_long.as_str(),
    ] {
        assert_eq!(Prefix::new(bad), Err(ConfigError::InvalidPrefix), "{bad:?}");
        let built = TokenManager::builder(MemoryStore::new(), key(1), bad).build();
        assert!(matches!(built, Err(ConfigError::InvalidPrefix)), "{bad:?}");
    }
}

#[test]
fn hashing_keys_shorter_than_32_bytes_are_refused() {
    assert_eq!(HashingKey::new(&[]).unwrap_err(), ConfigError::KeyTooShort);
    assert_eq!(
        HashingKey::new(&[9; 31]).unwrap_err(),
        ConfigError::KeyTooShort
    );
    assert!(HashingKey::new(&[9; 32]).is_ok());
    assert!(HashingKey::new(&[9; 128]).is_ok());
}

#[test]
fn generated_key_bytes_differ_and_make_distinct_keys() {
    let first = HashingKey::generate_bytes().unwrap();
    let second = HashingKey::generate_bytes().unwrap();
    assert_ne!(*first, *second);
    let (a, b) = (
        HashingKey::new(&first[..]).unwrap(),
        HashingKey::new(&second[..]).unwrap(),
    );
    assert_ne!(a.id(), b.id());
}
