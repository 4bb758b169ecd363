//! The spool: a durable, bounded, crash-safe queue of journal records
//! (SPEC.md §4).
//!
//! A [`Spool`] holds records that cannot move on yet (link down, sync in
//! progress, replica paused). Records are appended to segment files in the
//! journal format; a consumer reads them back from any unacknowledged
//! position and acknowledges what it has applied or sent, and whole segments
//! behind the acknowledged position are reclaimed. A restart resumes right
//! after the last acknowledged record: nothing acknowledged comes back,
//! nothing durable is lost.
//!
//! - **Storage** is the narrow [`Storage`](crate::storage::Storage) trait
//!   of [`crate::storage`]: a real directory, memory with a crash model, or
//!   a fault injector. The segment store does not depend on spool semantics
//!   beyond the journal format.
//! - **Group commit**: producers append concurrently; the first to wait for
//!   durability writes and syncs everything encoded so far, and every
//!   producer whose records that sync covered wakes up.
//! - **Limits**: a maximum size and a minimum free space on the spool's
//!   file system; warning [`SpoolEvent`]s as usage crosses thresholds; when
//!   full, an append fails, blocks for room, or overflows under the
//!   [`OverflowPolicy`] (stop, or degrade to [`DirtyRegions`]).
//!   The limits an open uses are stored in the directory ([`SpoolLimits`],
//!   [`read_limits`]) so tools report usage against them.
//! - **Recovery**: a torn tail is truncated and reported; other damage
//!   refuses to open with the file, offset and last good sequence number,
//!   unless salvage mode is on. After a failed write or sync the handle
//!   refuses further writes until it is reopened.
//!
//! The on-disk layout is specified in `docs/spool-format.md`.

mod ack;
mod append;
mod buffer;
mod commit;
mod config;
mod dirty;
mod error;
mod flush;
mod journal_bytes;
mod limits_file;
mod meta;
mod reader;
mod recover;
#[allow(clippy::module_inception)]
mod spool;
mod tail;
mod verify;

#[cfg(test)]
mod crash_tests;
#[cfg(test)]
mod frames_tests;
#[cfg(test)]
mod journal_bytes_tests;
#[cfg(test)]
mod recycle_tests;
#[cfg(test)]
mod tests;

pub use config::{
    AppendOptions, OverflowPolicy, SpoolConfig, SpoolEvent, SpoolUsage, Ticket, WhenFull,
};
pub use dirty::{DirtyRegions, RegionTarget, TO_END};
pub use error::{AckError, AppendError, Corruption, FullReason, OpenError, ReadError, ResetError};
pub use journal_bytes::JournalAppend;
pub use limits_file::{
    read_limits, SpoolLimits, LIMITS_FILE, LIMITS_MAGIC, LIMITS_VERSION, MAX_LIMITS_FILE,
    MAX_WARN_THRESHOLDS,
};
pub use meta::{
    SpoolMode, DIRTY_FILE, DIRTY_MAGIC, MAX_DIRTY_FILE, META_VERSION, STATE_FILE, STATE_LEN,
    STATE_MAGIC, TMP_SUFFIX,
};
pub use reader::{RecordFrames, SpoolReader};
pub use recover::{parse_segment_name, segment_name, Recovery, TornTail, SEGMENT_SUFFIX};
pub use spool::Spool;
pub use verify::{inspect, Inspection, SegmentInfo};
