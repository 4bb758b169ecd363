//! Time as the state machines see it: a monotonic instant passed in by the
//! caller, never read from a clock.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A point on the caller's monotonic clock, in nanoseconds since an arbitrary
/// origin (for example `CLOCK_MONOTONIC`).
///
/// The machines only compare instants and add durations to them, so any
/// origin works as long as it does not change while a machine lives. A
/// restored machine keeps its deadlines: after an agent restart with a new
/// clock origin, pass instants on the old scale or expect timeouts to fire
/// early or late.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Instant(u64);

impl Instant {
    /// The instant `nanos` nanoseconds after the origin.
    pub const fn from_nanos(nanos: u64) -> Self {
        Self(nanos)
    }

    /// Nanoseconds since the origin.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// `self + d`, saturating at the largest instant.
    #[must_use]
    pub fn saturating_add(self, d: Duration) -> Self {
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        Self(self.0.saturating_add(nanos))
    }

    /// How long after `earlier` this instant is (zero if it is not later).
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "t={}.{:09}s",
            self.0 / 1_000_000_000,
            self.0 % 1_000_000_000
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates() {
        let t = Instant::from_nanos(u64::MAX - 1);
        assert_eq!(
            t.saturating_add(Duration::from_secs(1)),
            Instant::from_nanos(u64::MAX)
        );
        assert_eq!(
            Instant::from_nanos(5).saturating_duration_since(Instant::from_nanos(9)),
            Duration::ZERO
        );
        assert_eq!(
            Instant::from_nanos(1_500_000_000).to_string(),
            "t=1.500000000s"
        );
    }
}
