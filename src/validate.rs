//! Limits on the text a caller attaches to a token: its name, owner, scopes and metadata.
//!
//! | field | length | characters |
//! |---|---|---|
//! | name | 1 to 100 after trimming surrounding white space | no control, bidirectional-override or invisible characters (joiners and variation selectors aside), and at least one that shows |
//! | owner | 1 to 256 | as a name, and no surrounding white space |
//! | scope | 1 to 64, at most 64 scopes | ASCII letters, digits and `:._-/`, or `*` |
//! | metadata key | 1 to 64, at most 32 entries | ASCII letters, digits and `._-` |
//! | metadata value | 0 to 1024 | no control, bidirectional-override or invisible characters |
//!
//! Lengths count Unicode scalar values.

use std::collections::BTreeMap;

use crate::error::InvalidInput;

/// The longest token name, in characters, after trimming.
pub const MAX_NAME_CHARS: usize = 100;
/// The longest owner, in characters.
pub const MAX_OWNER_CHARS: usize = 256;
/// The longest scope, in characters.
pub const MAX_SCOPE_CHARS: usize = 64;
/// The most scopes one token may carry.
pub const MAX_SCOPES: usize = 64;
/// The longest metadata key, in characters.
pub const MAX_METADATA_KEY_CHARS: usize = 64;
/// The longest metadata value, in characters.
pub const MAX_METADATA_VALUE_CHARS: usize = 1024;
/// The most metadata entries one token may carry.
pub const MAX_METADATA_ENTRIES: usize = 32;

/// Trims a name and checks it; returns the trimmed name.
pub(crate) fn name(name: &str) -> Result<String, InvalidInput> {
    let trimmed = name.trim();
    if !has_chars_between(trimmed, 1, MAX_NAME_CHARS) {
        return Err(InvalidInput::NameLength);
    }
    if !is_plain_text(trimmed) || !has_visible_character(trimmed) {
        return Err(InvalidInput::NameCharacters);
    }
    Ok(trimmed.to_owned())
}

/// Checks an owner, which is kept exactly as given.
pub(crate) fn owner(owner: &str) -> Result<(), InvalidInput> {
    let valid = has_chars_between(owner, 1, MAX_OWNER_CHARS)
        && is_plain_text(owner)
        && owner.trim() == owner;
    if valid {
        Ok(())
    } else {
        Err(InvalidInput::Owner)
    }
}

/// Checks a list of scopes and returns it sorted without duplicates.
pub(crate) fn scopes(scopes: Vec<String>) -> Result<Vec<String>, InvalidInput> {
    if scopes.len() > MAX_SCOPES {
        return Err(InvalidInput::TooManyScopes);
    }
    let scope_char = |c: char| c.is_ascii_alphanumeric() || ":._-/".contains(c);
    for scope in &scopes {
        let valid = scope == "*"
            || (has_chars_between(scope, 1, MAX_SCOPE_CHARS) && scope.chars().all(scope_char));
        if !valid {
            return Err(InvalidInput::Scope);
        }
    }

    let mut scopes = scopes;
    scopes.sort_unstable();
    scopes.dedup();
    Ok(scopes)
}

/// Checks every metadata entry and the number of entries.
pub(crate) fn metadata(metadata: &BTreeMap<String, String>) -> Result<(), InvalidInput> {
    if metadata.len() > MAX_METADATA_ENTRIES {
        return Err(InvalidInput::TooManyMetadataEntries);
    }
    let key_char = |c: char| c.is_ascii_alphanumeric() || "._-".contains(c);
    for (key, value) in metadata {
        let key_ok = has_chars_between(key, 1, MAX_METADATA_KEY_CHARS) && key.chars().all(key_char);
        let value_ok =
            has_chars_between(value, 0, MAX_METADATA_VALUE_CHARS) && is_plain_text(value);
        if !key_ok || !value_ok {
            return Err(InvalidInput::Metadata);
        }
    }
    Ok(())
}

/// Whether `text` has between `min` and `max` characters, counting no further than needed.
fn has_chars_between(text: &str, min: usize, max: usize) -> bool {
    // A character is at most 4 bytes, so a longer text cannot be within the limit.
    if text.len() > max * 4 {
        return false;
    }
    let count = text.chars().count();
    (min..=max).contains(&count)
}

/// No control characters, nothing that reorders how the text is displayed, and nothing that
/// displays as nothing at all.
fn is_plain_text(text: &str) -> bool {
    !text
        .chars()
        .any(|c| c.is_control() || is_bidi_control(c) || is_invisible(c))
}

fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

/// Characters that show nothing at all, or break the line: zero-width spaces, word
/// joiners, fillers, blank patterns, invisible format and tag characters, line and paragraph
/// separators. The zero-width joiner and non-joiner and the variation selectors are not
/// among them: emoji sequences and several scripts need them next to visible characters.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{2060}'..='\u{2064}'
            | '\u{206A}'..='\u{206F}'
            | '\u{2800}'
            | '\u{3164}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E007F}'
    )
}

/// Whether the text has a character that shows on its own: not white space, and not a
/// joiner, variation selector or combining mark, which only change their neighbours.
fn has_visible_character(text: &str) -> bool {
    text.chars().any(|c| {
        !c.is_whitespace()
            && !matches!(
                c,
                '\u{200C}'
                    | '\u{200D}'
                    | '\u{0300}'..='\u{036F}'
                    | '\u{1AB0}'..='\u{1AFF}'
                    | '\u{1DC0}'..='\u{1DFF}'
                    | '\u{20D0}'..='\u{20FF}'
                    | '\u{FE00}'..='\u{FE0F}'
                    | '\u{FE20}'..='\u{FE2F}'
                    | '\u{E0100}'..='\u{E01EF}'
            )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_then_counted_in_characters() {
        assert_eq!(name("  deploy  ").unwrap(), "deploy");
        assert!(name(&"é".repeat(MAX_NAME_CHARS)).is_ok());
        assert_eq!(
            name(&"é".repeat(MAX_NAME_CHARS + 1)),
            Err(InvalidInput::NameLength)
        );
        assert_eq!(name(" \t "), Err(InvalidInput::NameLength));
    }

    #[test]
    fn names_with_hidden_characters_are_refused() {
        let hidden = [
            "a\u{0}b",
            "a\nb",
            "a\u{202E}b",
            "a\u{2067}b",
            "a\u{7f}b",
            "a\u{200B}b",
        ];
        for bad in hidden
            .into_iter()
            .chain(["\u{FEFF}", "\u{2060}", "\u{200D}\u{200C}"])
        {
            assert_eq!(name(bad), Err(InvalidInput::NameCharacters), "{bad:?}");
        }
    }

    #[test]
    fn names_with_joiners_and_selectors_between_visible_characters_are_kept() {
        for good in [
            "\u{2764}\u{FE0F}",
            "a\u{200D}b",
            "e\u{0301}",
            "\u{0915}\u{094D}\u{200D}",
        ] {
            assert!(name(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn scopes_are_sorted_and_deduplicated() {
        let given = vec!["b:write".into(), "a:read".into(), "b:write".into()];
        assert_eq!(scopes(given).unwrap(), ["a:read", "b:write"]);
        assert_eq!(scopes(vec!["a b".into()]), Err(InvalidInput::Scope));
        assert_eq!(scopes(vec![String::new()]), Err(InvalidInput::Scope));
    }
}
