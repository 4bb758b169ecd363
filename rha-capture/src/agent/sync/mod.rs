//! Sync over the session (`docs/agents.md`, "Sync"): the master compares
//! the two trees and sends the replica what it lacks as journal records,
//! which the replica applies with the apply engine's directory target.
//!
//! - The replica scans its tree and streams the tree signature; the master
//!   scans its own meanwhile and compares the two
//!   ([`rha_core::signature::tree::compare`]).
//! - A file the replica lacks travels whole under its own name; one that
//!   differs (file mode) into a temporary name beside it, renamed over the
//!   old one once complete. In block mode a file on both sides is compared block by
//!   block: the replica hashes its copy's blocks at fixed offsets, the
//!   master sends only the blocks whose hash differs, written in place.
//! - Every file sent is followed by a check of its length and BLAKE3 hash
//!   as the master read it; a copy that differs is sent again whole.
//! - The replica makes the result durable before it says done. A sync cut
//!   short leaves the replica marked as needing one; the next sync compares
//!   again and sends only what still differs (files the cut sync changed
//!   count as changed).

mod master;
mod replica;
mod worker;

pub(crate) use master::SyncSender;
pub(crate) use replica::SyncReceiver;
pub(crate) use worker::SyncWorker;

use rha_core::session::{Session, SyncMode, SyncReply, BLOCK_HASH_LEN};

/// Where a replica's sync replies go: the session itself, or the outbox of
/// the thread a sync runs on, which the session thread empties into it.
pub(crate) trait Replies {
    /// Queues `reply` to be sent.
    fn send_sync_reply(&mut self, reply: SyncReply) -> Result<(), String>;
    /// The largest message body the session carries.
    fn max_body(&self) -> usize;
    /// Bytes queued and not yet sent.
    fn pending_output(&self) -> usize;
}

impl Replies for Session {
    fn send_sync_reply(&mut self, reply: SyncReply) -> Result<(), String> {
        Session::send_sync_reply(self, reply).map_err(|e| e.to_string())
    }
    fn max_body(&self) -> usize {
        Session::max_body(self)
    }
    fn pending_output(&self) -> usize {
        Session::pending_output(self)
    }
}
use serde::{Deserialize, Serialize};

/// How a master syncs its replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SyncSettings {
    /// Whole files, or blocks at fixed offsets for files on both sides.
    pub mode: SyncMode,
    /// Files of the same size and modification time count as equal (the
    /// file-level default). Off, they are compared by content (by their
    /// blocks' hashes).
    pub ignore_same: bool,
    /// Block size of a block-level comparison (a power of two, 4 KiB to
    /// 16 MiB).
    pub block_size: u32,
}

impl Default for SyncSettings {
    /// File mode, ignore-same on, 64 KiB blocks.
    fn default() -> Self {
        Self {
            mode: SyncMode::File,
            ignore_same: true,
            block_size: 64 << 10,
        }
    }
}

/// A sync's progress, as an agent's status shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SyncStatus {
    /// The run's number.
    pub id: u64,
    /// `scanning`, `sending`, `finishing`, `done` or `failed`.
    pub phase: String,
    /// `file` or `block`.
    pub mode: String,
    /// Paths the run is narrowed to (what a degraded spool marked dirty);
    /// 0: the whole tree.
    #[serde(default)]
    pub scope_paths: u64,
    /// Entries this side scanned (the master: its tree; the replica: its
    /// own).
    pub scanned_entries: u64,
    /// Bytes of the files this side scanned.
    pub scanned_bytes: u64,
    /// A master: plan steps compared so far.
    pub compared: u64,
    /// A master: entries created, changed or deleted on the replica.
    pub sent_entries: u64,
    /// A master: bytes of file content sent.
    pub sent_bytes: u64,
    /// A master: bytes of changed files the replica already had (block
    /// mode).
    pub matched_bytes: u64,
    /// Records of the sync the replica applied.
    pub applied_records: u64,
    /// Bytes of file content the replica wrote.
    pub applied_bytes: u64,
    /// Files sent again after their check failed.
    pub resent: u64,
    /// Master entries skipped: special files, which a journal cannot
    /// create, and files that vanished or could not be read.
    pub skipped: u64,
    /// When the run started, milliseconds since the Unix epoch.
    pub started_unix_ms: u64,
    /// When it ended, if it has.
    pub finished_unix_ms: Option<u64>,
    /// Why it failed, if it did.
    pub error: Option<String>,
}

impl SyncStatus {
    fn new(id: u64, mode: SyncMode) -> Self {
        Self {
            id,
            phase: "scanning".to_owned(),
            mode: match mode {
                SyncMode::File => "file",
                SyncMode::Block => "block",
            }
            .to_owned(),
            started_unix_ms: unix_ms(),
            ..Self::default()
        }
    }

    /// Marks the run ended in `phase`.
    pub(crate) fn finish(&mut self, phase: &str, error: Option<String>) {
        phase.clone_into(&mut self.phase);
        self.finished_unix_ms = Some(unix_ms());
        self.error = error;
    }
}

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Nanoseconds since the Unix epoch, now (a record's timestamp).
fn unix_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// A block's hash as the two sides compare it: BLAKE3, cut to 16 bytes.
fn block_hash(block: &[u8]) -> [u8; BLOCK_HASH_LEN] {
    let mut h = [0u8; BLOCK_HASH_LEN];
    h.copy_from_slice(&blake3::hash(block).as_bytes()[..BLOCK_HASH_LEN]);
    h
}

/// Session output queued at most before a side stops producing sync
/// messages and lets the link drain (the peer reads as it applies, so this
/// bounds memory on both sides).
const OUT_BUDGET: usize = 4 << 20;

/// File content per record, at most (less when the peer accepts smaller
/// messages).
const PIECE: usize = 1 << 20;

/// File content per record for a session whose messages carry at most
/// `max_body` bytes: two records fit one message.
fn piece_for(max_body: usize) -> usize {
    (max_body.saturating_sub(rha_core::session::SYNC_RECORDS_FIELDS) / 2)
        .saturating_sub(512)
        .clamp(512, PIECE)
}
