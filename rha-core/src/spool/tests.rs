//! Spool behaviour: round trips, group commit, limits and overflow,
//! recovery, poisoning, and a property test against a model.

use std::sync::Arc;
use std::thread;
use std::time::Duration;

use bytes::Bytes;
use proptest::prelude::*;

use super::*;
use crate::journal::{Op, RelPath};
use crate::storage::*;

fn write_op(i: u64, len: usize) -> Op {
    Op::Write {
        path: RelPath::new(format!("dir/file{}", i % 3)).expect("valid path"),
        offset: i * 4096,
        data: Bytes::from(vec![i as u8; len]),
    }
}

fn small() -> SpoolConfig {
    SpoolConfig::default().min_free_bytes(0).segment_bytes(1024)
}

fn seqs(spool: &Spool, from: u64) -> Vec<u64> {
    spool
        .read_from(from)
        .expect("reader")
        .map(|r| r.expect("record").seq)
        .collect()
}

#[test]
fn append_read_ack_reopen_on_a_real_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (spool, rec) = Spool::open_dir(dir.path(), small()).expect("open");
    assert!(rec.created);
    for i in 0..40 {
        let t = spool
            .append(i, &write_op(i, 100), AppendOptions::default())
            .expect("append");
        assert_eq!(t.seq, Some(i + 1));
    }
    assert!(spool.usage().segments > 2, "{:?}", spool.usage());
    let recs: Vec<_> = spool
        .read_from(5)
        .expect("reader")
        .collect::<Result<_, _>>()
        .expect("read");
    assert_eq!(recs.len(), 36);
    assert_eq!(recs[0].op, write_op(4, 100));
    spool.ack(30).expect("ack");
    let u = spool.usage();
    assert_eq!(u.resume_seq, 31);
    assert!(u.oldest_seq.expect("segments left") <= 31);
    assert!(
        u.oldest_seq.expect("segments left") > 1,
        "segments reclaimed"
    );
    // A second process may not open it.
    let e = Spool::open_dir(dir.path(), small()).expect_err("locked");
    assert!(e.to_string().contains("in use"), "{e}");
    drop(spool);

    let (spool, rec) = Spool::open_dir(dir.path(), small()).expect("reopen");
    assert_eq!((rec.resume_seq, rec.next_seq), (31, 41));
    assert!(rec.torn_tail.is_none());
    assert_eq!(seqs(&spool, 31), (31..=40).collect::<Vec<_>>());
    let e = spool.read_from(1).expect_err("reclaimed");
    assert!(matches!(e, ReadError::Reclaimed { seq: 1, .. }), "{e}");
    let e = spool.read_from(42).expect_err("beyond");
    assert!(
        matches!(e, ReadError::BeyondEnd { seq: 42, next: 41 }),
        "{e}"
    );
}

#[test]
fn readers_follow_appends_and_see_only_durable_records() {
    let (spool, _) = Spool::open(Arc::new(MemStorage::new()), small()).expect("open");
    let mut r = spool.read_from(1).expect("reader");
    assert!(r.next_record().expect("empty").is_none());
    spool
        .append(1, &write_op(1, 10), AppendOptions::no_wait())
        .expect("append");
    assert!(r.next_record().expect("not durable").is_none());
    spool.sync().expect("sync");
    assert_eq!(r.next_record().expect("read").map(|r| r.seq), Some(1));
    for i in 2..30 {
        spool
            .append(i, &write_op(i, 50), AppendOptions::default())
            .expect("append");
    }
    let rest: Vec<u64> = r.by_ref().map(|x| x.expect("record").seq).collect();
    assert_eq!(rest, (2..30).collect::<Vec<_>>());
    assert_eq!(r.position(), 30);
}

#[test]
fn acks_beyond_durable_are_refused_and_old_acks_are_no_ops() {
    let (spool, _) = Spool::open(Arc::new(MemStorage::new()), small()).expect("open");
    spool
        .append(1, &write_op(1, 10), AppendOptions::no_wait())
        .expect("append");
    let e = spool.ack(1).expect_err("not durable");
    assert!(
        matches!(e, AckError::NotDurable { seq: 1, durable: 0 }),
        "{e}"
    );
    spool.sync().expect("sync");
    spool.ack(1).expect("ack");
    spool.ack(0).expect("older ack");
    assert_eq!(spool.usage().resume_seq, 2);
}

/// Memory storage whose syncs take a millisecond, like a fast disk's.
struct SlowSync(MemStorage);

struct SlowFile(Arc<dyn StorageFile>);

impl Storage for SlowSync {
    fn list(&self) -> std::io::Result<Vec<String>> {
        self.0.list()
    }
    fn open(&self, name: &str) -> std::io::Result<Arc<dyn StorageFile>> {
        Ok(Arc::new(SlowFile(self.0.open(name)?)))
    }
    fn create(&self, name: &str) -> std::io::Result<Arc<dyn StorageFile>> {
        Ok(Arc::new(SlowFile(self.0.create(name)?)))
    }
    fn remove(&self, name: &str) -> std::io::Result<()> {
        self.0.remove(name)
    }
    fn rename(&self, from: &str, to: &str) -> std::io::Result<()> {
        self.0.rename(from, to)
    }
    fn sync_dir(&self) -> std::io::Result<()> {
        self.0.sync_dir()
    }
    fn free_space(&self) -> std::io::Result<u64> {
        self.0.free_space()
    }
}

impl StorageFile for SlowFile {
    fn len(&self) -> std::io::Result<u64> {
        self.0.len()
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        self.0.read_at(offset, buf)
    }
    fn write_at(&self, offset: u64, data: &[u8]) -> std::io::Result<()> {
        self.0.write_at(offset, data)
    }
    fn set_len(&self, len: u64) -> std::io::Result<()> {
        self.0.set_len(len)
    }
    fn sync(&self) -> std::io::Result<()> {
        thread::sleep(Duration::from_millis(1));
        self.0.sync()
    }
}

#[test]
fn concurrent_producers_share_syncs() {
    // The gathering check depends on the scheduler: on a machine loaded
    // far beyond its cores a leader may wake before the others are ready.
    // The run is repeated (up to three times) until one shows the
    // gathering; the correctness checks hold on every run.
    let mut seen = Vec::new();
    for _ in 0..3 {
        let syncs = producers_share_syncs_once();
        // Every append waited for durability, yet far fewer syncs were made.
        assert!(syncs < 400, "{syncs} syncs for 800 durable appends");
        seen.push(syncs);
        // A new leader gathers the producers the last flush released, so a
        // sync covers most of the 8 (about 100 syncs) rather than every
        // other producer (about 190 when leaders alternate between two
        // halves).
        if syncs < 150 {
            return;
        }
    }
    panic!("{seen:?} syncs: leaders do not gather");
}

/// Eight producers append 100 records each, every append waiting for
/// durability; checks what was read back and returns the number of syncs.
fn producers_share_syncs_once() -> u64 {
    let storage = MemStorage::new();
    let slow = SlowSync(storage.clone());
    let (spool, _) = Spool::open(Arc::new(slow), small().segment_bytes(1 << 20)).expect("open");
    let spool = Arc::new(spool);
    storage.set_plan(CrashPlan::default());
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let spool = spool.clone();
            thread::spawn(move || {
                let mut mine = Vec::new();
                for i in 0..100 {
                    let op = write_op(t * 1000 + i, 64);
                    let ticket = spool
                        .append(i, &op, AppendOptions::default())
                        .expect("append");
                    mine.push((ticket.seq.expect("spooled"), op));
                }
                mine
            })
        })
        .collect();
    let mut all: Vec<(u64, Op)> = threads
        .into_iter()
        .flat_map(|t| t.join().expect("thread"))
        .collect();
    all.sort_by_key(|(s, _)| *s);
    let read: Vec<_> = spool
        .read_from(1)
        .expect("reader")
        .collect::<Result<_, _>>()
        .expect("read");
    assert_eq!(read.len(), 800);
    for (r, (seq, op)) in read.iter().zip(&all) {
        assert_eq!((r.seq, &r.op), (*seq, op));
    }
    storage.stats().syncs
}

#[test]
fn a_full_spool_fails_or_blocks_as_asked() {
    let config = small().max_bytes(Some(2000)).segment_bytes(500);
    let (spool, _) = Spool::open(Arc::new(MemStorage::new()), config).expect("open");
    let spool = Arc::new(spool);
    let fail = AppendOptions::default().when_full(WhenFull::Fail);
    let mut n = 0;
    let err = loop {
        match spool.append(n, &write_op(n, 100), fail) {
            Ok(_) => n += 1,
            Err(e) => break e,
        }
    };
    assert!(
        matches!(
            err,
            AppendError::Full {
                reason: FullReason::MaxSize,
                ..
            }
        ),
        "{err}"
    );
    assert!(n >= 10, "only {n} records fit");
    assert!(spool.usage().used_bytes <= 2000);
    // Failing changed nothing.
    assert_eq!(spool.usage().mode, SpoolMode::Normal);

    let block = AppendOptions::default().when_full(WhenFull::Block(Duration::from_millis(50)));
    let e = spool
        .append(0, &write_op(0, 100), block)
        .expect_err("still full");
    assert!(matches!(e, AppendError::Full { .. }), "{e}");

    // A consumer acknowledging makes room for a blocked producer.
    let consumer = {
        let spool = spool.clone();
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(50));
            spool.ack(n).expect("ack");
        })
    };
    let block = AppendOptions::default().when_full(WhenFull::Block(Duration::from_secs(20)));
    let t = spool
        .append(0, &write_op(0, 100), block)
        .expect("room appeared");
    assert_eq!(t.seq, Some(n + 1));
    consumer.join().expect("consumer");
}

#[test]
fn usage_warnings_fire_once_per_crossing() {
    let config = small().max_bytes(Some(10_000)).segment_bytes(2000);
    let (spool, _) = Spool::open(Arc::new(MemStorage::new()), config).expect("open");
    let mut events = Vec::new();
    for i in 0..200 {
        if spool
            .append(
                i,
                &write_op(i, 200),
                AppendOptions::default().when_full(WhenFull::Fail),
            )
            .is_err()
        {
            break;
        }
        while let Some(e) = spool.poll_event() {
            events.push(e);
        }
    }
    let percents: Vec<u8> = events
        .iter()
        .filter_map(|e| match e {
            SpoolEvent::UsageAbove { percent, .. } => Some(*percent),
            _ => None,
        })
        .collect();
    assert_eq!(percents, [80, 90]);
    // After falling below and rising again, they fire again.
    let last = spool.usage().durable_next_seq - 1;
    spool.ack(last).expect("ack");
    for i in 0..200 {
        if spool
            .append(
                i,
                &write_op(i, 200),
                AppendOptions::default().when_full(WhenFull::Fail),
            )
            .is_err()
        {
            break;
        }
    }
    let again = std::iter::from_fn(|| spool.poll_event())
        .filter(|e| matches!(e, SpoolEvent::UsageAbove { .. }))
        .count();
    assert_eq!(again, 2);
}

#[test]
fn usage_warnings_and_torn_tails_are_logged() {
    let config = small().max_bytes(Some(10_000)).segment_bytes(2000);
    let storage = MemStorage::new();
    let ((), lines) = crate::log_capture::capture(|| {
        let (spool, _) = Spool::open(Arc::new(storage.clone()), config.clone()).expect("open");
        for i in 0..200 {
            let full = spool
                .append(
                    i,
                    &write_op(i, 200),
                    AppendOptions::default().when_full(WhenFull::Fail),
                )
                .is_err();
            if full {
                break;
            }
        }
    });
    let warned: Vec<&String> = lines
        .iter()
        .filter(|l| l.starts_with("WARN spool usage crossed its warning threshold"))
        .collect();
    assert_eq!(warned.len(), 2, "{lines:?}");
    assert!(
        warned[0].contains("percent=80 used_bytes="),
        "{}",
        warned[0]
    );
    assert!(warned[1].contains("percent=90 "), "{}", warned[1]);
    assert!(warned[1].contains(" capacity_bytes=10000"), "{}", warned[1]);

    // Cut the newest segment inside its last record: reopening says so.
    let newest = storage
        .list()
        .expect("list")
        .into_iter()
        .filter(|n| super::recover::parse_segment_name(n).is_some())
        .max()
        .expect("a segment");
    let file = storage.open(&newest).expect("open segment");
    let len = file.len().expect("len");
    file.set_len(len - 5).expect("cut");
    let (_, lines) = crate::log_capture::capture(|| Spool::open(Arc::new(storage), config));
    let torn: Vec<&String> = lines
        .iter()
        .filter(|l| l.starts_with("WARN torn tail truncated"))
        .collect();
    assert_eq!(torn.len(), 1, "{lines:?}");
    assert!(torn[0].contains(&format!("file={newest} ")), "{}", torn[0]);
    assert!(lines.iter().any(|l| l.starts_with("DEBUG spool recovered")));
}

#[test]
fn min_free_space_is_a_limit_too() {
    let storage = MemStorage::new();
    storage.set_capacity(Some(20_000));
    let config = SpoolConfig::default()
        .min_free_bytes(10_000)
        .segment_bytes(1000);
    let (spool, _) = Spool::open(Arc::new(storage), config).expect("open");
    let fail = AppendOptions::default().when_full(WhenFull::Fail);
    let mut last = None;
    for i in 0..1000 {
        match spool.append(i, &write_op(i, 500), fail) {
            Ok(_) => {}
            Err(e) => {
                last = Some(e);
                break;
            }
        }
    }
    let e = last.expect("filled up");
    assert!(
        matches!(
            e,
            AppendError::Full {
                reason: FullReason::MinFreeSpace,
                ..
            }
        ),
        "{e}"
    );
    assert!(spool.usage().used_bytes <= 10_000 + 600);
}

#[test]
fn overflow_stop_refuses_appends_keeps_acked_data_and_persists() {
    let storage = MemStorage::new();
    let config = small().max_bytes(Some(3000)).overflow(OverflowPolicy::Stop);
    let (spool, _) = Spool::open(Arc::new(storage.clone()), config.clone()).expect("open");
    let mut stored = 0;
    let err = loop {
        match spool.append(stored, &write_op(stored, 200), AppendOptions::default()) {
            Ok(_) => stored += 1,
            Err(e) => break e,
        }
    };
    let at = stored + 1;
    assert!(
        matches!(err, AppendError::Stopped { at_seq } if at_seq == at),
        "{err}"
    );
    assert!(std::iter::from_fn(|| spool.poll_event()).any(|e| matches!(
        e,
        SpoolEvent::Overflow { policy: OverflowPolicy::Stop, at_seq, .. } if at_seq == at
    )));
    let e = spool
        .append(0, &write_op(0, 1), AppendOptions::default())
        .expect_err("stopped");
    assert!(matches!(e, AppendError::Stopped { .. }), "{e}");
    spool.ack(2).expect("acks still work");
    drop(spool);

    let (spool, _) = Spool::open(Arc::new(storage.durable_image()), config).expect("reopen");
    assert_eq!(spool.usage().mode, SpoolMode::Stopped { at_seq: at });
    assert_eq!(seqs(&spool, 3), (3..at).collect::<Vec<_>>());
    spool.reset(at).expect("reset after resync");
    assert_eq!(spool.usage().mode, SpoolMode::Normal);
    assert_eq!(spool.usage().used_bytes, 0);
    let t = spool
        .append(0, &write_op(0, 1), AppendOptions::default())
        .expect("appends again");
    assert_eq!(t.seq, Some(at));
    let e = spool.reset(1).expect_err("backwards");
    assert!(matches!(e, ResetError::Backwards { .. }), "{e}");
}

/// A spool of 3000 bytes that overflowed into dirty regions: 40 writes of
/// 200 bytes appended (`durable` or not).
fn degraded(durable: bool) -> Spool {
    let config = small()
        .max_bytes(Some(3000))
        .overflow(OverflowPolicy::DegradeToDirtyRegions);
    let (spool, _) = Spool::open(Arc::new(MemStorage::new()), config).expect("open");
    for i in 0..40u64 {
        spool
            .append(
                i,
                &write_op(i, 200),
                AppendOptions::default().durable(durable),
            )
            .expect("append never fails when degrading");
    }
    spool
}

#[test]
fn the_regions_since_a_point_add_the_records_still_spooled() {
    let spool = degraded(true);
    let SpoolMode::Degraded { at_seq } = spool.usage().mode else {
        panic!("not degraded: {:?}", spool.usage());
    };
    let tracked = spool.dirty_regions();
    // From the overflow point on: only the tracked regions.
    assert_eq!(spool.regions_since(at_seq).expect("read"), tracked);
    // From record 3 on: those records' regions too, and no others.
    let since = spool.regions_since(3).expect("read");
    let mut want = tracked.clone();
    for i in 2..at_seq - 1 {
        want.mark_op(&write_op(i, 200));
    }
    assert_eq!(since, want);
    assert!(!tracked.is_dirty(
        &RegionTarget::File(b"dir/file2".to_vec()),
        2 * 4096,
        2 * 4096 + 1
    ));
    assert!(since.is_dirty(
        &RegionTarget::File(b"dir/file2".to_vec()),
        2 * 4096,
        2 * 4096 + 1
    ));
}

#[test]
fn a_reset_keeping_its_regions_hands_them_over_first_or_discards_nothing() {
    let spool = degraded(false);
    let dirty = spool.dirty_regions();
    assert!(!dirty.is_empty());
    let next = spool.usage().next_seq;
    // A keeper that fails: nothing is discarded.
    let e = spool
        .reset_keeping(next, |_| Err(std::io::Error::other("disk full")))
        .expect_err("kept nothing");
    assert!(matches!(e, ResetError::Keep(_)), "{e}");
    assert!(e.to_string().contains("disk full"), "{e}");
    assert_eq!(spool.dirty_regions(), dirty);
    assert!(matches!(spool.usage().mode, SpoolMode::Degraded { .. }));
    // One that succeeds gets them, and the spool starts afresh.
    let mut kept = None;
    spool
        .reset_keeping(next, |d| {
            kept = Some(d.clone());
            Ok(())
        })
        .expect("reset");
    assert_eq!(kept, Some(dirty));
    assert!(spool.dirty_regions().is_empty());
    assert_eq!(spool.usage().mode, SpoolMode::Normal);
}

#[test]
fn overflow_degrades_to_durable_dirty_regions() {
    let storage = MemStorage::new();
    let config = small()
        .max_bytes(Some(3000))
        .overflow(OverflowPolicy::DegradeToDirtyRegions);
    let (spool, _) = Spool::open(Arc::new(storage.clone()), config.clone()).expect("open");
    let mut spooled = 0;
    let mut tracked = 0;
    for i in 0..40u64 {
        let t = spool
            .append(i, &write_op(i, 200), AppendOptions::default())
            .expect("append never fails when degrading");
        match t.seq {
            Some(_) => spooled += 1,
            None => tracked += 1,
        }
    }
    let vol = Op::BlockWrite {
        volume: 2,
        offset: 8192,
        data: Bytes::from(vec![1u8; 10]),
    };
    spool
        .append(0, &vol, AppendOptions::default())
        .expect("append");
    spool
        .append(
            0,
            &Op::Delete {
                path: RelPath::new("gone").expect("path"),
            },
            AppendOptions::default(),
        )
        .expect("append");
    assert!(
        spooled > 5 && tracked > 5,
        "{spooled} spooled, {tracked} tracked"
    );
    assert!(matches!(spool.usage().mode, SpoolMode::Degraded { at_seq } if at_seq == spooled + 1));
    let d = spool.dirty_regions();
    // Writes i*4096 .. +200, for the tracked i, on three files.
    let first_tracked = spooled;
    let f = RegionTarget::File(format!("dir/file{}", first_tracked % 3).into_bytes());
    assert!(d.is_dirty(&f, first_tracked * 4096, first_tracked * 4096 + 1));
    assert!(!d.is_dirty(&f, 0, 4096), "spooled writes are not dirty");
    assert_eq!(d.ranges(&RegionTarget::Volume(2)), [(8192, 12288)]);
    assert_eq!(
        d.ranges(&RegionTarget::File(b"gone".to_vec())),
        [(0, TO_END)]
    );
    // Spooled records are intact and readable.
    assert_eq!(seqs(&spool, 1).len() as u64, spooled);
    drop(spool);

    // Durable: the dirty regions and the mode survive a crash.
    let (spool, _) = Spool::open(Arc::new(storage.durable_image()), config).expect("reopen");
    assert_eq!(spool.dirty_regions(), d);
    assert!(matches!(spool.usage().mode, SpoolMode::Degraded { .. }));
    spool.reset(spooled + 1).expect("reset");
    assert!(spool.dirty_regions().is_empty());
    assert_eq!(spool.usage().mode, SpoolMode::Normal);
}

/// Builds a spool with a few segments and returns its storage.
fn three_segments() -> MemStorage {
    let storage = MemStorage::new();
    let (spool, _) =
        Spool::open(Arc::new(storage.clone()), small().segment_bytes(300)).expect("open");
    for i in 0..12 {
        spool
            .append(i, &write_op(i, 100), AppendOptions::default())
            .expect("append");
    }
    assert!(spool.usage().segments >= 3);
    storage
}

fn segment_names(storage: &MemStorage) -> Vec<String> {
    let mut names: Vec<String> = storage
        .list()
        .expect("list")
        .into_iter()
        .filter(|n| parse_segment_name(n).is_some())
        .collect();
    names.sort();
    names
}

#[test]
fn a_torn_tail_is_truncated_and_reported() {
    let storage = three_segments();
    let names = segment_names(&storage);
    let last = names.last().expect("segments");
    let mut bytes = storage.contents(last).expect("file");
    let good_len = bytes.len() as u64;
    bytes.extend_from_slice(&[0x11; 20]);
    storage.put(last, bytes);
    let (spool, rec) = Spool::open(Arc::new(storage.clone()), small()).expect("open");
    let torn = rec.torn_tail.expect("torn tail");
    assert_eq!(
        (torn.file.as_str(), torn.offset, torn.discarded_bytes),
        (last.as_str(), good_len, 20)
    );
    assert_eq!(torn.last_good_seq, Some(12));
    assert_eq!(
        storage.contents(last).map(|b| b.len() as u64),
        Some(good_len)
    );
    assert_eq!(seqs(&spool, 1), (1..=12).collect::<Vec<_>>());
}

#[test]
fn corruption_in_the_middle_names_file_offset_and_last_good_seq() {
    let storage = three_segments();
    let names = segment_names(&storage);
    let victim = &names[1];
    let first = parse_segment_name(victim).expect("segment name");
    let mut bytes = storage.contents(victim).expect("file");
    // The second frame of the segment: 16-byte stream header, then frames
    // of equal length.
    let frame = {
        let mut d = crate::journal::Decoder::new(Default::default());
        d.feed(&bytes);
        d.next_record().expect("decodes").expect("a record");
        d.offset()
    };
    bytes[frame as usize + 40] ^= 0x01;
    storage.put(victim, bytes);

    let e = Spool::open(Arc::new(storage.clone()), small()).expect_err("corrupt");
    let OpenError::Corrupt(c) = &e else {
        panic!("{e}")
    };
    assert_eq!(
        (c.file.as_str(), c.offset, c.last_good_seq),
        (victim.as_str(), frame, Some(first))
    );
    assert!(e.to_string().contains(victim.as_str()), "{e}");

    // Read-only inspection reports the same without changing anything.
    let before = storage.contents(victim);
    assert!(inspect(&storage, &small(), false).is_err());
    assert_eq!(storage.contents(victim), before);

    // Salvage keeps everything before the damage.
    let (spool, rec) =
        Spool::open(Arc::new(storage.clone()), small().salvage(true)).expect("salvage");
    assert_eq!(rec.salvaged.as_ref().map(|c| c.offset), Some(frame));
    assert_eq!(rec.discarded.len(), names.len() - 2);
    assert_eq!(seqs(&spool, 1), (1..=first).collect::<Vec<_>>());
    let t = spool
        .append(0, &write_op(0, 1), AppendOptions::default())
        .expect("append after salvage");
    assert_eq!(t.seq, Some(first + 1));
}

#[test]
fn damaged_state_or_missing_records_refuse_to_open() {
    let storage = three_segments();
    let mut state = storage.contents(STATE_FILE).expect("state");
    state[20] ^= 4;
    storage.put(STATE_FILE, state);
    let e = Spool::open(Arc::new(storage), small()).expect_err("corrupt state");
    assert!(e.to_string().contains("state"), "{e}");

    let storage = three_segments();
    let names = segment_names(&storage);
    storage.remove(&names[1]).expect("remove");
    let e = Spool::open(Arc::new(storage), small()).expect_err("gap");
    assert!(e.to_string().contains("sequence gap"), "{e}");
}

#[test]
fn a_missing_state_file_is_rebuilt_by_salvage_and_the_spool_opens() {
    let storage = three_segments();
    let records = {
        let (spool, _) = Spool::open(Arc::new(storage.clone()), small()).expect("open");
        seqs(&spool, 1)
    };
    storage.remove(STATE_FILE).expect("remove");
    let e = Spool::open(Arc::new(storage.clone()), small()).expect_err("no state");
    assert!(e.to_string().contains("state file is missing"), "{e}");
    let found = inspect(&storage, &small(), true).expect("salvage");
    assert!(found.recovery.salvaged.is_some());
    assert!(
        storage.contents(STATE_FILE).is_some(),
        "the state is stored"
    );
    // Everything stored is still there, from the first segment on.
    let (spool, _) = Spool::open(Arc::new(storage), small()).expect("opens after salvage");
    assert_eq!(seqs(&spool, 1), records);
}

#[test]
fn a_failed_sync_poisons_the_handle_until_reopened() {
    let base = MemStorage::new();
    let probe = Faults::new(FaultPlan::Never);
    let storage = FaultInjector::new(Arc::new(base.clone()), probe.clone());
    let (spool, _) = Spool::open(Arc::new(storage), small()).expect("open");
    drop(spool);
    let calls = probe.calls();
    // Fail the first sync after opening: the append's own.
    let faults = Faults::new(FaultPlan::FailAt(calls + 3));
    let faulty = FaultInjector::new(Arc::new(base.clone()), faults);
    let (spool, _) = Spool::open(Arc::new(faulty.clone()), small()).expect("open");
    let mut first_err = None;
    for i in 0..5 {
        if let Err(e) = spool.append(i, &write_op(i, 10), AppendOptions::default()) {
            first_err = Some(e);
            break;
        }
    }
    let e = first_err.expect("the fault surfaced");
    assert!(matches!(e, AppendError::Io(_)), "{e}");
    let e = spool
        .append(9, &write_op(9, 10), AppendOptions::default())
        .expect_err("poisoned");
    assert!(matches!(e, AppendError::Poisoned(_)), "{e}");
    assert!(matches!(spool.ack(1), Err(AckError::Poisoned(_))));
    assert!(spool.usage().failed);
    assert!(matches!(
        spool.poll_event(),
        Some(SpoolEvent::Failed { .. })
    ));
    drop(spool);
    Spool::open(Arc::new(base), small()).expect("reopens");
}

#[test]
fn invalid_records_are_refused_without_harm() {
    let (spool, _) =
        Spool::open(Arc::new(MemStorage::new()), small().max_record_size(100)).expect("open");
    let e = spool
        .append(0, &write_op(0, 500), AppendOptions::default())
        .expect_err("too large");
    assert!(matches!(e, AppendError::Encode(_)), "{e}");
    spool
        .append(0, &write_op(0, 5), AppendOptions::default())
        .expect("next one fits");
    let rec = crate::journal::Record {
        seq: 7,
        timestamp_ns: 0,
        op: write_op(1, 5),
    };
    let e = spool
        .append_record(&rec, AppendOptions::default())
        .expect_err("wrong seq");
    assert!(matches!(e, AppendError::Encode(_)), "{e}");
    let rec = crate::journal::Record { seq: 2, ..rec };
    spool
        .append_record(&rec, AppendOptions::default())
        .expect("right seq");
    assert_eq!(seqs(&spool, 1), [1, 2]);
}

#[test]
fn dirty_regions_merge_and_round_up() {
    let mut d = DirtyRegions::new(100);
    let f = RegionTarget::File(b"a".to_vec());
    d.mark(f.clone(), 150, 160);
    d.mark(f.clone(), 310, 320);
    assert_eq!(d.ranges(&f), [(100, 200), (300, 400)]);
    d.mark(f.clone(), 199, 301);
    assert_eq!(d.ranges(&f), [(100, 400)]);
    d.mark(f.clone(), 400, 401);
    assert_eq!(d.ranges(&f), [(100, 500)]);
    d.mark(f.clone(), u64::MAX - 5, u64::MAX);
    assert_eq!(d.range_count(), 2);
    assert!(d.is_dirty(&f, 0, 101));
    assert!(!d.is_dirty(&f, 0, 100));
}

#[test]
fn dirty_regions_merge_into_another_set_and_survive_their_bytes() {
    let mut a = DirtyRegions::new(4096);
    let f = RegionTarget::File(b"f".to_vec());
    a.mark(f.clone(), 0, 10);
    let mut b = DirtyRegions::new(4096);
    b.mark(f.clone(), 4096, 5000);
    b.mark(RegionTarget::Volume(3), 0, 1);
    a.merge(&b);
    assert_eq!(a.ranges(&f), [(0, 8192)]);
    assert_eq!(a.range_count(), 2);
    let bytes = a.to_bytes();
    assert_eq!(DirtyRegions::from_bytes(&bytes, "x"), Ok(a.clone()));
    let mut bad = bytes.clone();
    bad[20] ^= 1;
    let e = DirtyRegions::from_bytes(&bad, "resync.dirty").expect_err("damaged");
    assert_eq!(e.file, "resync.dirty");
    assert!(e.reason.contains("checksum"), "{e}");
}

#[test]
fn a_special_node_or_cleared_xattrs_mark_the_whole_entry() {
    let mut d = DirtyRegions::new(100);
    let path = |p: &str| RelPath::new(p.to_owned()).expect("path");
    d.mark_op(&Op::Mknod {
        path: path("fifo"),
        mode: crate::journal::MODE_FIFO | 0o644,
        rdev: 0,
    });
    d.mark_op(&Op::ClearXattrs { path: path("f") });
    for name in ["fifo", "f"] {
        let t = RegionTarget::File(name.as_bytes().to_vec());
        assert!(d.is_dirty(&t, 0, 1), "{name}");
        assert!(d.is_dirty(&t, u64::MAX - 1, u64::MAX), "{name}");
    }
}

#[derive(Debug, Clone)]
enum Step {
    Append { len: usize, durable: bool },
    Ack(u8),
    Read(u8),
    Reopen,
    CrashDurable,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0usize..300, any::<bool>()).prop_map(|(len, durable)| Step::Append { len, durable }),
        1 => any::<u8>().prop_map(Step::Ack),
        1 => any::<u8>().prop_map(Step::Read),
        1 => Just(Step::Reopen),
        1 => Just(Step::CrashDurable),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The spool returns exactly what was appended, in order, across
    /// reopens and simulated crashes (losing only what was never durable).
    #[test]
    fn spool_matches_a_model(steps in proptest::collection::vec(step(), 1..60)) {
        let config = small().segment_bytes(700);
        let mut storage = MemStorage::new();
        let (mut spool, _) = Spool::open(Arc::new(storage.clone()), config.clone()).expect("open");
        // Model: records by seq, acked position, durable position.
        let mut model: Vec<Op> = Vec::new();
        let mut resume = 1u64;
        let mut durable = 0u64;
        for (i, s) in steps.into_iter().enumerate() {
            match s {
                Step::Append { len, durable: d } => {
                    let op = write_op(i as u64, len);
                    let opts = AppendOptions::default().durable(d);
                    let t = spool.append(i as u64, &op, opts).expect("append");
                    model.push(op);
                    prop_assert_eq!(t.seq, Some(model.len() as u64));
                    if d { durable = model.len() as u64; }
                }
                Step::Ack(n) => {
                    let target = resume - 1 + u64::from(n % 8);
                    match spool.ack(target) {
                        Ok(()) => resume = resume.max(target + 1),
                        Err(AckError::NotDurable { .. }) => {
                            prop_assert!(target >= spool.usage().durable_next_seq)
                        }
                        Err(e) => panic!("{e}"),
                    }
                }
                Step::Read(n) => {
                    let from = resume + u64::from(n % 4);
                    if from <= model.len() as u64 + 1 {
                        let got: Vec<_> = spool.read_from(from).expect("reader")
                            .collect::<Result<_, _>>().expect("read");
                        let durable_now = spool.usage().durable_next_seq;
                        prop_assert_eq!(got.len() as u64, durable_now.saturating_sub(from));
                        for r in got {
                            prop_assert_eq!(&r.op, &model[r.seq as usize - 1]);
                        }
                    }
                }
                Step::Reopen => {
                    drop(spool);
                    spool = Spool::open(Arc::new(storage.clone()), config.clone()).expect("reopen").0;
                    durable = model.len() as u64;
                    prop_assert_eq!(spool.usage().resume_seq, resume);
                }
                Step::CrashDurable => {
                    let image = storage.durable_image();
                    drop(spool);
                    storage = image;
                    spool = Spool::open(Arc::new(storage.clone()), config.clone()).expect("reopen").0;
                    let next = spool.usage().next_seq;
                    prop_assert!(next > durable);
                    model.truncate(next as usize - 1);
                    durable = model.len() as u64;
                    prop_assert_eq!(spool.usage().resume_seq, resume);
                }
            }
        }
        let got: Vec<_> = spool.read_from(resume).expect("reader").collect::<Result<_, _>>().expect("read");
        let _ = durable;
        for r in &got {
            prop_assert_eq!(&r.op, &model[r.seq as usize - 1]);
        }
    }
}

/// The golden spool directory: format version 1 of segments, the state
/// file and the dirty-region file.
fn golden_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/spool-v1")
}

/// Builds the golden spool: 8 records in two segments, 1 and 2
/// acknowledged, then a degrading overflow with three tracked changes.
fn golden_spool(storage: &MemStorage) {
    let config = SpoolConfig::default()
        .min_free_bytes(0)
        .segment_bytes(600)
        .max_bytes(Some(1100))
        .overflow(OverflowPolicy::DegradeToDirtyRegions);
    let (spool, _) = Spool::open(Arc::new(storage.clone()), config).expect("open");
    let t0 = 1_763_683_200_000_000_000;
    for i in 0..8u64 {
        let t = spool
            .append(t0 + i, &write_op(i, 60), AppendOptions::default())
            .expect("append");
        assert_eq!(t.seq, Some(i + 1));
    }
    spool.ack(2).expect("ack");
    for op in [
        write_op(9, 5000),
        Op::Rename {
            from: RelPath::new("dir/a").expect("path"),
            to: RelPath::new("dir/b").expect("path"),
        },
        Op::Discard {
            volume: 1,
            offset: 1 << 20,
            len: 8192,
        },
    ] {
        let t = spool
            .append(t0 + 100, &op, AppendOptions::default())
            .expect("append");
        assert_eq!(t.seq, None);
    }
}

#[test]
#[ignore = "writes the golden spool into the source tree"]
fn regenerate_golden_spool() {
    let storage = MemStorage::new();
    golden_spool(&storage);
    let dir = golden_dir();
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    for name in storage.list().expect("list") {
        let bytes = storage.contents(&name).expect("file");
        std::fs::write(dir.join(name), bytes).expect("write");
    }
}

#[test]
fn the_golden_spool_reads_back_and_is_reproduced_byte_for_byte() {
    let dir = golden_dir();
    let storage = MemStorage::new();
    golden_spool(&storage);
    let mut names = storage.list().expect("list");
    // The limits file came later; it has its own golden file (spool-limits-v1).
    names.retain(|n| n != LIMITS_FILE);
    names.sort();
    let mut golden: Vec<String> = std::fs::read_dir(&dir)
        .expect("tests/data/spool-v1")
        .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
        .collect();
    golden.sort();
    assert_eq!(names, golden);
    for name in &names {
        let want = std::fs::read(dir.join(name)).expect("golden file");
        assert_eq!(
            storage.contents(name),
            Some(want),
            "{name} differs from the golden file"
        );
    }

    let copy = tempfile::tempdir().expect("tempdir");
    for name in &golden {
        std::fs::copy(dir.join(name), copy.path().join(name)).expect("copy");
    }
    let (spool, rec) = Spool::open_dir(copy.path(), SpoolConfig::default().min_free_bytes(0))
        .expect("golden spool opens");
    assert_eq!((rec.resume_seq, rec.next_seq, rec.segments), (3, 9, 2));
    assert!(rec.torn_tail.is_none());
    assert_eq!(spool.usage().mode, SpoolMode::Degraded { at_seq: 9 });
    let recs: Vec<_> = spool
        .read_from(3)
        .expect("reader")
        .collect::<Result<_, _>>()
        .expect("read");
    assert_eq!(recs.len(), 6);
    assert_eq!(recs[0].op, write_op(2, 60));
    assert_eq!(recs[0].timestamp_ns, 1_763_683_200_000_000_002);
    let d = spool.dirty_regions();
    assert_eq!(
        d.ranges(&RegionTarget::File(b"dir/file0".to_vec())),
        [(36864, 45056)]
    );
    assert_eq!(
        d.ranges(&RegionTarget::File(b"dir/b".to_vec())),
        [(0, TO_END)]
    );
    assert_eq!(
        d.ranges(&RegionTarget::Volume(1)),
        [(1 << 20, (1 << 20) + 8192)]
    );
}

#[test]
fn large_payloads_written_behind_come_back_intact() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = small().segment_bytes(300_000).max_unflushed_bytes(250_000);
    let ops: Vec<Op> = (0..12).map(|i| write_op(i, 70_000 + i as usize)).collect();
    {
        let (spool, _) = Spool::open_dir(dir.path(), config.clone()).expect("open");
        for (i, op) in ops.iter().enumerate() {
            spool
                .append(i as u64, op, AppendOptions::no_wait())
                .expect("append");
            // Memory stays bounded by the write-behind limit plus a record.
            assert!(spool.unflushed() < 250_000 + 80_000);
        }
        spool.close().expect("close");
    }
    let (spool, rec) = Spool::open_dir(dir.path(), config).expect("reopen");
    assert!(rec.segments > 2, "{rec:?}");
    let got: Vec<_> = spool
        .read_from(1)
        .expect("reader")
        .collect::<Result<_, _>>()
        .expect("read");
    assert_eq!(got.iter().map(|r| r.op.clone()).collect::<Vec<_>>(), ops);
}

/// The golden limits file: the limits [`golden_spool`] opens with.
fn golden_limits_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/spool-limits-v1")
}

#[test]
#[ignore = "writes the golden limits file into the source tree"]
fn regenerate_golden_limits() {
    let storage = MemStorage::new();
    golden_spool(&storage);
    let dir = golden_limits_dir();
    std::fs::create_dir_all(&dir).expect("mkdir");
    let bytes = storage.contents(LIMITS_FILE).expect("limits file");
    std::fs::write(dir.join(LIMITS_FILE), bytes).expect("write");
}

#[test]
fn the_golden_limits_file_decodes_and_is_reproduced_byte_for_byte() {
    let want = std::fs::read(golden_limits_dir().join(LIMITS_FILE)).expect("golden limits");
    let storage = MemStorage::new();
    golden_spool(&storage);
    assert_eq!(storage.contents(LIMITS_FILE), Some(want.clone()));
    let limits = SpoolLimits::decode(&want).expect("decodes");
    assert_eq!(limits.max_bytes, Some(1100));
    assert_eq!(limits.min_free_bytes, 0);
    assert_eq!(limits.segment_bytes, 600);
    assert_eq!(limits.warn_percent, [80, 90]);
    assert_eq!(limits.overflow, OverflowPolicy::DegradeToDirtyRegions);
    assert_eq!(limits.dirty_granularity, 4096);
}

#[test]
fn a_spool_without_a_limits_file_opens_and_gets_one() {
    // The golden spool predates the limits file.
    let copy = tempfile::tempdir().expect("tempdir");
    for entry in std::fs::read_dir(golden_dir()).expect("golden dir") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), copy.path().join(entry.file_name())).expect("copy");
    }
    assert!(!copy.path().join(LIMITS_FILE).exists());
    let storage = DirStorage::open(copy.path()).expect("storage");
    let found = inspect(&storage, &SpoolConfig::default(), false).expect("inspect");
    assert_eq!(found.limits, None);
    drop(storage);
    let config = SpoolConfig::default()
        .min_free_bytes(0)
        .max_bytes(Some(5000));
    let (spool, _) = Spool::open_dir(copy.path(), config.clone()).expect("opens");
    drop(spool);
    let storage = DirStorage::open(copy.path()).expect("storage");
    assert_eq!(
        read_limits(&storage).expect("readable"),
        Some(SpoolLimits::of(&config))
    );
    let found = inspect(&storage, &SpoolConfig::default(), false).expect("inspect");
    assert_eq!(found.limits, Some(SpoolLimits::of(&config)));
}

#[test]
fn the_openers_limits_win_and_are_stored_durably() {
    let storage = MemStorage::new();
    let first = small()
        .max_bytes(Some(10_000))
        .warn_percent(vec![50])
        .overflow(OverflowPolicy::DegradeToDirtyRegions);
    let (spool, _) = Spool::open(Arc::new(storage.clone()), first.clone()).expect("open");
    drop(spool);
    // Durable (temp file, sync, rename, directory sync): survives a crash.
    let image = storage.durable_image();
    assert_eq!(
        read_limits(&image).expect("readable"),
        Some(SpoolLimits::of(&first))
    );
    assert_eq!(image.contents("limits.tmp"), None);

    // Reopening with the same limits writes nothing.
    let writes = storage.stats();
    let (spool, _) = Spool::open(Arc::new(storage.clone()), first.clone()).expect("reopen");
    drop(spool);
    assert_eq!(storage.stats().syncs, writes.syncs, "nothing to store");

    // Different limits: the opener's are used and stored.
    let second = small().max_bytes(Some(2_000));
    let (spool, _) = Spool::open(Arc::new(storage.clone()), second.clone()).expect("reopen");
    assert_eq!(spool.usage().max_bytes, Some(2_000));
    drop(spool);
    let stored = read_limits(&storage.durable_image())
        .expect("readable")
        .expect("stored");
    assert_eq!(stored, SpoolLimits::of(&second));
    assert_eq!(stored.overflow, OverflowPolicy::Stop);

    // The stored limits can be applied to reopen with them.
    let (spool, _) = Spool::open(
        Arc::new(storage.clone()),
        stored.apply(SpoolConfig::default()),
    )
    .expect("reopen with the stored limits");
    assert_eq!(spool.usage().max_bytes, Some(2_000));
    assert_eq!(spool.usage().min_free_bytes, 0);
}

#[test]
fn a_corrupt_limits_file_refuses_to_open_naming_it_unless_salvaging() {
    let storage = MemStorage::new();
    let config = small().max_bytes(Some(4_000));
    let (spool, _) = Spool::open(Arc::new(storage.clone()), config.clone()).expect("open");
    spool
        .append(1, &write_op(1, 10), AppendOptions::default())
        .expect("append");
    drop(spool);
    let mut bytes = storage.contents(LIMITS_FILE).expect("limits");
    bytes[20] ^= 0x40;
    storage.put(LIMITS_FILE, bytes.clone());

    let e = Spool::open(Arc::new(storage.clone()), config.clone()).expect_err("refused");
    let OpenError::Corrupt(c) = &e else {
        panic!("{e}");
    };
    assert_eq!(c.file, LIMITS_FILE);
    assert_eq!(c.offset, bytes.len() as u64 - 4);
    assert!(e.to_string().contains("limits"), "{e}");
    assert!(e.to_string().contains("checksum"), "{e}");
    let e = inspect(&storage, &config, false).expect_err("inspect refuses too");
    assert!(
        matches!(e, OpenError::Corrupt(ref c) if c.file == LIMITS_FILE),
        "{e}"
    );
    // Untouched by the refused open.
    assert_eq!(storage.contents(LIMITS_FILE), Some(bytes.clone()));

    // Too long a file is refused before it is read.
    storage.put(LIMITS_FILE, vec![0; MAX_LIMITS_FILE as usize + 1]);
    let e = Spool::open(Arc::new(storage.clone()), config.clone()).expect_err("refused");
    assert!(
        matches!(e, OpenError::Corrupt(ref c) if c.file == LIMITS_FILE),
        "{e}"
    );
    storage.put(LIMITS_FILE, bytes);

    // Salvage replaces it with the opener's limits and reports it; records stay.
    let (spool, rec) = Spool::open(Arc::new(storage.clone()), config.clone().salvage(true))
        .expect("salvage opens");
    assert_eq!(
        rec.salvaged.as_ref().map(|c| c.file.as_str()),
        Some(LIMITS_FILE)
    );
    assert_eq!(seqs(&spool, 1), [1]);
    drop(spool);
    assert_eq!(
        read_limits(&storage).expect("readable"),
        Some(SpoolLimits::of(&config.clone().salvage(true)))
    );
    let (_spool, rec) = Spool::open(Arc::new(storage.clone()), config).expect("opens again");
    assert!(rec.salvaged.is_none());
}

#[test]
fn inspect_with_salvage_removes_a_corrupt_limits_file() {
    let storage = MemStorage::new();
    let (spool, _) = Spool::open(Arc::new(storage.clone()), small()).expect("open");
    drop(spool);
    storage.put(LIMITS_FILE, b"\x89RHASPL\ngarbage".to_vec());
    let found = inspect(&storage, &small(), true).expect("salvaged");
    let c = found.recovery.salvaged.expect("reported");
    assert_eq!((c.file.as_str(), c.offset), (LIMITS_FILE, 0));
    assert!(c.reason.contains("too short"), "{}", c.reason);
    assert_eq!(found.limits, None);
    assert_eq!(storage.contents(LIMITS_FILE), None);
    assert!(inspect(&storage, &small(), false).is_ok());
}

#[test]
fn too_many_warning_thresholds_are_a_configuration_error() {
    let storage = MemStorage::new();
    let config = small().warn_percent(vec![50; MAX_WARN_THRESHOLDS + 1]);
    let e = Spool::open(Arc::new(storage.clone()), config).expect_err("refused");
    assert!(matches!(e, OpenError::Config(_)), "{e}");
    let config = small().warn_percent(vec![50; MAX_WARN_THRESHOLDS]);
    let (_spool, _) = Spool::open(Arc::new(storage), config).expect("255 thresholds are fine");
}

#[test]
fn a_crash_while_storing_limits_leaves_the_old_or_the_new_file() {
    let storage = MemStorage::new();
    let old = small().max_bytes(Some(1_000));
    let new = small().max_bytes(Some(9_000));
    let (spool, _) = Spool::open(Arc::new(storage.clone()), old.clone()).expect("open");
    drop(spool);
    let base = storage.durable_image();
    let len = SpoolLimits::of(&new).encode().expect("encodes").len();
    let plans = (0..6)
        .map(|n| CrashPlan {
            at_sync: Some(n),
            cut_write: None,
        })
        .chain((0..len).step_by(7).map(|cut| CrashPlan {
            at_sync: None,
            cut_write: Some((0, cut)),
        }));
    for plan in plans {
        let s = base.durable_image();
        s.set_plan(plan);
        let _ = Spool::open(Arc::new(s.clone()), new.clone());
        for image in [s.durable_image(), s.live_image()] {
            let stored = read_limits(&image).expect("never torn");
            assert!(
                stored == Some(SpoolLimits::of(&old)) || stored == Some(SpoolLimits::of(&new)),
                "{plan:?}: {stored:?}"
            );
            Spool::open(Arc::new(image.clone()), new.clone()).expect("reopens after the crash");
            assert_eq!(
                read_limits(&image).expect("readable"),
                Some(SpoolLimits::of(&new))
            );
        }
    }
}

#[test]
fn wait_durable_wakes_when_another_thread_makes_records_durable() {
    let (spool, _) = Spool::open(Arc::new(MemStorage::new()), small()).expect("open");
    let spool = Arc::new(spool);
    // Nothing durable: the wait times out and says where the spool is.
    assert_eq!(spool.wait_durable(1, Duration::from_millis(20)), 1);
    let writer = {
        let spool = spool.clone();
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(50));
            spool
                .append(7, &write_op(1, 10), AppendOptions::default())
                .expect("append");
        })
    };
    let started = std::time::Instant::now();
    assert_eq!(spool.wait_durable(1, Duration::from_secs(20)), 2);
    assert!(started.elapsed() < Duration::from_secs(10));
    writer.join().expect("writer");
    // Already durable: no wait.
    assert_eq!(spool.wait_durable(1, Duration::from_secs(20)), 2);
    // A record appended without waiting is not durable until a sync.
    spool
        .append(8, &write_op(2, 10), AppendOptions::no_wait())
        .expect("append");
    assert_eq!(spool.wait_durable(2, Duration::from_millis(10)), 2);
    spool.sync().expect("sync");
    assert_eq!(spool.wait_durable(2, Duration::from_millis(10)), 3);
}

#[test]
fn a_wait_for_durable_records_returns_when_interrupted() {
    let (spool, _) = Spool::open(Arc::new(MemStorage::new()), small()).expect("open");
    let spool = Arc::new(spool);
    let waiter = {
        let spool = spool.clone();
        thread::spawn(move || {
            let started = std::time::Instant::now();
            let next = spool.wait_durable(1, Duration::from_secs(60));
            (next, started.elapsed())
        })
    };
    // Until the waiter is waiting, an interrupt would be missed: repeat.
    while !waiter.is_finished() {
        spool.interrupt_waits();
        thread::sleep(Duration::from_millis(5));
    }
    let (next, waited) = waiter.join().expect("waiter");
    assert_eq!(next, 1);
    assert!(waited < Duration::from_secs(30), "{waited:?}");
}

/// A restart may go back in numbering; a crash at any sync or write of it
/// leaves on disk a spool that opens with records of the old numbering
/// only (a run of them) or none, and the restart done once more gives the
/// new one.
#[test]
fn a_restart_backwards_never_mixes_two_numberings_after_a_crash() {
    let storage = MemStorage::new();
    let (spool, _) = Spool::open(Arc::new(storage.clone()), small()).expect("open");
    for i in 0..30u64 {
        spool
            .append(i, &write_op(i, 300), AppendOptions::default())
            .expect("append");
    }
    assert!(spool.usage().segments > 1, "{:?}", spool.usage());
    drop(spool);
    let base = storage.durable_image();
    let plans = (0..8)
        .map(|n| CrashPlan {
            at_sync: Some(n),
            cut_write: None,
        })
        .chain((0..4).map(|w| CrashPlan {
            at_sync: None,
            cut_write: Some((w, 3)),
        }))
        .chain(std::iter::once(CrashPlan {
            at_sync: None,
            cut_write: None,
        }));
    for plan in plans {
        let s = base.durable_image();
        let (spool, _) = Spool::open(Arc::new(s.clone()), small()).expect("open");
        s.set_plan(plan);
        let done = spool.restart(5).is_ok();
        drop(spool);
        let images = if plan.at_sync.is_none() && plan.cut_write.is_none() {
            vec![(true, s.durable_image()), (false, s.live_image())]
        } else {
            vec![(true, s.durable_image())]
        };
        for (durable, image) in images {
            let (spool, _) = Spool::open(Arc::new(image.clone()), small())
                .unwrap_or_else(|e| panic!("{plan:?} durable={durable}: {e}"));
            let u = spool.usage();
            let held = seqs(&spool, u.resume_seq);
            if done && durable {
                assert_eq!(u.next_seq, 5, "{plan:?}: a finished restart is durable");
            }
            if u.next_seq == 5 {
                assert!(held.is_empty(), "{plan:?}: {held:?}");
            } else {
                // The old numbering: whatever is left is a run of it.
                assert!(
                    held.windows(2).all(|w| w[1] == w[0] + 1),
                    "{plan:?}: {held:?}"
                );
                assert!(held.iter().all(|&q| q <= 30), "{plan:?}: {held:?}");
            }
            spool.restart(5).expect("restarts again");
            let t = spool
                .append(0, &write_op(0, 10), AppendOptions::default())
                .expect("appends");
            assert_eq!(t.seq, Some(5), "{plan:?}");
        }
    }
}

/// An empty set of dirty regions (what a reset or restart writes) reads
/// back: it once was refused as too short, which made a spool reset before
/// a crash unopenable.
#[test]
fn an_empty_dirty_region_file_reads_back() {
    let empty = crate::spool::dirty::DirtyRegions::new(4096);
    let bytes = super::meta::encode_dirty(&empty);
    assert_eq!(bytes.len(), 32);
    let back = super::meta::decode_dirty(&bytes).expect("reads");
    assert!(back.is_empty());
    assert_eq!(back.granularity(), 4096);
}
