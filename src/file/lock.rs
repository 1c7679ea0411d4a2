//! Advisory locks on the store file, taken with a time limit.
//!
//! Writers hold an exclusive lock from reading the latest commit to writing their own.
//! Readers take no lock, except to re-read commit slots that looked damaged: under a shared
//! lock no writer is half-way through a slot, so what they see then is what is on disk.

use std::fs::{File, TryLockError};
use std::io;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// Holds a lock on a file until dropped.
#[derive(Debug)]
pub(crate) struct LockGuard {
    file: Arc<File>,
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        // Closing the file would release the lock too; an error here leaves nothing held.
        let _ = self.file.unlock();
    }
}

/// Which kind of lock to take.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Kind {
    Exclusive,
    Shared,
}

/// Takes a lock on `file`, trying again for up to `timeout`. `Ok(None)` means another
/// process held a conflicting lock all that time.
///
/// Locks belong to an open file, not to a process: never take a shared lock through a file
/// handle that holds the exclusive lock, as that would turn it into a shared one.
pub(crate) fn lock(
    file: &Arc<File>,
    kind: Kind,
    timeout: Duration,
) -> io::Result<Option<LockGuard>> {
    let start = Instant::now();
    let mut pause = Duration::from_micros(200);
    loop {
        let attempt = match kind {
            Kind::Exclusive => file.try_lock(),
            Kind::Shared => file.try_lock_shared(),
        };
        match attempt {
            Ok(()) => {
                return Ok(Some(LockGuard {
                    file: Arc::clone(file),
                }));
            }
            Err(TryLockError::Error(error)) => return Err(error),
            Err(TryLockError::WouldBlock) => {}
        }
        let waited = start.elapsed();
        if waited >= timeout {
            return Ok(None);
        }
        thread::sleep(pause.min(timeout - waited));
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}
