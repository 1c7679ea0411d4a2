//! Throughput of leak scanning over ordinary text with a few tokens in it.
//!
//! Run with `cargo bench --bench scan`; criterion prints bytes per second, for text in
//! memory and for the same text read a piece at a time.

use std::hint::black_box;

use api_tokens::{HashingKey, Lifetime, MemoryStore, NewToken, TokenManager, TokenScanner};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// About 8 MiB of log lines, with a real token in one line of every thousand and
/// token-shaped identifiers with bad checksums in others.
fn haystack() -> Vec<u8> {
    let key = HashingKey::new(&[1; 32]).expect("a 32-byte key is long enough");
    let manager = TokenManager::builder(MemoryStore::new(), key, "acme")
        .build()
        .expect("valid");
    let created = manager
        .create(NewToken::new("leaked", Lifetime::Never))
        .expect("created");
    let token = created.token().expose_secret();
    let look_alike = format!("acme_{}", "Z".repeat(66));

    let mut text = Vec::with_capacity(8 << 20);
    let mut line = 0u64;
    while text.len() < 8 << 20 {
        line += 1;
        let entry = match line % 1000 {
            0 => format!("{line} INFO request authorised with {token}\n"),
            500 => format!("{line} WARN rejected {look_alike}\n"),
            _ => format!(
                "{line} INFO GET /api/v1/repos/acme_widgets/issues?page={} 200 in 12ms user_agent=curl_8_5_0\n",
                line % 97
            ),
        };
        text.extend_from_slice(entry.as_bytes());
    }
    text
}

fn scan(c: &mut Criterion) {
    let text = haystack();
    let scanner = TokenScanner::any_prefix();
    let mut group = c.benchmark_group("scan");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.sample_size(20);
    group.bench_function("log_text", |b| {
        b.iter(|| scanner.scan(black_box(&text)).count())
    });
    // The same text through `scan_reader`, as `tokenctl scan` reads a file: in pieces,
    // keeping count of lines and columns across them.
    group.bench_function("log_text_streamed", |b| {
        b.iter(|| {
            let mut found = 0;
            scanner
                .scan_reader(black_box(&text[..]), |_, _| found += 1)
                .expect("reading memory cannot fail");
            found
        })
    });
    group.finish();
}

criterion_group!(benches, scan);
criterion_main!(benches);
