//! An in-memory file tree and volume set: the reference model that the
//! rewind properties are checked against.

use std::collections::BTreeMap;
use std::io;

use bytes::Bytes;

use super::invert::{NodeKind, NodeMeta, PreImage};
use super::target::Target;
use crate::journal::{FileTime, Op, RelPath};

/// The largest file or volume the model holds, in bytes: operations that
/// would grow one past it fail, so hostile input cannot exhaust memory.
pub const MODEL_MAX_LEN: u64 = 16 << 20;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Meta {
    mode: u32,
    uid: u32,
    gid: u32,
    atime: FileTime,
    mtime: FileTime,
    xattrs: BTreeMap<Bytes, Bytes>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    File(u64),
    Dir(Meta),
    Symlink(Bytes, Meta),
    /// A FIFO or device node: its file type bits and device number.
    Special(u32, u64, Meta),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Inode {
    data: Vec<u8>,
    meta: Meta,
    nlink: u64,
}

/// One entry of a [`ModelTree::snapshot`]: everything rewind must restore.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SnapshotNode {
    /// A regular file.
    File {
        /// Contents.
        data: Vec<u8>,
        /// Permission bits.
        mode: u32,
        /// Owner and times.
        owner_times: (u32, u32, FileTime, FileTime),
        /// Extended attributes.
        xattrs: Vec<(Bytes, Bytes)>,
        /// The smallest path naming the same file (itself if it has one name).
        link_group: Vec<u8>,
    },
    /// A directory.
    Dir {
        /// Permission bits.
        mode: u32,
        /// Owner and times.
        owner_times: (u32, u32, FileTime, FileTime),
        /// Extended attributes.
        xattrs: Vec<(Bytes, Bytes)>,
    },
    /// A symbolic link.
    Symlink {
        /// Its target.
        target: Bytes,
        /// Owner and times.
        owner_times: (u32, u32, FileTime, FileTime),
    },
    /// A FIFO or device node.
    Special {
        /// File type and permission bits.
        mode: u32,
        /// Device number.
        rdev: u64,
        /// Owner and times.
        owner_times: (u32, u32, FileTime, FileTime),
        /// Extended attributes.
        xattrs: Vec<(Bytes, Bytes)>,
    },
}

/// A comparable picture of a [`ModelTree`], independent of inode numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Every entry by path.
    pub entries: BTreeMap<Vec<u8>, SnapshotNode>,
    /// Every volume's bytes.
    pub volumes: BTreeMap<u32, Vec<u8>>,
}

/// An in-memory directory tree plus volumes that applies journal operations
/// with POSIX semantics and answers pre-image queries.
///
/// It is the reference the rewind engine is tested against: applying records
/// with rewind on and then rewinding to point k must give exactly the
/// [`snapshot`](Self::snapshot) taken after record k.
#[derive(Debug, Clone, Default)]
pub struct ModelTree {
    entries: BTreeMap<Vec<u8>, Node>,
    inodes: BTreeMap<u64, Inode>,
    next_ino: u64,
    volumes: BTreeMap<u32, Vec<u8>>,
}

fn err(kind: io::ErrorKind, path: &[u8], what: &str) -> io::Error {
    io::Error::new(kind, format!("'{}': {what}", String::from_utf8_lossy(path)))
}

fn parent(path: &[u8]) -> Option<&[u8]> {
    path.iter().rposition(|&b| b == b'/').map(|i| &path[..i])
}

fn under(path: &[u8], dir: &[u8]) -> bool {
    path.len() > dir.len() && path.starts_with(dir) && path[dir.len()] == b'/'
}

fn times_of(m: &Meta) -> (u32, u32, FileTime, FileTime) {
    (m.uid, m.gid, m.atime, m.mtime)
}

impl ModelTree {
    /// An empty tree with no volumes.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) volume `index`, `len` zero bytes long (at most
    /// [`MODEL_MAX_LEN`]).
    pub fn add_volume(&mut self, index: u32, len: u64) {
        self.volumes
            .insert(index, vec![0; len.min(MODEL_MAX_LEN) as usize]);
    }

    /// The contents of the file at `path`, if it is a file.
    pub fn file_data(&self, path: &RelPath) -> Option<&[u8]> {
        match self.entries.get(path.as_bytes()) {
            Some(Node::File(ino)) => self.inodes.get(ino).map(|i| &i.data[..]),
            _ => None,
        }
    }

    /// A picture of the whole tree for comparisons.
    pub fn snapshot(&self) -> Snapshot {
        let mut first_name: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
        for (p, n) in &self.entries {
            if let Node::File(ino) = n {
                first_name.entry(*ino).or_insert_with(|| p.clone());
            }
        }
        let entries = self
            .entries
            .iter()
            .filter_map(|(p, n)| {
                let s = match n {
                    Node::File(ino) => {
                        let i = self.inodes.get(ino)?;
                        SnapshotNode::File {
                            data: i.data.clone(),
                            mode: i.meta.mode,
                            owner_times: times_of(&i.meta),
                            xattrs: i.meta.xattrs.clone().into_iter().collect(),
                            link_group: first_name.get(ino).cloned().unwrap_or_default(),
                        }
                    }
                    Node::Dir(m) => SnapshotNode::Dir {
                        mode: m.mode,
                        owner_times: times_of(m),
                        xattrs: m.xattrs.clone().into_iter().collect(),
                    },
                    Node::Symlink(t, m) => SnapshotNode::Symlink {
                        target: t.clone(),
                        owner_times: times_of(m),
                    },
                    Node::Special(kind, rdev, m) => SnapshotNode::Special {
                        mode: kind | m.mode,
                        rdev: *rdev,
                        owner_times: times_of(m),
                        xattrs: m.xattrs.clone().into_iter().collect(),
                    },
                };
                Some((p.clone(), s))
            })
            .collect();
        Snapshot {
            entries,
            volumes: self.volumes.clone(),
        }
    }

    fn need_parent(&self, path: &[u8]) -> io::Result<()> {
        match parent(path) {
            None => Ok(()),
            Some(p) => match self.entries.get(p) {
                Some(Node::Dir(_)) => Ok(()),
                Some(_) => Err(err(io::ErrorKind::NotADirectory, p, "not a directory")),
                None => Err(err(io::ErrorKind::NotFound, p, "no such directory")),
            },
        }
    }

    fn need_absent(&self, path: &[u8]) -> io::Result<()> {
        self.need_parent(path)?;
        if self.entries.contains_key(path) {
            return Err(err(io::ErrorKind::AlreadyExists, path, "already exists"));
        }
        Ok(())
    }

    fn node(&self, path: &[u8]) -> io::Result<&Node> {
        self.entries
            .get(path)
            .ok_or_else(|| err(io::ErrorKind::NotFound, path, "does not exist"))
    }

    fn file_mut(&mut self, path: &[u8]) -> io::Result<&mut Inode> {
        match self.node(path)? {
            Node::File(ino) => {
                let ino = *ino;
                self.inodes
                    .get_mut(&ino)
                    .ok_or_else(|| err(io::ErrorKind::Other, path, "dangling inode"))
            }
            _ => Err(err(io::ErrorKind::InvalidInput, path, "not a regular file")),
        }
    }

    fn meta_mut(&mut self, path: &[u8]) -> io::Result<&mut Meta> {
        match self.entries.get(path) {
            Some(Node::File(_)) => Ok(&mut self.file_mut(path)?.meta),
            Some(Node::Dir(m)) | Some(Node::Symlink(_, m)) | Some(Node::Special(_, _, m)) => {
                // Re-borrow mutably: the immutable look-up above only chose the arm.
                let _ = m;
                match self.entries.get_mut(path) {
                    Some(Node::Dir(m))
                    | Some(Node::Symlink(_, m))
                    | Some(Node::Special(_, _, m)) => Ok(m),
                    _ => Err(err(io::ErrorKind::Other, path, "entry vanished")),
                }
            }
            None => Err(err(io::ErrorKind::NotFound, path, "does not exist")),
        }
    }

    fn unlink(&mut self, path: &[u8]) {
        if let Some(Node::File(ino)) = self.entries.remove(path) {
            if let Some(i) = self.inodes.get_mut(&ino) {
                i.nlink -= 1;
                if i.nlink == 0 {
                    self.inodes.remove(&ino);
                }
            }
        }
    }

    fn is_empty_dir(&self, path: &[u8]) -> bool {
        let mut key = path.to_vec();
        key.push(b'/');
        !self
            .entries
            .range(key..)
            .next()
            .is_some_and(|(k, _)| under(k, path))
    }

    fn rename(&mut self, from: &[u8], to: &[u8]) -> io::Result<()> {
        let src = self.node(from)?.clone();
        self.need_parent(to)?;
        if from == to {
            return Ok(());
        }
        let src_dir = matches!(src, Node::Dir(_));
        if src_dir && under(to, from) {
            return Err(err(
                io::ErrorKind::InvalidInput,
                to,
                "inside the directory being renamed",
            ));
        }
        match self.entries.get(to) {
            Some(Node::File(a)) if matches!(src, Node::File(b) if b == *a) => return Ok(()),
            Some(Node::Dir(_)) if !src_dir => {
                return Err(err(io::ErrorKind::IsADirectory, to, "is a directory"))
            }
            Some(Node::Dir(_)) if !self.is_empty_dir(to) => {
                return Err(err(
                    io::ErrorKind::DirectoryNotEmpty,
                    to,
                    "directory not empty",
                ))
            }
            Some(Node::File(_)) | Some(Node::Symlink(..)) if src_dir => {
                return Err(err(io::ErrorKind::NotADirectory, to, "not a directory"))
            }
            _ => {}
        }
        self.unlink(to);
        self.entries.remove(to);
        let node = self.entries.remove(from).unwrap_or(src);
        self.entries.insert(to.to_vec(), node);
        if src_dir {
            let mut key = from.to_vec();
            key.push(b'/');
            let moved: Vec<Vec<u8>> = self
                .entries
                .range(key..)
                .take_while(|(k, _)| under(k, from))
                .map(|(k, _)| k.clone())
                .collect();
            for k in moved {
                if let Some(n) = self.entries.remove(&k) {
                    let mut nk = to.to_vec();
                    nk.extend_from_slice(&k[from.len()..]);
                    self.entries.insert(nk, n);
                }
            }
        }
        Ok(())
    }

    fn resize(data: &mut Vec<u8>, len: u64, path: &[u8]) -> io::Result<()> {
        if len > MODEL_MAX_LEN {
            return Err(err(
                io::ErrorKind::InvalidInput,
                path,
                "longer than the model allows",
            ));
        }
        data.resize(len as usize, 0);
        Ok(())
    }

    fn volume(&mut self, volume: u32, offset: u64, len: u64) -> io::Result<&mut [u8]> {
        let v = self.volumes.get_mut(&volume).ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, format!("no volume {volume}"))
        })?;
        let end = offset
            .checked_add(len)
            .filter(|&e| e <= v.len() as u64)
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("volume {volume}: bytes {offset}+{len} past its end"),
                )
            })?;
        Ok(&mut v[offset as usize..end as usize])
    }

    /// Applies one operation, failing (and changing nothing) where POSIX would.
    pub fn apply(&mut self, op: &Op) -> io::Result<()> {
        match op {
            Op::Create { path, mode } => {
                let p = path.as_bytes();
                self.need_absent(p)?;
                self.next_ino += 1;
                let ino = self.next_ino;
                let meta = Meta {
                    mode: mode & 0o7777,
                    ..Meta::default()
                };
                self.inodes.insert(
                    ino,
                    Inode {
                        data: Vec::new(),
                        meta,
                        nlink: 1,
                    },
                );
                self.entries.insert(p.to_vec(), Node::File(ino));
            }
            Op::Write { path, offset, data } => {
                let p = path.as_bytes();
                let end = offset
                    .checked_add(data.len() as u64)
                    .ok_or_else(|| err(io::ErrorKind::InvalidInput, p, "offset overflows"))?;
                let f = self.file_mut(p)?;
                if data.is_empty() {
                    return Ok(());
                }
                if end > f.data.len() as u64 {
                    Self::resize(&mut f.data, end, p)?;
                }
                f.data[*offset as usize..end as usize].copy_from_slice(data);
            }
            Op::SetLen { path, len } => {
                let p = path.as_bytes();
                let f = self.file_mut(p)?;
                Self::resize(&mut f.data, *len, p)?;
            }
            Op::Delete { path } => {
                let p = path.as_bytes();
                if let Node::Dir(_) = self.node(p)? {
                    return Err(err(io::ErrorKind::IsADirectory, p, "is a directory"));
                }
                self.unlink(p);
                self.entries.remove(p);
            }
            Op::Rename { from, to } => self.rename(from.as_bytes(), to.as_bytes())?,
            Op::Mkdir { path, mode } => {
                let p = path.as_bytes();
                self.need_absent(p)?;
                let meta = Meta {
                    mode: mode & 0o7777,
                    ..Meta::default()
                };
                self.entries.insert(p.to_vec(), Node::Dir(meta));
            }
            Op::Rmdir { path } => {
                let p = path.as_bytes();
                match self.node(p)? {
                    Node::Dir(_) if self.is_empty_dir(p) => {
                        self.entries.remove(p);
                    }
                    Node::Dir(_) => {
                        return Err(err(
                            io::ErrorKind::DirectoryNotEmpty,
                            p,
                            "directory not empty",
                        ))
                    }
                    _ => return Err(err(io::ErrorKind::NotADirectory, p, "not a directory")),
                }
            }
            Op::Symlink { path, target } => {
                let p = path.as_bytes();
                self.need_absent(p)?;
                self.entries
                    .insert(p.to_vec(), Node::Symlink(target.clone(), Meta::default()));
            }
            Op::Mknod { path, mode, rdev } => {
                let p = path.as_bytes();
                self.need_absent(p)?;
                if !crate::journal::is_mknod_mode(*mode) {
                    return Err(err(
                        io::ErrorKind::InvalidInput,
                        p,
                        "not a node mknod makes",
                    ));
                }
                let meta = Meta {
                    mode: mode & 0o7777,
                    ..Meta::default()
                };
                let kind = mode & crate::journal::MODE_TYPE_MASK;
                self.entries
                    .insert(p.to_vec(), Node::Special(kind, *rdev, meta));
            }
            Op::HardLink { existing, link } => {
                let e = existing.as_bytes();
                let ino = match self.node(e)? {
                    Node::File(ino) => *ino,
                    _ => return Err(err(io::ErrorKind::InvalidInput, e, "not a regular file")),
                };
                self.need_absent(link.as_bytes())?;
                if let Some(i) = self.inodes.get_mut(&ino) {
                    i.nlink += 1;
                }
                self.entries
                    .insert(link.as_bytes().to_vec(), Node::File(ino));
            }
            Op::SetAttr { path, attrs } => {
                let m = self.meta_mut(path.as_bytes())?;
                if let Some(v) = attrs.mode {
                    m.mode = v & 0o7777;
                }
                if let Some(v) = attrs.uid {
                    m.uid = v;
                }
                if let Some(v) = attrs.gid {
                    m.gid = v;
                }
                if let Some(v) = attrs.atime {
                    m.atime = v;
                }
                if let Some(v) = attrs.mtime {
                    m.mtime = v;
                }
            }
            Op::SetXattr { path, name, value } => {
                let m = self.meta_mut(path.as_bytes())?;
                m.xattrs.insert(name.clone(), value.clone());
            }
            Op::RemoveXattr { path, name } => {
                let p = path.as_bytes();
                let m = self.meta_mut(p)?;
                if m.xattrs.remove(name).is_none() {
                    return Err(err(
                        io::ErrorKind::NotFound,
                        p,
                        "no such extended attribute",
                    ));
                }
            }
            Op::ClearXattrs { path } => self.meta_mut(path.as_bytes())?.xattrs.clear(),
            Op::BlockWrite {
                volume,
                offset,
                data,
            } => self
                .volume(*volume, *offset, data.len() as u64)?
                .copy_from_slice(data),
            Op::Discard {
                volume,
                offset,
                len,
            } => self.volume(*volume, *offset, *len)?.fill(0),
            _ => {}
        }
        Ok(())
    }
}

impl PartialEq for ModelTree {
    fn eq(&self, other: &Self) -> bool {
        self.snapshot() == other.snapshot()
    }
}

impl PreImage for ModelTree {
    fn stat(&mut self, path: &RelPath) -> io::Result<Option<NodeMeta>> {
        let p = path.as_bytes();
        let Some(n) = self.entries.get(p) else {
            return Ok(None);
        };
        let (kind, m, size, nlink, ino) = match n {
            Node::File(ino) => {
                let i = self
                    .inodes
                    .get(ino)
                    .ok_or_else(|| err(io::ErrorKind::Other, p, "dangling inode"))?;
                (NodeKind::File, &i.meta, i.data.len() as u64, i.nlink, *ino)
            }
            Node::Dir(m) => (NodeKind::Dir, m, 0, 2, 0),
            Node::Symlink(_, m) => (NodeKind::Symlink, m, 0, 1, 0),
            Node::Special(file_type, rdev, m) => (
                NodeKind::Special {
                    file_type: *file_type,
                    rdev: *rdev,
                },
                m,
                0,
                1,
                0,
            ),
        };
        Ok(Some(NodeMeta {
            kind,
            mode: m.mode,
            uid: m.uid,
            gid: m.gid,
            size,
            atime: m.atime,
            mtime: m.mtime,
            nlink,
            ino,
        }))
    }

    fn read(&mut self, path: &RelPath, offset: u64, len: u64) -> io::Result<Vec<u8>> {
        let data = &self.file_mut(path.as_bytes())?.data;
        let start = (offset.min(data.len() as u64)) as usize;
        let end = (offset.saturating_add(len).min(data.len() as u64)) as usize;
        Ok(data[start..end].to_vec())
    }

    fn read_link(&mut self, path: &RelPath) -> io::Result<Bytes> {
        match self.node(path.as_bytes())? {
            Node::Symlink(t, _) => Ok(t.clone()),
            _ => Err(err(
                io::ErrorKind::InvalidInput,
                path.as_bytes(),
                "not a symbolic link",
            )),
        }
    }

    fn xattr(&mut self, path: &RelPath, name: &[u8]) -> io::Result<Option<Bytes>> {
        Ok(self.meta_mut(path.as_bytes())?.xattrs.get(name).cloned())
    }

    fn xattrs(&mut self, path: &RelPath) -> io::Result<Vec<(Bytes, Bytes)>> {
        Ok(self
            .meta_mut(path.as_bytes())?
            .xattrs
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    fn other_link(&mut self, path: &RelPath) -> io::Result<Option<RelPath>> {
        let p = path.as_bytes();
        let Node::File(ino) = self.node(p)? else {
            return Ok(None);
        };
        let ino = *ino;
        for (k, n) in &self.entries {
            if k[..] != *p && matches!(n, Node::File(i) if *i == ino) {
                return RelPath::new(k.clone())
                    .map(Some)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e));
            }
        }
        Ok(None)
    }

    fn volume_len(&mut self, volume: u32) -> io::Result<u64> {
        self.volumes
            .get(&volume)
            .map(|v| v.len() as u64)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("no volume {volume}")))
    }

    fn volume_read(&mut self, volume: u32, offset: u64, len: u64) -> io::Result<Vec<u8>> {
        Ok(self.volume(volume, offset, len)?.to_vec())
    }
}

impl Target for ModelTree {
    fn apply(&mut self, op: &Op) -> io::Result<()> {
        ModelTree::apply(self, op)
    }

    fn sync(&mut self) -> io::Result<()> {
        Ok(())
    }
}
