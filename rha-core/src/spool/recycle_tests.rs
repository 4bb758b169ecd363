//! Reclaimed segments kept as spares and reused: stale frames behind the
//! records end a segment cleanly, torn overwrites are torn tails, and
//! damage followed by records of the segment is still corruption.

use std::sync::Arc;

use bytes::Bytes;

use super::*;
use crate::journal::{Decoder, Op, RelPath};
use crate::storage::*;

fn op(i: u64) -> Op {
    Op::Write {
        path: RelPath::new("f").expect("valid path"),
        offset: i,
        data: Bytes::from(vec![i as u8; 60]),
    }
}

fn config() -> SpoolConfig {
    SpoolConfig::default().min_free_bytes(0).segment_bytes(400)
}

fn names(storage: &MemStorage, prefix: &str) -> Vec<String> {
    let mut n: Vec<String> = storage
        .list()
        .expect("list")
        .into_iter()
        .filter(|n| n.starts_with(prefix))
        .collect();
    n.sort();
    n
}

fn seqs(spool: &Spool, from: u64) -> Vec<u64> {
    spool
        .read_from(from)
        .expect("reader")
        .map(|r| r.expect("record").seq)
        .collect()
}

/// Frame offsets of the records in a segment file's first `len` bytes.
fn frame_offsets(bytes: &[u8]) -> Vec<u64> {
    let mut d = Decoder::new(Default::default());
    d.feed(bytes);
    let mut at = vec![d.offset()];
    while let Ok(Some(_)) = d.next_record() {
        at.push(d.offset());
    }
    at.pop();
    // The first offset is before the stream header is consumed.
    at[0] = crate::journal::STREAM_HEADER_LEN as u64;
    at
}

/// A spool whose newest segment reuses a spare: it holds 3 records, and the
/// spare's longer earlier contents lie behind them. Returns the storage and
/// the newest segment's name, first sequence number and records' length.
fn reused() -> (MemStorage, String, u64, u64) {
    let storage = MemStorage::new();
    let (spool, _) = Spool::open(Arc::new(storage.clone()), config()).expect("open");
    for i in 0..20 {
        spool
            .append(i, &op(i), AppendOptions::default())
            .expect("append");
    }
    let durable = spool.usage().durable_next_seq - 1;
    spool.ack(durable).expect("ack");
    let spares = names(&storage, "spare-");
    assert_eq!(spares.len(), recover::MAX_SPARES, "{:?}", storage.list());
    // The next segment reuses the oldest spare.
    let before = names(&storage, "seg-");
    let tail_first = spool.usage().next_seq;
    for i in 0..3 {
        spool
            .append(i, &op(i), AppendOptions::default())
            .expect("append");
    }
    let segs = names(&storage, "seg-");
    assert!(segs.len() > before.len(), "{before:?} {segs:?}");
    assert_eq!(names(&storage, "spare-").len(), recover::MAX_SPARES - 1);
    let newest = segs.last().expect("segments").clone();
    let first = recover::parse_segment_name(&newest).expect("segment name");
    assert_eq!(first, tail_first);
    let len = spool.usage().used_bytes;
    drop(spool);
    let found = inspect(&storage, &config(), false).expect("inspect");
    let seg = found
        .segments
        .iter()
        .find(|s| s.name == newest)
        .expect("newest segment");
    let bytes = storage.contents(&newest).expect("file");
    assert!(
        bytes.len() as u64 > seg.bytes,
        "stale bytes behind the records ({} of {len})",
        seg.bytes
    );
    (storage, newest, first, seg.bytes)
}

#[test]
fn reclaimed_segments_are_reused_and_stale_frames_end_the_segment() {
    let (storage, newest, first, end) = reused();
    let (spool, rec) = Spool::open(Arc::new(storage.clone()), config()).expect("reopen");
    assert_eq!(rec.torn_tail, None);
    assert_eq!(rec.salvaged, None);
    let all = seqs(&spool, rec.resume_seq);
    assert_eq!(all.last(), Some(&23));
    // Reopening cut the stale bytes off.
    assert_eq!(storage.contents(&newest).map(|b| b.len() as u64), Some(end));
    assert!(all.contains(&first));
    let t = spool
        .append(0, &op(0), AppendOptions::default())
        .expect("append after reopening");
    assert_eq!(t.seq, Some(24));
}

#[test]
fn a_damaged_last_frame_over_stale_bytes_is_a_torn_tail() {
    let (storage, newest, first, end) = reused();
    let mut bytes = storage.contents(&newest).expect("file");
    let frames = frame_offsets(&bytes[..end as usize]);
    let last = *frames.last().expect("frames");
    // A write of the last frame cut short: its end keeps older bytes.
    bytes[end as usize - 3] ^= 0x5A;
    storage.put(&newest, bytes);
    let (spool, rec) = Spool::open(Arc::new(storage.clone()), config()).expect("reopen");
    let torn = rec.torn_tail.expect("torn tail");
    assert_eq!((torn.file.as_str(), torn.offset), (newest.as_str(), last));
    let kept = first + frames.len() as u64 - 2;
    assert_eq!(torn.last_good_seq, Some(kept));
    assert_eq!(seqs(&spool, rec.resume_seq).last(), Some(&kept));
}

#[test]
fn damage_followed_by_records_of_the_segment_is_corruption() {
    let (storage, newest, first, end) = reused();
    let mut bytes = storage.contents(&newest).expect("file");
    let frames = frame_offsets(&bytes[..end as usize]);
    assert!(frames.len() >= 3, "{frames:?}");
    bytes[frames[1] as usize + 40] ^= 0x01;
    storage.put(&newest, bytes.clone());
    let e = Spool::open(Arc::new(storage.clone()), config()).expect_err("corrupt");
    let OpenError::Corrupt(c) = &e else {
        panic!("{e}")
    };
    assert_eq!(
        (c.file.as_str(), c.offset, c.last_good_seq),
        (newest.as_str(), frames[1], Some(first))
    );
    assert!(c.reason.contains("follows at offset"), "{e}");
    // Nothing was changed; salvage keeps what precedes the damage.
    assert_eq!(storage.contents(&newest), Some(bytes));
    let (spool, rec) =
        Spool::open(Arc::new(storage.clone()), config().salvage(true)).expect("salvage");
    assert!(rec.salvaged.is_some());
    assert_eq!(seqs(&spool, rec.resume_seq).last(), Some(&first));
    // Salvage may move the next number back: spares are dropped.
    assert!(names(&storage, "spare-").is_empty(), "{:?}", storage.list());
}

#[test]
fn a_sealed_segment_with_a_record_of_its_own_behind_its_end_is_corrupt() {
    let (storage, newest, _, end) = reused();
    // Make the newest segment sealed by giving it a successor, and copy
    // its last record behind its end.
    let mut bytes = storage.contents(&newest).expect("file");
    let frames = frame_offsets(&bytes[..end as usize]);
    let last = *frames.last().expect("frames") as usize;
    let record = bytes[last..end as usize].to_vec();
    bytes.truncate(end as usize);
    bytes.extend_from_slice(&record);
    storage.put(&newest, bytes);
    let found = inspect(&storage, &config(), false).expect("inspect");
    let next = found.next_seq;
    let empty = MemStorage::new();
    let (w, _) = Spool::open(
        Arc::new(empty.clone()),
        config().first_seq(next).segment_bytes(1 << 20),
    )
    .expect("open");
    w.append(0, &op(1), AppendOptions::default())
        .expect("append");
    drop(w);
    let succ = recover::segment_name(next);
    storage.put(&succ, empty.contents(&succ).expect("segment"));
    let e = Spool::open(Arc::new(storage), config()).expect_err("corrupt");
    let OpenError::Corrupt(c) = &e else {
        panic!("{e}")
    };
    assert_eq!((c.file.as_str(), c.offset), (newest.as_str(), end), "{e}");
}

#[test]
fn segments_with_records_still_held_are_removed_not_reused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (spool, _) = Spool::open_dir(dir.path(), config()).expect("open");
    for i in 0..16 {
        spool
            .append(i, &op(i), AppendOptions::default())
            .expect("append");
    }
    drop(spool);
    // Reopened, every segment is sealed and read through a mapping.
    let (spool, _) = Spool::open_dir(dir.path(), config()).expect("reopen");
    let held = spool
        .read_from(9)
        .expect("reader")
        .next()
        .expect("a record")
        .expect("intact");
    assert_eq!(held.op, op(8));
    // Segments 1, 5, 9 and 13 (the tail); 5 and 9 would become spares.
    spool.ack(16).expect("ack");
    let spares = |dir: &std::path::Path| {
        std::fs::read_dir(dir)
            .expect("list")
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.file_name().to_string_lossy().starts_with("spare-"))
            })
            .count()
    };
    // The held record's segment was removed instead.
    assert_eq!(spares(dir.path()), 1);
    for i in 0..12 {
        spool
            .append(i, &op(100 + i), AppendOptions::default())
            .expect("append");
    }
    assert_eq!(spares(dir.path()), 0, "spares reused");
    assert_eq!(held.op, op(8), "a record handed out changed");
}
