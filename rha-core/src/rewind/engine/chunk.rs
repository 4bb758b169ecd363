//! Rewinding in runs: capturing elided forward payloads before undoing.

use std::collections::HashMap;
use std::io;

use super::{data_len, Key, Replica, RewindError};
use crate::journal::Op;
use crate::rewind::log::Entry;
use crate::rewind::target::Target;
use crate::storage::Storage;

impl<T: Target, S: Storage> Replica<T, S> {
    /// The next entries of a job to apply together. Rewinding, a run of
    /// entries whose forward payloads were elided and whose byte ranges do
    /// not overlap: their payloads are read from the target (each is exactly
    /// as the forward record left it) and made durable in the redo file
    /// before any of them is undone, with one sync. Any other entry comes
    /// alone.
    pub(super) fn next_chunk(
        &mut self,
        order: &[usize],
        k: &mut usize,
        forward: bool,
    ) -> Result<Vec<Entry>, RewindError> {
        let mut chunk = Vec::new();
        let mut captured = Vec::new();
        let mut ranges: HashMap<Key, Vec<(u64, u64)>> = HashMap::new();
        while *k < order.len() {
            let entry = self.log_mut()?.read_entry(order[*k])?;
            let needs = !forward
                && entry.elided.is_some()
                && !self.log.as_ref().is_some_and(|l| l.redo_has(entry.seq));
            if !needs {
                if chunk.is_empty() {
                    chunk.push(entry);
                    *k += 1;
                }
                break;
            }
            let len = entry.elided.unwrap_or(0);
            let (key, off) = match &entry.forward {
                Op::Write { path, offset, .. } => (Key::Path(path.as_shared().clone()), *offset),
                Op::BlockWrite { volume, offset, .. } => (Key::Volume(*volume), *offset),
                _ => break,
            };
            let end = off.saturating_add(len);
            let list = ranges.entry(key).or_default();
            if list.iter().any(|&(a, b)| a < end && off < b) {
                break;
            }
            list.push((off, end));
            let undo = |source| RewindError::Undo {
                seq: entry.seq,
                source,
            };
            let full = match &entry.forward {
                Op::Write { path, offset, .. } => Op::Write {
                    path: path.clone(),
                    offset: *offset,
                    data: self.target.read(path, *offset, len).map_err(undo)?.into(),
                },
                Op::BlockWrite { volume, offset, .. } => Op::BlockWrite {
                    volume: *volume,
                    offset: *offset,
                    data: self
                        .target
                        .volume_read(*volume, *offset, len)
                        .map_err(undo)?
                        .into(),
                },
                _ => break,
            };
            if data_len(&full) as u64 != len {
                return Err(RewindError::Undo {
                    seq: entry.seq,
                    source: io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the target is shorter than the record being undone wrote",
                    ),
                });
            }
            captured.push((entry.seq, full));
            chunk.push(entry);
            *k += 1;
        }
        self.log_mut()?.redo_append(&captured)?;
        Ok(chunk)
    }
}
