//! The cost of verifying a presented token, next to the HMAC it cannot avoid.
//!
//! Run with `cargo bench --bench verify`.

use std::hint::black_box;

use api_tokens::{HashingKey, Lifetime, MemoryStore, NewToken, PlaintextToken, TokenManager};
use criterion::{Criterion, criterion_group, criterion_main};
use ring::hmac;

fn verify(c: &mut Criterion) {
    let key = HashingKey::new(&[42; 32]).expect("a 32-byte key is long enough");
    let manager = TokenManager::builder(MemoryStore::new(), key, "bench")
        .build()
        .expect("the configuration is valid");
    let tokens: Vec<PlaintextToken> = (0..10_000)
        .map(|i| {
            let request = NewToken::new(format!("token {i}"), Lifetime::Never);
            manager
                .create(request)
                .expect("creating a token succeeds")
                .into_parts()
                .0
        })
        .collect();
    let valid = tokens[0].expose_secret();

    let mut group = c.benchmark_group("verify");

    let floor_key = hmac::Key::new(hmac::HMAC_SHA256, &[42; 32]);
    group.bench_function("floor_hmac", |b| {
        b.iter(|| hmac::sign(&floor_key, black_box(&[7u8; 32])))
    });

    group.bench_function("valid_warm_memory", |b| {
        b.iter(|| {
            manager
                .verify(black_box(valid))
                .expect("the token is valid")
        })
    });

    group.finish();
}

criterion_group!(benches, verify);
criterion_main!(benches);
