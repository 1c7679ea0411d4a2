//! Records written with serde and read back are the same records, at the ends of the
//! supported range of instants and at every sub-second precision.
//!
//! The expected texts below are written in UTC; `.ci/run` runs the suite again with `TZ` set
//! to zones far from UTC, so a dependence on the process's time zone would show up here.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;

use api_tokens::{
    EARLIEST_INSTANT, Expiry, LATEST_INSTANT, Lifetime, ManualClock, MemoryStore, NewToken,
    TokenManager, TokenRecord, TokenStore,
};
use proptest::prelude::*;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use support::key;

/// The nanoseconds since the epoch of the supported range's ends.
fn range_nanos() -> (i128, i128) {
    (
        EARLIEST_INSTANT.unix_timestamp_nanos(),
        LATEST_INSTANT.unix_timestamp_nanos(),
    )
}

/// `nanos` since the epoch, keeping only the first `digits` sub-second digits.
fn instant(nanos: i128, digits: u32) -> OffsetDateTime {
    let unit = 10i128.pow(9 - digits);
    let kept = nanos - nanos.rem_euclid(unit);
    OffsetDateTime::from_unix_timestamp_nanos(kept).expect("within the supported range")
}

/// What a test record is made of.
#[derive(Clone, Debug)]
struct Recipe {
    created: OffsetDateTime,
    expires: Option<OffsetDateTime>,
    used: Option<OffsetDateTime>,
    name: String,
    owner: Option<String>,
    scopes: Vec<String>,
    metadata: BTreeMap<String, String>,
}

/// Makes a record through the manager, as a service would, and returns the store holding it
/// and the token's text.
fn make(recipe: &Recipe) -> (TokenManager<Arc<MemoryStore>>, Arc<TokenRecord>, String) {
    let clock = ManualClock::new(recipe.created);
    let store = Arc::new(MemoryStore::new());
    let manager = TokenManager::builder(Arc::clone(&store), key(), "acme")
        .clock(clock.clone())
        .last_used_resolution(Duration::ZERO)
        .build()
        .unwrap();

    let lifetime = recipe.expires.map_or(Lifetime::Never, Lifetime::Until);
    let mut request = NewToken::new(recipe.name.clone(), lifetime).scopes(recipe.scopes.clone());
    if let Some(owner) = &recipe.owner {
        request = request.owner(owner.clone());
    }
    for (k, v) in &recipe.metadata {
        request = request.metadata(k.clone(), v.clone());
    }
    let created = manager.create(request).expect("the recipe is valid");
    let text = created.token().expose_secret().to_owned();

    if let Some(used) = recipe.used {
        clock.set(used);
        manager.verify(&text).expect("the token is valid when used");
    }
    let record = store.get(&created.info().id).unwrap().expect("stored");
    (manager, record, text)
}

/// Writes `record`, reads it back, and checks that nothing changed.
fn assert_round_trip(record: &TokenRecord, text: &str) -> String {
    let written = serde_json::to_string(record).unwrap();
    let read: TokenRecord = serde_json::from_str(&written).unwrap();

    assert_eq!(read.id(), record.id());
    assert_eq!(read.name(), record.name());
    assert_eq!(read.owner(), record.owner());
    assert_eq!(read.scopes(), record.scopes());
    assert_eq!(read.metadata(), record.metadata());
    assert_eq!(read.created_at(), record.created_at());
    assert_eq!(read.expires(), record.expires());
    assert_eq!(read.last_used_at(), record.last_used_at());
    assert_eq!(read.key_id(), record.key_id());
    assert_eq!(read.info(), record.info());
    assert_eq!(serde_json::to_string(&read).unwrap(), written);

    // The hash came back too: the record read back still verifies the token, at an instant
    // before its expiry.
    let store = MemoryStore::new();
    store.insert(read).unwrap();
    let before_expiry = record
        .expires()
        .instant()
        .map_or(record.created_at(), |at| at - Duration::nanoseconds(1));
    let manager = TokenManager::builder(store, key(), "acme")
        .clock(ManualClock::new(before_expiry))
        .build()
        .unwrap();
    assert_eq!(manager.verify(text).unwrap().id(), record.id());
    written
}

fn recipe() -> impl Strategy<Value = Recipe> {
    let (earliest, latest) = range_nanos();
    let digits = || 0..=9u32;
    (
        earliest..latest,
        digits(),
        any::<bool>(),
        0.0..=1.0f64,
        digits(),
        proptest::option::of((0.0..=1.0f64, digits())),
        "[A-Za-zé漢🙂0-9][A-Za-zé漢🙂0-9 /._-]{0,40}",
        proptest::option::of("[a-z0-9@./-]{1,30}"),
        proptest::collection::vec("[a-z:./_-]{1,20}|\\*", 0..5),
        // Any text but the invisible characters the crate refuses.
        proptest::collection::btree_map(
            "[A-Za-z0-9._-]{1,10}",
            "[^\\p{C}\\p{Zl}\\p{Zp}\\x{34F}\\x{115F}\\x{1160}\\x{180B}-\\x{180F}\\x{2800}\\x{3164}\\x{FFA0}]{0,30}",
            0..4,
        ),
    )
        .prop_map(
            move |(created, c_digits, never, e_frac, e_digits, used, name, owner, scopes, meta)| {
                let created = instant(created, c_digits);
                let created_nanos = created.unix_timestamp_nanos();
                // Somewhere after creation, up to and including the last supported instant.
                let between = |fraction: f64, digits: u32| {
                    let span = (latest - created_nanos) as f64;
                    let at = created_nanos + 1 + (span * fraction) as i128;
                    let at = instant(at.min(latest), digits);
                    if at > created { at } else { LATEST_INSTANT }
                };
                let expires = (!never).then(|| between(e_frac, e_digits));
                let used = used.map(|(f, d)| {
                    let at = between(f, d);
                    expires.map_or(at, |e| at.min(e - Duration::nanoseconds(1)))
                });
                Recipe {
                    created,
                    expires,
                    used,
                    name,
                    owner,
                    scopes,
                    metadata: meta,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn records_read_back_unchanged(recipe in recipe()) {
        let (_, record, text) = make(&recipe);
        assert_round_trip(&record, &text);
    }
}

fn plain(created: OffsetDateTime) -> Recipe {
    Recipe {
        created,
        expires: None,
        used: None,
        name: "edge".into(),
        owner: None,
        scopes: vec![],
        metadata: BTreeMap::new(),
    }
}

#[test]
fn the_ends_of_the_range_read_back_unchanged() {
    let just_before_end = LATEST_INSTANT - Duration::nanoseconds(1);
    let cases = [
        // Created at the first instant, valid until the last one.
        Recipe {
            expires: Some(LATEST_INSTANT),
            used: Some(EARLIEST_INSTANT),
            ..plain(EARLIEST_INSTANT)
        },
        // Created and used a nanosecond before the end.
        Recipe {
            expires: Some(LATEST_INSTANT),
            used: Some(just_before_end),
            ..plain(just_before_end)
        },
        // Never expiring, from the very start.
        plain(EARLIEST_INSTANT),
        // Before 1970, at every kind of precision.
        Recipe {
            expires: Some(datetime!(1969-12-31 23:59:59.999_999_999 UTC)),
            used: Some(datetime!(1969-12-31 23:59:59.999_999_998 UTC)),
            ..plain(datetime!(1969-12-31 23:59:59 UTC))
        },
    ];
    for recipe in &cases {
        let (_, record, text) = make(recipe);
        assert_round_trip(&record, &text);
    }

    let (_, record, text) = make(&cases[0]);
    let written = assert_round_trip(&record, &text);
    assert!(
        written.contains(r#""created_at":"0000-01-01T00:00:00Z""#),
        "{written}"
    );
    assert!(
        written.contains(r#""expires":{"at":"9999-12-31T23:59:59.999999999Z"}"#),
        "{written}"
    );
    assert!(
        written.contains(r#""last_used_at":"0000-01-01T00:00:00Z""#),
        "{written}"
    );

    let (_, record, text) = make(&cases[2]);
    let written = assert_round_trip(&record, &text);
    assert!(written.contains(r#""expires":"never""#), "{written}");
    assert!(written.contains(r#""last_used_at":null"#), "{written}");
}

#[test]
fn every_sub_second_precision_reads_back_and_is_written_as_given() {
    let whole = datetime!(2024-03-01 12:00:00 UTC);
    for digits in 0..=9u32 {
        let fraction: String = "123456789".chars().take(digits as usize).collect();
        let nanos = if digits == 0 {
            0
        } else {
            fraction.parse::<i64>().unwrap() * 10i64.pow(9 - digits)
        };
        let at = whole + Duration::nanoseconds(nanos);
        let recipe = Recipe {
            expires: Some(at + Duration::days(1)),
            used: Some(at + Duration::hours(1)),
            ..plain(at)
        };
        let (_, record, text) = make(&recipe);
        let written = assert_round_trip(&record, &text);

        let dot = if digits == 0 { "" } else { "." };
        let expected = format!(r#""created_at":"2024-03-01T12:00:00{dot}{fraction}Z""#);
        assert!(written.contains(&expected), "{digits} digits: {written}");
        let expected = format!(r#""expires":{{"at":"2024-03-02T12:00:00{dot}{fraction}Z"}}"#);
        assert!(written.contains(&expected), "{digits} digits: {written}");
    }
}

#[test]
fn times_from_a_clock_in_another_offset_are_written_in_utc() {
    let here = datetime!(2024-03-01 12:00:00 +14:00);
    let recipe = Recipe {
        expires: Some(datetime!(2024-03-01 00:00:00 -10:00)),
        used: Some(datetime!(2024-02-29 23:00:00 -10:00)),
        ..plain(here)
    };
    let (manager, record, text) = make(&recipe);
    let written = assert_round_trip(&record, &text);
    assert!(
        written.contains(r#""created_at":"2024-02-29T22:00:00Z""#),
        "{written}"
    );
    assert!(
        written.contains(r#""expires":{"at":"2024-03-01T10:00:00Z"}"#),
        "{written}"
    );
    assert!(
        written.contains(r#""last_used_at":"2024-03-01T09:00:00Z""#),
        "{written}"
    );
    assert_eq!(
        manager.get(record.id()).unwrap().expires,
        Expiry::At(datetime!(2024-03-01 10:00:00 UTC))
    );
}
