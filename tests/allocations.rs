//! Heap use on the verification path and per stored token, counted exactly with a counting
//! global allocator (counts are per thread, so parallel tests do not disturb them).

mod common;

use api_tokens::{
    FileStore, HashingKey, Lifetime, MemoryStore, NewToken, TokenManager, TokenStore,
};
use time::Duration;

fn manager<S: TokenStore>(store: S) -> TokenManager<S> {
    TokenManager::builder(store, HashingKey::new(&[4; 32]).unwrap(), "alloc")
        .build()
        .unwrap()
}

#[test]
fn a_valid_verify_from_the_memory_store_does_not_allocate() {
    valid_verifies_do_not_allocate(MemoryStore::new());
}

#[test]
fn a_valid_verify_from_the_file_store_does_not_allocate() {
    let dir = tempfile::tempdir().unwrap();
    // No check for changes falls inside the counted loop: those read the file.
    let store = FileStore::options()
        .refresh_interval(std::time::Duration::from_secs(3600))
        .open(dir.path().join("tokens.store"))
        .unwrap();
    valid_verifies_do_not_allocate(store);
}

fn valid_verifies_do_not_allocate<S: TokenStore>(store: S) {
    let manager = manager(store);
    let expiring = NewToken::new("expiring", Lifetime::For(Duration::days(1))).scope("repo:read");
    let tokens = [
        manager
            .create(NewToken::new("never", Lifetime::Never))
            .unwrap(),
        manager
            .create(expiring.owner("alice").metadata("team", "infra"))
            .unwrap(),
    ];
    for created in &tokens {
        let token = created.token().expose_secret();
        // The first verify records the last use, which replaces the record once.
        manager.verify(token).unwrap();

        let counted = allocation_counter::measure(|| {
            for _ in 0..100 {
                let verified = manager.verify(token).unwrap();
                assert!(!verified.has_scope("admin"));
            }
        });

        assert_eq!(
            counted.count_total,
            0,
            "allocations while verifying {:?}",
            created.info().name
        );
    }
}

#[test]
fn rejected_tokens_do_not_allocate_either() {
    let manager = manager(MemoryStore::new());
    let created = manager
        .create(NewToken::new("target", Lifetime::Never))
        .unwrap();
    let token = created.token().expose_secret();
    let malformed = common::with_last_character_changed(token);
    let unknown = format!("alloc_{}{}", "Q".repeat(17), &token[23..]);

    let counted = allocation_counter::measure(|| {
        for presented in [malformed.as_str(), unknown.as_str(), "", "alloc_"] {
            assert!(manager.verify(presented).is_err());
        }
    });

    assert_eq!(counted.count_total, 0);
}

#[test]
fn the_memory_store_holds_at_most_200_bytes_per_token_beyond_its_text() {
    const TOKENS: usize = 100_000;
    let store = std::sync::Arc::new(MemoryStore::new());
    let manager = manager(store.clone());
    let mut text_bytes = 0;

    let counted = allocation_counter::measure(|| {
        for i in 0..TOKENS {
            let name = format!("token {i}");
            text_bytes += name.len();
            drop(
                manager
                    .create(NewToken::new(name, Lifetime::Never))
                    .unwrap(),
            );
        }
    });

    assert_eq!(store.len(), TOKENS);
    let held = counted.bytes_current as usize - text_bytes;
    let per_token = held / TOKENS;
    println!("memory held per token, beyond name text: {per_token} bytes");
    assert!(per_token <= 200, "{per_token} bytes per token");
}
