//! The store's view of its file: which file it has open, how far it has read it, and how
//! it catches up with what other processes committed since.

use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::format::{self, Commit, Damage, HEADER_LEN, Header, SECTOR};
use super::io::{open_rw, read_at};
use super::lock::{self, Kind};
use super::log::{self, ReadError, Replay};
use crate::error::StoreError;
use crate::memory::MemoryStore;

/// The file a store reads and writes, and the commit its records in memory reflect.
#[derive(Debug)]
pub(crate) struct Disk {
    pub(crate) file: Arc<File>,
    pub(crate) header: Header,
    pub(crate) commit: Commit,
}

/// A whole file read: where reading stopped, and the records found.
pub(crate) struct Loaded {
    pub(crate) disk: Disk,
    pub(crate) replay: Replay<'static>,
}

impl Disk {
    /// Reads all of `file`, the store at `path`.
    pub(crate) fn load(
        file: File,
        path: &Path,
        lock_timeout: Duration,
    ) -> Result<Loaded, StoreError> {
        let file = Arc::new(file);
        let (header, commit) = read_head(&file, path, lock_timeout, false)?;
        let replay = read_log(&file, path, HEADER_LEN, commit.len, Replay::from_empty())?;
        Ok(Loaded {
            disk: Self {
                file,
                header,
                commit,
            },
            replay,
        })
    }

    /// Brings `memory` up to date with the file now at `path`: applies new commits, or reads
    /// the file whole if it was replaced.
    ///
    /// `writing` says that the caller holds the exclusive lock on the file, so that what it
    /// reads cannot be a write in progress.
    pub(crate) fn refresh(
        &mut self,
        path: &Path,
        lock_timeout: Duration,
        memory: &MemoryStore,
        writing: bool,
    ) -> Result<(), StoreError> {
        let fresh = Arc::new(File::open(path).map_err(|error| io_error(path, error))?);
        let (header, commit) = read_head(&fresh, path, lock_timeout, writing)?;

        // Another process compacted the store, or the file was put back to an earlier
        // state: read the current file whole.
        let rewound = commit.seq < self.commit.seq || commit.len < self.commit.len;
        if header.instance != self.header.instance || rewound {
            let file = open_rw(path).map_err(|error| io_error(path, error))?;
            let loaded = Self::load(file, path, lock_timeout)?;
            loaded.replay.replace_in(memory);
            *self = loaded.disk;
            return Ok(());
        }

        if commit != self.commit {
            let replay = read_log(
                &fresh,
                path,
                self.commit.len,
                commit.len,
                Replay::onto(memory),
            )?;
            replay.apply_to(memory);
            self.commit = commit;
        }
        Ok(())
    }
}

/// Reads the header and the latest commit of `file`, the store at `path`.
///
/// A slot that fails its checksum may be one that a writer in another process is
/// rewriting at this very moment; under a shared lock no writer is, so the slots are read
/// again under one before the file is called damaged. A caller that holds the exclusive
/// lock itself passes `writing`, and its reading is final at once.
fn read_head(
    file: &Arc<File>,
    path: &Path,
    lock_timeout: Duration,
    writing: bool,
) -> Result<(Header, Commit), StoreError> {
    match decode_head(file, path)? {
        Ok(head) => Ok(head),
        Err(damage) if writing => Err(damage.into_error(path)),
        Err(_) => {
            let _shared = lock::lock(file, Kind::Shared, lock_timeout)
                .map_err(|error| io_error(path, error))?
                .ok_or_else(|| StoreError::Locked {
                    path: path.to_owned(),
                })?;
            decode_head(file, path)?.map_err(|damage| damage.into_error(path))
        }
    }
}

fn decode_head(file: &File, path: &Path) -> Result<Result<(Header, Commit), Damage>, StoreError> {
    let mut bytes = [0; HEADER_LEN as usize];
    let read = read_at(file, &mut bytes, 0).map_err(|error| io_error(path, error))?;
    let bytes = &bytes[..read];

    let header = Header::decode(bytes).map_err(|damage| damage.into_error(path))?;
    if bytes.len() < HEADER_LEN as usize {
        let damage = Damage::at(bytes.len() as u64, "file ends inside its commit slots");
        return Err(damage.into_error(path));
    }
    Ok(format::decode_slots(&bytes[SECTOR..], &header).map(|commit| (header, commit)))
}

/// Reads the entries in `from..to` of `file` onto `replay`.
fn read_log<'a>(
    file: &File,
    path: &Path,
    from: u64,
    to: u64,
    mut replay: Replay<'a>,
) -> Result<Replay<'a>, StoreError> {
    let len = file
        .metadata()
        .map_err(|error| io_error(path, error))?
        .len();
    let cut_short = || {
        let reason = format!("file ends before its committed length of {to} bytes");
        Damage::at(len, reason).into_error(path)
    };
    if len < to {
        return Err(cut_short());
    }

    match log::read_entries(file, from, to, &mut replay) {
        Ok(()) => Ok(replay),
        Err(ReadError::Damage(damage)) => Err(damage.into_error(path)),
        Err(ReadError::Io(error)) if error.kind() == io::ErrorKind::UnexpectedEof => {
            Err(cut_short())
        }
        Err(ReadError::Io(error)) => Err(io_error(path, error)),
    }
}

pub(crate) fn io_error(path: &Path, source: io::Error) -> StoreError {
    StoreError::Io {
        path: path.to_owned(),
        source,
    }
}
