//! The ready agents from C (`docs/agents.md`): a master agent that sends
//! its spool to a replica over rha's TLS transport (`rha_master_agent_*`),
//! a replica agent that listens, stores and applies (`rha_replica_agent_*`),
//! and the identities that authenticate them (`rha_identity_*`).
//!
//! Each agent runs on threads of its own from `_start` to `_stop` (or
//! `_free`); the caller polls `_status` for the link, the lag and the
//! acknowledged points. The flat status type is here, the configurations
//! and calls in `master.rs` and `replica.rs`, identities in `identity.rs`,
//! the 900s error codes in `error.rs`.

mod error;
pub(crate) mod identity;
pub(crate) mod master;
pub(crate) mod replica;
pub(crate) mod sync;

use std::ffi::c_char;
use std::path::PathBuf;
use std::time::Duration;

use rha_capture::agent::{AgentStatus, LinkState};
use rha_capture::transport::{Fingerprint, Identity, Timeouts};
use sync::{rha_agent_sync_phase, rha_sync_mode};

use crate::buffer::rha_bytes;
use crate::error::rha_error;
use crate::ha::types::utf8_field;
use crate::sized::{declared_size, write_sized};

/// Which agent a status describes (`rha_agent_status.role`). Values never
/// change.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum rha_agent_role {
    /// A master agent: sends its spool.
    RHA_AGENT_MASTER = 1,
    /// A replica agent: stores and applies.
    RHA_AGENT_REPLICA = 2,
}

closed_set!(rha_agent_role {
    RHA_AGENT_MASTER,
    RHA_AGENT_REPLICA,
});

/// The state of an agent's link to its peer (`rha_agent_status.link`).
/// Values never change; expect values a later version adds.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum rha_agent_link {
    /// Not connected: a master retries after its backoff (a refused
    /// handshake, such as a wrong fingerprint, leaves it here); a replica
    /// waits for a master.
    RHA_AGENT_LINK_DOWN = 1,
    /// Connecting, or in the handshake.
    RHA_AGENT_LINK_CONNECTING = 2,
    /// The session is up.
    RHA_AGENT_LINK_CONNECTED = 3,
    /// The agent stopped.
    RHA_AGENT_LINK_STOPPED = 4,
}

closed_set!(rha_agent_link {
    RHA_AGENT_LINK_DOWN,
    RHA_AGENT_LINK_CONNECTING,
    RHA_AGENT_LINK_CONNECTED,
    RHA_AGENT_LINK_STOPPED,
});

impl From<LinkState> for rha_agent_link {
    fn from(l: LinkState) -> Self {
        match l {
            LinkState::Down => Self::RHA_AGENT_LINK_DOWN,
            LinkState::Connecting => Self::RHA_AGENT_LINK_CONNECTING,
            LinkState::Connected => Self::RHA_AGENT_LINK_CONNECTED,
            LinkState::Stopped => Self::RHA_AGENT_LINK_STOPPED,
        }
    }
}

/// A snapshot of an agent, filled by `rha_master_agent_status`,
/// `rha_replica_agent_status` and their `_stop`. The caller allocates it
/// and sets `struct_size` (`rha_agent_status s = {.struct_size = sizeof
/// s};`); rha fills the rest.
///
/// The `sync_*` fields and `resync_needed` were added after the first
/// version of this struct (which ended at `updated_unix_ms`): a caller
/// built with that version's size gets that version's fields only. They
/// describe the agent's last sync over the session (the master comparing
/// the two trees and sending what differs, before the journal), under way
/// or ended, on either side: 0 everywhere, and
/// `sync_phase` `RHA_AGENT_SYNC_NONE`, before the first.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct rha_agent_status {
    /// `sizeof` this struct as the caller knows it: set before the call
    /// (see the conventions on structs with a size field).
    pub struct_size: u32,
    /// An `rha_agent_role` value.
    pub role: u32,
    /// An `rha_agent_link` value.
    pub link: u32,
    /// A replica: application is paused (`RHA_SESSION_CONTROL_PAUSE`).
    pub paused: bool,
    /// A replica: application stopped on an error (the replica keeps what
    /// it applied; fix the cause and start the agent again).
    pub apply_failed: bool,
    /// Sessions started (connections that reached the session; a master
    /// whose handshakes are refused stays at 0).
    pub sessions: u64,
    /// The journal's epoch (0 for a replica that never met a master).
    pub epoch: u64,
    /// A master: the last durable record of its spool. A replica: the last
    /// record stored durably.
    pub last_seq: u64,
    /// The last record acknowledged as stored durably on the replica.
    pub acked_stored: u64,
    /// The last record acknowledged as applied durably on the replica.
    pub acked_applied: u64,
    /// A master: records not yet acknowledged as stored. A replica:
    /// records stored and not yet applied.
    pub lag_records: u64,
    /// Spooled bytes waiting (not yet reclaimed).
    pub lag_bytes: u64,
    /// Age in seconds of the oldest record not yet acknowledged (master)
    /// or applied (replica), by the records' timestamps.
    pub lag_seconds: f64,
    /// Bytes the spool uses.
    pub spool_used_bytes: u64,
    /// Bytes the spool may use (its limit, or the free space).
    pub spool_capacity_bytes: u64,
    /// When the agent last updated the snapshot, milliseconds since the
    /// Unix epoch (0 before its first report).
    pub updated_unix_ms: u64,
    /// The last sync's number (0: none yet).
    pub sync_id: u64,
    /// An `rha_agent_sync_phase` value: where the last sync stands.
    pub sync_phase: u32,
    /// An `rha_sync_mode` value: how the last sync compares and sends.
    pub sync_mode: u32,
    /// Entries this side scanned (a master: its tree; a replica: its own).
    pub sync_scanned_entries: u64,
    /// Bytes of the files this side scanned.
    pub sync_scanned_bytes: u64,
    /// A master: plan steps compared so far.
    pub sync_compared: u64,
    /// A master: entries created, changed or deleted on the replica.
    pub sync_sent_entries: u64,
    /// A master: bytes of file content sent.
    pub sync_sent_bytes: u64,
    /// A master: bytes of changed files the replica already had (block
    /// mode).
    pub sync_matched_bytes: u64,
    /// Records of the sync the replica applied.
    pub sync_applied_records: u64,
    /// Bytes of file content the replica wrote.
    pub sync_applied_bytes: u64,
    /// Files sent again after their check failed.
    pub sync_resent: u64,
    /// A master: entries skipped (special files, files that vanished or
    /// could not be read).
    pub sync_skipped: u64,
    /// When the last sync started, milliseconds since the Unix epoch.
    pub sync_started_unix_ms: u64,
    /// When it ended, milliseconds since the Unix epoch (0 while under
    /// way).
    pub sync_finished_unix_ms: u64,
    /// A master: the replica needs a resynchronisation before it can follow
    /// again (the spool overflowed, or a sync ended with another to
    /// follow).
    pub resync_needed: bool,
}

// The first version ended before `sync_id`.
sized_struct!(
    rha_agent_status,
    older: [std::mem::offset_of!(rha_agent_status, sync_id)]
);

impl rha_agent_status {
    fn from_status(st: &AgentStatus) -> Self {
        let role = if st.role == "replica" {
            rha_agent_role::RHA_AGENT_REPLICA
        } else {
            rha_agent_role::RHA_AGENT_MASTER
        };
        let sync = st.sync.as_ref();
        Self {
            struct_size: std::mem::size_of::<Self>() as u32,
            role: role as u32,
            link: rha_agent_link::from(st.link) as u32,
            paused: st.paused,
            apply_failed: st.apply_error.is_some(),
            sessions: st.sessions,
            epoch: st.epoch,
            last_seq: st.last_seq,
            acked_stored: st.acked_stored,
            acked_applied: st.acked_applied,
            lag_records: st.lag_records,
            lag_bytes: st.lag_bytes,
            lag_seconds: st.lag_seconds,
            spool_used_bytes: st.spool_used_bytes,
            spool_capacity_bytes: st.spool_capacity_bytes,
            updated_unix_ms: st.updated_unix_ms,
            sync_id: sync.map_or(0, |s| s.id),
            sync_phase: rha_agent_sync_phase::of(sync) as u32,
            sync_mode: sync.map_or(rha_sync_mode::RHA_SYNC_FILE, rha_sync_mode::of_status) as u32,
            sync_scanned_entries: sync.map_or(0, |s| s.scanned_entries),
            sync_scanned_bytes: sync.map_or(0, |s| s.scanned_bytes),
            sync_compared: sync.map_or(0, |s| s.compared),
            sync_sent_entries: sync.map_or(0, |s| s.sent_entries),
            sync_sent_bytes: sync.map_or(0, |s| s.sent_bytes),
            sync_matched_bytes: sync.map_or(0, |s| s.matched_bytes),
            sync_applied_records: sync.map_or(0, |s| s.applied_records),
            sync_applied_bytes: sync.map_or(0, |s| s.applied_bytes),
            sync_resent: sync.map_or(0, |s| s.resent),
            sync_skipped: sync.map_or(0, |s| s.skipped),
            sync_started_unix_ms: sync.map_or(0, |s| s.started_unix_ms),
            sync_finished_unix_ms: sync.and_then(|s| s.finished_unix_ms).unwrap_or(0),
            resync_needed: st.resync_needed,
        }
    }
}

/// The declared size of a status struct the caller passed (NULL: none).
///
/// # Safety
///
/// `out` is NULL or valid for reading its `u32` size field.
pub(crate) unsafe fn status_size(out: *mut rha_agent_status) -> Result<Option<usize>, rha_error> {
    if out.is_null() {
        return Ok(None);
    }
    // SAFETY: non-NULL and readable by this function's contract.
    unsafe { declared_size(out) }.map(Some)
}

/// Writes `st` to `out` in the caller's size (from [`status_size`]).
///
/// # Safety
///
/// `size` came from [`status_size`] on `out`, which is valid for writing
/// that many bytes.
pub(crate) unsafe fn write_status(
    out: *mut rha_agent_status,
    size: Option<usize>,
    st: &AgentStatus,
) {
    if let Some(size) = size {
        // SAFETY: by this function's contract.
        unsafe { write_sized(out, rha_agent_status::from_status(st), size) };
    }
}

/// A required path field of a configuration.
///
/// # Safety
///
/// `p` is NULL or a NUL-terminated string.
pub(crate) unsafe fn path_field(p: *const c_char, field: &str) -> Result<PathBuf, rha_error> {
    if p.is_null() {
        return Err(rha_error::null_parameter(field));
    }
    // SAFETY: non-NULL (checked) and NUL-terminated by contract.
    Ok(unsafe { crate::tree::path_arg(p) }.to_path_buf())
}

/// A UTF-8 text field (empty when the view is).
///
/// # Safety
///
/// `b` is a valid view during the call.
pub(crate) unsafe fn text_field(b: &rha_bytes, field: &str) -> Result<String, rha_error> {
    // SAFETY: by this function's contract.
    utf8_field(unsafe { b.as_slice(field) }?, field)
}

/// A fingerprint given as text.
///
/// # Safety
///
/// `b` is a valid view during the call.
pub(crate) unsafe fn fingerprint_field(
    b: &rha_bytes,
    field: &str,
) -> Result<Fingerprint, rha_error> {
    // SAFETY: by this function's contract.
    let text = unsafe { text_field(b, field) }?;
    text.parse::<Fingerprint>().map_err(|e| {
        rha_error::new(
            crate::error::rha_result::RHA_TRANSPORT_BAD_FINGERPRINT,
            format!("`{field}`: {e}"),
        )
    })
}

/// A flag of a struct the caller fills: 0 or 1.
pub(crate) fn flag_field(v: u8, field: &str) -> Result<bool, rha_error> {
    match v {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(rha_error::invalid_argument(format!(
            "`{field}` is {other}, not 0 or 1"
        ))),
    }
}

/// Heartbeat and timeout in milliseconds, both above 0.
pub(crate) fn timing(
    what: &str,
    heartbeat_ms: u64,
    timeout_ms: u64,
) -> Result<(Duration, Duration), rha_error> {
    if heartbeat_ms == 0 || timeout_ms == 0 {
        return Err(rha_error::invalid_argument(format!(
            "{what}: heartbeat_ms ({heartbeat_ms}) and timeout_ms ({timeout_ms}) must not be 0"
        )));
    }
    Ok((
        Duration::from_millis(heartbeat_ms),
        Duration::from_millis(timeout_ms),
    ))
}

/// The transport's timeouts for an agent whose session times out after
/// `timeout`: as `rha serve` and `rha replicate` set them.
pub(crate) fn timeouts(timeout: Duration) -> Timeouts {
    Timeouts {
        connect: Duration::from_secs(5),
        handshake: timeout.min(Duration::from_secs(10)),
        ..Timeouts::default()
    }
}

/// Loads the identity in `dir`, naming it on failure.
pub(crate) fn load_identity(dir: &std::path::Path) -> Result<Identity, rha_error> {
    Identity::load(dir).map_err(rha_error::from)
}

/// A text of an agent's status that a C caller copies out.
#[derive(Debug, Clone, Copy)]
pub(crate) enum StatusText {
    /// How the last session ended (`_last_end`).
    LastEnd,
    /// Why the last sync failed (`_sync_error`).
    SyncError,
}

/// Copies the `which` text of `status` as [`copy_text`] does.
///
/// # Safety
///
/// As [`copy_text`].
pub(crate) unsafe fn copy_status_text(
    status: &AgentStatus,
    which: StatusText,
    out: *mut c_char,
    size: usize,
    len_out: *mut usize,
) -> Result<crate::error::rha_result, rha_error> {
    let text = match which {
        StatusText::LastEnd => status.last_end.as_deref(),
        StatusText::SyncError => status.sync.as_ref().and_then(|s| s.error.as_deref()),
    };
    // SAFETY: forwarded from this function's contract.
    unsafe { copy_text(text, out, size, len_out) }?;
    Ok(crate::error::rha_result::RHA_OK)
}

/// Copies `text` (or nothing, for `None`) NUL-terminated to `out`, cut at a
/// character boundary to fit `size` bytes, and stores its whole length in
/// `*len_out` unless that is NULL.
///
/// # Safety
///
/// `out` is NULL or valid for writing `size` bytes; `len_out` is NULL or
/// valid for writing a `usize`.
pub(crate) unsafe fn copy_text(
    text: Option<&str>,
    out: *mut c_char,
    size: usize,
    len_out: *mut usize,
) -> Result<(), rha_error> {
    let text = text.unwrap_or("");
    if out.is_null() && size != 0 {
        return Err(rha_error::null_parameter("text_out"));
    }
    if size != 0 {
        let mut n = text.len().min(size - 1);
        while !text.is_char_boundary(n) {
            n -= 1;
        }
        // SAFETY: `out` is writable for `size` bytes by this function's
        // contract, and `n < size`.
        unsafe {
            std::ptr::copy_nonoverlapping(text.as_ptr(), out.cast::<u8>(), n);
            out.add(n).write(0);
        }
    }
    if !len_out.is_null() {
        // SAFETY: non-NULL and writable by this function's contract.
        unsafe { len_out.write(text.len()) };
    }
    Ok(())
}
