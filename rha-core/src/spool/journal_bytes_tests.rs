//! `Spool::append_journal`: what it appends, what it refuses, and that
//! splitting a journal into several calls changes nothing.

use std::sync::Arc;

use bytes::Bytes;
use proptest::prelude::*;

use super::*;
use crate::journal::{
    Compression, DecodeErrorKind, EncodeError, JournalWriter, Op, Record, RelPath, WriterConfig,
};
use crate::storage::MemStorage;

fn op(i: u64, len: usize) -> Op {
    Op::Write {
        path: RelPath::new(format!("d/f{}", i % 4)).expect("valid path"),
        offset: i * 512,
        data: Bytes::from(vec![i as u8; len]),
    }
}

fn records(first: u64, lens: &[usize]) -> Vec<Record> {
    lens.iter()
        .enumerate()
        .map(|(i, &len)| {
            let seq = first + i as u64;
            Record {
                seq,
                timestamp_ns: 1_000 + seq,
                op: op(seq, len),
            }
        })
        .collect()
}

/// `recs` encoded as a journal writer does.
fn journal(recs: &[Record], header: bool, compression: Compression) -> Vec<u8> {
    let first = recs.first().map_or(1, |r| r.seq);
    let mut w = JournalWriter::new(
        Vec::new(),
        WriterConfig::default()
            .first_seq(first)
            .stream_header(header)
            .compression(compression)
            .batch_bytes(300),
    );
    for r in recs {
        w.append_record(r).expect("append");
    }
    w.into_inner().expect("finish")
}

fn open() -> Spool {
    let config = SpoolConfig::default().min_free_bytes(0).segment_bytes(900);
    Spool::open(Arc::new(MemStorage::new()), config)
        .expect("open")
        .0
}

fn read_all(spool: &Spool) -> Vec<Record> {
    spool
        .read_from(1)
        .expect("reader")
        .collect::<Result<_, _>>()
        .expect("read")
}

#[test]
fn journal_bytes_are_appended_with_or_without_header_and_compression() {
    let zstd = Compression::Zstd { level: 1 };
    for (header, compression) in [(true, Compression::None), (false, zstd), (true, zstd)] {
        let spool = open();
        let first = records(1, &[10, 200, 0, 3000, 5]);
        let done = spool
            .append_journal(
                &journal(&first, header, compression),
                AppendOptions::default(),
            )
            .expect("append");
        assert_eq!(
            (done.records, done.first_seq, done.ticket.seq),
            (5, 1, Some(5))
        );
        let more = records(6, &[7, 8]);
        let done = spool
            .append_journal(
                &journal(&more, header, compression),
                AppendOptions::no_wait(),
            )
            .expect("append");
        assert_eq!((done.records, done.first_seq), (2, 6));
        spool.wait(done.ticket).expect("wait");
        let all: Vec<Record> = first.into_iter().chain(more).collect();
        assert_eq!(read_all(&spool), all);
        assert_eq!(spool.usage().durable_next_seq, 8);
    }
}

#[test]
fn empty_journal_bytes_append_nothing() {
    let spool = open();
    for bytes in [Vec::new(), journal(&[], true, Compression::None)] {
        let done = spool
            .append_journal(&bytes, AppendOptions::default())
            .expect("append");
        assert_eq!(
            (done.records, done.first_seq, done.ticket.seq),
            (0, 1, None)
        );
    }
    assert_eq!(spool.usage().next_seq, 1);
}

/// `bytes` is refused and the spool is as before.
fn refused(spool: &Spool, bytes: &[u8]) -> AppendError {
    let before = spool.usage();
    let e = spool
        .append_journal(bytes, AppendOptions::default())
        .expect_err("refused");
    let after = spool.usage();
    assert_eq!(
        (after.next_seq, after.used_bytes),
        (before.next_seq, before.used_bytes),
        "{e}"
    );
    assert_eq!(read_all(spool).len() as u64, before.next_seq - 1, "{e}");
    assert!(!after.failed, "{e}");
    e
}

#[test]
fn damaged_or_misnumbered_bytes_append_nothing() {
    let spool = open();
    spool
        .append_journal(
            &journal(&records(1, &[5]), true, Compression::None),
            AppendOptions::default(),
        )
        .expect("append");
    let good = journal(&records(2, &[100, 100, 100]), true, Compression::None);
    // A flipped bit in the last record's payload.
    let mut flipped = good.clone();
    let at = flipped.len() - 20;
    flipped[at] ^= 1;
    assert!(matches!(refused(&spool, &flipped), AppendError::Journal(_)));
    // Cut inside the last frame.
    let e = refused(&spool, &good[..good.len() - 1]);
    assert!(e.to_string().contains("end inside a frame"), "{e}");
    // A gap inside the bytes.
    let mut gap = journal(&records(2, &[1, 1]), true, Compression::None);
    gap.extend(journal(&records(5, &[1]), false, Compression::None));
    match refused(&spool, &gap) {
        AppendError::Journal(d) => {
            assert!(matches!(
                d.kind,
                DecodeErrorKind::SequenceGap {
                    expected: 4,
                    found: 5
                }
            ))
        }
        e => panic!("{e}"),
    }
    // Not the spool's next number.
    match refused(&spool, &journal(&records(3, &[1]), true, Compression::None)) {
        AppendError::Encode(EncodeError::Sequence { expected, found }) => {
            assert_eq!((expected, found), (2, 3))
        }
        e => panic!("{e}"),
    }
    // Not a journal.
    assert!(matches!(refused(&spool, b"hello"), AppendError::Journal(_)));
    // The good bytes still go in after all that.
    spool
        .append_journal(&good, AppendOptions::default())
        .expect("append");
    assert_eq!(spool.usage().next_seq, 5);
}

#[test]
fn a_group_too_large_for_the_limits_appends_nothing() {
    let config = SpoolConfig::default()
        .min_free_bytes(0)
        .max_bytes(Some(2_000));
    let (spool, _) = Spool::open(Arc::new(MemStorage::new()), config).expect("open");
    let bytes = journal(&records(1, &[600, 600, 600]), true, Compression::None);
    let opts = AppendOptions::default().when_full(WhenFull::Fail);
    let e = spool.append_journal(&bytes, opts).expect_err("full");
    assert!(matches!(e, AppendError::Full { .. }), "{e}");
    assert_eq!(spool.usage().next_seq, 1);
    assert!(read_all(&spool).is_empty());
}

#[test]
fn a_degraded_spool_tracks_the_regions_of_every_record() {
    let config = SpoolConfig::default()
        .min_free_bytes(0)
        .max_bytes(Some(2_000))
        .overflow(OverflowPolicy::DegradeToDirtyRegions);
    let (spool, _) = Spool::open(Arc::new(MemStorage::new()), config).expect("open");
    // f0 f1 f2 f3: four files, none of them spooled.
    let bytes = journal(&records(1, &[600, 600, 600, 600]), true, Compression::None);
    let done = spool
        .append_journal(&bytes, AppendOptions::default())
        .expect("append");
    assert_eq!((done.records, done.ticket.seq), (4, None));
    assert!(read_all(&spool).is_empty());
    assert_eq!(spool.dirty_regions().range_count(), 4);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// A journal split into any number of `append_journal` calls leaves the
    /// spool exactly as appending its records one by one does.
    #[test]
    fn split_journal_equals_record_appends(
        lens in proptest::collection::vec(0usize..400, 0..30),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..6),
        header in any::<bool>(),
        zstd in any::<bool>(),
    ) {
        let recs = records(1, &lens);
        let by_record = open();
        for r in &recs {
            by_record.append_record(r, AppendOptions::default()).expect("append");
        }
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c.index(recs.len() + 1)).collect();
        cuts.push(0);
        cuts.push(recs.len());
        cuts.sort_unstable();
        let compression = if zstd { Compression::Zstd { level: 1 } } else { Compression::None };
        let by_journal = open();
        for w in cuts.windows(2) {
            let part = &recs[w[0]..w[1]];
            let done = by_journal
                .append_journal(&journal(part, header, compression), AppendOptions::default())
                .expect("append");
            prop_assert_eq!(done.records, part.len() as u64);
        }
        prop_assert_eq!(read_all(&by_journal), read_all(&by_record));
        let (a, b) = (by_journal.usage(), by_record.usage());
        prop_assert_eq!(
            (a.used_bytes, a.segments, a.next_seq, a.durable_next_seq),
            (b.used_bytes, b.segments, b.next_seq, b.durable_next_seq)
        );
    }
}

#[test]
fn shared_bytes_append_as_borrowed_bytes_do() {
    let recs = records(1, &[10, 5000, 0, 70]);
    let bytes = journal(&recs, false, Compression::None);
    let (a, b) = (open(), open());
    let x = a
        .append_journal(&bytes, AppendOptions::default())
        .expect("borrowed");
    let y = b
        .append_journal_shared(Bytes::from(bytes.clone()), AppendOptions::default())
        .expect("shared");
    assert_eq!((x.records, x.first_seq), (y.records, y.first_seq));
    assert_eq!(read_all(&a), recs);
    assert_eq!(read_all(&b), recs);
    // Torn bytes are refused, nothing appended.
    let torn = Bytes::from(bytes[..bytes.len() - 1].to_vec());
    let c = open();
    assert!(c
        .append_journal_shared(torn, AppendOptions::default())
        .is_err());
    assert_eq!(c.usage().next_seq, 1);
}
