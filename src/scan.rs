//! Finding tokens of this crate's format in arbitrary text, for leak scanning.

use crate::format::{BODY_LEN, MAX_PREFIX_LEN, Prefix, TokenFormat};
use crate::id::TokenId;

/// One token found in a text.
///
/// It says where the token is and which one it is, but holds no part of its secret: slice
/// the scanned text with [`range`](Self::range) if the whole token is needed, for example
/// to verify it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FoundToken {
    /// Byte offsets of the token in the scanned text.
    pub range: std::ops::Range<usize>,
    /// Line of the token's first character, counting from 1.
    pub line: usize,
    /// Column of the token's first character within its line, counting from 1, in UTF-8
    /// characters (continuation bytes are not counted).
    pub column: usize,
    /// The token's prefix.
    pub prefix: Prefix,
    /// The token's public id.
    pub id: TokenId,
}

/// Finds tokens with a valid checksum in text, as secret scanners do.
///
/// A token counts only as a whole word: the characters around it must not be letters,
/// digits or underscores, just as `\b` in [`TOKEN_REGEX`](crate::TOKEN_REGEX) requires.
/// Candidates whose checksum does not match are skipped, so look-alike strings and random
/// identifiers of the same shape are not reported.
///
/// # Examples
///
/// ```
/// use api_tokens::{Prefix, TokenScanner};
///
/// let log = b"GET /repos?page=2 200\nno tokens here\n";
/// let scanner = TokenScanner::for_prefix(Prefix::new("acme")?);
/// assert_eq!(scanner.scan(log).count(), 0);
/// # Ok::<(), api_tokens::ConfigError>(())
/// ```
#[derive(Clone, Debug)]
pub struct TokenScanner {
    prefix: Option<Prefix>,
}

impl TokenScanner {
    /// Finds tokens whatever their prefix.
    pub fn any_prefix() -> Self {
        Self { prefix: None }
    }

    /// Finds only tokens with this prefix.
    pub fn for_prefix(prefix: Prefix) -> Self {
        Self {
            prefix: Some(prefix),
        }
    }

    /// The tokens in `text`, in order.
    pub fn scan<'a>(&'a self, text: &'a [u8]) -> impl Iterator<Item = FoundToken> + 'a {
        let mut lines = LineCounter::default();
        words(text).filter_map(move |word| {
            let (prefix, id) = self.token_in(&text[word.clone()])?;
            let (line, column) = lines.position(text, word.start);
            Some(FoundToken {
                range: word,
                line,
                column,
                prefix,
                id,
            })
        })
    }

    /// Whether a whole word is a token; returns its prefix and id.
    fn token_in(&self, word: &[u8]) -> Option<(Prefix, TokenId)> {
        let separator = word.len().checked_sub(BODY_LEN + 1)?;
        if word[separator] != b'_' {
            return None;
        }

        // The prefix is all of the word before the separator, since a token must stand
        // alone. Prefixes may hold underscores, so that is the only way to split it.
        let prefix_text = std::str::from_utf8(&word[..separator]).ok()?;
        if prefix_text.len() > MAX_PREFIX_LEN {
            return None;
        }
        let prefix = Prefix::new(prefix_text).ok()?;
        if self.prefix.as_ref().is_some_and(|wanted| *wanted != prefix) {
            return None;
        }

        let text = std::str::from_utf8(word).ok()?;
        let id = TokenFormat::new(prefix.clone()).parse_id(text).ok()?;
        Some((prefix, id))
    }
}

/// The byte ranges of maximal runs of ASCII letters, digits and underscores at least as
/// long as the shortest token.
fn words(text: &[u8]) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
    const SHORTEST: usize = 1 + 1 + BODY_LEN;
    const LONGEST: usize = MAX_PREFIX_LEN + 1 + BODY_LEN;

    let is_word = |b: &u8| b.is_ascii_alphanumeric() || *b == b'_';
    let mut position = 0;
    std::iter::from_fn(move || {
        while position < text.len() {
            let rest = &text[position..];
            let start = position + rest.iter().position(is_word)?;
            let length = text[start..]
                .iter()
                .position(|b| !is_word(b))
                .unwrap_or(text.len() - start);
            position = start + length;
            if (SHORTEST..=LONGEST).contains(&length) {
                return Some(start..position);
            }
        }
        None
    })
}

/// Turns byte offsets into lines and columns, reading the text once from front to back as
/// long as offsets come in increasing order.
#[derive(Default)]
struct LineCounter {
    /// Offset up to which newlines have been counted.
    counted_to: usize,
    /// Newlines before `counted_to`.
    line_index: usize,
    /// Offset of the first byte of the line that holds `counted_to`.
    line_start: usize,
}

impl LineCounter {
    fn position(&mut self, text: &[u8], offset: usize) -> (usize, usize) {
        for (i, byte) in text[self.counted_to..offset].iter().enumerate() {
            if *byte == b'\n' {
                self.line_index += 1;
                self.line_start = self.counted_to + i + 1;
            }
        }
        self.counted_to = offset;

        let before = &text[self.line_start..offset];
        let column = before.iter().filter(|b| (**b & 0xC0) != 0x80).count() + 1;
        (self.line_index + 1, column)
    }
}
