//! How a [`FileStore`](super::FileStore) is opened and how it behaves.

use std::path::Path;
use std::time::Duration;

use super::FileStore;
use crate::error::StoreError;
use crate::format::Prefix;

/// How often a store looks for changes made by other processes, by default.
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(1);

/// How long a store waits for another process's lock on the file, by default.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(10);

/// How much the log grows before it is compacted, at least, by default.
pub const DEFAULT_COMPACT_AFTER: u64 = 1 << 20;

/// Options for opening a [`FileStore`]; made by [`FileStore::options`].
///
/// # Examples
///
/// ```no_run
/// use std::time::Duration;
/// use api_tokens::{FileStore, Prefix};
///
/// let store = FileStore::options()
///     .prefix(Prefix::new("acme")?)
///     .refresh_interval(Duration::from_millis(500))
///     .flush_interval(Duration::from_secs(30))
///     .open("/var/lib/acme/tokens.store")?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct FileStoreOptions {
    pub(crate) create: bool,
    pub(crate) prefix: Option<Prefix>,
    pub(crate) refresh_interval: Duration,
    pub(crate) flush_interval: Option<Duration>,
    pub(crate) lock_timeout: Duration,
    pub(crate) compact_after: u64,
}

impl Default for FileStoreOptions {
    fn default() -> Self {
        Self {
            create: true,
            prefix: None,
            refresh_interval: DEFAULT_REFRESH_INTERVAL,
            flush_interval: None,
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
            compact_after: DEFAULT_COMPACT_AFTER,
        }
    }
}

impl FileStoreOptions {
    /// Whether a missing file is created (the default) or reported as an error.
    pub fn create(mut self, create: bool) -> Self {
        self.create = create;
        self
    }

    /// The token prefix to record in a new file; an existing file must have been created
    /// for the same prefix, if it records one.
    pub fn prefix(mut self, prefix: Prefix) -> Self {
        self.prefix = Some(prefix);
        self
    }

    /// How long a token found in memory may be served before the file is checked for
    /// changes by other processes (default [`DEFAULT_REFRESH_INTERVAL`]). This bounds how
    /// long a token deleted elsewhere keeps verifying here. A token that is not found in
    /// memory makes the store check the file at once, whatever this interval. Intervals
    /// below two milliseconds act as two milliseconds.
    pub fn refresh_interval(mut self, interval: Duration) -> Self {
        self.refresh_interval = interval;
        self
    }

    /// Writes pending last-use times on a background thread every `interval`. Without it
    /// (the default) they are written with the next change, by [`FileStore::flush`] and
    /// when the store is dropped.
    pub fn flush_interval(mut self, interval: Duration) -> Self {
        self.flush_interval = Some(interval);
        self
    }

    /// How long to wait for another process that holds the file's lock before giving up
    /// with [`StoreError::Locked`] (default [`DEFAULT_LOCK_TIMEOUT`]). Only writes, and
    /// reads that saw a write in progress, take the lock.
    pub fn lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// Compacts the log once it has grown by this many bytes since the file was last
    /// written whole, and by at least as much as the live records took then (default
    /// [`DEFAULT_COMPACT_AFTER`]). `u64::MAX` turns compaction after writes off;
    /// [`FileStore::compact`] still works.
    pub fn compact_after(mut self, bytes: u64) -> Self {
        self.compact_after = bytes;
        self
    }

    /// Opens the store at `path`, creating it if it is missing and creation is on.
    ///
    /// A new file is written whole under a temporary name in the same directory, synced,
    /// and then given its name, so no process ever sees a half-made store.
    ///
    /// # Errors
    ///
    /// - [`StoreError::Io`] if the file cannot be read, or created (the parent directory
    ///   must exist), or if it is missing and creation is off.
    /// - [`StoreError::Corrupt`] if the file is not a token store, or is truncated or
    ///   damaged; the error names the byte where reading failed.
    /// - [`StoreError::UnsupportedVersion`] if the file was written by a later format.
    /// - [`StoreError::PrefixMismatch`] if the file was created for another prefix.
    /// - [`StoreError::Locked`] if a check that needs the lock timed out.
    ///
    /// A file that fails to open is left exactly as it was.
    pub fn open(self, path: impl AsRef<Path>) -> Result<FileStore, StoreError> {
        FileStore::open_with(path.as_ref(), self)
    }
}
