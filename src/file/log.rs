//! The log's entries: the changes they carry, how they are written, and how they are read
//! back and replayed onto the records in memory.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fs::File;
use std::io::{BufReader, Read};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::format::{self, Damage, ENTRY_HEAD, MAX_PAYLOAD};
use super::io::ReaderAt;
use crate::expiry::is_supported;
use crate::id::TokenId;
use crate::memory::MemoryStore;
use crate::record::TokenRecord;
use crate::store::TokenStore;

/// Entries are cut at about this size when a commit is large.
const ENTRY_TARGET: usize = 1 << 20;

/// How much of the file a reader fetches at a time.
const READ_BUFFER: usize = 256 << 10;

/// One change to the set of records. An entry's payload is a JSON array of these.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Op {
    /// A new record; its id must not be in use.
    Insert(TokenRecord),
    /// A new version of an existing record.
    Update(TokenRecord),
    /// The removal of an existing record.
    Remove(TokenId),
    /// A last-use time; ignored if the record is gone by then.
    Used {
        id: TokenId,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
}

/// A borrowed insert, so that compaction can write records without copying them.
#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum InsertRef<'a> {
    Insert(&'a TokenRecord),
}

/// Encodes changes as framed log entries, cutting them into entries of about a mebibyte.
pub(crate) struct EntryWriter {
    out: Vec<u8>,
    payload: Vec<u8>,
}

impl EntryWriter {
    pub(crate) fn new() -> Self {
        Self {
            out: Vec::new(),
            payload: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, op: &Op) -> Result<(), serde_json::Error> {
        self.push_json(op)
    }

    pub(crate) fn push_insert(&mut self, record: &TokenRecord) -> Result<(), serde_json::Error> {
        self.push_json(&InsertRef::Insert(record))
    }

    fn push_json(&mut self, value: &impl Serialize) -> Result<(), serde_json::Error> {
        self.payload
            .push(if self.payload.is_empty() { b'[' } else { b',' });
        serde_json::to_writer(&mut self.payload, value)?;
        if self.payload.len() >= ENTRY_TARGET {
            self.cut();
        }
        Ok(())
    }

    fn cut(&mut self) {
        if !self.payload.is_empty() {
            self.payload.push(b']');
            format::frame(&self.payload, &mut self.out);
            self.payload.clear();
        }
    }

    /// The entries completed so far, leaving the one being filled.
    pub(crate) fn take_complete(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }

    /// All remaining entries, ready to append.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        self.cut();
        self.out
    }
}

/// Reads the entries in `from..to` of `file` and replays them onto `replay`.
///
/// # Errors
///
/// [`Damage`] at the offset of the first entry that is cut short, fails its checksum, does
/// not parse or does not fit the records before it.
pub(crate) fn read_entries(
    file: &File,
    from: u64,
    to: u64,
    replay: &mut Replay<'_>,
) -> Result<(), ReadError> {
    let mut reader = BufReader::with_capacity(READ_BUFFER, ReaderAt::new(file, from));
    let mut offset = from;
    let mut payload = Vec::new();
    while offset < to {
        if to - offset < ENTRY_HEAD as u64 {
            return Err(Damage::at(offset, "entry cut short").into());
        }
        let mut head = [0; ENTRY_HEAD];
        reader.read_exact(&mut head)?;
        let (len, crc) = format::entry_head(&head);
        if len > MAX_PAYLOAD || u64::from(len) > to - offset - ENTRY_HEAD as u64 {
            return Err(Damage::at(offset, "entry runs past the committed length").into());
        }

        payload.resize(len as usize, 0);
        reader.read_exact(&mut payload)?;
        if !format::entry_matches(&payload, crc) {
            return Err(Damage::at(offset, "entry fails its checksum").into());
        }
        let ops: Vec<Op> = serde_json::from_slice(&payload).map_err(|error| {
            let reason = format!("entry does not parse: {}", without_quoted_text(&error));
            Damage::at(offset, reason)
        })?;
        for op in ops {
            replay
                .apply(op)
                .map_err(|reason| Damage::at(offset, reason))?;
        }
        offset += ENTRY_HEAD as u64 + u64::from(len);
    }
    Ok(())
}

/// Why entries could not be read.
#[derive(Debug)]
pub(crate) enum ReadError {
    Damage(Damage),
    Io(std::io::Error),
}

impl From<Damage> for ReadError {
    fn from(damage: Damage) -> Self {
        Self::Damage(damage)
    }
}

impl From<std::io::Error> for ReadError {
    fn from(error: std::io::Error) -> Self {
        Self::Io(error)
    }
}

/// What a run of entries changes, collected before anything is applied, so that entries
/// that turn out damaged half-way change nothing.
pub(crate) struct Replay<'a> {
    /// The records the entries apply to; `None` when reading a whole file.
    base: Option<&'a MemoryStore>,
    /// Each touched id's record after the entries so far; `None` once removed.
    changes: HashMap<TokenId, Option<TokenRecord>>,
}

impl<'a> Replay<'a> {
    /// Replays entries that continue from the records in `base`.
    pub(crate) fn onto(base: &'a MemoryStore) -> Self {
        Self {
            base: Some(base),
            changes: HashMap::new(),
        }
    }

    /// Replays a whole file, from no records.
    pub(crate) fn from_empty() -> Self {
        Self {
            base: None,
            changes: HashMap::new(),
        }
    }

    fn exists(&self, id: &TokenId) -> bool {
        match self.changes.get(id) {
            Some(change) => change.is_some(),
            None => self
                .base
                .is_some_and(|base| matches!(base.get(id), Ok(Some(_)))),
        }
    }

    fn apply(&mut self, op: Op) -> Result<(), &'static str> {
        match op {
            Op::Insert(record) => {
                if self.exists(record.id()) {
                    return Err("entry inserts a token id that is already in use");
                }
                self.changes.insert(*record.id(), Some(record));
            }
            Op::Update(record) => {
                if !self.exists(record.id()) {
                    return Err("entry updates a token that does not exist");
                }
                self.changes.insert(*record.id(), Some(record));
            }
            Op::Remove(id) => {
                if !self.exists(&id) {
                    return Err("entry removes a token that does not exist");
                }
                self.changes.insert(id, None);
            }
            Op::Used { at, .. } if !is_supported(at) => {
                return Err("entry holds a last-use time outside the supported range");
            }
            Op::Used { id, at } => self.note_use(id, at),
        }
        Ok(())
    }

    fn note_use(&mut self, id: TokenId, at: OffsetDateTime) {
        let later = |record: &TokenRecord| record.last_used_at().is_none_or(|kept| kept < at);
        match self.changes.entry(id) {
            Entry::Occupied(mut entry) => {
                if let Some(record) = entry.get_mut()
                    && later(record)
                {
                    record.set_last_used_at(at);
                }
            }
            Entry::Vacant(entry) => {
                let stored = self.base.and_then(|base| base.get(&id).ok().flatten());
                if let Some(stored) = stored
                    && later(&stored)
                {
                    let mut record = TokenRecord::clone(&stored);
                    record.set_last_used_at(at);
                    entry.insert(Some(record));
                }
            }
        }
    }

    /// Applies the collected changes to `memory`, which must hold the base records (or
    /// none, for a whole file). A stored last-use time later than a replayed one is kept.
    pub(crate) fn apply_to(self, memory: &MemoryStore) {
        memory.apply_batch(self.changes);
    }

    /// Applies a whole file's records to `memory`, which held an earlier state of the
    /// store: records missing from the file are removed, the others replaced in place so
    /// that concurrent lookups never miss a record that stays.
    pub(crate) fn replace_in(mut self, memory: &MemoryStore) {
        for record in memory.list(None).unwrap_or_default() {
            self.changes.entry(*record.id()).or_insert(None);
        }
        self.apply_to(memory);
    }
}

/// A parse error's message with every quoted value cut out: a damaged entry may hold a
/// hash where something else belongs, and serde quotes the value it did not expect.
fn without_quoted_text(error: &serde_json::Error) -> String {
    let message = error.to_string();
    let mut kept = String::with_capacity(message.len());
    let mut quote = None;
    for c in message.chars() {
        match quote {
            Some(open) if c == open => {
                kept.push('…');
                kept.push(c);
                quote = None;
            }
            Some(_) => {}
            None => {
                kept.push(c);
                if c == '`' || c == '"' {
                    quote = Some(c);
                }
            }
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn parse_errors_lose_the_values_they_quote() {
        let hash = "c2VjcmV0IGhhc2ggdmFsdWUgaGVyZQ==";
        let quoted = format!("\"{hash}\"");
        let errors = [
            serde_json::from_str::<crate::Expiry>(&quoted).unwrap_err(),
            serde_json::from_str::<u32>(&quoted).unwrap_err(),
        ];
        for error in errors {
            assert!(
                error.to_string().contains(hash),
                "the raw message quotes it"
            );
            assert!(!without_quoted_text(&error).contains(hash));
        }
    }
    use crate::file::testing::records;

    fn replay(base: &MemoryStore, ops: Vec<Op>) -> Result<Replay<'_>, &'static str> {
        let mut replay = Replay::onto(base);
        for op in ops {
            replay.apply(op)?;
        }
        Ok(replay)
    }

    #[test]
    fn changes_must_fit_the_records_before_them() {
        let base = MemoryStore::new();
        let records = records(2);
        base.insert(TokenRecord::clone(&records[0])).unwrap();
        let (known, unknown) = (&records[0], &records[1]);

        let again = Op::Insert(TokenRecord::clone(known));
        assert!(replay(&base, vec![again]).is_err());
        assert!(replay(&base, vec![Op::Remove(*unknown.id())]).is_err());
        assert!(replay(&base, vec![Op::Update(TokenRecord::clone(unknown))]).is_err());
        let removed_twice = vec![Op::Remove(*known.id()), Op::Remove(*known.id())];
        assert!(replay(&base, removed_twice).is_err());

        let fine = vec![
            Op::Insert(TokenRecord::clone(unknown)),
            Op::Remove(*known.id()),
            Op::Used {
                id: *known.id(),
                at: datetime!(2026-01-01 0:00 UTC),
            },
        ];
        replay(&base, fine).unwrap().apply_to(&base);
        assert!(base.get(known.id()).unwrap().is_none());
        assert!(base.get(unknown.id()).unwrap().is_some());
    }

    #[test]
    fn a_replayed_use_never_moves_a_last_use_back() {
        let base = MemoryStore::new();
        let record = &records(1)[0];
        base.insert(TokenRecord::clone(record)).unwrap();
        let later = datetime!(2026-05-01 0:00 UTC);
        base.record_use(record.id(), later).unwrap();

        let used = |at| Op::Used {
            id: *record.id(),
            at,
        };
        let earlier = datetime!(2026-04-01 0:00 UTC);
        replay(&base, vec![used(earlier)]).unwrap().apply_to(&base);
        let stored = base.get(record.id()).unwrap().unwrap();
        assert_eq!(stored.last_used_at(), Some(later));

        let latest = datetime!(2026-06-01 0:00 UTC);
        replay(&base, vec![used(latest)]).unwrap().apply_to(&base);
        let stored = base.get(record.id()).unwrap().unwrap();
        assert_eq!(stored.last_used_at(), Some(latest));
    }

    #[test]
    fn nothing_is_applied_from_a_run_that_fails_part_way() {
        let base = MemoryStore::new();
        let records = records(2);
        let ops = vec![
            Op::Insert(TokenRecord::clone(&records[0])),
            Op::Remove(*records[1].id()),
        ];
        assert!(replay(&base, ops).is_err());
        assert!(base.is_empty());
    }
}
