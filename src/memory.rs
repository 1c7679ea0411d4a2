//! A store that keeps records in process memory.

use std::borrow::Borrow;
use std::collections::HashSet;
use std::fmt;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::ArcSwap;
use time::OffsetDateTime;

use crate::error::StoreError;
use crate::id::{IdHasherBuilder, TokenId};
use crate::record::TokenRecord;
use crate::store::{TokenStore, id_changed};

/// How many independently replaced parts the map is split into. A write copies one part,
/// so more parts make writes cheaper; 256 keeps a part of a 100 000-token store near 400
/// entries.
const SHARDS: usize = 256;

/// A stored record, found in its set by the record's own id so that the id is not kept
/// twice.
#[derive(Clone)]
struct Entry(Arc<TokenRecord>);

impl Borrow<TokenId> for Entry {
    fn borrow(&self) -> &TokenId {
        self.0.id()
    }
}

impl Hash for Entry {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.id().hash(state);
    }
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.0.id() == other.0.id()
    }
}

impl Eq for Entry {}

type Records = HashSet<Entry, IdHasherBuilder>;

/// What a shard holds at one moment: the records, found by id, and the same records in a
/// list that a lookup reads one of when it finds nothing.
#[derive(Default)]
struct Snapshot {
    records: Records,
    decoys: Vec<Arc<TokenRecord>>,
}

impl Snapshot {
    fn new(records: Records) -> Self {
        let decoys = records.iter().map(|entry| Arc::clone(&entry.0)).collect();
        Self { records, decoys }
    }

    /// Does the memory work a found record would cost: takes and releases a reference to
    /// some other record and reads what verification reads of it.
    ///
    /// A record that is found is usually not in the processor's cache, and reading it takes
    /// hundreds of nanoseconds; without this, a miss would be measurably faster than a
    /// hit, and the time of a verification would tell whether an id exists. The record read
    /// depends on the id, so repeated misses do not keep one record warm.
    fn read_decoy(&self, id: &TokenId) {
        if self.decoys.is_empty() {
            return;
        }
        let index = IdHasherBuilder.hash_one(id) as usize % self.decoys.len();
        let decoy = Arc::clone(&self.decoys[index]);
        std::hint::black_box(decoy.key_id());
        std::hint::black_box(*decoy.hash().as_bytes());
    }
}

/// One part of the map: readers take the current snapshot without locking, writers take
/// turns to publish a changed copy.
#[derive(Default)]
struct Shard {
    snapshot: ArcSwap<Snapshot>,
    writer: Mutex<()>,
}

impl Shard {
    /// Applies `change` to a copy of the records and publishes the copy, unless `change`
    /// fails.
    fn write<T>(
        &self,
        change: impl FnOnce(&mut Records) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let _turn = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let mut records = Records::clone(&self.snapshot.load().records);
        let result = change(&mut records)?;
        self.snapshot.store(Arc::new(Snapshot::new(records)));
        Ok(result)
    }

    fn records(&self) -> arc_swap::Guard<Arc<Snapshot>> {
        self.snapshot.load()
    }
}

/// Keeps token records in memory, for tests and for services that recreate their tokens at
/// start-up. Everything is lost when the value is dropped.
///
/// Lookups take no lock and write no shared memory, so verifications on many threads do not
/// slow each other down; they never wait for a write either. Each write copies one of 256
/// parts of the map, so it costs in proportion to a 256th of the store.
pub struct MemoryStore {
    shards: Box<[Shard]>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
        }
    }

    /// How many records the store holds.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| shard.records().records.len())
            .sum()
    }

    /// Whether the store holds no records.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn shard(&self, id: &TokenId) -> &Shard {
        &self.shards[shard_index(id)]
    }

    /// Stores (`Some`) or removes (`None`) many records at once, copying each part of the
    /// map they fall in once rather than once per record. A stored record keeps its later
    /// last-use time, as with [`update`](TokenStore::update); removing a missing id does
    /// nothing. For stores that load or reload many records from elsewhere.
    pub(crate) fn apply_batch(
        &self,
        changes: impl IntoIterator<Item = (TokenId, Option<TokenRecord>)>,
    ) {
        let mut by_shard: Vec<Vec<(TokenId, Option<TokenRecord>)>> =
            (0..SHARDS).map(|_| Vec::new()).collect();
        for (id, change) in changes {
            by_shard[shard_index(&id)].push((id, change));
        }
        for (shard, changes) in self.shards.iter().zip(by_shard) {
            if changes.is_empty() {
                continue;
            }
            let _ = shard.write(|records| {
                for (id, change) in changes {
                    let Some(mut record) = change else {
                        records.remove(&id);
                        continue;
                    };
                    if let Some(kept) = records.get(&id).and_then(|entry| entry.0.last_used_at())
                        && record.last_used_at().is_none_or(|given| given < kept)
                    {
                        record.set_last_used_at(kept);
                    }
                    records.replace(Entry(Arc::new(record)));
                }
                Ok(())
            });
        }
    }
}

fn shard_index(id: &TokenId) -> usize {
    // The set hashes the first eight characters of the id; the shard is picked from the
    // last eight, so that records within one shard still spread over its buckets.
    let bytes = id.as_bytes();
    let mut tail = [0; 8];
    tail.copy_from_slice(&bytes[bytes.len() - 8..]);
    let mixed = u64::from_le_bytes(tail).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (mixed >> 56) as usize % SHARDS
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for MemoryStore {
    // Only the size: records hold hashes, which have no place in logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("records", &self.len())
            .finish()
    }
}

impl TokenStore for MemoryStore {
    fn insert(&self, record: TokenRecord) -> Result<(), StoreError> {
        let id = *record.id();
        self.shard(&id).write(|records| {
            if records.contains(&id) {
                return Err(StoreError::Duplicate(id));
            }
            records.insert(Entry(Arc::new(record)));
            Ok(())
        })
    }

    fn get(&self, id: &TokenId) -> Result<Option<Arc<TokenRecord>>, StoreError> {
        let snapshot = self.shard(id).records();
        match snapshot.records.get(id) {
            Some(entry) => Ok(Some(Arc::clone(&entry.0))),
            None => {
                snapshot.read_decoy(id);
                Ok(None)
            }
        }
    }

    fn list(&self, owner: Option<&str>) -> Result<Vec<Arc<TokenRecord>>, StoreError> {
        let mut found = Vec::new();
        for shard in self.shards.iter() {
            let snapshot = shard.records();
            let records = &snapshot.records;
            let matching = records
                .iter()
                .filter(|entry| owner.is_none_or(|owner| entry.0.owner() == Some(owner)));
            found.extend(matching.map(|entry| Arc::clone(&entry.0)));
        }
        Ok(found)
    }

    fn update(
        &self,
        id: &TokenId,
        change: &mut dyn FnMut(&mut TokenRecord),
    ) -> Result<Arc<TokenRecord>, StoreError> {
        self.shard(id).write(|records| {
            let stored = records.get(id).ok_or(StoreError::NotFound(*id))?;
            let mut record = TokenRecord::clone(&stored.0);
            change(&mut record);
            if record.id() != id {
                return Err(id_changed(id));
            }
            let record = Arc::new(record);
            records.replace(Entry(Arc::clone(&record)));
            Ok(record)
        })
    }

    fn remove(&self, id: &TokenId) -> Result<(), StoreError> {
        self.shard(id).write(|records| match records.remove(id) {
            true => Ok(()),
            false => Err(StoreError::NotFound(*id)),
        })
    }

    fn record_use(&self, id: &TokenId, at: OffsetDateTime) -> Result<(), StoreError> {
        let shard = self.shard(id);
        let later = |record: &TokenRecord| record.last_used_at().is_none_or(|kept| kept < at);
        if !shard
            .records()
            .records
            .get(id)
            .is_some_and(|entry| later(&entry.0))
        {
            return Ok(());
        }
        shard.write(|records| {
            if let Some(stored) = records.get(id)
                && later(&stored.0)
            {
                let mut record = TokenRecord::clone(&stored.0);
                record.set_last_used_at(at);
                records.replace(Entry(Arc::new(record)));
            }
            Ok(())
        })
    }
}
