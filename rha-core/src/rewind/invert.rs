//! Inversion: what a record destroys, and the records that bring it back.
//!
//! [`invert`] is pure: everything it needs to know about the target (file
//! contents, attributes, extended attributes, link targets, volume blocks)
//! comes through the [`PreImage`] trait, read *before* the record is applied.

use std::io;

use bytes::Bytes;

use crate::journal::{Attrs, FileTime, Op, RelPath};

/// Inverse payloads are cut into writes of at most this many bytes, so that an
/// inverse record stays far below the journal's record size limit.
pub const INVERSE_CHUNK: usize = 1 << 20;

/// What kind of entry a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NodeKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link.
    Symlink,
    /// A FIFO or device node, which [`Op::Mknod`] restores.
    Special {
        /// Its file type bits (`st_mode & S_IFMT`), as [`Op::Mknod`] takes them.
        file_type: u32,
        /// Its device number (`st_rdev`), 0 for a FIFO.
        rdev: u64,
    },
    /// Anything else (a socket): never restored by rewind.
    Other,
}

/// The metadata of an entry, as [`PreImage::stat`] reports it (without
/// following a final symbolic link).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeMeta {
    /// The kind of entry.
    pub kind: NodeKind,
    /// Permission bits (`st_mode & 0o7777`).
    pub mode: u32,
    /// Owner user id.
    pub uid: u32,
    /// Owner group id.
    pub gid: u32,
    /// Length in bytes (files), 0 otherwise.
    pub size: u64,
    /// Access time.
    pub atime: FileTime,
    /// Modification time.
    pub mtime: FileTime,
    /// Number of hard links.
    pub nlink: u64,
    /// Identity of the underlying file: equal for two names of one file.
    pub ino: u64,
}

/// Read access to the target's state before a record is applied.
///
/// Implemented by the in-memory [`ModelTree`](super::ModelTree) and by the
/// real directory and volume targets in `rha-capture`. Every method reads; none
/// changes the target.
pub trait PreImage {
    /// The entry at `path`, or `None` if nothing is there.
    fn stat(&mut self, path: &RelPath) -> io::Result<Option<NodeMeta>>;
    /// Up to `len` bytes of the regular file at `path` from `offset` (fewer
    /// at the end of the file).
    fn read(&mut self, path: &RelPath, offset: u64, len: u64) -> io::Result<Vec<u8>>;
    /// The target of the symbolic link at `path`.
    fn read_link(&mut self, path: &RelPath) -> io::Result<Bytes>;
    /// The value of extended attribute `name` of `path`, if set.
    fn xattr(&mut self, path: &RelPath, name: &[u8]) -> io::Result<Option<Bytes>>;
    /// Every extended attribute of `path`, as (name, value) pairs.
    fn xattrs(&mut self, path: &RelPath) -> io::Result<Vec<(Bytes, Bytes)>>;
    /// Another name of the file at `path` (which has more than one link), if
    /// one exists inside the tree.
    fn other_link(&mut self, path: &RelPath) -> io::Result<Option<RelPath>>;
    /// The length of volume `volume` in bytes.
    fn volume_len(&mut self, volume: u32) -> io::Result<u64>;
    /// `len` bytes of volume `volume` from `offset`.
    fn volume_read(&mut self, volume: u32, offset: u64, len: u64) -> io::Result<Vec<u8>>;
}

/// Why a record has no inverse.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InvertError {
    /// The record acts on an entry that does not exist.
    #[error("'{path}' does not exist")]
    Missing {
        /// The missing path.
        path: String,
    },
    /// The record creates an entry where one already exists.
    #[error("'{path}' already exists")]
    Exists {
        /// The path.
        path: String,
    },
    /// The entry is of a kind the record cannot act on.
    #[error("'{path}' is a {found:?}, the record needs a {wanted}")]
    WrongKind {
        /// The path.
        path: String,
        /// What is there.
        found: NodeKind,
        /// What the record needs.
        wanted: &'static str,
    },
    /// A file with several names whose other names are all outside the tree.
    #[error("'{path}' has {nlink} links but no other name inside the tree")]
    LinkOutside {
        /// The path.
        path: String,
        /// Its link count.
        nlink: u64,
    },
    /// The extended attribute to remove is not set.
    #[error("'{path}' has no extended attribute '{name}'")]
    NoXattr {
        /// The path.
        path: String,
        /// The attribute name.
        name: String,
    },
    /// A block operation reaches past the end of the volume.
    #[error("volume {volume}: bytes {offset}..{end} reach past its end at {len}")]
    OutOfRange {
        /// The volume.
        volume: u32,
        /// First byte.
        offset: u64,
        /// One past the last byte.
        end: u64,
        /// The volume's length.
        len: u64,
    },
    /// Reading the pre-image failed.
    #[error("reading the pre-image of '{what}' failed: {source}")]
    Io {
        /// The path or volume read.
        what: String,
        /// The failure.
        #[source]
        source: io::Error,
    },
}

fn show(path: &RelPath) -> String {
    String::from_utf8_lossy(path.as_bytes()).into_owned()
}

/// An I/O failure about `what`, described only when it happens (every
/// record reads the target, and most reads succeed).
fn io_err<D: std::fmt::Display>(what: D) -> impl FnOnce(io::Error) -> InvertError {
    move |source| InvertError::Io {
        what: what.to_string(),
        source,
    }
}

/// An I/O failure about `path` (see [`io_err`]).
fn path_err(path: &RelPath) -> impl FnOnce(io::Error) -> InvertError + '_ {
    move |source| InvertError::Io {
        what: show(path),
        source,
    }
}

/// Whether `op` changes the namespace (creates, removes or moves names).
///
/// Namespace operations are not idempotent; the rewind engine records its
/// progress before each one so that a resumed rewind never repeats one blindly.
pub fn is_namespace(op: &Op) -> bool {
    matches!(
        op,
        Op::Create { .. }
            | Op::Delete { .. }
            | Op::Rename { .. }
            | Op::Mkdir { .. }
            | Op::Rmdir { .. }
            | Op::Symlink { .. }
            | Op::HardLink { .. }
            | Op::Mknod { .. }
    )
}

/// The records that undo `op`, in the order they must be applied, computed
/// from the target's state before `op` is applied.
///
/// Control records (bookmarks, transaction and sync markers, epochs) have an
/// empty inverse. An error means `op` cannot apply to the target as it is
/// (for example a write to a missing file): the record must not be applied.
///
/// ```
/// use rha_core::journal::{Op, RelPath};
/// use rha_core::rewind::{invert, ModelTree};
///
/// let mut tree = ModelTree::new();
/// let p = RelPath::new("f").unwrap();
/// tree.apply(&Op::Create { path: p.clone(), mode: 0o644 }).unwrap();
/// tree.apply(&Op::Write { path: p.clone(), offset: 0, data: "old".into() }).unwrap();
///
/// let write = Op::Write { path: p.clone(), offset: 1, data: "NEW".into() };
/// let undo = invert(&write, &mut tree).unwrap();
/// tree.apply(&write).unwrap();
/// for op in &undo {
///     tree.apply(op).unwrap();
/// }
/// assert_eq!(tree.file_data(&p).unwrap(), b"old");
/// ```
pub fn invert(op: &Op, pre: &mut dyn PreImage) -> Result<Vec<Op>, InvertError> {
    let mut out = Vec::new();
    match op {
        Op::Create { path, .. }
        | Op::Mkdir { path, .. }
        | Op::Symlink { path, .. }
        | Op::Mknod { path, .. } => {
            absent(pre, path)?;
            out.push(match op {
                Op::Mkdir { .. } => Op::Rmdir { path: path.clone() },
                _ => Op::Delete { path: path.clone() },
            });
        }
        Op::HardLink { existing, link } => {
            let m = present(pre, existing)?;
            want(existing, m, NodeKind::File, "file")?;
            absent(pre, link)?;
            out.push(Op::Delete { path: link.clone() });
        }
        Op::Write { path, offset, data } => {
            let m = present(pre, path)?;
            want(path, m, NodeKind::File, "file")?;
            let end = if data.is_empty() {
                (*offset).min(m.size)
            } else {
                offset.saturating_add(data.len() as u64)
            };
            if end > m.size {
                out.push(Op::SetLen {
                    path: path.clone(),
                    len: m.size,
                });
            }
            if *offset < m.size {
                restore_bytes(pre, path, *offset, end.min(m.size), &mut out)?;
            }
            out.push(times(path, m));
        }
        Op::SetLen { path, len } => {
            let m = present(pre, path)?;
            want(path, m, NodeKind::File, "file")?;
            if *len > m.size {
                out.push(Op::SetLen {
                    path: path.clone(),
                    len: m.size,
                });
            } else if *len < m.size {
                restore_bytes(pre, path, *len, m.size, &mut out)?;
            }
            out.push(times(path, m));
        }
        Op::Delete { path } => {
            let m = present(pre, path)?;
            if m.kind == NodeKind::Dir {
                return Err(InvertError::WrongKind {
                    path: show(path),
                    found: m.kind,
                    wanted: "non-directory",
                });
            }
            recreate(pre, path, m, &mut out)?;
        }
        Op::Rmdir { path } => {
            let m = present(pre, path)?;
            want(path, m, NodeKind::Dir, "directory")?;
            recreate(pre, path, m, &mut out)?;
        }
        Op::Rename { from, to } => {
            let mf = present(pre, from)?;
            let replaced = pre.stat(to).map_err(path_err(to))?;
            match replaced {
                _ if from == to => {}
                Some(mt)
                    if mt.kind == NodeKind::File
                        && mf.kind == NodeKind::File
                        && mt.ino == mf.ino =>
                {
                    // Two names of one file: rename does nothing.
                }
                Some(mt) => {
                    out.push(Op::Rename {
                        from: to.clone(),
                        to: from.clone(),
                    });
                    recreate(pre, to, mt, &mut out)?;
                }
                None => out.push(Op::Rename {
                    from: to.clone(),
                    to: from.clone(),
                }),
            }
        }
        Op::SetAttr { path, attrs } => {
            let m = present(pre, path)?;
            out.push(Op::SetAttr {
                path: path.clone(),
                attrs: Attrs {
                    mode: attrs.mode.map(|_| m.mode),
                    uid: attrs.uid.map(|_| m.uid),
                    gid: attrs.gid.map(|_| m.gid),
                    atime: attrs.atime.map(|_| m.atime),
                    mtime: attrs.mtime.map(|_| m.mtime),
                },
            });
        }
        Op::SetXattr { path, name, .. } | Op::RemoveXattr { path, name } => {
            present(pre, path)?;
            let old = pre.xattr(path, name).map_err(path_err(path))?;
            match (old, op) {
                (Some(value), _) => out.push(Op::SetXattr {
                    path: path.clone(),
                    name: name.clone(),
                    value,
                }),
                (None, Op::SetXattr { .. }) => out.push(Op::RemoveXattr {
                    path: path.clone(),
                    name: name.clone(),
                }),
                (None, _) => {
                    return Err(InvertError::NoXattr {
                        path: show(path),
                        name: String::from_utf8_lossy(name).into_owned(),
                    })
                }
            }
        }
        Op::ClearXattrs { path } => {
            present(pre, path)?;
            restore_xattrs(pre, path, &mut out)?;
        }
        Op::BlockWrite {
            volume,
            offset,
            data,
        } => restore_blocks(pre, *volume, *offset, data.len() as u64, &mut out)?,
        Op::Discard {
            volume,
            offset,
            len,
        } => restore_blocks(pre, *volume, *offset, *len, &mut out)?,
        _ => {}
    }
    Ok(out)
}

fn present(pre: &mut dyn PreImage, path: &RelPath) -> Result<NodeMeta, InvertError> {
    pre.stat(path)
        .map_err(path_err(path))?
        .ok_or_else(|| InvertError::Missing { path: show(path) })
}

fn absent(pre: &mut dyn PreImage, path: &RelPath) -> Result<(), InvertError> {
    match pre.stat(path).map_err(path_err(path))? {
        None => Ok(()),
        Some(_) => Err(InvertError::Exists { path: show(path) }),
    }
}

fn want(
    path: &RelPath,
    m: NodeMeta,
    kind: NodeKind,
    wanted: &'static str,
) -> Result<(), InvertError> {
    if m.kind == kind {
        Ok(())
    } else {
        Err(InvertError::WrongKind {
            path: show(path),
            found: m.kind,
            wanted,
        })
    }
}

fn times(path: &RelPath, m: NodeMeta) -> Op {
    Op::SetAttr {
        path: path.clone(),
        attrs: Attrs {
            mtime: Some(m.mtime),
            ..Attrs::default()
        },
    }
}

/// Writes that put back bytes `from..to` of `path` as they are now.
fn restore_bytes(
    pre: &mut dyn PreImage,
    path: &RelPath,
    from: u64,
    to: u64,
    out: &mut Vec<Op>,
) -> Result<(), InvertError> {
    let mut at = from;
    while at < to {
        let n = (to - at).min(INVERSE_CHUNK as u64);
        let data = pre.read(path, at, n).map_err(path_err(path))?;
        if data.len() as u64 != n {
            return Err(InvertError::Io {
                what: show(path),
                source: io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("file shrank while reading bytes {at}..{}", at + n),
                ),
            });
        }
        out.push(Op::Write {
            path: path.clone(),
            offset: at,
            data: data.into(),
        });
        at += n;
    }
    Ok(())
}

fn restore_blocks(
    pre: &mut dyn PreImage,
    volume: u32,
    offset: u64,
    len: u64,
    out: &mut Vec<Op>,
) -> Result<(), InvertError> {
    let what = format!("volume {volume}");
    let vlen = pre.volume_len(volume).map_err(io_err(&what))?;
    let end = offset.saturating_add(len);
    if end > vlen {
        return Err(InvertError::OutOfRange {
            volume,
            offset,
            end,
            len: vlen,
        });
    }
    let mut at = offset;
    while at < end {
        let n = (end - at).min(INVERSE_CHUNK as u64);
        let data = pre.volume_read(volume, at, n).map_err(io_err(&what))?;
        out.push(Op::BlockWrite {
            volume,
            offset: at,
            data: data.into(),
        });
        at += n;
    }
    Ok(())
}

/// The records that bring back the entry `m` at `path` after it is removed
/// (deleted, or replaced by a rename).
fn recreate(
    pre: &mut dyn PreImage,
    path: &RelPath,
    m: NodeMeta,
    out: &mut Vec<Op>,
) -> Result<(), InvertError> {
    let owner_and_times = Attrs {
        mode: None,
        uid: Some(m.uid),
        gid: Some(m.gid),
        atime: Some(m.atime),
        mtime: Some(m.mtime),
    };
    match m.kind {
        NodeKind::File if m.nlink > 1 => {
            let other =
                pre.other_link(path)
                    .map_err(path_err(path))?
                    .ok_or(InvertError::LinkOutside {
                        path: show(path),
                        nlink: m.nlink,
                    })?;
            // Another name of a file still there: nothing else to restore.
            out.push(Op::HardLink {
                existing: other,
                link: path.clone(),
            });
            return Ok(());
        }
        NodeKind::File => {
            out.push(Op::Create {
                path: path.clone(),
                mode: m.mode,
            });
            restore_bytes(pre, path, 0, m.size, out)?;
        }
        NodeKind::Dir => out.push(Op::Mkdir {
            path: path.clone(),
            mode: m.mode,
        }),
        NodeKind::Symlink => {
            let target = pre.read_link(path).map_err(path_err(path))?;
            out.push(Op::Symlink {
                path: path.clone(),
                target,
            });
        }
        NodeKind::Special { file_type, rdev } => out.push(Op::Mknod {
            path: path.clone(),
            mode: file_type | m.mode,
            rdev,
        }),
        NodeKind::Other => {
            return Err(InvertError::WrongKind {
                path: show(path),
                found: m.kind,
                wanted: "file, directory, symbolic link, FIFO or device node",
            })
        }
    }
    // Every node made again: its extended attributes, then its owner,
    // times and (but for a symlink) mode.
    restore_xattrs(pre, path, out)?;
    out.push(Op::SetAttr {
        path: path.clone(),
        attrs: Attrs {
            mode: (!matches!(m.kind, NodeKind::Symlink)).then_some(m.mode),
            ..owner_and_times
        },
    });
    Ok(())
}

fn restore_xattrs(
    pre: &mut dyn PreImage,
    path: &RelPath,
    out: &mut Vec<Op>,
) -> Result<(), InvertError> {
    for (name, value) in pre.xattrs(path).map_err(path_err(path))? {
        out.push(Op::SetXattr {
            path: path.clone(),
            name,
            value,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rewind::ModelTree;

    /// A tree whose file reads fail.
    struct Unreadable(ModelTree);

    impl PreImage for Unreadable {
        fn stat(&mut self, p: &RelPath) -> io::Result<Option<NodeMeta>> {
            self.0.stat(p)
        }
        fn read(&mut self, _: &RelPath, _: u64, _: u64) -> io::Result<Vec<u8>> {
            Err(io::Error::other("disk on fire"))
        }
        fn read_link(&mut self, p: &RelPath) -> io::Result<Bytes> {
            self.0.read_link(p)
        }
        fn xattr(&mut self, p: &RelPath, n: &[u8]) -> io::Result<Option<Bytes>> {
            self.0.xattr(p, n)
        }
        fn xattrs(&mut self, p: &RelPath) -> io::Result<Vec<(Bytes, Bytes)>> {
            self.0.xattrs(p)
        }
        fn other_link(&mut self, p: &RelPath) -> io::Result<Option<RelPath>> {
            self.0.other_link(p)
        }
        fn volume_len(&mut self, v: u32) -> io::Result<u64> {
            self.0.volume_len(v)
        }
        fn volume_read(&mut self, v: u32, o: u64, l: u64) -> io::Result<Vec<u8>> {
            self.0.volume_read(v, o, l)
        }
    }

    /// Applies `op` to `tree` after computing its inverse, then the
    /// inverse, and checks the tree is as before.
    fn round_trip(tree: &mut ModelTree, op: &Op) -> Vec<Op> {
        let before = tree.snapshot();
        let undo = invert(op, tree).unwrap();
        tree.apply(op).unwrap();
        assert_ne!(tree.snapshot(), before, "{op:?} changed nothing");
        for u in &undo {
            tree.apply(u).unwrap();
        }
        assert_eq!(tree.snapshot(), before, "{op:?} then {undo:?}");
        undo
    }

    #[test]
    fn a_node_made_or_removed_and_cleared_xattrs_are_undone() {
        let mut tree = ModelTree::new();
        let node = RelPath::new("null").unwrap();
        let mknod = Op::Mknod {
            path: node.clone(),
            mode: crate::journal::MODE_CHAR_DEVICE | 0o620,
            rdev: 0x0103,
        };
        let undo = round_trip(&mut tree, &mknod);
        assert_eq!(undo, [Op::Delete { path: node.clone() }]);
        tree.apply(&mknod).unwrap();
        for op in [
            Op::SetXattr {
                path: node.clone(),
                name: "user.a".into(),
                value: "1".into(),
            },
            Op::SetAttr {
                path: node.clone(),
                attrs: Attrs {
                    uid: Some(7),
                    mtime: Some(99),
                    ..Attrs::default()
                },
            },
        ] {
            tree.apply(&op).unwrap();
        }
        let undo = round_trip(&mut tree, &Op::ClearXattrs { path: node.clone() });
        assert_eq!(undo.len(), 1, "{undo:?}");
        let undo = round_trip(&mut tree, &Op::Delete { path: node.clone() });
        assert_eq!(undo[0], mknod);
    }

    #[test]
    fn a_failed_read_names_the_path_it_was_reading() {
        let path = RelPath::new("dir/f").unwrap();
        let mut tree = ModelTree::new();
        for op in [
            Op::Mkdir {
                path: RelPath::new("dir").unwrap(),
                mode: 0o755,
            },
            Op::Create {
                path: path.clone(),
                mode: 0o644,
            },
            Op::Write {
                path: path.clone(),
                offset: 0,
                data: "old".into(),
            },
        ] {
            crate::rewind::Target::apply(&mut tree, &op).unwrap();
        }
        let write = Op::Write {
            path,
            offset: 1,
            data: "new".into(),
        };
        let err = invert(&write, &mut Unreadable(tree)).unwrap_err();
        assert!(matches!(err, InvertError::Io { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            "reading the pre-image of 'dir/f' failed: disk on fire"
        );
    }
}
