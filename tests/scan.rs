//! Leak scanning: tokens are found wherever they stand as whole words, look-alikes are not.

mod common;

use api_tokens::{
    FoundToken, HashingKey, Lifetime, MemoryStore, NewToken, Prefix, TokenId, TokenManager,
    TokenScanner,
};

fn mint(prefix: &str) -> (TokenId, String) {
    let key = HashingKey::new(&[8; 32]).unwrap();
    let manager = TokenManager::builder(MemoryStore::new(), key, prefix)
        .build()
        .unwrap();
    let (token, info) = manager
        .create(NewToken::new("leak", Lifetime::Never))
        .unwrap()
        .into_parts();
    (info.id, token.expose_secret().to_owned())
}

fn found(text: &str) -> Vec<(usize, usize, String)> {
    TokenScanner::any_prefix()
        .scan(text.as_bytes())
        .map(|hit| (hit.line, hit.column, hit.id.to_string()))
        .collect()
}

#[test]
fn tokens_are_found_at_the_start_middle_and_end_of_lines() {
    let (id, token) = mint("acme");
    let text = format!("{token} first\nthe middle {token} of a line\nat the end: {token}");

    let hits = found(&text);

    let id = id.to_string();
    assert_eq!(hits, [(1, 1, id.clone()), (2, 12, id.clone()), (3, 13, id)]);
}

#[test]
fn tokens_are_found_inside_json_urls_and_headers() {
    let (_, token) = mint("acme_live");
    let samples = [
        format!(r#"{{"token":"{token}","user":"alice"}}"#),
        format!("https://api.example.test/v1/repos?access_token={token}&page=2"),
        format!("Authorization: Bearer {token}\r\n"),
        format!("export API_TOKEN='{token}'"),
        format!("({token})"),
    ];
    for sample in samples {
        let hits: Vec<_> = TokenScanner::any_prefix().scan(sample.as_bytes()).collect();
        assert_eq!(hits.len(), 1, "{sample}");
        assert_eq!(&sample[hits[0].range.clone()], token);
        assert_eq!(hits[0].prefix.as_str(), "acme_live");
    }
}

#[test]
fn look_alikes_are_not_reported() {
    let (_, token) = mint("acme");
    let bad_checksum = common::with_last_character_changed(&token);
    let glued_before = format!("x{token}");
    let glued_after = format!("{token}x");
    let glued_underscore = format!("{token}_");
    let uppercase_prefix = token.replacen("acme", "ACME", 1);
    let short = token[..token.len() - 1].to_owned();
    let random = format!("acme_{}", "a".repeat(66));

    for sample in [
        bad_checksum,
        glued_before,
        glued_after,
        glued_underscore,
        uppercase_prefix,
        short,
        random,
    ] {
        assert!(found(&sample).is_empty(), "{sample}");
    }
}

#[test]
fn a_prefix_filter_keeps_only_that_prefix() {
    let (ours, our_token) = mint("acme");
    let (_, other_token) = mint("other");
    let text = format!("{other_token} {our_token}");

    let scanner = TokenScanner::for_prefix(Prefix::new("acme").unwrap());
    let hits: Vec<TokenId> = scanner.scan(text.as_bytes()).map(|hit| hit.id).collect();

    assert_eq!(hits, [ours]);
    assert_eq!(found(&text).len(), 2);
}

#[test]
fn columns_count_characters_and_bytes_that_are_not_text_are_skipped() {
    let (_, token) = mint("acme");
    let mut text = "héllo wörld ".as_bytes().to_vec();
    text.extend_from_slice(token.as_bytes());
    text.extend_from_slice(b"\n\xff\xfe ");
    text.extend_from_slice(token.as_bytes());

    let hits: Vec<_> = TokenScanner::any_prefix().scan(&text).collect();

    assert_eq!((hits[0].line, hits[0].column), (1, 13));
    assert_eq!((hits[1].line, hits[1].column), (2, 4));
}

#[test]
fn found_tokens_never_carry_the_secret() {
    let (_, token) = mint("acme");
    let hit = TokenScanner::any_prefix()
        .scan(token.as_bytes())
        .next()
        .unwrap();
    let printed = format!("{hit:?}");
    assert!(!printed.contains(&token[22..65]));
}

/// Hands out its text at most `piece` bytes per read, as a pipe or a socket may.
struct Trickle<'a> {
    text: &'a [u8],
    piece: usize,
}

impl std::io::Read for Trickle<'_> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let n = self.piece.min(buffer.len()).min(self.text.len());
        buffer[..n].copy_from_slice(&self.text[..n]);
        self.text = &self.text[n..];
        Ok(n)
    }
}

/// Every find of a streamed scan, with the text handed over for it.
fn streamed(reader: impl std::io::Read) -> Vec<(FoundToken, String)> {
    let mut hits = Vec::new();
    TokenScanner::any_prefix()
        .scan_reader(reader, |hit, token| {
            hits.push((hit.clone(), token.to_owned()))
        })
        .unwrap();
    hits
}

/// Every find of a scan of the whole text at once, with the text at its range.
fn whole(text: &[u8]) -> Vec<(FoundToken, String)> {
    TokenScanner::any_prefix()
        .scan(text)
        .map(|hit| {
            let token = String::from_utf8(text[hit.range.clone()].to_vec()).unwrap();
            (hit, token)
        })
        .collect()
}

#[test]
fn a_stream_gives_what_the_whole_text_gives_however_reads_split_it() {
    let (_, token) = mint("acme");
    let (_, other) = mint("acme_live");
    let long_word = "w".repeat(300);
    let text = format!(
        "{token}\nhé said {other} then\r\n{{\"t\":\"{token}\"}}\n{long_word}{token}\n\
         {long_word} {token} x{token}\n\n  ünï {other}"
    );
    let expected = whole(text.as_bytes());
    assert_eq!(
        expected.len(),
        5,
        "the sample holds five tokens that stand alone"
    );

    for piece in (1..=100).chain([150, 300, 1000]) {
        let reader = Trickle {
            text: text.as_bytes(),
            piece,
        };
        assert_eq!(streamed(reader), expected, "reads of {piece} bytes");
    }
}

#[test]
fn a_stream_longer_than_the_scanner_reads_at_once_is_scanned_whole() {
    let (_, token) = mint("acme");
    let mut text = String::new();
    let mut line = 0;
    // Tokens at every distance from the places where the scanner's reads of 64 KiB end.
    while text.len() < 600_000 {
        line += 1;
        text.push_str(&format!("{line} GET /repos?page={} 200 ", line % 7));
        if line % 50 == 0 {
            text.push_str(&token);
            text.push(' ');
        }
        text.push_str(&"abc_".repeat(line % 40));
        text.push('\n');
    }
    let one_line = text.replace('\n', " ");

    for sample in [text, one_line] {
        let expected = whole(sample.as_bytes());
        assert!(expected.len() > 100);
        assert_eq!(streamed(std::io::Cursor::new(sample.as_bytes())), expected);
    }
}

#[test]
fn a_word_longer_than_a_read_hides_a_token_glued_to_it() {
    let (id, token) = mint("acme");
    let text = format!("{}{token} {token}", "x".repeat(200_000));

    let hits = streamed(std::io::Cursor::new(text.as_bytes()));

    assert_eq!(hits.len(), 1);
    assert_eq!(
        (hits[0].0.line, hits[0].0.column),
        (1, 200_000 + token.len() + 2)
    );
    assert_eq!(hits[0].0.id, id);
    assert_eq!(hits[0].1, token);
}

/// Fails with `error` once its text is used up, after one interrupted read.
struct Failing<'a> {
    text: &'a [u8],
    interrupted: bool,
}

impl std::io::Read for Failing<'_> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        if !self.interrupted {
            self.interrupted = true;
            return Err(std::io::ErrorKind::Interrupted.into());
        }
        if self.text.is_empty() {
            return Err(std::io::Error::other("the disk went away"));
        }
        let n = buffer.len().min(self.text.len());
        buffer[..n].copy_from_slice(&self.text[..n]);
        self.text = &self.text[n..];
        Ok(n)
    }
}

#[test]
fn a_read_error_ends_the_scan_after_reporting_what_came_before() {
    let (id, token) = mint("acme");
    let text = format!("first {token}\nsecond ");
    let reader = Failing {
        text: text.as_bytes(),
        interrupted: false,
    };

    let mut ids = Vec::new();
    let error = TokenScanner::any_prefix()
        .scan_reader(reader, |hit, _| ids.push(hit.id))
        .unwrap_err();

    assert_eq!(error.to_string(), "the disk went away");
    assert_eq!(ids, [id]);
}
