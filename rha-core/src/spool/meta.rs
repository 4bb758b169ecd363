//! The spool's small metadata files: the state file (acknowledged position
//! and mode) and the dirty-region file. Layouts in `docs/spool-format.md`.

use super::dirty::{DirtyRegions, RegionTarget};
use crate::journal::RelPath;

/// Name of the state file.
pub const STATE_FILE: &str = "state";
/// Name of the dirty-region file.
pub const DIRTY_FILE: &str = "dirty";
pub use crate::storage::TMP_SUFFIX;

/// Magic bytes of the state file.
pub const STATE_MAGIC: [u8; 8] = *b"\x89RHASPS\n";
/// Magic bytes of the dirty-region file.
pub const DIRTY_MAGIC: [u8; 8] = *b"\x89RHASPD\n";
/// Format version of both files.
pub const META_VERSION: u16 = 1;
/// Length of the state file.
pub const STATE_LEN: usize = 40;
/// The largest dirty-region file read, in bytes.
pub const MAX_DIRTY_FILE: u64 = 256 << 20;

/// Whether the spool is taking records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpoolMode {
    /// Records are spooled.
    Normal,
    /// The spool overflowed under the stop policy: appends are refused until
    /// a resync and [`Spool::reset`](super::Spool::reset).
    Stopped {
        /// The sequence number of the first record that was not spooled.
        at_seq: u64,
    },
    /// The spool overflowed under the dirty-region policy: records are no
    /// longer stored, only the regions they change.
    Degraded {
        /// The sequence number of the first record that was not spooled.
        at_seq: u64,
    },
}

/// The decoded state file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StateFile {
    /// The first sequence number not acknowledged.
    pub resume_seq: u64,
    pub mode: SpoolMode,
}

/// Why a metadata file does not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MetaError {
    pub offset: u64,
    pub reason: &'static str,
}

fn err<T>(offset: usize, reason: &'static str) -> Result<T, MetaError> {
    Err(MetaError {
        offset: offset as u64,
        reason,
    })
}

impl StateFile {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(STATE_LEN);
        b.extend_from_slice(&STATE_MAGIC);
        b.extend_from_slice(&META_VERSION.to_le_bytes());
        b.extend_from_slice(&0u16.to_le_bytes());
        let (mode, at) = match self.mode {
            SpoolMode::Normal => (0u32, 0u64),
            SpoolMode::Stopped { at_seq } => (1, at_seq),
            SpoolMode::Degraded { at_seq } => (2, at_seq),
        };
        b.extend_from_slice(&mode.to_le_bytes());
        b.extend_from_slice(&self.resume_seq.to_le_bytes());
        b.extend_from_slice(&at.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        let crc = crc32c::crc32c(&b);
        b.extend_from_slice(&crc.to_le_bytes());
        b
    }

    pub(crate) fn decode(b: &[u8]) -> Result<Self, MetaError> {
        if b.len() != STATE_LEN {
            return err(0, "state file has the wrong length");
        }
        if b[..8] != STATE_MAGIC {
            return err(0, "not a spool state file: bad magic bytes");
        }
        let crc = u32::from_le_bytes([b[36], b[37], b[38], b[39]]);
        if crc32c::crc32c(&b[..36]) != crc {
            return err(36, "checksum mismatch");
        }
        if u16::from_le_bytes([b[8], b[9]]) != META_VERSION {
            return err(8, "unsupported version");
        }
        if b[10..12] != [0, 0] || b[32..36] != [0; 4] {
            return err(10, "reserved bytes are set");
        }
        let u64_at = |o: usize| {
            let mut w = [0; 8];
            w.copy_from_slice(&b[o..o + 8]);
            u64::from_le_bytes(w)
        };
        let mode = u32::from_le_bytes([b[12], b[13], b[14], b[15]]);
        let at_seq = u64_at(24);
        let mode = match mode {
            0 => SpoolMode::Normal,
            1 => SpoolMode::Stopped { at_seq },
            2 => SpoolMode::Degraded { at_seq },
            _ => return err(12, "unknown mode"),
        };
        Ok(Self {
            resume_seq: u64_at(16),
            mode,
        })
    }
}

const TARGET_FILE: u8 = 1;
const TARGET_VOLUME: u8 = 2;

pub(crate) fn encode_dirty(d: &DirtyRegions) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&DIRTY_MAGIC);
    b.extend_from_slice(&META_VERSION.to_le_bytes());
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(&(d.granularity()).to_le_bytes());
    b.extend_from_slice(&(d.targets().len() as u64).to_le_bytes());
    for (target, ranges) in d.targets() {
        match target {
            RegionTarget::File(path) => {
                b.push(TARGET_FILE);
                b.extend_from_slice(&(path.len() as u16).to_le_bytes());
                b.extend_from_slice(path);
            }
            RegionTarget::Volume(v) => {
                b.push(TARGET_VOLUME);
                b.extend_from_slice(&v.to_le_bytes());
            }
        }
        b.extend_from_slice(&(ranges.len() as u64).to_le_bytes());
        for (s, e) in ranges {
            b.extend_from_slice(&s.to_le_bytes());
            b.extend_from_slice(&e.to_le_bytes());
        }
    }
    let crc = crc32c::crc32c(&b);
    b.extend_from_slice(&crc.to_le_bytes());
    b
}

struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], MetaError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.b.len());
        match end {
            Some(end) => {
                let s = &self.b[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => err(self.pos, "truncated"),
        }
    }
    fn u64(&mut self) -> Result<u64, MetaError> {
        let mut w = [0; 8];
        w.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(w))
    }
}

pub(crate) fn decode_dirty(b: &[u8]) -> Result<DirtyRegions, MetaError> {
    // Magic, version, reserved, granularity, target count and CRC: an
    // empty set (what a reset leaves) is exactly this long.
    if b.len() < 32 {
        return err(0, "dirty-region file is too short");
    }
    if b[..8] != DIRTY_MAGIC {
        return err(0, "not a dirty-region file: bad magic bytes");
    }
    let (body, crc) = b.split_at(b.len() - 4);
    if crc32c::crc32c(body) != u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]) {
        return err(body.len(), "checksum mismatch");
    }
    if u16::from_le_bytes([b[8], b[9]]) != META_VERSION {
        return err(8, "unsupported version");
    }
    if b[10..12] != [0, 0] {
        return err(10, "reserved bytes are set");
    }
    let mut c = Cursor { b: body, pos: 12 };
    let granularity = c.u64()?;
    if granularity == 0 {
        return err(12, "zero granularity");
    }
    let mut d = DirtyRegions::new(granularity);
    let targets = c.u64()?;
    for _ in 0..targets {
        let at = c.pos;
        let target = match c.take(1)?[0] {
            TARGET_FILE => {
                let len = c.take(2)?;
                let len = u16::from_le_bytes([len[0], len[1]]) as usize;
                let path = c.take(len)?;
                if RelPath::new(path.to_vec()).is_err() {
                    return err(at, "invalid path");
                }
                RegionTarget::File(path.to_vec())
            }
            TARGET_VOLUME => {
                let v = c.take(4)?;
                RegionTarget::Volume(u32::from_le_bytes([v[0], v[1], v[2], v[3]]))
            }
            _ => return err(at, "unknown target kind"),
        };
        let n = c.u64()?;
        let mut prev_end = None;
        for _ in 0..n {
            let at = c.pos;
            let (s, e) = (c.u64()?, c.u64()?);
            if s >= e || prev_end.is_some_and(|p| s <= p) {
                return err(at, "ranges are empty, overlapping or out of order");
            }
            prev_end = Some(e);
            d.insert_raw(target.clone(), s, e);
        }
    }
    if c.pos != body.len() {
        return err(c.pos, "trailing bytes");
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_and_detects_damage() {
        for mode in [
            SpoolMode::Normal,
            SpoolMode::Stopped { at_seq: 9 },
            SpoolMode::Degraded { at_seq: u64::MAX },
        ] {
            let s = StateFile {
                resume_seq: 77,
                mode,
            };
            let b = s.encode();
            assert_eq!(b.len(), STATE_LEN);
            assert_eq!(StateFile::decode(&b), Ok(s));
            for i in 0..b.len() * 8 {
                let mut bad = b.clone();
                bad[i / 8] ^= 1 << (i % 8);
                assert!(StateFile::decode(&bad).is_err(), "bit {i}");
            }
            assert!(StateFile::decode(&b[..39]).is_err());
        }
    }

    #[test]
    fn dirty_round_trips_and_detects_damage() {
        let mut d = DirtyRegions::new(512);
        d.mark(RegionTarget::File(b"a/b".to_vec()), 10, 20);
        d.mark(RegionTarget::File(b"a/b".to_vec()), 4000, 5000);
        d.mark(RegionTarget::Volume(3), 0, u64::MAX);
        let b = encode_dirty(&d);
        assert_eq!(decode_dirty(&b), Ok(d));
        for i in 0..b.len() * 8 {
            let mut bad = b.clone();
            bad[i / 8] ^= 1 << (i % 8);
            assert!(decode_dirty(&bad).is_err(), "bit {i}");
        }
        for n in 0..b.len() {
            assert!(decode_dirty(&b[..n]).is_err());
        }
    }
}
