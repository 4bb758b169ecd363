//! Looking at a spool directory without opening it for writing: what
//! `rha spool inspect` and `rha spool verify` show.

use super::config::SpoolConfig;
use super::dirty::DirtyRegions;
use super::error::OpenError;
use super::limits_file::{read_limits, SpoolLimits, LIMITS_FILE};
use super::meta::{SpoolMode, STATE_FILE};
use super::recover::{self, Recovery, Repair};
use crate::storage::Storage;

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
    /// The limits the spool was last opened with, if its directory stores
    /// them (spools written before limits were stored have none).
    pub limits: Option<SpoolLimits>,
}

/// Checks every segment, the state file, the dirty-region file and the
/// limits file.
///
/// Without `salvage` nothing is changed: a torn tail is reported in
/// [`Inspection::recovery`] (opening the spool would truncate it) and any
/// other damage is [`OpenError::Corrupt`]. With `salvage`, the directory is
/// repaired as [`Spool::open`](super::Spool::open) in salvage mode would:
/// torn tails truncated, everything from a corruption on discarded; a
/// damaged limits file is removed (the next open stores its limits) and
/// reported in [`Recovery::salvaged`] if nothing else was.
///
/// `config` supplies the bounds the scan checks records against (the
/// maximum record size); the stored limits are reported, not applied.
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
    let mut report = scanned.report;
    let limits = match read_limits(storage) {
        Ok(limits) => limits,
        Err(OpenError::Corrupt(c)) if salvage => {
            storage
                .remove(LIMITS_FILE)
                .and_then(|()| storage.sync_dir())
                .map_err(|source| OpenError::Io {
                    doing: "removing",
                    file: LIMITS_FILE.to_string(),
                    source,
                })?;
            report.salvaged.get_or_insert(c);
            None
        }
        Err(e) => return Err(e),
    };
    // A salvage that rebuilt the state (missing, or beyond the records)
    // stores it, so the spool opens afterwards, as `Spool::open` would.
    if salvage && report.salvaged.is_some() {
        let mut state = scanned.state;
        state.resume_seq = report.resume_seq;
        crate::storage::replace_file(storage, STATE_FILE, &state.encode()).map_err(|source| {
            OpenError::Io {
                doing: "writing",
                file: STATE_FILE.to_string(),
                source,
            }
        })?;
    }
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
        resume_seq: report.resume_seq,
        next_seq: report.next_seq,
        mode: scanned.state.mode,
        dirty: scanned.dirty,
        recovery: report,
        limits,
    })
}
