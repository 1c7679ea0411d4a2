//! The public id of a token and the map hasher keyed by it.

use std::fmt;
use std::hash::{BuildHasher, Hash, Hasher};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::Malformed;

/// Number of base62 characters in a token id.
pub(crate) const ID_LEN: usize = 17;

/// The public id of a token: 17 random base62 characters, about 101 bits.
///
/// The id is the store's lookup key. It is not a secret: it may be logged, shown in a
/// listing and used in URLs. It also stands at the start of the token body, so a person can
/// match a token they hold to a listed entry.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct TokenId([u8; ID_LEN]);

impl TokenId {
    /// Builds an id from 17 base62 characters.
    pub(crate) fn from_ascii(text: &[u8]) -> Option<Self> {
        let bytes: [u8; ID_LEN] = text.try_into().ok()?;
        bytes
            .iter()
            .all(u8::is_ascii_alphanumeric)
            .then_some(Self(bytes))
    }

    /// Wraps 17 characters the caller has already checked to be base62.
    pub(crate) fn from_checked(bytes: [u8; ID_LEN]) -> Self {
        Self(bytes)
    }

    /// The id's characters.
    pub(crate) fn as_bytes(&self) -> &[u8; ID_LEN] {
        &self.0
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII alphanumerics ever get in, so this cannot fail.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl FromStr for TokenId {
    type Err = Malformed;

    /// Reads an id as shown in listings.
    ///
    /// # Errors
    ///
    /// [`Malformed::Length`] or [`Malformed::Character`] for anything but 17 base62
    /// characters.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.len() != ID_LEN {
            return Err(Malformed::Length);
        }
        Self::from_ascii(text.as_bytes()).ok_or(Malformed::Character)
    }
}

impl fmt::Display for TokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for TokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TokenId").field(&self.as_str()).finish()
    }
}

impl Hash for TokenId {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write(&self.0);
    }
}

impl Serialize for TokenId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for TokenId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse()
            .map_err(|_| serde::de::Error::custom("invalid token id"))
    }
}

/// Hashes a [`TokenId`] by reading eight of its characters as one word.
///
/// A map keyed by ids does not need a hash that resists flooding: ids are drawn from the
/// system's random generator by this crate, never chosen by a client, so nobody can pick
/// many ids that collide. A lookup of a client-supplied id only reads the map; it never
/// inserts. That makes the cheapest hash that spreads random input well enough the right
/// one for the verification path.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct IdHasherBuilder;

impl BuildHasher for IdHasherBuilder {
    type Hasher = IdHasher;

    fn build_hasher(&self) -> IdHasher {
        IdHasher(0)
    }
}

/// The hasher made by [`IdHasherBuilder`].
#[derive(Debug)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Eight random base62 characters carry about 47 bits; multiplying by an odd
        // constant spreads them over the whole word, high bits included.
        let mut word = [0u8; 8];
        let take = bytes.len().min(8);
        word[..take].copy_from_slice(&bytes[..take]);
        self.0 = (self.0 ^ u64::from_le_bytes(word)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_text_round_trips() {
        let id: TokenId = "0123456789ABCDEFz".parse().unwrap();
        assert_eq!(id.to_string(), "0123456789ABCDEFz");
    }

    #[test]
    fn ids_of_wrong_shape_are_refused() {
        assert_eq!("short".parse::<TokenId>(), Err(Malformed::Length));
        assert_eq!(
            "0123456789ABCDEF-".parse::<TokenId>(),
            Err(Malformed::Character)
        );
        assert_eq!(
            "0123456789ABCDEFé".parse::<TokenId>(),
            Err(Malformed::Length)
        );
    }

    #[test]
    fn different_ids_hash_differently() {
        let hash = |text: &str| IdHasherBuilder.hash_one(text.parse::<TokenId>().unwrap());
        assert_ne!(hash("aaaaaaaaaaaaaaaaa"), hash("baaaaaaaaaaaaaaaa"));
    }
}
