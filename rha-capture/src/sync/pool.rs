//! Parallel file transfers of a sync run.
//!
//! A first copy of a tree of small files is bound by the kernel's work per
//! file (create, write, rename, set attributes), done on one core when the
//! files go one after another. The plan's file steps (create, update,
//! content check) are therefore handed to a few workers, each with its own
//! [`Transfer`](super::Transfer) (see [`Transfer::fork`](super::Transfer::fork)),
//! while the thread reading the plan does the other steps itself.
//!
//! The plan's order still holds wherever it matters. A step the plan thread
//! does on a path waits until no file step on that path or below it is in
//! flight: a hard link waits for its target, a deletion for what it
//! removes. A directory's attributes, which the plan gives after its
//! contents, are held back instead of waited for, and set as soon as
//! nothing below the directory is in flight, so that a tree of small
//! directories keeps every worker busy. At most [`WINDOW_PER_WORKER`] steps
//! per worker are in flight, which bounds memory and how far the workers
//! run ahead of the plan. In block mode a file above [`BLOCK_WORKER_MAX`]
//! is synced by the plan's thread (with threads of its own), so at most
//! one large file's signature is held at a time.

use std::io;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::thread::Scope;

use rha_core::journal::RelPath;
use rha_core::signature::tree::{EntryKind, PlanOp};

use super::{Apply, SyncError, SyncReport, Transfer};

/// File steps in flight per worker.
pub(crate) const WINDOW_PER_WORKER: usize = 4;

/// Whether the workers take `op`: a regular file's content step, for a
/// file of at most `max_size` bytes.
pub(crate) fn takes(op: &PlanOp, max_size: u64) -> bool {
    match op {
        PlanOp::Create { entry } | PlanOp::Update { entry } | PlanOp::Check { entry } => {
            entry.kind == EntryKind::File && entry.size <= max_size
        }
        _ => false,
    }
}

/// In block mode, the largest file a worker takes: a larger one is
/// synced by the plan's thread, one at a time (with its own threads), so
/// that the memory bound of one block sync (`docs/memory.md`) holds for
/// the run.
pub(crate) const BLOCK_WORKER_MAX: u64 = 64 << 20;

/// A step handed to a worker.
struct Job {
    seq: u64,
    op: PlanOp,
}

/// A worker's outcome for one step: what it added to the report.
struct Done {
    seq: u64,
    result: io::Result<()>,
    report: SyncReport,
}

/// What the workers share of the run.
#[derive(Clone, Copy)]
pub(crate) struct Context<'a> {
    pub(crate) master: &'a std::path::Path,
    pub(crate) replica: &'a std::path::Path,
    pub(crate) owners: bool,
    pub(crate) xattrs: super::xattr::XattrScope,
}

/// The workers of one run, and the steps in flight.
pub(crate) struct Pool {
    /// One queue per worker; empty once the run is over.
    jobs: Vec<Sender<Job>>,
    done: Receiver<Done>,
    /// Steps handed out and not yet reported, in the order handed out.
    in_flight: Vec<(u64, PlanOp)>,
    /// Directory attribute steps waiting for steps below them.
    held: Vec<PlanOp>,
    next_seq: u64,
    window: usize,
}

impl Pool {
    /// Starts one worker per transfer in `transfers`, inside `scope`.
    pub(crate) fn start<'scope, 'env: 'scope>(
        scope: &'scope Scope<'scope, 'env>,
        context: Context<'env>,
        transfers: Vec<Box<dyn Transfer + Send>>,
    ) -> Self {
        let (done_tx, done) = channel::<Done>();
        let window = transfers.len().max(1) * WINDOW_PER_WORKER;
        let mut jobs = Vec::with_capacity(transfers.len());
        for mut transfer in transfers {
            let (job_tx, queue) = channel::<Job>();
            jobs.push(job_tx);
            let done_tx = done_tx.clone();
            scope.spawn(move || worker(context, &mut *transfer, &queue, &done_tx));
        }
        Self {
            jobs,
            done,
            in_flight: Vec::new(),
            held: Vec::new(),
            next_seq: 0,
            window,
        }
    }

    /// Hands `op` (one [`takes`] accepts) to a worker, first waiting for
    /// room in the window.
    pub(crate) fn submit(
        &mut self,
        op: PlanOp,
        report: &mut SyncReport,
        apply: &mut Apply<'_>,
    ) -> Result<(), SyncError> {
        while self.in_flight.len() >= self.window {
            self.collect(report, apply)?;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        // The files of one directory go to one worker: two threads
        // creating names in the same directory wait for each other on its
        // lock.
        let sent = match self.jobs.len() {
            0 => false,
            n => self.jobs[worker_for(op.path(), n)]
                .send(Job {
                    seq,
                    op: op.clone(),
                })
                .is_ok(),
        };
        if !sent {
            return Err(gone(&op));
        }
        self.in_flight.push((seq, op));
        Ok(())
    }

    /// Runs `op` (one the workers do not take) on this thread once the
    /// steps it depends on are done; a directory's attributes are held
    /// back instead, until nothing below the directory is in flight.
    pub(crate) fn run(
        &mut self,
        op: PlanOp,
        report: &mut SyncReport,
        apply: &mut Apply<'_>,
    ) -> Result<(), SyncError> {
        if let PlanOp::SetAttrs { entry, .. } = &op {
            if entry.kind == EntryKind::Dir && self.busy(&entry.path) {
                self.held.push(op);
                return Ok(());
            }
        }
        while self.busy(op.path())
            || matches!(&op, PlanOp::Link { target, .. } if self.busy(target))
        {
            self.collect(report, apply)?;
        }
        apply_op(apply, &op, report)
    }

    /// Waits for every step in flight and sets the held attributes.
    pub(crate) fn finish(
        mut self,
        report: &mut SyncReport,
        apply: &mut Apply<'_>,
    ) -> Result<(), SyncError> {
        while !self.in_flight.is_empty() {
            self.collect(report, apply)?;
        }
        self.jobs.clear();
        for op in std::mem::take(&mut self.held) {
            apply_op(apply, &op, report)?;
        }
        Ok(())
    }

    /// Whether a step on `path` or below it is in flight.
    fn busy(&self, path: &RelPath) -> bool {
        self.in_flight
            .iter()
            .any(|(_, op)| is_at_or_below(op.path(), path))
    }

    /// Waits for one worker's outcome, adds it to `report`, then sets the
    /// held attributes nothing is waiting for any more. The first failure
    /// ends the run.
    fn collect(&mut self, report: &mut SyncReport, apply: &mut Apply<'_>) -> Result<(), SyncError> {
        let Ok(done) = self.done.recv() else {
            // Every worker is gone (one panicked): the scope re-raises it.
            let op = self.in_flight.first().map(|(_, op)| op.clone());
            return Err(op.as_ref().map_or_else(
                || io::Error::other("the sync workers stopped").into_apply("sync", ""),
                gone,
            ));
        };
        let Some(at) = self.in_flight.iter().position(|(s, _)| *s == done.seq) else {
            return Err(
                io::Error::other("a sync worker reported an unknown step").into_apply("sync", "")
            );
        };
        let (_, op) = self.in_flight.remove(at);
        report.absorb(done.report);
        done.result
            .map_err(|source| source.into_apply(op.name(), &op.path().to_string()))?;
        let mut i = 0;
        while i < self.held.len() {
            if self.busy(self.held[i].path()) {
                i += 1;
            } else {
                let op = self.held.remove(i);
                apply_op(apply, &op, report)?;
            }
        }
        Ok(())
    }
}

/// Whether `path` is `dir` or lies below it.
fn is_at_or_below(path: &RelPath, dir: &RelPath) -> bool {
    let (p, d) = (path.as_bytes(), dir.as_bytes());
    p.starts_with(d) && (p.len() == d.len() || p.get(d.len()) == Some(&b'/'))
}

/// Applies `op` on this thread, naming it in the error.
fn apply_op(apply: &mut Apply<'_>, op: &PlanOp, report: &mut SyncReport) -> Result<(), SyncError> {
    apply
        .op(op, report)
        .map_err(|source| source.into_apply(op.name(), &op.path().to_string()))
}

/// The error for a step no worker is left to take.
fn gone(op: &PlanOp) -> SyncError {
    io::Error::other("the sync workers stopped").into_apply(op.name(), &op.path().to_string())
}

trait IntoApply {
    fn into_apply(self, op: &'static str, path: &str) -> SyncError;
}

impl IntoApply for io::Error {
    fn into_apply(self, op: &'static str, path: &str) -> SyncError {
        SyncError::Apply {
            op,
            path: path.to_owned(),
            source: self,
        }
    }
}

/// One worker: takes steps until the queue closes, reporting each.
fn worker(
    context: Context<'_>,
    transfer: &mut dyn Transfer,
    queue: &Receiver<Job>,
    done: &Sender<Done>,
) {
    // Until the queue closes (the run ended or failed).
    while let Ok(job) = queue.recv() {
        let mut report = SyncReport::default();
        let mut apply = Apply {
            master: context.master,
            replica: context.replica,
            transfer: &mut *transfer,
            owners: context.owners,
            xattrs: context.xattrs,
        };
        let result = apply.op(&job.op, &mut report);
        if done
            .send(Done {
                seq: job.seq,
                result,
                report,
            })
            .is_err()
        {
            return;
        }
    }
}

/// The worker of `n` that takes the files of `path`'s directory.
fn worker_for(path: &RelPath, n: usize) -> usize {
    let p = path.as_bytes();
    let dir = p
        .iter()
        .rposition(|&b| b == b'/')
        .map_or(&p[..0], |i| &p[..i]);
    // FNV-1a: cheap, and spreads neighbouring names.
    let hash = dir.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    (hash % n as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(p: &'static str) -> RelPath {
        RelPath::new(p).expect("a relative path")
    }

    #[test]
    fn below_means_the_path_itself_or_inside_it() {
        assert!(is_at_or_below(&rel("a/b"), &rel("a")));
        assert!(is_at_or_below(&rel("a"), &rel("a")));
        assert!(!is_at_or_below(&rel("ab"), &rel("a")));
        assert!(!is_at_or_below(&rel("a"), &rel("a/b")));
    }
}
