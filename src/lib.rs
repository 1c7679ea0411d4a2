//! API tokens for Rust services: the kind a web app lists on its "Settings > API tokens"
//! page.
//!
//! A person or a service creates a token with a name and an expiry (or none), sees the
//! secret exactly once, later sees it listed by name with its dates, and deletes it. The
//! service verifies every presented token on its request path.
//!
//! - [`TokenManager`] mints, verifies, lists, updates, rotates and deletes tokens.
//! - [`TokenStore`] is where records live: [`MemoryStore`], [`FileStore`] (one file, shared
//!   by processes, crash-safe), or one of your own.
//! - Only an HMAC-SHA-256 of each secret is stored, under a [`HashingKey`] the service
//!   keeps apart from the store.
//!
//! # The whole lifecycle
//!
//! ```
//! use api_tokens::{HashingKey, Lifetime, MemoryStore, NewToken, TokenManager, VerifyError};
//! use time::Duration;
//!
//! // At start-up: one manager for the whole service.
//! let key = HashingKey::new(&HashingKey::generate_bytes()?[..])?;
//! let manager = TokenManager::builder(MemoryStore::new(), key, "acme").build()?;
//!
//! // "Generate new token": the plaintext is shown once and never stored.
//! let created = manager.create(
//!     NewToken::new("CI deploy", Lifetime::For(Duration::days(30))).scope("repo:write"),
//! )?;
//! let token = created.token().expose_secret().to_owned();
//!
//! // On every request.
//! let verified = manager.verify(&token)?;
//! verified.require_scope("repo:write")?;
//!
//! // The settings page lists tokens without their secrets, and deletes them.
//! let listed = manager.list(None)?;
//! assert_eq!(listed[0].name, "CI deploy");
//! manager.delete(verified.id())?;
//! assert!(matches!(manager.verify(&token), Err(VerifyError::Invalid)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Token format
//!
//! `<prefix>_<body>`, where the body is 66 characters of `[0-9A-Za-z]`: a 17-character
//! public id, a 43-character secret and a 6-character CRC-32 checksum. See [`TOKEN_REGEX`].

// Library code handles every failure; tests, examples and benches may unwrap freely.
#![warn(clippy::unwrap_used)]

mod error;
mod expiry;
#[cfg(any(unix, windows))]
mod file;
mod format;
mod id;
mod manager;
mod memory;
mod record;
mod request;
mod scan;
mod secret;
mod store;
pub mod validate;
mod verified;

pub use error::{
    ConfigError, InvalidInput, Malformed, ManageError, MissingScope, StoreError, VerifyError,
};
pub use expiry::{
    Clock, EARLIEST_INSTANT, Expiry, LATEST_INSTANT, Lifetime, ManualClock, SystemClock,
};
#[cfg(any(unix, windows))]
pub use file::{
    DEFAULT_COMPACT_AFTER, DEFAULT_LOCK_TIMEOUT, DEFAULT_REFRESH_INTERVAL, FileStore,
    FileStoreOptions,
};
pub use format::{
    BODY_LEN, MAX_PREFIX_LEN, MAX_TOKEN_LEN, Prefix, TOKEN_REGEX, TokenFormat, bearer_token,
};
pub use id::TokenId;
pub use manager::{DEFAULT_LAST_USED_RESOLUTION, TokenManager, TokenManagerBuilder};
pub use memory::MemoryStore;
pub use record::{RECORD_FORMAT_VERSION, TokenInfo, TokenRecord};
pub use request::{CreatedToken, NewToken, TokenUpdate};
pub use scan::{FoundToken, TokenScanner};
pub use secret::{HashingKey, KeyId, MIN_KEY_LEN, PlaintextToken, TokenHash};
pub use store::TokenStore;
pub use verified::VerifiedToken;
