//! Is Alive: the standby's view of whether the active host still lives.
//!
//! Every heartbeat interval each link is checked (the embedder performs the
//! check: a ping with a 2 s reply limit, a database connect, a user command)
//! and reports the result. A link is silent from its last sign of life; the
//! active host is declared dead only when *every* link has been silent for
//! the is-alive timeout, so one broken path never causes a switchover.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::time::Instant;

/// Heartbeat bookkeeping for one standby watching one active host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IsAlive {
    interval: Duration,
    timeout: Duration,
    /// Last sign of life per link.
    last_seen: Vec<Instant>,
    /// When the next round of checks is due.
    next_check: Instant,
    /// Whether the active host has been declared dead (until a sign of life).
    dead: bool,
}

/// What a heartbeat result changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    /// Nothing worth reporting.
    Unchanged,
    /// The host had been declared dead and showed a sign of life again.
    Recovered,
}

impl IsAlive {
    /// Starts watching at `now` over `links` links: every link counts as
    /// seen at `now`, and the first checks are due at once.
    pub fn new(links: usize, interval: Duration, timeout: Duration, now: Instant) -> Self {
        Self {
            interval,
            timeout,
            last_seen: vec![now; links],
            next_check: now,
            dead: false,
        }
    }

    /// Restarts the timers at `now` after an agent restart (instants from
    /// before it are on another clock): every link counts as seen at `now`
    /// and checks are due at once. A failure already declared stays
    /// declared.
    pub fn restart(&mut self, now: Instant) {
        self.last_seen.iter_mut().for_each(|t| *t = now);
        self.next_check = now;
    }

    /// Records a check result on `link` at `now`. A result for a link that
    /// does not exist is ignored (it returns `None`).
    pub fn record(&mut self, link: usize, alive: bool, now: Instant) -> Option<Liveness> {
        let seen = self.last_seen.get_mut(link)?;
        if !alive {
            return Some(Liveness::Unchanged);
        }
        *seen = (*seen).max(now);
        if self.dead {
            self.dead = false;
            return Some(Liveness::Recovered);
        }
        Some(Liveness::Unchanged)
    }

    /// If a round of checks is due at `now`, schedules the next one and
    /// returns true: the caller then asks for one check per link.
    pub fn checks_due(&mut self, now: Instant) -> bool {
        if now < self.next_check {
            return false;
        }
        // Skip missed rounds instead of bursting through them.
        let mut next = self.next_check.saturating_add(self.interval);
        if next <= now {
            next = now.saturating_add(self.interval);
        }
        self.next_check = next;
        true
    }

    /// The instant at which every link will have been silent for the
    /// timeout, unless a sign of life arrives first.
    pub fn failure_deadline(&self) -> Instant {
        let latest = self.last_seen.iter().copied().max().unwrap_or_default();
        latest.saturating_add(self.timeout)
    }

    /// Whether, at `now`, every link has been silent for the timeout and
    /// the failure was not declared yet; if so it is declared now.
    pub fn declare_failure(&mut self, now: Instant) -> bool {
        if self.dead || now < self.failure_deadline() {
            return false;
        }
        self.dead = true;
        true
    }

    /// Whether the active host is currently declared dead.
    pub fn is_dead(&self) -> bool {
        self.dead
    }

    /// The earliest instant something happens without input: the next round
    /// of checks or the failure deadline.
    pub fn next_timeout(&self) -> Instant {
        if self.dead {
            self.next_check
        } else {
            self.next_check.min(self.failure_deadline())
        }
    }

    /// Links silent at `now` for longer than one heartbeat interval plus
    /// slack (for reporting a single broken link).
    pub fn silent_links(&self, now: Instant) -> impl Iterator<Item = usize> + '_ {
        let limit = self.interval.saturating_mul(2);
        self.last_seen
            .iter()
            .enumerate()
            .filter(move |(_, &t)| now.saturating_duration_since(t) > limit)
            .map(|(i, _)| i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Instant {
        Instant::from_nanos(s * 1_000_000_000)
    }

    #[test]
    fn failure_needs_every_link_silent_for_the_timeout() {
        let mut ia = IsAlive::new(
            2,
            Duration::from_secs(30),
            Duration::from_secs(300),
            secs(0),
        );
        // Link 1 keeps answering; link 0 is dead.
        for t in (0..=600).step_by(30) {
            assert!(ia.checks_due(secs(t)));
            assert_eq!(ia.record(1, true, secs(t)), Some(Liveness::Unchanged));
            assert_eq!(ia.record(0, false, secs(t)), Some(Liveness::Unchanged));
            assert!(!ia.declare_failure(secs(t)));
        }
        assert_eq!(ia.silent_links(secs(600)).collect::<Vec<_>>(), vec![0]);
        // Now link 1 goes silent too: dead exactly 300 s after its last reply.
        assert_eq!(ia.failure_deadline(), secs(900));
        assert!(!ia.declare_failure(secs(899)));
        assert!(ia.declare_failure(secs(900)));
        assert!(!ia.declare_failure(secs(901)), "declared once");
        assert!(ia.is_dead());
        assert_eq!(ia.record(0, true, secs(905)), Some(Liveness::Recovered));
        assert!(!ia.is_dead());
        assert_eq!(ia.record(7, true, secs(905)), None);
    }

    #[test]
    fn checks_run_every_interval_and_skip_missed_rounds() {
        let mut ia = IsAlive::new(
            1,
            Duration::from_secs(30),
            Duration::from_secs(300),
            secs(0),
        );
        assert!(ia.checks_due(secs(0)));
        assert!(!ia.checks_due(secs(29)));
        assert!(ia.checks_due(secs(30)));
        assert!(ia.checks_due(secs(200)));
        assert_eq!(ia.next_timeout(), secs(230));
        // A late result never moves the last sign of life backwards.
        ia.record(0, true, secs(100));
        ia.record(0, true, secs(50));
        assert_eq!(ia.failure_deadline(), secs(400));
    }
}
