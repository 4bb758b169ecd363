//! Spool settings, append options, usage and events.

use std::time::Duration;

use super::meta::SpoolMode;
use crate::journal::DEFAULT_MAX_RECORD_SIZE;

/// What the spool does once it is full and an append asks it to overflow
/// ([`WhenFull::Overflow`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverflowPolicy {
    /// Refuse every further append ([`AppendError::Stopped`](super::AppendError))
    /// until [`Spool::reset`](super::Spool::reset). Everything already
    /// spooled stays intact; the scenario must resynchronise.
    Stop,
    /// Stop storing records and keep, durably, only which regions of which
    /// files and volumes they change ([`DirtyRegions`](super::DirtyRegions)),
    /// so that the resync copies only those.
    DegradeToDirtyRegions,
}

/// Settings for [`Spool::open`](super::Spool::open).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SpoolConfig {
    /// A segment is closed and a new one started once it holds this many
    /// bytes. Default: 64 MiB.
    pub segment_bytes: u64,
    /// Maximum spool size in bytes (segments on disk); `None`: unlimited
    /// (the default, SPEC.md §4).
    pub max_bytes: Option<u64>,
    /// Free space the spool leaves on its file system. Default: 1 GiB.
    pub min_free_bytes: u64,
    /// Usage percentages (of the capacity the limits allow) at which a
    /// [`SpoolEvent::UsageAbove`] is raised. Default: 80 and 90.
    pub warn_percent: Vec<u8>,
    /// What happens on overflow. Default: [`OverflowPolicy::Stop`].
    pub overflow: OverflowPolicy,
    /// The sequence number of the first record of a new spool. Default: 1.
    pub first_seq: u64,
    /// The largest record body accepted. Default: 64 MiB.
    pub max_record_size: usize,
    /// Dirty regions are widened to multiples of this many bytes. Default: 4096.
    pub dirty_granularity: u64,
    /// On open, keep what precedes a corruption instead of refusing to open
    /// (what follows it is discarded and reported). Default: off.
    pub salvage: bool,
    /// Appends that do not wait for durability write what is encoded
    /// (without syncing) once this many bytes are waiting, so memory stays
    /// bounded. Default: 8 MiB.
    pub max_unflushed_bytes: usize,
}

impl Default for SpoolConfig {
    fn default() -> Self {
        Self {
            segment_bytes: 64 << 20,
            max_bytes: None,
            min_free_bytes: 1 << 30,
            warn_percent: vec![80, 90],
            overflow: OverflowPolicy::Stop,
            first_seq: 1,
            max_record_size: DEFAULT_MAX_RECORD_SIZE,
            dirty_granularity: 4096,
            salvage: false,
            max_unflushed_bytes: 8 << 20,
        }
    }
}

impl SpoolConfig {
    /// Sets [`segment_bytes`](Self::segment_bytes).
    pub fn segment_bytes(mut self, n: u64) -> Self {
        self.segment_bytes = n;
        self
    }
    /// Sets [`max_bytes`](Self::max_bytes).
    pub fn max_bytes(mut self, n: Option<u64>) -> Self {
        self.max_bytes = n;
        self
    }
    /// Sets [`min_free_bytes`](Self::min_free_bytes).
    pub fn min_free_bytes(mut self, n: u64) -> Self {
        self.min_free_bytes = n;
        self
    }
    /// Sets [`warn_percent`](Self::warn_percent).
    pub fn warn_percent(mut self, p: Vec<u8>) -> Self {
        self.warn_percent = p;
        self
    }
    /// Sets [`overflow`](Self::overflow).
    pub fn overflow(mut self, p: OverflowPolicy) -> Self {
        self.overflow = p;
        self
    }
    /// Sets [`first_seq`](Self::first_seq).
    pub fn first_seq(mut self, seq: u64) -> Self {
        self.first_seq = seq;
        self
    }
    /// Sets [`max_record_size`](Self::max_record_size).
    pub fn max_record_size(mut self, n: usize) -> Self {
        self.max_record_size = n;
        self
    }
    /// Sets [`dirty_granularity`](Self::dirty_granularity).
    pub fn dirty_granularity(mut self, n: u64) -> Self {
        self.dirty_granularity = n;
        self
    }
    /// Sets [`max_unflushed_bytes`](Self::max_unflushed_bytes).
    pub fn max_unflushed_bytes(mut self, n: usize) -> Self {
        self.max_unflushed_bytes = n;
        self
    }
    /// Sets [`salvage`](Self::salvage).
    pub fn salvage(mut self, on: bool) -> Self {
        self.salvage = on;
        self
    }
}

/// What an append does when the spool is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenFull {
    /// Return [`AppendError::Full`](super::AppendError) at once; nothing changes.
    Fail,
    /// Wait up to this long for acknowledgements to make room, then return
    /// [`AppendError::Full`](super::AppendError).
    Block(Duration),
    /// Apply the [`OverflowPolicy`]: stop, or degrade to dirty regions.
    Overflow,
}

/// How one append behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendOptions {
    /// Return only once the record is durable (sharing one sync with every
    /// concurrent producer). Default: `true`.
    pub durable: bool,
    /// What to do when the spool is full. Default: [`WhenFull::Overflow`].
    pub when_full: WhenFull,
}

impl Default for AppendOptions {
    fn default() -> Self {
        Self {
            durable: true,
            when_full: WhenFull::Overflow,
        }
    }
}

impl AppendOptions {
    /// Appends that return before the record is durable (see
    /// [`Spool::wait`](super::Spool::wait)).
    pub fn no_wait() -> Self {
        Self {
            durable: false,
            ..Self::default()
        }
    }
    /// Sets [`durable`](Self::durable).
    pub fn durable(mut self, on: bool) -> Self {
        self.durable = on;
        self
    }
    /// Sets [`when_full`](Self::when_full).
    pub fn when_full(mut self, w: WhenFull) -> Self {
        self.when_full = w;
        self
    }
}

/// The result of an append: what happened to the record, and a ticket to
/// wait on for its durability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket {
    /// The record's sequence number, or `None` if the spool is degraded and
    /// only the regions it changes were recorded.
    pub seq: Option<u64>,
    /// The append's number: appends are numbered in order, and waiting for
    /// one covers every earlier one.
    pub commit: u64,
}

/// A monitoring event, taken with [`Spool::poll_event`](super::Spool::poll_event).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpoolEvent {
    /// Usage rose to or past a warning threshold (raised again only after
    /// usage has fallen below it).
    UsageAbove {
        /// The threshold crossed, in percent.
        percent: u8,
        /// Bytes held.
        used: u64,
        /// Bytes allowed by the limits.
        capacity: u64,
    },
    /// The spool overflowed and applied its policy.
    Overflow {
        /// The policy applied.
        policy: OverflowPolicy,
        /// The first record that was not spooled.
        at_seq: u64,
        /// Which limit.
        reason: super::FullReason,
    },
    /// A write or sync failed; the spool refuses writes until reopened.
    Failed {
        /// The failure.
        message: String,
    },
}

/// The spool's usage, limits and state, for monitoring.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SpoolUsage {
    /// Bytes held in segments (including bytes not yet written).
    pub used_bytes: u64,
    /// The configured maximum size.
    pub max_bytes: Option<u64>,
    /// Free bytes on the spool's file system, as last measured.
    pub free_bytes: u64,
    /// The configured minimum free space.
    pub min_free_bytes: u64,
    /// Bytes the spool may hold under both limits now.
    pub capacity_bytes: u64,
    /// Segment files.
    pub segments: usize,
    /// The oldest sequence number stored, if any.
    pub oldest_seq: Option<u64>,
    /// The sequence number the next record gets.
    pub next_seq: u64,
    /// Every record before this one is durable.
    pub durable_next_seq: u64,
    /// Every record before this one is acknowledged.
    pub resume_seq: u64,
    /// Normal, stopped or degraded.
    pub mode: SpoolMode,
    /// Dirty ranges recorded since a degrading overflow.
    pub dirty_ranges: usize,
    /// Whether an i/o failure has made the spool refuse writes.
    pub failed: bool,
}
