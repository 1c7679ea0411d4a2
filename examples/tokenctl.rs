//! `tokenctl`: manages the API tokens in a file store from the shell, the way a web app's
//! "Settings > API tokens" page does.
//!
//! ```text
//! cargo run --example tokenctl -- [--store PATH] [--key-file PATH] [--prefix P] <command>
//! ```
//!
//! - `create` prints the new token alone on stdout, so `TOKEN=$(tokenctl create ...)`
//!   works; its id, name and expiry go to stderr. The token is never shown again.
//! - `list`, `show`, `verify` and errors never print a token, a secret or a hash.
//! - Expiry: `never`, a length such as `90m`, `12h`, `30d` or `2w`, an instant such as
//!   `2027-01-31T12:00:00Z`, or a bare date such as `2027-01-31`, which means "through the
//!   end of that day in UTC" (the token expires at the following midnight UTC).
//! - The hashing key is read from `--key-file`, else from `API_TOKENS_KEY`, else from the
//!   file beside the store named like it with the extension `.key`; all hold the key in
//!   base64. When none exists and the store has no tokens yet, `create` makes that file
//!   with 32 random bytes, readable by its owner only, and says so on stderr.
//! - Exit status: 0 on success, 1 when `verify` rejects a token or no token has the given
//!   id, 2 for usage errors, 3 for store errors (unreadable, corrupt, locked); each error
//!   is one line on stderr that names the file involved.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::{self, OpenOptions};
use std::io::{self, BufRead, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use api_tokens::{
    FileStore, HashingKey, Lifetime, ManageError, NewToken, Prefix, StoreError, TokenId, TokenInfo,
    TokenManager, TokenUpdate, VerifyError,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use clap::{Parser, Subcommand};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::{Date, Duration, OffsetDateTime, Time};
use zeroize::Zeroizing;

/// The environment variable that may hold the hashing key, in base64.
const KEY_VARIABLE: &str = "API_TOKENS_KEY";

/// The most bytes read as a token from stdin, or from a key file.
const INPUT_LIMIT: u64 = 4096;

/// Manage the API tokens in a file store.
#[derive(Parser, Debug)]
#[command(name = "tokenctl", version, after_help = AFTER_HELP)]
struct Cli {
    /// The token store file.
    #[arg(
        long,
        global = true,
        value_name = "PATH",
        default_value = "tokens.store"
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
Exit status: 0 success, 1 token rejected or unknown id, 2 usage error, 3 store error.";

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
}

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
        Command::Create { .. } | Command::Rotate { .. } | Command::Verify { .. }
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
        Command::List { owner, json } => {
            let tokens = manager
                .list(owner.as_deref())
                .map_err(|e| Failure::manage(&e))?;
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
    }
    Ok(())
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

/// Where the key file is looked for when none is named.
fn key_path_beside(store: &Path) -> PathBuf {
    let path = store.with_extension("key");
    if path == store {
        let mut name = store.as_os_str().to_owned();
        name.push(".key");
        PathBuf::from(name)
    } else {
        path
    }
}

/// The hashing key from `--key-file`, the environment or the file beside the store; when
/// `may_create` and none exists, a new key file (unless the store already has tokens,
/// which a new key could not verify).
fn find_key(cli: &Cli, store: &FileStore, may_create: bool) -> Result<Option<HashingKey>, Failure> {
    if cli.key_file.is_none()
        && let Some(encoded) = std::env::var_os(KEY_VARIABLE)
    {
        let encoded = Zeroizing::new(encoded.to_string_lossy().into_owned());
        return decode_key(&encoded, KEY_VARIABLE).map(Some);
    }

    let path = cli
        .key_file
        .clone()
        .unwrap_or_else(|| key_path_beside(&cli.store));
    match read_limited(&path) {
        Ok(encoded) => {
            warn_if_shared(&path);
            decode_key(&encoded, &path.display().to_string()).map(Some)
        }
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            if !may_create {
                return match &cli.key_file {
                    Some(_) => Err(Failure::Usage(format!("no key file at {}", path.display()))),
                    None => Ok(None),
                };
            }
            if !store.is_empty() {
                return Err(Failure::Usage(format!(
                    "no hashing key at {} (nor in {KEY_VARIABLE}), and the store {} already \
                     holds tokens that a new key could not verify",
                    path.display(),
                    cli.store.display()
                )));
            }
            create_key_file(&path).map(Some)
        }
        Err(error) => Err(Failure::Store(format!(
            "cannot read the key file {}: {error}",
            path.display()
        ))),
    }
}

fn decode_key(encoded: &str, source: &str) -> Result<HashingKey, Failure> {
    let bytes = Zeroizing::new(
        BASE64
            .decode(encoded.trim())
            .map_err(|_| Failure::Usage(format!("the key in {source} is not valid base64")))?,
    );
    HashingKey::new(&bytes).map_err(|error| Failure::Usage(format!("the key in {source}: {error}")))
}

fn read_limited(path: &Path) -> io::Result<Zeroizing<String>> {
    let mut text = Zeroizing::new(String::new());
    fs::File::open(path)?
        .take(INPUT_LIMIT)
        .read_to_string(&mut text)?;
    Ok(text)
}

#[cfg(unix)]
fn warn_if_shared(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        eprintln!(
            "tokenctl: warning: the key file {} can be read by other users",
            path.display()
        );
    }
}

#[cfg(not(unix))]
fn warn_if_shared(_path: &Path) {}

/// Writes a new random key to `path`, readable by its owner only. The file appears complete
/// or not at all; if another process made one first, that one is used.
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
        let encoded = read_limited(path).map_err(failed)?;
        return decode_key(&encoded, &path.display().to_string());
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

fn instant_text(at: OffsetDateTime) -> String {
    let whole = at.replace_nanosecond(0).unwrap_or(at);
    whole.format(&Rfc3339).unwrap_or_else(|_| at.to_string())
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

/// The JSON form of a token in `list --json` and `show --json`: the table's fields, with
/// `null` for "never".
#[derive(Serialize)]
struct TokenJson<'a> {
    id: &'a str,
    name: &'a str,
    owner: Option<&'a str>,
    scopes: &'a [String],
    metadata: &'a BTreeMap<String, String>,
    created_at: String,
    expires_at: Option<String>,
    last_used_at: Option<String>,
}

impl<'a> From<&'a TokenInfo> for TokenJson<'a> {
    fn from(info: &'a TokenInfo) -> Self {
        Self {
            id: info.id.as_str(),
            name: &info.name,
            owner: info.owner.as_deref(),
            scopes: &info.scopes,
            metadata: &info.metadata,
            created_at: instant_text(info.created_at),
            expires_at: info.expires.instant().map(instant_text),
            last_used_at: info.last_used_at.map(instant_text),
        }
    }
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

/// `90s`, `90m`, `12h`, `30d`, `2w` or `0`.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let invalid = || format!("`{text}` is not a duration such as 90m, 12h, 30d or 2w");
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let split = text.len().saturating_sub(1);
    let (number, unit) = text.split_at_checked(split).ok_or_else(invalid)?;
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    let count: i64 = number.parse().map_err(|_| invalid())?;
    let seconds_per = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(invalid()),
    };
    let seconds = count
        .checked_mul(seconds_per)
        .ok_or_else(|| format!("`{text}` is too long"))?;
    Ok(Duration::seconds(seconds))
}

/// `never`, a duration, an RFC 3339 instant, or a date meaning the end of that day in UTC.
fn parse_expiry(text: &str) -> Result<Lifetime, String> {
    if text == "never" {
        return Ok(Lifetime::Never);
    }
    if let Ok(at) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(Lifetime::Until(at));
    }
    let date_format = time::macros::format_description!("[year]-[month]-[day]");
    if let Ok(date) = Date::parse(text, &date_format) {
        // Valid through the whole of that day: it expires at the next midnight, UTC.
        let next = date
            .next_day()
            .ok_or_else(|| format!("`{text}` is too far ahead"))?;
        return Ok(Lifetime::Until(next.with_time(Time::MIDNIGHT).assume_utc()));
    }
    parse_duration(text).map(Lifetime::For).map_err(|_| {
        format!(
            "`{text}` is not an expiry: use never, 30d, 12h, 90m, 2027-01-31 or \
             2027-01-31T12:00:00Z"
        )
    })
}
