//! File system steps the store is built from: positional reads and writes, making a file
//! appear complete under its final name, and syncing directories.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use ring::rand::{SecureRandom, SystemRandom};

/// Reads exactly `buf.len()` bytes at `offset`, or fewer if the file ends first; returns
/// how many were read.
pub(crate) fn read_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> io::Result<usize> {
    let wanted = buf.len();
    while !buf.is_empty() {
        match read_some_at(file, buf, offset) {
            Ok(0) => break,
            Ok(n) => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(wanted - buf.len())
}

/// Writes all of `buf` at `offset`.
pub(crate) fn write_all_at(file: &File, mut buf: &[u8], mut offset: u64) -> io::Result<()> {
    while !buf.is_empty() {
        match write_some_at(file, buf, offset) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                buf = &buf[n..];
                offset += n as u64;
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

#[cfg(unix)]
fn read_some_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

#[cfg(unix)]
fn write_some_at(file: &File, buf: &[u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::write_at(file, buf, offset)
}

// Windows moves the file cursor as well, which nothing here relies on.
#[cfg(windows)]
fn read_some_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, offset)
}

#[cfg(windows)]
fn write_some_at(file: &File, buf: &[u8], offset: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_write(file, buf, offset)
}

/// A [`Read`] over a file from a starting offset that never touches the file's cursor, so
/// several threads can read one file at once.
pub(crate) struct ReaderAt<'a> {
    file: &'a File,
    offset: u64,
}

impl<'a> ReaderAt<'a> {
    pub(crate) fn new(file: &'a File, offset: u64) -> Self {
        Self { file, offset }
    }
}

impl Read for ReaderAt<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = read_some_at(self.file, buf, self.offset)?;
        self.offset += n as u64;
        Ok(n)
    }
}

/// Opens an existing file for reading and writing.
pub(crate) fn open_rw(path: &Path) -> io::Result<File> {
    OpenOptions::new().read(true).write(true).open(path)
}

/// A new, empty file beside `path`, named `.<name>.<random>.<suffix>`, readable and writable
/// by its owner only. Nothing else opens it until it is linked or renamed into place.
pub(crate) fn create_temp_beside(path: &Path, suffix: &str) -> io::Result<(File, PathBuf)> {
    let dir = parent_dir(path);
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    loop {
        let temp = dir.join(format!(".{name}.{:016x}.{suffix}", random_u64()?));
        let mut options = OpenOptions::new();
        options.read(true).write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(&temp) {
            Ok(file) => return Ok((file, temp)),
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
            Err(error) => return Err(error),
        }
    }
}

/// Gives the finished, synced file at `temp` the name `path` unless `path` exists, and
/// syncs the directory. Returns `false`, removing `temp`, if `path` already existed.
///
/// A hard link is used rather than a rename because a rename would replace a store another
/// process created meanwhile.
pub(crate) fn link_into_place(temp: &Path, path: &Path) -> io::Result<bool> {
    let linked = match fs::hard_link(temp, path) {
        Ok(()) => true,
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => false,
        Err(error) => {
            let _ = fs::remove_file(temp);
            return Err(error);
        }
    };
    fs::remove_file(temp)?;
    sync_dir(path)?;
    Ok(linked)
}

/// Removes files that [`create_temp_beside`] made for `path` with `suffix` and that were
/// left behind by a process that stopped before finishing them.
///
/// Only call this while no other process can be writing such a file.
pub(crate) fn remove_leftovers(path: &Path, suffix: &str) -> io::Result<()> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let start = format!(".{name}.");
    let end = format!(".{suffix}");
    for entry in fs::read_dir(parent_dir(path))? {
        let entry = entry?;
        let file_name = entry.file_name();
        let file_name = file_name.to_string_lossy();
        let middle = file_name
            .strip_prefix(&start)
            .and_then(|rest| rest.strip_suffix(&end));
        if middle.is_some_and(|hex| hex.len() == 16 && hex.bytes().all(|b| b.is_ascii_hexdigit())) {
            fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

/// Makes the directory entry of `path` durable, after a rename or link.
pub(crate) fn sync_dir(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    File::open(parent_dir(path))?.sync_all()?;
    // Elsewhere a directory cannot be opened like this; the rename itself is relied on.
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// A random 64-bit number from the system's secure generator.
pub(crate) fn random_u64() -> io::Result<u64> {
    let mut bytes = [0; 8];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| io::Error::other("the system random generator failed"))?;
    Ok(u64::from_le_bytes(bytes))
}

/// Gives `new` the permissions and the owner of `old`, so that putting one in the place of
/// the other changes nobody's access. Fails when the owner cannot be kept (a process may only
/// give files away with the privilege to do so); `new` is then left as it was.
pub(crate) fn copy_access(old: &File, new: &File) -> io::Result<()> {
    let wanted = old.metadata()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, fchown};
        let current = new.metadata()?;
        if (current.uid(), current.gid()) != (wanted.uid(), wanted.gid()) {
            fchown(new, Some(wanted.uid()), Some(wanted.gid()))?;
        }
    }
    new.set_permissions(wanted.permissions())
}
