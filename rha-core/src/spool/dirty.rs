//! Dirty-region tracking: which parts of which files or volumes changed
//! after the spool overflowed, as a compact range set per target.

use std::collections::BTreeMap;

use super::Corruption;
use crate::journal::Op;

/// What a dirty region belongs to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RegionTarget {
    /// A file or directory, by its scenario-relative path (raw bytes).
    File(Vec<u8>),
    /// A volume, by the index the scenario gave it.
    Volume(u32),
}

/// The end of a range that reaches the end of the file or volume (and, for
/// a file, means that its existence, length or attributes may have changed).
pub const TO_END: u64 = u64::MAX;

/// A set of changed byte ranges per file and per volume.
///
/// Ranges are half-open `[start, end)`, kept sorted, merged when they
/// overlap or touch, and widened to multiples of the granularity (a
/// bitmap-like resolution: 4 KiB by default), so the set stays compact
/// however many small writes arrive. An end of [`TO_END`] reaches the end of
/// the target. Operations that change a file as a whole (create, delete,
/// rename, attributes, ...) mark `[0, TO_END)` of each path they name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirtyRegions {
    granularity: u64,
    targets: BTreeMap<RegionTarget, BTreeMap<u64, u64>>,
}

impl Default for DirtyRegions {
    fn default() -> Self {
        Self::new(4096)
    }
}

impl DirtyRegions {
    /// An empty set with ranges rounded to `granularity` bytes (at least 1).
    pub fn new(granularity: u64) -> Self {
        Self {
            granularity: granularity.max(1),
            targets: BTreeMap::new(),
        }
    }

    /// The rounding granularity in bytes.
    pub fn granularity(&self) -> u64 {
        self.granularity
    }

    /// Whether nothing is marked.
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// The number of ranges held, over all targets.
    pub fn range_count(&self) -> usize {
        self.targets.values().map(BTreeMap::len).sum()
    }

    /// Marks `[start, end)` of `target` as changed. An empty range marks
    /// nothing.
    pub fn mark(&mut self, target: RegionTarget, start: u64, end: u64) {
        if start >= end {
            return;
        }
        let g = self.granularity;
        let mut start = start - start % g;
        let mut end = match end % g {
            0 => end,
            r => end.checked_add(g - r).unwrap_or(TO_END),
        };
        let ranges = self.targets.entry(target).or_default();
        // Absorb every range that overlaps or touches [start, end).
        let overlapping: Vec<(u64, u64)> = ranges
            .range(..=end)
            .rev()
            .take_while(|&(_, &e)| e >= start)
            .map(|(&s, &e)| (s, e))
            .collect();
        for (s, e) in overlapping {
            ranges.remove(&s);
            start = start.min(s);
            end = end.max(e);
        }
        ranges.insert(start, end);
    }

    /// Marks what `op` changed. Control records (bookmarks, transactions,
    /// sync barriers, epochs) change no data and mark nothing.
    pub fn mark_op(&mut self, op: &Op) {
        let whole =
            |s: &mut Self, path: &[u8]| s.mark(RegionTarget::File(path.to_vec()), 0, TO_END);
        match op {
            Op::Write { path, offset, data } => {
                let end = offset.saturating_add(data.len() as u64);
                self.mark(RegionTarget::File(path.as_bytes().to_vec()), *offset, end);
            }
            Op::SetLen { path, len } => {
                self.mark(RegionTarget::File(path.as_bytes().to_vec()), *len, TO_END)
            }
            Op::Create { path, .. }
            | Op::Delete { path }
            | Op::Mkdir { path, .. }
            | Op::Rmdir { path }
            | Op::Symlink { path, .. }
            | Op::SetAttr { path, .. }
            | Op::SetXattr { path, .. }
            | Op::RemoveXattr { path, .. }
            | Op::Mknod { path, .. }
            | Op::ClearXattrs { path } => whole(self, path.as_bytes()),
            Op::Rename { from, to } => {
                whole(self, from.as_bytes());
                whole(self, to.as_bytes());
            }
            Op::HardLink { existing, link } => {
                whole(self, existing.as_bytes());
                whole(self, link.as_bytes());
            }
            Op::BlockWrite {
                volume,
                offset,
                data,
            } => {
                let end = offset.saturating_add(data.len() as u64);
                self.mark(RegionTarget::Volume(*volume), *offset, end);
            }
            Op::Discard {
                volume,
                offset,
                len,
            } => self.mark(
                RegionTarget::Volume(*volume),
                *offset,
                offset.saturating_add(*len),
            ),
            _ => {}
        }
    }

    /// Every target with its ranges, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&RegionTarget, Vec<(u64, u64)>)> + '_ {
        self.targets
            .iter()
            .map(|(t, r)| (t, r.iter().map(|(&s, &e)| (s, e)).collect()))
    }

    /// The ranges of one target (empty if it is clean).
    pub fn ranges(&self, target: &RegionTarget) -> Vec<(u64, u64)> {
        self.targets
            .get(target)
            .map(|r| r.iter().map(|(&s, &e)| (s, e)).collect())
            .unwrap_or_default()
    }

    /// Whether any byte of `[start, end)` of `target` is marked.
    pub fn is_dirty(&self, target: &RegionTarget, start: u64, end: u64) -> bool {
        self.targets.get(target).is_some_and(|r| {
            r.range(..end)
                .next_back()
                .is_some_and(|(_, &e)| e > start && start < end)
        })
    }

    /// Adds every range of `other` (rounded to this set's granularity).
    pub fn merge(&mut self, other: &DirtyRegions) {
        for (target, ranges) in other.targets() {
            for (&s, &e) in ranges {
                self.mark(target.clone(), s, e);
            }
        }
    }

    /// The set in the spool's dirty-region file format
    /// (`docs/spool-format.md`, "Dirty-region file"), checksum
    /// included: what [`from_bytes`](Self::from_bytes) reads back.
    pub fn to_bytes(&self) -> Vec<u8> {
        super::meta::encode_dirty(self)
    }

    /// Reads a set written by [`to_bytes`](Self::to_bytes). Damage (a bad
    /// checksum, a cut file, an unknown version) is a [`Corruption`] naming
    /// `file` and the offset.
    pub fn from_bytes(bytes: &[u8], file: &str) -> Result<Self, Corruption> {
        super::meta::decode_dirty(bytes).map_err(|e| Corruption {
            file: file.to_owned(),
            offset: e.offset,
            last_good_seq: None,
            reason: e.reason.to_owned(),
        })
    }

    /// Forgets everything.
    pub fn clear(&mut self) {
        self.targets.clear();
    }

    /// Inserts an already-rounded range when loading a saved set.
    pub(crate) fn insert_raw(&mut self, target: RegionTarget, start: u64, end: u64) {
        self.targets.entry(target).or_default().insert(start, end);
    }

    pub(crate) fn targets(&self) -> &BTreeMap<RegionTarget, BTreeMap<u64, u64>> {
        &self.targets
    }
}
