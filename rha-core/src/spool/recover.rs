//! Recovery: reading a spool directory back, checking every segment, and
//! repairing what a crash can leave behind.

use std::io;
use std::sync::Arc;

use super::config::SpoolConfig;
use super::dirty::DirtyRegions;
use super::error::{Corruption, OpenError};
use super::meta::{
    self, SpoolMode, StateFile, DIRTY_FILE, MAX_DIRTY_FILE, STATE_FILE, STATE_LEN, TMP_SUFFIX,
};
use super::tail;
use crate::journal::{Decoder, DecoderConfig, End, STREAM_HEADER_LEN};
use crate::storage::{Storage, StorageFile};

/// Segment files are named `seg-` + the first sequence number in 20 decimal
/// digits + this suffix.
pub const SEGMENT_SUFFIX: &str = ".rhaj";
const SEGMENT_PREFIX: &str = "seg-";
/// Reclaimed segment files kept for reuse are named `spare-` + the first
/// sequence number they held + [`SEGMENT_SUFFIX`].
const SPARE_PREFIX: &str = "spare-";
/// Spare segment files kept at most; further reclaimed segments are removed.
pub(crate) const MAX_SPARES: usize = 2;

/// The file name of the segment whose first record is `first_seq`.
pub fn segment_name(first_seq: u64) -> String {
    format!("{SEGMENT_PREFIX}{first_seq:020}{SEGMENT_SUFFIX}")
}

/// The file name a reclaimed segment whose first record was `first_seq`
/// takes while it waits to be reused.
pub(crate) fn spare_name(first_seq: u64) -> String {
    format!("{SPARE_PREFIX}{first_seq:020}{SEGMENT_SUFFIX}")
}

fn is_spare_name(name: &str) -> bool {
    name.strip_prefix(SPARE_PREFIX)
        .and_then(|n| n.strip_suffix(SEGMENT_SUFFIX))
        .is_some_and(|d| d.len() == 20 && d.bytes().all(|b| b.is_ascii_digit()))
}

/// The first sequence number of a segment file name, if it is one.
pub fn parse_segment_name(name: &str) -> Option<u64> {
    let digits = name
        .strip_prefix(SEGMENT_PREFIX)?
        .strip_suffix(SEGMENT_SUFFIX)?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// What opening found and repaired.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Recovery {
    /// Segment files kept.
    pub segments: usize,
    /// The oldest sequence number stored.
    pub oldest_seq: Option<u64>,
    /// The sequence number the next record gets.
    pub next_seq: u64,
    /// The first sequence number not acknowledged: reading resumes here.
    pub resume_seq: u64,
    /// A torn tail cut off the last segment.
    pub torn_tail: Option<TornTail>,
    /// Salvage mode: the damage everything after which was discarded.
    pub salvaged: Option<Corruption>,
    /// Salvage mode: segment files discarded whole after the damage.
    pub discarded: Vec<String>,
    /// Files removed as leftovers: unfinished metadata replacements, and
    /// segments every record of which was acknowledged.
    pub removed: Vec<String>,
    /// Whether no state file existed (a new spool).
    pub created: bool,
}

/// A torn tail found at the end of the last segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornTail {
    /// The segment file.
    pub file: String,
    /// The length of its intact prefix (where it is truncated).
    pub offset: u64,
    /// The bytes after it.
    pub discarded_bytes: u64,
    /// The last intact sequence number in the spool.
    pub last_good_seq: Option<u64>,
}

/// A segment that survived recovery.
pub(crate) struct ScannedSegment {
    pub first_seq: u64,
    pub name: String,
    pub file: Arc<dyn StorageFile>,
    pub len: u64,
    pub last_seq: u64,
}

pub(crate) struct Scanned {
    pub segments: Vec<ScannedSegment>,
    pub state: StateFile,
    pub dirty: DirtyRegions,
    pub report: Recovery,
    /// Spare segment files to reuse, by name.
    pub spares: Vec<String>,
}

fn io_err<'a>(doing: &'static str, file: &'a str) -> impl FnOnce(io::Error) -> OpenError + 'a {
    move |source| OpenError::Io {
        doing,
        file: file.to_string(),
        source,
    }
}

fn read_all(storage: &dyn Storage, name: &str, max: u64) -> Result<Vec<u8>, OpenError> {
    let file = storage.open(name).map_err(io_err("opening", name))?;
    let len = file.len().map_err(io_err("reading", name))?;
    if len > max {
        return Err(OpenError::Corrupt(Corruption {
            file: name.to_string(),
            offset: 0,
            last_good_seq: None,
            reason: format!("file is {len} bytes, at most {max} expected"),
        }));
    }
    let mut buf = vec![0; len as usize];
    file.read_at(0, &mut buf).map_err(io_err("reading", name))?;
    Ok(buf)
}

fn meta_corrupt(file: &str, e: meta::MetaError) -> OpenError {
    OpenError::Corrupt(Corruption {
        file: file.to_string(),
        offset: e.offset,
        last_good_seq: None,
        reason: e.reason.to_string(),
    })
}

/// How one segment decodes.
enum SegScan {
    /// The records end cleanly at `end` (bytes after it are stale slack).
    Clean {
        last: Option<u64>,
        end: u64,
    },
    Torn {
        offset: u64,
        tail: u64,
        last: Option<u64>,
    },
    Corrupt(Corruption),
}

impl Recovery {
    /// Reports what recovery found and repaired to `tracing`: a torn tail
    /// and a salvage as warnings, the rest at debug level.
    pub(crate) fn log(&self) {
        if let Some(t) = &self.torn_tail {
            tracing::warn!(
                file = %t.file,
                offset = t.offset,
                bytes = t.discarded_bytes,
                last_good_seq = t.last_good_seq,
                "torn tail truncated"
            );
        }
        if let Some(c) = &self.salvaged {
            tracing::warn!(
                file = %c.file,
                offset = c.offset,
                last_good_seq = c.last_good_seq,
                reason = %c.reason,
                discarded = self.discarded.len(),
                "spool salvaged: records from the damage on were discarded"
            );
        }
        for file in &self.removed {
            tracing::debug!(%file, "leftover file removed");
        }
        tracing::debug!(
            segments = self.segments,
            oldest_seq = self.oldest_seq,
            next_seq = self.next_seq,
            resume_seq = self.resume_seq,
            created = self.created,
            "spool recovered"
        );
    }
}

/// Decodes a segment. `next_first` is the next segment's first sequence
/// number for a sealed segment, `None` for the newest; see [`super::tail`]
/// for where a segment ends.
fn scan_segment(
    file: &dyn StorageFile,
    name: &str,
    first_seq: u64,
    prev_last: Option<u64>,
    next_first: Option<u64>,
    config: &SpoolConfig,
) -> Result<(SegScan, u64), OpenError> {
    let len = file.len().map_err(io_err("reading", name))?;
    let bytes = file.map(len).map_err(io_err("reading", name))?;
    let max = config.max_record_size;
    let mut decoder = Decoder::new(
        DecoderConfig::default()
            .first_seq(Some(first_seq))
            .max_record_size(max),
    );
    decoder.feed_bytes(bytes.clone());
    let stop_after = next_first.map(|n| n.saturating_sub(1));
    let mut last = None;
    let mut failed = None;
    loop {
        match decoder.next_record_ref() {
            Ok(Some(rec)) => {
                last = Some(rec.seq);
                if last == stop_after {
                    break;
                }
            }
            Ok(None) => break,
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
    }
    let corrupt = |offset: u64, reason: String, last: Option<u64>| {
        SegScan::Corrupt(Corruption {
            file: name.to_string(),
            offset,
            last_good_seq: last.or(prev_last),
            reason,
        })
    };
    // Records of this segment's generation behind its end mean the end is
    // damage, not the place a write stopped.
    let later = |end: u64, from: u64, why: &str| {
        tail::later_frame(&bytes, from, first_seq, max).map(|at| {
            corrupt(
                end,
                format!("{why}, but a record of this segment follows at offset {at}"),
                last,
            )
        })
    };
    if last.is_some() && last == stop_after {
        // A sealed segment's records end here; the rest is slack.
        let end = decoder.offset();
        let scan = later(end, end, "the segment's records end here")
            .unwrap_or(SegScan::Clean { last, end });
        return Ok((scan, len));
    }
    if let Some(e) = failed {
        if next_first.is_some() {
            return Ok((
                corrupt(e.offset, e.kind.to_string(), e.last_good_seq.or(last)),
                len,
            ));
        }
        let (stop, from) = tail::classify(&bytes, e.offset, first_seq, max);
        let scan = match later(e.offset, from, &e.kind.to_string()) {
            Some(c) => c,
            None if stop == tail::Stop::Stale => SegScan::Clean {
                last,
                end: e.offset,
            },
            None => SegScan::Torn {
                offset: e.offset,
                tail: len - e.offset,
                last,
            },
        };
        return Ok((scan, len));
    }
    let scan = match decoder.finish() {
        Ok(End::Clean { .. }) => SegScan::Clean { last, end: len },
        Ok(End::TornTail { offset, tail_len }) => {
            let (_, from) = tail::classify(&bytes, offset, first_seq, max);
            let torn = SegScan::Torn {
                offset,
                tail: tail_len,
                last,
            };
            match next_first {
                Some(_) => torn,
                None => later(offset, from, "the last write was cut short here").unwrap_or(torn),
            }
        }
        Err(e) => corrupt(e.offset, e.kind.to_string(), e.last_good_seq.or(last)),
    };
    Ok((scan, len))
}

/// How much recovery may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Repair {
    /// Change nothing; report torn tails, fail on corruption.
    ReadOnly,
    /// Truncate a torn tail, remove leftovers; fail on corruption (or, with
    /// `config.salvage`, cut everything from the damage on).
    Repair,
}

/// Reads the spool in `storage`, checks it, and (unless read-only) repairs it.
pub(crate) fn scan(
    storage: &dyn Storage,
    config: &SpoolConfig,
    repair: Repair,
) -> Result<Scanned, OpenError> {
    let writable = repair == Repair::Repair;
    let salvage = writable && config.salvage;
    let mut report = Recovery::default();
    let names = storage.list().map_err(io_err("listing", ""))?;
    let mut dir_changed = false;

    let mut segs: Vec<(u64, String)> = Vec::new();
    let mut spares: Vec<String> = Vec::new();
    for name in &names {
        if name.ends_with(TMP_SUFFIX) {
            if writable {
                storage.remove(name).map_err(io_err("removing", name))?;
                dir_changed = true;
            }
            report.removed.push(name.clone());
        } else if let Some(seq) = parse_segment_name(name) {
            segs.push((seq, name.clone()));
        } else if is_spare_name(name) {
            spares.push(name.clone());
        }
    }
    segs.sort();
    spares.sort();

    let state = if names.iter().any(|n| n == STATE_FILE) {
        let b = read_all(storage, STATE_FILE, STATE_LEN as u64 * 4)?;
        Some(StateFile::decode(&b).map_err(|e| meta_corrupt(STATE_FILE, e))?)
    } else {
        None
    };
    let dirty = if names.iter().any(|n| n == DIRTY_FILE) {
        let b = read_all(storage, DIRTY_FILE, MAX_DIRTY_FILE)?;
        meta::decode_dirty(&b).map_err(|e| meta_corrupt(DIRTY_FILE, e))?
    } else {
        DirtyRegions::new(config.dirty_granularity)
    };
    let mut state = match state {
        Some(s) => s,
        None if segs.is_empty() => {
            report.created = true;
            StateFile {
                resume_seq: config.first_seq,
                mode: SpoolMode::Normal,
            }
        }
        None => {
            let c = Corruption {
                file: STATE_FILE.to_string(),
                offset: 0,
                last_good_seq: None,
                reason: "state file is missing but segments exist".to_string(),
            };
            if !salvage {
                return Err(OpenError::Corrupt(c));
            }
            report.salvaged = Some(c);
            StateFile {
                resume_seq: segs[0].0,
                mode: SpoolMode::Normal,
            }
        }
    };

    let mut kept: Vec<ScannedSegment> = Vec::new();
    let mut prev_last: Option<u64> = None;
    let count = segs.len();
    let mut cut_rest = false;
    let firsts: Vec<u64> = segs.iter().map(|(first, _)| *first).collect();
    for (i, (first, name)) in segs.into_iter().enumerate() {
        let next_first = firsts.get(i + 1).copied();
        if cut_rest {
            if writable {
                storage.remove(&name).map_err(io_err("removing", &name))?;
                dir_changed = true;
            }
            report.discarded.push(name);
            continue;
        }
        let is_last = i + 1 == count;
        let file = storage.open(&name).map_err(io_err("opening", &name))?;
        let expected = prev_last.map(|p| p.saturating_add(1));
        let gap = match expected {
            Some(e) if e != first => Some(format!(
                "sequence gap: segment starts at {first}, expected {e}"
            )),
            None if first > state.resume_seq => Some(format!(
                "records {} to {} are missing: the oldest segment starts at {first}",
                state.resume_seq,
                first - 1
            )),
            _ => None,
        };
        let (outcome, len) = match gap {
            Some(reason) => (
                SegScan::Corrupt(Corruption {
                    file: name.clone(),
                    offset: 0,
                    last_good_seq: prev_last,
                    reason,
                }),
                0,
            ),
            None => scan_segment(&*file, &name, first, prev_last, next_first, config)?,
        };
        let (keep_len, last) = match outcome {
            SegScan::Clean { last, end } => (end, last),
            SegScan::Torn { offset, tail, last } if is_last => {
                report.torn_tail = Some(TornTail {
                    file: name.clone(),
                    offset,
                    discarded_bytes: tail,
                    last_good_seq: last.or(prev_last),
                });
                (offset, last)
            }
            SegScan::Torn { offset, tail, last } => {
                let c = Corruption {
                    file: name.clone(),
                    offset,
                    last_good_seq: last.or(prev_last),
                    reason: format!("a sealed segment ends inside a frame ({tail} bytes)"),
                };
                if !salvage {
                    return Err(OpenError::Corrupt(c));
                }
                report.salvaged = Some(c);
                cut_rest = true;
                (offset, last)
            }
            SegScan::Corrupt(c) => {
                if !salvage {
                    return Err(OpenError::Corrupt(c));
                }
                let offset = if c.offset < STREAM_HEADER_LEN as u64 {
                    0
                } else {
                    c.offset
                };
                report.salvaged = Some(c);
                cut_rest = true;
                // Records before the damage decoded; find the last of them.
                let last = last_seq_before(&*file, &name, first, offset, config)?;
                (offset, last)
            }
        };
        let Some(last) = last else {
            // No intact record: the file goes.
            if writable {
                storage.remove(&name).map_err(io_err("removing", &name))?;
                dir_changed = true;
            }
            if report.torn_tail.is_none() && report.salvaged.is_none() {
                report.removed.push(name);
            }
            continue;
        };
        if keep_len < len && writable {
            file.set_len(keep_len)
                .map_err(io_err("truncating", &name))?;
            file.sync().map_err(io_err("syncing", &name))?;
        }
        prev_last = Some(last);
        kept.push(ScannedSegment {
            first_seq: first,
            name,
            file,
            len: keep_len,
            last_seq: last,
        });
    }

    let next_seq = match kept.last() {
        Some(s) => s.last_seq.saturating_add(1),
        None => state.resume_seq,
    };
    if state.resume_seq > next_seq {
        let c = Corruption {
            file: STATE_FILE.to_string(),
            offset: 16,
            last_good_seq: next_seq.checked_sub(1),
            reason: format!(
                "acknowledged position {} is beyond the stored records (next: {next_seq})",
                state.resume_seq
            ),
        };
        if !salvage {
            return Err(OpenError::Corrupt(c));
        }
        report.salvaged.get_or_insert(c);
        state.resume_seq = next_seq;
    }
    // Segments whose every record is acknowledged are reclaimed.
    let mut live = Vec::with_capacity(kept.len());
    for seg in kept {
        if seg.last_seq < state.resume_seq {
            if writable {
                storage
                    .remove(&seg.name)
                    .map_err(io_err("removing", &seg.name))?;
                dir_changed = true;
            }
            report.removed.push(seg.name);
        } else {
            live.push(seg);
        }
    }
    // Spares hold only sequence numbers below any the spool writes again,
    // which lets a recycled segment's stale frames be told from new ones.
    // Salvage can move the next sequence number back: spares then go.
    let keep = if report.salvaged.is_some() {
        0
    } else {
        MAX_SPARES
    };
    if spares.len() > keep {
        for name in spares.split_off(keep) {
            if writable {
                storage.remove(&name).map_err(io_err("removing", &name))?;
                dir_changed = true;
            }
            report.removed.push(name);
        }
    }
    if dir_changed {
        storage.sync_dir().map_err(io_err("syncing", ""))?;
    }
    report.segments = live.len();
    report.oldest_seq = live.first().map(|s| s.first_seq);
    report.next_seq = next_seq.max(state.resume_seq);
    report.resume_seq = state.resume_seq;
    Ok(Scanned {
        segments: live,
        state,
        dirty,
        report,
        spares,
    })
}

/// The last sequence number that decodes in the first `len` bytes of a segment.
fn last_seq_before(
    file: &dyn StorageFile,
    name: &str,
    first_seq: u64,
    len: u64,
    config: &SpoolConfig,
) -> Result<Option<u64>, OpenError> {
    let bytes = file.map(len).map_err(io_err("reading", name))?;
    let mut decoder = Decoder::new(
        DecoderConfig::default()
            .first_seq(Some(first_seq))
            .max_record_size(config.max_record_size),
    );
    decoder.feed_bytes(bytes);
    let mut last = None;
    while let Ok(Some(rec)) = decoder.next_record_ref() {
        last = Some(rec.seq);
    }
    Ok(last)
}
