//! What only a `FileStore` costs: a verify that misses, and opening a large store.
//!
//! Run with `cargo bench --bench file_store`.

#[path = "../tests/file_store_format/spec.rs"]
mod spec;

use std::hint::black_box;

use api_tokens::{
    FileStore, HashingKey, Lifetime, MemoryStore, NewToken, PlaintextToken, TokenManager,
    TokenStore, VerifyError,
};
use criterion::{Criterion, criterion_group, criterion_main};

fn key() -> HashingKey {
    HashingKey::new(&[42; 32]).expect("a 32-byte key is long enough")
}

/// A memory-backed manager holding `count` tokens, and the tokens.
fn filled(count: usize) -> (TokenManager<MemoryStore>, Vec<PlaintextToken>) {
    let manager = TokenManager::builder(MemoryStore::new(), key(), "bench")
        .build()
        .expect("the configuration is valid");
    let tokens = (0..count)
        .map(|i| {
            let request = NewToken::new(format!("token {i}"), Lifetime::Never).scope("read");
            let created = manager.create(request).expect("creating a token succeeds");
            created.into_parts().0
        })
        .collect();
    (manager, tokens)
}

/// Writes the records of `manager` as a store file in `dir`.
fn store_file(manager: &TokenManager<MemoryStore>, dir: &tempfile::TempDir) -> std::path::PathBuf {
    let records = manager.store().list(None).expect("memory lists");
    let records: Vec<_> = records.iter().map(|record| &**record).collect();
    let path = dir.path().join("bench.store");
    spec::write_store(&path, "bench", &records).expect("the store file is written");
    path
}

/// A verify of a well-formed token whose id the store lacks: a file store checks the file
/// before answering. Verifies that find their token are in `benches/verify.rs`.
fn unknown_id(c: &mut Criterion) {
    let (memory, _) = filled(10_000);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = store_file(&memory, &dir);
    let file = TokenManager::builder(FileStore::open(&path).expect("opens"), key(), "bench")
        .build()
        .expect("the configuration is valid");
    let (_, strangers) = filled(1);
    let unknown = strangers[0].expose_secret();

    let mut group = c.benchmark_group("file_store");
    group.bench_function("unknown_id_file_store", |b| {
        b.iter(|| matches!(file.verify(black_box(unknown)), Err(VerifyError::Invalid)))
    });
    group.finish();
}

fn open(c: &mut Criterion) {
    let (memory, _) = filled(100_000);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = store_file(&memory, &dir);
    drop(memory);
    let size = std::fs::metadata(&path).expect("the file exists").len();
    println!("a store of 100 000 tokens takes {size} bytes");

    let mut group = c.benchmark_group("open");
    group.sample_size(10);
    group.bench_function("100k_tokens", |b| {
        b.iter(|| {
            let store = FileStore::open(black_box(&path)).expect("opens");
            assert_eq!(store.len(), 100_000);
            store
        })
    });
    group.finish();
}

criterion_group!(benches, unknown_id, open);
criterion_main!(benches);
