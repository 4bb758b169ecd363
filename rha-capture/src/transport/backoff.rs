//! How long to wait before reconnecting: exponential backoff with
//! decorrelated jitter, bounded, reset after a success.
//!
//! Each delay is drawn uniformly between the minimum and three times the
//! previous delay, then capped at the maximum (the "decorrelated jitter"
//! of Brooker, *Exponential Backoff And Jitter*, AWS 2015): delays grow
//! about threefold per failure until the cap, and peers that failed at the
//! same moment spread out instead of reconnecting in lockstep. Once grown,
//! the delays spread over the whole range rather than sitting at the cap
//! (with 100 ms and 60 s, they average about 7 s).

use std::time::Duration;

/// The delays between reconnection attempts.
///
/// Randomness comes from a seed, so tests are deterministic; an agent
/// seeds it with something that differs between hosts and runs (its
/// process id and the time, or `std::collections::hash_map::RandomState`).
///
/// ```
/// use std::time::Duration;
/// use rha_capture::transport::Backoff;
///
/// let (min, max) = (Duration::from_millis(100), Duration::from_secs(30));
/// let mut backoff = Backoff::new(min, max, 42);
/// let first = backoff.next_delay();
/// assert!(first >= min && first <= min * 3);
/// for _ in 0..50 {
///     let d = backoff.next_delay();
///     assert!(d >= min && d <= max);
/// }
/// backoff.reset(); // connected: start again from the minimum
/// assert!(backoff.next_delay() <= min * 3);
/// ```
#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    previous: Duration,
    attempts: u32,
    rng: SplitMix64,
}

impl Backoff {
    /// Delays between `min` and `max` (`max` below `min` is taken as
    /// `min`), with randomness from `seed`.
    pub fn new(min: Duration, max: Duration, seed: u64) -> Self {
        Self {
            min,
            max: max.max(min),
            previous: min,
            attempts: 0,
            rng: SplitMix64(seed),
        }
    }

    /// The delay before the next attempt (after a failed one).
    pub fn next_delay(&mut self) -> Duration {
        let delay = step(self.min, self.max, self.previous, self.rng.unit());
        self.previous = delay;
        self.attempts = self.attempts.saturating_add(1);
        delay
    }

    /// A connection succeeded: the next delay starts from the minimum.
    pub fn reset(&mut self) {
        self.previous = self.min;
        self.attempts = 0;
    }

    /// Delays handed out since the last reset.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }
}

/// The delay after `previous`, for `unit` in [0, 1): uniform in
/// [min, 3 × previous], capped at `max`.
fn step(min: Duration, max: Duration, previous: Duration, unit: f64) -> Duration {
    let high = previous.saturating_mul(3).min(max).max(min);
    let span = (high - min).as_secs_f64();
    (min + Duration::from_secs_f64(span * unit.clamp(0.0, 1.0))).min(max)
}

/// A small seeded generator (SplitMix64, Steele et al. 2014): good enough
/// to spread reconnections, and needs no dependency.
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_millis(100);
    const MAX: Duration = Duration::from_secs(60);

    #[test]
    fn delays_stay_within_the_bounds() {
        for seed in 0..200 {
            let mut b = Backoff::new(MIN, MAX, seed);
            for _ in 0..100 {
                let d = b.next_delay();
                assert!(d >= MIN && d <= MAX, "seed {seed}: {d:?}");
            }
        }
    }

    #[test]
    fn the_ceiling_triples_until_the_cap() {
        // With the highest draw every time, each delay is three times the
        // last, until the maximum.
        let mut previous = MIN;
        let mut seen = Vec::new();
        for _ in 0..10 {
            previous = step(MIN, MAX, previous, 1.0);
            seen.push(previous);
        }
        let close = |a: Duration, b: Duration| a.abs_diff(b) < Duration::from_micros(1);
        assert!(close(seen[0], MIN * 3), "{seen:?}");
        assert!(close(seen[1], MIN * 9), "{seen:?}");
        assert!(close(seen[4], MIN * 243), "{seen:?}");
        assert_eq!(seen[5], MAX);
        assert_eq!(seen[9], MAX);
        // The lowest draw is the minimum.
        assert_eq!(step(MIN, MAX, MAX, 0.0), MIN);
    }

    #[test]
    fn delays_grow_then_reset() {
        let mut b = Backoff::new(MIN, MAX, 7);
        let early: Duration = (0..3).map(|_| b.next_delay()).sum();
        for _ in 0..30 {
            b.next_delay();
        }
        let late: Duration = (0..20).map(|_| b.next_delay()).sum::<Duration>() / 20;
        assert!(late > MIN * 20, "late mean {late:?}");
        assert!(early < MIN * 30, "early sum {early:?}");
        assert_eq!(b.attempts(), 53);
        b.reset();
        assert_eq!(b.attempts(), 0);
        assert!(b.next_delay() <= MIN * 3);
    }

    #[test]
    fn the_same_seed_gives_the_same_delays_and_others_differ() {
        let run = |seed| {
            let mut b = Backoff::new(MIN, MAX, seed);
            (0..8).map(|_| b.next_delay()).collect::<Vec<_>>()
        };
        assert_eq!(run(1), run(1));
        assert_ne!(run(1), run(2));
    }

    #[test]
    fn a_maximum_below_the_minimum_is_the_minimum() {
        let mut b = Backoff::new(MIN, Duration::ZERO, 3);
        assert_eq!(b.next_delay(), MIN);
    }

    #[test]
    fn unit_draws_are_in_range() {
        let mut r = SplitMix64(0);
        for _ in 0..10_000 {
            let u = r.unit();
            assert!((0.0..1.0).contains(&u));
        }
    }
}
