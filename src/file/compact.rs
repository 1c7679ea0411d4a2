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
