//! One entry of a tree signature, and the order entries come in.

use std::cmp::Ordering;

use bytes::Bytes;

use crate::journal::RelPath;

/// What kind of file system object an [`Entry`] describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum EntryKind {
    /// A regular file.
    File = 0,
    /// A directory.
    Dir = 1,
    /// A symbolic link (never followed).
    Symlink = 2,
    /// Anything else: a FIFO, socket or device node.
    Other = 3,
}

impl EntryKind {
    /// The kind stored as `code` in the signature format, if it is one.
    pub fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0 => Self::File,
            1 => Self::Dir,
            2 => Self::Symlink,
            3 => Self::Other,
            _ => return None,
        })
    }

    /// Lowercase name: `file`, `dir`, `symlink`, `other`.
    pub fn name(self) -> &'static str {
        match self {
            Self::File => "file",
            Self::Dir => "dir",
            Self::Symlink => "symlink",
            Self::Other => "other",
        }
    }
}

/// Hard-link identity: the device and inode number a file shares with the
/// other names of the same file.
///
/// Only meaningful within one signature (one scan of one tree): two entries
/// with equal `HardLink`s are names of the same file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HardLink {
    /// Device number.
    pub dev: u64,
    /// Inode number.
    pub ino: u64,
}

/// The longest symlink target a signature entry carries, in bytes.
pub const MAX_TARGET_LEN: usize = 4096;

/// Length of an [`XattrDigest`] in bytes.
pub const XATTR_DIGEST_LEN: usize = 16;

/// A digest of a file system object's extended attributes: their names and
/// values, so that two scans can tell whether two objects carry the same set
/// without storing the values.
///
/// It is the first 16 bytes of the BLAKE3 hash (in `derive_key` mode, context
/// `"rha tree signature xattr digest v1"`) of the attributes sorted by name,
/// each as `name_len u64`, name, `value_len u64`, value (lengths
/// little-endian). An object without extended attributes has no digest.
/// Which names count is the scanner's choice (`rha sync` takes `user.*`, and
/// `trusted.*` and `security.*` when it runs as root); both sides of a
/// comparison must use the same.
///
/// ```
/// use rha_core::signature::tree::XattrDigest;
///
/// let a = XattrDigest::of(&[("user.a", "1"), ("user.b", "2")]);
/// let b = XattrDigest::of(&[("user.b", "2"), ("user.a", "1")]);
/// assert_eq!(a, b);
/// assert_ne!(a, XattrDigest::of(&[("user.a", "1")]));
/// assert_eq!(XattrDigest::of::<&str, &str>(&[]), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct XattrDigest(pub [u8; XATTR_DIGEST_LEN]);

impl XattrDigest {
    /// The digest of `attrs`, (name, value) pairs in any order with distinct
    /// names; `None` when there are none.
    pub fn of<N: AsRef<[u8]>, V: AsRef<[u8]>>(attrs: &[(N, V)]) -> Option<Self> {
        if attrs.is_empty() {
            return None;
        }
        let mut sorted: Vec<(&[u8], &[u8])> = attrs
            .iter()
            .map(|(n, v)| (n.as_ref(), v.as_ref()))
            .collect();
        sorted.sort_unstable();
        let mut h = blake3::Hasher::new_derive_key("rha tree signature xattr digest v1");
        for (name, value) in sorted {
            h.update(&(name.len() as u64).to_le_bytes());
            h.update(name);
            h.update(&(value.len() as u64).to_le_bytes());
            h.update(value);
        }
        let mut out = [0u8; XATTR_DIGEST_LEN];
        out.copy_from_slice(&h.finalize().as_bytes()[..XATTR_DIGEST_LEN]);
        Some(Self(out))
    }
}

/// One file system object of a scanned tree.
///
/// `size` is the length in bytes for files and 0 otherwise (a symlink's
/// length is its target's). `mode` holds the permission bits (`0o7777`), not
/// the file type. `mtime_ns` is nanoseconds since the Unix epoch (negative
/// before it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Path relative to the tree's root.
    pub path: RelPath,
    /// File, directory, symlink or other.
    pub kind: EntryKind,
    /// Length in bytes (files only; 0 for other kinds).
    pub size: u64,
    /// Modification time in nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
    /// Permission bits, `0o7777` at most.
    pub mode: u32,
    /// Owner user id.
    pub uid: u32,
    /// Owner group id.
    pub gid: u32,
    /// The symlink's target (symlinks only; empty otherwise).
    pub target: Bytes,
    /// Set when the file has more than one name (hard links).
    pub link: Option<HardLink>,
    /// The file has holes: fewer bytes allocated than its length.
    pub sparse: bool,
    /// Digest of its extended attributes; `None` when it has none (or the
    /// scan did not read them). Any kind may carry one.
    pub xattrs: Option<XattrDigest>,
}

impl Entry {
    /// An entry of `kind` at `path` with every other field zero or empty.
    pub fn new(path: RelPath, kind: EntryKind) -> Self {
        Self {
            path,
            kind,
            size: 0,
            mtime_ns: 0,
            mode: 0,
            uid: 0,
            gid: 0,
            target: Bytes::new(),
            link: None,
            sparse: false,
            xattrs: None,
        }
    }
}

/// The order of entries in a signature: the order of a depth-first walk that
/// visits each directory's children sorted by name bytes.
///
/// It is byte order with `/` sorting before every other byte, so a
/// directory's contents follow it directly: `a`, `a/b`, `a.txt`.
pub fn path_order(a: &[u8], b: &[u8]) -> Ordering {
    let key = |c: u8| if c == b'/' { 0 } else { c };
    // Neighbouring paths share long prefixes: skip equal 16-byte chunks
    // (one comparison each) before looking at bytes.
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + 16 <= n && a[i..i + 16] == b[i..i + 16] {
        i += 16;
    }
    match a[i..n].iter().zip(&b[i..n]).find(|(x, y)| x != y) {
        Some((&x, &y)) => key(x).cmp(&key(y)),
        None => a.len().cmp(&b.len()),
    }
}

/// Whether `path` lies strictly inside the directory `dir`.
pub fn is_inside(dir: &[u8], path: &[u8]) -> bool {
    path.len() > dir.len() && path.starts_with(dir) && path[dir.len()] == b'/'
}

/// The parent directory of `path`, or `None` at the top level.
pub(crate) fn parent(path: &[u8]) -> Option<&[u8]> {
    path.iter().rposition(|&b| b == b'/').map(|i| &path[..i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contents_follow_their_directory() {
        let mut v: Vec<&[u8]> = vec![b"a.txt", b"a/b", b"a", b"a/b/c", b"a-", b"b", b"a/a"];
        v.sort_by(|a, b| path_order(a, b));
        let expect: Vec<&[u8]> = vec![b"a", b"a/a", b"a/b", b"a/b/c", b"a-", b"a.txt", b"b"];
        assert_eq!(v, expect);
    }

    proptest::proptest! {
        /// The chunked comparison orders as a byte-by-byte one would, also
        /// for paths sharing long prefixes.
        #[test]
        fn path_order_is_byte_order_with_slash_first(
            prefix in proptest::collection::vec(proptest::sample::select(b"ab/.".to_vec()), 0..40),
            a in proptest::collection::vec(proptest::sample::select(b"ab/.".to_vec()), 0..20),
            b in proptest::collection::vec(proptest::sample::select(b"ab/.".to_vec()), 0..20),
        ) {
            let key = |c: u8| if c == b'/' { 0 } else { c };
            let (a, b) = ([&prefix[..], &a[..]].concat(), [&prefix[..], &b[..]].concat());
            let simple = a.iter().map(|&c| key(c)).cmp(b.iter().map(|&c| key(c)));
            proptest::prop_assert_eq!(path_order(&a, &b), simple);
        }
    }

    #[test]
    fn inside_and_parent() {
        assert!(is_inside(b"a", b"a/b"));
        assert!(!is_inside(b"a", b"ab"));
        assert!(!is_inside(b"a", b"a"));
        assert_eq!(parent(b"a/b/c"), Some(&b"a/b"[..]));
        assert_eq!(parent(b"a"), None);
    }
}
