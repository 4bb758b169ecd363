//! A sync over the session from C (`docs/session-protocol.md`, "Sync"): the
//! master's sync messages (`rha_session_send_sync`) and the replica's
//! replies (`rha_session_send_sync_reply`), both described by an
//! `rha_session_sync_message`, and their flat form in `rha_session_event`.
//!
//! The session carries them in order and checks only who may send which;
//! the embedder runs the sync itself, as `rha-capture`'s agents do: the
//! master begins, sends records, checks and the end; the replica answers
//! with its tree, block hashes, mismatches, progress and done.

use bytes::Bytes;
use rha_core::journal::RelPath;
use rha_core::session::{
    SyncMode, SyncReply, SyncRequest, SyncScope, BLOCK_HASH_LEN, FILE_HASH_LEN, SYNC_BLOCKS_FIELDS,
    SYNC_RECORDS_FIELDS, SYNC_TREE_FIELDS,
};

use super::error::outcome;
use super::event::rha_session_event;
use super::types::decode;
use super::{rha_session, session_mut};
use crate::agent::flag_field;
use crate::agent::sync::{block_size_field, rha_sync_mode};
use crate::buffer::rha_bytes;
use crate::error::{rha_error, rha_result};

/// Bytes of a sync records message's body besides its frames
/// (`rha_session_max_body`).
pub const RHA_SESSION_SYNC_RECORDS_FIELDS: usize = 9;
/// Bytes of a sync reply tree piece's body besides its data
/// (`rha_session_max_body`).
pub const RHA_SESSION_SYNC_TREE_FIELDS: usize = 10;
/// Bytes of a sync reply blocks piece's body besides its hashes
/// (`rha_session_max_body`).
pub const RHA_SESSION_SYNC_BLOCKS_FIELDS: usize = 18;

// The C constants are the protocol's.
const _: () = assert!(
    RHA_SESSION_SYNC_RECORDS_FIELDS == SYNC_RECORDS_FIELDS
        && RHA_SESSION_SYNC_TREE_FIELDS == SYNC_TREE_FIELDS
        && RHA_SESSION_SYNC_BLOCKS_FIELDS == SYNC_BLOCKS_FIELDS
);

/// A sync message from the master to the replica
/// (`rha_session_sync_message.sync_kind` for `rha_session_send_sync`,
/// `rha_session_event.sync_kind` of `RHA_SESSION_EVENT_SYNC`). Values never
/// change (they are the protocol's operation codes).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum rha_session_sync_kind {
    /// A sync starts (`id`, `mode`, `ignore_same`, `block_size`): the
    /// replica scans its tree and answers with `RHA_SESSION_SYNC_REPLY_TREE`
    /// pieces.
    RHA_SESSION_SYNC_BEGIN = 1,
    /// The sync's changes (`data`): journal frames of file-tree operations,
    /// without the journal's stream header, numbered from 1 within the run
    /// and continuing from message to message; the replica applies them in
    /// order.
    RHA_SESSION_SYNC_RECORDS = 2,
    /// Asks for the block hashes of the replica's copy of `path`; `file`
    /// numbers the request, which the replica's
    /// `RHA_SESSION_SYNC_REPLY_BLOCKS` echoes.
    RHA_SESSION_SYNC_BLOCKS = 3,
    /// After the records that brought `path` up to date: its `len` and
    /// `hash` as the master read it. A replica whose copy differs answers
    /// `RHA_SESSION_SYNC_REPLY_MISMATCH`.
    RHA_SESSION_SYNC_CHECK = 4,
    /// The run's last message (`replay_to`, `entries`, `bytes`): the replica
    /// makes the result durable and answers `RHA_SESSION_SYNC_REPLY_DONE`
    /// (after a progress), unless a check failed since the last end.
    RHA_SESSION_SYNC_END = 5,
}

closed_set!(rha_session_sync_kind {
    RHA_SESSION_SYNC_BEGIN,
    RHA_SESSION_SYNC_RECORDS,
    RHA_SESSION_SYNC_BLOCKS,
    RHA_SESSION_SYNC_CHECK,
    RHA_SESSION_SYNC_END,
});

/// A sync reply from the replica to the master
/// (`rha_session_sync_message.sync_kind` for `rha_session_send_sync_reply`,
/// `rha_session_event.sync_kind` of `RHA_SESSION_EVENT_SYNC_REPLY`). Values
/// never change (they are the protocol's operation codes).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum rha_session_sync_reply_kind {
    /// A piece of the replica's tree signature (`data`), the last one
    /// marked (`last`); an empty tree is one empty last piece.
    RHA_SESSION_SYNC_REPLY_TREE = 1,
    /// Hashes of consecutive blocks of the file of request `file` (`data`,
    /// 16 bytes each: BLAKE3 of each block, cut), from where the previous
    /// piece ended; the last piece says so (`last`). A file the replica
    /// does not have answers one empty last piece.
    RHA_SESSION_SYNC_REPLY_BLOCKS = 2,
    /// The replica's copy of `path` does not match its check: the master
    /// sends it again, then the end again.
    RHA_SESSION_SYNC_REPLY_MISMATCH = 3,
    /// What the replica applied of the run so far (`records`, `bytes`).
    RHA_SESSION_SYNC_REPLY_PROGRESS = 4,
    /// The run is applied and durable.
    RHA_SESSION_SYNC_REPLY_DONE = 5,
}

closed_set!(rha_session_sync_reply_kind {
    RHA_SESSION_SYNC_REPLY_TREE,
    RHA_SESSION_SYNC_REPLY_BLOCKS,
    RHA_SESSION_SYNC_REPLY_MISMATCH,
    RHA_SESSION_SYNC_REPLY_PROGRESS,
    RHA_SESSION_SYNC_REPLY_DONE,
});

/// A sync message or reply to send (`rha_session_send_sync`,
/// `rha_session_send_sync_reply`). Fill it with
/// `rha_session_sync_message_init` (all zero, `struct_size` set), then set
/// `sync_kind`, `id` and the fields of that kind; the others are ignored.
///
/// The caller owns it; the calls read it (and the bytes its views `path`
/// and `data` point to) during the call only.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rha_session_sync_message {
    /// `sizeof` this struct as the caller knows it: set before the call
    /// (see the conventions on structs with a size field).
    pub struct_size: u32,
    /// `rha_session_send_sync`: an `rha_session_sync_kind` value.
    /// `rha_session_send_sync_reply`: an `rha_session_sync_reply_kind`
    /// value.
    pub sync_kind: u32,
    /// Every kind: the run (the master's choice at the begin; every message
    /// of the run carries it).
    pub id: u64,
    /// Begin: how files on both sides are compared, an `rha_sync_mode`
    /// value.
    pub mode: u32,
    /// Begin: the block size of a block-level comparison, a power of two
    /// from 4096 to 16 MiB, or 0 for the default (64 KiB).
    pub block_size: u32,
    /// Begin: files of the same size and modification time count as equal:
    /// 0 or 1.
    pub ignore_same: u8,
    /// Check: `hash` is BLAKE3 of the 16-byte hashes of the file's blocks
    /// of the run's block size, in order (a file sent by blocks): 0 or 1
    /// (0: BLAKE3 of its content).
    pub by_blocks: u8,
    /// Reply tree and reply blocks: this is the answer's last piece: 0 or 1.
    pub last: u8,
    /// Blocks, reply blocks: the request's number.
    pub file: u64,
    /// Check: the file's length.
    pub len: u64,
    /// End: the last journal record the sync's content may include
    /// (`UINT64_MAX`: all of them, until the next sync).
    pub replay_to: u64,
    /// End: entries the sync changed.
    pub entries: u64,
    /// End: bytes of file content sent. Reply progress: bytes of file
    /// content written.
    pub bytes: u64,
    /// Reply progress: records applied.
    pub records: u64,
    /// Check: the file's hash (32 bytes; see `by_blocks`).
    pub hash: [u8; 32],
    /// Blocks, check, reply mismatch: the file, a relative path as the
    /// journal defines it (at most 4096 bytes, no empty, `.` or `..`
    /// component, no leading or trailing `/`).
    pub path: rha_bytes,
    /// Begin: the paths the run covers, each a 16-bit little-endian length
    /// and a relative path (a run narrowed to what a degraded spool marked
    /// dirty); empty: the whole tree. Records: the sync's journal frames
    /// (at least one byte). Reply tree: a piece of the tree signature (may
    /// be empty). Reply blocks: block hashes, a multiple of 16 bytes (may
    /// be empty).
    pub data: rha_bytes,
}

impl Default for rha_session_sync_message {
    fn default() -> Self {
        Self {
            struct_size: std::mem::size_of::<Self>() as u32,
            sync_kind: 0,
            id: 0,
            mode: 0,
            block_size: 0,
            ignore_same: 0,
            by_blocks: 0,
            last: 0,
            file: 0,
            len: 0,
            replay_to: 0,
            entries: 0,
            bytes: 0,
            records: 0,
            hash: [0; 32],
            path: rha_bytes::EMPTY,
            data: rha_bytes::EMPTY,
        }
    }
}

sized_struct!(rha_session_sync_message);

const WHAT: &str = "rha_session_sync_message";

impl rha_session_sync_message {
    /// The path it names, checked.
    ///
    /// # Safety
    ///
    /// `path` is a valid view for the duration of the call.
    unsafe fn rel_path(&self) -> Result<RelPath, rha_error> {
        // SAFETY: valid by this function's contract.
        let path = unsafe { self.path.as_slice(&format!("{WHAT}.path"))? };
        RelPath::new(Bytes::copy_from_slice(path))
            .map_err(|e| rha_error::invalid_argument(format!("{WHAT}.path: {e}")))
    }

    /// Its `data`, copied.
    ///
    /// # Safety
    ///
    /// `data` is a valid view for the duration of the call.
    unsafe fn data(&self) -> Result<Bytes, rha_error> {
        // SAFETY: valid by this function's contract.
        Ok(Bytes::copy_from_slice(unsafe {
            self.data.as_slice(&format!("{WHAT}.data"))?
        }))
    }

    fn flag(v: u8, field: &str) -> Result<bool, rha_error> {
        flag_field(v, &format!("{WHAT}.{field}"))
    }

    /// The master's message it describes, checked.
    ///
    /// # Safety
    ///
    /// `path` and `data` are valid views for the duration of the call.
    pub(crate) unsafe fn request(&self) -> Result<SyncRequest, rha_error> {
        use rha_session_sync_kind::*;
        let kind = decode(self.sync_kind, rha_session_sync_kind::from_raw, "sync kind")?;
        let id = self.id;
        Ok(match kind {
            RHA_SESSION_SYNC_BEGIN => {
                let mode = decode(self.mode, rha_sync_mode::from_raw, "sync mode")?;
                SyncRequest::Begin {
                    id,
                    mode: match mode {
                        rha_sync_mode::RHA_SYNC_FILE => SyncMode::File,
                        rha_sync_mode::RHA_SYNC_BLOCK => SyncMode::Block,
                    },
                    ignore_same: Self::flag(self.ignore_same, "ignore_same")?,
                    block_size: block_size_field(self.block_size, &format!("{WHAT}.block_size"))?,
                    // SAFETY: valid by this function's contract.
                    scope: SyncScope::from_bytes(unsafe { self.data() }?)
                        .map_err(|e| rha_error::invalid_argument(format!("{WHAT}.data: {e}")))?,
                }
            }
            RHA_SESSION_SYNC_RECORDS => {
                // SAFETY: valid by this function's contract.
                let frames = unsafe { self.data() }?;
                if frames.is_empty() {
                    return Err(rha_error::invalid_argument(format!(
                        "{WHAT}.data is empty: a sync records message carries at least one frame"
                    )));
                }
                SyncRequest::Records { id, frames }
            }
            RHA_SESSION_SYNC_BLOCKS => SyncRequest::Blocks {
                id,
                file: self.file,
                // SAFETY: valid by this function's contract.
                path: unsafe { self.rel_path() }?,
            },
            RHA_SESSION_SYNC_CHECK => SyncRequest::Check {
                id,
                // SAFETY: valid by this function's contract.
                path: unsafe { self.rel_path() }?,
                len: self.len,
                by_blocks: Self::flag(self.by_blocks, "by_blocks")?,
                hash: self.hash,
            },
            RHA_SESSION_SYNC_END => SyncRequest::End {
                id,
                replay_to: self.replay_to,
                entries: self.entries,
                bytes: self.bytes,
            },
        })
    }

    /// The replica's reply it describes, checked.
    ///
    /// # Safety
    ///
    /// `path` and `data` are valid views for the duration of the call.
    pub(crate) unsafe fn reply(&self) -> Result<SyncReply, rha_error> {
        use rha_session_sync_reply_kind::*;
        let kind = decode(
            self.sync_kind,
            rha_session_sync_reply_kind::from_raw,
            "sync reply kind",
        )?;
        let id = self.id;
        Ok(match kind {
            RHA_SESSION_SYNC_REPLY_TREE => SyncReply::Tree {
                id,
                last: Self::flag(self.last, "last")?,
                // SAFETY: valid by this function's contract.
                chunk: unsafe { self.data() }?,
            },
            RHA_SESSION_SYNC_REPLY_BLOCKS => {
                // SAFETY: valid by this function's contract.
                let hashes = unsafe { self.data() }?;
                if hashes.len() % BLOCK_HASH_LEN != 0 {
                    return Err(rha_error::invalid_argument(format!(
                        "{WHAT}.data holds {} bytes: block hashes are {BLOCK_HASH_LEN} bytes each",
                        hashes.len()
                    )));
                }
                SyncReply::Blocks {
                    id,
                    file: self.file,
                    last: Self::flag(self.last, "last")?,
                    hashes,
                }
            }
            RHA_SESSION_SYNC_REPLY_MISMATCH => SyncReply::Mismatch {
                id,
                // SAFETY: valid by this function's contract.
                path: unsafe { self.rel_path() }?,
            },
            RHA_SESSION_SYNC_REPLY_PROGRESS => SyncReply::Progress {
                id,
                records: self.records,
                bytes: self.bytes,
            },
            RHA_SESSION_SYNC_REPLY_DONE => SyncReply::Done { id },
        })
    }
}

/// Stores an empty sync message in `*message`: `struct_size` set, every
/// other field 0 (views empty). NULL does nothing. Thread-safe.
///
/// # Safety
///
/// `message` is NULL or valid for writing an `rha_session_sync_message`.
#[no_mangle]
pub unsafe extern "C" fn rha_session_sync_message_init(message: *mut rha_session_sync_message) {
    ffi_fn!(default(()), non_null(message), {
        // SAFETY: non-NULL (checked by ffi_fn!) and writable by this function's contract.
        unsafe { message.write(rha_session_sync_message::default()) }
    })
}

/// A master: sends the sync message `*message` (its `sync_kind` an
/// `rha_session_sync_kind` value). The session checks only the direction;
/// the order of a run is the caller's to keep: after a connected event
/// with `sync`, a begin; when the replica's last tree piece arrived, the
/// records of what the replica lacks, each file followed by its check (in
/// block mode, a blocks request first, answered by the replica's block
/// hashes); then the end, after which the replica answers done, or a
/// mismatch (send the file again, then the end again). Nothing is sent on
/// failure. `message` and its views are read during the
/// call only.
///
/// Errors: `RHA_NULL_PARAMETER`; `RHA_INVALID_ARGUMENT` for an unknown
/// `struct_size`, `sync_kind` or `mode`, a `block_size` that is neither 0
/// nor a power of two from 4096 to 16 MiB, a flag other than 0 or 1, empty
/// records, or a `path` that is not a valid relative path;
/// `RHA_SESSION_WRONG_ROLE` on a replica; `RHA_SESSION_NOT_CONNECTED`
/// during the handshake or once closed; `RHA_SESSION_TOO_LARGE` if the
/// message exceeds the lower of the two sides' `max_body`
/// (`rha_session_max_body`; send fewer records at a time).
///
/// # Safety
///
/// `session` is NULL or a live session used by no other thread; `message`
/// is NULL or points to an `rha_session_sync_message` (of its declared
/// size) whose views are valid during the call; `error_out` is NULL or
/// valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_session_send_sync(
    session: *mut rha_session,
    message: *const rha_session_sync_message,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(session, message), {
        // SAFETY: non-NULL (checked by ffi_fn!) and readable (its declared size) by contract.
        let message = unsafe { crate::sized::read_sized(message) }?;
        // SAFETY: its views are valid by contract.
        let request = unsafe { message.request() }?;
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by contract.
        let s = unsafe { session_mut(session) };
        outcome(s.with(|session| session.send_sync(request)))
    })
}

/// A replica: sends the sync reply `*message` (its `sync_kind` an
/// `rha_session_sync_reply_kind` value) to the master's sync. The session
/// checks only the direction; what to answer when is the caller's: its
/// tree signature in pieces after the begin (the last marked), block
/// hashes for each blocks request, a mismatch for a check its copy fails,
/// and after the end (unless a check failed since the last one) progress,
/// then done once the result is durable. Nothing is sent on failure. `message` and its
/// views are read during the call only.
///
/// Errors: `RHA_NULL_PARAMETER`; `RHA_INVALID_ARGUMENT` for an unknown
/// `struct_size` or `sync_kind`, a flag other than 0 or 1, block hashes
/// that are not a multiple of 16 bytes, or a `path` that is not a valid
/// relative path; `RHA_SESSION_WRONG_ROLE` on a master;
/// `RHA_SESSION_NOT_CONNECTED`; `RHA_SESSION_TOO_LARGE` if the message
/// exceeds the lower of the two sides' `max_body` (`rha_session_max_body`;
/// send smaller pieces).
///
/// # Safety
///
/// `session` is NULL or a live session used by no other thread; `message`
/// is NULL or points to an `rha_session_sync_message` (of its declared
/// size) whose views are valid during the call; `error_out` is NULL or
/// valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_session_send_sync_reply(
    session: *mut rha_session,
    message: *const rha_session_sync_message,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(session, message), {
        // SAFETY: non-NULL (checked by ffi_fn!) and readable (its declared size) by contract.
        let message = unsafe { crate::sized::read_sized(message) }?;
        // SAFETY: its views are valid by contract.
        let reply = unsafe { message.reply() }?;
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by contract.
        let s = unsafe { session_mut(session) };
        outcome(s.with(|session| session.send_sync_reply(reply)))
    })
}

/// Fills the sync fields of `out` from `r`, its views borrowing from `r`.
pub(crate) fn flatten_sync(r: &SyncRequest, out: &mut rha_session_event) {
    use rha_session_sync_kind::*;
    out.sync_id = r.id();
    let kind = match r {
        SyncRequest::Begin {
            mode,
            ignore_same,
            block_size,
            scope,
            ..
        } => {
            out.sync_mode = match mode {
                SyncMode::File => rha_sync_mode::RHA_SYNC_FILE,
                SyncMode::Block => rha_sync_mode::RHA_SYNC_BLOCK,
            } as u32;
            out.sync_ignore_same = *ignore_same;
            out.sync_block_size = *block_size;
            out.sync_data = rha_bytes::borrow(scope.as_bytes());
            RHA_SESSION_SYNC_BEGIN
        }
        SyncRequest::Records { frames, .. } => {
            out.sync_data = rha_bytes::borrow(frames);
            RHA_SESSION_SYNC_RECORDS
        }
        SyncRequest::Blocks { file, path, .. } => {
            out.sync_file = *file;
            out.sync_path = rha_bytes::borrow(path.as_bytes());
            RHA_SESSION_SYNC_BLOCKS
        }
        SyncRequest::Check {
            path,
            len,
            by_blocks,
            hash,
            ..
        } => {
            out.sync_path = rha_bytes::borrow(path.as_bytes());
            out.sync_len = *len;
            out.sync_by_blocks = *by_blocks;
            out.sync_hash = *hash;
            RHA_SESSION_SYNC_CHECK
        }
        SyncRequest::End {
            replay_to,
            entries,
            bytes,
            ..
        } => {
            out.sync_replay_to = *replay_to;
            out.sync_entries = *entries;
            out.sync_bytes = *bytes;
            RHA_SESSION_SYNC_END
        }
        // A message a later rha-core adds: `sync_kind` 0, which the
        // caller skips.
        _ => return,
    };
    out.sync_kind = kind as u32;
}

/// Fills the sync fields of `out` from `r`, its views borrowing from `r`.
pub(crate) fn flatten_sync_reply(r: &SyncReply, out: &mut rha_session_event) {
    use rha_session_sync_reply_kind::*;
    out.sync_id = r.id();
    let kind = match r {
        SyncReply::Tree { last, chunk, .. } => {
            out.sync_last = *last;
            out.sync_data = rha_bytes::borrow(chunk);
            RHA_SESSION_SYNC_REPLY_TREE
        }
        SyncReply::Blocks {
            file, last, hashes, ..
        } => {
            out.sync_file = *file;
            out.sync_last = *last;
            out.sync_data = rha_bytes::borrow(hashes);
            RHA_SESSION_SYNC_REPLY_BLOCKS
        }
        SyncReply::Mismatch { path, .. } => {
            out.sync_path = rha_bytes::borrow(path.as_bytes());
            RHA_SESSION_SYNC_REPLY_MISMATCH
        }
        SyncReply::Progress { records, bytes, .. } => {
            out.sync_records = *records;
            out.sync_bytes = *bytes;
            RHA_SESSION_SYNC_REPLY_PROGRESS
        }
        SyncReply::Done { .. } => RHA_SESSION_SYNC_REPLY_DONE,
        // A reply a later rha-core adds: `sync_kind` 0, which the caller
        // skips.
        _ => return,
    };
    out.sync_kind = kind as u32;
}

// The hash fields of the C structs are the protocol's.
const _: () = assert!(FILE_HASH_LEN == 32);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::event::flatten_event;
    use rha_core::session::Event;

    fn message(kind: u32) -> rha_session_sync_message {
        rha_session_sync_message {
            sync_kind: kind,
            id: 7,
            ..Default::default()
        }
    }

    #[test]
    fn every_request_survives_the_c_form_both_ways() {
        use rha_session_sync_kind::*;
        let path = b"dir/file";
        let frames = b"frames";
        let mut cases = Vec::new();
        let mut m = message(RHA_SESSION_SYNC_BEGIN as u32);
        m.mode = rha_sync_mode::RHA_SYNC_BLOCK as u32;
        m.ignore_same = 1;
        m.block_size = 8192;
        cases.push(m);
        let mut m = message(RHA_SESSION_SYNC_RECORDS as u32);
        m.data = rha_bytes::borrow(frames);
        cases.push(m);
        let mut m = message(RHA_SESSION_SYNC_BLOCKS as u32);
        m.file = 3;
        m.path = rha_bytes::borrow(path);
        cases.push(m);
        let mut m = message(RHA_SESSION_SYNC_CHECK as u32);
        m.path = rha_bytes::borrow(path);
        m.len = 99;
        m.by_blocks = 1;
        m.hash = [5; 32];
        cases.push(m);
        let mut m = message(RHA_SESSION_SYNC_END as u32);
        m.replay_to = u64::MAX;
        m.entries = 4;
        m.bytes = 1000;
        cases.push(m);
        for m in cases {
            // SAFETY: the views borrow locals alive for the call.
            let request = unsafe { m.request() }.expect("valid");
            let event = Event::Sync(request.clone());
            let flat = flatten_event(&event);
            assert_eq!(flat.kind, 7);
            assert_eq!(flat.sync_kind, m.sync_kind);
            assert_eq!(flat.sync_id, 7);
            let back = rha_session_sync_message {
                sync_kind: flat.sync_kind,
                id: flat.sync_id,
                mode: flat.sync_mode,
                block_size: flat.sync_block_size,
                ignore_same: u8::from(flat.sync_ignore_same),
                by_blocks: u8::from(flat.sync_by_blocks),
                file: flat.sync_file,
                len: flat.sync_len,
                replay_to: flat.sync_replay_to,
                entries: flat.sync_entries,
                bytes: flat.sync_bytes,
                hash: flat.sync_hash,
                path: flat.sync_path,
                data: flat.sync_data,
                ..Default::default()
            };
            // SAFETY: the views borrow `event`, alive for the call.
            assert_eq!(unsafe { back.request() }.expect("valid"), request);
        }
    }

    #[test]
    fn every_reply_survives_the_c_form_both_ways() {
        use rha_session_sync_reply_kind::*;
        let hashes = [1u8; 32];
        let mut cases = Vec::new();
        let mut m = message(RHA_SESSION_SYNC_REPLY_TREE as u32);
        m.last = 1;
        m.data = rha_bytes::borrow(b"signature");
        cases.push(m);
        let mut m = message(RHA_SESSION_SYNC_REPLY_BLOCKS as u32);
        m.file = 2;
        m.data = rha_bytes::borrow(&hashes);
        cases.push(m);
        let mut m = message(RHA_SESSION_SYNC_REPLY_MISMATCH as u32);
        m.path = rha_bytes::borrow(b"a/b");
        cases.push(m);
        let mut m = message(RHA_SESSION_SYNC_REPLY_PROGRESS as u32);
        m.records = 5;
        m.bytes = 6;
        cases.push(m);
        cases.push(message(RHA_SESSION_SYNC_REPLY_DONE as u32));
        for m in cases {
            // SAFETY: the views borrow locals alive for the call.
            let reply = unsafe { m.reply() }.expect("valid");
            let event = Event::SyncReply(reply.clone());
            let flat = flatten_event(&event);
            assert_eq!(flat.kind, 8);
            assert_eq!((flat.sync_kind, flat.sync_id), (m.sync_kind, 7));
            let back = rha_session_sync_message {
                sync_kind: flat.sync_kind,
                id: flat.sync_id,
                last: u8::from(flat.sync_last),
                file: flat.sync_file,
                bytes: flat.sync_bytes,
                records: flat.sync_records,
                path: flat.sync_path,
                data: flat.sync_data,
                ..Default::default()
            };
            // SAFETY: the views borrow `event`, alive for the call.
            assert_eq!(unsafe { back.reply() }.expect("valid"), reply);
        }
    }

    fn refused(m: rha_session_sync_message, request: bool, needle: &str) {
        // SAFETY: the views borrow statics.
        let e = unsafe {
            if request {
                m.request().map(|_| ())
            } else {
                m.reply().map(|_| ())
            }
        }
        .expect_err("invalid");
        assert_eq!(e.code(), rha_result::RHA_INVALID_ARGUMENT);
        assert!(e.message().contains(needle), "{}", e.message());
    }

    #[test]
    fn invalid_messages_are_refused_with_the_field_named() {
        use rha_session_sync_kind::*;
        refused(message(0), true, "unknown sync kind 0");
        refused(message(6), true, "unknown sync kind 6");
        refused(message(0), false, "unknown sync reply kind 0");
        refused(message(9), false, "unknown sync reply kind 9");
        let mut m = message(RHA_SESSION_SYNC_BEGIN as u32);
        m.mode = 2;
        refused(m, true, "unknown sync mode 2");
        m.mode = 0;
        m.block_size = 5000;
        refused(m, true, "rha_session_sync_message.block_size` is 5000");
        m.block_size = 0;
        m.ignore_same = 2;
        refused(m, true, "rha_session_sync_message.ignore_same` is 2");
        m.ignore_same = 0;
        // SAFETY: no views.
        match unsafe { m.request() }.expect("the default block size") {
            SyncRequest::Begin {
                block_size, scope, ..
            } => {
                assert_eq!(block_size, 64 << 10);
                assert!(scope.is_whole());
            }
            other => panic!("{other:?}"),
        }
        m.data = rha_bytes::borrow(b"\x03\x00a/");
        refused(m, true, "rha_session_sync_message.data: sync scope");
        m.data = rha_bytes::borrow(b"\x03\x00a/b\x01\x00c");
        // SAFETY: `data` is a live view.
        match unsafe { m.request() }.expect("a scope") {
            SyncRequest::Begin { scope, .. } => {
                let paths: Vec<String> = scope.paths().map(|p| p.to_string()).collect();
                assert_eq!(paths, ["a/b", "c"]);
            }
            other => panic!("{other:?}"),
        }
        refused(message(RHA_SESSION_SYNC_RECORDS as u32), true, "empty");
        let mut m = message(RHA_SESSION_SYNC_CHECK as u32);
        refused(m, true, "path");
        m.path = rha_bytes::borrow(b"../up");
        refused(m, true, "rha_session_sync_message.path");
        let mut m = message(rha_session_sync_reply_kind::RHA_SESSION_SYNC_REPLY_BLOCKS as u32);
        m.data = rha_bytes::borrow(&[0; 17]);
        refused(m, false, "17 bytes");
        m.data = rha_bytes::EMPTY;
        m.last = 3;
        refused(m, false, "last` is 3");
    }

    #[test]
    fn the_grown_structs_keep_their_first_versions_sizes() {
        use crate::sized::SizedStruct;
        // The sizes of the released versions, as the ABI baseline holds
        // them: each older caller's struct stays accepted.
        assert_eq!(rha_session_event::SIZES[0], 152);
        assert_eq!(crate::session::types::rha_session_config::SIZES[0], 152);
        assert!(rha_session_event::SIZES[1] > 152);
        assert_eq!(
            rha_session_sync_message::SIZES,
            &[std::mem::size_of::<rha_session_sync_message>()]
        );
    }
}
