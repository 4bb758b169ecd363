//! `rha_master_agent`: a master agent over rha's TLS transport, from C.

use std::ffi::c_char;
use std::time::Duration;

use rha_capture::agent::{
    node_id, scenario_id, tls_connector, MasterAgent, MasterConfig, SyncSettings,
};
use rha_core::journal::Compression;
use rha_core::session::{Control, Point, MAX_TEXT};
use rha_core::spool::AppendOptions;

use super::sync::{rha_sync_mode, settings};
use super::StatusText;
use super::{
    fingerprint_field, flag_field, load_identity, path_field, rha_agent_status, status_size,
    text_field, timeouts, timing, write_status,
};
use crate::buffer::rha_bytes;
use crate::error::{rha_error, rha_result};
use crate::session::types::{decode, rha_session_control_kind};

/// A running master agent: one thread that connects to the replica over
/// TLS (reconnecting with backoff), sends the durable records of its spool
/// in order, and reclaims them as the replica stores them.
///
/// Ownership: made by `rha_master_agent_start`, owned by the caller until
/// `rha_master_agent_stop` (which consumes it) or `rha_master_agent_free`.
/// Thread safety: `_append_journal`, `_status` and `_control` may be called
/// from several threads at once; `_stop` and `_free` only when no other
/// call on the handle is under way.
#[derive(Debug)]
pub struct rha_master_agent {
    agent: MasterAgent,
}

/// How `rha_master_agent_start` runs a master agent. Fill it with
/// `rha_master_agent_config_init` (the defaults, `struct_size` included),
/// then set at least `state_dir`, `identity_dir`, `replica_address` and
/// `peer_fingerprint`.
///
/// The caller owns it; `rha_master_agent_start` reads it (and the strings
/// and bytes it points to) during the call only.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rha_master_agent_config {
    /// `sizeof` this struct as the caller knows it: set before the call
    /// (see the conventions on structs with a size field).
    pub struct_size: u32,
    /// Compress each message's journal frames with zstd: 0 or 1 (default
    /// 0).
    pub zstd: u8,
    /// The agent's state directory (a path, created if missing): its state,
    /// its `status.json` and its spool (in `spool/`), as `rha replicate
    /// --spool DIR` keeps them. One agent at a time: it is locked.
    pub state_dir: *const c_char,
    /// This master's identity directory (`rha_identity_generate`).
    pub identity_dir: *const c_char,
    /// The replica's address, `host:port` (UTF-8), as `rha serve --listen`
    /// or `rha_replica_agent_local_port` give it.
    pub replica_address: rha_bytes,
    /// The replica's fingerprint, `sha256:` and 64 hexadecimal digits: the
    /// only replica this master talks to.
    pub peer_fingerprint: rha_bytes,
    /// The scenario's name, the same on both sides (UTF-8; empty, the
    /// default: derived from the master's and the replica's fingerprints).
    pub scenario_name: rha_bytes,
    /// A name for the replica's logs, such as the host name (UTF-8; empty
    /// by default).
    pub name: rha_bytes,
    /// Milliseconds between heartbeats (the scenario's Is Alive frequency;
    /// default 3000).
    pub heartbeat_ms: u64,
    /// Silence from the replica for this many milliseconds ends a session
    /// (default 30000); it also bounds the TLS handshake, at most 10 s.
    pub timeout_ms: u64,
    /// Journal bytes per message, about (default 1 MiB).
    pub batch_bytes: u64,
    /// The first wait before reconnecting, in milliseconds (default 200),
    /// doubling with jitter up to `retry_max_ms` (default 30000).
    pub retry_min_ms: u64,
    /// See `retry_min_ms`.
    pub retry_max_ms: u64,
    /// The master directory the replica is synchronised from (a path) when
    /// it needs a sync: a fresh replica, one of another epoch, one behind
    /// what the spool still holds, or after an overflow (the master
    /// compares the two trees and sends what differs, before the journal).
    /// NULL, the default: no sync; the journal alone is sent, and a replica
    /// that needs a sync is refused. Added after the first version of this
    /// struct: a caller built with that version's size gets NULL, and the
    /// defaults of the fields below.
    pub root_dir: *const c_char,
    /// How a sync compares and sends: an `rha_sync_mode` value (default
    /// `RHA_SYNC_FILE`, whole files; `RHA_SYNC_BLOCK`, changed blocks of
    /// files on both sides).
    pub sync_mode: u32,
    /// Files of the same size and modification time count as equal: 0 or 1
    /// (default 1). 0 compares them by content (by their blocks' hashes).
    pub ignore_same: u8,
    /// Block size of a block-level comparison, in bytes: a power of two
    /// from 4096 to 16 MiB, or 0 for the default (64 KiB).
    pub sync_block_size: u32,
}

impl Default for rha_master_agent_config {
    fn default() -> Self {
        Self {
            struct_size: std::mem::size_of::<Self>() as u32,
            zstd: 0,
            state_dir: std::ptr::null(),
            identity_dir: std::ptr::null(),
            replica_address: rha_bytes::EMPTY,
            peer_fingerprint: rha_bytes::EMPTY,
            scenario_name: rha_bytes::EMPTY,
            name: rha_bytes::EMPTY,
            heartbeat_ms: 3_000,
            timeout_ms: 30_000,
            batch_bytes: 1 << 20,
            retry_min_ms: 200,
            retry_max_ms: 30_000,
            root_dir: std::ptr::null(),
            sync_mode: rha_sync_mode::RHA_SYNC_FILE as u32,
            ignore_same: 1,
            sync_block_size: 0,
        }
    }
}

// The first version ended before `root_dir`.
sized_struct!(
    rha_master_agent_config,
    older: [std::mem::offset_of!(rha_master_agent_config, root_dir)]
);

/// Stores the default settings in `*config`, `struct_size` included: no
/// directories, address or fingerprint (set them), no scenario name or
/// peer name, no compression, heartbeat 3 s, timeout 30 s, 1 MiB messages,
/// retries from 0.2 s up to 30 s, no sync (`root_dir` NULL; file mode,
/// ignore-same on, 64 KiB blocks once a root is set). NULL does nothing.
/// Thread-safe.
///
/// # Safety
///
/// `config` is NULL or valid for writing an `rha_master_agent_config`.
#[no_mangle]
pub unsafe extern "C" fn rha_master_agent_config_init(config: *mut rha_master_agent_config) {
    ffi_fn!(default(()), non_null(config), {
        // SAFETY: non-NULL (checked by ffi_fn!) and writable by this function's contract.
        unsafe { config.write(rha_master_agent_config::default()) }
    })
}

/// The sync fields of `c`, checked (whether or not `root_dir` is set, so a
/// bad value never waits for the first sync to show).
fn sync_settings(c: &rha_master_agent_config) -> Result<SyncSettings, rha_error> {
    let ignore_same = flag_field(c.ignore_same, "rha_master_agent_config.ignore_same")?;
    settings(
        c.sync_mode,
        ignore_same,
        c.sync_block_size,
        "rha_master_agent_config",
    )
}

/// Checks `c` and makes the agent.
///
/// # Safety
///
/// `c`'s pointers and views are valid during the call.
unsafe fn start(c: &rha_master_agent_config) -> Result<MasterAgent, rha_error> {
    const WHAT: &str = "rha_master_agent_config";
    let zstd = flag_field(c.zstd, "rha_master_agent_config.zstd")?;
    // SAFETY: valid by this function's contract (each).
    let state_dir = unsafe { path_field(c.state_dir, "config->state_dir") }?;
    // SAFETY: as above.
    let identity_dir = unsafe { path_field(c.identity_dir, "config->identity_dir") }?;
    // SAFETY: as above.
    let addr = unsafe { text_field(&c.replica_address, "replica_address") }?;
    if addr.is_empty() {
        return Err(rha_error::invalid_argument(format!(
            "{WHAT}.replica_address is empty: give the replica's host:port"
        )));
    }
    // SAFETY: as above.
    let peer = unsafe { fingerprint_field(&c.peer_fingerprint, "peer_fingerprint") }?;
    // SAFETY: as above.
    let scenario_name = unsafe { text_field(&c.scenario_name, "scenario_name") }?;
    // SAFETY: as above.
    let name = unsafe { text_field(&c.name, "name") }?;
    let (heartbeat, timeout) = timing(WHAT, c.heartbeat_ms, c.timeout_ms)?;
    let sync = sync_settings(c)?;
    let batch_bytes = usize::try_from(c.batch_bytes)
        .ok()
        .filter(|&b| b > 0)
        .ok_or_else(|| {
            rha_error::invalid_argument(format!(
                "{WHAT}.batch_bytes is {}, not a size above 0",
                c.batch_bytes
            ))
        })?;
    if c.retry_max_ms == 0 || c.retry_min_ms > c.retry_max_ms {
        return Err(rha_error::invalid_argument(format!(
            "{WHAT}: retry_min_ms ({}) must not exceed retry_max_ms ({}), which must not be 0",
            c.retry_min_ms, c.retry_max_ms
        )));
    }
    let identity = load_identity(&identity_dir)?;
    let own = identity.fingerprint();
    let scenario_name = (!scenario_name.is_empty()).then_some(scenario_name.as_str());
    let scenario = scenario_id(scenario_name, &own, &peer);
    let mut config = MasterConfig::new(scenario, node_id(&own), state_dir);
    config.name = name;
    config.heartbeat = heartbeat;
    config.timeout = timeout;
    config.batch_bytes = batch_bytes;
    config.retry_min = Duration::from_millis(c.retry_min_ms);
    config.retry_max = Duration::from_millis(c.retry_max_ms);
    if zstd {
        config.compression = Compression::Zstd { level: 3 };
    }
    if !c.root_dir.is_null() {
        // SAFETY: non-NULL (checked) and NUL-terminated by this function's contract.
        config.root = Some(unsafe { path_field(c.root_dir, "config->root_dir") }?);
    }
    config.sync = sync;
    let connector = tls_connector(addr, identity, peer, timeouts(timeout));
    Ok(MasterAgent::start(config, connector)?)
}

/// Starts a master agent as `rha replicate` does: opens (or creates) its
/// state directory and spool, and starts the thread that connects to the
/// replica at `config->replica_address` over TLS as the identity in
/// `config->identity_dir`, accepting only `config->peer_fingerprint`, and
/// sends the spool's records in order. A replica that cannot be reached,
/// or refuses the handshake, is not an error: the agent retries with
/// backoff and its status says so (`RHA_AGENT_LINK_DOWN`). Feed the spool
/// with `rha_master_agent_append_journal`.
///
/// On success stores a new agent in `*agent_out` (stop it with
/// `rha_master_agent_stop`, or `rha_master_agent_free`).
///
/// Errors: `RHA_NULL_PARAMETER` (also for a NULL `state_dir` or
/// `identity_dir`); `RHA_INVALID_ARGUMENT` for an unknown `struct_size`, a
/// `zstd` or `ignore_same` other than 0 or 1, an empty `replica_address`,
/// text that is not UTF-8, a `heartbeat_ms`, `timeout_ms`, `batch_bytes`
/// or `retry_max_ms` of 0, `retry_min_ms` above `retry_max_ms`, a
/// `sync_mode` that is no `rha_sync_mode` value, or a `sync_block_size`
/// that is neither 0 nor a power of two from 4096 to 16 MiB (all checked
/// whether or not `root_dir` is set);
/// `RHA_TRANSPORT_BAD_FINGERPRINT`; `RHA_IDENTITY_MISSING`,
/// `RHA_IDENTITY_INVALID`; `RHA_AGENT_STATE_CORRUPT`,
/// `RHA_AGENT_OTHER_SCENARIO` (the state directory serves another
/// scenario); `RHA_SPOOL_LOCKED` (another agent runs on it) and the
/// spool's other opening errors; `RHA_IO`.
///
/// # Safety
///
/// `config` is NULL or points to an `rha_master_agent_config` (of its
/// declared size) whose strings are NULL or NUL-terminated and whose views
/// are valid during the call; `agent_out` is NULL or valid for writing an
/// `rha_master_agent *`; `error_out` is NULL or valid for writing an
/// `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_master_agent_start(
    config: *const rha_master_agent_config,
    agent_out: *mut *mut rha_master_agent,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(
        fallible(error_out),
        non_null(config, agent_out),
        handle_out(agent_out),
        {
            // SAFETY: non-NULL (checked by ffi_fn!) and readable (its declared size) by contract.
            let config = unsafe { crate::sized::read_sized(config) }?;
            // SAFETY: its pointers and views are valid by contract.
            let agent = unsafe { start(&config) }?;
            // SAFETY: non-NULL (checked by ffi_fn!) and writable by contract.
            unsafe { crate::handle::store(agent_out, rha_master_agent { agent }) };
            Ok(rha_result::RHA_OK)
        }
    )
}

/// # Safety
///
/// `agent` is non-NULL and live.
unsafe fn agent_ref<'a>(agent: *const rha_master_agent) -> &'a MasterAgent {
    // SAFETY: forwarded from this function's contract.
    &unsafe { &*agent }.agent
}

/// Appends the records of `journal` (`journal_len` bytes, as an
/// `rha_journal_writer` writes them, with or without the stream header) to
/// the agent's spool, durably: when the call returns they are on disk and
/// the agent sends them. The records must continue the spool: the first
/// one's sequence number is the spool's next (`status.last_seq + 1`; 1 for
/// a new state directory), the rest consecutive. All or nothing: bytes
/// that do not decode, or records out of sequence, append nothing.
///
/// On success stores the last record's sequence number in `*last_seq_out`
/// unless it is NULL (the spool's last when `journal` holds no record):
/// the replica holds everything once `acked_applied` reaches it.
///
/// Errors: `RHA_NULL_PARAMETER` (`agent`, or `journal` NULL with a nonzero
/// length); `RHA_JOURNAL_SEQUENCE` (the message names the number
/// expected), `RHA_JOURNAL_CORRUPT` and the journal's other errors;
/// `RHA_SPOOL_STOPPED`, `RHA_SPOOL_FAILED`, `RHA_IO`.
///
/// # Safety
///
/// `agent` is NULL or a live master agent; `journal` is valid for reading
/// `journal_len` bytes (or NULL with 0), read during the call only;
/// `last_seq_out` is NULL or valid for writing a `uint64_t`; `error_out`
/// is NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_master_agent_append_journal(
    agent: *const rha_master_agent,
    journal: *const u8,
    journal_len: usize,
    last_seq_out: *mut u64,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(agent), {
        // SAFETY: valid by this function's contract.
        let bytes = unsafe { crate::buffer::arg_slice(journal, journal_len, "journal")? };
        // SAFETY: non-NULL (checked by ffi_fn!) and live by contract.
        let a = unsafe { agent_ref(agent) };
        let done = a.spool().append_journal(bytes, AppendOptions::default())?;
        let last = (done.first_seq + done.records).saturating_sub(1);
        if !last_seq_out.is_null() {
            // SAFETY: non-NULL and writable by contract.
            unsafe { last_seq_out.write(last) };
        }
        Ok(rha_result::RHA_OK)
    })
}

/// Fills `*status_out` (of its declared `struct_size`) with a snapshot of
/// the agent: its link, the last record of its spool, what the replica
/// acknowledged stored and applied, the lag and the spool's use.
///
/// Errors: `RHA_NULL_PARAMETER`; `RHA_INVALID_ARGUMENT` for an unknown
/// `status_out->struct_size`.
///
/// # Safety
///
/// `agent` is NULL or a live master agent; `status_out` is NULL or valid
/// for reading its size field and writing that many bytes; `error_out` is
/// NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_master_agent_status(
    agent: *const rha_master_agent,
    status_out: *mut rha_agent_status,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(agent, status_out), {
        // SAFETY: non-NULL (checked by ffi_fn!) and readable by contract.
        let size = unsafe { status_size(status_out) }?;
        // SAFETY: non-NULL (checked by ffi_fn!) and live by contract.
        let st = unsafe { agent_ref(agent) }.status();
        // SAFETY: the size came from `status_size` on `status_out`.
        unsafe { write_status(status_out, size, &st) };
        Ok(rha_result::RHA_OK)
    })
}

/// Asks the replica to pause application (`RHA_SESSION_CONTROL_PAUSE`; it
/// keeps storing), resume it (`RHA_SESSION_CONTROL_RESUME`), or set a
/// bookmark named `name` (`RHA_SESSION_CONTROL_BOOKMARK`, UTF-8, 1 to 1024
/// bytes) after the last record of the spool now. `kind` is an
/// `rha_session_control_kind` value; `name` is ignored for the first two.
/// Requests go in order, once the session is (or next is) up.
///
/// Errors: `RHA_NULL_PARAMETER` (`agent`, or `name` NULL with a nonzero
/// length); `RHA_INVALID_ARGUMENT` for an unknown `kind`, or a bookmark
/// name that is empty, too long or not UTF-8.
///
/// # Safety
///
/// `agent` is NULL or a live master agent; `name` is valid for reading
/// `name_len` bytes (or NULL with 0), read during the call only;
/// `error_out` is NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_master_agent_control(
    agent: *const rha_master_agent,
    kind: u32,
    name: *const u8,
    name_len: usize,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(agent), {
        let kind = decode(kind, rha_session_control_kind::from_raw, "control kind")?;
        // SAFETY: non-NULL (checked by ffi_fn!) and live by contract.
        let a = unsafe { agent_ref(agent) };
        let control = match kind {
            rha_session_control_kind::RHA_SESSION_CONTROL_PAUSE => Control::Pause,
            rha_session_control_kind::RHA_SESSION_CONTROL_RESUME => Control::Resume,
            rha_session_control_kind::RHA_SESSION_CONTROL_BOOKMARK => {
                // SAFETY: valid by this function's contract.
                let bytes = unsafe { crate::buffer::arg_slice(name, name_len, "name")? };
                let name = std::str::from_utf8(bytes)
                    .map_err(|_| rha_error::invalid_argument("the bookmark's name is not UTF-8"))?;
                if name.is_empty() || name.len() > MAX_TEXT {
                    return Err(rha_error::invalid_argument(format!(
                        "a bookmark's name takes 1 to {MAX_TEXT} bytes, not {}",
                        name.len()
                    )));
                }
                let st = a.status();
                Control::Bookmark {
                    at: Point {
                        epoch: st.epoch,
                        seq: st.last_seq,
                    },
                    name: name.to_owned(),
                }
            }
        };
        a.control(control);
        Ok(rha_result::RHA_OK)
    })
}

/// Why the agent's last session ended (or, for a master, why its last
/// connection attempt failed, such as a replica presenting a certificate
/// that is not the pinned one), as text: written NUL-terminated to
/// `text_out`, cut to fit its `text_size` bytes; the text's whole length
/// (without the NUL) goes to `*len_out` unless that is NULL, so a caller
/// whose buffer was short can call again with a larger one. Empty before
/// any session ended. Thread-safe on one handle, like `_status`.
///
/// Errors: `RHA_NULL_PARAMETER` (`agent`, or `text_out` NULL with a nonzero
/// `text_size`).
///
/// # Safety
///
/// `agent` is NULL or a live master agent; `text_out` is NULL or valid for
/// writing `text_size` bytes; `len_out` is NULL or valid for writing a
/// `size_t`; `error_out` is NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_master_agent_last_end(
    agent: *const rha_master_agent,
    text_out: *mut c_char,
    text_size: usize,
    len_out: *mut usize,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(agent), {
        // SAFETY: non-NULL (checked by ffi_fn!) and live by contract.
        let a = unsafe { &*agent };
        let st = a.agent.status();
        // SAFETY: valid for writing by contract.
        unsafe { super::copy_status_text(&st, StatusText::LastEnd, text_out, text_size, len_out) }
    })
}

/// Why the agent's last sync over the session failed, as text
/// (`rha_agent_status.sync_phase` `RHA_AGENT_SYNC_FAILED`): written
/// NUL-terminated to `text_out`, cut to fit its `text_size` bytes, as
/// `_last_end` does; the whole length goes to `*len_out` unless that is
/// NULL. Empty before any sync, and while the last one is under way or
/// done. Thread-safe on one handle, like `_status`.
///
/// Errors: `RHA_NULL_PARAMETER` (`agent`, or `text_out` NULL with a nonzero
/// `text_size`).
///
/// # Safety
///
/// `agent` is NULL or a live master agent; `text_out` is NULL or valid for
/// writing `text_size` bytes; `len_out` is NULL or valid for writing a
/// `size_t`; `error_out` is NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_master_agent_sync_error(
    agent: *const rha_master_agent,
    text_out: *mut c_char,
    text_size: usize,
    len_out: *mut usize,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(agent), {
        // SAFETY: non-NULL (checked by ffi_fn!) and live by contract.
        let a = unsafe { &*agent };
        let st = a.agent.status();
        // SAFETY: valid for writing by contract.
        unsafe { super::copy_status_text(&st, StatusText::SyncError, text_out, text_size, len_out) }
    })
}

/// Stops the agent and releases it: ends the session in order (the
/// replica acknowledges what it stored), stops its thread and makes the
/// spool durable. The final snapshot goes to `*status_out` unless it is
/// NULL. The handle is consumed in every case, even when the call fails
/// (a bad `struct_size` still stops the agent); NULL `agent` is
/// `RHA_NULL_PARAMETER`.
///
/// Errors: `RHA_NULL_PARAMETER`; `RHA_INVALID_ARGUMENT` for an unknown
/// `status_out->struct_size`; `RHA_AGENT_FAILED` if the spool could not be
/// made durable or the agent's thread had failed.
///
/// # Safety
///
/// `agent` is NULL or a live master agent, not used again after this call
/// and not in use by another thread; `status_out` is NULL or valid for
/// reading its size field and writing that many bytes; `error_out` is NULL
/// or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_master_agent_stop(
    agent: *mut rha_master_agent,
    status_out: *mut rha_agent_status,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(), {
        // SAFETY: NULL or made by `rha_master_agent_start`, not used again, by contract.
        let Some(a) = (unsafe { crate::handle::take(agent) }) else {
            return Err(rha_error::null_parameter("agent"));
        };
        // SAFETY: NULL or readable by contract.
        let size = unsafe { status_size(status_out) };
        let st = a.agent.stop()?;
        let size = size?;
        // SAFETY: the size came from `status_size` on `status_out`.
        unsafe { write_status(status_out, size, &st) };
        Ok(rha_result::RHA_OK)
    })
}

/// Stops the agent without reporting (its session ends in order, its
/// thread stops) and releases it. NULL does nothing.
///
/// # Safety
///
/// `agent` is NULL or a live master agent, not used again after this call
/// and not in use by another thread.
#[no_mangle]
pub unsafe extern "C" fn rha_master_agent_free(agent: *mut rha_master_agent) {
    ffi_fn!(default(()), non_null(), {
        // SAFETY: NULL or made by `rha_master_agent_start`, not used again, by contract.
        unsafe { crate::handle::free(agent) }
    })
}

/// Calls on one handle from several threads at once are sound.
const _: () = {
    const fn sync<T: Sync + Send>() {}
    sync::<rha_master_agent>();
};
