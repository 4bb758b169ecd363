//! Group commit: the leader that writes and syncs a batch for every
//! waiting producer, and write-behind for producers that do not wait.

use std::io;
use std::time::{Duration, Instant};

use parking_lot::MutexGuard;

use super::config::Ticket;
use super::error::AppendError;
use super::flush::{write_chunks, Chunk, Job, Written};
use super::meta::{self, DIRTY_FILE, STATE_FILE};
use super::spool::{arc_io, State};
use super::Spool;

/// The longest a new leader waits for the producers the last flush
/// released before it syncs without them.
const MAX_GATHER: Duration = Duration::from_millis(1);

impl Spool {
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

    /// Waits at most `timeout` for records numbered `next` or later to be
    /// durable (what a [`SpoolReader`](super::SpoolReader) would return),
    /// and returns the next sequence number not yet durable. A reader that
    /// has caught up calls this instead of polling; it returns at once if
    /// the spool failed (the reader then reports why).
    pub fn wait_durable(&self, next: u64, timeout: Duration) -> u64 {
        let sh = &*self.shared;
        let deadline = Instant::now() + timeout;
        let mut st = sh.state.lock();
        let interrupts = st.interrupts;
        while st.durable_next <= next && st.failed.is_none() && st.interrupts == interrupts {
            if sh.flushed.wait_until(&mut st, deadline).timed_out() {
                break;
            }
        }
        st.durable_next
    }

    /// Makes every [`wait_durable`](Self::wait_durable) under way return
    /// at once, as if its time had run out: its thread has something else
    /// to do (a reader told to stop for a sync).
    pub fn interrupt_waits(&self) {
        let sh = &*self.shared;
        sh.state.lock().interrupts += 1;
        sh.flushed.notify_all();
    }

    pub(super) fn flush_until(&self, target: u64) -> Result<(), AppendError> {
        let sh = &*self.shared;
        let mut st = sh.state.lock();
        st.waiting += 1;
        st.peak_waiting = st.peak_waiting.max(st.waiting);
        sh.arrived.notify_one();
        let (mut st, result) = self.lead_or_follow(st, target);
        st.waiting -= 1;
        result
    }

    /// Waits for a flush covering `target`, leading one if none is under way.
    fn lead_or_follow<'a>(
        &'a self,
        mut st: MutexGuard<'a, State>,
        target: u64,
    ) -> (MutexGuard<'a, State>, Result<(), AppendError>) {
        let sh = &*self.shared;
        // A ticket from elsewhere cannot ask for more than was appended.
        let target = target.min(st.commit);
        loop {
            if let Some(cause) = &st.failed {
                let cause = cause.clone();
                return (st, Err(AppendError::Poisoned(cause)));
            }
            if st.durable_commit >= target {
                return (st, Ok(()));
            }
            if st.flushing {
                sh.flushed.wait(&mut st);
                continue;
            }
            // Lead. First gather: the producers the last flush released are
            // appending their next records; one sync covering them all
            // beats two syncs covering half each. Wait (at most about one
            // sync's time) until as many producers wait as during the last
            // flush.
            st.flushing = true;
            let want = st.group_hint;
            if want > st.waiting {
                let deadline = Instant::now() + st.gather_limit;
                while st.waiting < want && st.failed.is_none() {
                    if sh.arrived.wait_until(&mut st, deadline).timed_out() {
                        break;
                    }
                }
            }
            if let Some(cause) = &st.failed {
                let cause = cause.clone();
                st.flushing = false;
                sh.flushed.notify_all();
                return (st, Err(AppendError::Poisoned(cause)));
            }
            st.peak_waiting = st.waiting;
            // Take everything encoded so far and make it durable.
            let covered = st.commit;
            let covered_next = st.next_seq;
            let (jobs, pending) = Self::take_jobs(&mut st, sh.config.max_unflushed_bytes);
            drop(st);
            let started = Instant::now();
            let written = write_chunks(&*sh.storage, jobs, pending, true);
            let took = started.elapsed();
            let meta = written
                .as_ref()
                .map_err(|_| ())
                .ok()
                .map(|_| self.save_meta());
            let free = sh.storage.free_space();
            st = sh.state.lock();
            st.flushing = false;
            st.group_hint = st.peak_waiting;
            st.gather_limit = took.min(MAX_GATHER);
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
            if result.is_err() {
                return (st, result);
            }
        }
    }

    /// Writes what is encoded without syncing it (unless a segment boundary
    /// requires), so appends that do not wait keep memory bounded and the
    /// disk busy. Does nothing if a flush is under way.
    pub(super) fn write_behind(&self) -> Result<(), AppendError> {
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
    pub(super) fn take_jobs(st: &mut State, max_unflushed: usize) -> (Vec<Job>, Vec<Written>) {
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
        let mut jobs = Vec::with_capacity(chunks.len());
        for chunk in chunks {
            let Some(seg) = st.segments.get(&chunk.seg) else {
                continue;
            };
            let (name, file) = (seg.name.clone(), seg.file.clone());
            // A segment without a file reuses a spare (the oldest) if any.
            let spare = if file.is_none() && !st.spares.is_empty() {
                Some(st.spares.remove(0))
            } else {
                None
            };
            jobs.push(Job {
                key: chunk.seg,
                name,
                file,
                spare,
                chunk,
            });
        }
        (jobs, std::mem::take(&mut st.unsynced))
    }

    pub(super) fn mark_durable(st: &mut State, done: Vec<Written>) {
        for w in done {
            if let Some(seg) = st.segments.get_mut(&w.key) {
                seg.file = Some(w.file);
                seg.durable_len = seg.durable_len.max(w.end);
            }
        }
    }

    /// Writes the state and dirty-region files if they changed.
    pub(super) fn save_meta(&self) -> Result<(), (String, io::Error)> {
        let sh = &*self.shared;
        let _meta = sh.meta_lock.lock();
        let (state, state_version, dirty, dirty_version) = {
            let st = sh.state.lock();
            let state = (st.meta_version > st.meta_saved).then(|| st.state_file().encode());
            let dirty = (st.dirty_version > st.dirty_saved).then(|| meta::encode_dirty(&st.dirty));
            (state, st.meta_version, dirty, st.dirty_version)
        };
        if let Some(b) = dirty {
            crate::storage::replace_file(&*sh.storage, DIRTY_FILE, &b)
                .map_err(|e| (format!("writing {DIRTY_FILE}"), e))?;
        }
        if let Some(b) = state {
            crate::storage::replace_file(&*sh.storage, STATE_FILE, &b)
                .map_err(|e| (format!("writing {STATE_FILE}"), e))?;
        }
        let mut st = sh.state.lock();
        st.meta_saved = st.meta_saved.max(state_version);
        st.dirty_saved = st.dirty_saved.max(dirty_version);
        Ok(())
    }
}
