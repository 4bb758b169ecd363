//! Moving between points: rewinds and undos as resumable jobs, and their
//! dry-run plans.

use std::collections::BTreeMap;

use super::{data_len, Replica};
use crate::journal::Op;
use crate::rewind::error::RewindError;
use crate::rewind::invert::is_namespace;
use crate::rewind::log::{Job, State};
use crate::rewind::target::Target;
use crate::storage::Storage;

/// What a rewind (or a dry run) changes: one line per path or volume.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// The point the target is at.
    pub from: u64,
    /// The point it goes to.
    pub to: u64,
    /// Records undone (or redone).
    pub records: usize,
    /// Per path (or `volume N`): operations and payload bytes written.
    pub changes: BTreeMap<String, PlanItem>,
}

/// One line of a [`Plan`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlanItem {
    /// Operations applied to it.
    pub ops: u64,
    /// Payload bytes written to it.
    pub bytes: u64,
}

impl<T: Target, S: Storage> Replica<T, S> {
    /// What rewinding to `point` would change, without changing anything.
    pub fn plan(&mut self, point: u64) -> Result<Plan, RewindError> {
        self.flush()?;
        let cur = self.check_point(point)?;
        let log = self.log_mut()?;
        let mut plan = Plan {
            from: cur,
            to: point,
            ..Plan::default()
        };
        let hi = log.entries.partition_point(|e| e.seq <= cur);
        let lo = log.entries.partition_point(|e| e.seq <= point);
        for idx in (lo..hi).rev() {
            let entry = log.read_entry(idx)?;
            plan.records += 1;
            for op in &entry.inverse {
                let name = match op {
                    Op::BlockWrite { volume, .. } | Op::Discard { volume, .. } => {
                        format!("volume {volume}")
                    }
                    _ => op
                        .path()
                        .map(|p| String::from_utf8_lossy(p.as_bytes()).into_owned())
                        .unwrap_or_default(),
                };
                let item = plan.changes.entry(name).or_default();
                item.ops += 1;
                item.bytes += data_len(op) as u64;
            }
        }
        Ok(plan)
    }

    /// Rewinds the target to `point` (the state right after record `point`),
    /// applying inverses newest first. The undone records stay in the log
    /// until a new record is applied, so [`undo_rewind`](Self::undo_rewind)
    /// can bring them back.
    pub fn rewind_to(&mut self, point: u64) -> Result<Plan, RewindError> {
        let _span = tracing::info_span!("rewind", to = point).entered();
        if let Some((txid, ..)) = self.txn {
            return Err(RewindError::TxnOpen { txid });
        }
        let plan = self.plan(point)?;
        if plan.from != point {
            self.start_job(point, false, false)?;
        }
        tracing::info!(
            from = plan.from,
            to = point,
            records = plan.records,
            "rewound"
        );
        Ok(plan)
    }

    /// Rewinds to the newest bookmark called `name`.
    pub fn rewind_to_bookmark(&mut self, name: &str) -> Result<Plan, RewindError> {
        let p = self.bookmark_point(name)?;
        self.rewind_to(p)
    }

    /// Rewinds to the newest point at or before `time_ns`.
    pub fn rewind_to_time(&mut self, time_ns: u64) -> Result<Plan, RewindError> {
        self.flush()?;
        let p = self.point_at_time(time_ns)?;
        self.rewind_to(p)
    }

    /// Undoes the rewinds since the last applied record: replays the undone
    /// records up to the newest logged point.
    pub fn undo_rewind(&mut self) -> Result<u64, RewindError> {
        let _span = tracing::info_span!("undo_rewind").entered();
        self.check()?;
        let log = self.log_mut()?;
        if log.state.head.is_none() {
            return Err(RewindError::NothingToUndo);
        }
        let top = log.newest_point().ok_or(RewindError::NothingToUndo)?;
        self.start_job(top, true, false)?;
        tracing::info!(to = top, "rewinds undone");
        Ok(top)
    }

    pub(super) fn start_job(
        &mut self,
        target: u64,
        forward: bool,
        discard: bool,
    ) -> Result<(), RewindError> {
        let cur = self
            .last_seq
            .or_else(|| self.log.as_ref().and_then(|l| l.newest_point()));
        let log = self.log_mut()?;
        let cur = cur.unwrap_or(target);
        let entry = if forward {
            log.entries
                .iter()
                .find(|e| e.seq > cur)
                .map_or(target, |e| e.seq)
        } else {
            cur
        };
        let job = Job {
            target,
            forward,
            discard,
            entry,
            op: 0,
        };
        let head = log.state.head.or(Some(cur));
        log.set_state(State {
            head,
            job: Some(job),
        })?;
        self.run_job(job, false)
    }

    pub(super) fn run_job(&mut self, job: Job, resuming: bool) -> Result<(), RewindError> {
        let mut replay = resuming;
        let mut since = 0u32;
        let checkpoint = self.config.checkpoint_ops;
        let order: Vec<usize> = {
            let log = self.log_mut()?;
            let e = &log.entries;
            if job.forward {
                let lo = e.partition_point(|x| x.seq < job.entry);
                let hi = e.partition_point(|x| x.seq <= job.target);
                (lo..hi).collect()
            } else {
                let hi = e.partition_point(|x| x.seq <= job.entry);
                let lo = e.partition_point(|x| x.seq <= job.target);
                (lo..hi).rev().collect()
            }
        };
        let mut k = 0;
        while k < order.len() {
            let chunk = self.next_chunk(&order, &mut k, job.forward)?;
            for entry in chunk {
                let ops: Vec<Op> = if job.forward {
                    vec![match entry.elided {
                        Some(_) => self.log_mut()?.redo_get(entry.seq)?,
                        None => entry.forward,
                    }]
                } else {
                    entry.inverse
                };
                let start = if entry.seq == job.entry { job.op } else { 0 };
                for (i, op) in ops.iter().enumerate().skip(start as usize) {
                    let at_resume = entry.seq == job.entry && i as u32 == job.op;
                    if (is_namespace(op) && !at_resume) || since >= checkpoint {
                        if since >= checkpoint {
                            self.target.sync().map_err(RewindError::Sync)?;
                        }
                        let log = self.log_mut()?;
                        let head = log.state.head;
                        log.set_state(State {
                            head,
                            job: Some(Job {
                                entry: entry.seq,
                                op: i as u32,
                                ..job
                            }),
                        })?;
                        since = 0;
                        if is_namespace(op) {
                            replay = false;
                        }
                    }
                    self.apply_op(op, replay)
                        .map_err(|source| RewindError::Undo {
                            seq: entry.seq,
                            source,
                        })?;
                    since += 1;
                }
                self.last_seq = Some(if job.forward {
                    entry.seq
                } else {
                    entry.seq - 1
                });
            }
        }
        self.target.sync().map_err(RewindError::Sync)?;
        let log = self.log_mut()?;
        log.close_batch()?;
        if job.discard {
            log.truncate_after(job.target)?;
            log.set_state(State::default())?;
        } else {
            let top = log.newest_point().unwrap_or(job.target);
            let head = (job.target < top).then_some(job.target);
            log.set_state(State { head, job: None })?;
            if head.is_none() {
                log.redo_clear()?;
            }
        }
        self.last_seq = Some(job.target);
        Ok(())
    }
}
