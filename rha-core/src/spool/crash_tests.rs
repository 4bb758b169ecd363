//! Crash consistency: a small workload is cut at every sync and at every
//! byte of every write; each crash image must reopen with every append that
//! was reported durable present, in order, exactly once, and nothing
//! invented. The same workload runs under a fault injector failing each
//! storage call in turn.

use std::sync::Arc;

use bytes::Bytes;

use super::*;
use crate::journal::{Op, RelPath};
use crate::storage::*;

/// What the workload was told before the crash.
#[derive(Debug, Default, Clone)]
struct Log {
    /// Every record appended (seq order), with its op.
    appended: Vec<(u64, Op)>,
    /// The highest sequence number reported durable.
    durable: Option<u64>,
    /// The highest acknowledgement that returned Ok.
    acked: Option<u64>,
    /// The highest acknowledgement attempted.
    ack_tried: Option<u64>,
}

fn op(i: u64) -> Op {
    Op::Write {
        path: RelPath::new("data/f").expect("valid path"),
        offset: i * 100,
        data: Bytes::from(vec![i as u8; 8 + (i as usize % 5)]),
    }
}

fn config() -> SpoolConfig {
    SpoolConfig::default().segment_bytes(150).min_free_bytes(0)
}

/// Appends 20 records (some waiting for durability, some not), acknowledges
/// three times (reclaiming segments, which are kept as spares and reused,
/// so later segments hold stale frames behind their records), syncs. Stops
/// at the first error.
fn workload(storage: Arc<dyn Storage>, log: &mut Log) -> Result<(), String> {
    let (spool, _) = Spool::open(storage, config()).map_err(|e| e.to_string())?;
    let r = run(&spool, log);
    if r.is_err() {
        // After a failure the handle refuses appends until reopened.
        let again = spool.append(0, &op(99), AppendOptions::no_wait());
        assert!(again.is_err(), "append after a failure succeeded");
    }
    r
}

fn run(spool: &Spool, log: &mut Log) -> Result<(), String> {
    for i in 0..20u64 {
        let durable = i % 3 == 2;
        let opts = AppendOptions::default().durable(durable);
        let seq = spool.usage().next_seq;
        // Record the op before the call: a crash may leave it on disk even
        // if the call fails.
        log.appended.push((seq, op(i)));
        let t = spool.append(i, &op(i), opts).map_err(|e| e.to_string())?;
        assert_eq!(t.seq, Some(seq));
        if durable {
            log.durable = Some(seq);
        }
        if i == 6 || i == 11 || i == 16 {
            let upto = i - 2;
            log.ack_tried = Some(upto);
            spool.ack(upto).map_err(|e| e.to_string())?;
            log.acked = Some(upto);
        }
    }
    spool.sync().map_err(|e| e.to_string())?;
    log.durable = log.appended.last().map(|(s, _)| *s);
    Ok(())
}

/// Whether a segment file in `storage` holds bytes behind its records (the
/// stale frames of a reused spare), as a crash left it.
fn stale_behind_records(storage: &MemStorage) -> bool {
    let Ok(found) = inspect(storage, &config(), false) else {
        return false;
    };
    found.segments.iter().any(|s| {
        storage.contents(&s.name).is_some_and(|c| {
            c.len() as u64 > s.bytes && c[s.bytes as usize..].iter().any(|&b| b != 0)
        })
    })
}

/// Reopens `storage` and checks it against `log`.
fn check(storage: Arc<dyn Storage>, log: &Log, what: &str) {
    let (spool, rec) =
        Spool::open(storage, config()).unwrap_or_else(|e| panic!("{what}: reopening failed: {e}"));
    let resume = rec.resume_seq;
    let min_resume = log.acked.map_or(1, |a| a + 1);
    let max_resume = log.ack_tried.map_or(1, |a| a + 1);
    assert!(
        (min_resume..=max_resume).contains(&resume),
        "{what}: resume {resume} not in {min_resume}..={max_resume}"
    );
    let records: Vec<_> = spool
        .read_from(resume)
        .unwrap_or_else(|e| panic!("{what}: read_from({resume}): {e}"))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{what}: reading: {e}"));
    let mut expect = resume;
    for r in &records {
        assert_eq!(r.seq, expect, "{what}: records out of order or duplicated");
        let (_, op) = log
            .appended
            .iter()
            .find(|(s, _)| *s == r.seq)
            .unwrap_or_else(|| panic!("{what}: record {} was never appended", r.seq));
        assert_eq!(&r.op, op, "{what}: record {} differs", r.seq);
        expect += 1;
    }
    let last = expect - 1;
    if let Some(d) = log.durable {
        assert!(last >= d, "{what}: durable record {d} lost (last {last})");
    }
    assert_eq!(
        spool.usage().next_seq,
        expect,
        "{what}: next sequence number"
    );
    // The reopened spool works and numbers on.
    let t = spool
        .append(0, &op(50), AppendOptions::default())
        .unwrap_or_else(|e| panic!("{what}: append after reopening: {e}"));
    assert_eq!(t.seq, Some(expect), "{what}");
}

#[test]
fn every_sync_point_and_every_byte_of_every_write() {
    let base = MemStorage::new();
    let mut log = Log::default();
    workload(Arc::new(base.clone()), &mut log).expect("workload without crash");
    check(Arc::new(base.durable_image()), &log, "no crash");
    let stats = base.stats();
    assert!(stats.syncs > 10 && stats.writes.len() > 6, "{stats:?}");

    let mut images = 0;
    let mut stale = 0;
    for n in 0..stats.syncs {
        let storage = MemStorage::new();
        storage.set_plan(CrashPlan {
            at_sync: Some(n),
            cut_write: None,
        });
        let mut log = Log::default();
        assert!(workload(Arc::new(storage.clone()), &mut log).is_err());
        assert!(storage.crashed());
        let durable = storage.durable_image();
        stale += usize::from(stale_behind_records(&durable));
        check(Arc::new(durable), &log, &format!("sync {n}, durable"));
        check(
            Arc::new(storage.live_image()),
            &log,
            &format!("sync {n}, live"),
        );
        images += 2;
    }
    for (w, &len) in stats.writes.iter().enumerate() {
        for keep in 0..=len {
            let storage = MemStorage::new();
            storage.set_plan(CrashPlan {
                at_sync: None,
                cut_write: Some((w as u64, keep)),
            });
            let mut log = Log::default();
            assert!(workload(Arc::new(storage.clone()), &mut log).is_err());
            let what = format!("write {w} cut at {keep} of {len}");
            let live = storage.live_image();
            stale += usize::from(stale_behind_records(&live));
            check(Arc::new(live), &log, &format!("{what}, live"));
            check(
                Arc::new(storage.durable_image()),
                &log,
                &format!("{what}, durable"),
            );
            images += 2;
        }
    }
    assert!(images > 500, "only {images} crash images");
    // Reused spares with stale frames behind the records were crashed into.
    assert!(
        stale > 50,
        "only {stale} images with stale bytes behind records"
    );
}

#[test]
fn a_fault_at_every_storage_call() {
    let probe = Faults::new(FaultPlan::Never);
    let storage = FaultInjector::new(Arc::new(MemStorage::new()), probe.clone());
    workload(Arc::new(storage), &mut Log::default()).expect("no fault");
    let calls = probe.calls();
    assert!(calls > 30, "{calls} calls");
    for n in 0..calls {
        let base = MemStorage::new();
        let faults = Faults::new(FaultPlan::FailAt(n));
        let faulty = FaultInjector::new(Arc::new(base.clone()), faults.clone());
        let mut log = Log::default();
        let r = workload(Arc::new(faulty), &mut log);
        // Only a failed free-space measurement is survivable: the last
        // measurement stands.
        let what = faults.failed_call();
        assert!(
            r.is_err() || what == Some("free_space"),
            "fault {n} ({what:?}) went unnoticed"
        );
        // The storage itself is intact: reopening sees what was written.
        check(Arc::new(base.clone()), &log, &format!("fault at call {n}"));
    }
}
