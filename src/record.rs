//! What a store keeps for each token, and the listing view of it.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;

use crate::expiry::{Expiry, from_system_time, is_supported, to_system_time};
use crate::id::TokenId;
use crate::secret::{KeyId, TokenHash};
use crate::validate;

/// The version written into every serialised record. Reading a record of any other version
/// fails rather than guessing.
pub const RECORD_FORMAT_VERSION: u32 = 1;

/// Everything a store keeps about one token: its details and the HMAC of its secret.
///
/// The plaintext secret is never part of a record. `Debug` shows the hash as redacted; the
/// serialised form holds it in base64, because stores must persist it, and carries
/// [`RECORD_FORMAT_VERSION`].
#[derive(Clone, Debug)]
pub struct TokenRecord {
    id: TokenId,
    key_id: KeyId,
    hash: TokenHash,
    name: Box<str>,
    // Most tokens have no owner, scopes or metadata; one pointer stands for all three.
    details: Option<Box<Details>>,
    created_at: OffsetDateTime,
    expires: Expiry,
    // The verification path compares instants as `SystemTime`, which costs no calendar
    // arithmetic. The expiry is kept in both forms; the last-use time, which is coarse
    // anyway, only in this one.
    expires_system: Option<SystemTime>,
    last_used: Option<SystemTime>,
}

/// The optional parts of a record.
#[derive(Clone, Debug, Default)]
struct Details {
    owner: Option<String>,
    scopes: Vec<String>,
    metadata: BTreeMap<String, String>,
}

/// What [`TokenRecord::metadata`] lends out for a record without metadata.
static NO_METADATA: BTreeMap<String, String> = BTreeMap::new();

/// The parts of a new record the manager has already validated.
pub(crate) struct NewRecord {
    pub(crate) id: TokenId,
    pub(crate) name: String,
    pub(crate) owner: Option<String>,
    pub(crate) scopes: Vec<String>,
    pub(crate) metadata: BTreeMap<String, String>,
    pub(crate) created_at: OffsetDateTime,
    pub(crate) expires: Expiry,
    pub(crate) key_id: KeyId,
    pub(crate) hash: TokenHash,
}

impl TokenRecord {
    pub(crate) fn new(new: NewRecord) -> Self {
        let details = Details {
            owner: new.owner,
            scopes: new.scopes,
            metadata: new.metadata,
        };
        let has_details =
            details.owner.is_some() || !details.scopes.is_empty() || !details.metadata.is_empty();
        Self {
            id: new.id,
            key_id: new.key_id,
            hash: new.hash,
            name: new.name.into_boxed_str(),
            details: has_details.then(|| Box::new(details)),
            created_at: new.created_at,
            expires_system: new.expires.instant().map(to_system_time),
            expires: new.expires,
            last_used: None,
        }
    }

    /// The token's public id.
    pub fn id(&self) -> &TokenId {
        &self.id
    }

    /// The name its creator gave it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The user or service it belongs to, if one was named.
    pub fn owner(&self) -> Option<&str> {
        self.details.as_ref()?.owner.as_deref()
    }

    /// Its scopes, sorted, without duplicates.
    pub fn scopes(&self) -> &[String] {
        self.details.as_ref().map_or(&[], |details| &details.scopes)
    }

    /// Its metadata.
    pub fn metadata(&self) -> &BTreeMap<String, String> {
        self.details
            .as_ref()
            .map_or(&NO_METADATA, |details| &details.metadata)
    }

    /// When it was created.
    pub fn created_at(&self) -> OffsetDateTime {
        self.created_at
    }

    /// When it expires.
    pub fn expires(&self) -> Expiry {
        self.expires
    }

    /// When it was last verified, at the manager's last-use resolution.
    pub fn last_used_at(&self) -> Option<OffsetDateTime> {
        self.last_used.and_then(from_system_time)
    }

    /// The id of the hashing key its hash was made with.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The HMAC of its secret.
    pub fn hash(&self) -> &TokenHash {
        &self.hash
    }

    /// The listing view of this record: everything but the hash.
    pub fn info(&self) -> TokenInfo {
        TokenInfo {
            id: self.id,
            name: self.name.to_string(),
            owner: self.owner().map(str::to_owned),
            scopes: self.scopes().to_vec(),
            metadata: self.metadata().clone(),
            created_at: self.created_at,
            expires: self.expires,
            last_used_at: self.last_used_at(),
        }
    }

    /// Whether the token is expired at `now`: valid strictly before its expiry.
    pub(crate) fn is_expired_at_system(&self, now: SystemTime) -> bool {
        self.expires_system.is_some_and(|at| at <= now)
    }

    pub(crate) fn last_used_system(&self) -> Option<SystemTime> {
        self.last_used
    }

    pub(crate) fn set_name(&mut self, name: String) {
        self.name = name.into_boxed_str();
    }

    pub(crate) fn set_scopes(&mut self, scopes: Vec<String>) {
        match (&mut self.details, scopes.is_empty()) {
            (Some(details), _) => details.scopes = scopes,
            (None, true) => {}
            (None, false) => {
                self.details = Some(Box::new(Details {
                    scopes,
                    ..Details::default()
                }))
            }
        }
    }

    pub(crate) fn set_expires(&mut self, expires: Expiry) {
        self.expires = expires;
        self.expires_system = expires.instant().map(to_system_time);
    }

    pub(crate) fn set_hash(&mut self, key_id: KeyId, hash: TokenHash) {
        self.key_id = key_id;
        self.hash = hash;
    }

    /// Records a use at `at`. Public so that stores can apply last-use times they were
    /// handed through [`TokenStore::record_use`](crate::TokenStore::record_use).
    pub fn set_last_used_at(&mut self, at: OffsetDateTime) {
        self.last_used = Some(to_system_time(at));
    }
}

/// A token as a listing shows it: its details and dates, never its secret or hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct TokenInfo {
    /// The public id.
    pub id: TokenId,
    /// The name.
    pub name: String,
    /// The owner, if one was named.
    pub owner: Option<String>,
    /// The scopes, sorted.
    pub scopes: Vec<String>,
    /// The metadata.
    pub metadata: BTreeMap<String, String>,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it expires, or `Never`.
    pub expires: Expiry,
    /// When it was last verified, or `None` if never.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
}

/// The serialised shape of a record, borrowed for writing.
#[derive(Serialize)]
struct RecordOut<'a> {
    version: u32,
    id: &'a TokenId,
    name: &'a str,
    owner: Option<&'a str>,
    scopes: &'a [String],
    metadata: &'a BTreeMap<String, String>,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    expires: Expiry,
    #[serde(with = "time::serde::rfc3339::option")]
    last_used_at: Option<OffsetDateTime>,
    key_id: KeyId,
    hash: &'a TokenHash,
}

/// The serialised shape of a record, owned for reading.
#[derive(Deserialize)]
struct RecordIn {
    version: u32,
    id: TokenId,
    name: String,
    owner: Option<String>,
    scopes: Vec<String>,
    metadata: BTreeMap<String, String>,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    expires: Expiry,
    #[serde(with = "time::serde::rfc3339::option")]
    last_used_at: Option<OffsetDateTime>,
    key_id: KeyId,
    hash: TokenHash,
}

impl Serialize for TokenRecord {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        RecordOut {
            version: RECORD_FORMAT_VERSION,
            id: &self.id,
            name: &self.name,
            owner: self.owner(),
            scopes: self.scopes(),
            metadata: self.metadata(),
            created_at: self.created_at,
            expires: self.expires,
            last_used_at: self.last_used_at(),
            key_id: self.key_id,
            hash: &self.hash,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for TokenRecord {
    /// Reads a record and checks it against the same rules the manager applies on
    /// creation, so a store edited by hand cannot smuggle in what the API refuses.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;

        let raw = RecordIn::deserialize(deserializer)?;
        if raw.version != RECORD_FORMAT_VERSION {
            return Err(D::Error::custom(format_args!(
                "unsupported record format version {}",
                raw.version
            )));
        }

        let name = validate::name(&raw.name).map_err(D::Error::custom)?;
        if name != raw.name {
            return Err(D::Error::custom("name has surrounding white space"));
        }
        if let Some(owner) = &raw.owner {
            validate::owner(owner).map_err(D::Error::custom)?;
        }
        let scopes = validate::scopes(raw.scopes).map_err(D::Error::custom)?;
        validate::metadata(&raw.metadata).map_err(D::Error::custom)?;

        // A time outside the range could be read but not written back: a last-use time
        // of year 0 in an offset east of UTC, say, is year -1 once converted to UTC.
        let instants = [
            ("created_at", Some(raw.created_at)),
            ("expires", raw.expires.instant()),
            ("last_used_at", raw.last_used_at),
        ];
        for (field, at) in instants {
            if at.is_some_and(|at| !is_supported(at)) {
                return Err(D::Error::custom(format_args!(
                    "{field} is outside the supported range"
                )));
            }
        }

        let mut record = Self::new(NewRecord {
            id: raw.id,
            name,
            owner: raw.owner,
            scopes,
            metadata: raw.metadata,
            created_at: raw.created_at,
            expires: raw.expires,
            key_id: raw.key_id,
            hash: raw.hash,
        });
        if let Some(at) = raw.last_used_at {
            record.set_last_used_at(at);
        }
        Ok(record)
    }
}
