//! Looking at a spool directory without opening it for writing: what
//! `rha spool inspect` and `rha spool verify` show.

use super::config::SpoolConfig;
use super::dirty::DirtyRegions;
use super::error::OpenError;
use super::meta::SpoolMode;
use super::recover::{self, Recovery, Repair};
use super::storage::Storage;

/// One segment file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentInfo {
    /// The file name.
    pub name: String,
    /// Its first sequence number.
    pub first_seq: u64,
    /// Its last intact sequence number.
    pub last_seq: u64,
    /// Its intact length in bytes.
    pub bytes: u64,
}

/// What a spool directory holds, checked record by record.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Inspection {
    /// The segments kept, oldest first.
    pub segments: Vec<SegmentInfo>,
    /// Bytes in those segments.
    pub used_bytes: u64,
    /// The first sequence number not acknowledged.
    pub resume_seq: u64,
    /// The sequence number the next record gets.
    pub next_seq: u64,
    /// Normal, stopped or degraded.
    pub mode: SpoolMode,
    /// The dirty regions recorded.
    pub dirty: DirtyRegions,
    /// What recovery found (a torn tail; with salvage, what was cut).
    pub recovery: Recovery,
}

/// Checks every segment, the state file and the dirty-region file.
///
/// Without `salvage` nothing is changed: a torn tail is reported in
/// [`Inspection::recovery`] (opening the spool would truncate it) and any
/// other damage is [`OpenError::Corrupt`]. With `salvage`, the directory is
/// repaired as [`Spool::open`](super::Spool::open) in salvage mode would:
/// torn tails truncated, everything from a corruption on discarded.
pub fn inspect(
    storage: &dyn Storage,
    config: &SpoolConfig,
    salvage: bool,
) -> Result<Inspection, OpenError> {
    let config = config.clone().salvage(salvage);
    let repair = if salvage {
        Repair::Repair
    } else {
        Repair::ReadOnly
    };
    let scanned = recover::scan(storage, &config, repair)?;
    let segments: Vec<SegmentInfo> = scanned
        .segments
        .iter()
        .map(|s| SegmentInfo {
            name: s.name.clone(),
            first_seq: s.first_seq,
            last_seq: s.last_seq,
            bytes: s.len,
        })
        .collect();
    Ok(Inspection {
        used_bytes: segments.iter().map(|s| s.bytes).sum(),
        segments,
        resume_seq: scanned.report.resume_seq,
        next_seq: scanned.report.next_seq,
        mode: scanned.state.mode,
        dirty: scanned.dirty,
        recovery: scanned.report,
    })
}
