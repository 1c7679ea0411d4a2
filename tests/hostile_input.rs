//! Hostile input, one kind per section: whitespace and header forms around tokens,
//! non-ASCII and control characters, hostile names and scopes, hostile times, and records
//! edited by hand. Each case ends in a typed error or a documented behaviour; none panics
//! and none gets a token accepted that should not be.

mod support;

use std::sync::Arc;

use api_tokens::{
    ConfigError, EARLIEST_INSTANT, Expiry, InvalidInput, LATEST_INSTANT, Lifetime, Malformed,
    ManageError, ManualClock, MemoryStore, NewToken, StoreError, TokenManager, TokenRecord,
    TokenStore, TokenUpdate, VerifyError, bearer_token,
};
use time::Duration;
use time::macros::datetime;

use support::{START, forge, key, manager, split};

const MEGABYTES: usize = 4 << 20;

fn setup() -> (TokenManager<MemoryStore>, ManualClock, String) {
    let clock = ManualClock::new(START);
    let manager = manager(&clock);
    let created = manager
        .create(NewToken::new("target", Lifetime::For(Duration::days(1))))
        .unwrap();
    let text = created.token().expose_secret().to_owned();
    (manager, clock, text)
}

fn assert_malformed(manager: &TokenManager<MemoryStore>, presented: &str) -> Malformed {
    match manager.verify(presented) {
        Err(VerifyError::Malformed(reason)) => reason,
        other => panic!("{presented:?} gave {other:?}"),
    }
}

fn invalid_input(result: Result<impl std::fmt::Debug, ManageError>) -> InvalidInput {
    match result {
        Err(ManageError::Invalid(input)) => input,
        other => panic!("expected refused input, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// Whitespace, line endings and the Authorization header.
// ---------------------------------------------------------------------------------------

#[test]
fn whitespace_and_line_endings_around_a_token_are_not_trimmed() {
    let (manager, _, text) = setup();
    let wrapped = [
        format!(" {text}"),
        format!("{text} "),
        format!("\t{text}"),
        format!("{text}\n"),
        format!("{text}\r\n"),
        format!("\r\n{text}"),
        format!("{text}\r"),
        format!("\u{feff}{text}"),
        format!("\u{a0}{text}"),
        format!("{text}\u{2028}"),
        format!("{text}\u{0}"),
        format!("\"{text}\""),
    ];
    for presented in &wrapped {
        assert_eq!(assert_malformed(&manager, presented), Malformed::Length);
    }

    // The same characters in place of one of the token's own are caught too.
    for space in [b' ', b'\t', b'\n', b'\r'] {
        for at in [0, text.len() / 2, text.len() - 1] {
            let mut bytes = text.clone().into_bytes();
            bytes[at] = space;
            let _ = assert_malformed(&manager, &String::from_utf8(bytes).unwrap());
        }
    }
}

#[test]
fn the_bearer_scheme_is_matched_in_any_letter_case() {
    let (manager, _, text) = setup();
    for mask in 0..64u32 {
        let scheme: String = "bearer"
            .chars()
            .enumerate()
            .map(|(i, c)| {
                if mask & (1 << i) != 0 {
                    c.to_ascii_uppercase()
                } else {
                    c
                }
            })
            .collect();
        let header = format!("{scheme} {text}");
        assert_eq!(bearer_token(&header), Ok(text.as_str()), "{header}");
        assert!(manager.verify(bearer_token(&header).unwrap()).is_ok());
    }
}

#[test]
fn extra_spaces_after_the_scheme_are_skipped_and_nothing_else_is() {
    let (manager, _, text) = setup();
    assert_eq!(bearer_token(&format!("Bearer   {text}")), Ok(text.as_str()));

    // A tab or a trailing space or line ending stays part of the token, so the token then
    // fails to parse rather than being quietly cleaned up.
    for header in [
        format!("Bearer \t{text}"),
        format!("Bearer {text} "),
        format!("Bearer {text}\r\n"),
        format!("Bearer {text}\t"),
    ] {
        let token = bearer_token(&header).unwrap();
        assert_eq!(assert_malformed(&manager, token), Malformed::Length);
    }

    // Anything after the spaces longer than any token is refused by the helper itself.
    for header in [
        format!("Bearer {text}, Basic dXNlcjpwYXNz"),
        format!("Bearer {text} {text}"),
    ] {
        assert_eq!(bearer_token(&header), Err(Malformed::Header));
    }
}

#[test]
fn other_schemes_and_missing_separators_are_refused() {
    let (_, _, text) = setup();
    let refused = [
        format!("Basic {text}"),
        format!("Token {text}"),
        format!("Digest {text}"),
        format!("Bearerx {text}"),
        format!("Bear {text}"),
        format!("Bearer{text}"),
        format!("Bearer:{text}"),
        format!("Bearer={text}"),
        format!("Bearer\t{text}"),
        format!("Bearer\u{a0}{text}"),
        format!(" Bearer {text}"),
        format!("\tBearer {text}"),
        format!("Bearer\r\n {text}"),
        format!("Bearer\u{0} {text}"),
        // Look-alike letters in the scheme: Cyrillic and full-width.
        format!("Веаrer {text}"),
        format!("Ｂearer {text}"),
        text.clone(),
        String::new(),
        "Bearer".into(),
        "Bearer ".into(),
        "Bearer      ".into(),
        "bearer\u{e9}".into(),
        "é".repeat(10),
    ];
    for header in &refused {
        assert_eq!(bearer_token(header), Err(Malformed::Header), "{header:?}");
    }
}

// ---------------------------------------------------------------------------------------
// Non-ASCII, look-alike and control characters: no normalisation, all refused.
// ---------------------------------------------------------------------------------------

/// Characters to put into tokens: multi-byte letters, look-alikes from other scripts,
/// full-width forms, invisible characters, NUL and other control bytes.
const STRANGERS: &[char] = &[
    'é', 'а', 'е', 'о', 'ο', 'Α', 'Ａ', 'ｚ', '０', '\u{200b}', '\u{feff}', '\u{fffd}', '🙂', '\0',
    '\u{7}', '\u{1b}', '\u{7f}', '\u{85}', 'ß', 'ﬁ',
];

#[test]
fn non_ascii_and_control_characters_at_every_position_are_refused() {
    let (manager, _, text) = setup();
    for at in 0..text.len() {
        for &stranger in STRANGERS {
            // In place of one character: the length changes unless the stranger is one byte.
            let mut replaced = text.clone();
            replaced.replace_range(at..=at, stranger.encode_utf8(&mut [0; 4]));
            let _ = assert_malformed(&manager, &replaced);

            // Inserted before it.
            let mut inserted = text.clone();
            inserted.insert(at, stranger);
            assert_eq!(assert_malformed(&manager, &inserted), Malformed::Length);

            // In place of as many bytes as it takes, so the length stays right.
            let width = stranger.len_utf8();
            if at + width <= text.len() {
                let mut same_length = text.clone();
                same_length.replace_range(at..at + width, stranger.encode_utf8(&mut [0; 4]));
                let reason = assert_malformed(&manager, &same_length);
                let expected = if at < "acme_".len() {
                    Malformed::Prefix
                } else {
                    Malformed::Character
                };
                assert_eq!(reason, expected, "{stranger:?} at {at}");
            }
        }
    }
}

#[test]
fn a_stranger_with_a_matching_checksum_is_still_refused() {
    let (manager, _, text) = setup();
    let (prefix, id, secret) = split(&text);
    for &stranger in STRANGERS {
        let width = stranger.len_utf8();
        let secret = format!("{stranger}{}", &secret[width..]);
        let forged = forge(prefix, id, &secret);
        assert_eq!(assert_malformed(&manager, &forged), Malformed::Character);
    }
}

#[test]
fn look_alike_and_full_width_copies_of_a_token_are_refused() {
    let (manager, _, text) = setup();
    let look_alike = |c: char| match c {
        'a' => 'а',
        'c' => 'с',
        'e' => 'е',
        'o' => 'о',
        'p' => 'р',
        'x' => 'х',
        'A' => 'Α',
        'B' => 'В',
        'E' => 'Ε',
        'O' => 'Ο',
        other => other,
    };
    let cyrillic: String = text.chars().map(look_alike).collect();
    assert_ne!(cyrillic, text, "the prefix alone has look-alikes");
    let _ = assert_malformed(&manager, &cyrillic);

    // Full-width forms turn back into the token under NFKC normalisation; the parser does
    // not normalise, so they are refused.
    let full_width: String = text
        .chars()
        .map(|c| char::from_u32(u32::from(c) + 0xfee0).unwrap())
        .collect();
    assert_eq!(assert_malformed(&manager, &full_width), Malformed::Length);

    let shouting = text.to_ascii_uppercase();
    assert_eq!(assert_malformed(&manager, &shouting), Malformed::Prefix);
}

// ---------------------------------------------------------------------------------------
// Names, owners, scopes and metadata.
// ---------------------------------------------------------------------------------------

const CONTROLS: &[char] = &[
    '\0', '\u{1}', '\t', '\n', '\r', '\u{1b}', '\u{7f}', '\u{85}', '\u{9b}',
];
const BIDI: &[char] = &[
    '\u{61c}', '\u{200e}', '\u{200f}', '\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}', '\u{202e}',
    '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}',
];

#[test]
fn control_and_bidirectional_characters_are_refused_everywhere() {
    let (manager, _, _) = setup();
    for &c in CONTROLS.iter().chain(BIDI) {
        let text = format!("in{c}side");
        let lifetime = Lifetime::Never;

        let name = manager.create(NewToken::new(text.clone(), lifetime));
        assert_eq!(invalid_input(name), InvalidInput::NameCharacters, "{c:?}");
        let owner = manager.create(NewToken::new("n", lifetime).owner(text.clone()));
        assert_eq!(invalid_input(owner), InvalidInput::Owner, "{c:?}");
        let scope = manager.create(NewToken::new("n", lifetime).scope(text.clone()));
        assert_eq!(invalid_input(scope), InvalidInput::Scope, "{c:?}");
        let value = manager.create(NewToken::new("n", lifetime).metadata("k", text.clone()));
        assert_eq!(invalid_input(value), InvalidInput::Metadata, "{c:?}");
        let key = manager.create(NewToken::new("n", lifetime).metadata(text.clone(), "v"));
        assert_eq!(invalid_input(key), InvalidInput::Metadata, "{c:?}");
    }
    // Nothing refused was stored.
    assert_eq!(manager.list(None).unwrap().len(), 1);
}

#[test]
fn path_separators_are_plain_text_and_grant_nothing() {
    let (manager, _, _) = setup();
    let created = manager
        .create(
            NewToken::new("../../etc/passwd", Lifetime::Never)
                .owner("team/infra\\ops")
                .scope("repo/../admin")
                .metadata("path", "C:\\Windows/../x"),
        )
        .unwrap();
    let info = created.info();
    assert_eq!(info.name, "../../etc/passwd");
    assert_eq!(info.owner.as_deref(), Some("team/infra\\ops"));

    // A scope is compared as a whole string: no path resolution, no wildcard inside it.
    let verified = manager.verify(created.token().expose_secret()).unwrap();
    assert!(verified.has_scope("repo/../admin"));
    assert!(verified.require_scope("admin").is_err());
    assert!(verified.require_scope("repo").is_err());
    let wildcard = manager.create(NewToken::new("n", Lifetime::Never).scope("repo/*"));
    assert_eq!(invalid_input(wildcard), InvalidInput::Scope);
    let key = manager.create(NewToken::new("n", Lifetime::Never).metadata("a/b", "v"));
    assert_eq!(invalid_input(key), InvalidInput::Metadata);
}

#[test]
fn megabytes_of_text_are_refused_with_the_right_error() {
    let (manager, _, _) = setup();
    let huge = "x".repeat(MEGABYTES);
    let never = Lifetime::Never;

    let name = manager.create(NewToken::new(huge.clone(), never));
    assert_eq!(invalid_input(name), InvalidInput::NameLength);
    let owner = manager.create(NewToken::new("n", never).owner(huge.clone()));
    assert_eq!(invalid_input(owner), InvalidInput::Owner);
    let scope = manager.create(NewToken::new("n", never).scope(huge.clone()));
    assert_eq!(invalid_input(scope), InvalidInput::Scope);
    let value = manager.create(NewToken::new("n", never).metadata("k", huge.clone()));
    assert_eq!(invalid_input(value), InvalidInput::Metadata);
    let key = manager.create(NewToken::new("n", never).metadata(huge.clone(), "v"));
    assert_eq!(invalid_input(key), InvalidInput::Metadata);

    let many_scopes = (0..100_000).map(|i| format!("s{i}"));
    let scopes = manager.create(NewToken::new("n", never).scopes(many_scopes));
    assert_eq!(invalid_input(scopes), InvalidInput::TooManyScopes);
    let mut request = NewToken::new("n", never);
    for i in 0..10_000 {
        request = request.metadata(format!("k{i}"), "v");
    }
    assert_eq!(
        invalid_input(manager.create(request)),
        InvalidInput::TooManyMetadataEntries
    );

    // Surrounded by megabytes of spaces, a short name is still just that name.
    let padded = format!("{}short{}", " ".repeat(MEGABYTES), "\t".repeat(MEGABYTES));
    assert_eq!(
        manager
            .create(NewToken::new(padded, never))
            .unwrap()
            .info()
            .name,
        "short"
    );
    assert_eq!(manager.list(None).unwrap().len(), 2);
}

#[test]
fn text_made_only_of_spaces() {
    let (manager, _, _) = setup();
    let never = Lifetime::Never;
    for blank in [
        "",
        " ",
        "     ",
        "\t \t",
        "\u{a0}",
        "\u{3000}\u{2003}",
        "\u{2028}",
    ] {
        let name = manager.create(NewToken::new(blank, never));
        assert_eq!(invalid_input(name), InvalidInput::NameLength, "{blank:?}");
        let owner = manager.create(NewToken::new("n", never).owner(blank));
        assert_eq!(invalid_input(owner), InvalidInput::Owner, "{blank:?}");
        let scope = manager.create(NewToken::new("n", never).scope(blank));
        assert_eq!(invalid_input(scope), InvalidInput::Scope, "{blank:?}");
        let key = manager.create(NewToken::new("n", never).metadata(blank, "v"));
        assert_eq!(invalid_input(key), InvalidInput::Metadata, "{blank:?}");
    }

    // Metadata values are kept exactly as given, blank ones included.
    let created = manager
        .create(NewToken::new("n", never).metadata("note", "   "))
        .unwrap();
    assert_eq!(created.info().metadata["note"], "   ");
}

#[test]
fn a_refused_update_changes_nothing() {
    let (manager, _, text) = setup();
    let id = *manager.verify(&text).unwrap().id();
    let before = manager.get(&id).unwrap();

    let updates = [
        TokenUpdate::new().name("\u{202e}evil"),
        TokenUpdate::new().name("fine").scopes(["bad scope"]),
        TokenUpdate::new()
            .name("fine")
            .scopes(["ok"])
            .expires(Lifetime::For(Duration::ZERO)),
        TokenUpdate::new().name(" ".repeat(MEGABYTES)),
    ];
    for update in updates {
        let _ = invalid_input(manager.update(&id, update));
        assert_eq!(manager.get(&id).unwrap(), before);
    }
}

// ---------------------------------------------------------------------------------------
// Times.
// ---------------------------------------------------------------------------------------

#[test]
fn expiry_durations_of_zero_and_of_the_maximum() {
    let (manager, clock, _) = setup();
    let create = |lifetime| manager.create(NewToken::new("t", lifetime));

    assert_eq!(
        invalid_input(create(Lifetime::For(Duration::ZERO))),
        InvalidInput::ExpiryNotInFuture
    );
    assert_eq!(
        invalid_input(create(Lifetime::For(Duration::MIN))),
        InvalidInput::ExpiryNotInFuture
    );
    assert_eq!(
        invalid_input(create(Lifetime::For(Duration::MAX))),
        InvalidInput::ExpiryOutOfRange
    );
    assert_eq!(
        invalid_input(create(Lifetime::Until(START))),
        InvalidInput::ExpiryNotInFuture
    );
    assert_eq!(
        invalid_input(create(Lifetime::Until(EARLIEST_INSTANT))),
        InvalidInput::ExpiryNotInFuture
    );

    // The shortest lifetime there is: valid now, expired a nanosecond later.
    let shortest = create(Lifetime::For(Duration::nanoseconds(1))).unwrap();
    assert!(manager.verify(shortest.token().expose_secret()).is_ok());
    clock.advance(Duration::nanoseconds(1));
    assert!(matches!(
        manager.verify(shortest.token().expose_secret()),
        Err(VerifyError::Expired)
    ));

    // The longest: valid until the last supported instant, expired at it.
    let longest = create(Lifetime::Until(LATEST_INSTANT)).unwrap();
    assert_eq!(longest.info().expires, Expiry::At(LATEST_INSTANT));
    clock.set(LATEST_INSTANT - Duration::nanoseconds(1));
    assert!(manager.verify(longest.token().expose_secret()).is_ok());
    clock.set(LATEST_INSTANT);
    assert!(matches!(
        manager.verify(longest.token().expose_secret()),
        Err(VerifyError::Expired)
    ));
}

#[test]
fn maximum_lifetimes_at_the_extremes() {
    let build = |max| {
        TokenManager::builder(MemoryStore::new(), key(), "acme")
            .clock(ManualClock::new(START))
            .max_lifetime(max)
            .build()
    };
    assert_eq!(
        build(Duration::ZERO).unwrap_err(),
        ConfigError::NonPositiveMaxLifetime
    );
    assert_eq!(
        build(Duration::MIN).unwrap_err(),
        ConfigError::NonPositiveMaxLifetime
    );

    // A maximum beyond the supported range limits nothing but "never".
    let manager = build(Duration::MAX).unwrap();
    let never = manager.create(NewToken::new("t", Lifetime::Never));
    assert_eq!(invalid_input(never), InvalidInput::ExpiryBeyondMaxLifetime);
    assert!(
        manager
            .create(NewToken::new("t", Lifetime::Until(LATEST_INSTANT)))
            .is_ok()
    );
}

#[test]
fn instants_before_1970_work_like_any_other() {
    let clock = ManualClock::new(datetime!(1950-06-01 08:00:00.25 UTC));
    let manager = manager(&clock);
    let created = manager
        .create(NewToken::new("old", Lifetime::For(Duration::days(1))))
        .unwrap();
    let text = created.token().expose_secret();
    assert_eq!(
        created.info().expires,
        Expiry::At(datetime!(1950-06-02 08:00:00.25 UTC))
    );
    assert!(manager.verify(text).is_ok());
    assert_eq!(
        manager.get(&created.info().id).unwrap().last_used_at,
        Some(datetime!(1950-06-01 08:00:00.25 UTC))
    );

    clock.advance(Duration::days(1));
    assert!(matches!(manager.verify(text), Err(VerifyError::Expired)));
    assert_eq!(manager.purge_expired().unwrap(), [created.info().id]);
}

#[test]
fn a_clock_outside_the_supported_range() {
    let (manager, clock, text) = setup();
    let id = *manager.verify(&text).unwrap().id();

    // Before the first supported instant, and past the last once shown in UTC.
    for outside in [
        datetime!(-0001-12-31 23:59:59 UTC),
        datetime!(9999-12-31 23:00:00 -10:00),
    ] {
        clock.set(outside);
        let create = manager.create(NewToken::new("t", Lifetime::Never));
        assert_eq!(invalid_input(create), InvalidInput::ClockOutOfRange);
        let purge = manager.purge_expired();
        assert_eq!(invalid_input(purge), InvalidInput::ClockOutOfRange);
        let update = manager.update(&id, TokenUpdate::new().expires(Lifetime::Never));
        assert_eq!(invalid_input(update), InvalidInput::ClockOutOfRange);
        let rotate = manager.rotate(&id, Duration::ZERO);
        assert_eq!(invalid_input(rotate), InvalidInput::ClockOutOfRange);
    }

    // Verification still compares against the clock: far in the past the token is valid,
    // and the unsupported instant is not written as its last use.
    let last_used = manager.get(&id).unwrap().last_used_at;
    clock.set(datetime!(-0001-12-31 23:59:59 UTC));
    assert!(manager.verify(&text).is_ok());
    assert_eq!(manager.get(&id).unwrap().last_used_at, last_used);
    clock.set(datetime!(9999-12-31 23:00:00 -10:00));
    assert!(matches!(manager.verify(&text), Err(VerifyError::Expired)));
    assert_eq!(manager.list(None).unwrap().len(), 1);
}

#[test]
fn rotating_where_the_replacement_would_end_past_the_range_keeps_the_old_token() {
    let (manager, clock, _) = setup();
    let created = manager
        .create(NewToken::new("t", Lifetime::Until(LATEST_INSTANT)))
        .unwrap();
    clock.advance(Duration::seconds(1));

    let rotated = manager.rotate(&created.info().id, Duration::ZERO);
    assert_eq!(invalid_input(rotated), InvalidInput::ExpiryOutOfRange);
    assert!(manager.verify(created.token().expose_secret()).is_ok());
    assert_eq!(manager.list(None).unwrap().len(), 2);

    // The longest grace there is ends the old token at the last supported instant.
    let never = manager.create(NewToken::new("n", Lifetime::Never)).unwrap();
    let _ = manager.rotate(&never.info().id, Duration::MAX).unwrap();
    assert_eq!(
        manager.get(&never.info().id).unwrap().expires,
        Expiry::At(LATEST_INSTANT)
    );
    let negative = manager.rotate(&never.info().id, Duration::nanoseconds(-1));
    assert_eq!(invalid_input(negative), InvalidInput::NegativeGrace);
}

#[test]
fn a_clock_that_jumps_backwards() {
    let (manager, clock, text) = setup();
    let at = |hours: i64| START + Duration::hours(hours);

    clock.set(at(25));
    assert!(matches!(manager.verify(&text), Err(VerifyError::Expired)));

    // Validity is judged by the clock's current reading, so a clock set back before the
    // expiry accepts the token again; a purge in between would have removed it for good.
    clock.set(at(23));
    assert!(manager.verify(&text).is_ok());

    // A token created after the jump back is older by its creation time, and lists after.
    clock.set(at(-48));
    let earlier = manager
        .create(NewToken::new("earlier", Lifetime::For(Duration::hours(1))))
        .unwrap();
    let names: Vec<String> = manager
        .list(None)
        .unwrap()
        .into_iter()
        .map(|info| info.name)
        .collect();
    assert_eq!(names, ["target", "earlier"]);
    assert!(manager.verify(earlier.token().expose_secret()).is_ok());
    assert!(manager.verify(&text).is_ok());
}

#[test]
fn last_used_times_from_a_skewed_clock() {
    let store = Arc::new(MemoryStore::new());
    let right = ManualClock::new(START);
    let ahead = ManualClock::new(START + Duration::days(1));
    let build = |clock: &ManualClock| {
        TokenManager::builder(Arc::clone(&store), key(), "acme")
            .clock(clock.clone())
            .build()
            .unwrap()
    };
    let (on_time, skewed) = (build(&right), build(&ahead));
    let created = on_time
        .create(NewToken::new("t", Lifetime::For(Duration::days(30))))
        .unwrap();
    let (id, text) = (created.info().id, created.token().expose_secret());
    let last_used = || on_time.get(&id).unwrap().last_used_at;

    // The skewed manager writes its own idea of now.
    let _ = skewed.verify(text).unwrap();
    assert_eq!(last_used(), Some(START + Duration::days(1)));

    // A last-use time only moves forward: uses by the clock that is right leave the time
    // from the future alone, and write nothing, until they pass it by the resolution.
    right.advance(Duration::seconds(30));
    let _ = on_time.verify(text).unwrap();
    assert_eq!(last_used(), Some(START + Duration::days(1)));
    right.set(START + Duration::days(1) + Duration::seconds(59));
    let _ = on_time.verify(text).unwrap();
    assert_eq!(last_used(), Some(START + Duration::days(1)));
    right.advance(Duration::seconds(1));
    let _ = on_time.verify(text).unwrap();
    assert_eq!(
        last_used(),
        Some(START + Duration::days(1) + Duration::minutes(1))
    );

    // A change made after a later use was recorded builds on that later time.
    store.record_use(&id, START + Duration::days(2)).unwrap();
    on_time
        .update(&id, TokenUpdate::new().name("renamed"))
        .unwrap();
    assert_eq!(last_used(), Some(START + Duration::days(2)));
}

// ---------------------------------------------------------------------------------------
// Records edited by hand, read through serde.
// ---------------------------------------------------------------------------------------

fn record_json(manager: &TokenManager<MemoryStore>, text: &str) -> serde_json::Value {
    let id = manager.format().parse_id(text).unwrap();
    let record = manager.store().get(&id).unwrap().unwrap();
    serde_json::to_value(&*record).unwrap()
}

fn read(value: &serde_json::Value) -> Result<TokenRecord, serde_json::Error> {
    serde_json::from_value(value.clone())
}

#[test]
fn hand_edited_records_with_broken_fields_are_refused() {
    let (manager, _, text) = setup();
    let good = record_json(&manager, &text);
    assert!(read(&good).is_ok());

    let edits: Vec<(&str, serde_json::Value)> = vec![
        ("hash", "".into()),
        ("hash", "AAAA".into()),
        ("hash", "A".repeat(44).into()),
        ("hash", "A".repeat(4000).into()),
        ("hash", "not base64 at all!".into()),
        ("hash", 7.into()),
        ("hash", serde_json::Value::Null),
        ("key_id", "".into()),
        ("key_id", "0123456789abcdeg".into()),
        ("key_id", "0123456789abcdef0".into()),
        ("expires", 1_700_000_000.into()),
        ("expires", "soon".into()),
        ("expires", serde_json::json!({"at": 5})),
        ("expires", serde_json::json!({"at": "2024-13-01T00:00:00Z"})),
        (
            "expires",
            serde_json::json!({"at": "10000-01-01T00:00:00Z"}),
        ),
        ("created_at", "yesterday".into()),
        ("version", 2.into()),
        ("id", "short".into()),
        ("name", " padded ".into()),
        ("name", "bidi\u{202e}".into()),
        ("scopes", serde_json::json!(["has space"])),
        ("owner", "".into()),
    ];
    for (field, value) in edits {
        let mut edited = good.clone();
        edited[field] = value.clone();
        let error = read(&edited).expect_err(&format!("{field} = {value}"));
        // The error names what is wrong without repeating the record's hash.
        let hash = good["hash"].as_str().unwrap();
        assert!(!error.to_string().contains(hash));
    }
    for field in ["hash", "key_id", "expires", "created_at", "version", "id"] {
        let mut edited = good.clone();
        let _ = edited.as_object_mut().unwrap().remove(field);
        assert!(read(&edited).is_err(), "without {field}");
    }
}

#[test]
fn a_record_naming_an_unknown_key_never_verifies() {
    let (manager, _, text) = setup();
    let mut edited = record_json(&manager, &text);
    let other = api_tokens::HashingKey::new(&[9; 32]).unwrap();
    edited["key_id"] = other.id().to_string().into();

    let store = MemoryStore::new();
    store.insert(read(&edited).unwrap()).unwrap();
    let reader = TokenManager::builder(store, key(), "acme")
        .clock(ManualClock::new(START))
        .build()
        .unwrap();
    assert!(matches!(reader.verify(&text), Err(VerifyError::Invalid)));
}

#[test]
fn duplicate_ids_are_refused_by_the_store() {
    let (manager, _, text) = setup();
    let record = read(&record_json(&manager, &text)).unwrap();
    let id = *record.id();
    assert!(matches!(
        manager.store().insert(record),
        Err(StoreError::Duplicate(dup)) if dup == id
    ));
    assert_eq!(manager.list(None).unwrap().len(), 1);
}

#[test]
fn a_record_edited_to_expire_earlier_takes_effect() {
    let (manager, _, text) = setup();
    let mut edited = record_json(&manager, &text);
    edited["expires"] = serde_json::json!({"at": "2024-03-01T11:00:00Z"});
    let store = MemoryStore::new();
    store.insert(read(&edited).unwrap()).unwrap();
    let reader = TokenManager::builder(store, key(), "acme")
        .clock(ManualClock::new(START))
        .build()
        .unwrap();
    assert!(matches!(reader.verify(&text), Err(VerifyError::Expired)));
}
