//! The whole life of an API token, narrated.
//!
//! Run it with `cargo run --example quickstart`. The tokens are kept in a file store in a
//! temporary directory, removed at the end; `cargo run --example quickstart -- PATH` keeps
//! them in the file at `PATH` instead.

use std::error::Error;
use std::path::PathBuf;

use api_tokens::{FileStore, HashingKey, Lifetime, NewToken, Prefix, TokenManager};
use time::Duration;

fn main() -> Result<(), Box<dyn Error>> {
    let temp_dir = tempfile::tempdir()?;
    let path = match std::env::args_os().nth(1) {
        Some(path) => PathBuf::from(path),
        None => temp_dir.path().join("tokens.store"),
    };

    // A real service loads its hashing key from a secret store; a fresh one will do here.
    let key_bytes = HashingKey::generate_bytes()?;
    let store = FileStore::options()
        .prefix(Prefix::new("demo")?)
        .open(&path)?;
    let manager = TokenManager::builder(store, HashingKey::new(&key_bytes[..])?, "demo").build()?;
    println!(
        "A token manager for tokens that start with `demo_`, keeping records in {}.\n",
        path.display()
    );

    step("Create a token that expires in 30 days, allowed to read and write repositories");
    let ci = manager.create(
        NewToken::new("CI deploy", Lifetime::For(Duration::days(30)))
            .owner("team-infra")
            .scopes(["repo:read", "repo:write"]),
    )?;
    println!("  id:      {}", ci.info().id);
    println!("  expires: {}", ci.info().expires);
    println!("  token:   {}", ci.token().expose_secret());
    println!("  (this is the only time the token is shown; the store keeps only its HMAC)\n");

    step("Create a token that never expires");
    let laptop = manager.create(NewToken::new("laptop", Lifetime::Never).scope("repo:read"))?;
    println!(
        "  id: {}, expires: {}\n",
        laptop.info().id,
        laptop.info().expires
    );

    step("List tokens, newest first (no secrets, no hashes)");
    for token in manager.list(None)? {
        let scopes = token.scopes.join(",");
        println!(
            "  {}  {:<10} expires {:<32} scopes {}",
            token.id,
            token.name,
            token.expires.to_string(),
            scopes
        );
    }
    println!();

    step("Verify the CI token, as a service does on each request");
    let verified = manager.verify(ci.token().expose_secret())?;
    println!(
        "  accepted: {} ({}), scopes {:?}",
        verified.name(),
        verified.id(),
        verified.scopes()
    );
    match verified.require_scope("admin") {
        Ok(()) => println!("  it may administer (unexpected)"),
        Err(error) => println!("  asking for `admin`: refused, {error}\n"),
    }

    step("Verify a copy with one character changed");
    let tampered = change_one_character(ci.token().expose_secret());
    match manager.verify(&tampered) {
        Ok(_) => println!("  accepted (unexpected)\n"),
        Err(error) => println!("  refused: {error} (the checksum catches it before any lookup)\n"),
    }

    step("Rotate the CI token with a one-hour grace period");
    let rotated = manager.rotate(&ci.info().id, Duration::hours(1))?;
    println!("  new id {} replaces {}", rotated.info().id, ci.info().id);
    let old_expiry = manager.get(&ci.info().id)?.expires;
    println!("  the old token still works until {old_expiry}\n");

    step("Delete the laptop token, then try it again");
    manager.delete(&laptop.info().id)?;
    match manager.verify(laptop.token().expose_secret()) {
        Ok(_) => println!("  accepted (unexpected)\n"),
        Err(error) => println!("  refused: {error}\n"),
    }

    step("Close the store and open it again, as a restarted service would");
    drop(manager);
    let store = FileStore::open(&path)?;
    let manager = TokenManager::builder(store, HashingKey::new(&key_bytes[..])?, "demo").build()?;
    let again = manager.verify(rotated.token().expose_secret())?;
    println!(
        "  {} tokens on file; the rotated CI token still verifies: {} ({})",
        manager.list(None)?.len(),
        again.name(),
        again.id()
    );
    Ok(())
}

fn step(title: &str) {
    println!("== {title}");
}

/// Replaces the last character of the token's body with a different one.
fn change_one_character(token: &str) -> String {
    let mut text = token.to_owned();
    let last = text.pop().unwrap_or('0');
    text.push(if last == 'A' { 'B' } else { 'A' });
    text
}
