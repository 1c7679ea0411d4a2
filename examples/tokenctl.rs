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

mod support;

use support::{
    DEFAULT_STORE, INPUT_LIMIT, KEY_VARIABLE, KeyError, KeyLookup, TokenJson, instant_text,
    key_path_beside, parse_duration, parse_expiry,
};

/// Manage the API tokens in a file store.
#[derive(Parser, Debug)]
#[command(name = "tokenctl", version, after_help = AFTER_HELP)]
struct Cli {
    /// The token store file.
    #[arg(
        long,
        global = true,
        value_name = "PATH",
        default_value = DEFAULT_STORE
    )]
    store: PathBuf,

    /// A file holding the hashing key in base64 [default: $API_TOKENS_KEY, else the store's
    /// path with the extension .key]
    #[arg(long, global = true, value_name = "PATH")]
    key_file: Option<PathBuf>,

    /// The token prefix [default: the one the store was created with; needed to create a
    /// store]
    #[arg(long, global = true, value_name = "P")]
    prefix: Option<String>,

    /// How long to wait for another process writing to the store.
    #[arg(long, global = true, value_name = "DURATION", default_value = "10s",
          value_parser = parse_duration)]
    lock_timeout: Duration,

    #[command(subcommand)]
    command: Command,
}

const AFTER_HELP: &str = "\
Expiry: never, a length (90m, 12h, 30d, 2w), an instant (2027-01-31T12:00:00Z), or a date
(2027-01-31: valid through the end of that day, UTC).
Exit status: 0 success, 1 token rejected, unknown id or live token found by scan, 2 usage
error or unreadable file, 3 store error.";

#[derive(Subcommand, Debug)]
enum Command {
    /// Create a token; prints it on stdout, the only time it is shown.
    Create {
        /// What the token is for, as people will see it in listings.
        #[arg(long)]
        name: String,
        /// When it expires.
        #[arg(long, value_name = "EXPIRY", default_value = "30d", value_parser = parse_expiry)]
        expires: Lifetime,
        /// The user or service it belongs to.
        #[arg(long)]
        owner: Option<String>,
        /// A scope it grants; repeat for several.
        #[arg(long = "scope", value_name = "S")]
        scopes: Vec<String>,
        /// A metadata entry; repeat for several.
        #[arg(long = "meta", value_name = "KEY=VALUE", value_parser = parse_meta)]
        metadata: Vec<(String, String)>,
    },
    /// List tokens, newest first, without secrets.
    List {
        /// Only the tokens of this owner.
        #[arg(long)]
        owner: Option<String>,
        /// Only the tokens still valid that expire within this time, soonest first.
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        expiring_within: Option<Duration>,
        /// Print one JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show one token's details.
    Show {
        #[arg(value_parser = parse_id)]
        id: TokenId,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Change a token's name, expiry or scopes.
    Update {
        #[arg(value_parser = parse_id)]
        id: TokenId,
        /// The new name.
        #[arg(long)]
        name: Option<String>,
        /// The new expiry, counted from now.
        #[arg(long, value_name = "EXPIRY", value_parser = parse_expiry)]
        expires: Option<Lifetime>,
        /// The new scopes, replacing all others; repeat for several.
        #[arg(long = "scope", value_name = "S")]
        scopes: Vec<String>,
    },
    /// Replace a token with a new one; prints the new token on stdout.
    Rotate {
        #[arg(value_parser = parse_id)]
        id: TokenId,
        /// How long the old token keeps working.
        #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = parse_duration)]
        grace: Duration,
    },
    /// Delete a token; asks first on a terminal.
    Delete {
        #[arg(value_parser = parse_id)]
        id: TokenId,
        /// Do not ask (needed when stdin is not a terminal).
        #[arg(long)]
        yes: bool,
    },
    /// Check a token: exit 0 and print its id and name if valid, else exit 1 with the reason.
    Verify {
        /// The token, or - (the default) to read it from stdin, which keeps it out of the
        /// process list.
        #[arg(value_name = "TOKEN | -")]
        token: Option<String>,
    },
    /// Delete every expired token.
    PurgeExpired,
    /// Find this store's tokens in files or stdin, and say which are still live; exit 1 if
    /// any is.
    Scan {
        /// The files to search; stdin when none is given, or for -.
        #[arg(value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Delete the live tokens found, asking first for each on a terminal.
        #[arg(long)]
        revoke: bool,
        /// Do not ask before revoking (needed when stdin is not a terminal or is scanned).
        #[arg(long, requires = "revoke")]
        yes: bool,
    },
}

/// The manager every command works through; `scan` gives it a store it cannot write to
/// but by deleting.
type Manager = TokenManager<Box<dyn TokenStore>>;

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

/// Searches files, or stdin, for the store's tokens; prints where each is and whether it is
/// live, then revokes the live ones if asked to.
fn scan(manager: &Manager, files: &[PathBuf], revoke: bool, yes: bool) -> Result<(), Failure> {
    let stdin = Path::new("-");
    let sources: Vec<&Path> = if files.is_empty() {
        vec![stdin]
    } else {
        files.iter().map(PathBuf::as_path).collect()
    };
    if revoke && !yes {
        let refuse = |why: &str| {
            Err(Failure::Usage(format!(
                "refusing to revoke without --yes: {why}"
            )))
        };
        if sources.contains(&stdin) {
            return refuse("stdin is the text being scanned");
        }
        if !io::stdin().is_terminal() {
            return refuse("stdin is not a terminal");
        }
    }

    let scanner = TokenScanner::for_prefix(manager.format().prefix().clone());
    let mut seen = HashSet::new();
    let mut live: Vec<VerifiedToken> = Vec::new();
    let mut store_failure = None;
    let mut unreadable = false;
    for source in sources {
        let (label, reader): (String, Box<dyn Read>) = if source == stdin {
            ("<stdin>".to_owned(), Box::new(io::stdin().lock()))
        } else {
            match fs::File::open(source) {
                Ok(file) => (source.display().to_string(), Box::new(file)),
                Err(error) => {
                    eprintln!("tokenctl: cannot read {}: {error}", source.display());
                    unreadable = true;
                    continue;
                }
            }
        };
        let scanned = scanner.scan_reader(reader, |found, token| {
            if store_failure.is_some() {
                return;
            }
            let status = match manager.verify(token) {
                Ok(verified) => {
                    let status = format!("live \"{}\"", verified.name());
                    if !live.iter().any(|known| known.id() == verified.id()) {
                        live.push(verified);
                    }
                    status
                }
                Err(VerifyError::Expired) => "expired".to_owned(),
                Err(VerifyError::Store(error)) => {
                    store_failure = Some(Failure::store(&error));
                    return;
                }
                Err(_) => "unknown".to_owned(),
            };
            seen.insert(found.id);
            let (line, column, id) = (found.line, found.column, found.id);
            print_out(&format!("{label}:{line}:{column}: {id} {status}\n"));
        });
        if let Some(failure) = store_failure {
            return Err(failure);
        }
        if let Err(error) = scanned {
            eprintln!("tokenctl: cannot read {label}: {error}");
            unreadable = true;
        }
    }
    eprintln!("found {} token(s), {} of them live", seen.len(), live.len());

    if revoke {
        for token in &live {
            revoke_found(manager, token, yes)?;
        }
    }
    if unreadable {
        return Err(Failure::Usage(String::new()));
    }
    if !live.is_empty() {
        return Err(Failure::Rejected(String::new()));
    }
    Ok(())
}

/// Deletes a live token that `scan` found, after asking unless `yes`.
fn revoke_found(manager: &Manager, token: &VerifiedToken, yes: bool) -> Result<(), Failure> {
    let info = match manager.get(token.id()) {
        Ok(info) => info,
        Err(ManageError::NotFound(id)) => {
            eprintln!("token {id} is deleted already");
            return Ok(());
        }
        Err(error) => return Err(Failure::manage(&error)),
    };
    if !yes && !confirm_delete(&info)? {
        eprintln!("kept token {} \"{}\"", info.id, info.name);
        return Ok(());
    }
    match manager.delete(&info.id) {
        Ok(()) => eprintln!("revoked token {} \"{}\"", info.id, info.name),
        Err(ManageError::NotFound(id)) => eprintln!("token {id} is deleted already"),
        Err(error) => return Err(Failure::manage(&error)),
    }
    Ok(())
}

/// The store as `scan` sees it: lookups, listings and deletions pass through, while the
/// last-use times and re-hashes that a successful verify writes are dropped, so that
/// finding a token in a file does not make it look used.
#[derive(Debug)]
struct LookOnly(FileStore);

impl TokenStore for LookOnly {
    fn insert(&self, _record: TokenRecord) -> Result<(), StoreError> {
        Err(look_only())
    }

    fn get(&self, id: &TokenId) -> Result<Option<Arc<TokenRecord>>, StoreError> {
        self.0.get(id)
    }

    fn list(&self, owner: Option<&str>) -> Result<Vec<Arc<TokenRecord>>, StoreError> {
        self.0.list(owner)
    }

    fn update(
        &self,
        _id: &TokenId,
        _change: &mut dyn FnMut(&mut TokenRecord),
    ) -> Result<Arc<TokenRecord>, StoreError> {
        Err(look_only())
    }

    fn remove(&self, id: &TokenId) -> Result<(), StoreError> {
        self.0.remove(id)
    }

    fn record_use(&self, _id: &TokenId, _at: OffsetDateTime) -> Result<(), StoreError> {
        Ok(())
    }
}

fn look_only() -> StoreError {
    StoreError::Backend(Box::new(io::Error::other("scan changes no token")))
}

fn fail_store(error: &dyn std::error::Error) -> Failure {
    Failure::Store(one_line(error))
}

/// Opens the store; only `create` may make a new one, and only with a prefix to record.
fn open_store(cli: &Cli, creating: bool) -> Result<FileStore, Failure> {
    let lock_timeout = cli.lock_timeout.unsigned_abs();
    let mut options = FileStore::options()
        .create(false)
        .lock_timeout(lock_timeout);
    if let Some(prefix) = &cli.prefix {
        let prefix = Prefix::new(prefix).map_err(|error| Failure::Usage(one_line(&error)))?;
        options = options.prefix(prefix);
    }
    match options.clone().open(&cli.store) {
        Ok(store) => Ok(store),
        Err(StoreError::Io { source, .. })
            if creating && source.kind() == io::ErrorKind::NotFound =>
        {
            if cli.prefix.is_none() {
                return Err(Failure::Usage(format!(
                    "no token store at {}; give --prefix to create one",
                    cli.store.display()
                )));
            }
            let store = options.create(true).open(&cli.store).map_err(|error| {
                let detail = match &error {
                    StoreError::Io { source, .. } => source.to_string(),
                    other => one_line(other),
                };
                let path = cli.store.display();
                Failure::Store(format!("cannot create the token store {path}: {detail}"))
            })?;
            eprintln!("created the token store {}", cli.store.display());
            Ok(store)
        }
        Err(error) => Err(Failure::store(&error)),
    }
}

/// The hashing key from `--key-file`, the environment or the file beside the store; when
/// `may_create` and none exists, a new key file (unless the store already has tokens,
/// which a new key could not verify).
fn find_key(cli: &Cli, store: &FileStore, may_create: bool) -> Result<Option<HashingKey>, Failure> {
    let (path, named) = match support::find_key(cli.key_file.as_deref(), &cli.store)? {
        KeyLookup::Found(key) => return Ok(Some(key)),
        KeyLookup::Missing { path, named } => (path, named),
    };
    if !may_create {
        if named {
            return Err(Failure::Usage(format!("no key file at {}", path.display())));
        }
        return Ok(None);
    }
    if !store.is_empty() {
        return Err(Failure::Usage(format!(
            "no hashing key at {} (nor in {KEY_VARIABLE}), and the store {} already holds \
             tokens that a new key could not verify",
            path.display(),
            cli.store.display()
        )));
    }
    create_key_file(&path).map(Some)
}

/// Writes a new random key to `path`, readable by its owner only. The file appears complete
/// or not at all; if another process made one first, that one is used.
/// Says on stderr when the store's tokens were hashed under other keys than `key`: a
/// service that holds only those would refuse the new token. Rotating the hashing key does
/// this on purpose, so it is a warning, not an error.
fn warn_of_other_keys(store: &FileStore, key: KeyId) -> Result<(), Failure> {
    let records = store.list(None).map_err(|e| fail_store(&e))?;
    let mut others: Vec<KeyId> = records
        .iter()
        .map(|r| r.key_id())
        .filter(|id| *id != key)
        .collect();
    others.sort_unstable();
    others.dedup();
    if !others.is_empty() {
        let others: Vec<String> = others.iter().map(KeyId::to_string).collect();
        eprintln!(
            "warning: this store's tokens were hashed with another key ({}), not with this one \
             ({key}); a service that does not hold this key will refuse the new token",
            others.join(", ")
        );
    }
    Ok(())
}

fn create_key_file(path: &Path) -> Result<HashingKey, Failure> {
    let failed = |error: io::Error| {
        Failure::Store(format!(
            "cannot create the key file {}: {error}",
            path.display()
        ))
    };
    let bytes = HashingKey::generate_bytes().map_err(|e| fail_store(&e))?;
    let encoded = Zeroizing::new(format!("{}\n", BASE64.encode(&bytes[..])));

    let mut temp_name = path.as_os_str().to_owned();
    temp_name.push(format!(".{}.tmp", std::process::id()));
    let temp = PathBuf::from(temp_name);
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&temp).and_then(|mut file| {
        file.write_all(encoded.as_bytes())?;
        file.sync_all()
    });
    let linked = written.and_then(|()| match fs::hard_link(&temp, path) {
        Ok(()) => Ok(true),
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(error) => Err(error),
    });
    let _ = fs::remove_file(&temp);
    if !linked.map_err(failed)? {
        let encoded = support::read_limited(path).map_err(failed)?;
        return Ok(support::decode_key(&encoded, &path.display().to_string())?);
    }
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        let _ = fs::File::open(dir).and_then(|dir| dir.sync_all());
    }

    eprintln!(
        "created a new hashing key in {} (readable by you only); keep it, and keep it apart \
         from copies of the store",
        path.display()
    );
    HashingKey::new(&bytes[..]).map_err(|e| fail_store(&e))
}

/// Asks on the terminal whether to delete; refuses without a terminal.
fn confirm_delete(info: &TokenInfo) -> Result<bool, Failure> {
    if !io::stdin().is_terminal() {
        return Err(Failure::Usage(
            "refusing to delete without --yes: stdin is not a terminal".to_owned(),
        ));
    }
    eprint!(
        "Delete token {} \"{}\"? Anything using it stops working at once. [y/N] ",
        info.id, info.name
    );
    let _ = io::stderr().flush();
    let mut answer = String::new();
    io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|error| Failure::Usage(format!("cannot read the answer: {error}")))?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes" | "YES"))
}

/// Reads a token from stdin, dropping one trailing line break.
fn read_token_from_stdin() -> Result<Zeroizing<String>, Failure> {
    let mut bytes = Zeroizing::new(Vec::new());
    io::stdin()
        .lock()
        .take(INPUT_LIMIT)
        .read_to_end(&mut bytes)
        .map_err(|error| Failure::Usage(format!("cannot read the token from stdin: {error}")))?;
    let text = String::from_utf8_lossy(&bytes);
    let line = text.strip_suffix('\n').unwrap_or(&text);
    let line = line.strip_suffix('\r').unwrap_or(line);
    Ok(Zeroizing::new(line.to_owned()))
}

/// Writes to stdout; a closed pipe (as with `| head`) is not an error.
fn print_out(text: &str) {
    let _ = io::stdout().lock().write_all(text.as_bytes());
}

fn expiry_text(info: &TokenInfo) -> String {
    info.expires
        .instant()
        .map_or_else(|| "never".to_owned(), instant_text)
}

fn last_used_text(info: &TokenInfo) -> String {
    info.last_used_at
        .map_or_else(|| "never".to_owned(), instant_text)
}

fn or_dash(text: &str) -> &str {
    if text.is_empty() { "-" } else { text }
}

/// An aligned table of tokens, one per line, under a heading.
fn table(tokens: &[TokenInfo]) -> String {
    const HEADINGS: [&str; 7] = [
        "ID",
        "NAME",
        "OWNER",
        "SCOPES",
        "CREATED",
        "EXPIRES",
        "LAST USED",
    ];
    let rows: Vec<[String; 7]> = tokens
        .iter()
        .map(|info| {
            [
                info.id.to_string(),
                info.name.clone(),
                or_dash(info.owner.as_deref().unwrap_or_default()).to_owned(),
                or_dash(&info.scopes.join(",")).to_owned(),
                instant_text(info.created_at),
                expiry_text(info),
                last_used_text(info),
            ]
        })
        .collect();

    let mut widths = HEADINGS.map(|heading| heading.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let headings = HEADINGS.map(str::to_owned);
    for row in std::iter::once(&headings).chain(&rows) {
        let mut line = String::new();
        for (cell, width) in row.iter().zip(widths) {
            let pad = width - cell.chars().count();
            let _ = write!(line, "{cell}{:pad$}  ", "");
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// One token's details, a field per line.
fn details(info: &TokenInfo) -> String {
    let metadata: Vec<String> = info
        .metadata
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect();
    let fields = [
        ("id", info.id.to_string()),
        ("name", info.name.clone()),
        (
            "owner",
            info.owner.clone().unwrap_or_else(|| "-".to_owned()),
        ),
        ("scopes", or_dash(&info.scopes.join(", ")).to_owned()),
        ("metadata", or_dash(&metadata.join(", ")).to_owned()),
        ("created", instant_text(info.created_at)),
        ("expires", expiry_text(info)),
        ("last used", last_used_text(info)),
    ];
    fields
        .iter()
        .map(|(label, value)| format!("{:<10} {value}\n", format!("{label}:")))
        .collect()
}

fn to_json(value: &impl Serialize) -> String {
    // Plain strings, lists and maps of strings always serialise.
    serde_json::to_string_pretty(value).unwrap_or_default()
}

fn parse_id(text: &str) -> Result<TokenId, String> {
    text.parse()
        .map_err(|_| "a token id is 17 letters and digits, as `list` shows".to_owned())
}

fn parse_meta(text: &str) -> Result<(String, String), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| "expected KEY=VALUE".to_owned())?;
    Ok((key.to_owned(), value.to_owned()))
}
