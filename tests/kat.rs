//! Known-answer tests: token texts and HMAC-SHA-256 hashes computed outside the crate (see
//! `tests/vectors/hmac_sha256.txt`) must verify, and each must stop verifying when one byte
//! of the hash or one character of the token is changed.

use std::sync::Arc;

use api_tokens::{
    HashingKey, Lifetime, MemoryStore, NewToken, TokenManager, TokenRecord, TokenStore, VerifyError,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ring::hmac;

struct Vector {
    key: Vec<u8>,
    prefix: String,
    id: String,
    secret: String,
    hmac: Vec<u8>,
    token: String,
}

fn vectors() -> Vec<Vector> {
    let text = include_str!("vectors/hmac_sha256.txt");
    let vectors: Vec<Vector> = text
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            assert_eq!(fields.len(), 6, "malformed vector line {line:?}");
            Vector {
                key: unhex(fields[0]),
                prefix: fields[1].to_owned(),
                id: fields[2].to_owned(),
                secret: fields[3].to_owned(),
                hmac: unhex(fields[4]),
                token: fields[5].to_owned(),
            }
        })
        .collect();
    assert!(vectors.len() >= 5, "the vector file lost entries");
    vectors
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// A stored record for the vector, as a store would read it back from disk.
fn record(vector: &Vector, hash: &[u8]) -> TokenRecord {
    let key_id = HashingKey::new(&vector.key).unwrap().id();
    let json = serde_json::json!({
        "version": 1,
        "id": vector.id,
        "name": "known answer",
        "owner": null,
        "scopes": [],
        "metadata": {},
        "created_at": "2026-01-01T00:00:00Z",
        "expires": "never",
        "last_used_at": null,
        "key_id": key_id.to_string(),
        "hash": BASE64.encode(hash),
    });
    serde_json::from_value(json).unwrap()
}

fn manager_with(vector: &Vector, hash: &[u8]) -> TokenManager<Arc<MemoryStore>> {
    let store = Arc::new(MemoryStore::new());
    store.insert(record(vector, hash)).unwrap();
    let key = HashingKey::new(&vector.key).unwrap();
    TokenManager::builder(store, key, &vector.prefix)
        .build()
        .unwrap()
}

#[test]
fn known_tokens_verify_against_known_hashes() {
    for vector in vectors() {
        let manager = manager_with(&vector, &vector.hmac);
        let verified = manager.verify(&vector.token).unwrap();
        assert_eq!(verified.id().as_str(), vector.id);
        assert!(vector.token.contains(&vector.secret));
    }
}

#[test]
fn a_hash_with_any_byte_flipped_does_not_verify() {
    for vector in vectors() {
        for position in 0..vector.hmac.len() {
            let mut hash = vector.hmac.clone();
            hash[position] ^= 0x01;
            let manager = manager_with(&vector, &hash);
            assert!(matches!(
                manager.verify(&vector.token),
                Err(VerifyError::Invalid)
            ));
        }
    }
}

#[test]
fn a_known_token_with_one_character_flipped_does_not_verify() {
    for vector in vectors() {
        let manager = manager_with(&vector, &vector.hmac);
        let mut bytes = vector.token.clone().into_bytes();
        let last = bytes.len() - 1;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        let changed = String::from_utf8(bytes).unwrap();
        assert!(manager.verify(&changed).is_err());
    }
}

#[test]
fn minted_tokens_store_the_hmac_of_their_secret_part() {
    let key_bytes = [0x42; 32];
    let manager = TokenManager::builder(
        MemoryStore::new(),
        HashingKey::new(&key_bytes).unwrap(),
        "kat",
    )
    .build()
    .unwrap();
    let created = manager
        .create(NewToken::new("minted", Lifetime::Never))
        .unwrap();
    let token = created.token().expose_secret();

    let secret = &token["kat_".len() + 17..token.len() - 6];
    let expected = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA256, &key_bytes),
        secret.as_bytes(),
    );
    let record = manager.store().get(&created.info().id).unwrap().unwrap();
    let stored = serde_json::to_value(&*record).unwrap();
    assert_eq!(stored["hash"], BASE64.encode(expected.as_ref()));
}
