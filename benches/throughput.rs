//! Verifications per second on one thread, then on two threads sharing one manager.
//!
//! Run with `cargo bench --bench throughput`. Each thread verifies its own set of tokens
//! from a store of 100 000, as different clients of a service would; the ratio of the two
//! figures shows how well verification scales across cores.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use api_tokens::{HashingKey, Lifetime, MemoryStore, NewToken, TokenManager};

const TOKENS: usize = 100_000;
const TOKENS_PER_THREAD: usize = 1_024;
const RUN_FOR: Duration = Duration::from_secs(3);

fn main() {
    let key = HashingKey::new(&[42; 32]).expect("a 32-byte key is long enough");
    let manager = TokenManager::builder(MemoryStore::new(), key, "bench")
        .build()
        .expect("valid configuration");
    let tokens: Vec<String> = (0..TOKENS)
        .map(|i| {
            let request = NewToken::new(format!("token {i}"), Lifetime::Never);
            let created = manager.create(request).expect("creating a token succeeds");
            created.token().expose_secret().to_owned()
        })
        .collect();
    let manager = Arc::new(manager);
    let tokens = Arc::new(tokens);

    let one = verifies_per_second(&manager, &tokens, 1);
    let two = verifies_per_second(&manager, &tokens, 2);
    println!("1 thread:  {one:>12.0} verifies/s");
    println!("2 threads: {two:>12.0} verifies/s");
    println!("ratio:     {:>12.2}", two / one);
}

fn verifies_per_second(
    manager: &Arc<TokenManager<MemoryStore>>,
    tokens: &Arc<Vec<String>>,
    threads: usize,
) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let (manager, tokens, stop) = (manager.clone(), tokens.clone(), stop.clone());
            thread::spawn(move || {
                // Tokens far apart in the list, so the threads' sets do not overlap.
                let mine: Vec<&str> = (0..TOKENS_PER_THREAD)
                    .map(|i| tokens[(t * TOKENS / 2 + i * 37) % TOKENS].as_str())
                    .collect();
                let mut count = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    for token in &mine {
                        manager.verify(token).expect("the token is valid");
                    }
                    count += mine.len() as u64;
                }
                count
            })
        })
        .collect();

    let started = Instant::now();
    thread::sleep(RUN_FOR);
    stop.store(true, Ordering::Relaxed);
    let total: u64 = workers
        .into_iter()
        .map(|w| w.join().expect("worker finished"))
        .sum();
    total as f64 / started.elapsed().as_secs_f64()
}
