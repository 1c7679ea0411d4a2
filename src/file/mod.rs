//! A store that keeps records in one file, shared safely by several processes.

mod compact;
mod disk;
mod format;
mod io;
mod lock;
mod log;
mod options;
mod periodic;
mod shared;
#[cfg(test)]
mod testing;

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use self::disk::{Disk, io_error};
use self::log::Op;
use self::periodic::Periodic;
use self::shared::Shared;
use crate::error::StoreError;
use crate::format::Prefix;
use crate::id::TokenId;
use crate::memory::MemoryStore;
use crate::record::TokenRecord;
use crate::store::{TokenStore, id_changed};

pub use self::options::{
    DEFAULT_COMPACT_AFTER, DEFAULT_LOCK_TIMEOUT, DEFAULT_REFRESH_INTERVAL, FileStoreOptions,
};

/// Keeps token records in a file: durable, crash-safe, and shared by every process that
/// opens the same path (a service and an admin tool, say).
///
/// The file is an append-only log of checksummed changes behind a header whose commit slot
/// names how much of the log is committed; the README describes the format. Only records
/// are stored, with the HMAC of each secret, never a secret.
///
/// # Reads
///
/// All records are held in memory, so lookups cost what a [`MemoryStore`] lookup does and
/// verifies never wait for a disk write. Changes made by other processes are read:
/// - before answering that an id is unknown, so a token created elsewhere verifies at once;
/// - on the first lookup after each [refresh interval](FileStoreOptions::refresh_interval),
///   which a timer thread of the store marks (a lookup only reads a flag: no clock, no
///   system call), so a token deleted or changed elsewhere stops verifying within that
///   interval;
/// - before every write, and by [`list`](TokenStore::list) and [`refresh`](Self::refresh).
///
/// If such a check fails (the file became unreadable or damaged), the lookup reports the
/// error rather than go on serving records that may be stale.
///
/// # Writes
///
/// Each insert, update, removal and purge takes the file's exclusive lock, reads what
/// others committed, appends its change, syncs it, commits it in the header, syncs that,
/// and only then returns: a change that returned `Ok` survives a crash or a power cut.
/// A crash at any moment leaves a file that opens with every change that had returned, and
/// none half-applied. The cost of a change does not grow with the number of records; the
/// log is rewritten compactly, under a new name swapped in atomically, once it has grown
/// [well past](FileStoreOptions::compact_after) its live records.
///
/// # Last-use times
///
/// [`record_use`](TokenStore::record_use) only changes memory. The times are written in
/// batches: with the next change, by [`flush`](Self::flush), when the store is dropped, and
/// on a timer if [`flush_interval`](FileStoreOptions::flush_interval) is set. A crash loses
/// the times noted since the last of these; nothing else is lost.
///
/// A record's last-use time only moves forward. Processes write their batches of times in
/// whatever order their flushes come, so the file keeps the latest time it holds for each
/// record, and the store ignores an earlier one (from a clock stepped back, say) as the file
/// would: every process, and this one after a reopen, sees the same time.
///
/// # Damaged files
///
/// A file that is not a token store, is truncated, fails a checksum or has a later format
/// version is reported with its path and the byte offset at fault, and is never modified.
///
/// # Examples
///
/// ```
/// use api_tokens::{FileStore, HashingKey, Lifetime, NewToken, Prefix, TokenManager};
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("tokens.store");
/// let key_bytes = HashingKey::generate_bytes()?;
///
/// let store = FileStore::options().prefix(Prefix::new("acme")?).open(&path)?;
/// let manager = TokenManager::builder(store, HashingKey::new(&key_bytes[..])?, "acme").build()?;
/// let created = manager.create(NewToken::new("deploy", Lifetime::Never))?;
/// drop(manager);
///
/// // Another process, or a restart, sees the same tokens.
/// let store = FileStore::open(&path)?;
/// let manager = TokenManager::builder(store, HashingKey::new(&key_bytes[..])?, "acme").build()?;
/// assert_eq!(manager.verify(created.token().expose_secret())?.name(), "deploy");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct FileStore {
    shared: Arc<Shared>,
    prefix: Option<Prefix>,
    // Marks the file due for a check every refresh interval; only kept, never read.
    _ticker: Periodic,
    // Writes last-use times on a timer, if asked to.
    flusher: Option<Periodic>,
}

impl FileStore {
    /// Opens the store at `path` with default options, creating it if it is missing.
    ///
    /// # Errors
    ///
    /// As [`FileStoreOptions::open`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        FileStoreOptions::default().open(path)
    }

    /// Starts configuring how a store is opened.
    pub fn options() -> FileStoreOptions {
        FileStoreOptions::default()
    }

    fn open_with(path: &Path, options: FileStoreOptions) -> Result<Self, StoreError> {
        // Later steps rename files beside this path and reopen it, so it must not change
        // meaning when the working directory does.
        let mut path = std::path::absolute(path).map_err(|error| io_error(path, error))?;
        let mut attempts = 0;
        let file = loop {
            attempts += 1;
            match io::open_rw(&path) {
                Ok(file) => break file,
                // A second miss after a link that found the name taken means a dangling
                // symbolic link or a name that keeps vanishing: give up.
                Err(error)
                    if error.kind() == std::io::ErrorKind::NotFound
                        && options.create
                        && attempts <= 2 =>
                {
                    let written = compact::write_file(
                        &path,
                        options.prefix.as_ref(),
                        &[],
                        compact::NEW_SUFFIX,
                    )?;
                    drop(written.file);
                    // If another process created the store meanwhile, this opens theirs.
                    io::link_into_place(&written.temp, &path)
                        .map_err(|error| io_error(&path, error))?;
                }
                Err(error) => return Err(io_error(&path, error)),
            }
        };
        // Compaction replaces the file at the path; through a symbolic link it would
        // replace the link and leave the real file behind, so work on the real file.
        if path.is_symlink() {
            path = std::fs::canonicalize(&path).map_err(|error| io_error(&path, error))?;
        }
        let path = path.as_path();

        let loaded = Disk::load(file, path, options.lock_timeout)?;
        let prefix = loaded.disk.header.prefix.clone();
        if let (Some(stored), Some(requested)) = (&prefix, &options.prefix)
            && stored != requested
        {
            return Err(StoreError::PrefixMismatch {
                path: path.to_owned(),
                stored: stored.to_string(),
                requested: requested.to_string(),
            });
        }

        let memory = MemoryStore::new();
        loaded.replay.apply_to(&memory);
        let flush_interval = options.flush_interval;
        let shared = Arc::new(Shared::new(path.to_owned(), options, loaded.disk, memory));
        // Ticking twice per interval keeps the promise even when a tick comes late: a change
        // made anywhere in between is read within one interval, with half of it to spare.
        // A tick of at least a millisecond keeps a zero interval from spinning the thread.
        let tick = (shared.options.refresh_interval / 2).max(Duration::from_millis(1));
        let ticker = Periodic::start(&shared, tick, "api-tokens-refresh", |shared| {
            shared.mark_check_due();
        })
        .map_err(|error| io_error(path, error))?;
        let flusher = match flush_interval {
            Some(every) => Some(
                Periodic::start(&shared, every, "api-tokens-flush", |shared| {
                    // A failure leaves the times pending; the next flush tries again, and
                    // changes and explicit flushes report it.
                    let _ = shared.flush();
                })
                .map_err(|error| io_error(path, error))?,
            ),
            None => None,
        };
        Ok(Self {
            shared,
            prefix,
            _ticker: ticker,
            flusher,
        })
    }

    /// The path the store was opened at.
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// The token prefix recorded when the file was created, if one was given then.
    pub fn prefix(&self) -> Option<&Prefix> {
        self.prefix.as_ref()
    }

    /// How many records the store holds, as of the last check for changes.
    pub fn len(&self) -> usize {
        self.shared.memory.len()
    }

    /// Whether the store held no records at the last check for changes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Reads changes made by other processes now, whatever the refresh interval.
    ///
    /// # Errors
    ///
    /// [`StoreError::Io`] if the file cannot be read, [`StoreError::Corrupt`] if what was
    /// added to it is damaged (memory then keeps the last good state),
    /// [`StoreError::UnsupportedVersion`] if it was replaced by a later format,
    /// [`StoreError::Locked`] if a check that needed the lock timed out.
    pub fn refresh(&self) -> Result<(), StoreError> {
        self.shared.check_now()
    }

    /// Writes pending last-use times now, if there are any.
    ///
    /// # Errors
    ///
    /// As [`refresh`](Self::refresh), and [`StoreError::Io`] if the write fails; the times
    /// stay pending then.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.shared.flush()
    }

    /// Rewrites the file with only the live records, under a temporary name in the same
    /// directory that then replaces it. Other processes notice and read the new file.
    ///
    /// # Errors
    ///
    /// As [`refresh`](Self::refresh), and [`StoreError::Io`] if writing, renaming or
    /// syncing fails; the current file stays in use then.
    pub fn compact(&self) -> Result<(), StoreError> {
        self.shared.compact()
    }
}

impl fmt::Debug for FileStore {
    // The path and the size: records hold hashes, which have no place in logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileStore")
            .field("path", &self.shared.path)
            .field("prefix", &self.prefix)
            .field("records", &self.len())
            .finish_non_exhaustive()
    }
}

impl Drop for FileStore {
    fn drop(&mut self) {
        drop(self.flusher.take());
        // Nothing can report a failure here; the times noted since the last write are
        // what a crash would lose too.
        let _ = self.shared.flush();
    }
}

impl TokenStore for FileStore {
    /// Adds a record; durable when this returns `Ok`.
    fn insert(&self, record: TokenRecord) -> Result<(), StoreError> {
        self.shared.commit(|memory| {
            if memory.get(record.id())?.is_some() {
                return Err(StoreError::Duplicate(*record.id()));
            }
            Ok((vec![Op::Insert(record)], ()))
        })
    }

    fn get(&self, id: &TokenId) -> Result<Option<Arc<TokenRecord>>, StoreError> {
        self.shared.get(id)
    }

    /// Lists records after reading changes made by other processes.
    fn list(&self, owner: Option<&str>) -> Result<Vec<Arc<TokenRecord>>, StoreError> {
        self.shared.check_now()?;
        self.shared.memory.list(owner)
    }

    /// Changes a record as it is on disk, read under the file's lock; durable when this
    /// returns `Ok`.
    fn update(
        &self,
        id: &TokenId,
        change: &mut dyn FnMut(&mut TokenRecord),
    ) -> Result<Arc<TokenRecord>, StoreError> {
        self.shared.commit(|memory| {
            let stored = memory.get(id)?.ok_or(StoreError::NotFound(*id))?;
            let mut record = TokenRecord::clone(&stored);
            change(&mut record);
            if record.id() != id {
                return Err(id_changed(id));
            }
            Ok((vec![Op::Update(record.clone())], Arc::new(record)))
        })
    }

    /// Removes a record; durable when this returns `Ok`.
    fn remove(&self, id: &TokenId) -> Result<(), StoreError> {
        self.shared.commit(|memory| {
            if memory.get(id)?.is_none() {
                return Err(StoreError::NotFound(*id));
            }
            Ok((vec![Op::Remove(*id)], ()))
        })
    }

    /// Notes the time in memory only, unless the record holds a later one; see
    /// [Last-use times](FileStore#last-use-times).
    fn record_use(&self, id: &TokenId, at: OffsetDateTime) -> Result<(), StoreError> {
        self.shared.note_use(id, at);
        Ok(())
    }

    /// Removes every expired record in one commit.
    fn purge_expired(&self, now: OffsetDateTime) -> Result<Vec<TokenId>, StoreError> {
        self.shared.commit(|memory| {
            let expired: Vec<TokenId> = memory
                .list(None)?
                .iter()
                .filter(|record| record.expires().is_expired_at(now))
                .map(|record| *record.id())
                .collect();
            let ops = expired.iter().map(|id| Op::Remove(*id)).collect();
            Ok((ops, expired))
        })
    }
}
