//! A statistical check that a failed verification takes the same time whatever made it
//! fail, with the dudect method: many timed runs of two classes of input, interleaved at
//! random, compared with Welch's t-test (also on the faster part of the runs, cut at
//! several percentiles). A |t| above 4.5 says the classes can be told apart by timing.
//!
//! ```text
//! cargo bench --bench timing                      # every pair, 1,000,000 samples each
//! cargo bench --bench timing -- --samples 5000000 # more samples
//! cargo bench --bench timing -- last_byte         # only the pairs whose name has this
//! cargo bench --bench timing -- --out times.csv   # and every timing, as CSV
//! ```
//!
//! In the CSV file the two classes alternate line by line, left first; its class column
//! reads 0 for both, as `dudect-bencher` writes it.
//!
//! The pairs:
//!
//! - `unknown_id_vs_wrong_secret`: a token whose id no record has, against one whose
//!   record exists but whose secret is wrong. Both must look like `Invalid` and cost the
//!   same.
//! - `first_byte_vs_last_byte`: a secret whose HMAC differs from the stored hash only in
//!   its first byte, against one that differs only in its last byte. A comparison that
//!   stopped at the first difference would tell them apart.
//! - `control_same_byte`: two classes made the same way (the hash differs in its first
//!   byte in both). It shows how large |t| gets on the machine at hand when there is
//!   nothing to find.
//! - `store_lookup_miss_vs_hit`: `MemoryStore::get` alone, for an id it lacks and for one
//!   it holds. Not a property the crate promises: it shows how much of the first pair's
//!   difference the lookup accounts for.
//!
//! Random secrets cannot be made to have an HMAC that matches the stored hash in all but
//! the last byte. Since the bench holds the hashing key, it works the other way round: it
//! computes the HMAC of each genuine secret and stores a hash that differs from it in
//! exactly the byte the class calls for, as a store edited by hand could.

use std::sync::OnceLock;

use api_tokens::{
    HashingKey, Lifetime, MemoryStore, NewToken, TokenManager, TokenRecord, TokenStore,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use dudect_bencher::ctbench::{BenchMetadata, BenchName, BenchOpts, run_benches_console};
use dudect_bencher::rand::RngExt as _;
use dudect_bencher::{BenchRng, Class, CtRunner};
use ring::hmac;

const KEY: [u8; 32] = [42; 32];

/// Tokens per class, drawn from at random for each sample. Many, so that the few records
/// that happen to be slower to find (sharing a map slot, say) even out between the classes.
const POOL: usize = 20_000;

/// Other records in the store, so that lookups work on a store of realistic size.
const FILLER: usize = 8_000;

const DEFAULT_SAMPLES: usize = 1_000_000;

static SAMPLES: OnceLock<usize> = OnceLock::new();

/// A manager over a store holding `filler` tokens nobody presents.
fn manager(filler: usize) -> TokenManager<MemoryStore> {
    let key = HashingKey::new(&KEY).expect("a 32-byte key is long enough");
    let manager = TokenManager::builder(MemoryStore::new(), key, "bench")
        .build()
        .expect("the configuration is valid");
    let _ = mint(&manager, filler);
    manager
}

fn mint(manager: &TokenManager<MemoryStore>, count: usize) -> Vec<String> {
    (0..count)
        .map(|i| {
            let request = NewToken::new(format!("token {i}"), Lifetime::Never);
            let created = manager.create(request).expect("creating a token succeeds");
            created.token().expose_secret().to_owned()
        })
        .collect()
}

/// Replaces the stored hash of `token` with its true HMAC changed by `edit`.
fn store_edited_hash(manager: &TokenManager<MemoryStore>, token: &str, edit: impl Fn(&mut [u8])) {
    let id = manager
        .format()
        .parse_id(token)
        .expect("a minted token parses");
    let secret = &token["bench_".len() + 17..token.len() - 6];
    let key = hmac::Key::new(hmac::HMAC_SHA256, &KEY);
    let mut hash = hmac::sign(&key, secret.as_bytes()).as_ref().to_vec();
    edit(&mut hash);

    let record = manager.store().get(&id).expect("the store answers");
    let mut value =
        serde_json::to_value(&*record.expect("the record exists")).expect("a record serialises");
    value["hash"] = BASE64.encode(&hash).into();
    let edited: TokenRecord = serde_json::from_value(value).expect("the edited record reads back");
    manager
        .store()
        .update(&id, &mut |record| *record = edited.clone())
        .expect("the record exists");
}

/// Times `verify` on tokens of the two classes, interleaved at random.
fn run(
    runner: &mut CtRunner,
    rng: &mut BenchRng,
    manager: &TokenManager<MemoryStore>,
    left: &[String],
    right: &[String],
) {
    for token in left.iter().chain(right) {
        assert!(
            manager.verify(token).is_err(),
            "every token in the pairs must fail verification"
        );
    }

    let samples = *SAMPLES.get().unwrap_or(&DEFAULT_SAMPLES);
    for _ in 0..samples {
        let (class, pool) = if rng.random::<bool>() {
            (Class::Left, left)
        } else {
            (Class::Right, right)
        };
        let token = pool[rng.random_range(0..pool.len())].as_str();
        runner.run_one(class, || manager.verify(token).is_ok());
    }
}

/// Mints `2 * POOL` tokens, from `left_from` or `right_from` as a coin decides for each,
/// and returns them in the order they were minted, each with its class (`true` for left).
///
/// Deciding token by token, in one sequence, spreads both classes over the same stretch of
/// memory, so that where a record or its text happens to lie cannot pass for a difference
/// between the classes. (With the classes minted one after the other, two classes of
/// identical tokens give |t| near 20.)
fn mint_classes(
    rng: &mut BenchRng,
    left_from: &TokenManager<MemoryStore>,
    right_from: &TokenManager<MemoryStore>,
) -> Vec<(bool, String)> {
    let (mut lefts, mut rights) = (0, 0);
    let mut minted = Vec::with_capacity(2 * POOL);
    while lefts < POOL || rights < POOL {
        let left = rights == POOL || (lefts < POOL && rng.random::<bool>());
        let from = if left { left_from } else { right_from };
        minted.extend(mint(from, 1).into_iter().map(|token| (left, token)));
        if left {
            lefts += 1;
        } else {
            rights += 1;
        }
    }
    minted
}

/// Splits minted tokens into the left and the right class.
fn by_class(minted: Vec<(bool, String)>) -> (Vec<String>, Vec<String>) {
    let (left, right): (Vec<_>, Vec<_>) = minted.into_iter().partition(|(left, _)| *left);
    let texts = |class: Vec<(bool, String)>| class.into_iter().map(|(_, t)| t).collect();
    (texts(left), texts(right))
}

fn unknown_id_vs_wrong_secret(runner: &mut CtRunner, rng: &mut BenchRng) {
    let manager = manager(FILLER);

    // Left: minted by a manager with the same key over another store, so well formed and
    // unknown here. Right: stored here, with a hash that no secret gives.
    let elsewhere = self::manager(0);
    let minted = mint_classes(rng, &elsewhere, &manager);
    for (_, token) in minted.iter().filter(|(left, _)| !left) {
        store_edited_hash(&manager, token, |hash| {
            hash.iter_mut().for_each(|byte| *byte = !*byte)
        });
    }
    let (unknown, known) = by_class(minted);
    run(runner, rng, &manager, &unknown, &known);
}

/// Times secrets whose HMAC differs from the stored hash only in byte `left_byte` (left
/// class) or only in byte `right_byte` (right class).
fn differing_byte(runner: &mut CtRunner, rng: &mut BenchRng, left_byte: usize, right_byte: usize) {
    let manager = manager(FILLER);
    let minted = mint_classes(rng, &manager, &manager);
    for (left, token) in &minted {
        let byte = if *left { left_byte } else { right_byte };
        store_edited_hash(&manager, token, |hash| hash[byte] ^= 1);
    }
    let (left, right) = by_class(minted);
    run(runner, rng, &manager, &left, &right);
}

fn first_byte_vs_last_byte(runner: &mut CtRunner, rng: &mut BenchRng) {
    differing_byte(runner, rng, 0, 31);
}

fn control_same_byte(runner: &mut CtRunner, rng: &mut BenchRng) {
    differing_byte(runner, rng, 0, 0);
}

fn store_lookup_miss_vs_hit(runner: &mut CtRunner, rng: &mut BenchRng) {
    let manager = manager(FILLER);
    let elsewhere = self::manager(0);
    let (missing, held) = by_class(mint_classes(rng, &elsewhere, &manager));
    let id_of = |token: &String| manager.format().parse_id(token).expect("a minted token");
    let missing: Vec<_> = missing.iter().map(id_of).collect();
    let held: Vec<_> = held.iter().map(id_of).collect();

    let samples = *SAMPLES.get().unwrap_or(&DEFAULT_SAMPLES);
    for _ in 0..samples {
        let (class, pool) = if rng.random::<bool>() {
            (Class::Left, &missing)
        } else {
            (Class::Right, &held)
        };
        let id = &pool[rng.random_range(0..pool.len())];
        runner.run_one(class, || manager.store().get(id).is_ok_and(|r| r.is_some()));
    }
}

fn main() {
    // `cargo bench` adds `--bench`; a bare word filters the pairs by name; `--out FILE`
    // writes every timing to FILE as CSV.
    let mut args = std::env::args().skip(1);
    let (mut filter, mut file_out) = (None, None);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--bench" => {}
            "--out" => file_out = Some(args.next().expect("--out takes a file name").into()),
            "--samples" => {
                let count = args.next().and_then(|n| n.parse().ok());
                let _ = SAMPLES.set(count.expect("--samples takes a number"));
            }
            word => filter = Some(word.to_owned()),
        }
    }

    let benches = vec![
        BenchMetadata {
            name: BenchName("unknown_id_vs_wrong_secret"),
            seed: None,
            benchfn: unknown_id_vs_wrong_secret,
        },
        BenchMetadata {
            name: BenchName("first_byte_vs_last_byte"),
            seed: None,
            benchfn: first_byte_vs_last_byte,
        },
        BenchMetadata {
            name: BenchName("control_same_byte"),
            seed: None,
            benchfn: control_same_byte,
        },
        BenchMetadata {
            name: BenchName("store_lookup_miss_vs_hit"),
            seed: None,
            benchfn: store_lookup_miss_vs_hit,
        },
    ];
    let options = BenchOpts {
        continuous: false,
        filter,
        file_out,
    };
    run_benches_console(options, benches).expect("the results can be written");
}
