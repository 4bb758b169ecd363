//! The `spool_model` target: random sequences of appends, reads,
//! acknowledgements, reopens and crashes against a spool in memory, checked
//! against a reference model.
//!
//! The input is read two bytes at a time: an operation byte and a parameter
//! byte. The model is a list of the records appended in order, the range
//! the acknowledged position may be in, and how many records are known to
//! be durable. Crashes are armed at a chosen sync of a [`MemStorage`]; on
//! reopening after one, either the durable or the live image is taken, and
//! every record reported durable must come back, in order, exactly once,
//! with nothing invented.

use std::sync::Arc;

use bytes::Bytes;
use rha_core::journal::{Op, RelPath};
use rha_core::spool::{AckError, AppendError, AppendOptions, Spool, SpoolConfig};
use rha_core::testing::storage::{CrashPlan, MemStorage};

struct Model {
    /// Records that were encoded, by sequence number - 1.
    records: Vec<Op>,
    /// Records known durable (a prefix of `records`).
    durable: usize,
    /// The acknowledged position (first unacknowledged seq) lies in
    /// `resume_lo..=resume_hi`.
    resume_lo: u64,
    resume_hi: u64,
}

fn op(n: usize, len: u8) -> Op {
    match len % 4 {
        0 => Op::TxBegin { txid: n as u64 },
        _ => Op::Write {
            path: RelPath::new(Bytes::from(format!("f{}", n % 5))).expect("valid path"),
            offset: n as u64,
            data: Bytes::from(vec![n as u8; usize::from(len)]),
        },
    }
}

fn config(segment: u8) -> SpoolConfig {
    SpoolConfig::default()
        .min_free_bytes(0)
        .segment_bytes(64 + u64::from(segment) * 8)
}

fn open(storage: &MemStorage, cfg: &SpoolConfig, m: &mut Model) -> Spool {
    let (spool, rec) = Spool::open(Arc::new(storage.clone()), cfg.clone())
        .unwrap_or_else(|e| panic!("reopening failed: {e}"));
    assert!(
        (m.resume_lo..=m.resume_hi).contains(&rec.resume_seq),
        "resume {} not in {}..={}",
        rec.resume_seq,
        m.resume_lo,
        m.resume_hi
    );
    m.resume_lo = rec.resume_seq;
    m.resume_hi = rec.resume_seq;
    let next = rec.next_seq as usize;
    assert!(
        next > m.durable && next <= m.records.len() + 1,
        "next seq {next}: durable {}, appended {}",
        m.durable,
        m.records.len()
    );
    m.records.truncate(next - 1);
    m.durable = m.records.len();
    check_all(&spool, m, rec.resume_seq);
    spool
}

/// Reads everything from `from` and compares it with the model.
fn check_all(spool: &Spool, m: &Model, from: u64) {
    let reader = spool
        .read_from(from)
        .unwrap_or_else(|e| panic!("read_from({from}): {e}"));
    let mut expect = from;
    for r in reader {
        let r = r.unwrap_or_else(|e| panic!("reading: {e}"));
        assert_eq!(r.seq, expect, "out of order or duplicated");
        let want = m
            .records
            .get(r.seq as usize - 1)
            .unwrap_or_else(|| panic!("record {} was never appended", r.seq));
        assert_eq!(&r.op, want, "record {} differs", r.seq);
        expect += 1;
    }
    assert_eq!(
        expect,
        spool.usage().durable_next_seq.max(from),
        "durable records missing from the reader"
    );
}

/// Runs one input.
pub fn spool_model(data: &[u8]) {
    let Some((&seg, steps)) = data.split_first() else {
        return;
    };
    let cfg = config(seg);
    let mut storage = MemStorage::new();
    let mut m = Model {
        records: Vec::new(),
        durable: 0,
        resume_lo: 1,
        resume_hi: 1,
    };
    let mut spool = Some(open(&storage, &cfg, &mut m));
    for pair in steps.chunks(2).take(400) {
        let (code, p) = (pair[0], pair.get(1).copied().unwrap_or(0));
        let Some(s) = spool.as_ref() else {
            break;
        };
        match code % 8 {
            0..=2 => {
                let n = m.records.len();
                let durable = code & 0x80 != 0;
                let o = op(n, p);
                match s.append(n as u64, &o, AppendOptions::default().durable(durable)) {
                    Ok(t) => {
                        assert_eq!(t.seq, Some(n as u64 + 1));
                        m.records.push(o);
                        if durable {
                            m.durable = m.records.len();
                        }
                    }
                    // Encoded, then the sync failed: it may or may not survive.
                    Err(AppendError::Io(_)) => m.records.push(o),
                    Err(AppendError::Poisoned(_)) => assert!(storage.crashed()),
                    Err(e) => panic!("append: {e}"),
                }
            }
            3 => {
                let target = m.resume_lo - 1 + u64::from(p % 6);
                match s.ack(target) {
                    Ok(()) => {
                        m.resume_lo = m.resume_lo.max(target + 1);
                        m.resume_hi = m.resume_hi.max(target + 1);
                    }
                    Err(AckError::NotDurable { .. }) => {
                        assert!(target >= s.usage().durable_next_seq)
                    }
                    Err(AckError::Io(_)) => m.resume_hi = m.resume_hi.max(target + 1),
                    Err(AckError::Poisoned(_)) => assert!(storage.crashed()),
                    Err(e) => panic!("ack: {e}"),
                }
            }
            4 => {
                if !storage.crashed() {
                    let from = m.resume_lo + u64::from(p % 3);
                    if from <= s.usage().next_seq {
                        check_all(s, &m, from);
                    }
                }
            }
            5 => {
                if s.sync().is_ok() {
                    m.durable = m.records.len();
                }
            }
            6 if !storage.crashed() => {
                // Arm a crash at one of the next syncs.
                storage.set_plan(CrashPlan {
                    at_sync: Some(u64::from(p % 6)),
                    cut_write: None,
                });
            }
            6 => {}
            _ => {
                // Reopen; after a crash, from the durable or the live image.
                // Closing syncs (which an armed crash may interrupt) before
                // the image is taken.
                drop(spool.take());
                let crashed = storage.crashed();
                if crashed || p & 1 == 1 {
                    storage = if p & 2 == 0 {
                        storage.durable_image()
                    } else {
                        storage.live_image()
                    };
                } else {
                    // A clean close made everything durable.
                    m.durable = m.records.len();
                    storage.set_plan(CrashPlan::default());
                }
                spool = Some(open(&storage, &cfg, &mut m));
            }
        }
    }
}
