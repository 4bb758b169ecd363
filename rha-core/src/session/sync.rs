//! The messages of a sync over the session (`docs/session-protocol.md`,
//! "Sync"): the master's [`SyncRequest`]s and the replica's
//! [`SyncReply`]s.
//!
//! The session carries them in order and checks only who may send which;
//! the agents run the sync itself. Data travels as the journal's own frames
//! ([`SyncRequest::Records`]), so a replica applies a sync with the engine
//! that applies the journal.

use bytes::{BufMut, Bytes};

use super::SyncScope;
use crate::journal::RelPath;

/// Bytes of a block hash in [`SyncReply::Blocks`].
pub const BLOCK_HASH_LEN: usize = 16;

/// Bytes of a whole-file hash in [`SyncRequest::Check`] (BLAKE3).
pub const FILE_HASH_LEN: usize = 32;

/// The smallest and largest block a block-level sync compares.
pub const MIN_SYNC_BLOCK: u32 = 4096;
/// See [`MIN_SYNC_BLOCK`].
pub const MAX_SYNC_BLOCK: u32 = 16 << 20;

/// How a sync compares files that exist on both sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SyncMode {
    /// Whole files: a file that differs (in size or time, or in content
    /// when same-size-and-time files are checked) is sent whole.
    File,
    /// Blocks at fixed offsets: the replica hashes its copy's blocks, the
    /// master sends only the blocks whose hash differs.
    Block,
}

impl SyncMode {
    pub(crate) fn code(self) -> u8 {
        match self {
            SyncMode::File => 1,
            SyncMode::Block => 2,
        }
    }

    pub(crate) fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(SyncMode::File),
            2 => Some(SyncMode::Block),
            _ => None,
        }
    }
}

/// A sync message from the master to the replica.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SyncRequest {
    /// A sync starts: the replica scans its tree and sends it
    /// ([`SyncReply::Tree`]).
    Begin {
        /// Identifies the run (echoed in every message of it).
        id: u64,
        /// How files on both sides are compared.
        mode: SyncMode,
        /// Files of the same size and modification time count as equal.
        ignore_same: bool,
        /// A block-level sync's block size (a power of two between
        /// [`MIN_SYNC_BLOCK`] and [`MAX_SYNC_BLOCK`]).
        block_size: u32,
        /// What the run covers: the whole tree, or the paths a degraded
        /// spool marked dirty (both sides scan and compare only those).
        scope: SyncScope,
    },
    /// The sync's changes as journal frames (records numbered from 1 within
    /// the run, continuing from message to message), applied in order.
    Records {
        /// The run.
        id: u64,
        /// The frames.
        frames: Bytes,
    },
    /// Asks for the block hashes of the replica's copy of `path`
    /// ([`SyncReply::Blocks`], with the same `file`).
    Blocks {
        /// The run.
        id: u64,
        /// A number the master gives the request.
        file: u64,
        /// The file.
        path: RelPath,
    },
    /// After the records that brought `path` up to date: its length and
    /// hash as the master read it. A replica whose copy differs answers
    /// [`SyncReply::Mismatch`].
    Check {
        /// The run.
        id: u64,
        /// The file.
        path: RelPath,
        /// Its length.
        len: u64,
        /// `false`: `hash` is BLAKE3 of the content. `true` (a file sent
        /// by blocks): BLAKE3 of the [`BLOCK_HASH_LEN`]-byte hashes of its
        /// blocks of the run's block size, in order (the last one short).
        by_blocks: bool,
        /// The hash.
        hash: [u8; FILE_HASH_LEN],
    },
    /// The sync's last message: the replica makes it durable and answers
    /// [`SyncReply::Done`]. Journal records up to `replay_to` may already
    /// be part of what the sync sent: the replica applies them in replay
    /// mode (skipping a change already visible).
    End {
        /// The run.
        id: u64,
        /// The last journal record the sync's content may include.
        replay_to: u64,
        /// Entries the sync changed.
        entries: u64,
        /// Bytes of file content it sent.
        bytes: u64,
    },
}

/// A sync message from the replica to the master.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SyncReply {
    /// A piece of the replica's tree signature (`docs/tree-signature-format.md`).
    Tree {
        /// The run.
        id: u64,
        /// The signature's last piece.
        last: bool,
        /// The bytes.
        chunk: Bytes,
    },
    /// Hashes of consecutive blocks of the file asked for, from where the
    /// previous piece ended ([`BLOCK_HASH_LEN`] bytes each); the last piece
    /// says so. A file the replica does not have answers one empty last
    /// piece.
    Blocks {
        /// The run.
        id: u64,
        /// The request answered.
        file: u64,
        /// The answer's last piece.
        last: bool,
        /// The hashes.
        hashes: Bytes,
    },
    /// The replica's copy of `path` does not match its check.
    Mismatch {
        /// The run.
        id: u64,
        /// The file.
        path: RelPath,
    },
    /// What the replica applied of the run so far.
    Progress {
        /// The run.
        id: u64,
        /// Records applied.
        records: u64,
        /// Bytes of file content written.
        bytes: u64,
    },
    /// The run is applied and durable.
    Done {
        /// The run.
        id: u64,
    },
}

pub(crate) const SYNC_BEGIN: u8 = 1;
pub(crate) const SYNC_RECORDS: u8 = 2;
pub(crate) const SYNC_BLOCKS: u8 = 3;
pub(crate) const SYNC_CHECK: u8 = 4;
pub(crate) const SYNC_END: u8 = 5;

pub(crate) const REPLY_TREE: u8 = 1;
pub(crate) const REPLY_BLOCKS: u8 = 2;
pub(crate) const REPLY_MISMATCH: u8 = 3;
pub(crate) const REPLY_PROGRESS: u8 = 4;
pub(crate) const REPLY_DONE: u8 = 5;

/// A path on the wire: a u16 length, then a valid [`RelPath`].
fn put_path(out: &mut Vec<u8>, path: &RelPath) {
    let b = path.as_bytes();
    out.put_u16_le(b.len() as u16);
    out.put_slice(b);
}

impl SyncRequest {
    /// The run the message belongs to.
    pub fn id(&self) -> u64 {
        match self {
            SyncRequest::Begin { id, .. }
            | SyncRequest::Records { id, .. }
            | SyncRequest::Blocks { id, .. }
            | SyncRequest::Check { id, .. }
            | SyncRequest::End { id, .. } => *id,
        }
    }

    pub(crate) fn encode_body(&self, out: &mut Vec<u8>) {
        match self {
            SyncRequest::Begin {
                id,
                mode,
                ignore_same,
                block_size,
                scope,
            } => {
                out.put_u8(SYNC_BEGIN);
                out.put_u64_le(*id);
                out.put_u8(mode.code());
                out.put_u8(u8::from(*ignore_same));
                out.put_u32_le(*block_size);
                out.put_slice(scope.as_bytes());
            }
            SyncRequest::Records { id, frames } => {
                out.put_u8(SYNC_RECORDS);
                out.put_u64_le(*id);
                out.put_slice(frames);
            }
            SyncRequest::Blocks { id, file, path } => {
                out.put_u8(SYNC_BLOCKS);
                out.put_u64_le(*id);
                out.put_u64_le(*file);
                put_path(out, path);
            }
            SyncRequest::Check {
                id,
                path,
                len,
                by_blocks,
                hash,
            } => {
                out.put_u8(SYNC_CHECK);
                out.put_u64_le(*id);
                put_path(out, path);
                out.put_u64_le(*len);
                out.put_u8(u8::from(*by_blocks));
                out.put_slice(hash);
            }
            SyncRequest::End {
                id,
                replay_to,
                entries,
                bytes,
            } => {
                out.put_u8(SYNC_END);
                out.put_u64_le(*id);
                out.put_u64_le(*replay_to);
                out.put_u64_le(*entries);
                out.put_u64_le(*bytes);
            }
        }
    }
}

impl SyncReply {
    /// The run the message belongs to.
    pub fn id(&self) -> u64 {
        match self {
            SyncReply::Tree { id, .. }
            | SyncReply::Blocks { id, .. }
            | SyncReply::Mismatch { id, .. }
            | SyncReply::Progress { id, .. }
            | SyncReply::Done { id } => *id,
        }
    }

    pub(crate) fn encode_body(&self, out: &mut Vec<u8>) {
        match self {
            SyncReply::Tree { id, last, chunk } => {
                out.put_u8(REPLY_TREE);
                out.put_u64_le(*id);
                out.put_u8(u8::from(*last));
                out.put_slice(chunk);
            }
            SyncReply::Blocks {
                id,
                file,
                last,
                hashes,
            } => {
                out.put_u8(REPLY_BLOCKS);
                out.put_u64_le(*id);
                out.put_u64_le(*file);
                out.put_u8(u8::from(*last));
                out.put_slice(hashes);
            }
            SyncReply::Mismatch { id, path } => {
                out.put_u8(REPLY_MISMATCH);
                out.put_u64_le(*id);
                put_path(out, path);
            }
            SyncReply::Progress { id, records, bytes } => {
                out.put_u8(REPLY_PROGRESS);
                out.put_u64_le(*id);
                out.put_u64_le(*records);
                out.put_u64_le(*bytes);
            }
            SyncReply::Done { id } => {
                out.put_u8(REPLY_DONE);
                out.put_u64_le(*id);
            }
        }
    }
}

/// Bytes of a `sync` message's body before a `records` message's frames
/// (op and id).
pub const SYNC_RECORDS_FIELDS: usize = 9;
/// Bytes of a `sync_reply` body before a `tree` piece (op, id, last).
pub const SYNC_TREE_FIELDS: usize = 10;
/// Bytes of a `sync_reply` body before a `blocks` piece's hashes (op, id,
/// file, last).
pub const SYNC_BLOCKS_FIELDS: usize = 18;
