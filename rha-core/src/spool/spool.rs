//! The spool handle: appends with group commit, acknowledgements, limits
//! and overflow.

use std::collections::{BTreeMap, VecDeque};
use std::io;
use std::sync::Arc;
use std::time::Instant;

use parking_lot::{Condvar, Mutex, MutexGuard};

use super::buffer::EncodeBuffer;
use super::config::{
    AppendOptions, OverflowPolicy, SpoolConfig, SpoolEvent, SpoolUsage, Ticket, WhenFull,
};
use super::dirty::DirtyRegions;
use super::error::{AckError, AppendError, FullReason, OpenError, ResetError};
use super::flush::{write_chunks, write_meta, Chunk, Job, Written};
use super::meta::{self, SpoolMode, StateFile, DIRTY_FILE, STATE_FILE};
use super::reader::SpoolReader;
use super::recover::{self, segment_name, Recovery, Repair};
use super::storage::{DirStorage, Storage, StorageFile};
use crate::journal::{EncodeError, JournalWriter, Op, Record, WriteError, WriterConfig};

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
/// use rha_core::spool::{AppendOptions, MemStorage, Spool, SpoolConfig};
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
    config: SpoolConfig,
    pub(crate) state: Mutex<State>,
    /// Signalled when a flush ends (durability waiters, would-be leaders).
    flushed: Condvar,
    /// Signalled when room appears (acknowledgement, reset).
    room: Condvar,
    /// Serialises writes of the metadata files.
    meta_lock: Mutex<()>,
}

pub(crate) struct Segment {
    pub(crate) name: String,
    pub(crate) file: Option<Arc<dyn StorageFile>>,
    /// Bytes encoded (written or not).
    pub(crate) len: u64,
    /// Bytes handed to a flush.
    taken: u64,
    /// Bytes durable.
    pub(crate) durable_len: u64,
    /// Last record encoded.
    last_seq: Option<u64>,
}

pub(crate) struct State {
    /// Encodes into the newest segment; `None` until the first append
    /// after opening (recovered segments are never appended to).
    writer: Option<JournalWriter<EncodeBuffer>>,
    /// By first sequence number.
    pub(crate) segments: BTreeMap<u64, Segment>,
    /// Encoded bytes of earlier segments not yet handed to a flush.
    queued: Vec<Chunk>,
    /// Written by a write-behind flush, not yet synced.
    unsynced: Vec<Written>,
    pub(crate) next_seq: u64,
    /// Appends so far (spooled or tracked): ticket numbers.
    commit: u64,
    durable_commit: u64,
    /// Every record before this is durable.
    pub(crate) durable_next: u64,
    flushing: bool,
    pub(crate) failed: Option<Arc<str>>,
    mode: SpoolMode,
    resume_seq: u64,
    /// Bumped when the mode changes; `meta_saved` is the version on disk.
    meta_version: u64,
    meta_saved: u64,
    dirty: DirtyRegions,
    dirty_version: u64,
    dirty_saved: u64,
    used: u64,
    free_measured: u64,
    used_at_measure: u64,
    armed: Vec<bool>,
    events: VecDeque<SpoolEvent>,
}

fn arc_io(e: io::Error) -> Arc<io::Error> {
    Arc::new(e)
}

impl State {
    fn free_estimate(&self) -> u64 {
        (self.free_measured.saturating_add(self.used_at_measure)).saturating_sub(self.used)
    }

    fn capacity(&self, config: &SpoolConfig) -> (u64, FullReason) {
        let fs_cap = self.used + self.free_estimate().saturating_sub(config.min_free_bytes);
        match config.max_bytes {
            Some(max) if max <= fs_cap => (max, FullReason::MaxSize),
            _ => (fs_cap, FullReason::MinFreeSpace),
        }
    }

    fn push_event(&mut self, e: SpoolEvent) {
        if self.events.len() >= MAX_EVENTS {
            self.events.pop_front();
        }
        self.events.push_back(e);
    }

    /// Raises usage warnings crossed upward; re-arms those fallen below.
    fn check_thresholds(&mut self, config: &SpoolConfig) {
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

    fn poison(&mut self, what: &str, e: &io::Error) -> Arc<str> {
        let cause: Arc<str> = format!("{what}: {e}").into();
        if self.failed.is_none() {
            self.failed = Some(cause.clone());
            self.push_event(SpoolEvent::Failed {
                message: cause.to_string(),
            });
        }
        cause
    }

    fn state_file(&self) -> StateFile {
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

/// An upper bound of the bytes `op` takes encoded (header, fixed fields,
/// variable parts).
fn encoded_bound(op: &Op) -> u64 {
    let var: usize = match op {
        Op::Write { path, data, .. } => path.len() + data.len(),
        Op::Rename { from, to } => from.len() + to.len(),
        Op::HardLink { existing, link } => existing.len() + link.len(),
        Op::Symlink { path, target } => path.len() + target.len(),
        Op::SetXattr { path, name, value } => path.len() + name.len() + value.len(),
        Op::RemoveXattr { path, name } => path.len() + name.len(),
        Op::BlockWrite { data, .. } => data.len(),
        Op::Bookmark { name, .. } => name.len(),
        op => op.path().map_or(0, |p| p.len()),
    };
    var as u64 + 128
}

impl Spool {
    /// Opens (or creates) the spool in the directory `dir` on the local
    /// file system, locking it against other processes.
    pub fn open_dir(
        dir: impl AsRef<std::path::Path>,
        config: SpoolConfig,
    ) -> Result<(Self, Recovery), OpenError> {
        let dir = dir.as_ref();
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
        let scanned = recover::scan(&*storage, &config, Repair::Repair)?;
        let report = super::limits_file::store_on_open(&*storage, &config, scanned.report)?;
        let mut dirty = scanned.dirty;
        if dirty.granularity() != config.dirty_granularity && dirty.is_empty() {
            dirty = DirtyRegions::new(config.dirty_granularity);
        }
        let mut state = scanned.state;
        state.resume_seq = report.resume_seq;
        if report.created || report.salvaged.is_some() {
            write_meta(&*storage, STATE_FILE, &state.encode()).map_err(|source| OpenError::Io {
                doing: "writing",
                file: STATE_FILE.to_string(),
                source,
            })?;
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
        };
        st.check_thresholds(&config);
        let spool = Spool {
            shared: Arc::new(Shared {
                storage,
                config,
                state: Mutex::new(st),
                flushed: Condvar::new(),
                room: Condvar::new(),
                meta_lock: Mutex::new(()),
            }),
        };
        Ok((spool, report))
    }

    /// Appends `op`, captured at `timestamp_ns`, numbering it with the next
    /// sequence number.
    ///
    /// With `opts.durable` the call returns once the record is durable
    /// (one sync covers every record appended concurrently); otherwise it
    /// returns at once and [`wait`](Self::wait) on the ticket makes it
    /// durable. When the spool is full, `opts.when_full` decides: fail,
    /// block for room, or overflow (stop or degrade, per
    /// [`SpoolConfig::overflow`]). A degraded spool records only the
    /// regions the record changes, and the ticket has no sequence number.
    pub fn append(
        &self,
        timestamp_ns: u64,
        op: &Op,
        opts: AppendOptions,
    ) -> Result<Ticket, AppendError> {
        let ticket = self.enqueue(None, timestamp_ns, op, opts.when_full)?;
        if opts.durable {
            self.wait(ticket)?;
        } else if self.unflushed() >= self.shared.config.max_unflushed_bytes {
            self.write_behind()?;
        }
        Ok(ticket)
    }

    /// Encoded bytes not yet handed to a flush.
    pub(crate) fn unflushed(&self) -> usize {
        let st = self.shared.state.lock();
        st.writer.as_ref().map_or(0, |w| w.get_ref().len())
            + st.queued.iter().map(|c| c.len).sum::<usize>()
    }

    /// Appends a record that already has its sequence number (for example
    /// relayed from a master); it must be the spool's next one.
    pub fn append_record(&self, rec: &Record, opts: AppendOptions) -> Result<Ticket, AppendError> {
        let ticket = self.enqueue(Some(rec.seq), rec.timestamp_ns, &rec.op, opts.when_full)?;
        if opts.durable {
            self.wait(ticket)?;
        } else if self.unflushed() >= self.shared.config.max_unflushed_bytes {
            self.write_behind()?;
        }
        Ok(ticket)
    }

    fn enqueue(
        &self,
        want_seq: Option<u64>,
        timestamp_ns: u64,
        op: &Op,
        when_full: WhenFull,
    ) -> Result<Ticket, AppendError> {
        let sh = &*self.shared;
        let config = &sh.config;
        let mut st = sh.state.lock();
        let deadline = match when_full {
            WhenFull::Block(d) => Instant::now().checked_add(d),
            _ => None,
        };
        loop {
            if let Some(cause) = &st.failed {
                return Err(AppendError::Poisoned(cause.clone()));
            }
            match st.mode {
                SpoolMode::Stopped { at_seq } => return Err(AppendError::Stopped { at_seq }),
                SpoolMode::Degraded { .. } => return Ok(Self::track(&mut st, op)),
                SpoolMode::Normal => {}
            }
            if let Some(seq) = want_seq {
                if seq != st.next_seq {
                    return Err(EncodeError::Sequence {
                        expected: st.next_seq,
                        found: seq,
                    }
                    .into());
                }
            }
            let (capacity, reason) = st.capacity(config);
            if st.used + encoded_bound(op) <= capacity {
                break;
            }
            let full = AppendError::Full {
                reason,
                used: st.used,
                capacity,
            };
            match when_full {
                WhenFull::Fail => return Err(full),
                WhenFull::Block(_) => {
                    let timed_out = match deadline {
                        Some(d) => sh.room.wait_until(&mut st, d).timed_out(),
                        None => {
                            sh.room.wait(&mut st);
                            false
                        }
                    };
                    if timed_out {
                        let (capacity, _) = st.capacity(config);
                        if st.used + encoded_bound(op) > capacity {
                            return Err(full);
                        }
                    }
                }
                WhenFull::Overflow => {
                    let at_seq = st.next_seq;
                    st.push_event(SpoolEvent::Overflow {
                        policy: config.overflow,
                        at_seq,
                        reason,
                    });
                    st.meta_version += 1;
                    match config.overflow {
                        OverflowPolicy::Stop => {
                            st.mode = SpoolMode::Stopped { at_seq };
                            st.commit += 1;
                            let t = Ticket {
                                seq: None,
                                commit: st.commit,
                            };
                            drop(st);
                            // Make the stop durable before reporting it.
                            self.wait(t)?;
                            return Err(AppendError::Stopped { at_seq });
                        }
                        OverflowPolicy::DegradeToDirtyRegions => {
                            st.mode = SpoolMode::Degraded { at_seq };
                            return Ok(Self::track(&mut st, op));
                        }
                    }
                }
            }
        }
        Self::encode(&mut st, config, timestamp_ns, op)
    }

    fn track(st: &mut State, op: &Op) -> Ticket {
        st.dirty.mark_op(op);
        st.dirty_version += 1;
        st.commit += 1;
        Ticket {
            seq: None,
            commit: st.commit,
        }
    }

    fn encode(
        st: &mut MutexGuard<'_, State>,
        config: &SpoolConfig,
        timestamp_ns: u64,
        op: &Op,
    ) -> Result<Ticket, AppendError> {
        let seq = st.next_seq;
        if seq == u64::MAX {
            // The spool's own next number would not fit after it.
            return Err(EncodeError::SequenceExhausted.into());
        }
        let roll = match (&st.writer, st.segments.last_key_value()) {
            (Some(_), Some((_, tail))) => tail.len >= config.segment_bytes,
            _ => true,
        };
        if roll {
            Self::seal_tail(st);
            let writer = JournalWriter::new(
                EncodeBuffer::default(),
                WriterConfig::default()
                    .first_seq(seq)
                    .batch_bytes(1)
                    .max_record_size(config.max_record_size),
            );
            st.writer = Some(writer);
            st.segments.insert(
                seq,
                Segment {
                    name: segment_name(seq),
                    file: None,
                    len: 0,
                    taken: 0,
                    durable_len: 0,
                    last_seq: None,
                },
            );
        }
        let State {
            writer, segments, ..
        } = &mut **st;
        let (Some(writer), Some((_, tail))) = (writer.as_mut(), segments.iter_mut().next_back())
        else {
            // Rolling above made both; nothing to append to otherwise.
            return Err(AppendError::Poisoned(
                "internal error: no segment to append to".into(),
            ));
        };
        let before = writer.get_ref().len();
        writer.get_mut().expect_payload(Some(op));
        let appended = writer.append(timestamp_ns, op);
        writer.get_mut().expect_payload(None);
        match appended {
            Ok(_) => {}
            // Nothing was written (the writer checks before encoding); a
            // segment just rolled for this record stays empty and takes the
            // next one.
            Err(WriteError::Encode(e)) => return Err(e.into()),
            Err(e) => {
                // A Vec sink cannot fail; keep the writer honest anyway.
                let e = io::Error::other(e.to_string());
                let cause = st.poison("encoding a record", &e);
                return Err(AppendError::Poisoned(cause));
            }
        }
        let added = (writer.get_ref().len() - before) as u64;
        tail.len += added;
        tail.last_seq = Some(seq);
        st.used += added;
        st.next_seq = seq + 1;
        st.commit += 1;
        st.check_thresholds(config);
        Ok(Ticket {
            seq: Some(seq),
            commit: st.commit,
        })
    }

    /// Moves the tail writer's bytes into the queue and drops the writer.
    fn seal_tail(st: &mut State) {
        let Some(mut writer) = st.writer.take() else {
            return;
        };
        let (parts, len) = writer.get_mut().take(0);
        if len == 0 {
            return;
        }
        if let Some((&key, tail)) = st.segments.iter_mut().next_back() {
            let offset = tail.taken;
            tail.taken += len as u64;
            st.queued.push(Chunk {
                seg: key,
                offset,
                parts,
                len,
            });
        }
    }

    /// Waits until the append that returned `ticket` is durable, syncing if
    /// no other thread is.
    pub fn wait(&self, ticket: Ticket) -> Result<(), AppendError> {
        self.flush_until(ticket.commit)
    }

    /// Makes everything appended so far durable.
    pub fn sync(&self) -> Result<(), AppendError> {
        let target = self.shared.state.lock().commit;
        self.flush_until(target)
    }

    fn flush_until(&self, target: u64) -> Result<(), AppendError> {
        let sh = &*self.shared;
        let mut st = sh.state.lock();
        // A ticket from elsewhere cannot ask for more than was appended.
        let target = target.min(st.commit);
        loop {
            if let Some(cause) = &st.failed {
                return Err(AppendError::Poisoned(cause.clone()));
            }
            if st.durable_commit >= target {
                return Ok(());
            }
            if st.flushing {
                sh.flushed.wait(&mut st);
                continue;
            }
            // Lead: take everything encoded so far and make it durable.
            let covered = st.commit;
            let covered_next = st.next_seq;
            let (jobs, pending) = Self::take_jobs(&mut st, sh.config.max_unflushed_bytes);
            drop(st);
            let written = write_chunks(&*sh.storage, jobs, pending, true);
            let meta = written
                .as_ref()
                .map_err(|_| ())
                .ok()
                .map(|_| self.save_meta());
            let free = sh.storage.free_space();
            st = sh.state.lock();
            st.flushing = false;
            sh.flushed.notify_all();
            let result = match (written, meta) {
                (Ok((done, _)), Some(Ok(()))) => {
                    Self::mark_durable(&mut st, done);
                    st.durable_commit = st.durable_commit.max(covered);
                    st.durable_next = st.durable_next.max(covered_next);
                    if let Ok(free) = free {
                        st.free_measured = free;
                        st.used_at_measure = st.used;
                    }
                    Ok(())
                }
                (Err((what, e)), _) | (Ok(_), Some(Err((what, e)))) => {
                    st.poison(&what, &e);
                    Err(AppendError::Io(arc_io(e)))
                }
                (Ok(_), None) => Ok(()),
            };
            result?;
        }
    }

    /// Writes what is encoded without syncing it (unless a segment boundary
    /// requires), so appends that do not wait keep memory bounded and the
    /// disk busy. Does nothing if a flush is under way.
    fn write_behind(&self) -> Result<(), AppendError> {
        let sh = &*self.shared;
        let mut st = sh.state.lock();
        if let Some(cause) = &st.failed {
            return Err(AppendError::Poisoned(cause.clone()));
        }
        if st.flushing {
            return Ok(());
        }
        let (jobs, pending) = Self::take_jobs(&mut st, sh.config.max_unflushed_bytes);
        drop(st);
        let written = write_chunks(&*sh.storage, jobs, pending, false);
        st = sh.state.lock();
        st.flushing = false;
        sh.flushed.notify_all();
        match written {
            Ok((mut done, pending)) => {
                // Bytes synced at a segment boundary count as durable only
                // with the next full flush, which also advances the durable
                // sequence number; until then they wait with the rest.
                done.extend(pending);
                for w in &done {
                    if let Some(seg) = st.segments.get_mut(&w.key) {
                        seg.file = Some(w.file.clone());
                    }
                }
                st.unsynced = done;
                Ok(())
            }
            Err((what, e)) => {
                st.poison(&what, &e);
                Err(AppendError::Io(arc_io(e)))
            }
        }
    }

    /// Marks a flush under way and takes everything encoded but not yet
    /// written, and what was written but not synced.
    fn take_jobs(st: &mut State, max_unflushed: usize) -> (Vec<Job>, Vec<Written>) {
        st.flushing = true;
        let mut chunks = std::mem::take(&mut st.queued);
        if let Some(writer) = st.writer.as_mut() {
            // The next buffer keeps room for as many small frames as this
            // one held (up to the write-behind limit), sparing regrowth.
            let (parts, len) = writer.get_mut().take(max_unflushed);
            if len > 0 {
                if let Some((&key, tail)) = st.segments.iter_mut().next_back() {
                    let offset = tail.taken;
                    tail.taken += len as u64;
                    chunks.push(Chunk {
                        seg: key,
                        offset,
                        parts,
                        len,
                    });
                }
            }
        }
        let jobs = chunks
            .into_iter()
            .filter_map(|c| {
                let seg = st.segments.get(&c.seg)?;
                Some((c.seg, seg.name.clone(), seg.file.clone(), c))
            })
            .collect();
        (jobs, std::mem::take(&mut st.unsynced))
    }

    fn mark_durable(st: &mut State, done: Vec<Written>) {
        for w in done {
            if let Some(seg) = st.segments.get_mut(&w.key) {
                seg.file = Some(w.file);
                seg.durable_len = seg.durable_len.max(w.end);
            }
        }
    }

    /// Writes the state and dirty-region files if they changed.
    fn save_meta(&self) -> Result<(), (String, io::Error)> {
        let sh = &*self.shared;
        let _meta = sh.meta_lock.lock();
        let (state, state_version, dirty, dirty_version) = {
            let st = sh.state.lock();
            let state = (st.meta_version > st.meta_saved).then(|| st.state_file().encode());
            let dirty = (st.dirty_version > st.dirty_saved).then(|| meta::encode_dirty(&st.dirty));
            (state, st.meta_version, dirty, st.dirty_version)
        };
        if let Some(b) = dirty {
            write_meta(&*sh.storage, DIRTY_FILE, &b)
                .map_err(|e| (format!("writing {DIRTY_FILE}"), e))?;
        }
        if let Some(b) = state {
            write_meta(&*sh.storage, STATE_FILE, &b)
                .map_err(|e| (format!("writing {STATE_FILE}"), e))?;
        }
        let mut st = sh.state.lock();
        st.meta_saved = st.meta_saved.max(state_version);
        st.dirty_saved = st.dirty_saved.max(dirty_version);
        Ok(())
    }

    /// Acknowledges every record up to and including `seq`: the consumer
    /// has applied or sent them. The position is made durable before this
    /// returns; whole segments behind it are then removed. Acknowledging a
    /// position at or behind the current one does nothing.
    pub fn ack(&self, seq: u64) -> Result<(), AckError> {
        let sh = &*self.shared;
        let _meta = sh.meta_lock.lock();
        let (bytes, version) = {
            let st = sh.state.lock();
            if let Some(cause) = &st.failed {
                return Err(AckError::Poisoned(cause.clone()));
            }
            if seq < st.resume_seq {
                return Ok(());
            }
            if seq >= st.durable_next {
                return Err(AckError::NotDurable {
                    seq,
                    durable: st.durable_next.saturating_sub(1),
                });
            }
            let mut file = st.state_file();
            file.resume_seq = seq + 1;
            (file.encode(), st.meta_version)
        };
        let fail = |e: io::Error, what: &str| {
            let mut st = sh.state.lock();
            st.poison(what, &e);
            sh.flushed.notify_all();
            AckError::Io(arc_io(e))
        };
        if let Err(e) = write_meta(&*sh.storage, STATE_FILE, &bytes) {
            return Err(fail(e, "writing state"));
        }
        let doomed: Vec<String> = {
            let mut st = sh.state.lock();
            st.resume_seq = st.resume_seq.max(seq + 1);
            st.meta_saved = st.meta_saved.max(version);
            let tail = st.segments.last_key_value().map(|(&k, _)| k);
            let resume = st.resume_seq;
            let keys: Vec<u64> = st
                .segments
                .iter()
                .filter(|(&k, s)| {
                    Some(k) != tail
                        && s.last_seq.is_some_and(|l| l < resume)
                        && s.durable_len == s.len
                })
                .map(|(&k, _)| k)
                .collect();
            let mut names = Vec::new();
            for k in keys {
                if let Some(s) = st.segments.remove(&k) {
                    st.used -= s.len;
                    names.push(s.name);
                }
            }
            st.check_thresholds(&sh.config);
            names
        };
        for name in &doomed {
            if let Err(e) = sh.storage.remove(name) {
                return Err(fail(e, "removing a reclaimed segment"));
            }
        }
        sh.room.notify_all();
        Ok(())
    }

    /// Discards everything spooled, the dirty regions and any stopped or
    /// degraded state, after the scenario has resynchronised; the next
    /// record is numbered `next_seq`, which may not be smaller than the
    /// current next sequence number.
    pub fn reset(&self, next_seq: u64) -> Result<(), ResetError> {
        let sh = &*self.shared;
        let mut st = sh.state.lock();
        loop {
            if let Some(cause) = &st.failed {
                return Err(ResetError::Poisoned(cause.clone()));
            }
            if !st.flushing {
                break;
            }
            sh.flushed.wait(&mut st);
        }
        if next_seq < st.next_seq {
            return Err(ResetError::Backwards {
                next_seq,
                current: st.next_seq,
            });
        }
        st.flushing = true;
        let names: Vec<String> = st.segments.values().map(|s| s.name.clone()).collect();
        st.segments.clear();
        st.queued.clear();
        st.unsynced.clear();
        st.writer = None;
        st.used = 0;
        st.next_seq = next_seq;
        st.durable_next = next_seq;
        st.resume_seq = next_seq;
        st.durable_commit = st.commit;
        st.mode = SpoolMode::Normal;
        st.dirty.clear();
        st.meta_version += 1;
        st.dirty_version += 1;
        drop(st);
        let result = (|| {
            self.save_meta()?;
            for name in &names {
                sh.storage
                    .remove(name)
                    .map_err(|e| (format!("removing {name}"), e))?;
            }
            sh.storage
                .sync_dir()
                .map_err(|e| ("syncing the directory".to_string(), e))
        })();
        let mut st = sh.state.lock();
        st.flushing = false;
        st.check_thresholds(&sh.config);
        sh.flushed.notify_all();
        sh.room.notify_all();
        result.map_err(|(what, e)| {
            st.poison(&what, &e);
            ResetError::Io(arc_io(e))
        })
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
