//! The storage interface the manager is written against.

use std::fmt;
use std::sync::Arc;

use time::OffsetDateTime;

use crate::error::StoreError;
use crate::id::TokenId;
use crate::record::TokenRecord;

/// The error for a change that gave a record another id, which breaks the contract of
/// [`TokenStore::update`].
pub(crate) fn id_changed(id: &TokenId) -> StoreError {
    StoreError::Backend(format!("an update tried to change the id of token {id}").into())
}

/// Where token records live.
///
/// The manager does all validation, hashing and time checks; a store only keeps records by
/// id. Implementations must be safe to share between threads, and nothing in the manager
/// assumes that all records fit in memory: a store backed by a database implements each
/// method as one query.
///
/// "Durable when it returns" below means as durable as the implementation promises: nothing
/// for [`MemoryStore`](crate::MemoryStore), on disk for a file-backed store, committed for a
/// database.
pub trait TokenStore: Send + Sync + fmt::Debug {
    /// Adds a new record.
    ///
    /// The record is durable when this returns `Ok`.
    ///
    /// # Errors
    ///
    /// [`StoreError::Duplicate`] if a record with the same id exists (it is left unchanged),
    /// or a failure of the store itself.
    fn insert(&self, record: TokenRecord) -> Result<(), StoreError>;

    /// Looks a record up by id; `Ok(None)` if there is none.
    ///
    /// This is on every request's path: it should not write, and should not allocate when
    /// it can hand out a shared record.
    ///
    /// # Errors
    ///
    /// A failure of the store itself; a missing id is not an error.
    fn get(&self, id: &TokenId) -> Result<Option<Arc<TokenRecord>>, StoreError>;

    /// Every record, or only those whose owner is `owner`, in any order.
    ///
    /// # Errors
    ///
    /// A failure of the store itself.
    fn list(&self, owner: Option<&str>) -> Result<Vec<Arc<TokenRecord>>, StoreError>;

    /// Changes the record with this id: calls `change` on the current record, as fresh as the
    /// store can read it, and stores the result in the same step.
    ///
    /// Changes made meanwhile by other threads or processes are therefore built upon, never
    /// overwritten by an older copy. `change` may run more than once if the store retries;
    /// it must not give the record another id. Returns the record as stored. The change is
    /// durable when this returns `Ok`.
    ///
    /// # Errors
    ///
    /// [`StoreError::NotFound`] if no record has that id (nothing is added), or a failure of
    /// the store itself; the record is unchanged then.
    fn update(
        &self,
        id: &TokenId,
        change: &mut dyn FnMut(&mut TokenRecord),
    ) -> Result<Arc<TokenRecord>, StoreError>;

    /// Deletes the record with this id.
    ///
    /// The deletion is durable when this returns `Ok`.
    ///
    /// # Errors
    ///
    /// [`StoreError::NotFound`] if no record has that id, or a failure of the store itself.
    fn remove(&self, id: &TokenId) -> Result<(), StoreError>;

    /// Notes that the token with this id was verified at `at`.
    ///
    /// A last-use time only moves forward: a time no later than the stored one is ignored,
    /// so that uses noted in any order, by any process, leave the latest. A missing id is
    /// ignored too: the token may have been deleted since it was verified. The
    /// time need not be durable when this returns; a store may batch these writes, and may
    /// lose the latest ones in a crash.
    ///
    /// # Errors
    ///
    /// A failure of the store itself.
    fn record_use(&self, id: &TokenId, at: OffsetDateTime) -> Result<(), StoreError>;

    /// Records that are still valid at `now` and expire at or before `deadline`, in any
    /// order.
    ///
    /// For reminders sent ahead of expiry. The default filters [`list`](Self::list); a
    /// database store should override it with one indexed query.
    ///
    /// # Errors
    ///
    /// A failure of the store itself.
    fn expiring_between(
        &self,
        now: OffsetDateTime,
        deadline: OffsetDateTime,
    ) -> Result<Vec<Arc<TokenRecord>>, StoreError> {
        let mut records = self.list(None)?;
        records.retain(|record| {
            record
                .expires()
                .instant()
                .is_some_and(|at| now < at && at <= deadline)
        });
        Ok(records)
    }

    /// Deletes every record expired at `now` and returns their ids.
    ///
    /// The default lists every record and removes the expired ones one by one, ignoring
    /// records that vanish meanwhile; a database store should override it with one query.
    /// The deletions are durable when this returns `Ok`.
    ///
    /// # Errors
    ///
    /// A failure of the store itself. Records removed before the failure stay removed.
    fn purge_expired(&self, now: OffsetDateTime) -> Result<Vec<TokenId>, StoreError> {
        let mut purged = Vec::new();
        for record in self.list(None)? {
            if record.expires().is_expired_at(now) {
                match self.remove(record.id()) {
                    Ok(()) => purged.push(*record.id()),
                    Err(StoreError::NotFound(_)) => {}
                    Err(other) => return Err(other),
                }
            }
        }
        Ok(purged)
    }
}

macro_rules! forward_store {
    ($wrapper:ty) => {
        impl<T: TokenStore + ?Sized> TokenStore for $wrapper {
            fn insert(&self, record: TokenRecord) -> Result<(), StoreError> {
                (**self).insert(record)
            }

            fn get(&self, id: &TokenId) -> Result<Option<Arc<TokenRecord>>, StoreError> {
                (**self).get(id)
            }

            fn list(&self, owner: Option<&str>) -> Result<Vec<Arc<TokenRecord>>, StoreError> {
                (**self).list(owner)
            }

            fn update(
                &self,
                id: &TokenId,
                change: &mut dyn FnMut(&mut TokenRecord),
            ) -> Result<Arc<TokenRecord>, StoreError> {
                (**self).update(id, change)
            }

            fn remove(&self, id: &TokenId) -> Result<(), StoreError> {
                (**self).remove(id)
            }

            fn record_use(&self, id: &TokenId, at: OffsetDateTime) -> Result<(), StoreError> {
                (**self).record_use(id, at)
            }

            fn expiring_between(
                &self,
                now: OffsetDateTime,
                deadline: OffsetDateTime,
            ) -> Result<Vec<Arc<TokenRecord>>, StoreError> {
                (**self).expiring_between(now, deadline)
            }

            fn purge_expired(&self, now: OffsetDateTime) -> Result<Vec<TokenId>, StoreError> {
                (**self).purge_expired(now)
            }
        }
    };
}

// A shared or boxed store is a store, so one store can serve several managers and a
// manager can hold a `Box<dyn TokenStore>` chosen at run time.
forward_store!(Arc<T>);
forward_store!(Box<T>);
