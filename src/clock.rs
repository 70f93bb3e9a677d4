//! The one clock: every "now" in kpcert comes from a [`Clock`] passed in, never from the system
//! directly, so that tests (and simulations) can judge dates and rate limits deterministically.
//!
//! Only [`SystemClock`] reads the operating system's time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::domain::Date;

/// A source of the current time, in unix milliseconds (UTC).
pub trait Clock: Send + Sync + 'static {
    /// Milliseconds since 1970-01-01T00:00:00Z.
    fn now_ms(&self) -> u64;

    /// Today's UTC date.
    fn today(&self) -> Date {
        Date::from_unix_ms(self.now_ms())
    }
}

/// A shared clock.
pub type SharedClock = Arc<dyn Clock>;

/// The operating system's wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }
}

/// The system clock, shared.
pub fn system() -> SharedClock {
    Arc::new(SystemClock)
}

/// A clock that moves only when told to: for tests that judge dates, expiry and rate limits.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicU64);

impl ManualClock {
    /// A clock stopped at `now_ms`.
    pub fn at(now_ms: u64) -> Arc<ManualClock> {
        Arc::new(ManualClock(AtomicU64::new(now_ms)))
    }

    /// A clock stopped at noon UTC of `date` (`YYYY-MM-DD`).
    pub fn at_date(date: &str) -> Arc<ManualClock> {
        let day = Date::parse(date).expect("a YYYY-MM-DD date");
        ManualClock::at(day.days() as u64 * 86_400_000 + 12 * 3_600_000)
    }

    /// Sets the time.
    pub fn set(&self, now_ms: u64) {
        self.0.store(now_ms, Ordering::SeqCst);
    }

    /// Moves the time forward by `ms`.
    pub fn advance(&self, ms: u64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }

    /// Moves the time forward by whole days.
    pub fn advance_days(&self, days: u64) {
        self.advance(days * 86_400_000);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}
