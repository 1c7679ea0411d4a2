//! The `Authorization` header helper, and `verify` on whatever it returns, on any bytes
//! read as UTF-8 (invalid sequences replaced).

#![no_main]

mod common;

use api_tokens::{MAX_TOKEN_LEN, Malformed, bearer_token};
use libfuzzer_sys::fuzz_target;

/// The documented rule, written out plainly: `Bearer` in any letter case, at least one
/// space, then the rest as sent; at most 256 bytes in all and a token-sized rest.
fn expected(header: &str) -> Option<&str> {
    if header.len() > 256 || !header.is_char_boundary(6.min(header.len())) {
        return None;
    }
    let (scheme, rest) = header.split_at(6.min(header.len()));
    if !scheme.eq_ignore_ascii_case("bearer") || !rest.starts_with(' ') {
        return None;
    }
    let token = rest.trim_start_matches(' ');
    (!token.is_empty() && token.len() <= MAX_TOKEN_LEN).then_some(token)
}

fuzz_target!(|data: &[u8]| {
    let fixture = common::fixture();
    let header = String::from_utf8_lossy(data);
    let answer = bearer_token(&header);
    assert_eq!(answer.ok(), expected(&header));

    match answer {
        Ok(token) => {
            for format in &fixture.formats {
                common::check_parse(format, token);
            }
            common::check_verify(fixture, token);
            if let Some(fixed) = common::with_checksum(token) {
                common::check_verify(fixture, &fixed);
            }
        }
        Err(reason) => assert_eq!(reason, Malformed::Header),
    }
});
