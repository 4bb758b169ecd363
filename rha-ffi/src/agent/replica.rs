//! `rha_replica_agent`: a replica agent serving masters over rha's TLS
//! transport, from C.

use std::ffi::c_char;

use rha_capture::agent::{node_id, scenario_id, ReplicaAgent, ReplicaConfig, ReplicaServer};
use rha_capture::transport::{Fingerprint, Listener};

use super::StatusText;
use super::{
    fingerprint_field, flag_field, load_identity, path_field, rha_agent_status, status_size,
    text_field, timeouts, timing, write_status,
};
use crate::buffer::rha_bytes;
use crate::error::{rha_error, rha_result};

/// A running replica agent: listens for its masters over TLS, serves one
/// session at a time, stores what arrives in its own spool durably,
/// acknowledges it, and applies it in order to the replica directory.
///
/// Ownership: made by `rha_replica_agent_start`, owned by the caller until
/// `rha_replica_agent_stop` (which consumes it) or `rha_replica_agent_free`.
/// Thread safety: `_status` and `_local_port` may be called from several
/// threads at once; `_stop` and `_free` only when no other call on the
/// handle is under way.
#[derive(Debug)]
pub struct rha_replica_agent {
    server: ReplicaServer,
}

/// How `rha_replica_agent_start` runs a replica agent. Fill it with
/// `rha_replica_agent_config_init` (the defaults, `struct_size` included),
/// then set at least `root`, `identity_dir`, `listen_address` and the
/// allowed fingerprints.
///
/// The caller owns it; `rha_replica_agent_start` reads it (and the strings,
/// the array and the bytes it points to) during the call only.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rha_replica_agent_config {
    /// `sizeof` this struct as the caller knows it: set before the call
    /// (see the conventions on structs with a size field).
    pub struct_size: u32,
    /// Keep a rewind log on the replica (rewind points and bookmarks on
    /// the live replica): 0 or 1 (default 0).
    pub rewind: u8,
    /// The replica directory (a path; it must exist). The agent keeps its
    /// state and its spool of received records in `.rha` inside, and locks
    /// it.
    pub root: *const c_char,
    /// This replica's identity directory (`rha_identity_generate`).
    pub identity_dir: *const c_char,
    /// The address to listen on, `host:port` (UTF-8); port 0 takes any free
    /// port (`rha_replica_agent_local_port` tells which).
    pub listen_address: rha_bytes,
    /// The fingerprints of the masters allowed to connect (`sha256:` and 64
    /// hexadecimal digits each): `allowed_count` views, at least one.
    pub allowed: *const rha_bytes,
    /// The number of views at `allowed`.
    pub allowed_count: usize,
    /// The scenario's name, the same on both sides (UTF-8). Empty, the
    /// default, derives it from the one allowed master's fingerprint and
    /// this replica's; with more than one allowed master a name is
    /// required.
    pub scenario_name: rha_bytes,
    /// A name for the master's logs, such as the host name (UTF-8; empty by
    /// default).
    pub name: rha_bytes,
    /// Bytes of journal a master may send ahead of the acknowledgements
    /// (default 8 MiB).
    pub window: u64,
    /// Milliseconds between heartbeats (default 3000).
    pub heartbeat_ms: u64,
    /// Silence from the master for this many milliseconds ends a session
    /// (default 30000); it also bounds the TLS handshake, at most 10 s.
    pub timeout_ms: u64,
}

impl Default for rha_replica_agent_config {
    fn default() -> Self {
        Self {
            struct_size: std::mem::size_of::<Self>() as u32,
            rewind: 0,
            root: std::ptr::null(),
            identity_dir: std::ptr::null(),
            listen_address: rha_bytes::EMPTY,
            allowed: std::ptr::null(),
            allowed_count: 0,
            scenario_name: rha_bytes::EMPTY,
            name: rha_bytes::EMPTY,
            window: 8 << 20,
            heartbeat_ms: 3_000,
            timeout_ms: 30_000,
        }
    }
}

sized_struct!(rha_replica_agent_config);

/// Stores the default settings in `*config`, `struct_size` included: no
/// directories, address or allowed masters (set them), no rewind, no
/// scenario or peer name, a window of 8 MiB, heartbeat 3 s, timeout 30 s.
/// NULL does nothing. Thread-safe.
///
/// # Safety
///
/// `config` is NULL or valid for writing an `rha_replica_agent_config`.
#[no_mangle]
pub unsafe extern "C" fn rha_replica_agent_config_init(config: *mut rha_replica_agent_config) {
    ffi_fn!(default(()), non_null(config), {
        // SAFETY: non-NULL (checked by ffi_fn!) and writable by this function's contract.
        unsafe { config.write(rha_replica_agent_config::default()) }
    })
}

/// Checks `c` and starts the server.
///
/// # Safety
///
/// `c`'s pointers, array and views are valid during the call.
unsafe fn start(c: &rha_replica_agent_config) -> Result<ReplicaServer, rha_error> {
    const WHAT: &str = "rha_replica_agent_config";
    let rewind = flag_field(c.rewind, "rha_replica_agent_config.rewind")?;
    // SAFETY: valid by this function's contract (each).
    let root = unsafe { path_field(c.root, "config->root") }?;
    // SAFETY: as above.
    let identity_dir = unsafe { path_field(c.identity_dir, "config->identity_dir") }?;
    // SAFETY: as above.
    let listen = unsafe { text_field(&c.listen_address, "listen_address") }?;
    if listen.is_empty() {
        return Err(rha_error::invalid_argument(format!(
            "{WHAT}.listen_address is empty: give host:port (port 0: any free port)"
        )));
    }
    if c.allowed_count == 0 {
        return Err(rha_error::invalid_argument(format!(
            "{WHAT}.allowed_count is 0: allow at least one master's fingerprint"
        )));
    }
    if c.allowed.is_null() {
        return Err(rha_error::null_parameter("config->allowed"));
    }
    // SAFETY: non-NULL (checked) and readable for `allowed_count` views by
    // this function's contract.
    let views = unsafe { std::slice::from_raw_parts(c.allowed, c.allowed_count) };
    let allowed = views
        .iter()
        .enumerate()
        // SAFETY: each view is valid by this function's contract.
        .map(|(i, v)| unsafe { fingerprint_field(v, &format!("allowed[{i}]")) })
        .collect::<Result<Vec<Fingerprint>, _>>()?;
    // SAFETY: as above.
    let scenario_name = unsafe { text_field(&c.scenario_name, "scenario_name") }?;
    // SAFETY: as above.
    let name = unsafe { text_field(&c.name, "name") }?;
    let (heartbeat, timeout) = timing(WHAT, c.heartbeat_ms, c.timeout_ms)?;
    let identity = load_identity(&identity_dir)?;
    let own = identity.fingerprint();
    let scenario = match (scenario_name.is_empty(), allowed.as_slice()) {
        (false, _) => scenario_id(Some(&scenario_name), &own, &own),
        (true, [master]) => scenario_id(None, master, &own),
        (true, _) => {
            return Err(rha_error::invalid_argument(format!(
                "{WHAT}.scenario_name is empty: give the scenario's name when more than one \
                 master is allowed"
            )))
        }
    };
    let mut config = ReplicaConfig::new(scenario, node_id(&own), root);
    config.name = name;
    config.rewind = rewind;
    config.window = c.window;
    config.heartbeat = heartbeat;
    config.timeout = timeout;
    let agent = ReplicaAgent::open(config)?;
    let listener = Listener::bind(listen.as_str(), &identity, &allowed, timeouts(timeout))?;
    Ok(ReplicaServer::start(agent, listener)?)
}

/// Starts a replica agent as `rha serve` does: opens the replica at
/// `config->root` (taking its lock and finishing what a crash
/// interrupted), starts applying what it stored earlier, listens on
/// `config->listen_address` as the identity in `config->identity_dir`,
/// and serves the allowed masters, one session at a time, on threads of
/// its own. A master refused in the handshake (a stranger, not TLS) is
/// logged and the agent goes on.
///
/// On success stores a new agent in `*agent_out` (stop it with
/// `rha_replica_agent_stop`, or `rha_replica_agent_free`).
///
/// Errors: `RHA_NULL_PARAMETER` (also for a NULL `root`, `identity_dir` or
/// `allowed`); `RHA_INVALID_ARGUMENT` for an unknown `struct_size`, a
/// `rewind` other than 0 or 1, an empty `listen_address`, no allowed
/// master, several without a `scenario_name`, text that is not UTF-8, a
/// `heartbeat_ms` or `timeout_ms` of 0; `RHA_TRANSPORT_BAD_FINGERPRINT`;
/// `RHA_IDENTITY_MISSING`, `RHA_IDENTITY_INVALID`; `RHA_REPLICA_BUSY`
/// (another agent or handle holds the replica) and the replica's other
/// opening errors; `RHA_AGENT_STATE_CORRUPT`, `RHA_AGENT_OTHER_SCENARIO`;
/// `RHA_TRANSPORT_LISTEN` (the address is in use or not local); `RHA_IO`.
///
/// # Safety
///
/// `config` is NULL or points to an `rha_replica_agent_config` (of its
/// declared size) whose strings are NULL or NUL-terminated, whose
/// `allowed` is valid for reading `allowed_count` views, and whose views
/// are valid during the call; `agent_out` is NULL or valid for writing an
/// `rha_replica_agent *`; `error_out` is NULL or valid for writing an
/// `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_replica_agent_start(
    config: *const rha_replica_agent_config,
    agent_out: *mut *mut rha_replica_agent,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(
        fallible(error_out),
        non_null(config, agent_out),
        handle_out(agent_out),
        {
            // SAFETY: non-NULL (checked by ffi_fn!) and readable (its declared size) by contract.
            let config = unsafe { crate::sized::read_sized(config) }?;
            // SAFETY: its pointers, array and views are valid by contract.
            let server = unsafe { start(&config) }?;
            // SAFETY: non-NULL (checked by ffi_fn!) and writable by contract.
            unsafe { crate::handle::store(agent_out, rha_replica_agent { server }) };
            Ok(rha_result::RHA_OK)
        }
    )
}

/// The port the agent listens on (the one chosen when the address gave
/// port 0); 0 if `agent` is NULL.
///
/// # Safety
///
/// `agent` is NULL or a live replica agent.
#[no_mangle]
pub unsafe extern "C" fn rha_replica_agent_local_port(agent: *const rha_replica_agent) -> u16 {
    ffi_fn!(default(0), non_null(agent), {
        // SAFETY: non-NULL (checked by ffi_fn!) and live by contract.
        unsafe { &*agent }.server.local_addr().port()
    })
}

/// Fills `*status_out` (of its declared `struct_size`) with a snapshot of
/// the agent: its link, the last record stored, the last applied
/// (`acked_applied`), the records waiting to be applied, whether
/// application is paused or failed, and the spool's use.
///
/// Errors: `RHA_NULL_PARAMETER`; `RHA_INVALID_ARGUMENT` for an unknown
/// `status_out->struct_size`.
///
/// # Safety
///
/// `agent` is NULL or a live replica agent; `status_out` is NULL or valid
/// for reading its size field and writing that many bytes; `error_out` is
/// NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_replica_agent_status(
    agent: *const rha_replica_agent,
    status_out: *mut rha_agent_status,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(agent, status_out), {
        // SAFETY: non-NULL (checked by ffi_fn!) and readable by contract.
        let size = unsafe { status_size(status_out) }?;
        // SAFETY: non-NULL (checked by ffi_fn!) and live by contract.
        let st = unsafe { &*agent }.server.status();
        // SAFETY: the size came from `status_size` on `status_out`.
        unsafe { write_status(status_out, size, &st) };
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
/// `agent` is NULL or a live replica agent; `text_out` is NULL or valid for
/// writing `text_size` bytes; `len_out` is NULL or valid for writing a
/// `size_t`; `error_out` is NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_replica_agent_last_end(
    agent: *const rha_replica_agent,
    text_out: *mut c_char,
    text_size: usize,
    len_out: *mut usize,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(agent), {
        // SAFETY: non-NULL (checked by ffi_fn!) and live by contract.
        let a = unsafe { &*agent };
        let st = a.server.status();
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
/// `agent` is NULL or a live replica agent; `text_out` is NULL or valid for
/// writing `text_size` bytes; `len_out` is NULL or valid for writing a
/// `size_t`; `error_out` is NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_replica_agent_sync_error(
    agent: *const rha_replica_agent,
    text_out: *mut c_char,
    text_size: usize,
    len_out: *mut usize,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(agent), {
        // SAFETY: non-NULL (checked by ffi_fn!) and live by contract.
        let a = unsafe { &*agent };
        let st = a.server.status();
        // SAFETY: valid for writing by contract.
        unsafe { super::copy_status_text(&st, StatusText::SyncError, text_out, text_size, len_out) }
    })
}

/// Stops the agent and releases it: ends the session under way in order,
/// stops listening, and stops applying after a last checkpoint (what was
/// applied is durable). The final snapshot goes to `*status_out` unless it
/// is NULL. The handle is consumed in every case, even when the call fails
/// (a bad `struct_size` still stops the agent); NULL `agent` is
/// `RHA_NULL_PARAMETER`.
///
/// Errors: `RHA_NULL_PARAMETER`; `RHA_INVALID_ARGUMENT` for an unknown
/// `status_out->struct_size`; `RHA_AGENT_FAILED` if a thread of the agent
/// had failed; the replica's errors if its last checkpoint fails.
///
/// # Safety
///
/// `agent` is NULL or a live replica agent, not used again after this call
/// and not in use by another thread; `status_out` is NULL or valid for
/// reading its size field and writing that many bytes; `error_out` is NULL
/// or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_replica_agent_stop(
    agent: *mut rha_replica_agent,
    status_out: *mut rha_agent_status,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(), {
        // SAFETY: NULL or made by `rha_replica_agent_start`, not used again, by contract.
        let Some(a) = (unsafe { crate::handle::take(agent) }) else {
            return Err(rha_error::null_parameter("agent"));
        };
        // SAFETY: NULL or readable by contract.
        let size = unsafe { status_size(status_out) };
        let st = a.server.stop()?;
        let size = size?;
        // SAFETY: the size came from `status_size` on `status_out`.
        unsafe { write_status(status_out, size, &st) };
        Ok(rha_result::RHA_OK)
    })
}

/// Stops the agent without reporting (as `rha_replica_agent_stop`) and
/// releases it. NULL does nothing.
///
/// # Safety
///
/// `agent` is NULL or a live replica agent, not used again after this call
/// and not in use by another thread.
#[no_mangle]
pub unsafe extern "C" fn rha_replica_agent_free(agent: *mut rha_replica_agent) {
    ffi_fn!(default(()), non_null(), {
        // SAFETY: NULL or made by `rha_replica_agent_start`, not used again, by contract.
        unsafe { crate::handle::free(agent) }
    })
}

/// Calls on one handle from several threads at once are sound.
const _: () = {
    const fn sync<T: Sync + Send>() {}
    sync::<rha_replica_agent>();
};
