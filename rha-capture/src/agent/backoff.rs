//! Reconnection delays: exponential, with jitter.

use std::time::Duration;

/// Delays between reconnection attempts: each about twice the last, from
/// `min` up to `max`, each drawn at random from its upper half ("equal
/// jitter"), so that many agents that lost one link do not return in step.
#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    current: Duration,
    rng: u64,
}

impl Backoff {
    /// Delays from `min` to `max`, seeded from the clock.
    pub fn new(min: Duration, max: Duration) -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
            ^ u64::from(std::process::id()).rotate_left(32);
        Self::with_seed(min, max, seed)
    }

    /// Delays from `min` to `max` with a chosen seed (for tests).
    pub fn with_seed(min: Duration, max: Duration, seed: u64) -> Self {
        let min = min.max(Duration::from_millis(1));
        Self {
            min,
            max: max.max(min),
            current: min,
            rng: seed | 1,
        }
    }

    /// The delay before the next attempt.
    pub fn next_delay(&mut self) -> Duration {
        // xorshift64*: enough for jitter.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let r = self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D);
        let base = self.current;
        let half = base / 2;
        let jitter = half.mul_f64((r >> 11) as f64 / (1u64 << 53) as f64);
        self.current = (base * 2).min(self.max);
        half + jitter
    }

    /// After a successful connection: start from `min` again.
    pub fn reset(&mut self) {
        self.current = self.min;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_stay_in_bounds_and_reset() {
        let (min, max) = (Duration::from_millis(100), Duration::from_secs(2));
        let mut b = Backoff::with_seed(min, max, 42);
        let mut ceiling = min;
        for _ in 0..20 {
            let d = b.next_delay();
            assert!(
                d >= ceiling / 2 && d <= ceiling,
                "{d:?} outside {ceiling:?}"
            );
            ceiling = (ceiling * 2).min(max);
        }
        b.reset();
        assert!(b.next_delay() <= min);
        let a: Vec<_> = (0..5).map(|_| b.next_delay()).collect();
        let mut c = Backoff::with_seed(min, max, 43);
        c.next_delay();
        let d: Vec<_> = (0..5).map(|_| c.next_delay()).collect();
        assert_ne!(a, d, "different seeds jitter differently");
    }
}
