//! The spool's flat C types: the closed sets of its settings and states,
//! and the structs its calls fill in.

use rha_core::spool::Recovery;

/// What a spool does when it overflows (`rha_spool_builder_set_overflow`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum rha_spool_policy {
    /// Refuse appends with `RHA_SPOOL_STOPPED` until reset.
    RHA_SPOOL_POLICY_STOP = 0,
    /// Stop storing records, record only the regions they change.
    RHA_SPOOL_POLICY_DEGRADE = 1,
}

closed_set!(rha_spool_policy {
    RHA_SPOOL_POLICY_STOP,
    RHA_SPOOL_POLICY_DEGRADE,
});

/// What an append does when the spool is full
/// (`rha_spool_append_options.when_full`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum rha_spool_when_full {
    /// Apply the overflow policy.
    RHA_SPOOL_WHEN_FULL_OVERFLOW = 0,
    /// Fail with `RHA_SPOOL_FULL` at once.
    RHA_SPOOL_WHEN_FULL_FAIL = 1,
    /// Wait up to `block_ms` for room, then fail with `RHA_SPOOL_FULL`.
    RHA_SPOOL_WHEN_FULL_BLOCK = 2,
}

closed_set!(rha_spool_when_full {
    RHA_SPOOL_WHEN_FULL_OVERFLOW,
    RHA_SPOOL_WHEN_FULL_FAIL,
    RHA_SPOOL_WHEN_FULL_BLOCK,
});

/// A spool's mode (`rha_spool_usage.mode`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum rha_spool_mode {
    /// Records are spooled.
    RHA_SPOOL_MODE_NORMAL = 0,
    /// Stopped after an overflow.
    RHA_SPOOL_MODE_STOPPED = 1,
    /// Degraded to dirty-region tracking after an overflow.
    RHA_SPOOL_MODE_DEGRADED = 2,
}

closed_set!(rha_spool_mode {
    RHA_SPOOL_MODE_NORMAL,
    RHA_SPOOL_MODE_STOPPED,
    RHA_SPOOL_MODE_DEGRADED,
});

/// The kind of a monitoring event (`rha_spool_event.kind`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum rha_spool_event_kind {
    /// Usage crossed a warning threshold upward.
    RHA_SPOOL_EVENT_USAGE = 1,
    /// The spool overflowed and applied its policy.
    RHA_SPOOL_EVENT_OVERFLOW = 2,
    /// A write or sync failed; the spool refuses writes until reopened.
    RHA_SPOOL_EVENT_FAILED = 3,
}

closed_set!(rha_spool_event_kind {
    RHA_SPOOL_EVENT_USAGE,
    RHA_SPOOL_EVENT_OVERFLOW,
    RHA_SPOOL_EVENT_FAILED,
});

/// How one append behaves. Initialise with `rha_spool_append_options_init`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct rha_spool_append_options {
    /// `sizeof` this struct as the caller knows it: set by
    /// `rha_spool_append_options_init` (see the conventions on structs with
    /// a size field).
    pub struct_size: u32,
    /// Return only once the record is durable (default `true`).
    pub durable: bool,
    /// An `rha_spool_when_full` value (default `RHA_SPOOL_WHEN_FULL_OVERFLOW`).
    pub when_full: u32,
    /// For `RHA_SPOOL_WHEN_FULL_BLOCK`: the longest wait, in milliseconds.
    pub block_ms: u64,
}

impl Default for rha_spool_append_options {
    fn default() -> Self {
        Self {
            struct_size: std::mem::size_of::<Self>() as u32,
            durable: true,
            when_full: rha_spool_when_full::RHA_SPOOL_WHEN_FULL_OVERFLOW as u32,
            block_ms: 0,
        }
    }
}

/// What an append did, and a ticket to wait on with `rha_spool_wait`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct rha_spool_ticket {
    /// `sizeof` this struct as the caller knows it: set before `rha_spool_append` fills it; `rha_spool_wait` checks it again
    /// (see the conventions on structs with a size field).
    pub struct_size: u32,
    /// The record's sequence number, if `spooled`.
    pub seq: u64,
    /// `true`: the record was stored; `false`: the spool is degraded and
    /// only the regions it changes were recorded.
    pub spooled: bool,
    /// The append's number: waiting for it covers every earlier append.
    pub commit: u64,
}

/// What opening a spool found and repaired.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct rha_spool_recovery {
    /// `sizeof` this struct as the caller knows it: set before the call
    /// (see the conventions on structs with a size field).
    pub struct_size: u32,
    /// The spool was new.
    pub created: bool,
    /// Segment files kept.
    pub segments: u64,
    /// The sequence number the next record gets.
    pub next_seq: u64,
    /// The first unacknowledged sequence number: reading resumes here.
    pub resume_seq: u64,
    /// A torn tail was cut off the last segment.
    pub torn: bool,
    /// If `torn`: the intact length of that segment.
    pub torn_offset: u64,
    /// If `torn`: the bytes cut off.
    pub torn_bytes: u64,
    /// Salvage mode cut the spool at a corruption.
    pub salvaged: bool,
    /// If `salvaged`: the byte offset of the damage in its file.
    pub salvage_offset: u64,
    /// If `salvaged`: segment files discarded whole.
    pub discarded_segments: u64,
}

/// Usage, limits and state of a spool.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct rha_spool_usage {
    /// `sizeof` this struct as the caller knows it: set before the call
    /// (see the conventions on structs with a size field).
    pub struct_size: u32,
    /// Bytes held in segments.
    pub used_bytes: u64,
    /// The maximum size; 0: unlimited.
    pub max_bytes: u64,
    /// Free bytes on the spool's file system, as last measured.
    pub free_bytes: u64,
    /// The minimum free space kept.
    pub min_free_bytes: u64,
    /// Bytes the spool may hold under both limits now.
    pub capacity_bytes: u64,
    /// Segment files.
    pub segments: u64,
    /// The oldest sequence number stored (equal to `next_seq` if none is).
    pub oldest_seq: u64,
    /// The sequence number the next record gets.
    pub next_seq: u64,
    /// Every record before this one is durable.
    pub durable_next_seq: u64,
    /// Every record before this one is acknowledged.
    pub resume_seq: u64,
    /// An `rha_spool_mode` value.
    pub mode: u32,
    /// If stopped or degraded: the first record not spooled.
    pub overflow_seq: u64,
    /// Dirty ranges recorded since a degrading overflow.
    pub dirty_ranges: u64,
    /// An i/o failure made the spool refuse writes until reopened.
    pub failed: bool,
}

sized_struct!(
    rha_spool_usage,
    rha_spool_recovery,
    rha_spool_event,
    rha_spool_append_options,
    rha_spool_ticket,
);

/// A monitoring event.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct rha_spool_event {
    /// `sizeof` this struct as the caller knows it: set before the call
    /// (see the conventions on structs with a size field).
    pub struct_size: u32,
    /// An `rha_spool_event_kind` value.
    pub kind: u32,
    /// USAGE: the threshold crossed, in percent.
    pub percent: u32,
    /// USAGE: bytes held.
    pub used_bytes: u64,
    /// USAGE: bytes allowed by the limits.
    pub capacity_bytes: u64,
    /// OVERFLOW: the first record not spooled; its policy is the spool's.
    pub overflow_seq: u64,
}

pub(crate) fn recovery_view(r: &Recovery) -> rha_spool_recovery {
    rha_spool_recovery {
        struct_size: 0,
        created: r.created,
        segments: r.segments as u64,
        next_seq: r.next_seq,
        resume_seq: r.resume_seq,
        torn: r.torn_tail.is_some(),
        torn_offset: r.torn_tail.as_ref().map_or(0, |t| t.offset),
        torn_bytes: r.torn_tail.as_ref().map_or(0, |t| t.discarded_bytes),
        salvaged: r.salvaged.is_some(),
        salvage_offset: r.salvaged.as_ref().map_or(0, |c| c.offset),
        discarded_segments: r.discarded.len() as u64,
    }
}
