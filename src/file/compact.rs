//! Writing a complete store file: a new, empty store, or the live records of a long log.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::disk::io_error;
use super::format::{self, Commit, HEADER_LEN, Header};
use super::io::{create_temp_beside, random_u64, write_all_at};
use super::log::EntryWriter;
use crate::error::StoreError;
use crate::format::Prefix;
use crate::record::TokenRecord;

/// The suffix of a new store's file before it is linked into place.
pub(crate) const NEW_SUFFIX: &str = "new";

/// The suffix of a compacted file before it is renamed into place.
pub(crate) const COMPACT_SUFFIX: &str = "compact";

/// A complete, synced store file under a temporary name beside the store.
#[derive(Debug)]
pub(crate) struct Written {
    pub(crate) file: File,
    pub(crate) temp: PathBuf,
    pub(crate) header: Header,
    pub(crate) commit: Commit,
}

/// Writes a store file holding `records` beside `path`, named with `suffix`.
pub(crate) fn write_file(
    path: &Path,
    prefix: Option<&Prefix>,
    records: &[Arc<TokenRecord>],
    suffix: &str,
) -> Result<Written, StoreError> {
    let (file, temp) = create_temp_beside(path, suffix).map_err(|error| io_error(path, error))?;
    match fill(&file, prefix, records) {
        Ok((header, commit)) => Ok(Written {
            file,
            temp,
            header,
            commit,
        }),
        Err(error) => {
            drop(file);
            let _ = fs::remove_file(&temp);
            Err(io_error(path, error))
        }
    }
}

fn fill(
    file: &File,
    prefix: Option<&Prefix>,
    records: &[Arc<TokenRecord>],
) -> io::Result<(Header, Commit)> {
    // The log first, a mebibyte at a time, so the header can name its length.
    let mut end = HEADER_LEN;
    let mut entries = EntryWriter::new();
    for record in records {
        entries
            .push_insert(record)
            .map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error))?;
        let complete = entries.take_complete();
        write_all_at(file, &complete, end)?;
        end += complete.len() as u64;
    }
    let rest = entries.finish();
    write_all_at(file, &rest, end)?;
    end += rest.len() as u64;

    let header = Header {
        instance: random_u64()?,
        base_len: end,
        prefix: prefix.cloned(),
    };
    let empty = Commit {
        seq: 0,
        len: HEADER_LEN,
    };
    let commit = Commit { seq: 1, len: end };
    write_all_at(file, &header.encode(), 0)?;
    for slot in [empty, commit] {
        let bytes = format::encode_slot(header.instance, slot);
        write_all_at(file, &bytes, format::slot_offset(slot.seq))?;
    }
    file.sync_all()?;
    Ok((header, commit))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::file::disk::Disk;
    use crate::file::format::ENTRY_HEAD;
    use crate::file::testing::records;
    use crate::memory::MemoryStore;
    use crate::store::TokenStore;

    #[test]
    fn a_large_store_is_written_as_several_entries_and_read_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("large.store");
        let records = records(6000);
        let written = write_file(&path, None, &records, NEW_SUFFIX).unwrap();
        std::fs::rename(&written.temp, &path).unwrap();

        // Walk the entries: more than one, none much above the target size.
        let bytes = std::fs::read(&path).unwrap();
        let mut offset = HEADER_LEN as usize;
        let mut entries = 0;
        while offset < bytes.len() {
            let len = u32::from_le_bytes(bytes[offset..offset + 4].try_into().unwrap());
            assert!(len < (1 << 20) + 4096, "an entry of {len} bytes");
            offset += ENTRY_HEAD + len as usize;
            entries += 1;
        }
        assert_eq!(offset, bytes.len());
        assert!(entries > 1, "{entries} entries");

        let file = std::fs::File::open(&path).unwrap();
        let loaded = Disk::load(file, &path, Duration::from_secs(1)).unwrap();
        assert_eq!(loaded.disk.commit.len, bytes.len() as u64);
        let memory = MemoryStore::new();
        loaded.replay.apply_to(&memory);
        assert_eq!(memory.len(), 6000);
        let sample = &records[4321];
        let read = memory.get(sample.id()).unwrap().unwrap();
        assert_eq!(read.name(), sample.name());
    }
}
