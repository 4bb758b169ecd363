//! A replica directory: its spool, lock, rewind log, and applying journal files.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use rha_core::journal::{DecoderConfig, End, JournalReader, ReadError, Record};
use rha_core::rewind::{Replica, ReplicaConfig, RewindError};
use rha_core::storage::{DirStorage, LOCK_FILE};

use super::dir::DirTarget;

/// The spool directory's name inside a replica root when none is given.
pub const DEFAULT_SPOOL: &str = ".rha";

/// The rewind log's directory inside the spool directory.
const REWIND_DIR: &str = "rewind";

/// Why a replica operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApplyError {
    /// Another process holds the replica's lock.
    #[error("replica is busy: another process holds the lock '{}'", lock.display())]
    Busy {
        /// The lock file.
        lock: PathBuf,
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
    /// The journal file does not read.
    #[error("journal '{}': {source}", path.display())]
    Journal {
        /// The journal file.
        path: PathBuf,
        /// Why.
        #[source]
        source: ReadError,
    },
    /// Applying or rewinding failed.
    #[error(transparent)]
    Rewind(#[from] RewindError),
}

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
    /// Sets [`config`](Self::config).
    pub fn config(mut self, c: ReplicaConfig) -> Self {
        self.config = c;
        self
    }
}

/// What [`ReplicaDir::apply_journal`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyReport {
    /// Records applied.
    pub applied: u64,
    /// Records skipped because the replica already had them.
    pub skipped: u64,
    /// Records of a transaction that never committed in this journal (not applied).
    pub uncommitted: u64,
    /// Where an incomplete last record starts, if the journal has a torn tail.
    pub torn_at: Option<u64>,
    /// The replica's point afterwards.
    pub point: Option<u64>,
}

/// A replica directory, locked for as long as this value lives.
#[derive(Debug)]
pub struct ReplicaDir {
    replica: Replica<DirTarget, DirStorage>,
    spool: PathBuf,
    /// The spool directory's storage: it holds the lock.
    _storage: DirStorage,
}

impl ReplicaDir {
    /// Opens the replica at `root`: takes the lock (failing with
    /// [`ApplyError::Busy`] if another process has it), opens the rewind log
    /// if `options.rewind` is set or a log already exists, and finishes
    /// whatever a crash interrupted.
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
        let storage = DirStorage::open(&spool).map_err(|e| {
            if e.kind() == io::ErrorKind::WouldBlock {
                ApplyError::Busy {
                    lock: spool.join(LOCK_FILE),
                }
            } else {
                io(&spool)(e)
            }
        })?;
        let mut target = DirTarget::open(root, reserved).map_err(io(root))?;
        for (index, path) in &options.volumes {
            target.add_volume(*index, path).map_err(io(path))?;
        }
        let log_dir = spool.join(REWIND_DIR);
        let rewind = options.rewind || log_dir.exists();
        let replica = if rewind {
            let log = storage.subdir(REWIND_DIR).map_err(io(&log_dir))?;
            Replica::open(target, log, options.config)?
        } else {
            Replica::without_rewind(target)
        };
        Ok(Self {
            replica,
            spool,
            _storage: storage,
        })
    }

    /// The spool directory.
    pub fn spool(&self) -> &Path {
        &self.spool
    }

    /// The engine, for points, bookmarks and rewinds.
    pub fn replica(&mut self) -> &mut Replica<DirTarget, DirStorage> {
        &mut self.replica
    }

    /// Applies every record of the journal file at `path` in order, skipping
    /// those the replica already has, then makes the target durable.
    pub fn apply_journal(&mut self, path: impl AsRef<Path>) -> Result<ApplyReport, ApplyError> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|source| ApplyError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let mut reader = JournalReader::new(io::BufReader::new(file), DecoderConfig::default());
        let mut report = ApplyReport::default();
        let jerr = |source| ApplyError::Journal {
            path: path.to_path_buf(),
            source,
        };
        loop {
            let rec = match reader.next_record() {
                Ok(Some(rec)) => rec,
                Ok(None) => break,
                Err(e) => {
                    // Keep what applied so far durable, then report.
                    self.replica.sync()?;
                    return Err(jerr(e));
                }
            };
            self.apply_record(rec, &mut report)?;
        }
        if let Some((_, n)) = self.replica.open_transaction() {
            report.uncommitted = n as u64;
        }
        if let Some(End::TornTail { offset, .. }) = reader.end() {
            report.torn_at = Some(offset);
        }
        self.replica.sync()?;
        report.point = self.replica.current_point();
        Ok(report)
    }

    /// Applies one record (skipping it if the replica already has it).
    pub fn apply_record(
        &mut self,
        rec: Record,
        report: &mut ApplyReport,
    ) -> Result<(), ApplyError> {
        let have = self.replica.current_point();
        if have.is_some_and(|p| rec.seq <= p) && self.replica.open_transaction().is_none() {
            report.skipped += 1;
            return Ok(());
        }
        self.replica.apply(rec)?;
        report.applied += 1;
        Ok(())
    }
}
