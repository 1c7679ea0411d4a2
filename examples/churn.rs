//! Creates, verifies and deletes tokens in a file store in a loop, printing each change
//! once the store has acknowledged it: a load generator to try the store with, and the
//! writer that the crash tests kill.
//!
//! ```text
//! cargo run --example churn -- PATH [--count N] [--creates-only] [--compact-after BYTES]
//! ```
//!
//! Each line on stdout is one of `created ID`, `deleting ID` (before the call) and
//! `deleted ID` (after it returned). Whatever was printed as created or deleted must be in
//! the store, or gone from it, even if the process is killed at the next instant.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use api_tokens::{FileStore, HashingKey, Lifetime, NewToken, TokenManager};
use clap::Parser;

/// Keep about this many tokens alive: create below it, mostly delete above it.
const LIVE_TARGET: usize = 40;

#[derive(Parser, Debug)]
struct Args {
    /// The store file; created with the prefix `churn` if missing.
    path: PathBuf,
    /// Stop after this many changes (default: run until killed).
    #[arg(long)]
    count: Option<u64>,
    /// Only create tokens.
    #[arg(long)]
    creates_only: bool,
    /// Compact whenever the log has grown by this many bytes.
    #[arg(long, default_value_t = api_tokens::DEFAULT_COMPACT_AFTER)]
    compact_after: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("churn: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let store = FileStore::options()
        .prefix(api_tokens::Prefix::new("churn")?)
        .compact_after(args.compact_after)
        .open(&args.path)?;
    // A fixed key: the tokens are thrown away, and every run must verify the same ones.
    let key = HashingKey::new(&[7; 32])?;
    let manager = TokenManager::builder(store, key, "churn")
        .last_used_resolution(time::Duration::ZERO)
        .build()?;

    let mut random = Random::seeded();
    let mut out = io::stdout().lock();
    let mut tokens: Vec<String> = Vec::new();
    let mut done = 0;
    while args.count.is_none_or(|count| done < count) {
        let live = manager.store().len();
        let delete = !args.creates_only && live > 0 && random.below(2 * LIVE_TARGET) < live;
        if delete {
            let listed = manager.list(None)?;
            let id = listed[random.below(listed.len())].id;
            writeln!(out, "deleting {id}")?;
            manager.delete(&id)?;
            writeln!(out, "deleted {id}")?;
        } else {
            let name = format!("churn {done}");
            let created = manager.create(NewToken::new(name, Lifetime::Never))?;
            writeln!(out, "created {}", created.info().id)?;
            tokens.push(created.token().expose_secret().to_owned());
        }

        // Verifying notes a last use, which the next change writes out.
        if !tokens.is_empty() {
            let _ = manager.verify(&tokens[random.below(tokens.len())]);
        }
        done += 1;
    }
    Ok(())
}

/// A small xorshift generator; the choices need to vary, not to be secret.
struct Random(u64);

impl Random {
    fn seeded() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |since| since.subsec_nanos());
        Self(u64::from(nanos) ^ (u64::from(std::process::id()) << 32) | 1)
    }

    fn below(&mut self, bound: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % bound.max(1) as u64) as usize
    }
}
