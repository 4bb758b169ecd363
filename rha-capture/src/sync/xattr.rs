//! The extended attributes a sync compares and carries.
//!
//! A scan records a digest of each entry's attributes
//! ([`XattrDigest`]); where the master's and the replica's digests differ,
//! [`copy`] makes the replica's set the master's exactly: names added,
//! values changed, names the master lacks removed. Only the names of an
//! [`XattrScope`] take part, on both sides: what this process can read and
//! write faithfully.

use std::ffi::CStr;
use std::io;
use std::os::fd::BorrowedFd;
use std::path::{Path, PathBuf};

use rha_core::signature::tree::XattrDigest;
use rustix::fs as rfs;
use rustix::io::Errno;

/// Which extended attribute names a sync takes part in.
///
/// `user.*` always. When the process runs as root also `trusted.*` and
/// `security.*` (file capabilities, IMA/EVM), except `security.selinux`: the
/// replica host's policy labels its own files. `system.*` names (POSIX
/// ACLs, tied to the permission bits, and file-system specific names) are
/// left out, on both sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XattrScope {
    privileged: bool,
}

impl XattrScope {
    /// The scope for this process: privileged when it runs as root.
    pub fn current() -> Self {
        Self::new(rustix::process::geteuid().is_root())
    }

    /// `user.*` only, or with `privileged` the `trusted.*` and `security.*`
    /// names too.
    pub fn new(privileged: bool) -> Self {
        Self { privileged }
    }

    /// Whether the attribute `name` takes part.
    pub fn includes(self, name: &[u8]) -> bool {
        name.starts_with(b"user.")
            || (self.privileged
                && (name.starts_with(b"trusted.")
                    || (name.starts_with(b"security.") && name != b"security.selinux")))
    }
}

/// A sorted list of (name, value) pairs.
pub type Xattrs = Vec<(Vec<u8>, Vec<u8>)>;

/// The attributes of `path` (a symlink itself, never followed) that are in
/// `scope`, sorted by name. A file system without extended attributes has
/// none.
pub fn read(path: &Path, scope: XattrScope) -> io::Result<Xattrs> {
    values(path, &list(path)?, scope)
}

/// [`read`] for the entry `name` of the open directory `dir`, whose path
/// `path` gives when asked: the names are listed relative to the directory
/// (`listxattrat`, Linux 6.13), which saves the kernel walking the whole
/// path for every entry of a scan. Older kernels list by path. Values,
/// rarer, are read by path.
pub fn read_at(
    dir: BorrowedFd<'_>,
    name: &CStr,
    path: impl FnOnce() -> PathBuf,
    scope: XattrScope,
) -> io::Result<Xattrs> {
    match list_at(dir, name)? {
        Some(names) if names.is_empty() => Ok(Vec::new()),
        Some(names) => values(&path(), &names, scope),
        None => read(&path(), scope),
    }
}

fn values(path: &Path, names: &[u8], scope: XattrScope) -> io::Result<Xattrs> {
    let mut out = Vec::new();
    for name in names
        .split(|&b| b == 0)
        .filter(|n| !n.is_empty() && scope.includes(n))
    {
        if let Some(value) = get(path, name)? {
            out.push((name.to_vec(), value));
        }
    }
    out.sort();
    Ok(out)
}

/// The digest of [`read`]'s result.
pub fn digest(path: &Path, scope: XattrScope) -> io::Result<Option<XattrDigest>> {
    Ok(XattrDigest::of(&read(path, scope)?))
}

/// The attribute names of `path`, NUL-separated.
///
/// One system call for the common case: the list is read straight into a
/// buffer of [`FIRST_TRY`] bytes, and only a longer list (`ERANGE`) asks for
/// its size first. Most files have no attributes, and a scan asks this of
/// every entry.
pub(crate) fn list(path: &Path) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; FIRST_TRY];
    match rfs::llistxattr(path, &mut buf[..]) {
        Ok(n) => {
            buf.truncate(n);
            return Ok(buf);
        }
        Err(Errno::NOTSUP) => return Ok(Vec::new()),
        Err(Errno::RANGE) => {}
        Err(e) => return Err(e.into()),
    }
    loop {
        let size = match rfs::llistxattr_query(path) {
            Ok(n) => n,
            Err(Errno::NOTSUP) => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        let mut buf = vec![0u8; size];
        match rfs::llistxattr(path, &mut buf[..]) {
            Ok(n) => {
                buf.truncate(n);
                return Ok(buf);
            }
            // A name was added in between: ask for the size again.
            Err(Errno::RANGE) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// The names of entry `name` of directory `dir` (not followed if a
/// symlink), NUL-separated, by `listxattrat`; `None` where the kernel does
/// not have that call.
#[cfg(all(
    target_os = "linux",
    any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "riscv64"
    )
))]
fn list_at(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<Option<Vec<u8>>> {
    use std::os::fd::AsRawFd;
    use std::sync::atomic::{AtomicBool, Ordering};

    // The number is the same on every architecture that has the call: it
    // was added after the system call tables were unified.
    const SYS_LISTXATTRAT: libc::c_long = 465;
    /// The longest list of names the kernel returns.
    const XATTR_LIST_MAX: usize = 65536;
    /// Whether the kernel lacks the call (learnt from the first `ENOSYS`).
    static MISSING: AtomicBool = AtomicBool::new(false);

    if MISSING.load(Ordering::Relaxed) {
        return Ok(None);
    }
    // The first try uses the stack: most entries have no attributes, and
    // a scan asks for every entry's.
    let mut small = [0u8; FIRST_TRY];
    let mut large = Vec::new();
    loop {
        let buf: &mut [u8] = if large.is_empty() {
            &mut small
        } else {
            &mut large
        };
        // SAFETY: the arguments are a valid descriptor, a NUL-terminated
        // name, and a buffer of `buf.len()` writable bytes; the call writes
        // at most that many and returns how many.
        let n = unsafe {
            libc::syscall(
                SYS_LISTXATTRAT,
                dir.as_raw_fd(),
                name.as_ptr(),
                libc::AT_SYMLINK_NOFOLLOW as libc::c_uint,
                buf.as_mut_ptr(),
                buf.len(),
            )
        };
        if let Ok(n) = usize::try_from(n) {
            return Ok(Some(buf.get(..n).unwrap_or_default().to_vec()));
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::ENOSYS) => {
                MISSING.store(true, Ordering::Relaxed);
                return Ok(None);
            }
            Some(libc::EOPNOTSUPP) => return Ok(Some(Vec::new())),
            Some(libc::EINTR) => {}
            // Longer than the buffer: the largest list there can be.
            Some(libc::ERANGE) if large.is_empty() => large = vec![0u8; XATTR_LIST_MAX],
            _ => return Err(e),
        }
    }
}

/// Without `listxattrat`: always by path.
#[cfg(not(all(
    target_os = "linux",
    any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "riscv64"
    )
)))]
fn list_at(_dir: BorrowedFd<'_>, _name: &CStr) -> io::Result<Option<Vec<u8>>> {
    Ok(None)
}

/// The buffer a first attempt to list names or read a value uses.
const FIRST_TRY: usize = 1024;

/// The value of attribute `name` of `path`, `None` if it has none (it was
/// removed after it was listed).
fn get(path: &Path, name: &[u8]) -> io::Result<Option<Vec<u8>>> {
    let named = |e: Errno| {
        let e = io::Error::from(e);
        io::Error::new(
            e.kind(),
            format!("reading extended attribute {}: {e}", name.escape_ascii()),
        )
    };
    let mut buf = vec![0u8; FIRST_TRY];
    match rfs::lgetxattr(path, name, &mut buf[..]) {
        Ok(n) => {
            buf.truncate(n);
            return Ok(Some(buf));
        }
        Err(Errno::NODATA) => return Ok(None),
        Err(Errno::RANGE) => {}
        Err(e) => return Err(named(e)),
    }
    loop {
        let size = match rfs::lgetxattr_query(path, name) {
            Ok(n) => n,
            Err(Errno::NODATA) => return Ok(None),
            Err(e) => return Err(named(e)),
        };
        let mut buf = vec![0u8; size];
        match rfs::lgetxattr(path, name, &mut buf[..]) {
            Ok(n) => {
                buf.truncate(n);
                return Ok(Some(buf));
            }
            Err(Errno::NODATA) => return Ok(None),
            // The value grew in between: ask for the size again.
            Err(Errno::RANGE) => continue,
            Err(e) => return Err(named(e)),
        }
    }
}

/// Makes the attributes in `scope` of `replica` exactly those of `master`
/// (neither followed if a symlink): names the master lacks are removed,
/// the others set where their values differ. Returns whether anything
/// changed; `false` too when the master's entry is gone (it vanished after
/// the scan; replication carries its deletion).
pub fn copy(master: &Path, replica: &Path, scope: XattrScope) -> io::Result<bool> {
    let want = match read(master, scope) {
        Ok(w) => w,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => {
            return Err(io::Error::new(
                e.kind(),
                format!("master {}: {e}", master.display()),
            ))
        }
    };
    let have = read(replica, scope)?;
    let mut changed = false;
    for (name, _) in &have {
        if want.binary_search_by(|(n, _)| n.cmp(name)).is_err() {
            rfs::lremovexattr(replica, &name[..]).map_err(|e| {
                let e = io::Error::from(e);
                io::Error::new(
                    e.kind(),
                    format!("removing extended attribute {}: {e}", name.escape_ascii()),
                )
            })?;
            changed = true;
        }
    }
    for (name, value) in &want {
        let same = have
            .binary_search_by(|(n, _)| n.cmp(name))
            .is_ok_and(|i| have[i].1 == *value);
        if !same {
            rfs::lsetxattr(replica, &name[..], value, rfs::XattrFlags::empty()).map_err(|e| {
                let e = io::Error::from(e);
                let why = if e.raw_os_error() == Some(Errno::NOTSUP.raw_os_error()) {
                    " (the replica's file system does not support it)"
                } else {
                    ""
                };
                io::Error::new(
                    e.kind(),
                    format!(
                        "setting extended attribute {}: {e}{why}",
                        name.escape_ascii()
                    ),
                )
            })?;
            changed = true;
        }
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn the_scope_names_what_a_sync_carries() {
        let user = XattrScope::new(false);
        let root = XattrScope::new(true);
        assert!(user.includes(b"user.a") && root.includes(b"user.a"));
        assert!(!user.includes(b"trusted.a") && root.includes(b"trusted.a"));
        assert!(!user.includes(b"security.capability"));
        assert!(root.includes(b"security.capability"));
        assert!(!root.includes(b"security.selinux"));
        assert!(!root.includes(b"system.posix_acl_access"));
        assert!(!root.includes(b"userx"));
    }

    /// Whether the temporary directory's file system takes `user.*`
    /// attributes; tests that need them say so and stop when it does not.
    fn user_xattrs(dir: &Path) -> bool {
        let probe = dir.join("probe");
        std::fs::write(&probe, b"").unwrap();
        match rfs::lsetxattr(&probe, "user.rha-probe", b"1", rfs::XattrFlags::empty()) {
            Ok(()) => true,
            Err(e) => {
                eprintln!(
                    "SKIPPED: {} does not take user.* extended attributes: {e}",
                    dir.display()
                );
                false
            }
        }
    }

    #[test]
    fn copy_adds_changes_and_removes_names() {
        let dir = tempfile::tempdir().unwrap();
        if !user_xattrs(dir.path()) {
            return;
        }
        let (m, r) = (dir.path().join("m"), dir.path().join("r"));
        std::fs::write(&m, b"").unwrap();
        std::fs::write(&r, b"").unwrap();
        let set = |p: &Path, n: &str, v: &[u8]| {
            rfs::lsetxattr(p, n, v, rfs::XattrFlags::empty()).unwrap();
        };
        set(&m, "user.same", b"1");
        set(&m, "user.changed", b"new");
        set(&m, "user.added", b"");
        set(&r, "user.same", b"1");
        set(&r, "user.changed", b"old");
        set(&r, "user.removed", b"x");
        let scope = XattrScope::new(false);
        assert_ne!(digest(&m, scope).unwrap(), digest(&r, scope).unwrap());
        assert!(copy(&m, &r, scope).unwrap());
        assert_eq!(read(&r, scope).unwrap(), read(&m, scope).unwrap());
        assert_eq!(digest(&m, scope).unwrap(), digest(&r, scope).unwrap());
        assert!(!copy(&m, &r, scope).unwrap(), "nothing left to change");
        // A master entry that vanished changes nothing.
        assert!(!copy(&dir.path().join("gone"), &r, scope).unwrap());
        assert_eq!(read(&r, scope).unwrap().len(), 3);
        // No attributes at all: no digest.
        let plain = dir.path().join("plain");
        std::fs::write(&plain, b"").unwrap();
        assert_eq!(digest(&plain, scope).unwrap(), None);
    }

    #[test]
    fn names_and_values_longer_than_the_first_buffer_are_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        if !user_xattrs(dir.path()) {
            return;
        }
        let f = dir.path().join("f");
        std::fs::write(&f, b"").unwrap();
        // Within ext4's one block of attributes per inode.
        let big: Vec<u8> = (0..FIRST_TRY + 7).map(|i| (i % 251) as u8).collect();
        rfs::lsetxattr(&f, "user.big", &big, rfs::XattrFlags::empty()).unwrap();
        let names: Vec<String> = (0..FIRST_TRY / 20)
            .map(|i| format!("user.name-{i:010}"))
            .collect();
        for n in &names {
            rfs::lsetxattr(&f, n.as_str(), b"v", rfs::XattrFlags::empty()).unwrap();
        }
        assert!(
            list(&f).unwrap().len() > FIRST_TRY,
            "the names overflow the first try"
        );
        let got = read(&f, XattrScope::new(false)).unwrap();
        assert_eq!(got.len(), names.len() + 1);
        let value = |n: &str| {
            got.iter()
                .find(|(k, _)| k == n.as_bytes())
                .map(|(_, v)| v.clone())
        };
        assert_eq!(value("user.big"), Some(big));
        assert_eq!(value(&names[7]), Some(b"v".to_vec()));
        // Relative to the open directory, the same.
        let dir = std::fs::File::open(dir.path()).unwrap();
        let at = read_at(dir.as_fd(), c"f", || f.clone(), XattrScope::new(false)).unwrap();
        assert_eq!(at, got);
        let missing = read_at(dir.as_fd(), c"gone", || f.clone(), XattrScope::new(false));
        assert_eq!(missing.unwrap_err().kind(), io::ErrorKind::NotFound);
    }
}
