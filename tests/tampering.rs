//! Presented tokens that are not quite right: every failure is typed, and unknown ids and
//! wrong secrets are indistinguishable.

mod common;

use api_tokens::{Lifetime, Malformed, VerifyError};
use common::{create, manager, with_checksum};

const BASE62: &str = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

#[test]
fn changing_any_single_character_is_rejected() {
    let (manager, _) = manager();
    let (_, token) = create(&manager, "target", Lifetime::Never);
    let text = token.expose_secret();

    for position in 0..text.len() {
        for replacement in BASE62.chars().chain(['_', '-', ' ', 'é']) {
            let mut changed: Vec<char> = text.chars().collect();
            if changed[position] == replacement {
                continue;
            }
            changed[position] = replacement;
            let changed: String = changed.into_iter().collect();
            assert!(
                manager.verify(&changed).is_err(),
                "accepted a change at {position}"
            );
        }
    }
    assert!(manager.verify(text).is_ok());
}

#[test]
fn an_unknown_id_and_a_wrong_secret_give_the_same_error() {
    let (manager, _) = manager();
    let (_, token) = create(&manager, "known", Lifetime::Never);
    let text = token.expose_secret();

    let wrong_secret = with_checksum(&format!("{}{}", &text[..22], "b".repeat(43)));
    let unknown_id = with_checksum(&format!("test_{}{}", "c".repeat(17), &text[22..65]));

    let wrong = manager.verify(&wrong_secret).unwrap_err();
    let unknown = manager.verify(&unknown_id).unwrap_err();
    assert!(matches!(wrong, VerifyError::Invalid));
    assert!(matches!(unknown, VerifyError::Invalid));
    assert_eq!(wrong.to_string(), unknown.to_string());
}

#[test]
fn malformed_tokens_say_which_rule_they_break() {
    let (manager, _) = manager();
    let (_, token) = create(&manager, "shape", Lifetime::Never);
    let text = token.expose_secret();

    let cases = [
        (String::new(), Malformed::Length),
        (text[..text.len() - 1].to_owned(), Malformed::Length),
        (format!("{text}0"), Malformed::Length),
        (format!("best{}", &text[4..]), Malformed::Prefix),
        (format!("test-{}", &text[5..]), Malformed::Prefix),
        (
            format!("{}!{}", &text[..30], &text[31..]),
            Malformed::Character,
        ),
        (
            common::with_last_character_changed(text),
            Malformed::Checksum,
        ),
    ];
    for (presented, expected) in cases {
        match manager.verify(&presented) {
            Err(VerifyError::Malformed(found)) => assert_eq!(found, expected, "{presented:?}"),
            other => panic!("expected {expected:?}, got {other:?}"),
        }
    }
}

#[test]
fn surrounding_white_space_is_not_forgiven() {
    let (manager, _) = manager();
    let (_, token) = create(&manager, "strict", Lifetime::Never);
    for wrapped in [" {}", "{} ", "{}\n", "\t{}", "{}\r\n"] {
        let presented = wrapped.replace("{}", token.expose_secret());
        assert!(matches!(
            manager.verify(&presented),
            Err(VerifyError::Malformed(_))
        ));
    }
}
