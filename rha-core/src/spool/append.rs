//! Appending: admission against the limits, overflow, and encoding into
//! the tail segment.

use std::io;
use std::time::Instant;

use bytes::Bytes;

use parking_lot::MutexGuard;

use super::buffer::EncodeBuffer;
use super::config::{AppendOptions, OverflowPolicy, SpoolConfig, SpoolEvent, Ticket, WhenFull};
use super::error::AppendError;
use super::flush::Chunk;
use super::meta::SpoolMode;
use super::recover::segment_name;
use super::spool::{Segment, State};
use super::Spool;
use crate::journal::{EncodeError, JournalWriter, Op, Record, WriteError, WriterConfig};

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
        let ticket = self.enqueue(None, &[(timestamp_ns, op)], &[], opts.when_full)?;
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
        let ticket = self.enqueue(
            Some(rec.seq),
            &[(rec.timestamp_ns, &rec.op)],
            &[],
            opts.when_full,
        )?;
        if opts.durable {
            self.wait(ticket)?;
        } else if self.unflushed() >= self.shared.config.max_unflushed_bytes {
            self.write_behind()?;
        }
        Ok(ticket)
    }

    /// Admits `records` (timestamp and operation) as one group under the
    /// limits and encodes them in order, numbered from the spool's next
    /// sequence number (which must be `want_seq` if given); returns the
    /// last one's ticket. Either every record is encoded or none: the
    /// lock is held from the checks to the last encoding, and what could
    /// fail while encoding was checked before.
    ///
    /// `frames` is empty, or holds each record's frame as a [`Decoder`]
    /// (with the spool's record size limit) accepted it, numbered from
    /// `want_seq`: those bytes are stored as they are instead of encoding
    /// the records again.
    ///
    /// [`Decoder`]: crate::journal::Decoder
    pub(super) fn enqueue(
        &self,
        want_seq: Option<u64>,
        records: &[(u64, &Op)],
        frames: &[Bytes],
        when_full: WhenFull,
    ) -> Result<Ticket, AppendError> {
        let frames = match want_seq {
            Some(_) if frames.len() == records.len() => frames,
            _ => &[],
        };
        let bound: u64 = records.iter().map(|(_, op)| encoded_bound(op)).sum();
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
                SpoolMode::Degraded { .. } => return Ok(Self::track_all(&mut st, records)),
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
            if st.used + bound <= capacity {
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
                        if st.used + bound > capacity {
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
                            return Ok(Self::track_all(&mut st, records));
                        }
                    }
                }
            }
        }
        if st.next_seq.checked_add(records.len() as u64).is_none() {
            // The last record would take the number the spool's next one
            // needs (`encode` checks the same one record at a time).
            return Err(EncodeError::SequenceExhausted.into());
        }
        let mut ticket = Ticket {
            seq: None,
            commit: st.commit,
        };
        for (i, &(timestamp_ns, op)) in records.iter().enumerate() {
            ticket = Self::encode(&mut st, config, timestamp_ns, op, frames.get(i))?;
        }
        Ok(ticket)
    }

    fn track_all(st: &mut State, records: &[(u64, &Op)]) -> Ticket {
        let mut ticket = Ticket {
            seq: None,
            commit: st.commit,
        };
        for (_, op) in records {
            ticket = Self::track(st, op);
        }
        ticket
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

    /// Encodes one record as the tail segment's next, or stores `frame`,
    /// its frame as received, as it is.
    fn encode(
        st: &mut MutexGuard<'_, State>,
        config: &SpoolConfig,
        timestamp_ns: u64,
        op: &Op,
        frame: Option<&Bytes>,
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
                    pin: std::sync::Arc::new(()),
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
        let appended = match frame {
            Some(frame) => {
                writer.get_mut().expect_shared(Some(frame.clone()));
                writer.append_frame(seq, frame)
            }
            None => {
                writer.get_mut().expect_payload(Some(op));
                writer.append(timestamp_ns, op).map(|_| ())
            }
        };
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
}
