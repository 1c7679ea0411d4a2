//! The text form of a token: `<prefix>_<id><secret><checksum>`.
//!
//! The body after the prefix is made of base62 characters only (`[0-9A-Za-z]`) and always
//! has the same length:
//!
//! | part | characters | content |
//! |---|---|---|
//! | id | 17 | random, about 101 bits; the public lookup key |
//! | secret | 43 | random, about 256 bits; only its HMAC is stored |
//! | checksum | 6 | CRC-32 of everything before it, in base62 |

use std::fmt;

use crate::error::{ConfigError, Malformed};
use crate::id::{ID_LEN, TokenId};

/// Number of base62 characters in the secret part of a token.
pub(crate) const SECRET_LEN: usize = 43;

/// Number of base62 characters in the checksum part of a token.
const CHECKSUM_LEN: usize = 6;

/// Number of characters after `<prefix>_`.
pub const BODY_LEN: usize = ID_LEN + SECRET_LEN + CHECKSUM_LEN;

/// The longest prefix a service may choose.
pub const MAX_PREFIX_LEN: usize = 20;

/// The longest token text any prefix can produce.
pub const MAX_TOKEN_LEN: usize = MAX_PREFIX_LEN + 1 + BODY_LEN;

/// A regular expression matching every token of this crate's format, whatever its prefix.
///
/// Secret scanners can use it as is; a match still needs its checksum checked (see
/// [`TokenFormat::parse_id`]) before it is reported as a real token. Where `\b` knows
/// Unicode (as in Rust's `regex` by default), a token right after a non-ASCII letter or digit
/// is not matched; [`TokenScanner`](crate::TokenScanner) looks only at ASCII neighbours and
/// finds it.
pub const TOKEN_REGEX: &str = r"\b[a-z0-9](?:[a-z0-9_]{0,18}[a-z0-9])?_[0-9A-Za-z]{66}\b";

/// The 62 characters of the body, in digit order.
pub(crate) const BASE62: &[u8; 62] =
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The secret part of a parsed token, borrowed from the presented text.
pub(crate) type SecretText<'a> = &'a [u8; SECRET_LEN];

/// A validated token prefix, such as `acme` or `acme_live`.
///
/// A prefix is 1 to 20 characters of lowercase ASCII letters and digits; underscores are
/// allowed inside it but not at either end.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Prefix {
    bytes: [u8; MAX_PREFIX_LEN],
    len: u8,
}

impl Prefix {
    /// Validates `prefix`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidPrefix`] when the text breaks any rule above.
    ///
    /// # Examples
    ///
    /// ```
    /// use api_tokens::Prefix;
    ///
    /// assert!(Prefix::new("acme_live").is_ok());
    /// assert!(Prefix::new("Acme").is_err());
    /// assert!(Prefix::new("_acme").is_err());
    /// ```
    pub fn new(prefix: &str) -> Result<Self, ConfigError> {
        let raw = prefix.as_bytes();
        let allowed = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_';
        let valid = !raw.is_empty()
            && raw.len() <= MAX_PREFIX_LEN
            && raw.iter().all(allowed)
            && raw.first() != Some(&b'_')
            && raw.last() != Some(&b'_');
        if !valid {
            return Err(ConfigError::InvalidPrefix);
        }

        let mut bytes = [0; MAX_PREFIX_LEN];
        bytes[..raw.len()].copy_from_slice(raw);
        Ok(Self {
            bytes,
            len: raw.len() as u8,
        })
    }

    /// The prefix as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII bytes were ever copied in, so this cannot fail.
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }

    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl fmt::Debug for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Prefix").field(&self.as_str()).finish()
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A token whose text has the right shape and checksum; nothing has been looked up yet.
#[derive(Clone, Copy)]
pub(crate) struct ParsedToken<'a> {
    pub(crate) id: TokenId,
    pub(crate) secret: SecretText<'a>,
}

/// Reads and writes tokens for one prefix.
#[derive(Clone)]
pub struct TokenFormat {
    prefix: Prefix,
    /// The checksum state after `<prefix>_`, which every token of this format starts with.
    crc_after_prefix: crc32fast::Hasher,
}

impl TokenFormat {
    /// A format for tokens that start with `prefix` and an underscore.
    pub fn new(prefix: Prefix) -> Self {
        let mut crc_after_prefix = crc32fast::Hasher::new();
        crc_after_prefix.update(prefix.as_bytes());
        crc_after_prefix.update(b"_");
        Self {
            prefix,
            crc_after_prefix,
        }
    }

    /// The prefix tokens of this format start with.
    pub fn prefix(&self) -> &Prefix {
        &self.prefix
    }

    /// The length in bytes of every token of this format.
    pub fn token_len(&self) -> usize {
        self.prefix.as_bytes().len() + 1 + BODY_LEN
    }

    /// Checks that `text` is a well-formed token of this format and returns its public id.
    ///
    /// The check covers the prefix, the separator, the length, the alphabet and the checksum.
    /// It reads at most [`token_len`](Self::token_len) bytes, so its cost does not grow with
    /// the input, and it neither trims nor normalises anything.
    ///
    /// # Errors
    ///
    /// [`Malformed`] naming the first rule the text breaks.
    pub fn parse_id(&self, text: &str) -> Result<TokenId, Malformed> {
        self.parse(text).map(|token| token.id)
    }

    pub(crate) fn parse<'a>(&self, text: &'a str) -> Result<ParsedToken<'a>, Malformed> {
        let bytes = text.as_bytes();
        if bytes.len() != self.token_len() {
            return Err(Malformed::Length);
        }

        let (head, body) = bytes.split_at(bytes.len() - BODY_LEN);
        let prefix = self.prefix.as_bytes();
        if head.split_last() != Some((&b'_', prefix)) {
            return Err(Malformed::Prefix);
        }

        // No early exit: a loop over the whole fixed-length body compiles to a few vector
        // instructions.
        let body: &[u8; BODY_LEN] = body.try_into().map_err(|_| Malformed::Length)?;
        if !body
            .iter()
            .fold(true, |ok, b| ok & b.is_ascii_alphanumeric())
        {
            return Err(Malformed::Character);
        }

        let (signed, checksum) = body.split_at(BODY_LEN - CHECKSUM_LEN);
        let mut crc = self.crc_after_prefix.clone();
        crc.update(signed);
        if decode_checksum(checksum) != Some(crc.finalize()) {
            return Err(Malformed::Checksum);
        }

        let (id, secret) = signed.split_at(ID_LEN);
        let id = TokenId::from_checked(id.try_into().map_err(|_| Malformed::Length)?);
        let secret = secret.try_into().map_err(|_| Malformed::Length)?;
        Ok(ParsedToken { id, secret })
    }

    /// Writes the full token text for an id and a secret.
    pub(crate) fn encode(&self, id: &TokenId, secret: &[u8; SECRET_LEN]) -> String {
        let mut text = String::with_capacity(self.token_len());
        text.push_str(self.prefix.as_str());
        text.push('_');
        text.push_str(id.as_str());
        // The secret is generated from the base62 alphabet, so it is always valid UTF-8.
        text.push_str(std::str::from_utf8(secret).unwrap_or_default());
        let checksum = encode_checksum(crc32fast::hash(text.as_bytes()));
        text.push_str(std::str::from_utf8(&checksum).unwrap_or_default());
        text
    }
}

/// Writes a CRC-32 as six base62 digits, most significant first.
fn encode_checksum(mut value: u32) -> [u8; CHECKSUM_LEN] {
    let mut digits = [b'0'; CHECKSUM_LEN];
    for digit in digits.iter_mut().rev() {
        *digit = BASE62[(value % 62) as usize];
        value /= 62;
    }
    digits
}

impl PartialEq for TokenFormat {
    fn eq(&self, other: &Self) -> bool {
        self.prefix == other.prefix
    }
}

impl Eq for TokenFormat {}

impl fmt::Debug for TokenFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenFormat")
            .field("prefix", &self.prefix)
            .finish()
    }
}

/// Reads six base62 digits back; `None` for a value that no CRC-32 could produce.
fn decode_checksum(digits: &[u8]) -> Option<u32> {
    let mut value: u64 = 0;
    for &digit in digits {
        value = value * 62 + u64::from(base62_value(digit)?);
    }
    u32::try_from(value).ok()
}

fn base62_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'A'..=b'Z' => Some(digit - b'A' + 10),
        b'a'..=b'z' => Some(digit - b'a' + 36),
        _ => None,
    }
}

/// Finds the token in the value of an HTTP `Authorization` header.
///
/// The scheme must be `Bearer` in any letter case, followed by one or more spaces; the
/// token is everything after them, returned exactly as sent (surrounding spaces or tabs
/// and anything else make it fail to parse later, never silently pass). A value longer
/// than 256 bytes is refused without being read.
///
/// # Errors
///
/// [`Malformed::Header`] when the value does not use the `Bearer` scheme, carries no
/// token, carries more than the longest token, or is longer than 256 bytes.
///
/// # Examples
///
/// ```
/// use api_tokens::bearer_token;
///
/// assert_eq!(bearer_token("Bearer acme_abc").unwrap(), "acme_abc");
/// assert_eq!(bearer_token("bearer acme_abc").unwrap(), "acme_abc");
/// assert!(bearer_token("Basic dXNlcjpwYXNz").is_err());
/// ```
pub fn bearer_token(header_value: &str) -> Result<&str, Malformed> {
    const SCHEME: &[u8] = b"bearer";
    // Room for the scheme, a generous run of spaces and the longest token.
    const MAX_HEADER_LEN: usize = 256;

    let bytes = header_value.as_bytes();
    let scheme_matches = bytes.len() > SCHEME.len()
        && bytes.len() <= MAX_HEADER_LEN
        && bytes[..SCHEME.len()].eq_ignore_ascii_case(SCHEME)
        && bytes[SCHEME.len()] == b' ';
    if !scheme_matches {
        return Err(Malformed::Header);
    }

    let rest = &header_value[SCHEME.len()..];
    let token = rest.trim_start_matches(' ');
    if token.is_empty() || token.len() > MAX_TOKEN_LEN {
        return Err(Malformed::Header);
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_digits_round_trip_at_the_edges() {
        for value in [0, 1, 61, 62, u32::MAX / 2, u32::MAX] {
            assert_eq!(decode_checksum(&encode_checksum(value)), Some(value));
        }
    }

    #[test]
    fn checksum_digits_beyond_u32_are_refused() {
        assert_eq!(decode_checksum(b"zzzzzz"), None);
    }

    #[test]
    fn base62_alphabet_is_in_digit_order() {
        for (value, digit) in BASE62.iter().enumerate() {
            assert_eq!(base62_value(*digit), Some(value as u8));
        }
    }
}
