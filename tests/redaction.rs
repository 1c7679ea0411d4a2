//! No token text, secret, hash or key shows up in any output: `Debug`, `Display`, error
//! messages, or the serialised listing.

mod common;

use api_tokens::{
    HashingKey, Lifetime, ManageError, NewToken, StoreError, TokenStore, VerifyError, bearer_token,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use common::manager;

const KEY_BYTES: [u8; 32] = [0x5a; 32];

/// Fails if `output` contains the token, its secret part, or the stored hash in any of the
/// encodings a careless formatter might use.
fn assert_clean(output: &str, token: &str, hash: &[u8]) {
    let secret = &token[22..65];
    assert!(!output.contains(token), "token in {output:?}");
    assert!(!output.contains(secret), "secret in {output:?}");
    assert!(
        !output.contains(&BASE64.encode(hash)),
        "base64 hash in {output:?}"
    );
    assert!(!output.contains(&hex(hash)), "hex hash in {output:?}");
    assert!(
        !output.contains(&format!("{hash:?}")),
        "byte hash in {output:?}"
    );
    assert!(!output.contains(&hex(&KEY_BYTES)), "key in {output:?}");
    assert!(
        !output.contains(&format!("{:?}", KEY_BYTES)),
        "key bytes in {output:?}"
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn nothing_secret_is_printed_by_any_type() {
    let (manager, _) = manager();
    let key = HashingKey::new(&KEY_BYTES).unwrap();
    let created = manager
        .create(NewToken::new("printed", Lifetime::Never).scope("repo:read"))
        .unwrap();
    let token = created.token().expose_secret().to_owned();
    let record = manager.store().get(&created.info().id).unwrap().unwrap();
    let stored = serde_json::to_value(&*record).unwrap();
    let hash = BASE64.decode(stored["hash"].as_str().unwrap()).unwrap();
    let verified = manager.verify(&token).unwrap();

    let outputs = [
        format!("{:?}", created.token()),
        format!("{created:?}"),
        format!("{:?}", created.info()),
        format!("{record:?}"),
        format!("{:?}", record.hash()),
        format!("{verified:?}"),
        format!("{key:?}"),
        format!("{manager:?}"),
        format!("{:?}", manager.store()),
        serde_json::to_string(created.info()).unwrap(),
        serde_json::to_string(&manager.list(None).unwrap()).unwrap(),
    ];
    for output in &outputs {
        assert_clean(output, &token, &hash);
    }

    // The serialised record is the one place the hash belongs, for stores to persist.
    let persisted = serde_json::to_string(&*record).unwrap();
    assert!(persisted.contains(&BASE64.encode(&hash)));
    assert!(!persisted.contains(&token[22..65]));
}

#[test]
fn errors_never_echo_what_was_presented() {
    let (manager, _) = manager();
    let created = manager
        .create(NewToken::new("errors", Lifetime::Never))
        .unwrap();
    let token = created.token().expose_secret();

    let tampered = common::with_last_character_changed(token);
    let wrong_secret = common::with_checksum(&format!("{}{}", &token[..22], "Q".repeat(43)));
    let header = format!("Basic {token}");
    let errors: Vec<String> = [
        manager.verify(&tampered).map(drop),
        manager.verify(&wrong_secret).map(drop),
        manager.verify(&format!("{token}\n")).map(drop),
        bearer_token(&header).map(drop).map_err(VerifyError::from),
    ]
    .into_iter()
    .map(|result| {
        let error = result.unwrap_err();
        format!("{error} / {error:?}")
    })
    .collect();

    for error in &errors {
        assert!(!error.contains(&token[5..]), "token body in {error:?}");
        assert!(!error.contains(&token[22..65]), "secret in {error:?}");
        assert!(
            !error.contains(&wrong_secret[22..65]),
            "presented secret in {error:?}"
        );
    }
}

#[test]
fn error_messages_are_lowercase_without_a_final_period() {
    let id = "abcdefghijklmnopq".parse().unwrap();
    let messages = [
        VerifyError::Invalid.to_string(),
        VerifyError::Expired.to_string(),
        ManageError::NotFound(id).to_string(),
        StoreError::Duplicate(id).to_string(),
        api_tokens::ConfigError::KeyTooShort.to_string(),
        api_tokens::InvalidInput::NameLength.to_string(),
    ];
    for message in messages {
        assert!(
            message.starts_with(|c: char| c.is_lowercase()),
            "{message:?}"
        );
        assert!(!message.ends_with('.'), "{message:?}");
    }
}
