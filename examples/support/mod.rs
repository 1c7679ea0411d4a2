//! What `tokenctl` and `http_service` share, so that both find a store's hashing key, read
//! an expiry and describe a token in JSON by the same rules.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use api_tokens::{HashingKey, Lifetime, TokenInfo};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::{Date, Duration, OffsetDateTime, Time};
use zeroize::Zeroizing;

/// The store used when none is named.
pub const DEFAULT_STORE: &str = "tokens.store";

/// The environment variable that may hold the hashing key, in base64.
pub const KEY_VARIABLE: &str = "API_TOKENS_KEY";

/// The most bytes read as a token from stdin, or from a key file.
pub const INPUT_LIMIT: u64 = 4096;

/// Where the hashing key was looked for, and what was there.
pub enum KeyLookup {
    /// A key, from the first place that had one.
    Found(HashingKey),
    /// No key: neither the environment nor the file at `path` holds one. `named` tells
    /// whether that path was given with `--key-file` or is the default beside the store.
    Missing { path: PathBuf, named: bool },
}

/// Why a key could not be had.
pub enum KeyError {
    /// The key is there but not a valid key: a usage error.
    Invalid(String),
    /// The key file exists but cannot be read.
    Unreadable(String),
}

/// Looks for the hashing key: in the file `key_file` names, else in the environment
/// variable [`KEY_VARIABLE`], else in the file beside the store with the extension `.key`.
/// Each holds the key in base64.
pub fn find_key(key_file: Option<&Path>, store: &Path) -> Result<KeyLookup, KeyError> {
    if key_file.is_none()
        && let Some(encoded) = std::env::var_os(KEY_VARIABLE)
    {
        let encoded = Zeroizing::new(encoded.to_string_lossy().into_owned());
        return decode_key(&encoded, KEY_VARIABLE).map(KeyLookup::Found);
    }

    let path = key_file.map_or_else(|| key_path_beside(store), Path::to_owned);
    match read_limited(&path) {
        Ok(encoded) => {
            warn_if_shared(&path);
            decode_key(&encoded, &path.display().to_string()).map(KeyLookup::Found)
        }
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(KeyLookup::Missing {
            path,
            named: key_file.is_some(),
        }),
        Err(error) => Err(KeyError::Unreadable(format!(
            "cannot read the key file {}: {error}",
            path.display()
        ))),
    }
}

/// Where the key file is looked for when none is named.
pub fn key_path_beside(store: &Path) -> PathBuf {
    let path = store.with_extension("key");
    if path == store {
        let mut name = store.as_os_str().to_owned();
        name.push(".key");
        PathBuf::from(name)
    } else {
        path
    }
}

/// Decodes a key given in base64 by `source`.
pub fn decode_key(encoded: &str, source: &str) -> Result<HashingKey, KeyError> {
    let bytes = Zeroizing::new(
        BASE64
            .decode(encoded.trim())
            .map_err(|_| KeyError::Invalid(format!("the key in {source} is not valid base64")))?,
    );
    HashingKey::new(&bytes)
        .map_err(|error| KeyError::Invalid(format!("the key in {source}: {error}")))
}

/// Reads a small file, at most [`INPUT_LIMIT`] bytes of it.
pub fn read_limited(path: &Path) -> io::Result<Zeroizing<String>> {
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
            "{}: warning: the key file {} can be read by other users",
            env!("CARGO_BIN_NAME"),
            path.display()
        );
    }
}

#[cfg(not(unix))]
fn warn_if_shared(_path: &Path) {}

/// `90s`, `90m`, `12h`, `30d`, `2w` or `0`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
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
pub fn parse_expiry(text: &str) -> Result<Lifetime, String> {
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

/// An instant in RFC 3339, to the second.
pub fn instant_text(at: OffsetDateTime) -> String {
    let whole = at.replace_nanosecond(0).unwrap_or(at);
    whole.format(&Rfc3339).unwrap_or_else(|_| at.to_string())
}

/// The JSON form of a token in `tokenctl list --json`, `tokenctl show --json` and the
/// service's listing: the table's fields, with `null` for "never".
#[derive(Serialize)]
pub struct TokenJson<'a> {
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
