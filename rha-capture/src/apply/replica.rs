//! A replica directory: its spool, lock, rewind log, and applying journal files.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use rha_core::journal::{
    DecoderConfig, End, JournalReader, JournalWriter, Op, ReadError, Record, WriterConfig,
    STREAM_MAGIC,
};
use rha_core::rewind::{
    AppliedError, AppliedPoint, RecordMark, Replica, ReplicaConfig, RewindError,
};
use rha_core::storage::{replace_file, DirStorage, Storage, LOCK_FILE};

use super::dir::DirTarget;

mod restart;

/// The spool directory's name inside a replica root when none is given.
pub const DEFAULT_SPOOL: &str = ".rha";

/// The rewind log's directory inside the spool directory.
pub const REWIND_DIR: &str = "rewind";

/// The file in the spool directory that keeps the records of a transaction
/// whose commit has not arrived yet (a journal stream).
pub const TXN_FILE: &str = "open-transaction";

/// Without a rewind log, the applied point says durably, this many records
/// ahead at a time, which records may land before the next checkpoint: a
/// crash replays those since the last checkpoint, at most this many past
/// the last record applied. Saying it writes only the point, not the
/// target.
const REPLAY_WINDOW: u64 = 4096;

/// Why a replica operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApplyError {
    /// The directory is not a replica this tool can open: it has no spool
    /// directory (when opening only an existing replica), or the spool
    /// directory is a symbolic link or not a directory. Nothing was created.
    #[error("'{}' is not a replica: {reason}", path.display())]
    NotAReplica {
        /// The replica root (or the explicit spool directory).
        path: PathBuf,
        /// Why.
        reason: &'static str,
    },
    /// Another process, or another handle in this process, holds the
    /// replica's lock.
    #[error(
        "replica is busy: {} holds the lock '{}'",
        if *by_this_process { "another handle in this process" } else { "another process" },
        lock.display()
    )]
    Busy {
        /// The lock file.
        lock: PathBuf,
        /// Whether the holder is this process (another open handle).
        by_this_process: bool,
    },
    /// A file or directory could not be opened or created.
    #[error("'{}': {source}", path.display())]
    Io {
        /// What was being opened.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The journal file does not read from some point on; everything
    /// before the damage was applied and made durable.
    #[error(
        "journal '{}': {source}; {} records before the damage were applied, the replica is at point {}",
        path.display(),
        report.applied,
        report.point.map_or_else(|| "none".to_owned(), |p| p.to_string())
    )]
    Journal {
        /// The journal file.
        path: PathBuf,
        /// Why.
        #[source]
        source: ReadError,
        /// What was applied before the damage.
        report: Box<ApplyReport>,
    },
    /// The journal does not continue the replica's sequence: records are
    /// missing between the replica's point and the journal. Nothing from
    /// `received` on was applied.
    #[error(
        "sequence gap: the replica expects record {expected} next, the journal continues with record {received}; \
         records {expected}..{received} are missing (apply the journal that holds them first)"
    )]
    Gap {
        /// The sequence number the replica needs next.
        expected: u64,
        /// The sequence number the journal gave.
        received: u64,
    },
    /// The journal restarts numbering: it belongs to another scenario or
    /// epoch, or reuses sequence numbers the replica applied from other
    /// records. Nothing from `seq` on was applied.
    #[error(
        "record {seq}: {reason}; the journal restarts numbering (another scenario, epoch or a resync): \
         resynchronise the replica (rha sync) into a fresh replica directory before applying it"
    )]
    NewSequence {
        /// The record that gave it away.
        seq: u64,
        /// What differs.
        reason: String,
    },
    /// The replica's applied-point file could not be read or written.
    #[error("'{}': {source}", path.display())]
    Point {
        /// The spool directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: AppliedError,
    },
    /// Applying or rewinding failed.
    #[error(transparent)]
    Rewind(#[from] RewindError),
}

/// How errors of [`ReplicaDir::apply_journal_bytes`] name the journal.
pub const MEMORY_JOURNAL: &str = "(journal bytes)";

/// How to open a [`ReplicaDir`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ReplicaOptions {
    /// The spool directory (rewind log and lock). Default: `ROOT/.rha`,
    /// which is then excluded from what is applied.
    pub spool: Option<PathBuf>,
    /// Keep a rewind log. Without it, records are applied directly.
    pub rewind: bool,
    /// Engine settings.
    pub config: ReplicaConfig,
    /// Volumes to attach: (index, file or block device).
    pub volumes: Vec<(u32, PathBuf)>,
    /// Open only a replica that already has its spool directory (for
    /// commands that read or rewind): nothing is created otherwise.
    pub existing: bool,
}

impl ReplicaOptions {
    /// Sets [`spool`](Self::spool).
    pub fn spool(mut self, dir: Option<PathBuf>) -> Self {
        self.spool = dir;
        self
    }
    /// Sets [`rewind`](Self::rewind).
    pub fn rewind(mut self, on: bool) -> Self {
        self.rewind = on;
        self
    }
    /// Adds a volume (see [`volumes`](Self::volumes)).
    pub fn volume(mut self, index: u32, path: impl Into<PathBuf>) -> Self {
        self.volumes.push((index, path.into()));
        self
    }
    /// Sets [`existing`](Self::existing).
    pub fn existing(mut self, on: bool) -> Self {
        self.existing = on;
        self
    }
    /// Sets [`config`](Self::config).
    pub fn config(mut self, c: ReplicaConfig) -> Self {
        self.config = c;
        self
    }
}

/// What [`ReplicaDir::apply_journal`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApplyReport {
    /// Records applied (or, within a transaction, taken).
    pub applied: u64,
    /// Records skipped because the replica already had them.
    pub skipped: u64,
    /// Records of a transaction that does not commit in this journal: kept
    /// in the spool directory, applied when its commit arrives.
    pub uncommitted: u64,
    /// Where an incomplete last record starts, if the journal has a torn tail.
    pub torn_at: Option<u64>,
    /// The replica's point afterwards.
    pub point: Option<u64>,
}

/// A replica directory, locked for as long as this value lives.
///
/// It keeps its applied point (scenario/epoch, last record) durably in the
/// spool directory (`docs/applied-point-format.md`), with or without a rewind
/// log, and refuses a journal that does not continue it.
#[derive(Debug)]
pub struct ReplicaDir {
    replica: Replica<DirTarget, DirStorage>,
    spool: PathBuf,
    /// The spool directory's storage: it holds the lock and the applied point.
    storage: DirStorage,
    /// The point as last made durable.
    applied: AppliedPoint,
    /// The sequence number of the last record taken (applied, or buffered
    /// in a transaction): the next one must follow it.
    taken: Option<u64>,
    /// The last record taken, when known.
    last: Option<RecordMark>,
    /// The last record taken outside an open transaction: the point once
    /// the target is synced.
    settled: Option<RecordMark>,
}

/// Checks the spool directory before it is opened: never a symbolic link
/// (for the default `ROOT/.rha`) nor anything but a directory. Unless
/// `options.existing`, a missing one is created (with a missing replica
/// root), but only the last component of each.
fn prepare_spool(root: &Path, spool: &Path, options: &ReplicaOptions) -> Result<(), ApplyError> {
    let refuse = |reason| ApplyError::NotAReplica {
        path: if options.spool.is_some() {
            spool.to_path_buf()
        } else {
            root.to_path_buf()
        },
        reason,
    };
    let io = |source| ApplyError::Io {
        path: spool.to_path_buf(),
        source,
    };
    let meta = match std::fs::symlink_metadata(spool) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if options.existing {
                return Err(refuse(
                    "it has no spool directory (apply a journal to it first, or name it with --spool)",
                ));
            }
            // Only the last component, as rsync does: a mistyped parent is
            // an error, not a tree of new directories.
            if options.spool.is_none() && std::fs::symlink_metadata(root).is_err() {
                std::fs::create_dir(root).map_err(|source| ApplyError::Io {
                    path: root.to_path_buf(),
                    source,
                })?;
            }
            return std::fs::create_dir(spool).map_err(io);
        }
        Err(e) => return Err(io(e)),
    };
    if meta.file_type().is_symlink() {
        if options.spool.is_none() {
            return Err(refuse(
                "its spool directory '.rha' is a symbolic link (refused: the spool must be a directory inside the replica)",
            ));
        }
        if !std::fs::metadata(spool).map_err(io)?.is_dir() {
            return Err(refuse("the spool directory is not a directory"));
        }
    } else if !meta.is_dir() {
        return Err(refuse("its spool directory is not a directory"));
    }
    Ok(())
}

impl ReplicaDir {
    /// Opens the replica at `root`: takes the lock (failing with
    /// [`ApplyError::Busy`] if another process has it), opens the rewind log
    /// if `options.rewind` is set or a log already exists, and finishes
    /// whatever a crash interrupted. A transaction kept from an earlier
    /// journal is taken up again, waiting for its commit.
    pub fn open(root: impl AsRef<Path>, options: ReplicaOptions) -> Result<Self, ApplyError> {
        let root = root.as_ref();
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| ApplyError::Io { path, source }
        };
        let (spool, reserved) = match &options.spool {
            Some(s) => (s.clone(), None),
            None => (root.join(DEFAULT_SPOOL), Some(DEFAULT_SPOOL)),
        };
        prepare_spool(root, &spool, &options)?;
        let storage = DirStorage::open(&spool).map_err(|e| {
            if let Some(held) = rha_core::storage::lock_held(&e) {
                ApplyError::Busy {
                    lock: spool.join(LOCK_FILE),
                    by_this_process: held.by_this_process,
                }
            } else {
                io(&spool)(e)
            }
        })?;
        let point_err = |source| ApplyError::Point {
            path: spool.clone(),
            source,
        };
        let applied = AppliedPoint::load(&storage)
            .map_err(point_err)?
            .unwrap_or_default();
        let mut target = DirTarget::open(root, reserved).map_err(io(root))?;
        for (index, path) in &options.volumes {
            target.add_volume(*index, path).map_err(io(path))?;
        }
        let log_dir = spool.join(REWIND_DIR);
        let rewind = options.rewind || log_dir.exists();
        let mut replica = if rewind {
            let log = storage.subdir(REWIND_DIR).map_err(io(&log_dir))?;
            Replica::open(target, log, options.config)?
        } else {
            Replica::without_rewind(target)
        };
        replica.resume_at(applied.seq, applied.replay_to);
        // A rewind log that holds points knows where the target is (a
        // rewind may have moved it back); a log that is still empty (rewind
        // turned on just now) does not.
        let taken = replica.current_point().or(applied.seq);
        // The stored hash is of the record at the stored point; with a
        // rewind log the point may differ (a rewind, or a crash before the
        // point file was written), and the hash is then unknown.
        let last = applied
            .seq
            .filter(|&s| Some(s) == taken)
            .map(|seq| RecordMark {
                seq,
                hash: applied.last_hash,
            });
        let mut dir = Self {
            replica,
            spool,
            storage,
            applied,
            taken,
            last,
            settled: last,
        };
        dir.take_up_transaction()?;
        Ok(dir)
    }

    /// Feeds the kept records of an unfinished transaction to the engine
    /// again (or forgets them if the point is already past them).
    fn take_up_transaction(&mut self) -> Result<(), ApplyError> {
        let path = self.spool.join(TXN_FILE);
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(source) => return Err(ApplyError::Io { path, source }),
        };
        let mut reader = JournalReader::new(io::BufReader::new(file), DecoderConfig::default());
        let point = self.replica.current_point();
        loop {
            let rec = match reader.next_record() {
                Ok(Some(rec)) => rec,
                Ok(None) => break,
                Err(source) => {
                    return Err(ApplyError::Journal {
                        path,
                        source,
                        report: Box::default(),
                    })
                }
            };
            if point.is_some_and(|p| rec.seq <= p) {
                continue;
            }
            self.last = Some(RecordMark::of(&rec));
            self.taken = Some(rec.seq);
            self.replica.apply(rec)?;
        }
        Ok(())
    }

    /// The spool directory.
    pub fn spool(&self) -> &Path {
        &self.spool
    }

    /// The engine, for points, bookmarks and rewinds.
    pub fn replica(&mut self) -> &mut Replica<DirTarget, DirStorage> {
        &mut self.replica
    }

    /// The point as last made durable in the spool directory.
    pub fn applied_point(&self) -> &AppliedPoint {
        &self.applied
    }

    /// Applies every record of the journal file at `path` in order, skipping
    /// those the replica already has, then makes the target durable and,
    /// after it, the applied point.
    ///
    /// Fails with [`ApplyError::Gap`] if the journal skips sequence numbers,
    /// [`ApplyError::NewSequence`] if it restarts numbering, and
    /// [`ApplyError::Journal`] if it is damaged; in each case what came
    /// before was applied and made durable. A transaction that does not
    /// commit in this journal is kept durably in the spool directory until a
    /// later journal commits it.
    pub fn apply_journal(&mut self, path: impl AsRef<Path>) -> Result<ApplyReport, ApplyError> {
        let mut report = ApplyReport::default();
        self.apply_journal_into(path, &mut report)?;
        Ok(report)
    }

    /// [`apply_journal`](Self::apply_journal), counting into `report` as it
    /// goes, so that after an error the caller can still say what was
    /// applied (and made durable) before it: `report.point` is then the
    /// point stored, when it could be.
    pub fn apply_journal_into(
        &mut self,
        path: impl AsRef<Path>,
        report: &mut ApplyReport,
    ) -> Result<(), ApplyError> {
        let path = path.as_ref();
        let _span = tracing::info_span!("apply", journal = %path.display()).entered();
        let file = File::open(path).map_err(|source| ApplyError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let config = DecoderConfig::default();
        self.apply_journal_from(io::BufReader::new(file), path, config, report)
    }

    /// [`apply_journal`](Self::apply_journal) of a journal held in memory
    /// (as a capture source encoded it), with the same guarantees; an
    /// error names the journal [`MEMORY_JOURNAL`]. The bytes may start
    /// with the stream header or directly with a frame (the header's magic
    /// read as a frame length is beyond any record size limit).
    pub fn apply_journal_bytes(&mut self, bytes: &[u8]) -> Result<ApplyReport, ApplyError> {
        let mut report = ApplyReport::default();
        self.apply_journal_bytes_into(bytes, &mut report)?;
        Ok(report)
    }

    /// [`apply_journal_into`](Self::apply_journal_into) of a journal held
    /// in memory.
    pub fn apply_journal_bytes_into(
        &mut self,
        bytes: &[u8],
        report: &mut ApplyReport,
    ) -> Result<(), ApplyError> {
        let header = bytes.starts_with(&STREAM_MAGIC);
        let config = DecoderConfig::default().stream_header(header);
        self.apply_journal_from(bytes, Path::new(MEMORY_JOURNAL), config, report)
    }

    /// Applies the journal `source` yields (named `path` in errors).
    fn apply_journal_from(
        &mut self,
        source: impl io::Read,
        path: &Path,
        config: DecoderConfig,
        report: &mut ApplyReport,
    ) -> Result<(), ApplyError> {
        let mut reader = JournalReader::new(source, config);
        // Records counted as applied from here on, and the first of them:
        // with rewind on, a record that cannot apply may only fail when its
        // batch lands, after later ones were counted.
        let before = report.applied;
        let mut first = None;
        loop {
            let rec = match reader.next_record() {
                Ok(Some(rec)) => rec,
                Ok(None) => break,
                Err(source) => {
                    // Keep what applied so far durable, then report.
                    let point = self.checkpoint(None);
                    self.recount(report, before, first);
                    report.point = point?;
                    return Err(ApplyError::Journal {
                        path: path.to_path_buf(),
                        source,
                        report: Box::new(report.clone()),
                    });
                }
            };
            let seq = rec.seq;
            let counted = report.applied;
            if let Err(e) = self.apply_record(rec, report) {
                // Keep what applied so far durable if the replica still can
                // (after a failed record it may not); the record's error is
                // what the caller needs to see either way, and a point not
                // stored only means more is replayed later.
                report.point = self.checkpoint(None).unwrap_or(self.applied.seq);
                self.recount(report, before, first.or(Some(seq)));
                return Err(e);
            }
            if first.is_none() && report.applied > counted {
                first = Some(seq);
            }
        }
        report.uncommitted = self.replica.open_transaction_records().len() as u64;
        if let Some(End::TornTail { offset, .. }) = reader.end() {
            tracing::info!(offset, "journal ends in a torn record: applied up to it");
            report.torn_at = Some(offset);
        }
        match self.checkpoint(None) {
            Ok(point) => report.point = point,
            Err(e) => {
                // A pending record failed as its batch landed: what came
                // before it is applied; store that point if possible.
                report.point = self.checkpoint(None).unwrap_or(self.applied.seq);
                self.recount(report, before, first);
                return Err(e);
            }
        }
        tracing::info!(
            applied = report.applied,
            skipped = report.skipped,
            uncommitted = report.uncommitted,
            point = report.point,
            "journal applied"
        );
        Ok(())
    }

    /// After a failure, counts as applied only the records of this run
    /// (from `first`, `before` counted earlier) up to the replica's point.
    fn recount(&self, report: &mut ApplyReport, before: u64, first: Option<u64>) {
        if self.replica.log().is_none() {
            // Without rewind, a record is applied when it is given.
            return;
        }
        let landed = match (first, self.replica.current_point()) {
            (Some(f), Some(p)) if p >= f => p - f + 1,
            _ => 0,
        };
        report.applied = report.applied.min(before + landed);
    }

    /// Syncs the target, then stores the applied point (and the open
    /// transaction's records, or their absence). With `replay_to`, records
    /// up to it may be applied before the next checkpoint (without a rewind
    /// log they are replayed after a crash); otherwise none is in flight.
    fn checkpoint(&mut self, replay_to: Option<u64>) -> Result<Option<u64>, ApplyError> {
        self.replica.sync()?;
        let point = self.replica.current_point().or(self.applied.seq);
        let mut next = self.applied;
        next.seq = point;
        next.replay_to = point.unwrap_or(0).max(replay_to.unwrap_or(0));
        if let Some(m) = self.settled.filter(|m| Some(m.seq) == point) {
            next.last_hash = m.hash;
        }
        self.store_transaction(replay_to.is_none())?;
        self.store_point(next)?;
        Ok(point)
    }

    /// Makes `next` the durable applied point, unless it already is.
    fn store_point(&mut self, next: AppliedPoint) -> Result<(), ApplyError> {
        if next != self.applied {
            next.store(&self.storage)
                .map_err(|source| ApplyError::Point {
                    path: self.spool.clone(),
                    source,
                })?;
            self.applied = next;
        }
        Ok(())
    }

    /// Says durably that records up to `replay_to` may be applied before
    /// the next checkpoint (a crash replays them from the last durable
    /// point), without syncing the target: the point itself stays where
    /// the last checkpoint left it.
    fn extend_replay(&mut self, replay_to: u64) -> Result<(), ApplyError> {
        let mut next = self.applied;
        next.replay_to = next.replay_to.max(replay_to);
        self.store_point(next)
    }

    /// Keeps the open transaction's records durably (when `now`), or
    /// removes the file once no transaction is open.
    fn store_transaction(&mut self, now: bool) -> Result<(), ApplyError> {
        let io = |path: PathBuf| move |source| ApplyError::Io { path, source };
        let recs = self.replica.open_transaction_records();
        if recs.is_empty() {
            return match self.storage.remove(TXN_FILE) {
                Ok(()) => self.storage.sync_dir().map_err(io(self.spool.clone())),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(io(self.spool.join(TXN_FILE))(e)),
            };
        }
        if !now {
            return Ok(());
        }
        let first = recs[0].seq;
        let mut w = JournalWriter::new(Vec::new(), WriterConfig::default().first_seq(first));
        for rec in recs {
            w.append_record(rec).map_err(|e| {
                io(self.spool.join(TXN_FILE))(io::Error::new(io::ErrorKind::InvalidData, e))
            })?;
        }
        let bytes = w.into_inner().map_err(|e| {
            io(self.spool.join(TXN_FILE))(io::Error::new(io::ErrorKind::InvalidData, e))
        })?;
        replace_file(&self.storage, TXN_FILE, &bytes).map_err(io(self.spool.join(TXN_FILE)))
    }

    /// After a rewind the next record continues from the rewound point, and
    /// what was undone is no longer applied.
    fn follow_rewind(&mut self) {
        if self.replica.is_rewound() {
            let cur = self.replica.current_point();
            self.taken = cur;
            let keep = |m: Option<RecordMark>| m.filter(|m| Some(m.seq) <= cur);
            self.last = keep(self.last);
            self.settled = keep(self.settled);
        }
    }

    /// Applies one record that must follow the last one taken: one at or
    /// below it is refused with [`RewindError::Stale`], one after the next
    /// with [`ApplyError::Gap`]. With rewind on, the change may wait in the
    /// current batch until [`sync`](Self::sync).
    pub fn apply_next(&mut self, rec: Record) -> Result<(), ApplyError> {
        self.follow_rewind();
        if let Some(t) = self.taken.filter(|&t| rec.seq <= t) {
            return Err(RewindError::Stale {
                seq: rec.seq,
                current: t,
            }
            .into());
        }
        self.apply_record(rec, &mut ApplyReport::default())
    }

    /// Makes the target durable, then the applied point (and keeps an open
    /// transaction's records); returns the point.
    pub fn sync(&mut self) -> Result<Option<u64>, ApplyError> {
        self.checkpoint(None)
    }

    /// Applies one record: skips it if the replica already has it, refuses
    /// it if it leaves a gap or restarts the sequence.
    pub fn apply_record(
        &mut self,
        rec: Record,
        report: &mut ApplyReport,
    ) -> Result<(), ApplyError> {
        if let Op::Epoch { scenario, epoch } = rec.op {
            if let Some((s, e)) = self.applied.epoch.filter(|&had| had != (scenario, epoch)) {
                return Err(ApplyError::NewSequence {
                    seq: rec.seq,
                    reason: format!(
                        "the journal is of scenario {scenario} epoch {epoch}, the replica follows scenario {s} epoch {e}"
                    ),
                });
            }
        }
        self.follow_rewind();
        let mark = RecordMark::of(&rec);
        let taken = self.taken;
        if let Some(have) = taken.filter(|&t| rec.seq <= t) {
            let known = [self.applied.origin, self.last, self.settled]
                .into_iter()
                .flatten()
                .find(|m| m.seq == rec.seq);
            if let Some(m) = known.filter(|m| m.hash != mark.hash) {
                return Err(ApplyError::NewSequence {
                    seq: m.seq,
                    reason: format!(
                        "it differs from the record {} the replica applied (the replica is at point {have})",
                        m.seq
                    ),
                });
            }
            report.skipped += 1;
            return Ok(());
        }
        if let Some(t) = taken {
            let expected = t.saturating_add(1);
            if rec.seq != expected {
                return Err(ApplyError::Gap {
                    expected,
                    received: rec.seq,
                });
            }
        }
        let epoch = match rec.op {
            Op::Epoch { scenario, epoch } => Some((scenario, epoch)),
            _ => None,
        };
        if self.replica.log().is_none() && rec.seq > self.applied.replay_to {
            // Without a rewind log, say durably which records may land
            // before the next checkpoint, so a crash replays them.
            self.extend_replay(rec.seq.saturating_add(REPLAY_WINDOW - 1))?;
        }
        self.replica.apply(rec)?;
        if self.applied.origin.is_none() {
            self.applied.origin = Some(mark);
        }
        if epoch.is_some() {
            self.applied.epoch = epoch;
        }
        self.last = Some(mark);
        self.taken = Some(mark.seq);
        if self.replica.open_transaction_records().is_empty() {
            self.settled = Some(mark);
        }
        report.applied += 1;
        Ok(())
    }
}
