//! Tree signatures and sync plans: scanning, reading and comparing.

pub(crate) mod plan;
pub(crate) mod reader;
pub(crate) mod scan;

use std::ffi::{c_char, CStr, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use rha_capture::sync::scan::ScanError;
use rha_core::signature::tree::{
    CompareError, Entry, EntryKind, GlobError, SignatureError, SignatureErrorKind, TreeReadError,
    TreeWriteError,
};

use crate::buffer::rha_bytes;
use crate::error::{rha_error, rha_result};

/// The kind of a tree entry (`rha_tree_entry.kind`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum rha_tree_kind {
    /// A regular file.
    RHA_TREE_FILE = 0,
    /// A directory.
    RHA_TREE_DIR = 1,
    /// A symbolic link.
    RHA_TREE_SYMLINK = 2,
    /// A FIFO, socket or device node.
    RHA_TREE_OTHER = 3,
}

/// One entry of a tree signature, as a borrowed view.
///
/// `path` and `target` point into memory owned by the handle that produced
/// the view; the producing function says how long they stay valid. They are
/// not NUL-terminated.
///
/// Filled by `rha_tree_reader_next`, which checks `struct_size` as for
/// every struct with a size field. The entry embedded in `rha_plan_op` is
/// part of the plan step's layout, covered by the plan step's own
/// `struct_size`; there rha sets the entry's `struct_size` to
/// `sizeof(rha_tree_entry)`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct rha_tree_entry {
    /// `sizeof` this struct as the caller knows it: set before
    /// `rha_tree_reader_next` (see the conventions on structs with a size
    /// field).
    pub struct_size: u32,
    /// Path relative to the tree's root, `/`-separated.
    pub path: rha_bytes,
    /// An `rha_tree_kind` value.
    pub kind: u32,
    /// Permission bits (at most 07777).
    pub mode: u32,
    /// Owner user id.
    pub uid: u32,
    /// Owner group id.
    pub gid: u32,
    /// Length in bytes (files only; 0 otherwise).
    pub size: u64,
    /// Modification time, nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
    /// Symlink target (symlinks only; empty otherwise).
    pub target: rha_bytes,
    /// Device number shared by hard links (valid if `has_link`).
    pub link_dev: u64,
    /// Inode number shared by hard links (valid if `has_link`).
    pub link_ino: u64,
    /// Whether the file has more than one name.
    pub has_link: bool,
    /// Whether the file is sparse.
    pub sparse: bool,
}

sized_struct!(rha_tree_entry);

impl rha_tree_entry {
    /// A view of `e`, valid as long as `e` is.
    pub(crate) fn view(e: &Entry) -> Self {
        let kind = match e.kind {
            EntryKind::File => rha_tree_kind::RHA_TREE_FILE,
            EntryKind::Dir => rha_tree_kind::RHA_TREE_DIR,
            EntryKind::Symlink => rha_tree_kind::RHA_TREE_SYMLINK,
            // EntryKind is exhaustive today; a later kind reads as "other".
            EntryKind::Other => rha_tree_kind::RHA_TREE_OTHER,
        };
        Self {
            struct_size: std::mem::size_of::<Self>() as u32,
            path: rha_bytes::borrow(e.path.as_bytes()),
            kind: kind as u32,
            mode: e.mode,
            uid: e.uid,
            gid: e.gid,
            size: e.size,
            mtime_ns: e.mtime_ns,
            target: rha_bytes::borrow(&e.target),
            link_dev: e.link.map_or(0, |l| l.dev),
            link_ino: e.link.map_or(0, |l| l.ino),
            has_link: e.link.is_some(),
            sparse: e.sparse,
        }
    }
}

/// A NUL-terminated path argument as a `Path`.
///
/// # Safety
///
/// `ptr` is non-NULL and points to a NUL-terminated string that stays
/// unchanged during the call.
pub(crate) unsafe fn path_arg<'a>(ptr: *const c_char) -> &'a Path {
    // SAFETY: by this function's contract.
    let bytes = unsafe { CStr::from_ptr(ptr) }.to_bytes();
    Path::new(OsStr::from_bytes(bytes))
}

impl From<SignatureError> for rha_error {
    fn from(e: SignatureError) -> Self {
        let code = match e.kind {
            SignatureErrorKind::UnsupportedVersion(_) => rha_result::RHA_TREE_UNSUPPORTED_VERSION,
            SignatureErrorKind::Order(_) => rha_result::RHA_TREE_ORDER,
            _ => rha_result::RHA_TREE_CORRUPT,
        };
        rha_error::new(code, e.to_string()).with_offset(e.offset)
    }
}

impl From<TreeReadError> for rha_error {
    fn from(e: TreeReadError) -> Self {
        let os_source: &(dyn std::error::Error + 'static) = &e;
        let os = crate::error::os_code_of(os_source);
        let out: Self = {
            match e {
                TreeReadError::Signature(e) => e.into(),
                e => rha_error::new(rha_result::RHA_IO, e.to_string()),
            }
        };
        out.with_os_code(os)
    }
}

impl From<CompareError> for rha_error {
    fn from(e: CompareError) -> Self {
        let os_source: &(dyn std::error::Error + 'static) = &e;
        let os = crate::error::os_code_of(os_source);
        let out: Self = {
            let message = e.to_string();
            match e {
                CompareError::Read { source, .. } => {
                    let inner = rha_error::from(source);
                    let offset = inner.offset();
                    let e = rha_error::new(inner.code(), message);
                    match offset {
                        Some(o) => e.with_offset(o),
                        None => e,
                    }
                }
                CompareError::Order { .. } => rha_error::new(rha_result::RHA_TREE_ORDER, message),
                _ => rha_error::new(rha_result::RHA_TREE_CORRUPT, message),
            }
        };
        out.with_os_code(os)
    }
}

impl From<GlobError> for rha_error {
    fn from(e: GlobError) -> Self {
        rha_error::new(rha_result::RHA_TREE_BAD_GLOB, e.to_string())
    }
}

impl From<TreeWriteError> for rha_error {
    fn from(e: TreeWriteError) -> Self {
        let os_source: &(dyn std::error::Error + 'static) = &e;
        let os = crate::error::os_code_of(os_source);
        let out: Self = {
            let code = match e {
                TreeWriteError::Io(_) => rha_result::RHA_IO,
                TreeWriteError::Order(_) => rha_result::RHA_TREE_ORDER,
                TreeWriteError::Invalid { .. } => rha_result::RHA_TREE_UNSUPPORTED_ENTRY,
                _ => rha_result::RHA_INVALID_STATE,
            };
            rha_error::new(code, e.to_string())
        };
        out.with_os_code(os)
    }
}

impl From<ScanError> for rha_error {
    fn from(e: ScanError) -> Self {
        let os_source: &(dyn std::error::Error + 'static) = &e;
        let os = crate::error::os_code_of(os_source);
        let out: Self = {
            match e {
                ScanError::Write(e) => e.into(),
                ScanError::NotADirectory(_) => rha_error::invalid_argument(e.to_string()),
                ScanError::BadPath { .. } => {
                    rha_error::new(rha_result::RHA_TREE_UNSUPPORTED_ENTRY, e.to_string())
                }
                e => rha_error::new(rha_result::RHA_IO, e.to_string()),
            }
        };
        out.with_os_code(os)
    }
}
