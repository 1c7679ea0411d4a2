//! Secrets, keys and hashes stay where they belong: no `Debug`, `Display`, serde output or
//! error message shows them (in raw, hex or base64 form), listings hold no hash, the key a
//! record is checked with comes from the record and the service, and plaintext tokens and
//! hashes are wiped from memory when dropped.

mod support;

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::sync::Arc;

use api_tokens::{
    ConfigError, HashingKey, Lifetime, Malformed, ManageError, ManualClock, MemoryStore, NewToken,
    PlaintextToken, TokenHash, TokenManager, TokenRecord, TokenStore, VerifyError,
};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use time::Duration;

use support::{KEY_BYTES, START, hmac_of, key, split};

/// A token whose every secret form is known to the test.
struct Fixture {
    manager: TokenManager<Arc<MemoryStore>>,
    store: Arc<MemoryStore>,
    clock: ManualClock,
    text: String,
    secret: String,
    hash: [u8; 32],
}

fn fixture() -> Fixture {
    let clock = ManualClock::new(START);
    let store = Arc::new(MemoryStore::new());
    let manager = TokenManager::builder(Arc::clone(&store), key(), "acme")
        .clock(clock.clone())
        .build()
        .unwrap();
    let created = manager
        .create(
            NewToken::new("deploy", Lifetime::For(Duration::days(1)))
                .owner("alice")
                .scope("repo:read")
                .metadata("purpose", "ci"),
        )
        .unwrap();
    let text = created.token().expose_secret().to_owned();
    let secret = split(&text).2.to_owned();
    let hash = hmac_of(&KEY_BYTES, &secret);

    // The hash computed here is the one the store holds, so looking for it means something.
    let record = store.get(&created.info().id).unwrap().unwrap();
    let stored = serde_json::to_value(&*record).unwrap();
    assert_eq!(stored["hash"], STANDARD.encode(hash));

    Fixture {
        manager,
        store,
        clock,
        text,
        secret,
        hash,
    }
}

/// Every form of `bytes` that would give them away in text.
fn encodings(bytes: &[u8]) -> Vec<String> {
    let mut forms = vec![
        hex(bytes),
        hex(bytes).to_uppercase(),
        STANDARD.encode(bytes),
        STANDARD_NO_PAD.encode(bytes),
        URL_SAFE.encode(bytes),
        URL_SAFE_NO_PAD.encode(bytes),
        // As `Debug` prints a byte array or slice.
        format!("{:?}", &bytes[..8])
            .trim_end_matches(']')
            .to_owned(),
    ];
    if let Ok(text) = std::str::from_utf8(bytes) {
        forms.push(text.to_owned());
    }
    // Halves and quarters, in hex and base64, to catch a partial leak. Whole chunks only:
    // the base64 of a byte or two could turn up anywhere by chance.
    let (quarter, half) = (bytes.len() / 4, bytes.len() / 2);
    for chunk in bytes.chunks_exact(quarter).chain(bytes.chunks_exact(half)) {
        forms.push(hex(chunk));
        forms.push(STANDARD_NO_PAD.encode(chunk));
    }
    forms
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Fixture {
    /// Texts that must appear nowhere but where the crate hands them out on purpose.
    fn forbidden(&self) -> Vec<String> {
        let mut forms = encodings(self.secret.as_bytes());
        // Any twelve characters of the secret in a row.
        for window in self.secret.as_bytes().windows(12) {
            forms.push(String::from_utf8(window.to_vec()).unwrap());
        }
        forms.extend(encodings(&KEY_BYTES));
        forms.extend(self.hash_forms());
        forms
    }

    fn hash_forms(&self) -> Vec<String> {
        encodings(&self.hash)
    }

    fn assert_clean(&self, what: &str, output: &str) {
        for form in self.forbidden() {
            assert!(
                !output.contains(&form),
                "{what} gives away {form:?}: {output}"
            );
        }
    }

    fn assert_debug_clean(&self, what: &str, value: &impl Debug) {
        self.assert_clean(what, &format!("{value:?}"));
        self.assert_clean(what, &format!("{value:#?}"));
    }

    fn assert_error_clean(&self, what: &str, error: &(dyn std::error::Error + 'static)) {
        self.assert_debug_clean(what, &error);
        let mut current = Some(error);
        while let Some(error) = current {
            self.assert_clean(what, &error.to_string());
            current = error.source();
        }
    }

    fn record(&self) -> Arc<TokenRecord> {
        let id = self.manager.format().parse_id(&self.text).unwrap();
        self.store.get(&id).unwrap().unwrap()
    }
}

#[test]
fn debug_output_of_every_type_holding_a_secret_is_clean() {
    let f = fixture();
    let created = f
        .manager
        .create(NewToken::new("second", Lifetime::Never))
        .unwrap();
    let second = created.token().expose_secret().to_owned();

    f.assert_debug_clean("HashingKey", &key());
    f.assert_debug_clean("TokenManager", &f.manager);
    f.assert_debug_clean("MemoryStore", &f.store);
    f.assert_debug_clean("TokenRecord", &f.record());
    f.assert_debug_clean("TokenHash", f.record().hash());
    f.assert_debug_clean("VerifiedToken", &f.manager.verify(&f.text).unwrap());
    f.assert_debug_clean("TokenInfo", &f.manager.get(f.record().id()).unwrap());
    f.assert_clean("KeyId", &key().id().to_string());

    // The second token's own plaintext must not show in its own wrappers either.
    assert!(!format!("{created:?}").contains(split(&second).2));
    assert!(!format!("{:?}", created.token()).contains(split(&second).2));
    assert_eq!(
        format!("{:?}", created.token()),
        "PlaintextToken(<redacted>)"
    );
    assert_eq!(format!("{:?}", f.record().hash()), "TokenHash(<redacted>)");
}

#[test]
fn serde_output_holds_the_hash_only_where_a_store_needs_it() {
    let f = fixture();
    let record = f.record();

    // A record is what a store writes, so it carries the hash, once, in base64, and
    // nothing else secret.
    let written = serde_json::to_string(&*record).unwrap();
    assert_eq!(written.matches(&STANDARD.encode(f.hash)).count(), 1);
    let without_hash = written.replace(&STANDARD.encode(f.hash), "");
    f.assert_clean("serialised TokenRecord", &without_hash);

    let hash = serde_json::to_string(record.hash()).unwrap();
    assert_eq!(hash, format!("\"{}\"", STANDARD.encode(f.hash)));

    // A listing entry has no hash, no key id and nothing else secret.
    let info = serde_json::to_value(f.manager.get(record.id()).unwrap()).unwrap();
    f.assert_clean("serialised TokenInfo", &info.to_string());
    let fields: BTreeSet<&str> = info
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let expected = [
        "created_at",
        "expires",
        "id",
        "last_used_at",
        "metadata",
        "name",
        "owner",
        "scopes",
    ];
    assert_eq!(fields, BTreeSet::from(expected));
}

#[test]
fn listings_never_contain_hashes() {
    let f = fixture();
    let _ = f.manager.verify(&f.text).unwrap();
    let listed = f.manager.list(None).unwrap();
    assert_eq!(listed.len(), 1);
    f.assert_debug_clean("listing", &listed);
    f.assert_clean("listing", &serde_json::to_string(&listed).unwrap());
    f.assert_clean(
        "owner listing",
        &format!("{:?}", f.manager.list(Some("alice"))),
    );
}

#[test]
fn no_error_repeats_a_secret_a_key_or_a_hash() {
    let f = fixture();
    let (prefix, id, secret) = split(&f.text);
    let wrong_secret = support::forge(prefix, id, &"x".repeat(secret.len()));
    let mut errors: Vec<Box<dyn std::error::Error>> = Vec::new();
    let other_last = if f.text.ends_with('X') { 'Y' } else { 'X' };

    // Every verify failure, each reached with the real secret in the presented text.
    for presented in [
        format!("{}!", f.text),
        format!("{}{}", &f.text[..f.text.len() - 1], other_last),
        f.text.replacen("acme", "acmf", 1),
        f.text.replacen('_', "-", 1),
        wrong_secret,
    ] {
        errors.push(Box::new(f.manager.verify(&presented).unwrap_err()));
    }
    errors.push(Box::new(
        api_tokens::bearer_token(&format!("Basic {}", f.text)).unwrap_err(),
    ));
    f.clock.advance(Duration::days(2));
    let expired = f.manager.verify(&f.text).unwrap_err();
    assert!(matches!(expired, VerifyError::Expired));
    errors.push(Box::new(expired));

    // Management failures.
    let record = f.record();
    let duplicate = f.store.insert(TokenRecord::clone(&record)).unwrap_err();
    errors.push(Box::new(duplicate));
    f.manager.delete(record.id()).unwrap();
    let missing = f.manager.get(record.id()).unwrap_err();
    assert!(matches!(missing, ManageError::NotFound(_)));
    errors.push(Box::new(missing));
    let refused = f
        .manager
        .create(NewToken::new(secret, Lifetime::Never).scope("bad scope"))
        .unwrap_err();
    errors.push(Box::new(refused));
    let verified_scope = {
        let f = fixture();
        let verified = f.manager.verify(&f.text).unwrap();
        verified.require_scope("admin").unwrap_err()
    };
    errors.push(Box::new(verified_scope));

    // Configuration failures, given the real key material.
    let short_key = HashingKey::new(&KEY_BYTES[..31]).unwrap_err();
    assert_eq!(short_key, ConfigError::KeyTooShort);
    errors.push(Box::new(short_key));
    let duplicate_key = TokenManager::builder(MemoryStore::new(), key(), "acme")
        .previous_key(key())
        .build()
        .unwrap_err();
    errors.push(Box::new(duplicate_key));

    // Reading records whose hash was tampered with.
    let good = serde_json::to_value(&*record).unwrap();
    for hash in [
        format!("{}A", STANDARD.encode(f.hash)),
        STANDARD.encode(&f.hash[..31]),
        hex(&f.hash),
    ] {
        let mut edited = good.clone();
        edited["hash"] = hash.into();
        let error = serde_json::from_value::<TokenRecord>(edited).unwrap_err();
        errors.push(Box::new(error));
    }

    for (i, error) in errors.iter().enumerate() {
        f.assert_error_clean(&format!("error {i}"), error.as_ref());
    }
    assert_eq!(
        f.manager
            .verify(&format!("{}!", f.text))
            .unwrap_err()
            .to_string(),
        Malformed::Length.to_string()
    );
}

#[test]
fn the_key_a_record_is_checked_with_comes_from_the_record_and_the_service() {
    let f = fixture();
    let record = serde_json::to_value(&*f.record()).unwrap();
    let old = key();
    let new = HashingKey::new(&[0x5a; 32]).unwrap();
    let reader =
        |value: &serde_json::Value, current: &HashingKey, previous: Option<&HashingKey>| {
            let store = MemoryStore::new();
            store
                .insert(serde_json::from_value(value.clone()).unwrap())
                .unwrap();
            let mut builder = TokenManager::builder(store, current.clone(), "acme")
                .clock(ManualClock::new(START));
            if let Some(previous) = previous {
                builder = builder.previous_key(previous.clone());
            }
            builder.build().unwrap()
        };

    // The token text carries no key or algorithm: the record names the key, and only a
    // key the service holds is used.
    let both = reader(&record, &new, Some(&old));
    assert!(both.verify(&f.text).is_ok());
    let only_new = reader(&record, &new, None);
    assert!(matches!(
        only_new.verify(&f.text),
        Err(VerifyError::Invalid)
    ));

    // A record that names another held key is checked under that key alone, so the genuine
    // secret fails rather than being tried against every key.
    let mut renamed = record.clone();
    renamed["key_id"] = new.id().to_string().into();
    let both = reader(&renamed, &new, Some(&old));
    assert!(matches!(both.verify(&f.text), Err(VerifyError::Invalid)));

    // After a successful verify under the old key, the record is re-hashed under the new
    // key and names it.
    let both = reader(&record, &new, Some(&old));
    let id = *both.verify(&f.text).unwrap().id();
    let rehashed = both.store().get(&id).unwrap().unwrap();
    assert_eq!(rehashed.key_id(), new.id());
    let expected = STANDARD.encode(hmac_of(&[0x5a; 32], &f.secret));
    assert_eq!(serde_json::to_value(&*rehashed).unwrap()["hash"], expected);
}

#[test]
fn plaintext_tokens_and_hashes_wipe_their_memory() {
    // A type that wipes itself on drop has drop glue even where its contents would not.
    assert!(std::mem::needs_drop::<TokenHash>());
    assert!(!std::mem::needs_drop::<[u8; 32]>());
    assert!(std::mem::needs_drop::<PlaintextToken>());

    #[cfg(target_os = "linux")]
    memory::freed_secrets_are_wiped();
}

/// Looks at freed memory through `/proc/self/mem`, which needs no unsafe code.
///
/// The allocator keeps a freed block's bytes, apart from a few words of bookkeeping at its
/// start, until the block is handed out again; a block freed by this thread goes back to
/// this thread's cache. So right after a drop, the bytes that held a value are still there
/// unless the value wiped them. A control with a plain `String` shows that the method sees
/// leftovers when nothing wipes them.
#[cfg(target_os = "linux")]
mod memory {
    use std::fs::File;
    use std::os::unix::fs::FileExt;

    use super::*;

    fn read(mem: &File, address: usize, into: &mut [u8]) {
        mem.read_exact_at(into, address as u64)
            .expect("the process can read its own heap");
    }

    pub(super) fn freed_secrets_are_wiped() {
        let f = fixture();
        let mem = File::open("/proc/self/mem").expect("/proc/self/mem is readable");
        // Where the secret sits in the token text, clear of the allocator's bookkeeping.
        let offset = "acme_".len() + support::ID_LEN;
        let mut seen = [0u8; support::SECRET_LEN];

        // Control: a plain copy of the token leaves its secret behind.
        let copy = f.text.clone();
        let address = copy.as_ptr() as usize + offset;
        drop(copy);
        read(&mem, address, &mut seen);
        assert_eq!(
            &seen[..],
            f.secret.as_bytes(),
            "control: leftovers are visible"
        );

        // A plaintext token does not.
        let created = f
            .manager
            .create(NewToken::new("wiped", Lifetime::Never))
            .unwrap();
        let (token, _) = created.into_parts();
        let secret = split(token.expose_secret()).2.to_owned();
        let address = token.expose_secret().as_ptr() as usize + offset;
        read(&mem, address, &mut seen);
        assert_eq!(&seen[..], secret.as_bytes(), "the address is right");
        drop(token);
        read(&mem, address, &mut seen);
        assert_ne!(
            &seen[..],
            secret.as_bytes(),
            "plaintext left in freed memory"
        );

        // Nor does the stored hash, once the last holder of its record lets go.
        assert_eq!(std::mem::size_of::<TokenHash>(), 32);
        let record = f.record();
        let address = std::ptr::from_ref(record.hash()) as usize;
        let mut hash = [0u8; 32];
        read(&mem, address, &mut hash);
        assert_eq!(hash, f.hash, "the address is right");
        f.manager.delete(record.id()).unwrap();
        drop(record);
        read(&mem, address, &mut hash);
        assert_ne!(hash, f.hash, "hash left in freed memory");
    }
}
