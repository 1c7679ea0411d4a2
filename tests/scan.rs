//! Leak scanning: tokens are found wherever they stand as whole words, look-alikes are not.

mod common;

use api_tokens::{
    HashingKey, Lifetime, MemoryStore, NewToken, Prefix, TokenId, TokenManager, TokenScanner,
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
