//! The command line: options, commands and their value parsers.

use super::*;

/// Manage the API tokens in a file store.
#[derive(Parser, Debug)]
#[command(name = "tokenctl", version, after_help = AFTER_HELP)]
pub(crate) struct Cli {
    /// The token store file.
    #[arg(
        long,
        global = true,
        value_name = "PATH",
        default_value = DEFAULT_STORE
    )]
    pub(crate) store: PathBuf,

    /// A file holding the hashing key in base64 [default: $API_TOKENS_KEY, else the store's
    /// path with the extension .key]
    #[arg(long, global = true, value_name = "PATH")]
    pub(crate) key_file: Option<PathBuf>,

    /// The token prefix [default: the one the store was created with; needed to create a
    /// store]
    #[arg(long, global = true, value_name = "P")]
    pub(crate) prefix: Option<String>,

    /// How long to wait for another process writing to the store.
    #[arg(long, global = true, value_name = "DURATION", default_value = "10s",
          value_parser = parse_duration)]
    pub(crate) lock_timeout: Duration,

    #[command(subcommand)]
    pub(crate) command: Command,
}

pub(crate) const AFTER_HELP: &str = "\
Expiry: never, a length (90m, 12h, 30d, 2w), an instant (2027-01-31T12:00:00Z), or a date
(2027-01-31: valid through the end of that day, UTC).
Exit status: 0 success, 1 token rejected, unknown id or live token found by scan, 2 usage
error or unreadable file, 3 store error.";

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
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

pub(crate) fn parse_id(text: &str) -> Result<TokenId, String> {
    text.parse()
        .map_err(|_| "a token id is 17 letters and digits, as `list` shows".to_owned())
}

pub(crate) fn parse_meta(text: &str) -> Result<(String, String), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| "expected KEY=VALUE".to_owned())?;
    Ok((key.to_owned(), value.to_owned()))
}
