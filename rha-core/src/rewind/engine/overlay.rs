//! The target as the pending batch will leave it: what the inverse of a
//! record that overwrites bytes a pending record writes must be read from.

use std::io;

use bytes::Bytes;

use super::Pending;
use crate::journal::{Op, Record, RelPath};
use crate::rewind::invert::{NodeKind, NodeMeta, PreImage};

/// A [`PreImage`] of `target` with the changes of the pending records
/// `ops` (indices into `pending`, in order) laid over it: files' creations,
/// bytes and lengths; volumes' blocks.
///
/// Nothing else is overlaid: a record joins a batch only when no pending
/// record changes a name, attribute or extended attribute that its inverse
/// reads (see [`Batch::must_flush`](super::batch::Batch::must_flush)).
/// File times are those before the batch, as for any record of a batch (a
/// file created in the batch reports zero).
pub(super) struct Overlay<'a, T: PreImage> {
    pub(super) target: &'a mut T,
    pub(super) pending: &'a [Pending],
    pub(super) ops: &'a [usize],
    /// A file's metadata in the target, already read: not read again.
    pub(super) known: Option<(&'a RelPath, NodeMeta)>,
}

/// Copies the part of `data` (written at `at`) that falls inside `buf`
/// (which holds the bytes from `offset`).
fn lay(buf: &mut [u8], offset: u64, at: u64, data: &[u8]) {
    let end = offset.saturating_add(buf.len() as u64);
    let data_end = at.saturating_add(data.len() as u64);
    let from = at.max(offset);
    let to = data_end.min(end);
    if from >= to {
        return;
    }
    let (b, d) = ((from - offset) as usize, (from - at) as usize);
    let n = (to - from) as usize;
    buf[b..b + n].copy_from_slice(&data[d..d + n]);
}

/// Zeroes the part of `buf` (the bytes from `offset`) from `from` on.
fn cut(buf: &mut [u8], offset: u64, from: u64) {
    let b = from.saturating_sub(offset).min(buf.len() as u64) as usize;
    buf[b..].fill(0);
}

impl<T: PreImage> Overlay<'_, T> {
    /// The overlaid records of the file at `path`, in order.
    fn records<'b>(&'b self, path: &'b RelPath) -> impl Iterator<Item = &'b Record> + 'b {
        self.ops
            .iter()
            .filter_map(|&i| self.pending.get(i))
            .map(|p| &p.rec)
            .filter(move |r| match &r.op {
                Op::Write { path: p, .. }
                | Op::SetLen { path: p, .. }
                | Op::Create { path: p, .. } => p == path,
                _ => false,
            })
    }

    /// Whether a pending record changes the file at `path`.
    fn mine(&self, path: &RelPath) -> bool {
        self.records(path).next().is_some()
    }

    /// The file's metadata before the pending records, and whether a
    /// pending record creates it (or else the target holds it).
    fn base(&mut self, path: &RelPath) -> io::Result<Option<(NodeMeta, bool)>> {
        let created = self.records(path).find_map(|r| match &r.op {
            Op::Create { mode, .. } => Some(NodeMeta {
                kind: NodeKind::File,
                mode: *mode & 0o7777,
                uid: 0,
                gid: 0,
                size: 0,
                // Unknown until it is created; the engine leaves times out
                // of the inverses of such a file's changes.
                atime: 0,
                mtime: 0,
                nlink: 1,
                ino: 0,
            }),
            _ => None,
        });
        match created {
            Some(m) => Ok(Some((m, true))),
            None => Ok(self.target_stat(path)?.map(|m| (m, false))),
        }
    }

    /// The target's metadata of `path`.
    fn target_stat(&mut self, path: &RelPath) -> io::Result<Option<NodeMeta>> {
        match self.known {
            Some((p, m)) if p == path => Ok(Some(m)),
            _ => self.target.stat(path),
        }
    }
}

impl<T: PreImage> PreImage for Overlay<'_, T> {
    fn stat(&mut self, path: &RelPath) -> io::Result<Option<NodeMeta>> {
        if !self.mine(path) {
            return self.target_stat(path);
        }
        let Some((mut m, _)) = self.base(path)? else {
            return Ok(None);
        };
        for r in self.records(path) {
            match &r.op {
                Op::Write { offset, data, .. } if !data.is_empty() => {
                    m.size = m.size.max(offset.saturating_add(data.len() as u64));
                }
                Op::SetLen { len, .. } => m.size = *len,
                _ => {}
            }
        }
        Ok(Some(m))
    }

    fn read(&mut self, path: &RelPath, offset: u64, len: u64) -> io::Result<Vec<u8>> {
        if !self.mine(path) {
            return self.target.read(path, offset, len);
        }
        let Some((base, created)) = self.base(path)? else {
            return self.target.read(path, offset, len);
        };
        // The window as the target holds it, zeros past its end (a hole
        // once a later write extends the file over them).
        let mut size = base.size;
        let mut buf = if size > offset && !created {
            self.target.read(path, offset, len)?
        } else {
            Vec::new()
        };
        let want = usize::try_from(len)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "read too long"))?;
        buf.resize(want, 0);
        for r in self.records(path) {
            match &r.op {
                Op::Write {
                    offset: at, data, ..
                } if !data.is_empty() => {
                    lay(&mut buf, offset, *at, data);
                    size = size.max(at.saturating_add(data.len() as u64));
                }
                Op::SetLen { len: n, .. } => {
                    if *n < size {
                        cut(&mut buf, offset, *n);
                    }
                    size = *n;
                }
                _ => {}
            }
        }
        buf.truncate(size.saturating_sub(offset).min(len) as usize);
        Ok(buf)
    }

    fn read_link(&mut self, path: &RelPath) -> io::Result<Bytes> {
        self.target.read_link(path)
    }

    fn xattr(&mut self, path: &RelPath, name: &[u8]) -> io::Result<Option<Bytes>> {
        self.target.xattr(path, name)
    }

    fn xattrs(&mut self, path: &RelPath) -> io::Result<Vec<(Bytes, Bytes)>> {
        self.target.xattrs(path)
    }

    fn other_link(&mut self, path: &RelPath) -> io::Result<Option<RelPath>> {
        self.target.other_link(path)
    }

    fn volume_len(&mut self, volume: u32) -> io::Result<u64> {
        self.target.volume_len(volume)
    }

    fn volume_read(&mut self, volume: u32, offset: u64, len: u64) -> io::Result<Vec<u8>> {
        let mut buf = self.target.volume_read(volume, offset, len)?;
        for &i in self.ops {
            let Some(p) = self.pending.get(i) else {
                continue;
            };
            match &p.rec.op {
                Op::BlockWrite {
                    volume: v,
                    offset: at,
                    data,
                } if *v == volume => lay(&mut buf, offset, *at, data),
                Op::Discard {
                    volume: v,
                    offset: at,
                    len: n,
                } if *v == volume => {
                    // Zeros over the overlap only: no buffer of the discard's
                    // whole length.
                    let from = (*at).max(offset);
                    let to = at
                        .saturating_add(*n)
                        .min(offset.saturating_add(buf.len() as u64));
                    if from < to {
                        let b = (from - offset) as usize;
                        buf[b..b + (to - from) as usize].fill(0);
                    }
                }
                _ => {}
            }
        }
        Ok(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::{cut, lay};

    #[test]
    fn cut_zeroes_from_a_point_inside_the_window() {
        let mut buf = b"abcd".to_vec();
        cut(&mut buf, 10, 12);
        assert_eq!(buf, b"ab\0\0");
        let mut buf = b"abcd".to_vec();
        cut(&mut buf, 10, 20);
        assert_eq!(buf, b"abcd");
        cut(&mut buf, 10, 3);
        assert_eq!(buf, b"\0\0\0\0");
    }

    #[test]
    fn lay_copies_only_the_overlap() {
        let mut buf = vec![0u8; 4];
        lay(&mut buf, 10, 8, b"abcd");
        assert_eq!(buf, b"cd\0\0");
        lay(&mut buf, 10, 13, b"xyz");
        assert_eq!(buf, b"cd\0x");
        lay(&mut buf, 10, 0, b"far");
        lay(&mut buf, 10, 14, b"past");
        assert_eq!(buf, b"cd\0x");
        lay(&mut buf, 10, 9, b"123456");
        assert_eq!(buf, b"2345");
    }
}
