//! Tree signatures and sync plans: file-level synchronisation (SPEC.md §3).
//!
//! A scan of a directory tree (done by `rha-capture`) is a stream of
//! [`Entry`]s in signature order ([`path_order`]: a depth-first walk with
//! each directory's children sorted by name). [`TreeWriter`] stores it as a
//! tree signature file, block by block, each block checksummed;
//! [`TreeReader`] (over any `Read`) and [`TreeDecoder`] (fed bytes, sans-IO)
//! read it back. The byte layout is specified in
//! `docs/tree-signature-format.md`.
//!
//! [`compare`] merges the master's and the replica's signatures in one pass
//! and yields the sync plan: [`PlanOp`]s in a safe order that, applied to
//! the replica, make it equal to the master. Memory stays bounded whatever
//! the number of entries: one block per reader, one frame per directory
//! level, one record per hard-linked file.
//!
//! ```
//! use rha_core::journal::RelPath;
//! use rha_core::signature::tree::{compare, CompareOptions, Entry, EntryKind, PlanOp, TreeReader, TreeWriter};
//!
//! let dir = |p: &str| Entry::new(RelPath::new(p.to_owned()).unwrap(), EntryKind::Dir);
//! let file = |p: &str, mtime_ns| {
//!     let mut e = Entry::new(RelPath::new(p.to_owned()).unwrap(), EntryKind::File);
//!     e.mtime_ns = mtime_ns;
//!     e
//! };
//! let write = |entries: &[Entry]| -> Vec<u8> {
//!     let mut w = TreeWriter::new(Vec::new());
//!     entries.iter().for_each(|e| w.push(e).unwrap());
//!     w.finish().unwrap()
//! };
//! let master = write(&[dir("d"), file("d/new", 5), file("d/same", 1)]);
//! let replica = write(&[dir("d"), file("d/old", 9), file("d/same", 1)]);
//!
//! let plan = compare(TreeReader::new(&master[..]), TreeReader::new(&replica[..]), CompareOptions::default());
//! let ops: Vec<String> = plan.map(|op| op.map(|op| format!("{} {}", op.name(), op.path()))).collect::<Result<_, _>>()?;
//! // The directory's time is fixed after its contents changed.
//! assert_eq!(ops, ["create d/new", "delete d/old", "attrs d"]);
//! # Ok::<(), rha_core::signature::tree::CompareError>(())
//! ```

mod compare;
mod entry;
mod error;
mod format;
mod glob;
mod order;

#[cfg(test)]
mod tests;

pub use compare::{compare, AttrChanges, Compare, CompareOptions, PlanOp};
pub use entry::{
    is_inside, path_order, Entry, EntryKind, HardLink, XattrDigest, MAX_TARGET_LEN,
    XATTR_DIGEST_LEN,
};
pub use error::{
    CompareError, GlobError, Side, SignatureError, SignatureErrorKind, TreeReadError,
    TreeWriteError,
};
pub use format::{
    TreeDecoder, TreeReader, TreeWriter, BLOCK_HEADER_LEN, MAX_BLOCK_BODY, MAX_BLOCK_ENTRIES,
    TREE_FORMAT_VERSION, TREE_HEADER_LEN, TREE_MAGIC, TREE_MIN_FORMAT_VERSION,
};
pub use glob::Glob;
pub use order::OrderError;
