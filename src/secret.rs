//! Secrets and their hashes: the plaintext token, the server's hashing keys and the stored
//! HMAC of a secret.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use crate::error::ConfigError;
use crate::format::{BASE62, SECRET_LEN};
use crate::id::{ID_LEN, TokenId};

/// The shortest hashing key accepted, in bytes.
pub const MIN_KEY_LEN: usize = 32;

/// Length of a stored hash: one HMAC-SHA-256 tag.
const HASH_LEN: usize = 32;

/// A token in plaintext, as handed to its owner once when it is created.
///
/// The text is wiped from memory when the value is dropped. `Debug` shows only that a
/// secret is there; the one way to read it is [`expose_secret`](Self::expose_secret).
#[must_use = "the plaintext token is shown only once; hand it to its owner"]
pub struct PlaintextToken(Zeroizing<String>);

impl PlaintextToken {
    pub(crate) fn new(text: String) -> Self {
        Self(Zeroizing::new(text))
    }

    /// The full token text. Show it to its owner once; never log or store it.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PlaintextToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PlaintextToken(<redacted>)")
    }
}

/// Identifies a hashing key without revealing it: the first 8 bytes of an HMAC of a fixed
/// label under the key, shown as 16 hexadecimal digits.
///
/// Records name the key that hashed them by this id, so a service can rotate keys and still
/// verify records hashed under an older one.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId([u8; 8]);

impl KeyId {
    fn to_hex(self) -> [u8; 16] {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0; 16];
        for (i, byte) in self.0.iter().enumerate() {
            out[2 * i] = HEX[usize::from(byte >> 4)];
            out[2 * i + 1] = HEX[usize::from(byte & 0xf)];
        }
        out
    }

    fn from_hex(text: &str) -> Option<Self> {
        let digits = text.as_bytes();
        if digits.len() != 16 {
            return None;
        }
        let mut bytes = [0; 8];
        for (byte, pair) in bytes.iter_mut().zip(digits.chunks_exact(2)) {
            let high = char::from(pair[0]).to_digit(16)?;
            let low = char::from(pair[1]).to_digit(16)?;
            *byte = u8::try_from(high * 16 + low).ok()?;
        }
        Some(Self(bytes))
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(std::str::from_utf8(&self.to_hex()).unwrap_or_default())
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

impl Serialize for KeyId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for KeyId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::from_hex(&text).ok_or_else(|| serde::de::Error::custom("invalid key id"))
    }
}

/// A server-side key that token secrets are hashed under with HMAC-SHA-256.
///
/// Keep it out of the token store: whoever holds both the store and the key can test
/// guesses offline, while the store alone is useless to an attacker.
///
/// `ring` keeps the key as prepared HMAC state and offers no way to wipe it; the raw bytes
/// handed to [`new`](Self::new) are not kept, so wiping them is up to the caller.
#[derive(Clone)]
pub struct HashingKey {
    id: KeyId,
    key: hmac::Key,
}

impl HashingKey {
    /// Prepares a key from raw bytes, at least [`MIN_KEY_LEN`] of them.
    ///
    /// # Errors
    ///
    /// [`ConfigError::KeyTooShort`] for fewer than 32 bytes.
    pub fn new(bytes: &[u8]) -> Result<Self, ConfigError> {
        if bytes.len() < MIN_KEY_LEN {
            return Err(ConfigError::KeyTooShort);
        }

        let key = hmac::Key::new(hmac::HMAC_SHA256, bytes);
        let label = hmac::sign(&key, b"api-tokens key id v1");
        let mut id = [0; 8];
        id.copy_from_slice(&label.as_ref()[..8]);
        Ok(Self { id: KeyId(id), key })
    }

    /// Makes 32 new random key bytes from the system's secure generator.
    ///
    /// Store them somewhere safe (a secrets manager, a file readable only by the service)
    /// and build the key with [`HashingKey::new`].
    ///
    /// # Errors
    ///
    /// [`ConfigError::Random`] when the system generator fails.
    pub fn generate_bytes() -> Result<Zeroizing<[u8; 32]>, ConfigError> {
        let mut bytes = Zeroizing::new([0; 32]);
        SystemRandom::new()
            .fill(bytes.as_mut())
            .map_err(|_| ConfigError::Random)?;
        Ok(bytes)
    }

    /// The id records hashed under this key carry.
    pub fn id(&self) -> KeyId {
        self.id
    }

    /// Hashes a token secret.
    pub(crate) fn hash(&self, secret: &[u8; SECRET_LEN]) -> TokenHash {
        let tag = hmac::sign(&self.key, secret);
        let mut hash = [0; HASH_LEN];
        hash.copy_from_slice(tag.as_ref());
        TokenHash(hash)
    }

    /// Whether `secret` hashes to `expected`, compared in constant time.
    pub(crate) fn verify(&self, secret: &[u8; SECRET_LEN], expected: &TokenHash) -> bool {
        let tag = hmac::sign(&self.key, secret);
        constant_time_eq(tag.as_ref(), &expected.0)
    }
}

impl fmt::Debug for HashingKey {
    // Only the key id: it names the key without giving anything of it away.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HashingKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// The stored form of a token secret: its HMAC-SHA-256 under a [`HashingKey`].
///
/// Comparison is constant-time. `Debug` never shows the bytes; serialisation writes them in
/// base64 because stores must persist them.
#[derive(Clone)]
pub struct TokenHash([u8; HASH_LEN]);

impl TokenHash {}

/// Compares a computed tag with a stored hash in constant time.
///
/// Both are read whole as four 64-bit words; their differences are OR-ed together without
/// any branch, and only the final word goes through `subtle`'s constant-time comparison.
/// A tag of the wrong length (which HMAC-SHA-256 never produces) compares unequal.
fn constant_time_eq(tag: &[u8], hash: &[u8; HASH_LEN]) -> bool {
    let Ok(tag) = <&[u8; HASH_LEN]>::try_from(tag) else {
        return false;
    };
    let word = |bytes: &[u8; HASH_LEN], i: usize| {
        let mut chunk = [0; 8];
        chunk.copy_from_slice(&bytes[i * 8..i * 8 + 8]);
        u64::from_ne_bytes(chunk)
    };
    let difference = (0..HASH_LEN / 8).fold(0, |acc, i| acc | (word(tag, i) ^ word(hash, i)));
    bool::from(difference.ct_eq(&0))
}

impl TokenHash {
    pub(crate) fn as_bytes(&self) -> &[u8; HASH_LEN] {
        &self.0
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenHash(<redacted>)")
    }
}

impl Drop for TokenHash {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl Serialize for TokenHash {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&BASE64.encode(self.0))
    }
}

impl<'de> Deserialize<'de> for TokenHash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        let invalid = || serde::de::Error::custom("hash must be 32 bytes in base64");
        if text.len() > 64 {
            return Err(invalid());
        }
        let bytes = BASE64.decode(text.as_bytes()).map_err(|_| invalid())?;
        let hash = bytes.as_slice().try_into().map_err(|_| invalid())?;
        Ok(Self(hash))
    }
}

/// A hash that no secret is expected to produce, compared against when there is no record,
/// so that the work done matches that of a real comparison.
pub(crate) static DUMMY_HASH: TokenHash = TokenHash([0; HASH_LEN]);

/// Draws a new token id and secret from the system's secure generator.
///
/// Each character is drawn uniformly from the 62 base62 characters by rejecting the random
/// bytes that would bias the draw.
pub(crate) fn random_id_and_secret(
    rng: &SystemRandom,
) -> Result<(TokenId, Zeroizing<[u8; SECRET_LEN]>), ring::error::Unspecified> {
    let mut chars = Zeroizing::new([0u8; ID_LEN + SECRET_LEN]);
    let mut pool = Zeroizing::new([0u8; 128]);
    let mut filled = 0;

    while filled < chars.len() {
        rng.fill(pool.as_mut())?;
        for &byte in pool.iter() {
            // 248 is the largest multiple of 62 that fits in a byte.
            if byte < 248 && filled < chars.len() {
                chars[filled] = BASE62[usize::from(byte % 62)];
                filled += 1;
            }
        }
    }

    let id = TokenId::from_ascii(&chars[..ID_LEN]).ok_or(ring::error::Unspecified)?;
    let mut secret = Zeroizing::new([0u8; SECRET_LEN]);
    secret.copy_from_slice(&chars[ID_LEN..]);
    Ok((id, secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_id_hex_round_trips() {
        let id = KeyId([0x00, 0x01, 0x7f, 0x80, 0xab, 0xcd, 0xef, 0xff]);
        assert_eq!(id.to_string(), "00017f80abcdefff");
        assert_eq!(KeyId::from_hex("00017f80abcdefff"), Some(id));
        assert_eq!(KeyId::from_hex("00017f80abcdeffg"), None);
        assert_eq!(KeyId::from_hex("+0017f80abcdefff"), None);
    }

    #[test]
    fn hash_comparison_notices_a_difference_in_any_byte() {
        let base = TokenHash([7; HASH_LEN]);
        assert!(!constant_time_eq(&[7; HASH_LEN - 1], &base.0));
        assert!(constant_time_eq(&[7; HASH_LEN], &base.0));
        for i in 0..HASH_LEN {
            let mut other = [7; HASH_LEN];
            other[i] ^= 1;
            assert!(!constant_time_eq(&other, &base.0), "byte {i}");
        }
    }

    #[test]
    fn random_draws_are_base62_and_differ() {
        let rng = SystemRandom::new();
        let (id_a, secret_a) = random_id_and_secret(&rng).unwrap();
        let (id_b, secret_b) = random_id_and_secret(&rng).unwrap();
        assert_ne!(id_a, id_b);
        assert_ne!(*secret_a, *secret_b);
        assert!(secret_a.iter().all(u8::is_ascii_alphanumeric));
    }
}
