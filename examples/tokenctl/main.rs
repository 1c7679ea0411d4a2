//! `tokenctl`: manages the API tokens in a file store from the shell, the way a web app's
//! "Settings > API tokens" page does.
//!
//! ```text
//! cargo run --example tokenctl -- [--store PATH] [--key-file PATH] [--prefix P] <command>
//! ```
//!
//! - `create` prints the new token alone on stdout, so `TOKEN=$(tokenctl create ...)`
//!   works; its id, name and expiry go to stderr. The token is never shown again.
//! - `list`, `show`, `verify`, `scan` and errors never print a token, a secret or a hash.
//! - `scan` finds the store's tokens in files or stdin, reading them a piece at a time,
//!   and prints `FILE:LINE:COLUMN: ID STATUS` for each, the status being `live "NAME"`,
//!   `expired` or `unknown` (deleted, or never in this store). It does not mark the
//!   tokens as used. `--revoke` then deletes the live ones, asking first as `delete` does.
//! - Expiry: `never`, a length such as `90m`, `12h`, `30d` or `2w`, an instant such as
//!   `2027-01-31T12:00:00Z`, or a bare date such as `2027-01-31`, which means "through the
//!   end of that day in UTC" (the token expires at the following midnight UTC).
//! - The hashing key is read from `--key-file`, else from `API_TOKENS_KEY`, else from the
//!   file beside the store named like it with the extension `.key`; all hold the key in
//!   base64. When none exists and the store has no tokens yet, `create` makes that file
//!   with 32 random bytes, readable by its owner only, and says so on stderr.
//! - Exit status: 0 on success, 1 when `verify` rejects a token, no token has the given
//!   id or `scan` finds a live token (revoked or not), 2 for usage errors and files `scan`
//!   cannot read, 3 for store errors (unreadable, corrupt, locked); each error is one line
//!   on stderr that names the file involved.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::fs::{self, OpenOptions};
use std::io::{self, BufRead, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use api_tokens::{
    FileStore, HashingKey, KeyId, Lifetime, ManageError, NewToken, Prefix, StoreError, TokenId,
    TokenInfo, TokenManager, TokenRecord, TokenScanner, TokenStore, TokenUpdate, VerifiedToken,
    VerifyError,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use clap::{Parser, Subcommand};
use serde::Serialize;
use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

#[path = "../support/mod.rs"]
mod support;

mod cli;
mod output;
mod scan;
mod setup;

use cli::{Cli, Command};
use output::*;
use scan::{LookOnly, scan};
use setup::*;

/// The manager every command works through; `scan` gives it a store it cannot write to
/// but by deleting.
type Manager = TokenManager<Box<dyn TokenStore>>;

use support::{
    DEFAULT_STORE, INPUT_LIMIT, KEY_VARIABLE, KeyError, KeyLookup, TokenJson, instant_text,
    key_path_beside, parse_duration, parse_expiry,
};

/// Why the command failed, and so its exit status.
#[derive(Debug)]
enum Failure {
    /// Exit 1: `verify` rejected the token, or no token has the id.
    Rejected(String),
    /// Exit 2: the command line, or a value in it, is wrong.
    Usage(String),
    /// Exit 3: the store or key file could not be used.
    Store(String),
}

impl Failure {
    fn store(error: &StoreError) -> Self {
        match error {
            StoreError::PrefixMismatch { .. } => Self::Usage(one_line(error)),
            StoreError::Io { path, source, .. } if source.kind() == io::ErrorKind::NotFound => {
                Self::Store(format!("no token store at {}", path.display()))
            }
            _ => Self::Store(one_line(error)),
        }
    }

    fn manage(error: &ManageError) -> Self {
        match error {
            ManageError::Invalid(_) => Self::Usage(one_line(error)),
            ManageError::NotFound(_) => Self::Rejected(one_line(error)),
            ManageError::Store(store) => Self::store(store),
            _ => Self::Store(one_line(error)),
        }
    }
}

impl From<KeyError> for Failure {
    fn from(error: KeyError) -> Self {
        match error {
            KeyError::Invalid(message) => Self::Usage(message),
            KeyError::Unreadable(message) => Self::Store(message),
        }
    }
}

/// An error and its sources on one line.
fn one_line(error: &dyn std::error::Error) -> String {
    let mut line = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let _ = write!(line, ": {cause}");
        source = cause.source();
    }
    line.replace('\n', " ")
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2));
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            let (code, message) = match failure {
                Failure::Rejected(message) => (1, message),
                Failure::Usage(message) => (2, message),
                Failure::Store(message) => (3, message),
            };
            if !message.is_empty() {
                eprintln!("tokenctl: {message}");
            }
            ExitCode::from(code)
        }
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    let creating = matches!(cli.command, Command::Create { .. });
    let store = open_store(&cli, creating)?;
    let prefix = match (&cli.prefix, store.prefix()) {
        (Some(prefix), _) => prefix.clone(),
        (None, Some(prefix)) => prefix.to_string(),
        (None, None) => {
            let path = cli.store.display();
            return Err(Failure::Usage(format!(
                "the store {path} records no token prefix; give --prefix"
            )));
        }
    };
    let needs_key = matches!(
        cli.command,
        Command::Create { .. }
            | Command::Rotate { .. }
            | Command::Verify { .. }
            | Command::Scan { .. }
    );
    let key = find_key(&cli, &store, creating)?;
    let key = match key {
        Some(key) => key,
        None if needs_key => {
            let beside = key_path_beside(&cli.store);
            return Err(Failure::Usage(format!(
                "no hashing key: give --key-file or set {KEY_VARIABLE} (no key file at {})",
                beside.display()
            )));
        }
        // These commands hash nothing; a throwaway key lets them share the manager's
        // validation and ordering.
        None => HashingKey::new(&HashingKey::generate_bytes().map_err(|e| fail_store(&e))?[..])
            .map_err(|e| fail_store(&e))?,
    };
    if creating {
        warn_of_other_keys(&store, key.id())?;
    }
    // A scan only looks: finding a token in a file must not make it look used.
    let store: Box<dyn TokenStore> = match cli.command {
        Command::Scan { .. } => Box::new(LookOnly(store)),
        _ => Box::new(store),
    };
    let manager = TokenManager::builder(store, key, &prefix)
        .build()
        .map_err(|error| Failure::Usage(one_line(&error)))?;

    match cli.command {
        Command::Create {
            name,
            expires,
            owner,
            scopes,
            metadata,
        } => {
            let mut request = NewToken::new(name, expires).scopes(scopes);
            if let Some(owner) = owner {
                request = request.owner(owner);
            }
            for (key, value) in metadata {
                request = request.metadata(key, value);
            }
            let created = manager.create(request).map_err(|e| Failure::manage(&e))?;
            let info = created.info();
            print_out(&format!("{}\n", created.token().expose_secret()));
            eprintln!(
                "created token {} \"{}\", expires {}",
                info.id,
                info.name,
                expiry_text(info)
            );
            eprintln!("This is the only time the token is shown: store it somewhere safe now.");
        }
        Command::List {
            owner,
            expiring_within,
            json,
        } => {
            let mut tokens = match expiring_within {
                Some(window) => manager.expiring_within(window),
                None => manager.list(owner.as_deref()),
            }
            .map_err(|e| Failure::manage(&e))?;
            if let Some(owner) = &owner {
                tokens.retain(|info| info.owner.as_ref() == Some(owner));
            }
            if json {
                let rows: Vec<TokenJson<'_>> = tokens.iter().map(TokenJson::from).collect();
                print_out(&format!("{}\n", to_json(&rows)));
            } else {
                print_out(&table(&tokens));
            }
        }
        Command::Show { id, json } => {
            let info = manager.get(&id).map_err(|e| Failure::manage(&e))?;
            if json {
                print_out(&format!("{}\n", to_json(&TokenJson::from(&info))));
            } else {
                print_out(&details(&info));
            }
        }
        Command::Update {
            id,
            name,
            expires,
            scopes,
        } => {
            if name.is_none() && expires.is_none() && scopes.is_empty() {
                let hint = "nothing to change: give --name, --expires or --scope";
                return Err(Failure::Usage(hint.to_owned()));
            }
            let mut update = TokenUpdate::new();
            if let Some(name) = name {
                update = update.name(name);
            }
            if let Some(expires) = expires {
                update = update.expires(expires);
            }
            if !scopes.is_empty() {
                update = update.scopes(scopes);
            }
            let info = manager
                .update(&id, update)
                .map_err(|e| Failure::manage(&e))?;
            eprintln!("updated token {}", info.id);
            print_out(&details(&info));
        }
        Command::Rotate { id, grace } => {
            let created = manager
                .rotate(&id, grace)
                .map_err(|e| Failure::manage(&e))?;
            print_out(&format!("{}\n", created.token().expose_secret()));
            let old = match manager.get(&id) {
                Ok(old) => format!("keeps working until {}", expiry_text(&old)),
                Err(_) => "is deleted".to_owned(),
            };
            eprintln!(
                "rotated token {id}: the new token {} expires {}; the old one {old}",
                created.info().id,
                expiry_text(created.info())
            );
            eprintln!("This is the only time the new token is shown: store it somewhere safe now.");
        }
        Command::Delete { id, yes } => {
            let info = manager.get(&id).map_err(|e| Failure::manage(&e))?;
            if !yes && !confirm_delete(&info)? {
                return Err(Failure::Rejected("not deleted".to_owned()));
            }
            manager.delete(&id).map_err(|e| Failure::manage(&e))?;
            eprintln!("deleted token {} \"{}\"", info.id, info.name);
        }
        Command::Verify { token } => {
            let presented = match token.as_deref() {
                None | Some("-") => read_token_from_stdin()?,
                Some(text) => Zeroizing::new(text.to_owned()),
            };
            return match manager.verify(&presented) {
                Ok(verified) => {
                    print_out(&format!("valid {} {}\n", verified.id(), verified.name()));
                    Ok(())
                }
                Err(VerifyError::Store(error)) => Err(Failure::store(&error)),
                Err(rejection) => {
                    let reason = match rejection {
                        VerifyError::Malformed(_) => "malformed",
                        VerifyError::Expired => "expired",
                        _ => "invalid",
                    };
                    print_out(&format!("{reason}\n"));
                    Err(Failure::Rejected(String::new()))
                }
            };
        }
        Command::PurgeExpired => {
            let purged = manager.purge_expired().map_err(|e| Failure::manage(&e))?;
            let ids: String = purged.iter().map(|id| format!("{id}\n")).collect();
            print_out(&ids);
            eprintln!("purged {} expired token(s)", purged.len());
        }
        Command::Scan { files, revoke, yes } => return scan(&manager, &files, revoke, yes),
    }
    Ok(())
}

fn fail_store(error: &dyn std::error::Error) -> Failure {
    Failure::Store(one_line(error))
}
