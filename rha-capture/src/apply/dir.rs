//! Applying journal records to a real directory tree and to volume files,
//! with every path resolved beneath the root.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use rha_core::journal::{
    Attrs, FileTime, Op, RelPath, MODE_BLOCK_DEVICE, MODE_CHAR_DEVICE, MODE_FIFO,
};
use rha_core::rewind::{NodeKind, NodeMeta, PreImage, Target};
use rustix::fs::{self as rfs, AtFlags, Mode, OFlags, ResolveFlags, Timespec, Timestamps};

use crate::sync::xattr::XattrScope;

/// Resolution rules for every path under the root: stay beneath it, follow
/// no symbolic link (nor `/proc` magic link) anywhere on the way.
const RESOLVE: ResolveFlags = ResolveFlags::BENEATH
    .union(ResolveFlags::NO_SYMLINKS)
    .union(ResolveFlags::NO_MAGICLINKS);

/// Set once `openat2` turned out to be unavailable (old kernels, valgrind).
static NO_OPENAT2: AtomicBool = AtomicBool::new(false);

/// Opens `path` beneath `root` with `flags`, following no symbolic link on
/// the way or at the end: `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)`,
/// or, where the kernel lacks it, one `openat(O_NOFOLLOW)` per component (a
/// [`RelPath`] has no `..` component, so this walk cannot leave the root).
fn beneath(root: BorrowedFd<'_>, path: &[u8], flags: OFlags) -> rustix::io::Result<OwnedFd> {
    if !NO_OPENAT2.load(Ordering::Relaxed) {
        match rfs::openat2(root, path, flags, Mode::empty(), RESOLVE) {
            Err(rustix::io::Errno::NOSYS) => NO_OPENAT2.store(true, Ordering::Relaxed),
            other => return other,
        }
    }
    let mut parts = path.split(|&b| b == b'/').peekable();
    let mut dir: Option<OwnedFd> = None;
    while let Some(part) = parts.next() {
        let at = dir.as_ref().map_or(root, |d| d.as_fd());
        let last = parts.peek().is_none();
        let f = if last {
            flags | OFlags::NOFOLLOW
        } else {
            OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC
        };
        match rfs::openat(at, part, f, Mode::empty()) {
            Ok(fd) if last => return Ok(fd),
            Ok(fd) => dir = Some(fd),
            Err(e) => {
                // A symlink where a directory or file is expected: report it
                // as openat2 would.
                let link = rfs::statat(at, part, AtFlags::SYMLINK_NOFOLLOW)
                    .is_ok_and(|st| st.st_mode & 0o170000 == 0o120000);
                return Err(if link { rustix::io::Errno::LOOP } else { e });
            }
        }
    }
    Err(rustix::io::Errno::INVAL)
}

/// Open regular files kept for reuse (writes to the same file in a row).
const FILE_CACHE: usize = 64;

/// Writes of at least this many bytes start their write-back at once
/// under [`DirTarget::set_write_behind`].
const WRITE_BEHIND_MIN: usize = 256 << 10;

/// A replica directory (and optionally volumes) as a rewind [`Target`].
///
/// Every path of a record is resolved with `openat2(RESOLVE_BENEATH |
/// RESOLVE_NO_SYMLINKS)` from a descriptor of the root, and final components
/// are acted on with `*at` calls that do not follow symbolic links, so
/// neither a symlink planted in the tree nor a component swapped while
/// applying can make a change land outside the root. Such a record fails
/// with an error naming the path, and nothing is written.
#[derive(Debug)]
pub struct DirTarget {
    root: Option<OwnedFd>,
    root_path: PathBuf,
    reserved: Option<Vec<u8>>,
    files: HashMap<Vec<u8>, OwnedFd>,
    volumes: BTreeMap<u32, File>,
    /// Start writing data back to the disk as soon as it is written.
    write_behind: bool,
}

fn ctx(path: &[u8], e: io::Error) -> io::Error {
    let shown = String::from_utf8_lossy(path);
    match e.raw_os_error() {
        Some(code) if code == libc_eloop() || code == libc_exdev() => io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "'{shown}': refused: the path crosses a symbolic link or leaves the replica root"
            ),
        ),
        _ => io::Error::new(e.kind(), format!("'{shown}': {e}")),
    }
}

fn libc_eloop() -> i32 {
    rustix::io::Errno::LOOP.raw_os_error()
}

fn libc_exdev() -> i32 {
    rustix::io::Errno::XDEV.raw_os_error()
}

fn split(path: &[u8]) -> (Option<&[u8]>, &[u8]) {
    match path.iter().rposition(|&b| b == b'/') {
        Some(i) => (Some(&path[..i]), &path[i + 1..]),
        None => (None, path),
    }
}

fn to_time(sec: i64, nsec: i64) -> FileTime {
    sec.saturating_mul(1_000_000_000).saturating_add(nsec)
}

fn spec(t: Option<FileTime>) -> Timespec {
    match t {
        Some(t) => Timespec {
            tv_sec: t.div_euclid(1_000_000_000),
            tv_nsec: t.rem_euclid(1_000_000_000) as _,
        },
        None => Timespec {
            tv_sec: 0,
            tv_nsec: rfs::UTIME_OMIT,
        },
    }
}

// The stat field types differ between architectures; the casts are no-ops on some.
#[allow(clippy::unnecessary_cast)]
fn meta_of(st: &rfs::Stat) -> NodeMeta {
    let fmt = st.st_mode & 0o170000;
    let kind = match fmt {
        0o100000 => NodeKind::File,
        0o040000 => NodeKind::Dir,
        0o120000 => NodeKind::Symlink,
        MODE_FIFO | MODE_CHAR_DEVICE | MODE_BLOCK_DEVICE => NodeKind::Special {
            file_type: fmt,
            rdev: st.st_rdev,
        },
        _ => NodeKind::Other,
    };
    NodeMeta {
        kind,
        mode: st.st_mode & 0o7777,
        uid: st.st_uid,
        gid: st.st_gid,
        size: if kind == NodeKind::File {
            st.st_size as u64
        } else {
            0
        },
        atime: to_time(st.st_atime as i64, st.st_atime_nsec as i64),
        mtime: to_time(st.st_mtime as i64, st.st_mtime_nsec as i64),
        nlink: st.st_nlink as u64,
        ino: st.st_ino as u64,
    }
}

/// A directory descriptor: the root itself, or one opened beneath it.
enum Dir<'a> {
    Root(BorrowedFd<'a>),
    Opened(OwnedFd),
}

impl AsFd for Dir<'_> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            Dir::Root(fd) => *fd,
            Dir::Opened(fd) => fd.as_fd(),
        }
    }
}

impl DirTarget {
    /// A target for the directory `root` (which must exist). Records naming
    /// `reserved` as their first component (the replica's spool directory,
    /// when it lives inside the root) are refused.
    pub fn open(root: impl AsRef<Path>, reserved: Option<&str>) -> io::Result<Self> {
        let root_path = root.as_ref().to_path_buf();
        let fd = rfs::open(
            &root_path,
            OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| {
            io::Error::new(
                io::Error::from(e).kind(),
                format!("replica root '{}': {e}", root_path.display()),
            )
        })?;
        Ok(Self {
            root: Some(fd),
            root_path,
            reserved: reserved.map(|r| r.as_bytes().to_vec()),
            files: HashMap::new(),
            volumes: BTreeMap::new(),
            write_behind: false,
        })
    }

    /// A target with volumes only (file records fail).
    pub fn volumes_only() -> Self {
        Self {
            root: None,
            root_path: PathBuf::new(),
            reserved: None,
            files: HashMap::new(),
            volumes: BTreeMap::new(),
            write_behind: false,
        }
    }

    /// Attaches volume `index`: a regular file or a block device, opened
    /// for reading and writing. Block records beyond its end fail.
    pub fn add_volume(&mut self, index: u32, path: impl AsRef<Path>) -> io::Result<()> {
        let path = path.as_ref();
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("volume {index} '{}': {e}", path.display()),
                )
            })?;
        self.volumes.insert(index, f);
        Ok(())
    }

    fn root(&self) -> io::Result<BorrowedFd<'_>> {
        self.root.as_ref().map(|f| f.as_fd()).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::Unsupported,
                "no replica directory: volumes only",
            )
        })
    }

    fn check(&self, path: &RelPath) -> io::Result<()> {
        if let Some(r) = &self.reserved {
            if path.components().next() == Some(&r[..]) {
                return Err(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    format!(
                        "'{path}': refused: inside the replica's spool directory '{}'",
                        String::from_utf8_lossy(r)
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The directory holding `path`'s last component, resolved beneath the root.
    fn parent(&self, path: &RelPath) -> io::Result<(Dir<'_>, Vec<u8>)> {
        self.check(path)?;
        let root = self.root()?;
        let (parent, name) = split(path.as_bytes());
        let dir = match parent {
            None => Dir::Root(root),
            Some(p) => Dir::Opened(
                beneath(root, p, OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC)
                    .map_err(|e| ctx(path.as_bytes(), e.into()))?,
            ),
        };
        Ok((dir, name.to_vec()))
    }

    /// Opens `path` (no symlink anywhere) with `flags`.
    fn open_at(&self, path: &RelPath, flags: OFlags) -> io::Result<OwnedFd> {
        self.check(path)?;
        beneath(self.root()?, path.as_bytes(), flags | OFlags::CLOEXEC)
            .map_err(|e| ctx(path.as_bytes(), e.into()))
    }

    /// The regular file at `path`, opened for reading and writing (cached).
    fn file(&mut self, path: &RelPath) -> io::Result<BorrowedFd<'_>> {
        let key = path.as_bytes();
        if !self.files.contains_key(key) {
            let fd = self.open_at(path, OFlags::RDWR)?;
            let st = rfs::fstat(&fd).map_err(|e| ctx(key, e.into()))?;
            if st.st_mode & 0o170000 != 0o100000 {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("'{path}': not a regular file"),
                ));
            }
            if self.files.len() >= FILE_CACHE {
                self.files.clear();
            }
            self.files.insert(key.to_vec(), fd);
        }
        self.files
            .get(key)
            .map(|f| f.as_fd())
            .ok_or_else(|| io::Error::other("file cache lost an entry"))
    }

    /// Starts writing the data of each large write (256 KiB or more) back
    /// to the disk at once, without waiting for it
    /// (`sync_file_range(SYNC_FILE_RANGE_WRITE)`), for a target that writes
    /// much new data, as a sync's: the disk stays busy from the start
    /// instead of the page cache filling until the kernel throttles the
    /// writer, and the final sync finds little left to do. Small writes
    /// (small files) are left to the kernel, which gathers them better.
    /// Durability still comes from [`Target::sync`].
    pub fn set_write_behind(&mut self, on: bool) {
        self.write_behind = on;
    }

    /// Closes every cached file: something else (a sync) changed the tree,
    /// and a cached descriptor may lead to a file no longer at its name.
    pub fn close_files(&mut self) {
        self.files.clear();
    }

    /// Closes the cached files at `path` and beneath it: a rename or a
    /// removal changes what those names lead to. Other files stay open.
    fn forget(&mut self, path: &RelPath) {
        let p = path.as_bytes();
        self.files.retain(|k, _| {
            !(k.starts_with(p) && (k.len() == p.len() || k.get(p.len()) == Some(&b'/')))
        });
    }

    /// A path naming the entry itself (for the `l*xattr` calls, which do not
    /// follow a final symlink): the parent's descriptor under /proc.
    fn xattr_path(&self, path: &RelPath) -> io::Result<(Dir<'_>, PathBuf)> {
        let (dir, name) = self.parent(path)?;
        let mut p = PathBuf::from(format!("/proc/self/fd/{}", dir.as_fd().as_raw_fd()));
        p.push(std::ffi::OsStr::from_bytes_compat(&name));
        Ok((dir, p))
    }

    /// Removes every extended attribute of `path` that this process
    /// manages ([`XattrScope::current`]); others (`system.*`, the host's own
    /// `security.selinux` label) stay.
    fn clear_xattrs(&mut self, path: &RelPath) -> io::Result<()> {
        let scope = XattrScope::current();
        let (_dir, p) = self.xattr_path(path)?;
        let e = |err: rustix::io::Errno| ctx(path.as_bytes(), err.into());
        let names = crate::sync::xattr::list(&p).map_err(|err| ctx(path.as_bytes(), err))?;
        for name in names
            .split(|&b| b == 0)
            .filter(|n| !n.is_empty() && scope.includes(n))
        {
            match rfs::lremovexattr(&p, name) {
                Ok(()) | Err(rustix::io::Errno::NODATA) => {}
                Err(err) => return Err(e(err)),
            }
        }
        Ok(())
    }

    fn volume(&self, index: u32) -> io::Result<&File> {
        self.volumes.get(&index).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("no volume {index} attached"),
            )
        })
    }

    fn set_attr(&mut self, path: &RelPath, a: &Attrs) -> io::Result<()> {
        let key = path.as_bytes().to_vec();
        let (dir, name) = self.parent(path)?;
        let st = rfs::statat(&dir, &name[..], AtFlags::SYMLINK_NOFOLLOW)
            .map_err(|e| ctx(&key, e.into()))?;
        let e = |err: rustix::io::Errno| ctx(&key, err.into());
        if a.uid.is_some() || a.gid.is_some() {
            rfs::chownat(
                &dir,
                &name[..],
                a.uid.map(rfs::Uid::from_raw),
                a.gid.map(rfs::Gid::from_raw),
                AtFlags::SYMLINK_NOFOLLOW,
            )
            .map_err(e)?;
        }
        let is_link = st.st_mode & 0o170000 == 0o120000;
        if let (Some(mode), false) = (a.mode, is_link) {
            let fd = rfs::openat(
                &dir,
                &name[..],
                OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(e)?;
            // fchmod on an O_PATH descriptor goes through /proc.
            let proc = format!("/proc/self/fd/{}", fd.as_raw_fd());
            rfs::chmod(proc.as_str(), Mode::from_raw_mode(mode & 0o7777)).map_err(e)?;
        }
        if a.atime.is_some() || a.mtime.is_some() {
            let ts = Timestamps {
                last_access: spec(a.atime),
                last_modification: spec(a.mtime),
            };
            rfs::utimensat(&dir, &name[..], &ts, AtFlags::SYMLINK_NOFOLLOW).map_err(e)?;
        }
        Ok(())
    }

    fn apply_op(&mut self, op: &Op) -> io::Result<()> {
        match op {
            Op::Create { path, mode } => {
                let key = path.as_bytes();
                let (dir, name) = self.parent(path)?;
                let fd = rfs::openat(
                    &dir,
                    &name[..],
                    OFlags::CREATE
                        | OFlags::EXCL
                        | OFlags::WRONLY
                        | OFlags::NOFOLLOW
                        | OFlags::CLOEXEC,
                    Mode::from_raw_mode(mode & 0o7777),
                )
                .map_err(|e| ctx(key, e.into()))?;
                rfs::fchmod(&fd, Mode::from_raw_mode(mode & 0o7777))
                    .map_err(|e| ctx(key, e.into()))?;
            }
            Op::Write { path, offset, data } => {
                let write_behind = self.write_behind;
                let fd = self.file(path)?;
                write_all_at(fd, data, *offset).map_err(|e| ctx(path.as_bytes(), e))?;
                if write_behind && data.len() >= WRITE_BEHIND_MIN {
                    start_writeback(fd, *offset, data.len() as u64);
                }
            }
            Op::SetLen { path, len } => {
                let fd = self.file(path)?;
                rfs::ftruncate(fd, *len).map_err(|e| ctx(path.as_bytes(), e.into()))?;
            }
            Op::Delete { path } => {
                self.forget(path);
                let (dir, name) = self.parent(path)?;
                rfs::unlinkat(&dir, &name[..], AtFlags::empty())
                    .map_err(|e| ctx(path.as_bytes(), e.into()))?;
            }
            Op::Rmdir { path } => {
                self.forget(path);
                let (dir, name) = self.parent(path)?;
                rfs::unlinkat(&dir, &name[..], AtFlags::REMOVEDIR)
                    .map_err(|e| ctx(path.as_bytes(), e.into()))?;
            }
            Op::Rename { from, to } => {
                self.forget(from);
                self.forget(to);
                let (fdir, fname) = self.parent(from)?;
                let (tdir, tname) = self.parent(to)?;
                rfs::renameat(&fdir, &fname[..], &tdir, &tname[..])
                    .map_err(|e| ctx(from.as_bytes(), e.into()))?;
            }
            Op::Mkdir { path, mode } => {
                let key = path.as_bytes();
                let (dir, name) = self.parent(path)?;
                rfs::mkdirat(&dir, &name[..], Mode::from_raw_mode(mode & 0o7777))
                    .map_err(|e| ctx(key, e.into()))?;
                let fd = rfs::openat(
                    &dir,
                    &name[..],
                    OFlags::DIRECTORY | OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                )
                .map_err(|e| ctx(key, e.into()))?;
                rfs::fchmod(&fd, Mode::from_raw_mode(mode & 0o7777))
                    .map_err(|e| ctx(key, e.into()))?;
            }
            Op::Symlink { path, target } => {
                let (dir, name) = self.parent(path)?;
                rfs::symlinkat(&target[..], &dir, &name[..])
                    .map_err(|e| ctx(path.as_bytes(), e.into()))?;
            }
            Op::HardLink { existing, link } => {
                let (edir, ename) = self.parent(existing)?;
                let (ldir, lname) = self.parent(link)?;
                rfs::linkat(&edir, &ename[..], &ldir, &lname[..], AtFlags::empty())
                    .map_err(|e| ctx(link.as_bytes(), e.into()))?;
            }
            Op::SetAttr { path, attrs } => self.set_attr(path, attrs)?,
            Op::SetXattr { path, name, value } => {
                let (_dir, p) = self.xattr_path(path)?;
                rfs::lsetxattr(&p, &name[..], value, rfs::XattrFlags::empty())
                    .map_err(|e| ctx(path.as_bytes(), e.into()))?;
            }
            Op::RemoveXattr { path, name } => {
                let (_dir, p) = self.xattr_path(path)?;
                rfs::lremovexattr(&p, &name[..]).map_err(|e| ctx(path.as_bytes(), e.into()))?;
            }
            Op::Mknod { path, mode, rdev } => {
                let key = path.as_bytes();
                let (dir, name) = self.parent(path)?;
                rfs::mknodat(
                    &dir,
                    &name[..],
                    rfs::FileType::from_raw_mode(*mode),
                    Mode::from_raw_mode(mode & 0o7777),
                    *rdev,
                )
                .map_err(|e| ctx(key, e.into()))?;
                drop(dir);
                // The umask narrowed the bits mknod set.
                self.set_attr(
                    path,
                    &Attrs {
                        mode: Some(mode & 0o7777),
                        ..Attrs::default()
                    },
                )?;
            }
            Op::ClearXattrs { path } => self.clear_xattrs(path)?,
            Op::BlockWrite {
                volume,
                offset,
                data,
            } => {
                self.check_range(*volume, *offset, data.len() as u64)?;
                self.volume(*volume)?.write_all_at(data, *offset)?;
            }
            Op::Discard {
                volume,
                offset,
                len,
            } => {
                self.check_range(*volume, *offset, *len)?;
                let v = self.volume(*volume)?;
                let zeros = vec![0u8; (*len).min(1 << 20) as usize];
                let mut at = *offset;
                let end = offset + len;
                while at < end {
                    let n = (end - at).min(zeros.len() as u64) as usize;
                    v.write_all_at(&zeros[..n], at)?;
                    at += n as u64;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn check_range(&mut self, volume: u32, offset: u64, len: u64) -> io::Result<()> {
        let vlen = self.volume_len(volume)?;
        match offset.checked_add(len) {
            Some(end) if end <= vlen => Ok(()),
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("volume {volume}: bytes {offset}+{len} reach past its end at {vlen}"),
            )),
        }
    }
}

/// Asks the kernel to start writing `len` bytes at `offset` back to the
/// disk, without waiting. Advisory: an error changes nothing (the data
/// stays in the page cache until a sync).
fn start_writeback(fd: BorrowedFd<'_>, offset: u64, len: u64) {
    let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
        return;
    };
    // SAFETY: `fd` is an open descriptor for the duration of the call,
    // which only reads its integer arguments.
    let _ =
        unsafe { libc::sync_file_range(fd.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE) };
}

fn write_all_at(fd: BorrowedFd<'_>, mut data: &[u8], mut at: u64) -> io::Result<()> {
    while !data.is_empty() {
        let n = rustix::io::pwrite(fd, data, at)?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        data = &data[n..];
        at += n as u64;
    }
    Ok(())
}

trait FromBytesCompat {
    fn from_bytes_compat(b: &[u8]) -> &Self;
}

impl FromBytesCompat for std::ffi::OsStr {
    fn from_bytes_compat(b: &[u8]) -> &Self {
        std::os::unix::ffi::OsStrExt::from_bytes(b)
    }
}

impl PreImage for DirTarget {
    fn stat(&mut self, path: &RelPath) -> io::Result<Option<NodeMeta>> {
        if let Some(fd) = self.files.get(path.as_bytes()) {
            return Ok(Some(meta_of(&rfs::fstat(fd)?)));
        }
        let (dir, name) = match self.parent(path) {
            Ok(x) => x,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) if e.raw_os_error() == Some(rustix::io::Errno::NOTDIR.raw_os_error()) => {
                return Ok(None)
            }
            Err(e) => return Err(e),
        };
        match rfs::statat(&dir, &name[..], AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => Ok(Some(meta_of(&st))),
            Err(rustix::io::Errno::NOENT) => Ok(None),
            Err(e) => Err(ctx(path.as_bytes(), e.into())),
        }
    }

    fn read(&mut self, path: &RelPath, offset: u64, len: u64) -> io::Result<Vec<u8>> {
        let fd = self.file(path)?;
        let want = usize::try_from(len).unwrap_or(usize::MAX);
        // Read straight into the spare capacity: no zero-filling first.
        let mut buf = Vec::with_capacity(want);
        while buf.len() < want {
            let at = offset + buf.len() as u64;
            let n = rustix::io::pread(fd, rustix::buffer::spare_capacity(&mut buf), at)
                .map_err(|e| ctx(path.as_bytes(), e.into()))?;
            if n == 0 {
                break;
            }
        }
        buf.truncate(want);
        Ok(buf)
    }

    fn read_link(&mut self, path: &RelPath) -> io::Result<Bytes> {
        let (dir, name) = self.parent(path)?;
        let t = rfs::readlinkat(&dir, &name[..], Vec::new())
            .map_err(|e| ctx(path.as_bytes(), e.into()))?;
        Ok(Bytes::from(t.into_bytes()))
    }

    fn xattr(&mut self, path: &RelPath, name: &[u8]) -> io::Result<Option<Bytes>> {
        let (_dir, p) = self.xattr_path(path)?;
        let mut buf = vec![0u8; 65536];
        match rfs::lgetxattr(&p, name, &mut buf[..]) {
            Ok(n) => {
                buf.truncate(n);
                Ok(Some(buf.into()))
            }
            Err(rustix::io::Errno::NODATA) => Ok(None),
            Err(e) => Err(ctx(path.as_bytes(), e.into())),
        }
    }

    fn xattrs(&mut self, path: &RelPath) -> io::Result<Vec<(Bytes, Bytes)>> {
        let names = {
            let (_dir, p) = self.xattr_path(path)?;
            let mut buf = vec![0u8; 65536];
            let n =
                rfs::llistxattr(&p, &mut buf[..]).map_err(|e| ctx(path.as_bytes(), e.into()))?;
            buf.truncate(n);
            buf
        };
        let mut out = Vec::new();
        for name in names.split(|&b| b == 0).filter(|n| !n.is_empty()) {
            if let Some(v) = self.xattr(path, name)? {
                out.push((Bytes::copy_from_slice(name), v));
            }
        }
        Ok(out)
    }

    fn other_link(&mut self, path: &RelPath) -> io::Result<Option<RelPath>> {
        let Some(me) = self.stat(path)? else {
            return Ok(None);
        };
        let mut stack = vec![(self.root_path.clone(), Vec::<u8>::new())];
        while let Some((dir, rel)) = stack.pop() {
            for entry in std::fs::read_dir(&dir)? {
                let entry = entry?;
                let name =
                    std::os::unix::ffi::OsStrExt::as_bytes(entry.file_name().as_os_str()).to_vec();
                let mut r = rel.clone();
                if !r.is_empty() {
                    r.push(b'/');
                }
                r.extend_from_slice(&name);
                if rel.is_empty() && self.reserved.as_deref() == Some(&name[..]) {
                    continue;
                }
                let ft = entry.file_type()?;
                if ft.is_dir() {
                    stack.push((entry.path(), r));
                } else if ft.is_file() && r != path.as_bytes() {
                    let Ok(rp) = RelPath::new(r) else { continue };
                    if self.stat(&rp)?.is_some_and(|m| m.ino == me.ino) {
                        return Ok(Some(rp));
                    }
                }
            }
        }
        Ok(None)
    }

    fn volume_len(&mut self, volume: u32) -> io::Result<u64> {
        use std::io::Seek;
        let mut f = self.volume(volume)?;
        f.seek(io::SeekFrom::End(0))
    }

    fn volume_read(&mut self, volume: u32, offset: u64, len: u64) -> io::Result<Vec<u8>> {
        let mut buf = vec![0u8; len as usize];
        self.volume(volume)?.read_exact_at(&mut buf, offset)?;
        Ok(buf)
    }
}

impl Target for DirTarget {
    fn apply(&mut self, op: &Op) -> io::Result<()> {
        self.apply_op(op)
    }

    fn sync(&mut self) -> io::Result<()> {
        if let Some(root) = &self.root {
            rfs::syncfs(root)?;
        }
        for v in self.volumes.values() {
            v.sync_data()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(t: &mut DirTarget, path: &str, data: &'static [u8]) {
        let path = RelPath::new(path.to_owned()).expect("path");
        t.apply(&Op::Write {
            path,
            offset: 0,
            data: Bytes::from_static(data),
        })
        .expect("write");
    }

    fn rename(t: &mut DirTarget, from: &str, to: &str) {
        t.apply(&Op::Rename {
            from: RelPath::new(from.to_owned()).expect("path"),
            to: RelPath::new(to.to_owned()).expect("path"),
        })
        .expect("rename");
    }

    #[test]
    fn a_node_is_made_with_its_exact_mode_and_never_into_the_state_directory() {
        use std::os::unix::fs::{FileTypeExt, MetadataExt};
        let tmp = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(tmp.path().join(".rha")).expect("mkdir");
        let mut t = DirTarget::open(tmp.path(), Some(".rha")).expect("open");
        let mknod = |path: &str, mode: u32, rdev: u64| Op::Mknod {
            path: RelPath::new(path.to_owned()).expect("path"),
            mode,
            rdev,
        };
        // Group and others write bits, which a umask usually takes away.
        t.apply(&mknod("fifo", MODE_FIFO | 0o666, 0))
            .expect("mknod");
        let m = std::fs::symlink_metadata(tmp.path().join("fifo")).expect("stat");
        assert!(m.file_type().is_fifo());
        assert_eq!(m.mode() & 0o7777, 0o666);
        let e = t
            .apply(&mknod(".rha/fifo", MODE_FIFO | 0o600, 0))
            .expect_err("into the state directory");
        assert!(e.to_string().contains(".rha"), "{e}");
        assert!(!tmp.path().join(".rha/fifo").exists());
        if rustix::process::geteuid().is_root() {
            let null = rustix::fs::makedev(1, 3);
            t.apply(&mknod("null", MODE_CHAR_DEVICE | 0o620, null))
                .expect("mknod");
            let m = std::fs::symlink_metadata(tmp.path().join("null")).expect("stat");
            assert!(m.file_type().is_char_device());
            assert_eq!((m.rdev(), m.mode() & 0o7777), (null, 0o620));
            let meta = t
                .stat(&RelPath::new("null").expect("path"))
                .expect("stat")
                .expect("there");
            assert_eq!(
                meta.kind,
                NodeKind::Special {
                    file_type: MODE_CHAR_DEVICE,
                    rdev: null
                }
            );
        }
    }

    #[test]
    fn clearing_extended_attributes_removes_the_managed_names() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let f = tmp.path().join("f");
        std::fs::write(&f, b"").expect("file");
        for name in ["user.a", "user.b"] {
            if let Err(e) = rfs::lsetxattr(&f, name, b"v", rfs::XattrFlags::empty()) {
                eprintln!("SKIPPED: no user.* extended attributes here: {e}");
                return;
            }
        }
        let mut t = DirTarget::open(tmp.path(), None).expect("open");
        let path = RelPath::new("f").expect("path");
        t.apply(&Op::ClearXattrs { path: path.clone() })
            .expect("clear");
        assert_eq!(t.xattrs(&path).expect("list"), []);
        // Clearing nothing is no error, as a replay does.
        t.apply(&Op::ClearXattrs { path }).expect("clear again");
    }

    #[test]
    fn writes_behind_land_the_same_bytes() {
        let tmp = tempfile::tempdir().expect("tempdir");
        std::fs::write(tmp.path().join("f"), b"").expect("file");
        let mut t = DirTarget::open(tmp.path(), None).expect("open");
        t.set_write_behind(true);
        let big: Vec<u8> = (0..WRITE_BEHIND_MIN * 2).map(|i| (i % 251) as u8).collect();
        let path = RelPath::new("f".to_owned()).expect("path");
        for (offset, data) in [(0u64, big.clone()), (big.len() as u64, b"tail".to_vec())] {
            t.apply(&Op::Write {
                path: path.clone(),
                offset,
                data: Bytes::from(data),
            })
            .expect("write");
        }
        t.sync().expect("sync");
        let mut want = big;
        want.extend_from_slice(b"tail");
        assert_eq!(std::fs::read(tmp.path().join("f")).expect("read"), want);
    }

    #[test]
    fn a_rename_or_removal_closes_only_the_files_it_names() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path();
        std::fs::create_dir(root.join("d")).expect("mkdir");
        for name in ["a", "ab", "b", "c", "d/f"] {
            std::fs::write(root.join(name), b"").expect("file");
        }
        let mut t = DirTarget::open(root, None).expect("open");
        for name in ["a", "ab", "b", "d/f"] {
            write(&mut t, name, b"1");
        }
        rename(&mut t, "c", "c2");
        assert_eq!(
            t.files.len(),
            4,
            "an unrelated rename keeps every file open"
        );
        rename(&mut t, "b", "a");
        assert_eq!(t.files.len(), 2, "both names are closed, not \"ab\"");
        rename(&mut t, "d", "e");
        assert_eq!(
            t.files.len(),
            1,
            "files beneath a renamed directory are closed"
        );
        t.apply(&Op::Delete {
            path: RelPath::new("ab").expect("path"),
        })
        .expect("delete");
        assert!(t.files.is_empty());
        // Writes after all that land in the files the names lead to now.
        std::fs::write(root.join("ab"), b"").expect("file");
        std::fs::create_dir(root.join("d")).expect("mkdir");
        std::fs::write(root.join("d/f"), b"").expect("file");
        for name in ["a", "ab", "d/f", "e/f"] {
            write(&mut t, name, b"2");
        }
        for name in ["a", "ab", "d/f", "e/f"] {
            assert_eq!(
                std::fs::read(root.join(name)).expect("read"),
                b"2",
                "{name}"
            );
        }
    }
}
