//! Acknowledgement (reclaiming whole segments behind the acknowledged
//! position) and reset.

use std::io;
use std::sync::Arc;

use super::error::{AckError, ResetError};
use super::meta::{SpoolMode, STATE_FILE};
use super::recover::{spare_name, MAX_SPARES};
use super::spool::arc_io;
use super::{DirtyRegions, Spool};

impl Spool {
    /// Acknowledges every record up to and including `seq`: the consumer
    /// has applied or sent them. The position is made durable before this
    /// returns; whole segments behind it are then reclaimed (a few kept as
    /// spare files that later segments reuse, the rest removed). Acknowledging a
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
        if let Err(e) = crate::storage::replace_file(&*sh.storage, STATE_FILE, &bytes) {
            return Err(fail(e, "writing state"));
        }
        let (doomed, room): (Vec<(u64, String, bool)>, usize) = {
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
                    // Read or mapped bytes still alive: never reuse it.
                    let in_use = Arc::strong_count(&s.pin) > 1;
                    names.push((k, s.name, in_use));
                }
            }
            st.check_thresholds(&sh.config);
            (names, MAX_SPARES.saturating_sub(st.spares.len()))
        };
        // The newest reclaimed segments become spares, reused by the next
        // segments (overwriting written blocks syncs faster than
        // appending); the rest are removed.
        let spare_from = doomed.len().saturating_sub(room);
        for (i, (key, name, in_use)) in doomed.iter().enumerate() {
            if i < spare_from || *in_use {
                if let Err(e) = sh.storage.remove(name) {
                    return Err(fail(e, "removing a reclaimed segment"));
                }
                continue;
            }
            let spare = spare_name(*key);
            if let Err(e) = sh.storage.rename(name, &spare) {
                return Err(fail(e, "keeping a reclaimed segment as a spare"));
            }
            sh.state.lock().spares.push(spare);
        }
        sh.room.notify_all();
        Ok(())
    }

    /// Discards everything spooled, the dirty regions and any stopped or
    /// degraded state, after the scenario has resynchronised; the next
    /// record is numbered `next_seq`, which may not be smaller than the
    /// current next sequence number.
    pub fn reset(&self, next_seq: u64) -> Result<(), ResetError> {
        self.discard(next_seq, false, |_| Ok(()))
    }

    /// [`reset`](Self::reset), handing `keep` the dirty regions it
    /// discards first, while appends wait: a change marked after `keep`
    /// saved them cannot be lost with the reset. If `keep` fails nothing
    /// is discarded ([`ResetError::Keep`]).
    ///
    /// `keep` runs under the spool's state lock: it must not call the
    /// spool.
    pub fn reset_keeping(
        &self,
        next_seq: u64,
        keep: impl FnOnce(&DirtyRegions) -> io::Result<()>,
    ) -> Result<(), ResetError> {
        self.discard(next_seq, false, keep)
    }

    /// [`reset`](Self::reset) to any sequence number, also one behind the
    /// spool's (a replica that follows a new master's journal after a
    /// sync). The segments are removed, newest first, and the directory
    /// synced before the new state is saved: a crash in between leaves the
    /// oldest records or none, never records of both numberings.
    pub fn restart(&self, next_seq: u64) -> Result<(), ResetError> {
        self.discard(next_seq, true, |_| Ok(()))
    }

    fn discard(
        &self,
        next_seq: u64,
        backwards: bool,
        keep: impl FnOnce(&DirtyRegions) -> io::Result<()>,
    ) -> Result<(), ResetError> {
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
        if next_seq < st.next_seq && !backwards {
            return Err(ResetError::Backwards {
                next_seq,
                current: st.next_seq,
            });
        }
        keep(&st.dirty).map_err(|e| ResetError::Keep(Arc::new(e)))?;
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
        let remove = || {
            for name in names.iter().rev() {
                match sh.storage.remove(name) {
                    // A segment of records queued but never written.
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    r => r.map_err(|e| (format!("removing {name}"), e))?,
                }
            }
            sh.storage
                .sync_dir()
                .map_err(|e| ("syncing the directory".to_string(), e))
        };
        let result = if backwards {
            remove().and_then(|()| self.save_meta())
        } else {
            self.save_meta().and_then(|()| remove())
        };
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
}
