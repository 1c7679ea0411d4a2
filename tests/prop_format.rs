//! Properties of the token text: minted tokens parse back, any single-character change is
//! caught, and no input, however long or strange, makes the parser or the header helper
//! panic or read more than a token's length.

mod support;

use api_tokens::{
    Lifetime, MAX_TOKEN_LEN, Malformed, ManualClock, MemoryStore, NewToken, Prefix, TOKEN_REGEX,
    TokenFormat, TokenManager, VerifyError, bearer_token,
};
use proptest::prelude::*;
use proptest::sample::Index;

use support::{START, forge, key, split};

/// Prefixes the format allows: 1 to 20 characters, underscores only inside.
const PREFIX_PATTERN: &str = "[a-z0-9]([a-z0-9_]{0,18}[a-z0-9])?";

/// Four megabytes: well beyond anything a header or token could be.
const BIG: usize = 4 << 20;

fn manager_with_prefix(prefix: &str) -> TokenManager<MemoryStore> {
    TokenManager::builder(MemoryStore::new(), key(), prefix)
        .clock(ManualClock::new(START))
        .build()
        .expect("the prefix matches the pattern")
}

/// A manager holding one token, and that token's text.
fn one_token() -> (TokenManager<MemoryStore>, String) {
    let manager = manager_with_prefix("acme");
    let created = manager
        .create(NewToken::new("only", Lifetime::Never))
        .expect("creation succeeds");
    let text = created.token().expose_secret().to_owned();
    (manager, text)
}

/// Checks what an accepted text must look like, for any input the parser accepted.
fn assert_accepted_text_is_a_token(format: &TokenFormat, text: &str) {
    assert_eq!(text.len(), format.token_len());
    let (prefix, id, secret) = split(text);
    assert_eq!(prefix, format.prefix().as_str());
    assert_eq!(forge(prefix, id, secret), text);
}

/// Feeds `text` to every entry point that takes presented text and checks that each gives
/// a typed answer consistent with the rest.
fn check_any_input(manager: &TokenManager<MemoryStore>, real: &str, text: &str) {
    let format = manager.format();
    if let Ok(id) = format.parse_id(text) {
        assert_accepted_text_is_a_token(format, text);
        assert_eq!(id.as_str(), split(text).1);
    }

    match manager.verify(text) {
        Ok(verified) => {
            assert_eq!(text, real, "only the minted token may verify");
            assert_eq!(verified.name(), "only");
        }
        Err(VerifyError::Malformed(_) | VerifyError::Invalid) => {}
        Err(other) => panic!("unexpected verdict {other:?}"),
    }

    if let Ok(token) = bearer_token(text) {
        assert!(!token.is_empty() && token.len() <= MAX_TOKEN_LEN);
        assert!(text.len() <= 256, "over-long header values are refused");
        assert!(text[..7].eq_ignore_ascii_case("bearer "));
        assert!(text.ends_with(token));
        assert_eq!(
            text[6..text.len() - token.len()].trim_start_matches(' '),
            ""
        );
    }
}

/// A string of `len` bytes made by repeating `pattern`, cut back to valid UTF-8.
fn repeated(pattern: &[u8], len: usize) -> String {
    let bytes: Vec<u8> = pattern.iter().copied().cycle().take(len).collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn minted_tokens_parse_back_to_their_id(prefix in PREFIX_PATTERN) {
        let manager = manager_with_prefix(&prefix);
        let created = manager.create(NewToken::new("t", Lifetime::Never)).unwrap();
        let text = created.token().expose_secret();

        prop_assert_eq!(manager.format().parse_id(text), Ok(created.info().id));
        prop_assert_eq!(text.len(), manager.format().token_len());
        assert_accepted_text_is_a_token(manager.format(), text);
        prop_assert!(regex::Regex::new(TOKEN_REGEX).unwrap().is_match(text));
        prop_assert_eq!(*manager.verify(text).unwrap().id(), created.info().id);
    }

    #[test]
    fn changing_one_character_is_caught_before_any_lookup(
        position in any::<Index>(),
        replacement in any::<char>(),
    ) {
        let (manager, text) = one_token();
        let at = position.index(text.len());
        let original = char::from(text.as_bytes()[at]);
        prop_assume!(replacement != original);

        let mut changed = text.clone();
        changed.replace_range(at..=at, replacement.encode_utf8(&mut [0; 4]));
        prop_assert!(matches!(manager.verify(&changed), Err(VerifyError::Malformed(_))));
    }

    #[test]
    fn inserting_one_character_is_caught(position in any::<Index>(), inserted in any::<char>()) {
        let (manager, text) = one_token();
        let mut changed = text.clone();
        changed.insert(position.index(text.len() + 1), inserted);
        prop_assert!(matches!(
            manager.verify(&changed),
            Err(VerifyError::Malformed(Malformed::Length))
        ));
    }

    #[test]
    fn removing_one_character_is_caught(position in any::<Index>()) {
        let (manager, text) = one_token();
        let mut changed = text.clone();
        let _ = changed.remove(position.index(text.len()));
        prop_assert!(matches!(
            manager.verify(&changed),
            Err(VerifyError::Malformed(Malformed::Length))
        ));
    }

    #[test]
    fn a_changed_id_or_secret_with_a_fixed_checksum_is_invalid(
        position in 0..(support::ID_LEN + support::SECRET_LEN),
        digit in proptest::sample::select(support::BASE62.to_vec()),
    ) {
        let (manager, text) = one_token();
        let (prefix, id, secret) = split(&text);
        let mut body = format!("{id}{secret}").into_bytes();
        prop_assume!(body[position] != digit);
        body[position] = digit;

        let body = String::from_utf8(body).unwrap();
        let (id, secret) = body.split_at(support::ID_LEN);
        let forged = forge(prefix, id, secret);
        prop_assert!(matches!(manager.verify(&forged), Err(VerifyError::Invalid)));
    }

    #[test]
    fn any_string_gets_a_typed_answer(text in any::<String>()) {
        let (manager, real) = one_token();
        check_any_input(&manager, &real, &text);
        check_any_input(&manager, &real, &format!("Bearer {text}"));
    }

    #[test]
    fn any_bytes_get_a_typed_answer(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let (manager, real) = one_token();
        let text = String::from_utf8_lossy(&bytes);
        check_any_input(&manager, &real, &text);
    }

    #[test]
    fn strings_of_a_tokens_length_get_a_typed_answer(
        text in "acme_[0-9A-Za-z_ \t\u{0}é]{60,70}",
    ) {
        let (manager, real) = one_token();
        check_any_input(&manager, &real, &text);
    }
}

proptest! {
    // Inputs of up to four megabytes: few cases, as each one is large.
    #![proptest_config(ProptestConfig::with_cases(8))]

    #[test]
    fn megabytes_of_anything_get_a_typed_answer(
        pattern in proptest::collection::vec(any::<u8>(), 1..16),
        len in 0..BIG,
    ) {
        let (manager, real) = one_token();
        let text = repeated(&pattern, len);
        check_any_input(&manager, &real, &text);
        check_any_input(&manager, &real, &format!("{real}{text}"));
        check_any_input(&manager, &real, &format!("Bearer {text}"));
    }
}

#[test]
fn every_ascii_substitution_at_every_position_is_caught() {
    let (manager, text) = one_token();
    for at in 0..text.len() {
        for byte in 0..=127u8 {
            if byte == text.as_bytes()[at] {
                continue;
            }
            let mut changed = text.clone().into_bytes();
            changed[at] = byte;
            let changed = String::from_utf8(changed).unwrap();
            assert!(
                matches!(manager.verify(&changed), Err(VerifyError::Malformed(_))),
                "byte {byte:#04x} at {at}"
            );
        }
    }
}

#[test]
fn every_prefix_position_reports_the_prefix() {
    let format = TokenFormat::new(Prefix::new("acme_live").unwrap());
    let (manager, text) = {
        let manager = manager_with_prefix("acme_live");
        let created = manager.create(NewToken::new("t", Lifetime::Never)).unwrap();
        let text = created.token().expose_secret().to_owned();
        (manager, text)
    };
    for at in 0.."acme_live_".len() {
        let mut changed = text.clone().into_bytes();
        changed[at] = b'x';
        let changed = String::from_utf8(changed).unwrap();
        assert_eq!(format.parse_id(&changed), Err(Malformed::Prefix), "at {at}");
        assert!(manager.verify(&changed).is_err());
    }
}

#[test]
fn over_long_input_is_refused_on_its_length_alone() {
    let (manager, text) = one_token();
    let format = manager.format();

    // A genuine token followed by megabytes of token characters, broken only at the very
    // end: a parser that read it all would complain about the character, not the length.
    let mut long = text.clone();
    long.push_str(&"A".repeat(BIG));
    long.push('!');
    assert_eq!(format.parse_id(&long), Err(Malformed::Length));
    assert!(matches!(
        manager.verify(&long),
        Err(VerifyError::Malformed(Malformed::Length))
    ));

    // Broken at the start as well: the length is still what is reported, so it is checked
    // before any character is looked at.
    let broken_start = format!("\u{0}{}", &long[1..]);
    assert_eq!(format.parse_id(&broken_start), Err(Malformed::Length));
    assert_eq!(
        "x".repeat(BIG).parse::<api_tokens::TokenId>(),
        Err(Malformed::Length)
    );
}

#[test]
fn over_long_header_values_are_refused_whatever_they_hold() {
    let (_, text) = one_token();
    let spaces = " ".repeat(BIG);

    assert_eq!(bearer_token(&spaces), Err(Malformed::Header));
    assert_eq!(
        bearer_token(&format!("Bearer{spaces}{text}")),
        Err(Malformed::Header)
    );
    assert_eq!(
        bearer_token(&format!("Bearer {text}{spaces}")),
        Err(Malformed::Header)
    );
    assert_eq!(
        bearer_token(&format!("Bearer {}", "A".repeat(BIG))),
        Err(Malformed::Header)
    );

    // Within the limit, runs of spaces after the scheme are allowed.
    let within = format!("Bearer{}{text}", " ".repeat(256 - 6 - text.len()));
    assert_eq!(bearer_token(&within), Ok(text.as_str()));
    let beyond = format!("Bearer{}{text}", " ".repeat(257 - 6 - text.len()));
    assert_eq!(bearer_token(&beyond), Err(Malformed::Header));
}
