//! Errors, one enum per layer. None of them carries token text, a secret, a hash or a key.

use std::io;
use std::path::PathBuf;

use crate::id::TokenId;

/// Why a manager could not be built.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// The prefix is not 1 to 20 lowercase ASCII letters, digits and inner underscores.
    #[error("token prefix must be 1 to 20 lowercase ascii letters, digits and inner underscores")]
    InvalidPrefix,
    /// A hashing key is shorter than 32 bytes.
    #[error("hashing key must be at least 32 bytes")]
    KeyTooShort,
    /// Two hashing keys given to one manager have the same id.
    #[error("the same hashing key was given twice")]
    DuplicateKey,
    /// The interval between last-use writes is negative.
    #[error("last-use resolution must not be negative")]
    NegativeResolution,
    /// The maximum lifetime is zero or negative.
    #[error("maximum token lifetime must be positive")]
    NonPositiveMaxLifetime,
    /// The system's secure random generator failed.
    #[error("the system random generator failed")]
    Random,
}

/// Why a presented text is not a well-formed token. Found without looking anything up.
#[derive(Clone, Copy, Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum Malformed {
    /// The text is not as long as a token of this format.
    #[error("malformed token: wrong length")]
    Length,
    /// The text does not start with this service's prefix and an underscore.
    #[error("malformed token: wrong prefix")]
    Prefix,
    /// A character outside `[0-9A-Za-z]` is in the body.
    #[error("malformed token: character outside the alphabet")]
    Character,
    /// The checksum does not match: a typo, or not a token at all.
    #[error("malformed token: checksum mismatch")]
    Checksum,
    /// An `Authorization` header value is not `Bearer <token>`.
    #[error("malformed authorization header: expected the bearer scheme")]
    Header,
}

/// Why the text attached to a token, or its requested lifetime, was refused.
#[derive(Clone, Copy, Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidInput {
    /// The trimmed name is empty or longer than 100 characters.
    #[error("name must be 1 to 100 characters after trimming")]
    NameLength,
    /// The name holds control, bidirectional-override or zero-width characters, or has no
    /// character that shows.
    #[error(
        "name must show at least one character and hold no control, bidirectional-override or invisible ones"
    )]
    NameCharacters,
    /// The owner breaks the owner rules.
    #[error("owner must be 1 to 256 characters without control characters or surrounding spaces")]
    Owner,
    /// A scope breaks the scope rules.
    #[error("scope must be 1 to 64 ascii letters, digits or `:._-/`, or `*`")]
    Scope,
    /// More than 64 scopes.
    #[error("a token may carry at most 64 scopes")]
    TooManyScopes,
    /// A metadata key or value breaks the metadata rules.
    #[error(
        "metadata keys must be 1 to 64 ascii letters, digits or `._-`, values at most 1024 characters without control characters"
    )]
    Metadata,
    /// More than 32 metadata entries.
    #[error("a token may carry at most 32 metadata entries")]
    TooManyMetadataEntries,
    /// The requested expiry is now or already past.
    #[error("expiry must be in the future")]
    ExpiryNotInFuture,
    /// The requested expiry is later than the configured maximum lifetime allows.
    #[error("expiry is beyond the maximum token lifetime")]
    ExpiryBeyondMaxLifetime,
    /// The requested expiry cannot be stored and read back.
    #[error("expiry is outside the supported range of instants")]
    ExpiryOutOfRange,
    /// The clock reads an instant a record cannot hold.
    #[error("the clock reads an instant outside the supported range")]
    ClockOutOfRange,
    /// A rotation grace period is negative.
    #[error("grace period must not be negative")]
    NegativeGrace,
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A record with this id is already stored.
    #[error("a token with id {0} already exists")]
    Duplicate(TokenId),
    /// No record has this id.
    #[error("no token with id {0}")]
    NotFound(TokenId),
    /// Reading or writing the store's file failed.
    #[error("i/o error on {path}", path = path.display())]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The store's file cannot be read as a token store; it has been left untouched.
    #[error("corrupt token store {path} at byte {offset}: {reason}", path = path.display())]
    Corrupt {
        /// The file involved.
        path: PathBuf,
        /// The byte offset where reading failed.
        offset: u64,
        /// What was wrong there.
        reason: String,
    },
    /// The store's file was written in a later format version than this library reads; it
    /// has been left untouched.
    #[error(
        "token store {path} has format version {version}, newer than this library reads",
        path = path.display()
    )]
    UnsupportedVersion {
        /// The file involved.
        path: PathBuf,
        /// The version the file declares.
        version: u32,
    },
    /// Another process held the store's lock for longer than the configured timeout.
    #[error("token store {path} is locked by another writer", path = path.display())]
    Locked {
        /// The file involved.
        path: PathBuf,
    },
    /// The store's file was created for tokens of another prefix.
    #[error(
        "token store {path} was created for prefix `{stored}`, not `{requested}`",
        path = path.display()
    )]
    PrefixMismatch {
        /// The file involved.
        path: PathBuf,
        /// The prefix recorded in the file.
        stored: String,
        /// The prefix it was opened with.
        requested: String,
    },
    /// A store backed by some other system failed.
    #[error("token store backend failed")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Why a presented token was not accepted.
///
/// An unknown id and a wrong secret are both [`Invalid`](Self::Invalid), so a caller cannot
/// tell them apart; [`Expired`](Self::Expired) is only returned once the secret matched.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The text is not a well-formed token.
    #[error(transparent)]
    Malformed(#[from] Malformed),
    /// No token matches: unknown id, wrong secret or deleted token.
    #[error("invalid token")]
    Invalid,
    /// The token is genuine but expired.
    #[error("token expired")]
    Expired,
    /// The store could not be read.
    #[error("token store failed")]
    Store(#[source] StoreError),
}

/// Why creating, changing, listing or deleting tokens failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManageError {
    /// Input was refused.
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    /// No token has this id.
    #[error("no token with id {0}")]
    NotFound(TokenId),
    /// The store failed.
    #[error("token store failed")]
    Store(#[source] StoreError),
    /// The system's secure random generator failed.
    #[error("the system random generator failed")]
    Random,
}

impl From<StoreError> for ManageError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound(id) => Self::NotFound(id),
            other => Self::Store(other),
        }
    }
}

/// A verified token lacks the scope an operation requires.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("token lacks the required scope {scope:?}")]
pub struct MissingScope {
    /// The scope that was required.
    pub scope: String,
}
