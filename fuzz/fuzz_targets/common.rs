//! What the fuzz targets share: a manager holding one genuine token, checks that hold for
//! any text given to the parser or to `verify`, and a way to give fuzzed text a correct
//! checksum so that the fuzzer also reaches the steps after the checksum.

use std::sync::OnceLock;

use api_tokens::{
    HashingKey, Lifetime, Malformed, ManualClock, MemoryStore, NewToken, Prefix, TokenFormat,
    TokenManager, VerifyError,
};
use time::Duration;
use time::macros::datetime;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

pub struct Fixture {
    pub manager: TokenManager<MemoryStore>,
    /// The one token that verifies.
    pub token: String,
    /// Formats with other prefixes, the shortest and longest among them.
    pub formats: Vec<TokenFormat>,
}

pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let key = HashingKey::new(&[0x42; 32]).expect("a valid key");
        let manager = TokenManager::builder(MemoryStore::new(), key, "acme")
            .clock(ManualClock::new(datetime!(2024-01-01 00:00 UTC)))
            .build()
            .expect("a valid configuration");
        let created = manager
            .create(NewToken::new("fuzz", Lifetime::For(Duration::days(1))))
            .expect("creation succeeds");
        let token = created.token().expose_secret().to_owned();
        let formats = ["acme", "a", "acme_live", "x1_2_3_4_5_6_7_8_9_0"]
            .into_iter()
            .map(|prefix| TokenFormat::new(Prefix::new(prefix).expect("a valid prefix")))
            .collect();
        Fixture {
            manager,
            token,
            formats,
        }
    })
}

/// `text` with its last six bytes replaced by the checksum of everything before them, when
/// that does not split a character.
pub fn with_checksum(text: &str) -> Option<String> {
    let end = text.len().checked_sub(6)?;
    if !text.is_char_boundary(end) {
        return None;
    }
    let mut crc = crc32fast::hash(&text.as_bytes()[..end]);
    let mut digits = [b'0'; 6];
    for digit in digits.iter_mut().rev() {
        *digit = BASE62[(crc % 62) as usize];
        crc /= 62;
    }
    let mut fixed = text[..end].to_owned();
    fixed.push_str(std::str::from_utf8(&digits).expect("ascii digits"));
    Some(fixed)
}

/// Checks the parser's answer for `text` against the rules it documents.
pub fn check_parse(format: &TokenFormat, text: &str) {
    let prefix = format.prefix().as_str();
    let length_ok = text.len() == format.token_len();
    let head = text.as_bytes().get(..prefix.len() + 1);
    let prefix_ok = head.is_some_and(|head| head[..prefix.len()] == *prefix.as_bytes())
        && head.is_some_and(|head| head[prefix.len()] == b'_');
    let body = text.as_bytes().get(prefix.len() + 1..).unwrap_or_default();
    let alphabet_ok = body.iter().all(u8::is_ascii_alphanumeric);

    match format.parse_id(text) {
        Ok(id) => {
            assert!(length_ok && prefix_ok && alphabet_ok);
            assert_eq!(id.as_str().as_bytes(), &body[..17]);
            assert_eq!(with_checksum(text).as_deref(), Some(text));
        }
        Err(Malformed::Length) => assert!(!length_ok),
        Err(Malformed::Prefix) => assert!(length_ok && !prefix_ok),
        Err(Malformed::Character) => assert!(length_ok && prefix_ok && !alphabet_ok),
        Err(Malformed::Checksum) => {
            assert!(length_ok && prefix_ok && alphabet_ok);
            assert_ne!(with_checksum(text).as_deref(), Some(text));
        }
        Err(other) => panic!("the parser answered {other:?}"),
    }
}

/// Checks `verify`'s answer for `text`: only the genuine token passes.
pub fn check_verify(fixture: &Fixture, text: &str) {
    let parsed = fixture.manager.format().parse_id(text);
    match fixture.manager.verify(text) {
        Ok(verified) => {
            assert_eq!(text, fixture.token);
            assert_eq!(verified.name(), "fuzz");
        }
        Err(VerifyError::Malformed(reason)) => assert_eq!(parsed, Err(reason)),
        Err(VerifyError::Invalid) => assert!(parsed.is_ok() && text != fixture.token),
        Err(other) => panic!("verify answered {other:?}"),
    }
}
