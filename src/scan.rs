//! Finding tokens of this crate's format in arbitrary text, for leak scanning.

use std::io::{self, Read};

use crate::format::{BODY_LEN, MAX_PREFIX_LEN, Prefix, TokenFormat};
use crate::id::TokenId;

/// The fewest characters a token can have: a one-character prefix, the underscore, the body.
const SHORTEST: usize = 1 + 1 + BODY_LEN;

/// The most characters a token can have.
const LONGEST: usize = MAX_PREFIX_LEN + 1 + BODY_LEN;

/// How much [`TokenScanner::scan_reader`] asks its reader for at a time.
const PIECE_LEN: usize = 64 * 1024;

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
/// A token counts only as a whole word: the bytes around it must not be ASCII letters,
/// digits or underscores, as `\b` in [`TOKEN_REGEX`](crate::TOKEN_REGEX) requires in an
/// ASCII-only regex engine. Other characters, non-ASCII letters included, end a word.
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

    /// Scans all that `reader` yields, a piece at a time, and calls `found` with each token
    /// in order: where it is, and its text.
    ///
    /// Memory stays bounded whatever the size of the input or of its lines, and a token
    /// is found wherever the reads happen to split the input. Positions count from the
    /// start of the input: [`range`](FoundToken::range) in bytes, lines and columns as
    /// [`scan`](Self::scan) counts them.
    ///
    /// `found` receives the token's text, borrowed for the length of the call, since the
    /// scanned bytes are gone once it returns: it is what a caller needs to verify or
    /// revoke the token. Hand it on to nothing that keeps it.
    ///
    /// # Errors
    ///
    /// The first error `reader` returns other than [`io::ErrorKind::Interrupted`], which is
    /// retried; every token before that point has been reported.
    ///
    /// # Examples
    ///
    /// ```
    /// use api_tokens::TokenScanner;
    ///
    /// let log = std::io::Cursor::new(b"GET /status 200\nGET /health 200\n".to_vec());
    /// let mut leaks = Vec::new();
    /// TokenScanner::any_prefix().scan_reader(log, |found, _token| leaks.push(found.id))?;
    /// assert!(leaks.is_empty());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn scan_reader<R: Read>(
        &self,
        mut reader: R,
        mut found: impl FnMut(&FoundToken, &str),
    ) -> io::Result<()> {
        // Holds what was read and not yet scanned: at most one piece, plus the start of a
        // word that the piece before it ended in.
        let mut buffer: Vec<u8> = Vec::with_capacity(PIECE_LEN + LONGEST);
        // Where `buffer[0]` stands in the input.
        let mut at = Position::default();
        // Whether the input is inside a word that began in an earlier piece and is already
        // too long to be a token; the rest of that word is passed over.
        let mut passing_over = false;

        loop {
            let kept = buffer.len();
            buffer.resize(kept + PIECE_LEN, 0);
            let read = read_some(&mut reader, &mut buffer[kept..])?;
            buffer.truncate(kept + read);
            let at_end = read == 0;

            let mut start = 0;
            if passing_over {
                start = buffer
                    .iter()
                    .position(|b| !is_word(b))
                    .unwrap_or(buffer.len());
                passing_over = start == buffer.len();
                at.advance(&buffer[..start]);
            }

            // A word running up to the end of what was read may go on in the next read, so
            // only the text up to the last byte that ends a word is scanned now.
            let end = if at_end {
                buffer.len()
            } else {
                buffer[start..]
                    .iter()
                    .rposition(|b| !is_word(b))
                    .map_or(start, |last| start + last + 1)
            };
            let text = &buffer[start..end];
            for hit in self.scan(text) {
                let token = std::str::from_utf8(&text[hit.range.clone()]).unwrap_or_default();
                found(&at.place(hit), token);
            }
            at.advance(text);

            if at_end {
                return Ok(());
            }
            if buffer.len() - end > LONGEST {
                // The unfinished word cannot be a token, however it ends.
                at.advance(&buffer[end..]);
                buffer.clear();
                passing_over = true;
            } else {
                buffer.drain(..end);
            }
        }
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

/// Whether a byte can be part of a word, and so of a token.
fn is_word(byte: &u8) -> bool {
    byte.is_ascii_alphanumeric() || *byte == b'_'
}

/// Reads into `buffer`, trying again when interrupted; 0 means the end of the input.
fn read_some(reader: &mut impl Read, buffer: &mut [u8]) -> io::Result<usize> {
    loop {
        match reader.read(buffer) {
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            result => return result,
        }
    }
}

/// A place in a stream of text: its byte offset, line, and the characters before it on
/// its line.
#[derive(Clone, Copy, Debug)]
struct Position {
    offset: usize,
    line: usize,
    column: usize,
}

impl Default for Position {
    fn default() -> Self {
        Self {
            offset: 0,
            line: 1,
            column: 0,
        }
    }
}

impl Position {
    /// Moves past `text`.
    fn advance(&mut self, text: &[u8]) {
        self.offset += text.len();
        match text.iter().rposition(|b| *b == b'\n') {
            Some(last) => {
                self.line += text.iter().filter(|b| **b == b'\n').count();
                self.column = characters(&text[last + 1..]);
            }
            None => self.column += characters(text),
        }
    }

    /// Turns a token found in text that starts here into one placed in the whole stream.
    fn place(&self, hit: FoundToken) -> FoundToken {
        let (line, column) = if hit.line == 1 {
            (self.line, self.column + hit.column)
        } else {
            (self.line + hit.line - 1, hit.column)
        };
        FoundToken {
            range: self.offset + hit.range.start..self.offset + hit.range.end,
            line,
            column,
            ..hit
        }
    }
}

/// UTF-8 characters in `text`: the bytes that are not continuation bytes.
fn characters(text: &[u8]) -> usize {
    text.iter().filter(|b| (**b & 0xC0) != 0x80).count()
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
        let column = characters(before) + 1;
        (self.line_index + 1, column)
    }
}
