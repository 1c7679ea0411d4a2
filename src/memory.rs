//! A store that keeps records in process memory.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use time::OffsetDateTime;

use crate::error::StoreError;
use crate::id::{IdHasherBuilder, TokenId};
use crate::record::TokenRecord;
use crate::store::TokenStore;

/// How many independently locked parts the map is split into. Verifies of different tokens
/// from different threads then rarely touch the same lock, and a write holds up only the
/// verifies that fall in its part.
const SHARDS: usize = 16;

type Shard = HashMap<TokenId, Arc<TokenRecord>, IdHasherBuilder>;

/// Keeps token records in memory, for tests and for services that recreate their tokens at
/// start-up. Everything is lost when the value is dropped.
///
/// Lookups take a read lock on one of several shards and clone an [`Arc`]; they never
/// allocate and never wait for a write to another shard.
#[derive(Default)]
pub struct MemoryStore {
    shards: [RwLock<Shard>; SHARDS],
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many records the store holds.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|shard| read(shard).len()).sum()
    }

    /// Whether the store holds no records.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn shard(&self, id: &TokenId) -> &RwLock<Shard> {
        // The map hashes the first eight characters of the id; the shard is picked from
        // others, so that records within one shard still spread over its buckets.
        let byte = id.as_bytes()[super::id::ID_LEN - 1];
        &self.shards[usize::from(byte) % SHARDS]
    }
}

// Poisoning only says that another thread panicked while holding the lock. Every write
// below replaces whole entries, so the map is never left half-changed and stays usable.
fn read(shard: &RwLock<Shard>) -> RwLockReadGuard<'_, Shard> {
    shard.read().unwrap_or_else(PoisonError::into_inner)
}

fn write(shard: &RwLock<Shard>) -> RwLockWriteGuard<'_, Shard> {
    shard.write().unwrap_or_else(PoisonError::into_inner)
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
        let mut shard = write(self.shard(&id));
        if shard.contains_key(&id) {
            return Err(StoreError::Duplicate(id));
        }
        shard.insert(id, Arc::new(record));
        Ok(())
    }

    fn get(&self, id: &TokenId) -> Result<Option<Arc<TokenRecord>>, StoreError> {
        Ok(read(self.shard(id)).get(id).cloned())
    }

    fn list(&self, owner: Option<&str>) -> Result<Vec<Arc<TokenRecord>>, StoreError> {
        let mut records = Vec::new();
        for shard in &self.shards {
            let shard = read(shard);
            let matching = shard
                .values()
                .filter(|record| owner.is_none_or(|o| record.owner() == Some(o)));
            records.extend(matching.cloned());
        }
        Ok(records)
    }

    fn update(&self, mut record: TokenRecord) -> Result<(), StoreError> {
        let id = *record.id();
        let mut shard = write(self.shard(&id));
        let stored = shard.get_mut(&id).ok_or(StoreError::NotFound(id))?;
        if let Some(kept) = stored.last_used_at()
            && record.last_used_at().is_none_or(|given| given < kept)
        {
            record.set_last_used_at(kept);
        }
        *stored = Arc::new(record);
        Ok(())
    }

    fn remove(&self, id: &TokenId) -> Result<(), StoreError> {
        match write(self.shard(id)).remove(id) {
            Some(_) => Ok(()),
            None => Err(StoreError::NotFound(*id)),
        }
    }

    fn record_use(&self, id: &TokenId, at: OffsetDateTime) -> Result<(), StoreError> {
        if let Some(stored) = write(self.shard(id)).get_mut(id) {
            let mut record = TokenRecord::clone(stored);
            record.set_last_used_at(at);
            *stored = Arc::new(record);
        }
        Ok(())
    }
}
