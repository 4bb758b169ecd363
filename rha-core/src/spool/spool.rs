//! The spool handle: appends with group commit, acknowledgements, limits
//! and overflow.

use std::collections::{BTreeMap, VecDeque};
use std::io;
use std::sync::Arc;

use parking_lot::{Condvar, Mutex};

use super::buffer::EncodeBuffer;
use super::config::{SpoolConfig, SpoolEvent, SpoolUsage};
use super::dirty::DirtyRegions;
use super::error::{AppendError, FullReason, OpenError};
use super::flush::{Chunk, Written};
use super::meta::{SpoolMode, StateFile, STATE_FILE};
use super::reader::SpoolReader;
use super::recover::{self, Recovery, Repair};
use crate::journal::JournalWriter;
use crate::storage::{DirStorage, Storage, StorageFile};

/// Events kept for [`Spool::poll_event`] before the oldest are dropped.
const MAX_EVENTS: usize = 1024;

/// A durable, bounded, crash-safe queue of journal records on disk.
///
/// Records are appended to segment files in the journal format; many
/// threads may append at once, and one sync makes a whole batch durable
/// (group commit). A consumer reads from any unacknowledged position with
/// [`read_from`](Self::read_from) and acknowledges with [`ack`](Self::ack);
/// whole segments behind the acknowledged position are reclaimed, and a
/// reopened spool resumes right after the last acknowledged record.
///
/// ```
/// use std::sync::Arc;
/// use rha_core::journal::Op;
/// use rha_core::spool::{AppendOptions, Spool, SpoolConfig};
/// use rha_core::storage::MemStorage;
///
/// let storage = Arc::new(MemStorage::new());
/// let (spool, _recovery) = Spool::open(storage.clone(), SpoolConfig::default())?;
/// let t = spool.append(1_000, &Op::TxBegin { txid: 1 }, AppendOptions::default())?;
/// assert_eq!(t.seq, Some(1));
/// spool.append(2_000, &Op::TxCommit { txid: 1 }, AppendOptions::default())?;
///
/// let seqs: Vec<u64> = spool.read_from(1)?.map(|r| r.map(|r| r.seq)).collect::<Result<_, _>>()?;
/// assert_eq!(seqs, [1, 2]);
/// spool.ack(2)?;
/// drop(spool);
///
/// let (spool, recovery) = Spool::open(storage, SpoolConfig::default())?;
/// assert_eq!((recovery.resume_seq, spool.usage().next_seq), (3, 3));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// Thread safety: `Spool` is `Send + Sync`; share it (for example in an
/// `Arc`) between producers and the consumer.
pub struct Spool {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for Spool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spool")
            .field("usage", &self.usage())
            .finish_non_exhaustive()
    }
}

pub(crate) struct Shared {
    pub(crate) storage: Arc<dyn Storage>,
    pub(super) config: SpoolConfig,
    pub(crate) state: Mutex<State>,
    /// Signalled when a flush ends (durability waiters, would-be leaders).
    pub(super) flushed: Condvar,
    /// Signalled when a thread starts waiting for durability (a gathering
    /// leader).
    pub(super) arrived: Condvar,
    /// Signalled when room appears (acknowledgement, reset).
    pub(super) room: Condvar,
    /// Serialises writes of the metadata files.
    pub(super) meta_lock: Mutex<()>,
}

pub(crate) struct Segment {
    pub(crate) name: String,
    pub(crate) file: Option<Arc<dyn StorageFile>>,
    /// Bytes encoded (written or not).
    pub(crate) len: u64,
    /// Bytes handed to a flush.
    pub(super) taken: u64,
    /// Bytes durable.
    pub(crate) durable_len: u64,
    /// Last record encoded.
    pub(super) last_seq: Option<u64>,
    /// Held by every reader of this segment and every buffer it mapped:
    /// while anyone holds it, a reclaimed segment is removed rather than
    /// reused, so bytes handed out never change.
    pub(crate) pin: Arc<()>,
}

pub(crate) struct State {
    /// Encodes into the newest segment; `None` until the first append
    /// after opening (recovered segments are never appended to).
    pub(super) writer: Option<JournalWriter<EncodeBuffer>>,
    /// By first sequence number.
    pub(crate) segments: BTreeMap<u64, Segment>,
    /// Encoded bytes of earlier segments not yet handed to a flush.
    pub(super) queued: Vec<Chunk>,
    /// Written by a write-behind flush, not yet synced.
    pub(super) unsynced: Vec<Written>,
    pub(crate) next_seq: u64,
    /// Appends so far (spooled or tracked): ticket numbers.
    pub(super) commit: u64,
    pub(super) durable_commit: u64,
    /// Every record before this is durable.
    pub(crate) durable_next: u64,
    pub(super) flushing: bool,
    pub(crate) failed: Option<Arc<str>>,
    pub(super) mode: SpoolMode,
    pub(super) resume_seq: u64,
    /// Bumped when the mode changes; `meta_saved` is the version on disk.
    pub(super) meta_version: u64,
    pub(super) meta_saved: u64,
    pub(super) dirty: DirtyRegions,
    pub(super) dirty_version: u64,
    pub(super) dirty_saved: u64,
    pub(super) used: u64,
    pub(super) free_measured: u64,
    pub(super) used_at_measure: u64,
    pub(super) armed: Vec<bool>,
    pub(super) events: VecDeque<SpoolEvent>,
    /// Reclaimed segment files kept for reuse, by name (oldest first).
    pub(super) spares: Vec<String>,
    /// Threads waiting for durability (or leading a flush).
    pub(super) waiting: usize,
    /// The most threads waiting at once since the current flush began.
    pub(super) peak_waiting: usize,
    /// How many waiting threads a new leader gathers before it flushes:
    /// the peak during the last flush.
    pub(super) group_hint: usize,
    /// How long a new leader gathers at most: the last flush's duration.
    pub(super) gather_limit: std::time::Duration,
    /// Bumped by [`Spool::interrupt_waits`]: a
    /// [`wait_durable`](Spool::wait_durable) under way returns.
    pub(super) interrupts: u64,
}

pub(super) fn arc_io(e: io::Error) -> Arc<io::Error> {
    Arc::new(e)
}

impl State {
    pub(super) fn free_estimate(&self) -> u64 {
        (self.free_measured.saturating_add(self.used_at_measure)).saturating_sub(self.used)
    }

    pub(super) fn capacity(&self, config: &SpoolConfig) -> (u64, FullReason) {
        let fs_cap = self.used + self.free_estimate().saturating_sub(config.min_free_bytes);
        match config.max_bytes {
            Some(max) if max <= fs_cap => (max, FullReason::MaxSize),
            _ => (fs_cap, FullReason::MinFreeSpace),
        }
    }

    pub(super) fn push_event(&mut self, e: SpoolEvent) {
        log_event(&e);
        if self.events.len() >= MAX_EVENTS {
            self.events.pop_front();
        }
        self.events.push_back(e);
    }

    /// Raises usage warnings crossed upward; re-arms those fallen below.
    pub(super) fn check_thresholds(&mut self, config: &SpoolConfig) {
        let (capacity, _) = self.capacity(config);
        let percent = if capacity == 0 {
            100
        } else {
            (u128::from(self.used) * 100 / u128::from(capacity)).min(100) as u8
        };
        for (i, &t) in config.warn_percent.iter().enumerate() {
            if percent >= t && self.armed[i] {
                self.armed[i] = false;
                self.push_event(SpoolEvent::UsageAbove {
                    percent: t,
                    used: self.used,
                    capacity,
                });
            } else if percent < t {
                self.armed[i] = true;
            }
        }
    }

    pub(super) fn poison(&mut self, what: &str, e: &io::Error) -> Arc<str> {
        let cause: Arc<str> = format!("{what}: {e}").into();
        if self.failed.is_none() {
            self.failed = Some(cause.clone());
            self.push_event(SpoolEvent::Failed {
                message: cause.to_string(),
            });
        }
        cause
    }

    pub(super) fn state_file(&self) -> StateFile {
        StateFile {
            resume_seq: self.resume_seq,
            mode: self.mode,
        }
    }
}

impl Shared {
    pub(crate) fn max_record_size(&self) -> usize {
        self.config.max_record_size
    }
}

impl Spool {
    /// Opens (or creates) the spool in the directory `dir` on the local
    /// file system, locking it against other processes.
    pub fn open_dir(
        dir: impl AsRef<std::path::Path>,
        config: SpoolConfig,
    ) -> Result<(Self, Recovery), OpenError> {
        let dir = dir.as_ref();
        let _span = tracing::info_span!("spool_open", dir = %dir.display()).entered();
        let storage = DirStorage::open(dir).map_err(|source| OpenError::Io {
            doing: "opening",
            file: dir.display().to_string(),
            source,
        })?;
        Self::open(Arc::new(storage), config)
    }

    /// Opens (or creates) the spool in `storage`, recovering from a crash.
    ///
    /// A torn tail in the last segment is truncated and reported in the
    /// returned [`Recovery`]; any other damage fails with
    /// [`OpenError::Corrupt`] naming the file, the offset and the last good
    /// sequence number, unless [`SpoolConfig::salvage`] is set, in which
    /// case everything before the damage is kept and the rest discarded
    /// (and reported).
    pub fn open(
        storage: Arc<dyn Storage>,
        config: SpoolConfig,
    ) -> Result<(Self, Recovery), OpenError> {
        if config.segment_bytes == 0 {
            return Err(OpenError::Config("segment size must be at least 1 byte"));
        }
        if config.max_record_size == 0 {
            return Err(OpenError::Config(
                "maximum record size must be at least 1 byte",
            ));
        }
        if config.warn_percent.iter().any(|&p| p == 0 || p > 100) {
            return Err(OpenError::Config(
                "warning thresholds must be 1 to 100 percent",
            ));
        }
        let _span = tracing::info_span!("spool_recovery").entered();
        let scanned = recover::scan(&*storage, &config, Repair::Repair)?;
        scanned.report.log();
        let report = super::limits_file::store_on_open(&*storage, &config, scanned.report)?;
        let spares = scanned.spares;
        let mut dirty = scanned.dirty;
        if dirty.granularity() != config.dirty_granularity && dirty.is_empty() {
            dirty = DirtyRegions::new(config.dirty_granularity);
        }
        let mut state = scanned.state;
        state.resume_seq = report.resume_seq;
        if report.created || report.salvaged.is_some() {
            crate::storage::replace_file(&*storage, STATE_FILE, &state.encode()).map_err(
                |source| OpenError::Io {
                    doing: "writing",
                    file: STATE_FILE.to_string(),
                    source,
                },
            )?;
        }
        let free = storage.free_space().map_err(|source| OpenError::Io {
            doing: "measuring free space of",
            file: String::new(),
            source,
        })?;
        let mut segments = BTreeMap::new();
        let mut used = 0;
        for s in scanned.segments {
            used += s.len;
            segments.insert(
                s.first_seq,
                Segment {
                    name: s.name,
                    file: Some(s.file),
                    len: s.len,
                    taken: s.len,
                    durable_len: s.len,
                    last_seq: Some(s.last_seq),
                    pin: Arc::new(()),
                },
            );
        }
        let next_seq = report.next_seq;
        let mut st = State {
            writer: None,
            segments,
            queued: Vec::new(),
            unsynced: Vec::new(),
            next_seq,
            commit: 0,
            durable_commit: 0,
            durable_next: next_seq,
            flushing: false,
            failed: None,
            mode: state.mode,
            resume_seq: state.resume_seq,
            meta_version: 0,
            meta_saved: 0,
            dirty,
            dirty_version: 0,
            dirty_saved: 0,
            used,
            free_measured: free,
            used_at_measure: used,
            armed: vec![true; config.warn_percent.len()],
            events: VecDeque::new(),
            spares,
            waiting: 0,
            peak_waiting: 0,
            group_hint: 0,
            gather_limit: std::time::Duration::ZERO,
            interrupts: 0,
        };
        st.check_thresholds(&config);
        let spool = Spool {
            shared: Arc::new(Shared {
                storage,
                config,
                state: Mutex::new(st),
                flushed: Condvar::new(),
                arrived: Condvar::new(),
                room: Condvar::new(),
                meta_lock: Mutex::new(()),
            }),
        };
        Ok((spool, report))
    }

    /// A reader of the durable records from sequence number `seq` on. It
    /// follows new appends: after returning `None` it returns more records
    /// once they are durable.
    pub fn read_from(&self, seq: u64) -> Result<SpoolReader, super::ReadError> {
        SpoolReader::new(self.shared.clone(), seq)
    }

    /// Usage, limits and state.
    pub fn usage(&self) -> SpoolUsage {
        let sh = &*self.shared;
        let st = sh.state.lock();
        let (capacity, _) = st.capacity(&sh.config);
        SpoolUsage {
            used_bytes: st.used,
            max_bytes: sh.config.max_bytes,
            free_bytes: st.free_estimate(),
            min_free_bytes: sh.config.min_free_bytes,
            capacity_bytes: capacity,
            segments: st.segments.len(),
            oldest_seq: st.segments.keys().next().copied(),
            next_seq: st.next_seq,
            durable_next_seq: st.durable_next,
            resume_seq: st.resume_seq,
            mode: st.mode,
            dirty_ranges: st.dirty.range_count(),
            failed: st.failed.is_some(),
        }
    }

    /// The dirty regions recorded since a degrading overflow (empty
    /// otherwise): what a resync must copy.
    pub fn dirty_regions(&self) -> DirtyRegions {
        self.shared.state.lock().dirty.clone()
    }

    /// What a resync of a replica that holds every record before `seq`
    /// must cover: the [`dirty_regions`](Self::dirty_regions) and the
    /// regions of every durable record from `seq` on (those the spool still
    /// holds but the replica may lack). Reads those records once.
    pub fn regions_since(&self, seq: u64) -> Result<DirtyRegions, super::ReadError> {
        let mut regions = self.dirty_regions();
        let mut reader = self.read_from(seq)?;
        while let Some(rec) = reader.next_record()? {
            regions.mark_op(&rec.op);
        }
        Ok(regions)
    }

    /// The next monitoring event, oldest first.
    pub fn poll_event(&self) -> Option<SpoolEvent> {
        self.shared.state.lock().events.pop_front()
    }

    /// The configuration the spool was opened with.
    pub fn config(&self) -> &SpoolConfig {
        &self.shared.config
    }
}

impl Spool {
    /// Makes everything appended durable and closes the spool (dropping it
    /// does the same, ignoring errors).
    pub fn close(self) -> Result<(), AppendError> {
        self.sync()
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = self.sync();
    }
}

/// Hands a monitoring event to `tracing` as well, as it is raised.
fn log_event(e: &SpoolEvent) {
    match e {
        SpoolEvent::UsageAbove {
            percent,
            used,
            capacity,
        } => tracing::warn!(
            percent,
            used_bytes = used,
            capacity_bytes = capacity,
            "spool usage crossed its warning threshold"
        ),
        SpoolEvent::Overflow {
            policy,
            at_seq,
            reason,
        } => tracing::warn!(?policy, at_seq, ?reason, "spool overflowed"),
        SpoolEvent::Failed { message } => {
            tracing::error!(cause = %message, "spool write failed; writes refused until reopened")
        }
    }
}
