//! Helpers shared by the integration tests. Each test crate uses only some of them.
#![allow(dead_code)]

use api_tokens::{HashingKey, ManualClock, MemoryStore, TokenManager};
use ring::hmac;
use time::OffsetDateTime;
use time::macros::datetime;

/// Raw bytes of the hashing key most tests use.
pub const KEY_BYTES: [u8; 32] = *b"test key: thirty-two bytes long!";

/// The instant test clocks start at, unless a test says otherwise.
pub const START: OffsetDateTime = datetime!(2024-03-01 12:00:00 UTC);

/// The 62 characters of a token body, in digit order.
pub const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Number of characters in a token id.
pub const ID_LEN: usize = 17;

/// Number of characters in a token secret.
pub const SECRET_LEN: usize = 43;

/// The key made from [`KEY_BYTES`].
pub fn key() -> HashingKey {
    HashingKey::new(&KEY_BYTES).expect("32 bytes make a valid key")
}

/// A manager over a fresh memory store, reading `clock`, with prefix `acme`.
pub fn manager(clock: &ManualClock) -> TokenManager<MemoryStore> {
    TokenManager::builder(MemoryStore::new(), key(), "acme")
        .clock(clock.clone())
        .build()
        .expect("the configuration is valid")
}

/// Writes a token for `prefix`, `id` and `secret` with a correct checksum, following the
/// format the README documents: CRC-32 of everything before the checksum, as six base62
/// digits, most significant first. Written independently of the crate, so that tests can
/// make well-formed tokens the crate never minted.
pub fn forge(prefix: &str, id: &str, secret: &str) -> String {
    let mut text = format!("{prefix}_{id}{secret}");
    let mut crc = crc32fast::hash(text.as_bytes());
    let mut digits = [b'0'; 6];
    for digit in digits.iter_mut().rev() {
        *digit = BASE62[(crc % 62) as usize];
        crc /= 62;
    }
    text.push_str(std::str::from_utf8(&digits).expect("base62 digits are ascii"));
    text
}

/// The parts of a token of this crate's format: prefix, id and secret.
pub fn split(token: &str) -> (&str, &str, &str) {
    let underscore = token.len() - 66 - 1;
    let body = &token[underscore + 1..];
    (
        &token[..underscore],
        &body[..ID_LEN],
        &body[ID_LEN..ID_LEN + SECRET_LEN],
    )
}

/// HMAC-SHA-256 of `secret` under `key_bytes`, computed without the crate.
pub fn hmac_of(key_bytes: &[u8], secret: &str) -> [u8; 32] {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key_bytes);
    let mut out = [0; 32];
    out.copy_from_slice(hmac::sign(&key, secret.as_bytes()).as_ref());
    out
}
