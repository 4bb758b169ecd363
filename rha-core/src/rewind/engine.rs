//! The replica engine: applies records with their inverses logged first,
//! rewinds, undoes rewinds and resumes after a crash.

use std::io;

use super::error::RewindError;
use super::invert::{invert, is_namespace, InvertError};
use super::log::{BookmarkInfo, Point, RewindLog, State, TxnMark};
use super::target::Target;
use crate::journal::{Op, Record, RelPath};
use crate::storage::{MemStorage, Storage};

mod batch;
mod chunk;
mod config;
mod job;
mod overlay;

use batch::{Batch, Footprint, Key};

pub use config::{ReplicaConfig, Retention};
pub use job::{Plan, PlanItem};

/// A record of the batch being gathered. Its inverse is not kept: it went
/// to the log as the record came (`RewindLog::stream_entry`), so
/// that the overwritten bytes it holds are freed once written out, and the
/// next records read into the same, still cached, memory.
#[derive(Debug)]
struct Pending {
    rec: Record,
}

/// A replica target driven with rewind on (or off): applies records in
/// order, logs each record's inverse durably before its change lands, and
/// moves between rewind points.
///
/// ```
/// use rha_core::journal::{Op, Record, RelPath};
/// use rha_core::rewind::{ModelTree, Replica, ReplicaConfig};
/// use rha_core::storage::MemStorage;
///
/// let mut r = Replica::open(ModelTree::new(), MemStorage::new(), ReplicaConfig::default())?;
/// let p = RelPath::new("f")?;
/// let ops = [
///     Op::Create { path: p.clone(), mode: 0o644 },
///     Op::Write { path: p.clone(), offset: 0, data: "v1".into() },
///     Op::Write { path: p.clone(), offset: 0, data: "v2".into() },
/// ];
/// for (i, op) in ops.into_iter().enumerate() {
///     r.apply(Record { seq: i as u64 + 1, timestamp_ns: 0, op })?;
/// }
/// r.flush()?;
/// r.rewind_to(2)?;
/// assert_eq!(r.target().file_data(&p).unwrap(), b"v1");
/// r.undo_rewind()?;
/// assert_eq!(r.target().file_data(&p).unwrap(), b"v2");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Replica<T: Target, S: Storage = MemStorage> {
    target: T,
    log: Option<RewindLog<S>>,
    config: ReplicaConfig,
    pending: Vec<Pending>,
    pending_bytes: usize,
    batch: Batch,
    txn: Option<(u64, Vec<Record>, usize)>,
    last_seq: Option<u64>,
    replay_to: u64,
    poisoned: bool,
    resumed: Option<Resumed>,
}

/// A rewind or undo that a crash interrupted and [`Replica::open`]
/// finished (see [`Replica::resumed`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resumed {
    /// A rewind, which now stands at point `to`.
    Rewind {
        /// The point reached.
        to: u64,
    },
    /// An undo of rewinds, which now stands at point `to`.
    Undo {
        /// The point reached.
        to: u64,
    },
    /// The rollback of a transaction that never committed, back to `to`.
    Rollback {
        /// The point reached.
        to: u64,
    },
}

fn data_len(op: &Op) -> usize {
    match op {
        Op::Write { data, .. } | Op::BlockWrite { data, .. } => data.len(),
        Op::SetXattr { value, .. } => value.len(),
        Op::Symlink { target, .. } => target.len(),
        _ => 0,
    }
}

impl<T: Target, S: Storage> Replica<T, S> {
    /// A replica with rewind off: records are applied directly; a committed
    /// transaction is still all or nothing if a step fails (its inverses are
    /// kept in memory while it applies).
    pub fn without_rewind(target: T) -> Self {
        Self {
            target,
            log: None,
            config: ReplicaConfig::default(),
            pending: Vec::new(),
            pending_bytes: 0,
            batch: Batch::default(),
            txn: None,
            last_seq: None,
            replay_to: 0,
            poisoned: false,
            resumed: None,
        }
    }

    /// Opens a replica with rewind on, its log in `storage`. Finishes what a
    /// crash interrupted: a rewind or undo under way is completed, the last
    /// logged batch is rolled forward, and a transaction that never committed
    /// is rolled back.
    pub fn open(target: T, storage: S, config: ReplicaConfig) -> Result<Self, RewindError> {
        let _span = tracing::info_span!("replica_open").entered();
        let log = RewindLog::open(storage, config.log.clone())?;
        let mut r = Self {
            target,
            log: Some(log),
            config,
            pending: Vec::new(),
            pending_bytes: 0,
            batch: Batch::default(),
            txn: None,
            last_seq: None,
            replay_to: 0,
            poisoned: false,
            resumed: None,
        };
        r.recover()?;
        Ok(r)
    }

    /// The rewind, undo or rollback that a crash interrupted and opening
    /// finished, if any: what a tool reports instead of doing it again.
    pub fn resumed(&self) -> Option<Resumed> {
        self.resumed
    }

    fn recover(&mut self) -> Result<(), RewindError> {
        let Some(log) = self.log.as_mut() else {
            return Ok(());
        };
        if let Some(job) = log.state.job {
            self.run_job(job, true)?;
            let to = job.target;
            let what = if job.discard {
                "rollback"
            } else if job.forward {
                "undo"
            } else {
                "rewind"
            };
            tracing::warn!(to, what, "finished a rewind interrupted by a crash");
            self.resumed = Some(if job.discard {
                Resumed::Rollback { to }
            } else if job.forward {
                Resumed::Undo { to }
            } else {
                Resumed::Rewind { to }
            });
        } else if log.state.head.is_none() {
            if let Some(first) = log.last_batch {
                let n = log.entries.len();
                let mut batch = Vec::new();
                for idx in first..n {
                    batch.push(self.log_mut()?.read_entry(idx)?);
                }
                if batch.iter().any(|e| e.elided.is_some()) {
                    // Elided payloads cannot be replayed: undo whatever of
                    // the batch landed (its inverses are absolute writes)
                    // and forget it; the source sends those records again.
                    // A file the batch created may never have been: its
                    // data has nothing to put back.
                    let created: Vec<&RelPath> = batch
                        .iter()
                        .filter_map(|e| match &e.forward {
                            Op::Create { path, .. } => Some(path),
                            _ => None,
                        })
                        .collect();
                    for entry in batch.iter().rev() {
                        for op in &entry.inverse {
                            let never = match op {
                                Op::Write { path, .. }
                                | Op::SetLen { path, .. }
                                | Op::SetAttr { path, .. } => {
                                    created.contains(&path)
                                        && self
                                            .target
                                            .stat(path)
                                            .map_err(|source| RewindError::Undo {
                                                seq: entry.seq,
                                                source,
                                            })?
                                            .is_none()
                                }
                                _ => false,
                            };
                            if never {
                                continue;
                            }
                            self.apply_op(op, true)
                                .map_err(|source| RewindError::Undo {
                                    seq: entry.seq,
                                    source,
                                })?;
                        }
                    }
                    if let Some(e) = batch.first() {
                        self.log_mut()?.truncate_after(e.seq - 1)?;
                    }
                } else {
                    // The namespace records of a batch name unrelated paths
                    // (see `Batch::must_flush`), so whether each landed
                    // shows on the target.
                    for (k, entry) in batch.iter().enumerate() {
                        // A change of a file that a later record of the
                        // batch removes, renames or replaces is not
                        // repeated once that record landed.
                        let gone = match &entry.forward {
                            Op::Write { path, .. }
                            | Op::SetLen { path, .. }
                            | Op::SetAttr { path, .. }
                            | Op::SetXattr { path, .. }
                            | Op::RemoveXattr { path, .. }
                            | Op::ClearXattrs { path } => {
                                let mut gone = false;
                                for e in &batch[k + 1..] {
                                    let names = match &e.forward {
                                        Op::Delete { path: p } => p == path,
                                        Op::Rename { from, to } => from == path || to == path,
                                        _ => false,
                                    };
                                    if names
                                        && already_done(&e.forward, &mut self.target).map_err(
                                            |source| RewindError::Undo {
                                                seq: entry.seq,
                                                source,
                                            },
                                        )?
                                    {
                                        gone = true;
                                        break;
                                    }
                                }
                                gone
                            }
                            _ => false,
                        };
                        if gone {
                            continue;
                        }
                        self.apply_op(&entry.forward, true).map_err(|source| {
                            RewindError::Undo {
                                seq: entry.seq,
                                source,
                            }
                        })?;
                    }
                }
            }
        }
        if self
            .log
            .as_ref()
            .is_some_and(|l| l.last_batch.is_some() && l.state.job.is_none())
        {
            self.target.sync().map_err(RewindError::Sync)?;
            self.log_mut()?.close_batch()?;
        }
        // A transaction whose commit never made it to the log is undone.
        let log = self.log_mut()?;
        if log.state.head.is_none() {
            let open = log
                .entries
                .iter()
                .rev()
                .find(|e| e.txn != TxnMark::None)
                .filter(|e| e.txn == TxnMark::Begin)
                .map(|e| e.seq);
            if let Some(begin) = open {
                let target = begin - 1;
                self.start_job(target, false, true)?;
            }
        }
        self.last_seq = self.log.as_ref().and_then(|l| l.newest_point());
        if let Some(h) = self.log.as_ref().and_then(|l| l.state.head) {
            self.last_seq = Some(h);
        }
        Ok(())
    }

    fn log_mut(&mut self) -> Result<&mut RewindLog<S>, RewindError> {
        self.log.as_mut().ok_or(RewindError::Disabled)
    }

    /// The target.
    pub fn target(&self) -> &T {
        &self.target
    }

    /// The target, mutably (changes made through it bypass the rewind log).
    pub fn target_mut(&mut self) -> &mut T {
        &mut self.target
    }

    /// The rewind log, when rewind is on.
    pub fn log(&self) -> Option<&RewindLog<S>> {
        self.log.as_ref()
    }

    /// Gives the target back (after [`flush`](Self::flush)).
    pub fn into_target(self) -> T {
        self.target
    }

    /// The point the target is at: the last record applied (or rewound to).
    pub fn current_point(&self) -> Option<u64> {
        self.last_seq
    }

    /// Tells a replica without a rewind log where it stands after a restart:
    /// `point` is the last record known applied and durable, and records
    /// after it up to `replay_to` may have been applied (in whole or in
    /// part) before a crash. Those are applied in replay mode: a namespace
    /// change already visible (a file that exists, a rename already done)
    /// is skipped rather than failing; writes are repeated, which is
    /// harmless. Ignored when the replica keeps a rewind log (the log knows
    /// its point).
    pub fn resume_at(&mut self, point: Option<u64>, replay_to: u64) {
        if self.log.is_none() {
            self.last_seq = point;
            self.replay_to = replay_to;
        }
    }

    /// Every rewind point from the oldest to the current one.
    pub fn points(&self) -> Vec<Point> {
        let cur = self.last_seq.unwrap_or(0);
        self.log
            .as_ref()
            .map(|l| l.points().into_iter().filter(|p| p.seq <= cur).collect())
            .unwrap_or_default()
    }

    /// Every bookmark still reachable, oldest first (including those above
    /// the current point after a rewind, until a new record is applied).
    pub fn bookmarks(&self) -> Vec<BookmarkInfo> {
        self.log.as_ref().map(|l| l.bookmarks()).unwrap_or_default()
    }

    /// Whether the target is rewound below the newest logged point (an undo
    /// is possible).
    pub fn is_rewound(&self) -> bool {
        self.log.as_ref().is_some_and(|l| l.state.head.is_some())
    }

    fn check(&self) -> Result<(), RewindError> {
        if self.poisoned {
            Err(RewindError::Poisoned)
        } else {
            Ok(())
        }
    }

    /// Applies one record. With rewind on, its change may wait in the
    /// current batch; [`flush`](Self::flush) applies everything pending.
    /// Records between `TxBegin` and `TxCommit` are buffered and applied
    /// together when the commit arrives (all or none).
    pub fn apply(&mut self, rec: Record) -> Result<(), RewindError> {
        self.check()?;
        if let Some(cur) = self.last_seq {
            let pending_last = self.pending.last().map_or(cur, |p| p.rec.seq);
            let txn_last = self
                .txn
                .as_ref()
                .and_then(|t| t.1.last())
                .map_or(pending_last, |r| r.seq);
            if rec.seq <= txn_last {
                return Err(RewindError::Stale {
                    seq: rec.seq,
                    current: txn_last,
                });
            }
        }
        if let Some((txid, group, bytes)) = self.txn.as_mut() {
            let txid = *txid;
            *bytes += data_len(&rec.op) + 64;
            if *bytes > self.config.max_txn_bytes {
                self.txn = None;
                return Err(RewindError::TxnTooLarge {
                    txid,
                    limit: self.config.max_txn_bytes,
                });
            }
            let commit = matches!(rec.op, Op::TxCommit { txid: t } if t == txid);
            group.push(rec);
            if commit {
                if let Some((_, group, _)) = self.txn.take() {
                    return self.apply_group(group);
                }
            }
            return Ok(());
        }
        if let Op::TxBegin { txid } = rec.op {
            self.txn = Some((txid, vec![rec], 64));
            return Ok(());
        }
        self.apply_one(rec)
    }

    /// Records of a transaction that has begun but not committed: they are
    /// not applied, and are dropped if the input ends here.
    pub fn open_transaction(&self) -> Option<(u64, usize)> {
        self.txn.as_ref().map(|(id, g, _)| (*id, g.len()))
    }

    /// The buffered records of the open transaction (from its `TxBegin`),
    /// so that an embedder can keep them until the commit arrives.
    pub fn open_transaction_records(&self) -> &[Record] {
        self.txn.as_ref().map_or(&[], |(_, g, _)| &g[..])
    }

    fn apply_group(&mut self, group: Vec<Record>) -> Result<(), RewindError> {
        self.flush()?;
        let start = self.last_seq;
        if self.log.is_none() {
            let mut undo: Vec<Vec<Op>> = Vec::new();
            for rec in group {
                if rec.seq <= self.replay_to
                    && already_done(&rec.op, &mut self.target).unwrap_or(false)
                {
                    self.last_seq = Some(rec.seq);
                    continue;
                }
                let r = invert(&rec.op, &mut self.target)
                    .map_err(|source| RewindError::Invert {
                        seq: rec.seq,
                        source,
                    })
                    .and_then(|inv| {
                        self.target
                            .apply(&rec.op)
                            .map_err(|source| RewindError::Apply {
                                seq: rec.seq,
                                op: rec.op.code().name(),
                                source,
                            })?;
                        undo.push(inv);
                        Ok(())
                    });
                if let Err(e) = r {
                    for inv in undo.iter().rev() {
                        for op in inv {
                            if let Err(source) = self.target.apply(op) {
                                self.poisoned = true;
                                return Err(RewindError::Undo {
                                    seq: rec.seq,
                                    source,
                                });
                            }
                        }
                    }
                    self.last_seq = start;
                    return Err(e);
                }
                self.last_seq = Some(rec.seq);
            }
            return Ok(());
        }
        let mut result = Ok(());
        for rec in group {
            result = self.apply_one(rec);
            if result.is_err() {
                break;
            }
        }
        if result.is_ok() {
            result = self.flush();
        }
        if let Err(e) = result {
            if self.poisoned {
                return Err(e);
            }
            self.pending.clear();
            self.pending_bytes = 0;
            self.batch.clear();
            if let Err(d) = self.log_mut()?.discard_batch() {
                self.poisoned = true;
                return Err(d.into());
            }
            let applied = self.log.as_ref().and_then(|l| l.newest_point());
            if let (Some(back), true) = (
                start.or(self.log.as_ref().and_then(|l| l.oldest_point())),
                applied != start,
            ) {
                if let Err(u) = self.start_job(back, false, true) {
                    self.poisoned = true;
                    return Err(u);
                }
            }
            self.last_seq = start;
            return Err(e);
        }
        Ok(())
    }

    fn apply_one(&mut self, rec: Record) -> Result<(), RewindError> {
        if self.log.is_none() {
            let replay = rec.seq <= self.replay_to;
            self.apply_op(&rec.op, replay)
                .map_err(|source| RewindError::Apply {
                    seq: rec.seq,
                    op: rec.op.code().name(),
                    source,
                })?;
            self.last_seq = Some(rec.seq);
            return Ok(());
        }
        if let Some(head) = self.log_mut()?.state.head {
            // Applying a new record after a rewind discards the undone records.
            let log = self.log_mut()?;
            log.truncate_after(head)?;
            log.set_state(State::default())?;
        }
        let (mut fp, mut known) = self.footprint(&rec)?;
        if matches!(fp, Footprint::Alone) && !self.pending.is_empty() {
            // What made it a batch of its own may be a pending record (a
            // write to a name a pending rename creates): once they land,
            // the record may join the next batch rather than be alone.
            self.flush()?;
            (fp, known) = self.footprint(&rec)?;
        }
        let alone = matches!(fp, Footprint::Alone);
        // The file's metadata read for the footprint holds until the batch
        // lands.
        if self.batch.must_flush(&fp) {
            self.flush()?;
            known = None;
        }
        let ops = self.batch.overlaid(&fp);
        let created = self.batch.on_created(&fp);
        let before = known;
        let known = match (&rec.op, known) {
            (Op::Write { path, .. } | Op::SetLen { path, .. }, Some(m)) => Some((path, m)),
            _ => None,
        };
        let mut inverse = if ops.is_empty() && known.is_none() {
            invert(&rec.op, &mut self.target)
        } else {
            // What pending records change of this file or volume: read it
            // as they leave it.
            let mut pre = overlay::Overlay {
                target: &mut self.target,
                pending: &self.pending,
                ops: &ops,
                known,
            };
            invert(&rec.op, &mut pre)
        }
        .map_err(|source| RewindError::Invert {
            seq: rec.seq,
            source,
        })?;
        if created {
            // The file did not exist before the batch: there is no earlier
            // modification time to put back (the overlay does not know the
            // one it will be created with).
            inverse.retain(|op| !matches!(op, Op::SetAttr { .. }));
        }
        // The entry goes to the log now: written out in pieces as the batch
        // grows, durable with the batch's one sync in `flush`.
        let base = self.last_seq.unwrap_or_else(|| {
            self.pending
                .first()
                .map_or(rec.seq, |p| p.rec.seq)
                .saturating_sub(1)
        });
        self.log_mut()?
            .stream_entry(base, rec.seq, rec.timestamp_ns, &rec.op, &inverse)?;
        self.pending_bytes += inverse.iter().map(data_len).sum::<usize>() + data_len(&rec.op);
        self.batch.add(fp, self.pending.len(), before);
        self.pending.push(Pending { rec });
        // A batch is written to one segment: keeping it within about a
        // segment keeps retention's granularity.
        let segment = usize::try_from(self.config.log.segment_bytes).unwrap_or(usize::MAX);
        if alone
            || self.pending.len() >= self.config.batch_records
            || self.pending_bytes >= self.config.batch_bytes.min(segment)
        {
            self.flush()?;
        }
        Ok(())
    }

    /// How `rec` takes part in the current batch (see [`Batch::footprint`]).
    fn footprint(
        &mut self,
        rec: &Record,
    ) -> Result<(Footprint, Option<crate::rewind::NodeMeta>), RewindError> {
        self.batch
            .footprint(&rec.op, &mut self.target)
            .map_err(|source| RewindError::Invert {
                seq: rec.seq,
                source: InvertError::Io {
                    what: "the record's paths".to_owned(),
                    source,
                },
            })
    }

    /// Logs and applies one record outside any transaction grouping, as a
    /// crash in the middle of a group would leave it.
    #[cfg(test)]
    pub(crate) fn apply_one_for_test(&mut self, rec: Record) {
        if let Err(e) = self.apply_one(rec).and_then(|()| self.flush()) {
            panic!("{e}");
        }
    }

    /// Logs and applies every pending record. After `Ok`, every record given
    /// to [`apply`](Self::apply) (outside an open transaction) is applied.
    ///
    /// If a record fails to apply, the records before it stay applied, it
    /// and the rest of its batch are not: [`current_point`](Self::current_point)
    /// says where to continue from.
    pub fn flush(&mut self) -> Result<(), RewindError> {
        self.check()?;
        if self.pending.is_empty() {
            return Ok(());
        }
        let base = self
            .last_seq
            .unwrap_or_else(|| self.pending[0].rec.seq.saturating_sub(1));
        let batch = std::mem::take(&mut self.pending);
        self.pending_bytes = 0;
        self.batch.clear();
        // The batch's entries were written as their records came: one sync
        // makes them durable before any of its changes lands.
        self.log_mut()?.commit_batch()?;
        for (i, p) in batch.iter().enumerate() {
            if let Err(source) = self.target.apply(&p.rec.op) {
                // The records before it stay applied; this one may have
                // landed partly: put back what it touched if that is
                // idempotent (a namespace operation either happened or not).
                if !is_namespace(&p.rec.op) {
                    // Its inverse is read back from the log, where the
                    // sync above made it durable: the batch's entries are
                    // the log's last ones.
                    let undo = self.log_mut().and_then(|log| {
                        let idx = log.entry_count() + i - batch.len();
                        Ok(log.read_entry(idx)?.inverse)
                    });
                    let undo = match undo {
                        Ok(undo) => undo,
                        Err(e) => {
                            self.poisoned = true;
                            return Err(e);
                        }
                    };
                    for op in &undo {
                        if let Err(e) = self.apply_op(op, true) {
                            self.poisoned = true;
                            return Err(RewindError::Undo {
                                seq: p.rec.seq,
                                source: e,
                            });
                        }
                    }
                }
                let good = if i == 0 { base } else { batch[i - 1].rec.seq };
                self.log_mut()?.truncate_after(good)?;
                self.last_seq = Some(good);
                return Err(RewindError::Apply {
                    seq: p.rec.seq,
                    op: p.rec.op.code().name(),
                    source,
                });
            }
        }
        self.last_seq = batch.last().map(|p| p.rec.seq);
        if let Some(ts) = batch.iter().map(|p| p.rec.timestamp_ns).max() {
            if self.config.retention != Retention::default() {
                self.retain(ts)?;
            }
        }
        Ok(())
    }

    /// Makes the target durable (after [`flush`](Self::flush)).
    pub fn sync(&mut self) -> Result<(), RewindError> {
        self.flush()?;
        self.target.sync().map_err(RewindError::Sync)?;
        if let Some(log) = self.log.as_mut() {
            log.close_batch()?;
        }
        Ok(())
    }

    /// Applies `op`; when `replay` is set, an operation whose effect is
    /// already visible is skipped (resuming after a crash).
    fn apply_op(&mut self, op: &Op, replay: bool) -> io::Result<()> {
        if replay && already_done(op, &mut self.target)? {
            return Ok(());
        }
        self.target.apply(op)
    }

    /// Sets a bookmark at the current point, durably.
    pub fn set_bookmark(
        &mut self,
        name: &str,
        timestamp_ns: u64,
        app_consistent: bool,
    ) -> Result<(), RewindError> {
        let bad = if name.is_empty() {
            Some("is empty".to_owned())
        } else if name.len() > crate::journal::MAX_BOOKMARK_NAME_LEN {
            Some(format!("is {} bytes long", name.len()))
        } else if name.contains('\0') {
            Some("holds a NUL byte".to_owned())
        } else {
            None
        };
        if let Some(reason) = bad {
            return Err(RewindError::BookmarkName { reason });
        }
        if let Some((txid, ..)) = self.txn {
            return Err(RewindError::TxnOpen { txid });
        }
        self.flush()?;
        let cur = self.last_seq.unwrap_or(0);
        let log = self.log_mut()?;
        if let Some(head) = log.state.head {
            log.truncate_after(head)?;
            log.set_state(State::default())?;
        }
        log.append_bookmark(cur, name, timestamp_ns, app_consistent)?;
        Ok(())
    }

    /// The point a bookmark marks (the newest bookmark of that name).
    pub fn bookmark_point(&self, name: &str) -> Result<u64, RewindError> {
        let log = self.log.as_ref().ok_or(RewindError::Disabled)?;
        let b = log
            .all_bookmarks()
            .iter()
            .rev()
            .find(|b| b.name == name)
            .ok_or_else(|| RewindError::UnknownBookmark {
                name: name.to_owned(),
            })?;
        let oldest = log.oldest_point().unwrap_or(0);
        if b.seq < oldest {
            return Err(RewindError::PointRetired { seq: b.seq, oldest });
        }
        Ok(b.seq)
    }

    /// The newest point at or before `time_ns`, not after the current point.
    pub fn point_at_time(&self, time_ns: u64) -> Result<u64, RewindError> {
        let log = self.log.as_ref().ok_or(RewindError::Disabled)?;
        let cur = self.last_seq.ok_or(RewindError::EmptyLog)?;
        let points = log.points();
        points
            .iter()
            .rev()
            .filter(|p| p.seq <= cur)
            .find(|p| p.timestamp_ns.is_some_and(|t| t <= time_ns))
            .map(|p| p.seq)
            .ok_or(RewindError::NoPointAtTime {
                time_ns,
                oldest_ns: points.iter().find_map(|p| p.timestamp_ns),
            })
    }

    fn check_point(&self, point: u64) -> Result<u64, RewindError> {
        let log = self.log.as_ref().ok_or(RewindError::Disabled)?;
        let cur = self.last_seq.ok_or(RewindError::EmptyLog)?;
        let oldest = log.oldest_point().ok_or(RewindError::EmptyLog)?;
        if point > cur {
            return Err(RewindError::FuturePoint {
                seq: point,
                current: cur,
            });
        }
        if point < oldest {
            return Err(RewindError::PointRetired { seq: point, oldest });
        }
        Ok(cur)
    }

    /// Applies retention with `now_ns` as the current time; returns the
    /// number of segments dropped.
    pub fn retain(&mut self, now_ns: u64) -> Result<usize, RewindError> {
        let cur = self.last_seq.unwrap_or(0);
        let ret = self.config.retention;
        let log = self.log_mut()?;
        let protect = log.state.job.map_or(cur, |j| j.target.min(cur));
        Ok(log.drop_oldest(protect, |newest_ts, total| {
            let old = ret
                .max_age_ns
                .is_some_and(|age| newest_ts.unwrap_or(0).saturating_add(age) < now_ns);
            let big = ret.max_bytes.is_some_and(|max| total > max);
            old || big
        })?)
    }
}

/// Whether `op`'s effect is already visible, or a later record already
/// undid what it would act on, for a record in replay: one that may have
/// been applied before a crash, or that a sync's copy may already include.
/// A change to a path that is gone (a write, a resize, attributes, a rename
/// away from it, a link to it) was followed by the record that removed or
/// renamed it: skipping it leaves the same end state.
fn already_done<T: Target>(op: &Op, t: &mut T) -> io::Result<bool> {
    Ok(match op {
        Op::Create { path, .. }
        | Op::Mkdir { path, .. }
        | Op::Symlink { path, .. }
        | Op::Mknod { path, .. } => t.stat(path)?.is_some(),
        Op::HardLink { existing, link } => t.stat(link)?.is_some() || t.stat(existing)?.is_none(),
        Op::Delete { path } | Op::Rmdir { path } => t.stat(path)?.is_none(),
        Op::Rename { from, .. } => t.stat(from)?.is_none(),
        Op::RemoveXattr { path, name } => t.stat(path)?.is_none() || t.xattr(path, name)?.is_none(),
        Op::Write { path, .. }
        | Op::SetLen { path, .. }
        | Op::SetAttr { path, .. }
        | Op::SetXattr { path, .. }
        | Op::ClearXattrs { path } => t.stat(path)?.is_none(),
        _ => false,
    })
}
