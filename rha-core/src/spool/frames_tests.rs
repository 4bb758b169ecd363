//! `SpoolReader::next_frame`: the stored frames of records, as a master
//! forwards them, and `append_journal` storing received frames as they are.

use std::sync::Arc;

use bytes::Bytes;
use proptest::prelude::*;

use super::*;
use crate::journal::{
    Compression, Decoder, DecoderConfig, EncodeError, JournalWriter, Op, Record, RelPath,
    WriterConfig,
};
use crate::storage::MemStorage;

fn record(seq: u64, len: usize) -> Record {
    Record {
        seq,
        timestamp_ns: 7_000 + seq,
        op: Op::Write {
            path: RelPath::new(format!("f{}", seq % 3)).expect("path"),
            offset: seq * 100,
            data: Bytes::from(vec![seq as u8; len]),
        },
    }
}

fn spool_of(lens: &[usize]) -> (Spool, Vec<Record>) {
    let config = SpoolConfig::default()
        .min_free_bytes(0)
        .segment_bytes(2_000);
    let (spool, _) = Spool::open(Arc::new(MemStorage::new()), config).expect("open");
    let recs: Vec<Record> = lens
        .iter()
        .enumerate()
        .map(|(i, &len)| record(i as u64 + 1, len))
        .collect();
    for r in &recs {
        spool
            .append_record(r, AppendOptions::no_wait())
            .expect("append");
    }
    spool.sync().expect("sync");
    (spool, recs)
}

/// `recs` as a journal without header, one record per frame.
fn encoded(recs: &[Record]) -> Vec<u8> {
    let first = recs.first().map_or(1, |r| r.seq);
    let mut w = JournalWriter::new(
        Vec::new(),
        WriterConfig::default()
            .first_seq(first)
            .stream_header(false)
            .batch_bytes(1),
    );
    for r in recs {
        w.append_record(r).expect("encode");
    }
    w.into_inner().expect("finish")
}

fn decode(bytes: Bytes) -> Vec<Record> {
    let mut d = Decoder::new(DecoderConfig::default().stream_header(false));
    d.feed_bytes(bytes);
    let mut out = Vec::new();
    while let Some(r) = d.next_record().expect("decode") {
        out.push(r);
    }
    out
}

/// Every frame from `start` on, joined where they lie back to back; the
/// runs, and their bytes together.
fn frames_from(spool: &Spool, start: u64) -> (Vec<RecordFrames>, Vec<u8>) {
    let mut reader = spool.read_from(start).expect("reader");
    let mut runs: Vec<RecordFrames> = Vec::new();
    while let Some(f) = reader.next_frame().expect("frame") {
        if !runs.last_mut().is_some_and(|r| r.join(&f)) {
            runs.push(f);
        }
    }
    let bytes = runs.iter().flat_map(|r| r.bytes().to_vec()).collect();
    (runs, bytes)
}

#[test]
fn frames_are_the_records_as_encoded_and_join_within_a_segment() {
    let (spool, recs) = spool_of(&[10, 900, 0, 700, 1500, 30, 30, 30]);
    let (runs, bytes) = frames_from(&spool, 1);
    assert_eq!(bytes, encoded(&recs));
    // Several segments of 2000 bytes: runs end at their edges.
    assert!(runs.len() > 1 && runs.len() < recs.len(), "{runs:?}");
    for w in runs.windows(2) {
        assert_eq!(w[1].first(), w[0].last() + 1);
    }
    assert_eq!(runs[0].first_timestamp_ns(), 7_001);
    // Frames from elsewhere (not the next record, or another buffer) do not join.
    let mut a = runs[0].clone();
    assert!(!a.join(&runs[0]), "not the next record");
    let b = runs[1].clone();
    assert!(!a.join(&b), "another segment's buffer");
    assert_eq!(a.last(), runs[0].last());
}

#[test]
fn a_frame_numbered_otherwise_is_refused_and_nothing_is_appended() {
    let (spool, _) = spool_of(&[5, 5]);
    // Frames of records 3 and 4 go in as they are.
    let next = encoded(&[record(3, 20), record(4, 20)]);
    spool
        .append_journal(&next, AppendOptions::default())
        .expect("append");
    // A journal starting elsewhere: refused before anything is appended.
    let e = spool
        .append_journal(&encoded(&[record(6, 1)]), AppendOptions::default())
        .expect_err("gap");
    assert!(
        matches!(
            e,
            AppendError::Encode(EncodeError::Sequence {
                expected: 5,
                found: 6
            })
        ),
        "{e}"
    );
    let (_, bytes) = frames_from(&spool, 1);
    assert_eq!(
        bytes,
        encoded(&[record(1, 5), record(2, 5), record(3, 20), record(4, 20)])
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// From any start, the frames read decode to the records `next_record`
    /// returns, and stored again through `append_journal_shared` (with or
    /// without compression on the way) they leave a spool whose frames are
    /// byte for byte the same.
    #[test]
    fn frames_forwarded_store_the_same_bytes(
        lens in proptest::collection::vec(0usize..1200, 1..25),
        start in any::<prop::sample::Index>(),
        zstd in any::<bool>(),
    ) {
        let (spool, recs) = spool_of(&lens);
        let start = start.index(recs.len()) as u64 + 1;
        let (runs, bytes) = frames_from(&spool, start);
        prop_assert_eq!(runs.first().map(RecordFrames::first), Some(start));
        prop_assert_eq!(runs.last().map(RecordFrames::last), Some(recs.len() as u64));
        let wanted: Vec<Record> = recs[start as usize - 1..].to_vec();
        prop_assert_eq!(decode(Bytes::from(bytes.clone())), wanted.clone());

        let config = SpoolConfig::default()
            .min_free_bytes(0)
            .segment_bytes(3_000)
            .first_seq(start);
        let (copy, _) = Spool::open(Arc::new(MemStorage::new()), config).expect("open");
        let sent = if zstd {
            let mut w = JournalWriter::new(
                Vec::new(),
                WriterConfig::default()
                    .first_seq(start)
                    .stream_header(false)
                    .compression(Compression::Zstd { level: 1 })
                    .batch_bytes(2_500),
            );
            for r in &wanted {
                w.append_record(r).expect("encode");
            }
            w.into_inner().expect("finish")
        } else {
            bytes.clone()
        };
        copy.append_journal_shared(Bytes::from(sent), AppendOptions::default())
            .expect("append");
        let (_, again) = frames_from(&copy, start);
        prop_assert_eq!(again, bytes);
    }
}
