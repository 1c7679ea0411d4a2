//! Shared set-up for the integration tests.

// Each test file uses its own subset of these helpers.
#![allow(dead_code)]

use api_tokens::{
    HashingKey, Lifetime, ManualClock, MemoryStore, NewToken, PlaintextToken, TokenId,
    TokenManager, TokenStore,
};
use time::{OffsetDateTime, macros::datetime};

/// The instant every test clock starts at.
pub const START: OffsetDateTime = datetime!(2026-06-01 12:00:00 UTC);

/// A hashing key made of one repeated byte.
pub fn key(byte: u8) -> HashingKey {
    HashingKey::new(&[byte; 32]).unwrap()
}

/// A manager over an empty memory store, with a manual clock standing at [`START`].
pub fn manager() -> (TokenManager<MemoryStore>, ManualClock) {
    let clock = ManualClock::new(START);
    let manager = TokenManager::builder(MemoryStore::new(), key(1), "test")
        .clock(clock.clone())
        .build()
        .unwrap();
    (manager, clock)
}

/// Creates a token and returns its id and plaintext.
pub fn create<S: TokenStore>(
    manager: &TokenManager<S>,
    name: &str,
    lifetime: Lifetime,
) -> (TokenId, PlaintextToken) {
    let created = manager.create(NewToken::new(name, lifetime)).unwrap();
    let (token, info) = created.into_parts();
    (info.id, token)
}

/// Appends the checksum the token format requires to `<prefix>_<id><secret>`: the CRC-32
/// of that text as six base62 digits, most significant first.
pub fn with_checksum(head: &str) -> String {
    const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut value = crc32fast::hash(head.as_bytes());
    let mut digits = [b'0'; 6];
    for digit in digits.iter_mut().rev() {
        *digit = BASE62[(value % 62) as usize];
        value /= 62;
    }
    format!("{head}{}", String::from_utf8_lossy(&digits))
}

/// The token with its last character replaced by a different one, so its checksum fails.
pub fn with_last_character_changed(token: &str) -> String {
    let replacement = if token.ends_with('A') { 'B' } else { 'A' };
    format!("{}{replacement}", &token[..token.len() - 1])
}
