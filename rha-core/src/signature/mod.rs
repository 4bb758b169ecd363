//! Signatures: compact descriptions of data that let one side find what the
//! other side lacks (SPEC.md §3).
//!
//! [`tree`] describes a whole directory tree (path, kind, size, times, mode,
//! owner, links) and compares two such descriptions into a sync plan.
//! [`block`] cuts one file or volume into blocks: a signature of the
//! replica's copy lets the master describe its own copy as a delta of block
//! copies and literal bytes, which the replica patches in.

pub mod block;
pub mod tree;
