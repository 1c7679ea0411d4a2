//! The token parser and `verify`, on any bytes.
//!
//! The first byte chooses whether the rest is taken as it is or given a correct checksum
//! first; the rest, read as UTF-8 (invalid sequences replaced), is the presented text.

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let fixture = common::fixture();
    let mut text = String::from_utf8_lossy(rest).into_owned();
    if mode & 1 == 1
        && let Some(fixed) = common::with_checksum(&text)
    {
        text = fixed;
    }

    common::check_parse(fixture.manager.format(), &text);
    for format in &fixture.formats {
        common::check_parse(format, &text);
    }
    common::check_verify(fixture, &text);

    if let Ok(id) = text.parse::<api_tokens::TokenId>() {
        assert_eq!(id.as_str(), text);
    }
});
