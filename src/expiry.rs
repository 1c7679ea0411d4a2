//! Expiry values, the clock the manager reads, and the range of instants a record can hold.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, macros::datetime};

/// The earliest instant a record can hold: stores write instants as RFC 3339 text, which
/// has four-digit years.
pub const EARLIEST_INSTANT: OffsetDateTime = datetime!(0000-01-01 00:00:00 UTC);

/// The latest instant a record can hold.
pub const LATEST_INSTANT: OffsetDateTime = datetime!(9999-12-31 23:59:59.999_999_999 UTC);

/// Whether `at` lies within [`EARLIEST_INSTANT`] and [`LATEST_INSTANT`], whatever its offset.
pub(crate) fn is_supported(at: OffsetDateTime) -> bool {
    (EARLIEST_INSTANT..=LATEST_INSTANT).contains(&at)
}

/// When a stored token stops being valid.
///
/// A token is valid strictly before its expiry instant and expired from that instant on.
/// `Never` is an explicit choice, not the absence of a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expiry {
    /// The token stays valid until it is deleted.
    Never,
    /// The token is expired from this instant on.
    At(#[serde(with = "time::serde::rfc3339")] OffsetDateTime),
}

impl Expiry {
    /// The instant, or `None` for a token that never expires.
    pub fn instant(&self) -> Option<OffsetDateTime> {
        match self {
            Self::Never => None,
            Self::At(at) => Some(*at),
        }
    }

    /// Whether a token with this expiry is expired at `now`.
    pub fn is_expired_at(&self, now: OffsetDateTime) -> bool {
        self.unix_nanos() <= now.unix_timestamp_nanos()
    }

    /// The expiry as nanoseconds since the Unix epoch; `i128::MAX` for `Never`.
    pub(crate) fn unix_nanos(&self) -> i128 {
        self.instant()
            .map_or(i128::MAX, OffsetDateTime::unix_timestamp_nanos)
    }

    /// The earlier of two expiries.
    pub(crate) fn min(self, other: Self) -> Self {
        if other.unix_nanos() < self.unix_nanos() {
            other
        } else {
            self
        }
    }
}

impl fmt::Display for Expiry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Never => f.write_str("never"),
            Self::At(at) => match at.format(&Rfc3339) {
                Ok(text) => f.write_str(&text),
                Err(_) => write!(f, "{at}"),
            },
        }
    }
}

/// How long a new token should live, as asked for by the caller.
///
/// The manager turns it into an [`Expiry`] with its clock, refusing lifetimes that end now
/// or in the past, beyond the configured maximum, or after [`LATEST_INSTANT`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lifetime {
    /// The token never expires.
    Never,
    /// The token expires this long after it is created.
    For(Duration),
    /// The token expires at this instant.
    Until(OffsetDateTime),
}

/// A source of the current time.
///
/// The manager owns one and reads it for every creation and verification, so tests can
/// substitute a [`ManualClock`].
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current instant.
    fn now(&self) -> OffsetDateTime;

    /// The current instant as a [`SystemTime`].
    ///
    /// The verification path compares instants in this form, which costs no calendar
    /// arithmetic; override it when the clock can produce it more cheaply than by
    /// converting [`now`](Self::now).
    fn now_system(&self) -> SystemTime {
        to_system_time(self.now())
    }
}

/// The operating system's wall clock, in UTC.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    fn now_system(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// Converts an instant to a [`SystemTime`] without panicking.
///
/// Every instant a record can hold fits in a `SystemTime` on Unix. Where it does not (before
/// 1601 on Windows), the result is the Unix epoch: such an instant is long past either way,
/// so a token expiring then is still treated as expired.
pub(crate) fn to_system_time(at: OffsetDateTime) -> SystemTime {
    let since_epoch = at - OffsetDateTime::UNIX_EPOCH;
    let distance = since_epoch.unsigned_abs();
    let converted = if since_epoch.is_negative() {
        UNIX_EPOCH.checked_sub(distance)
    } else {
        UNIX_EPOCH.checked_add(distance)
    };
    converted.unwrap_or(UNIX_EPOCH)
}

/// Converts a [`SystemTime`] back to an instant; `None` if `time` cannot represent it.
pub(crate) fn from_system_time(at: SystemTime) -> Option<OffsetDateTime> {
    match at.duration_since(UNIX_EPOCH) {
        Ok(after) => OffsetDateTime::UNIX_EPOCH.checked_add(after.try_into().ok()?),
        Err(before) => OffsetDateTime::UNIX_EPOCH.checked_sub(before.duration().try_into().ok()?),
    }
}

/// A clock that only moves when told to, for tests.
///
/// Clones share one time, so a test can keep a handle after giving a clone to the manager.
#[derive(Clone, Debug)]
pub struct ManualClock(Arc<Mutex<OffsetDateTime>>);

impl ManualClock {
    /// A clock standing at `now`.
    pub fn new(now: OffsetDateTime) -> Self {
        Self(Arc::new(Mutex::new(now)))
    }

    /// Moves the clock to `now`, forwards or backwards.
    pub fn set(&self, now: OffsetDateTime) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = now;
    }

    /// Moves the clock by `step`, which may be negative; it stops at the ends of the range
    /// `time` can represent instead of overflowing.
    pub fn advance(&self, step: Duration) {
        let mut now = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        *now = now.saturating_add(step);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_clock_agrees_with_itself() {
        let direct = SystemClock.now_system();
        let via_date = to_system_time(SystemClock.now());
        let gap = via_date
            .duration_since(direct)
            .unwrap_or_else(|before| before.duration());
        assert!(gap < std::time::Duration::from_secs(1));
    }

    #[test]
    fn conversion_keeps_order_and_distance_across_the_epoch() {
        let before = datetime!(1969-12-31 23:59:59.5 UTC);
        let after = datetime!(1970-01-01 00:00:00.5 UTC);
        let gap = to_system_time(after)
            .duration_since(to_system_time(before))
            .unwrap();
        assert_eq!(gap, std::time::Duration::from_secs(1));
        assert!(to_system_time(LATEST_INSTANT) > to_system_time(after));
    }

    #[test]
    fn conversion_round_trips_to_the_nanosecond() {
        let instants = [
            EARLIEST_INSTANT,
            datetime!(1969-12-31 23:59:59.999_999_999 UTC),
            datetime!(1970-01-01 00:00:00.000_000_001 UTC),
            LATEST_INSTANT,
        ];
        for at in instants {
            assert_eq!(from_system_time(to_system_time(at)), Some(at));
        }
    }

    #[test]
    fn never_is_later_than_any_instant() {
        let at = Expiry::At(LATEST_INSTANT);
        assert_eq!(Expiry::Never.min(at), at);
        assert_eq!(at.min(Expiry::Never), at);
        assert!(!Expiry::Never.is_expired_at(LATEST_INSTANT));
    }
}
