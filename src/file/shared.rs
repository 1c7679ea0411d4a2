//! The state one [`FileStore`](super::FileStore) shares between its threads, and the steps
//! every read and write goes through.
//!
//! Three locks, each held briefly and never one inside a disk sync:
//! - `disk`: the open file and how far it has been read; held while reading new entries
//!   and while writing a commit slot, never across a sync. Verifies only try it.
//! - `writer`: one commit of this process at a time; held across a whole commit.
//! - `pending`: last-use times not yet written.
//!
//! Between processes, the file's exclusive lock is held from reading the latest commit to
//! writing one's own.

use std::collections::HashMap;
use std::fs::{self, File};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};
use std::time::Instant;

use time::OffsetDateTime;

use super::compact::{self, COMPACT_SUFFIX};
use super::disk::{Disk, io_error};
use super::format::{self, Commit, HEADER_LEN};
use super::io::{copy_access, remove_leftovers, sync_dir, write_all_at};
use super::lock::{self, Kind, LockGuard};
use super::log::{EntryWriter, Op};
use super::options::FileStoreOptions;
use crate::error::StoreError;
use crate::id::TokenId;
use crate::memory::MemoryStore;
use crate::record::TokenRecord;
use crate::store::TokenStore;

pub(crate) struct Shared {
    pub(crate) path: PathBuf,
    pub(crate) options: FileStoreOptions,
    /// The records as of the last commit read, with this process's newest last-use times.
    pub(crate) memory: MemoryStore,
    disk: Mutex<Disk>,
    writer: Mutex<()>,
    pending: Mutex<HashMap<TokenId, OffsetDateTime>>,
    /// The origin of the nanosecond counts below.
    epoch: Instant,
    /// When the latest finished check for changes started.
    checked_at: AtomicU64,
    /// Set every refresh interval by a timer thread, cleared when a check starts. Lookups
    /// read only this flag, so they need neither a clock read nor a system call.
    check_due: AtomicBool,
}

// Poisoning only says that another thread panicked while holding a lock. The values below
// are only ever replaced whole, so they stay usable.
fn lock_of<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    pub(crate) fn new(
        path: PathBuf,
        options: FileStoreOptions,
        disk: Disk,
        memory: MemoryStore,
    ) -> Self {
        Self {
            path,
            options,
            memory,
            disk: Mutex::new(disk),
            writer: Mutex::new(()),
            pending: Mutex::new(HashMap::new()),
            epoch: Instant::now(),
            checked_at: AtomicU64::new(0),
            check_due: AtomicBool::new(false),
        }
    }

    fn now_nanos(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Asks the next lookup to check the file for changes.
    pub(crate) fn mark_check_due(&self) {
        self.check_due.store(true, Ordering::Release);
    }

    /// Looks a record up, checking the file first if a refresh interval has passed since
    /// the last check, and again before answering that there is none.
    pub(crate) fn get(&self, id: &TokenId) -> Result<Option<Arc<TokenRecord>>, StoreError> {
        if self.check_due.load(Ordering::Acquire) {
            // Only one thread checks; the others keep serving what is in memory rather
            // than wait for it.
            let disk = match self.disk.try_lock() {
                Ok(disk) => Some(disk),
                Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
                Err(TryLockError::WouldBlock) => None,
            };
            if let Some(mut disk) = disk {
                self.check(&mut disk, false)?;
            }
        }

        if let Some(record) = self.memory.get(id)? {
            return Ok(Some(record));
        }
        self.check_since(self.now_nanos())?;
        self.memory.get(id)
    }

    /// Makes sure that every commit made before `began` has been read.
    pub(crate) fn check_since(&self, began: u64) -> Result<(), StoreError> {
        let mut disk = lock_of(&self.disk);
        // A check that started after `began` saw all of those commits already; under a
        // flood of unknown ids this lets one check answer for many lookups.
        if self.checked_at.load(Ordering::Acquire) < began {
            self.check(&mut disk, false)?;
        }
        Ok(())
    }

    pub(crate) fn check_now(&self) -> Result<(), StoreError> {
        self.check_since(self.now_nanos())
    }

    fn check(&self, disk: &mut Disk, writing: bool) -> Result<(), StoreError> {
        // Cleared before reading, so that a tick arriving meanwhile asks for another check.
        self.check_due.store(false, Ordering::Release);
        let started = self.now_nanos();
        if let Err(error) =
            disk.refresh(&self.path, self.options.lock_timeout, &self.memory, writing)
        {
            // Keep asking: every lookup reports the failure until a check succeeds, rather
            // than serve records that may be stale.
            self.mark_check_due();
            return Err(error);
        }
        self.checked_at.fetch_max(started, Ordering::AcqRel);
        Ok(())
    }

    /// Notes a last-use time, to be written later, unless the record holds a later one.
    ///
    /// Reading the log keeps the latest time of a record, since one process's batch may
    /// reach the file after a newer time from another. An earlier time taken here would be
    /// shown until the next reopen and by no other process, so it is ignored here too.
    pub(crate) fn note_use(&self, id: &TokenId, at: OffsetDateTime) {
        // Under the pending lock, so that two uses noted at once keep the later.
        let mut pending = lock_of(&self.pending);
        let Ok(Some(record)) = self.memory.get(id) else {
            return;
        };
        if record.last_used_at().is_some_and(|kept| kept >= at) {
            return;
        }
        if self.memory.record_use(id, at).is_ok() {
            pending.insert(*id, at);
        }
    }

    /// Writes pending last-use times, if there are any.
    pub(crate) fn flush(&self) -> Result<(), StoreError> {
        if lock_of(&self.pending).is_empty() {
            return Ok(());
        }
        self.commit(|_| Ok((Vec::new(), ())))
    }

    /// Makes one durable change: locks the file, reads what others committed, lets `build`
    /// decide the changes against the records as they now are, appends them with any
    /// pending last-use times, and commits.
    pub(crate) fn commit<R>(
        &self,
        build: impl FnOnce(&MemoryStore) -> Result<(Vec<Op>, R), StoreError>,
    ) -> Result<R, StoreError> {
        let _writer = lock_of(&self.writer);
        let (file, _lock) = self.lock_current()?;

        let (ops, result) = build(&self.memory)?;
        let uses = self.take_uses();
        if ops.is_empty() && uses.is_empty() {
            return Ok(result);
        }
        if let Err(error) = self.append(&file, &uses, &ops) {
            self.restore_uses(uses);
            return Err(error);
        }

        let grown = {
            let disk = lock_of(&self.disk);
            let since_written = disk.commit.len - disk.header.base_len;
            since_written
                > self
                    .options
                    .compact_after
                    .max(disk.header.base_len - HEADER_LEN)
        };
        if grown {
            // The change is durable already; a failed compaction is tried again after the
            // next one.
            let _ = self.compact_locked();
        }
        Ok(result)
    }

    /// Compacts the log now.
    pub(crate) fn compact(&self) -> Result<(), StoreError> {
        let _writer = lock_of(&self.writer);
        let (_file, _lock) = self.lock_current()?;
        self.compact_locked()
    }

    /// Takes the exclusive lock on the file now at the path and reads everything committed
    /// to it. If another process replaced the file meanwhile, starts over with the new one.
    fn lock_current(&self) -> Result<(Arc<File>, LockGuard), StoreError> {
        loop {
            let file = Arc::clone(&lock_of(&self.disk).file);
            let guard = lock::lock(&file, Kind::Exclusive, self.options.lock_timeout)
                .map_err(|error| io_error(&self.path, error))?
                .ok_or_else(|| StoreError::Locked {
                    path: self.path.clone(),
                })?;
            let mut disk = lock_of(&self.disk);
            self.check(&mut disk, true)?;
            if Arc::ptr_eq(&disk.file, &file) {
                return Ok((file, guard));
            }
        }
    }

    fn append(
        &self,
        file: &File,
        uses: &[(TokenId, OffsetDateTime)],
        ops: &[Op],
    ) -> Result<(), StoreError> {
        let io = |error| io_error(&self.path, error);
        let mut entries = EntryWriter::new();
        let used = uses.iter().map(|&(id, at)| Op::Used { id, at });
        for op in used.collect::<Vec<_>>().iter().chain(ops) {
            entries
                .push(op)
                .map_err(|error| io(std::io::Error::new(std::io::ErrorKind::InvalidData, error)))?;
        }
        let bytes = entries.finish();

        // The entries first, synced, then the slot that commits them, synced. A crash
        // before the slot is durable leaves the entries as an uncommitted tail, which the
        // next commit overwrites.
        let start = lock_of(&self.disk).commit;
        write_all_at(file, &bytes, start.len).map_err(io)?;
        file.sync_data().map_err(io)?;

        let next = Commit {
            seq: start.seq + 1,
            len: start.len + bytes.len() as u64,
        };
        {
            // Under the lock that readers in this process take, so none of them ever
            // sees the slot half-written.
            let disk = lock_of(&self.disk);
            let slot = format::encode_slot(disk.header.instance, next);
            write_all_at(file, &slot, format::slot_offset(next.seq)).map_err(io)?;
        }
        file.sync_data().map_err(io)?;

        // Read the commit back like any other, which applies it to memory.
        let mut disk = lock_of(&self.disk);
        self.check(&mut disk, true)
    }

    /// Rewrites the live records to a new file and puts it in place of the current one.
    /// The caller holds the writer lock and the file's exclusive lock.
    fn compact_locked(&self) -> Result<(), StoreError> {
        let records = self.memory.list(None)?;
        let prefix = lock_of(&self.disk).header.prefix.clone();
        let written = compact::write_file(&self.path, prefix.as_ref(), &records, COMPACT_SUFFIX)?;
        let current = Arc::clone(&lock_of(&self.disk).file);
        if let Err(error) = copy_access(&current, &written.file) {
            // Better a longer log than a store its service can no longer open.
            let _ = fs::remove_file(&written.temp);
            return Err(io_error(&self.path, error));
        }
        {
            let mut disk = lock_of(&self.disk);
            if let Err(error) = fs::rename(&written.temp, &self.path) {
                let _ = fs::remove_file(&written.temp);
                return Err(io_error(&self.path, error));
            }
            *disk = Disk {
                file: Arc::new(written.file),
                header: written.header,
                commit: written.commit,
            };
        }
        sync_dir(&self.path).map_err(|error| io_error(&self.path, error))?;

        // Files of compactions that were cut short; nobody else can be compacting now.
        let _ = remove_leftovers(&self.path, COMPACT_SUFFIX);
        Ok(())
    }

    /// The pending last-use times of records that still exist, leaving none pending.
    fn take_uses(&self) -> Vec<(TokenId, OffsetDateTime)> {
        let pending = std::mem::take(&mut *lock_of(&self.pending));
        pending
            .into_iter()
            .filter(|(id, _)| matches!(self.memory.get(id), Ok(Some(_))))
            .collect()
    }

    /// Puts back last-use times that could not be written, unless newer ones came since.
    fn restore_uses(&self, uses: Vec<(TokenId, OffsetDateTime)>) {
        let mut pending = lock_of(&self.pending);
        for (id, at) in uses {
            pending.entry(id).or_insert(at);
        }
    }
}
