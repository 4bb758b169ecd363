//! The limits file: the limits a spool was last opened with, stored in its
//! directory so that tools looking at the directory (`rha spool inspect`)
//! report usage against the limits really in force. Layout in
//! `docs/spool-format.md`.
//!
//! The opener's limits always win: [`Spool::open`](super::Spool::open)
//! stores the limits of its [`SpoolConfig`] whenever they differ from the
//! stored ones (or none are stored). An embedder that wants to reopen with
//! the stored limits reads them with [`read_limits`] and applies them with
//! [`SpoolLimits::apply`].

use std::io;

use super::config::{OverflowPolicy, SpoolConfig};
use super::error::{Corruption, FullReason, OpenError};
use super::recover::Recovery;
use crate::storage::Storage;

/// Name of the limits file.
pub const LIMITS_FILE: &str = "limits";
/// Magic bytes of the limits file.
pub const LIMITS_MAGIC: [u8; 8] = *b"\x89RHASPL\n";
/// Format version of the limits file.
pub const LIMITS_VERSION: u16 = 1;
/// The most warning thresholds a limits file holds (and a spool accepts).
pub const MAX_WARN_THRESHOLDS: usize = 255;
/// Offset of the warning thresholds (after the fixed fields).
const WARN_AT: usize = 60;
/// The largest limits file read, in bytes.
pub const MAX_LIMITS_FILE: u64 = (WARN_AT + MAX_WARN_THRESHOLDS + 4) as u64;

const FLAG_MAX_BYTES: u16 = 1;
const POLICY_STOP: u32 = 0;
const POLICY_DEGRADE: u32 = 1;

/// The limits and sizes a spool is opened with: the part of a
/// [`SpoolConfig`] that is stored in the spool directory.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SpoolLimits {
    /// [`SpoolConfig::max_bytes`].
    pub max_bytes: Option<u64>,
    /// [`SpoolConfig::min_free_bytes`].
    pub min_free_bytes: u64,
    /// [`SpoolConfig::warn_percent`].
    pub warn_percent: Vec<u8>,
    /// [`SpoolConfig::overflow`].
    pub overflow: OverflowPolicy,
    /// [`SpoolConfig::segment_bytes`].
    pub segment_bytes: u64,
    /// [`SpoolConfig::max_record_size`].
    pub max_record_size: u64,
    /// [`SpoolConfig::dirty_granularity`].
    pub dirty_granularity: u64,
}

/// Why a limits file does not decode: the byte offset and what is wrong.
fn bad<T>(offset: usize, reason: &str) -> Result<T, Corruption> {
    Err(Corruption {
        file: LIMITS_FILE.to_string(),
        offset: offset as u64,
        last_good_seq: None,
        reason: reason.to_string(),
    })
}

impl SpoolLimits {
    /// The limits of `config`.
    pub fn of(config: &SpoolConfig) -> Self {
        Self {
            max_bytes: config.max_bytes,
            min_free_bytes: config.min_free_bytes,
            warn_percent: config.warn_percent.clone(),
            overflow: config.overflow,
            segment_bytes: config.segment_bytes,
            max_record_size: config.max_record_size as u64,
            dirty_granularity: config.dirty_granularity,
        }
    }

    /// `config` with these limits (its other settings unchanged), for
    /// reopening a spool with the limits stored in its directory.
    pub fn apply(&self, config: SpoolConfig) -> SpoolConfig {
        config
            .max_bytes(self.max_bytes)
            .min_free_bytes(self.min_free_bytes)
            .warn_percent(self.warn_percent.clone())
            .overflow(self.overflow)
            .segment_bytes(self.segment_bytes)
            .max_record_size(usize::try_from(self.max_record_size).unwrap_or(usize::MAX))
            .dirty_granularity(self.dirty_granularity)
    }

    /// The bytes a spool holding `used` bytes may hold under these limits
    /// when its file system has `free` bytes free, and which limit decides
    /// (the same rule [`Spool::usage`](super::Spool::usage) applies).
    pub fn capacity(&self, used: u64, free: u64) -> (u64, FullReason) {
        let fs_cap = used.saturating_add(free.saturating_sub(self.min_free_bytes));
        match self.max_bytes {
            Some(max) if max <= fs_cap => (max, FullReason::MaxSize),
            _ => (fs_cap, FullReason::MinFreeSpace),
        }
    }

    /// Encodes the limits file. `None` if there are more than
    /// [`MAX_WARN_THRESHOLDS`] warning thresholds.
    pub fn encode(&self) -> Option<Vec<u8>> {
        if self.warn_percent.len() > MAX_WARN_THRESHOLDS {
            return None;
        }
        let mut b = Vec::with_capacity(WARN_AT + self.warn_percent.len() + 4);
        b.extend_from_slice(&LIMITS_MAGIC);
        b.extend_from_slice(&LIMITS_VERSION.to_le_bytes());
        let flags = if self.max_bytes.is_some() {
            FLAG_MAX_BYTES
        } else {
            0
        };
        b.extend_from_slice(&flags.to_le_bytes());
        let policy = match self.overflow {
            OverflowPolicy::Stop => POLICY_STOP,
            OverflowPolicy::DegradeToDirtyRegions => POLICY_DEGRADE,
        };
        b.extend_from_slice(&policy.to_le_bytes());
        for v in [
            self.max_bytes.unwrap_or(0),
            self.min_free_bytes,
            self.segment_bytes,
            self.max_record_size,
            self.dirty_granularity,
        ] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.extend_from_slice(&(self.warn_percent.len() as u32).to_le_bytes());
        b.extend_from_slice(&self.warn_percent);
        let crc = crc32c::crc32c(&b);
        b.extend_from_slice(&crc.to_le_bytes());
        Some(b)
    }

    /// Decodes a limits file, checking its magic bytes, checksum, version
    /// and every field. The error names the file, the offset and the fault.
    pub fn decode(b: &[u8]) -> Result<Self, Corruption> {
        if b.len() < WARN_AT + 4 {
            return bad(0, &format!("limits file is too short ({} bytes)", b.len()));
        }
        if b.len() as u64 > MAX_LIMITS_FILE {
            return bad(0, &format!("limits file is too long ({} bytes)", b.len()));
        }
        if b[..8] != LIMITS_MAGIC {
            return bad(0, "not a spool limits file: bad magic bytes");
        }
        let (body, crc) = b.split_at(b.len() - 4);
        if crc32c::crc32c(body) != u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]) {
            return bad(body.len(), "checksum mismatch");
        }
        let version = u16::from_le_bytes([b[8], b[9]]);
        if version != LIMITS_VERSION {
            return bad(8, &format!("unsupported limits file version {version}"));
        }
        let flags = u16::from_le_bytes([b[10], b[11]]);
        if flags & !FLAG_MAX_BYTES != 0 {
            return bad(10, "unknown flags are set");
        }
        let overflow = match u32::from_le_bytes([b[12], b[13], b[14], b[15]]) {
            POLICY_STOP => OverflowPolicy::Stop,
            POLICY_DEGRADE => OverflowPolicy::DegradeToDirtyRegions,
            _ => return bad(12, "unknown overflow policy"),
        };
        let u64_at = |o: usize| {
            let mut w = [0; 8];
            w.copy_from_slice(&b[o..o + 8]);
            u64::from_le_bytes(w)
        };
        let max_bytes = u64_at(16);
        let max_bytes = if flags & FLAG_MAX_BYTES != 0 {
            Some(max_bytes)
        } else if max_bytes != 0 {
            return bad(16, "maximum size set without its flag");
        } else {
            None
        };
        let segment_bytes = u64_at(32);
        let max_record_size = u64_at(40);
        let dirty_granularity = u64_at(48);
        for (at, v, what) in [
            (32, segment_bytes, "zero segment size"),
            (40, max_record_size, "zero maximum record size"),
            (48, dirty_granularity, "zero dirty-region granularity"),
        ] {
            if v == 0 {
                return bad(at, what);
            }
        }
        let n = u32::from_le_bytes([b[56], b[57], b[58], b[59]]) as usize;
        if body.len() != WARN_AT + n.min(MAX_WARN_THRESHOLDS + 1) {
            return bad(56, "the threshold count does not match the file length");
        }
        let warn_percent = body[WARN_AT..].to_vec();
        if let Some(i) = warn_percent.iter().position(|&p| p == 0 || p > 100) {
            return bad(WARN_AT + i, "warning threshold outside 1 to 100 percent");
        }
        Ok(Self {
            max_bytes,
            min_free_bytes: u64_at(24),
            warn_percent,
            overflow,
            segment_bytes,
            max_record_size,
            dirty_granularity,
        })
    }
}

/// Reads the limits stored in a spool directory: `Ok(None)` if it has none
/// (a new spool, or one written before limits were stored), and
/// [`OpenError::Corrupt`] naming the limits file if it does not decode.
pub fn read_limits(storage: &dyn Storage) -> Result<Option<SpoolLimits>, OpenError> {
    let io_err = |doing: &'static str| {
        move |source| OpenError::Io {
            doing,
            file: LIMITS_FILE.to_string(),
            source,
        }
    };
    let file = match storage.open(LIMITS_FILE) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err("opening")(e)),
    };
    let len = file.len().map_err(io_err("reading"))?;
    if len > MAX_LIMITS_FILE {
        return Err(OpenError::Corrupt(Corruption {
            file: LIMITS_FILE.to_string(),
            offset: 0,
            last_good_seq: None,
            reason: format!("file is {len} bytes, at most {MAX_LIMITS_FILE} expected"),
        }));
    }
    let mut buf = vec![0; len as usize];
    file.read_at(0, &mut buf).map_err(io_err("reading"))?;
    SpoolLimits::decode(&buf)
        .map(Some)
        .map_err(OpenError::Corrupt)
}

/// On open: stores the opener's limits unless the directory already holds
/// exactly these. A damaged limits file refuses the open, unless salvage
/// mode is on: then it is replaced and the damage reported in
/// [`Recovery::salvaged`] (if nothing else was salvaged).
pub(crate) fn store_on_open(
    storage: &dyn Storage,
    config: &SpoolConfig,
    mut report: Recovery,
) -> Result<Recovery, OpenError> {
    let wanted = SpoolLimits::of(config);
    let Some(bytes) = wanted.encode() else {
        return Err(OpenError::Config("at most 255 warning thresholds"));
    };
    match read_limits(storage) {
        Ok(Some(stored)) if stored == wanted => return Ok(report),
        Ok(_) => {}
        Err(OpenError::Corrupt(c)) if config.salvage => {
            report.salvaged.get_or_insert(c);
        }
        Err(e) => return Err(e),
    }
    crate::storage::replace_file(storage, LIMITS_FILE, &bytes).map_err(|source| OpenError::Io {
        doing: "writing",
        file: LIMITS_FILE.to_string(),
        source,
    })?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> SpoolLimits {
        SpoolLimits::of(
            &SpoolConfig::default()
                .max_bytes(Some(1 << 40))
                .min_free_bytes(5)
                .warn_percent(vec![50, 75, 100])
                .overflow(OverflowPolicy::DegradeToDirtyRegions)
                .segment_bytes(1 << 20)
                .max_record_size(1 << 16)
                .dirty_granularity(512),
        )
    }

    #[test]
    fn limits_round_trip_and_every_bit_flip_is_detected() {
        for limits in [sample(), SpoolLimits::of(&SpoolConfig::default())] {
            let b = limits.encode().expect("encodes");
            assert_eq!(b.len(), WARN_AT + limits.warn_percent.len() + 4);
            assert_eq!(SpoolLimits::decode(&b), Ok(limits.clone()));
            for i in 0..b.len() * 8 {
                let mut damaged = b.clone();
                damaged[i / 8] ^= 1 << (i % 8);
                let e = SpoolLimits::decode(&damaged).expect_err("damage is detected");
                assert_eq!(e.file, LIMITS_FILE);
                assert!(e.offset < b.len() as u64, "bit {i}: {e}");
            }
            for n in 0..b.len() {
                assert!(SpoolLimits::decode(&b[..n]).is_err(), "prefix {n}");
            }
        }
    }

    /// Re-checksums a hand-edited limits file.
    fn reseal(mut b: Vec<u8>) -> Vec<u8> {
        let n = b.len() - 4;
        let crc = crc32c::crc32c(&b[..n]);
        b[n..].copy_from_slice(&crc.to_le_bytes());
        b
    }

    #[test]
    fn checksummed_but_invalid_fields_are_refused_with_their_offset() {
        let good = sample().encode().expect("encodes");
        let cases: [(usize, u8, u64, &str); 7] = [
            (8, 2, 8, "unsupported limits file version 2"),
            (10, 2, 10, "unknown flags"),
            (12, 7, 12, "unknown overflow policy"),
            (32, 0, 32, "zero segment size"),
            (56, 4, 56, "threshold count"),
            (WARN_AT, 0, WARN_AT as u64, "outside 1 to 100"),
            (WARN_AT + 1, 101, WARN_AT as u64 + 1, "outside 1 to 100"),
        ];
        for (at, value, offset, reason) in cases {
            let mut b = good.clone();
            b[at] = value;
            if at == 32 {
                b[32..40].fill(0);
            }
            let e = SpoolLimits::decode(&reseal(b)).expect_err("refused");
            assert_eq!(e.offset, offset, "{e}");
            assert!(e.reason.contains(reason), "{e}");
        }
        // A maximum size without its flag.
        let mut b = SpoolLimits::of(&SpoolConfig::default())
            .encode()
            .expect("encodes");
        b[16] = 1;
        let e = SpoolLimits::decode(&reseal(b)).expect_err("refused");
        assert_eq!(e.offset, 16);
    }

    #[test]
    fn apply_restores_every_stored_setting() {
        let limits = sample();
        let config = limits.apply(SpoolConfig::default().first_seq(9));
        assert_eq!(SpoolLimits::of(&config), limits);
        assert_eq!(config.first_seq, 9);
    }

    #[test]
    fn capacity_is_the_smaller_of_both_limits() {
        let mut l = SpoolLimits::of(&SpoolConfig::default().min_free_bytes(100));
        assert_eq!(l.capacity(10, 1000), (910, FullReason::MinFreeSpace));
        assert_eq!(l.capacity(10, 50), (10, FullReason::MinFreeSpace));
        l.max_bytes = Some(500);
        assert_eq!(l.capacity(10, 1000), (500, FullReason::MaxSize));
        assert_eq!(l.capacity(u64::MAX, u64::MAX), (500, FullReason::MaxSize));
    }
}
