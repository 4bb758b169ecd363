//! The replica's applied point: which scenario/epoch it follows and the last
//! record it applied, kept durably in its spool directory whether or not it
//! keeps a rewind log. Layout in `docs/applied-point-format.md`.

use std::io;

use crate::journal::{codec, Record};
use crate::storage::Storage;

/// Name of the applied-point file in the spool directory.
pub const APPLIED_FILE: &str = "applied";
/// Name of the file being written before it is renamed to [`APPLIED_FILE`]
/// (what [`replace_file`](crate::storage::replace_file) names it).
pub const APPLIED_TMP: &str = "applied.tmp";
/// Magic bytes of the applied-point file.
pub const APPLIED_MAGIC: [u8; 8] = *b"\x89RHAAPT\n";
/// Format version of the applied-point file.
pub const APPLIED_VERSION: u16 = 1;
/// Length of the applied-point file in bytes.
pub const APPLIED_LEN: usize = 68;

const HAS_SEQ: u16 = 1;
const HAS_EPOCH: u16 = 2;
const HAS_ORIGIN: u16 = 4;

/// A record's identity beyond its sequence number: the crc32c of its
/// encoding (sequence number, time and operation), so that a journal which
/// reuses a sequence number for another record is recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordMark {
    /// The record's sequence number.
    pub seq: u64,
    /// crc32c of the record's encoding.
    pub hash: u32,
}

impl RecordMark {
    /// The mark of `rec`.
    pub fn of(rec: &Record) -> Self {
        // The frame's own checksums would cancel out (a crc32c over data
        // and its crc32c is a constant): hash the fields themselves.
        // The payload is hashed where it lies, after the fixed fields.
        let mut fixed = Vec::with_capacity(64);
        fixed.extend_from_slice(&rec.seq.to_le_bytes());
        fixed.extend_from_slice(&rec.timestamp_ns.to_le_bytes());
        fixed.push(rec.op.code() as u8);
        codec::encode_fixed(&rec.op, &mut fixed);
        let mut hash = crc32c::crc32c(&fixed);
        if let Some(payload) = codec::trailing_payload(&rec.op) {
            hash = crc32c::crc32c_append(hash, payload);
        }
        Self { seq: rec.seq, hash }
    }
}

/// What the applied-point file holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AppliedPoint {
    /// The last record applied and made durable on the target, if any.
    pub seq: Option<u64>,
    /// Records after `seq` up to this one may have been applied (in part)
    /// before a crash: they are re-applied in replay mode, skipping changes
    /// already visible. Never below `seq`.
    pub replay_to: u64,
    /// The scenario and epoch of the journal's `Epoch` record, once one was
    /// applied.
    pub epoch: Option<(u64, u64)>,
    /// The first record applied in this sequence.
    pub origin: Option<RecordMark>,
    /// The hash of the record at `seq`.
    pub last_hash: u32,
}

/// Why the applied-point file does not read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppliedError {
    /// Reading or writing the file failed.
    #[error("applied point file: {0}")]
    Io(#[from] io::Error),
    /// The file's bytes are not a valid applied point.
    #[error("applied point file is corrupt at byte offset {offset}: {reason}")]
    Corrupt {
        /// Where the problem is.
        offset: u64,
        /// What is wrong.
        reason: &'static str,
    },
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

impl AppliedPoint {
    /// The file's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut flags = 0;
        if self.seq.is_some() {
            flags |= HAS_SEQ;
        }
        if self.epoch.is_some() {
            flags |= HAS_EPOCH;
        }
        if self.origin.is_some() {
            flags |= HAS_ORIGIN;
        }
        let (scenario, epoch) = self.epoch.unwrap_or((0, 0));
        let origin = self.origin.unwrap_or(RecordMark { seq: 0, hash: 0 });
        let mut b = Vec::with_capacity(APPLIED_LEN);
        b.extend_from_slice(&APPLIED_MAGIC);
        b.extend_from_slice(&APPLIED_VERSION.to_le_bytes());
        b.extend_from_slice(&flags.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&self.seq.unwrap_or(0).to_le_bytes());
        b.extend_from_slice(&self.replay_to.to_le_bytes());
        b.extend_from_slice(&scenario.to_le_bytes());
        b.extend_from_slice(&epoch.to_le_bytes());
        b.extend_from_slice(&origin.seq.to_le_bytes());
        b.extend_from_slice(&origin.hash.to_le_bytes());
        b.extend_from_slice(&self.last_hash.to_le_bytes());
        let crc = crc32c::crc32c(&b);
        b.extend_from_slice(&crc.to_le_bytes());
        b
    }

    /// Decodes the file's bytes.
    pub fn decode(b: &[u8]) -> Result<Self, AppliedError> {
        let bad = |offset: u64, reason| Err(AppliedError::Corrupt { offset, reason });
        if b.len() != APPLIED_LEN {
            return bad(0, "wrong length");
        }
        if b[..8] != APPLIED_MAGIC {
            return bad(0, "bad magic bytes");
        }
        if u32_at(b, 64) != crc32c::crc32c(&b[..64]) {
            return bad(64, "checksum mismatch");
        }
        if u16::from_le_bytes([b[8], b[9]]) != APPLIED_VERSION {
            return bad(8, "unsupported version");
        }
        let flags = u16::from_le_bytes([b[10], b[11]]);
        if flags & !(HAS_SEQ | HAS_EPOCH | HAS_ORIGIN) != 0 {
            return bad(10, "unknown flags");
        }
        let seq = (flags & HAS_SEQ != 0).then(|| u64_at(b, 16));
        let replay_to = u64_at(b, 24);
        if replay_to < seq.unwrap_or(0) {
            return bad(24, "replay bound below the applied point");
        }
        Ok(Self {
            seq,
            replay_to,
            epoch: (flags & HAS_EPOCH != 0).then(|| (u64_at(b, 32), u64_at(b, 40))),
            origin: (flags & HAS_ORIGIN != 0).then(|| RecordMark {
                seq: u64_at(b, 48),
                hash: u32_at(b, 56),
            }),
            last_hash: u32_at(b, 60),
        })
    }

    /// Reads the point from `storage`; `None` if the replica has none yet.
    pub fn load(storage: &dyn Storage) -> Result<Option<Self>, AppliedError> {
        let file = match storage.open(APPLIED_FILE) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        if file.len()? != APPLIED_LEN as u64 {
            return Err(AppliedError::Corrupt {
                offset: 0,
                reason: "wrong length",
            });
        }
        let mut b = vec![0u8; APPLIED_LEN];
        file.read_at(0, &mut b)?;
        Self::decode(&b).map(Some)
    }

    /// Writes the point durably: a new file, synced, renamed over the old
    /// one, then the directory synced.
    pub fn store(&self, storage: &dyn Storage) -> Result<(), AppliedError> {
        crate::storage::replace_file(storage, APPLIED_FILE, &self.encode())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::Op;
    use crate::storage::{CrashPlan, MemStorage};

    fn sample() -> AppliedPoint {
        AppliedPoint {
            seq: Some(8),
            replay_to: 12,
            epoch: Some((3, 4)),
            origin: Some(RecordMark { seq: 1, hash: 77 }),
            last_hash: 99,
        }
    }

    #[test]
    fn rewind_applied_point_round_trips_and_rejects_damage() {
        let p = sample();
        let b = p.encode();
        assert_eq!(b.len(), APPLIED_LEN);
        assert_eq!(AppliedPoint::decode(&b).ok(), Some(p));
        assert_eq!(
            AppliedPoint::decode(&AppliedPoint::default().encode()).ok(),
            Some(AppliedPoint::default())
        );
        for i in 0..b.len() {
            let mut d = b.clone();
            d[i] ^= 1;
            assert!(AppliedPoint::decode(&d).is_err(), "byte {i}");
        }
        assert!(AppliedPoint::decode(&b[..40]).is_err());
    }

    #[test]
    fn rewind_applied_point_is_old_or_new_whatever_sync_a_crash_hits() {
        let mut next = sample();
        next.seq = Some(9);
        for at in 2..5 {
            let mem = MemStorage::new();
            assert!(matches!(AppliedPoint::load(&mem), Ok(None)));
            sample().store(&mem).unwrap_or_else(|e| panic!("{e}"));
            mem.set_plan(CrashPlan {
                at_sync: Some(at),
                cut_write: None,
            });
            let stored = next.store(&mem).is_ok();
            let after = AppliedPoint::load(&mem.durable_image()).ok().flatten();
            let want = if stored { next } else { sample() };
            assert_eq!(after, Some(want), "crash at sync {at}");
        }
    }

    #[test]
    fn rewind_record_marks_tell_records_apart() {
        let a = Record {
            seq: 1,
            timestamp_ns: 5,
            op: Op::SyncStart { sync_id: 1 },
        };
        let mut b = a.clone();
        b.timestamp_ns = 6;
        assert_eq!(RecordMark::of(&a), RecordMark::of(&a.clone()));
        assert_ne!(RecordMark::of(&a), RecordMark::of(&b));
    }

    #[test]
    fn a_mark_hashes_the_fields_and_the_payload_as_one_run() {
        // Applied points on disk hold these hashes: the value is fixed.
        let rec = Record {
            seq: 7,
            timestamp_ns: 9,
            op: Op::Write {
                path: crate::journal::RelPath::new("d/f").expect("path"),
                offset: 3,
                data: bytes::Bytes::from(vec![0xab; 100_000]),
            },
        };
        let mut all = Vec::new();
        all.extend_from_slice(&7u64.to_le_bytes());
        all.extend_from_slice(&9u64.to_le_bytes());
        all.push(rec.op.code() as u8);
        all.extend_from_slice(&3u16.to_le_bytes());
        all.extend_from_slice(b"d/f");
        all.extend_from_slice(&3u64.to_le_bytes());
        all.extend_from_slice(&[0xab; 100_000]);
        assert_eq!(RecordMark::of(&rec).hash, crc32c::crc32c(&all));
    }
}
