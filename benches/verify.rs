//! The cost of verifying a presented token, next to the HMAC it cannot avoid.
//!
//! Run with `cargo bench --bench verify`. Every id below is compared across changes through
//! `target/criterion/verify/<id>/new/estimates.json`.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/file_store_format/spec.rs"]
mod spec;

use std::hint::black_box;

use api_tokens::{
    FileStore, HashingKey, Lifetime, ManualClock, MemoryStore, NewToken, TokenManager, TokenStore,
};
use criterion::{Criterion, criterion_group, criterion_main};
use ring::hmac;
use time::{Duration, OffsetDateTime};

/// How many tokens each store holds, as in a large service.
const TOKENS: usize = 100_000;

const KEY: [u8; 32] = [42; 32];

/// A manager over `store` holding [`TOKENS`] tokens, with their plaintexts.
fn filled<S: TokenStore>(store: S) -> (TokenManager<S>, Vec<String>) {
    let key = HashingKey::new(&KEY).expect("a 32-byte key is long enough");
    let manager = TokenManager::builder(store, key, "bench")
        .build()
        .expect("valid configuration");
    let tokens = (0..TOKENS)
        .map(|i| {
            let request = NewToken::new(format!("token {i}"), Lifetime::For(Duration::days(30)));
            let created = manager.create(request).expect("creating a token succeeds");
            created.token().expose_secret().to_owned()
        })
        .collect();
    (manager, tokens)
}

/// A manager over a file store holding the same records as `memory`'s store, written
/// directly in the documented format (one synced commit per token would take minutes).
fn file_copy(
    memory: &TokenManager<MemoryStore>,
    dir: &tempfile::TempDir,
) -> TokenManager<FileStore> {
    let records = memory.store().list(None).expect("memory lists");
    let records: Vec<_> = records.iter().map(|record| &**record).collect();
    let path = dir.path().join("bench.store");
    spec::write_store(&path, "bench", &records).expect("the store file is written");
    let key = HashingKey::new(&KEY).expect("a 32-byte key is long enough");
    let store = FileStore::open(&path).expect("the store opens");
    TokenManager::builder(store, key, "bench")
        .build()
        .expect("valid configuration")
}

/// Replaces the secret part of `token` and fixes the checksum: well-formed, wrong secret.
fn with_wrong_secret(token: &str) -> String {
    let head = format!("{}{}", &token[..token.len() - 49], "W".repeat(43));
    common::with_checksum(&head)
}

/// Replaces the id part of `token` and fixes the checksum: well-formed, unknown id.
fn with_unknown_id(token: &str) -> String {
    let secret = &token[token.len() - 49..token.len() - 6];
    common::with_checksum(&format!("bench_{}{secret}", "U".repeat(17)))
}

/// A small, fast generator for picking tokens at random; quality does not matter here.
fn next_index(state: &mut u64) -> usize {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    (*state % TOKENS as u64) as usize
}

fn verify(c: &mut Criterion) {
    let (memory, tokens) = filled(MemoryStore::new());
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = file_copy(&memory, &dir);
    let valid = tokens[0].as_str();
    let wrong_secret = with_wrong_secret(valid);
    let unknown_id = with_unknown_id(valid);
    let malformed = common::with_last_character_changed(valid);

    let expired = {
        let clock = ManualClock::new(OffsetDateTime::now_utc());
        let key = HashingKey::new(&KEY).expect("a 32-byte key is long enough");
        let manager = TokenManager::builder(MemoryStore::new(), key, "bench")
            .clock(clock.clone())
            .build()
            .expect("valid configuration");
        let request = NewToken::new("expired", Lifetime::For(Duration::seconds(1)));
        let created = manager.create(request).expect("creating a token succeeds");
        clock.advance(Duration::seconds(2));
        (manager, created.token().expose_secret().to_owned())
    };

    let mut group = c.benchmark_group("verify");

    let floor_key = hmac::Key::new(hmac::HMAC_SHA256, &KEY);
    group.bench_function("floor_hmac", |b| {
        b.iter(|| hmac::sign(&floor_key, black_box(&[7u8; 32])))
    });

    group.bench_function("valid_warm_memory", |b| {
        b.iter(|| memory.verify(black_box(valid)).expect("the token is valid"))
    });

    group.bench_function("valid_warm_file", |b| {
        b.iter(|| file.verify(black_box(valid)).expect("the token is valid"))
    });

    let mut state = 0x2545_f491_4f6c_dd1d;
    group.bench_function("valid_cold_memory", |b| {
        b.iter(|| {
            let token = &tokens[next_index(&mut state)];
            memory.verify(black_box(token)).expect("the token is valid")
        })
    });

    group.bench_function("wrong_secret", |b| {
        b.iter(|| {
            memory
                .verify(black_box(&wrong_secret))
                .expect_err("the secret is wrong")
        })
    });

    group.bench_function("unknown_id", |b| {
        b.iter(|| {
            memory
                .verify(black_box(&unknown_id))
                .expect_err("the id is unknown")
        })
    });

    group.bench_function("malformed", |b| {
        b.iter(|| {
            memory
                .verify(black_box(&malformed))
                .expect_err("the checksum is wrong")
        })
    });

    let (expired_manager, expired_token) = &expired;
    group.bench_function("expired", |b| {
        b.iter(|| {
            expired_manager
                .verify(black_box(expired_token))
                .expect_err("expired")
        })
    });

    group.finish();
}

criterion_group!(benches, verify);
criterion_main!(benches);
