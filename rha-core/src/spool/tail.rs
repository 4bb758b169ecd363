//! Where a segment's records end, when the file may hold older bytes
//! behind them.
//!
//! Reclaimed segment files are recycled (renamed to spare names and later
//! to new segment names) so that appends overwrite blocks that are already
//! written, which makes each sync cheaper. A recycled file keeps the bytes
//! of its earlier life behind the new records: *stale* frames, whose
//! sequence numbers are all below the segment's first, or the middle of
//! one. The rules (docs/spool-format.md, "Where a segment ends"):
//!
//! - a sealed segment ends after the record just before the next segment's
//!   first; what follows is slack;
//! - the newest segment ends at the first frame that is not the expected
//!   next intact record: a stale frame ends it cleanly, anything else is a
//!   torn tail;
//! - in either case, no frame header with a sequence number of the
//!   segment's own generation (at or above its first) may follow the end:
//!   one that does means records were written after the damage, and the
//!   damage is corruption, not a torn write.

use crate::journal::{checked_frame_header, FRAME_HEADER_LEN};

/// Kind byte offset and values, flags offset and sequence offset of a frame
/// header (docs/journal-format.md), for a cheap filter before the checksum.
const OFF_KIND: usize = 4;
const OFF_FLAGS: usize = 6;
const OFF_SEQ: usize = 8;

/// The offset of the first frame at or after `from` whose header passes its
/// checks and whose sequence number is at least `min_seq`, trying every
/// byte offset.
pub(crate) fn later_frame(bytes: &[u8], from: u64, min_seq: u64, max_record: usize) -> Option<u64> {
    let from = usize::try_from(from).ok()?;
    let last = bytes.len().checked_sub(FRAME_HEADER_LEN)?;
    (from..=last)
        .find(|&at| {
            let h = &bytes[at..at + FRAME_HEADER_LEN];
            if !matches!(h[OFF_KIND], 1 | 2) || h[OFF_FLAGS] != 0 || h[OFF_FLAGS + 1] != 0 {
                return false;
            }
            let mut seq = [0u8; 8];
            seq.copy_from_slice(&h[OFF_SEQ..OFF_SEQ + 8]);
            u64::from_le_bytes(seq) >= min_seq
                && checked_frame_header(h, max_record).is_some_and(|(s, _)| s >= min_seq)
        })
        .map(|at| at as u64)
}

/// What lies at `at`, where decoding a segment stopped short of the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// A frame from the file's earlier life (sequence number below
    /// `first_seq`): the clean end of a recycled segment.
    Stale,
    /// Anything else: a write cut short (or damage; see [`later_frame`]).
    Torn,
}

/// Classifies the bytes at `at` and says where to look for later frames of
/// the segment's generation: after the frame at `at` if its header is
/// intact (its body may hold anything), else from the next byte.
pub(crate) fn classify(bytes: &[u8], at: u64, first_seq: u64, max_record: usize) -> (Stop, u64) {
    let Some(rest) = usize::try_from(at).ok().and_then(|a| bytes.get(a..)) else {
        return (Stop::Torn, at);
    };
    match checked_frame_header(rest, max_record) {
        Some((seq, len)) if seq < first_seq => (Stop::Stale, at.saturating_add(len)),
        Some((_, len)) => (Stop::Torn, at.saturating_add(len)),
        None => (Stop::Torn, at.saturating_add(1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::{JournalWriter, Op, WriterConfig};

    fn frames(first: u64, n: u64) -> Vec<u8> {
        let mut w = JournalWriter::new(
            Vec::new(),
            WriterConfig::default()
                .stream_header(false)
                .first_seq(first)
                .batch_bytes(1),
        );
        for i in 0..n {
            w.append(i, &Op::TxBegin { txid: i }).expect("append");
        }
        w.into_inner().expect("vec")
    }

    #[test]
    fn later_frames_are_found_at_any_offset_and_older_ones_ignored() {
        let old = frames(1, 3);
        let new = frames(10, 2);
        let mut bytes = vec![0xAB; 7];
        bytes.extend_from_slice(&old);
        assert_eq!(later_frame(&bytes, 0, 10, 1 << 20), None);
        assert_eq!(later_frame(&bytes, 0, 2, 1 << 20), Some(7 + 40));
        bytes.extend_from_slice(&new);
        let at = (7 + old.len()) as u64;
        assert_eq!(later_frame(&bytes, 0, 10, 1 << 20), Some(at));
        assert_eq!(later_frame(&bytes, at + 1, 10, 1 << 20), Some(at + 40));
        assert_eq!(later_frame(&bytes, at + 41, 10, 1 << 20), None);
        assert_eq!(later_frame(&[], 0, 0, 1 << 20), None);
    }

    #[test]
    fn stale_frames_end_cleanly_and_others_are_torn() {
        let bytes = frames(5, 2);
        assert_eq!(classify(&bytes, 0, 6, 1 << 20), (Stop::Stale, 40));
        assert_eq!(classify(&bytes, 0, 5, 1 << 20), (Stop::Torn, 40));
        assert_eq!(classify(&bytes, 1, 6, 1 << 20), (Stop::Torn, 2));
        let mut damaged = bytes.clone();
        damaged[9] ^= 1;
        assert_eq!(classify(&damaged, 0, 6, 1 << 20), (Stop::Torn, 1));
        assert_eq!(classify(&bytes, 500, 6, 1 << 20), (Stop::Torn, 500));
    }
}
