//! `rha_session`: the sans-IO replication session from C
//! (`docs/session-protocol.md`).
//!
//! The caller owns the transport (its own sockets, an encrypted tunnel, a
//! message queue): it feeds received bytes in (`rha_session_receive`), sends
//! what `rha_session_take_output` hands out, calls
//! `rha_session_handle_timeout` at the deadline of `rha_session_poll_timeout`,
//! and acts on `rha_session_poll_event`. Requests (`rha_session_send_journal`,
//! `_grant`, `_ack`, `_control`, `_close`) are in `request.rs`, those of a
//! sync over the session (`rha_session_send_sync`, `_send_sync_reply`) in
//! `sync.rs`; the flat types in `types.rs` and `event.rs`.

mod error;
pub(crate) mod event;
pub(crate) mod request;
pub(crate) mod sync;
pub(crate) mod types;

use rha_core::ha::Instant;
use rha_core::session::{Event, Session};

use crate::buffer::rha_out_buffer;
use crate::error::{rha_error, rha_result};
use event::{flatten_event, flatten_hello, rha_session_event, rha_session_hello};
use types::rha_session_config;

/// One side of a replication session, sans-IO: bytes and time in; bytes to
/// send, events and the next deadline out. No sockets, threads or clocks
/// inside.
///
/// Ownership: made by `rha_session_new`, owned by the caller, released with
/// `rha_session_free`. Thread safety: one thread at a time (it may move
/// between threads); calls from several threads must be serialised by the
/// caller, and the views of `rha_session_poll_event` belong to whichever
/// thread polled last.
#[derive(Debug)]
pub struct rha_session {
    session: Session,
    /// Bytes taken from the session and not yet handed out, from `out_pos`.
    out: Vec<u8>,
    out_pos: usize,
    /// Backing store of the last event's views.
    event: Option<Event>,
}

impl rha_session {
    /// Moves the session's new output behind what waits to be handed out.
    fn gather(&mut self) {
        let more = self.session.take_output();
        if more.is_empty() {
            return;
        }
        if self.out_pos == self.out.len() {
            self.out = more;
            self.out_pos = 0;
        } else {
            self.out.extend_from_slice(&more);
        }
    }

    /// Runs `f` on the session, then gathers what it queued to send.
    pub(crate) fn with<T>(&mut self, f: impl FnOnce(&mut Session) -> T) -> T {
        let r = f(&mut self.session);
        self.gather();
        r
    }

    fn pending(&self) -> &[u8] {
        self.out.get(self.out_pos..).unwrap_or_default()
    }
}

/// # Safety
///
/// `session` is non-NULL, live, and not used by another thread.
pub(crate) unsafe fn session_mut<'a>(session: *mut rha_session) -> &'a mut rha_session {
    // SAFETY: forwarded from this function's contract.
    unsafe { &mut *session }
}

/// # Safety
///
/// `session` is non-NULL, live, and not written by another thread.
unsafe fn session_ref<'a>(session: *const rha_session) -> &'a rha_session {
    // SAFETY: forwarded from this function's contract.
    unsafe { &*session }
}

/// Starts a session at `now_ns` (the caller's monotonic clock, in
/// nanoseconds: the clock of every `now_ns` of this session) with the
/// settings in `*config`. Its preface and hello wait in
/// `rha_session_take_output` at once; send them to the peer.
///
/// On success stores a new session in `*session_out` (release with
/// `rha_session_free`). `config` and the bytes its `name` views are read
/// during the call only.
///
/// Errors: `RHA_NULL_PARAMETER`; `RHA_INVALID_ARGUMENT` for an unknown
/// `struct_size` or `role`, a `heartbeat_ms`, `timeout_ms` or `max_body` of
/// 0, a `can_sync` or `resync` other than 0 or 1, or a `name` that is not
/// UTF-8.
///
/// # Safety
///
/// `config` is NULL or points to an `rha_session_config` (of its declared
/// size) whose `name` view is valid during the call; `session_out` is NULL
/// or valid for writing an `rha_session *`; `error_out` is NULL or valid
/// for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_session_new(
    config: *const rha_session_config,
    now_ns: u64,
    session_out: *mut *mut rha_session,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(
        fallible(error_out),
        non_null(config, session_out),
        handle_out(session_out),
        {
            // SAFETY: non-NULL (checked by ffi_fn!) and readable (its declared size) by contract.
            let config = unsafe { crate::sized::read_sized(config) }?;
            // SAFETY: its view is valid by contract.
            let config = unsafe { config.core() }?;
            let mut s = rha_session {
                session: Session::new(config, Instant::from_nanos(now_ns)),
                out: Vec::new(),
                out_pos: 0,
                event: None,
            };
            s.gather();
            // SAFETY: non-NULL (checked by ffi_fn!) and writable by contract.
            unsafe { crate::handle::store(session_out, s) };
            Ok(rha_result::RHA_OK)
        }
    )
}

/// Releases a session, its unsent output and every view it handed out.
/// NULL does nothing. Send the output first for an orderly close.
///
/// # Safety
///
/// `session` is NULL or a live session, not used again after this call.
#[no_mangle]
pub unsafe extern "C" fn rha_session_free(session: *mut rha_session) {
    ffi_fn!(default(()), non_null(), {
        // SAFETY: NULL or made by `rha_session_new`, not used again, by contract.
        unsafe { crate::handle::free(session) }
    })
}

/// Feeds `len` bytes received from the peer at `now_ns`, in any chunking
/// (a partial message waits for the rest). Any bytes count as the peer's
/// life. Bytes that break the protocol close the session (an
/// `RHA_SESSION_EVENT_CLOSED` with reason protocol, and a close message to
/// send): that is an event, not an error of this call. After the close,
/// bytes are ignored. Afterwards poll events and take the output.
///
/// Errors: `RHA_NULL_PARAMETER` (also for NULL `bytes` with a nonzero
/// `len`).
///
/// # Safety
///
/// `session` is NULL or a live session used by no other thread; `bytes` is
/// valid for reading `len` bytes (or NULL with 0), read during the call
/// only; `error_out` is NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_session_receive(
    session: *mut rha_session,
    bytes: *const u8,
    len: usize,
    now_ns: u64,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(session), {
        // SAFETY: valid by this function's contract.
        let bytes = unsafe { crate::buffer::arg_slice(bytes, len, "bytes")? };
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by contract.
        let s = unsafe { session_mut(session) };
        s.with(|session| session.receive(bytes, Instant::from_nanos(now_ns)));
        Ok(rha_result::RHA_OK)
    })
}

/// The number of bytes waiting to be sent to the peer
/// (`rha_session_take_output`); 0 if `session` is NULL.
///
/// # Safety
///
/// `session` is NULL or a live session used by no other thread.
#[no_mangle]
pub unsafe extern "C" fn rha_session_pending(session: *const rha_session) -> usize {
    ffi_fn!(default(0), non_null(session), {
        // SAFETY: non-NULL (checked by ffi_fn!) and live by contract.
        unsafe { session_ref(session) }.pending().len()
    })
}

/// Copies bytes to send to the peer to `output->dst + output->pos`, at
/// most `output->size - output->pos` of them, and advances `output->pos`.
/// Returns `RHA_OK` when everything waiting has been taken, or
/// `RHA_BLOCKED` when `output` is full and more remains (call again with
/// more room). Send the bytes in order: their concatenation is this side's
/// stream. Call after every call on the session (new, receive,
/// handle_timeout and the requests all queue bytes), until `RHA_OK`.
///
/// Errors: `RHA_NULL_PARAMETER` if `session` or `output` is NULL, or
/// `output->dst` is NULL while there is room; `RHA_INVALID_ARGUMENT` if
/// `output->pos > output->size`.
///
/// # Safety
///
/// `session` is NULL or a live session used by no other thread; `output`
/// is NULL or points to an `rha_out_buffer` whose `dst` is valid for
/// writing `size` bytes; `error_out` is NULL or valid for writing an
/// `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_session_take_output(
    session: *mut rha_session,
    output: *mut rha_out_buffer,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(session, output), {
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by contract.
        let s = unsafe { session_mut(session) };
        // SAFETY: non-NULL (checked by ffi_fn!) and valid by contract.
        let output = unsafe { &mut *output };
        // SAFETY: `dst` is writable for `size` bytes by contract and cannot
        // overlap the session's private queue.
        let n = unsafe { output.fill_from(s.pending()) }?;
        s.out_pos += n;
        if s.out_pos == s.out.len() {
            s.out.clear();
            s.out_pos = 0;
            return Ok(rha_result::RHA_OK);
        }
        Ok(rha_result::RHA_BLOCKED)
    })
}

/// Takes the next event: `RHA_OK` with `*event_out` filled, or `RHA_DONE`
/// when there is none (`*event_out` untouched). Call after every call that
/// feeds the session, until `RHA_DONE`. The views in `*event_out`
/// (`frames`, `name`, `text`, `sync_path`, `sync_data`) belong to the
/// session and stay valid until the next `rha_session_poll_event` on it or
/// its free. A caller built with the first version of `rha_session_event`
/// (a smaller `struct_size`) gets the sync events' kinds without their
/// fields.
///
/// Errors: `RHA_NULL_PARAMETER`; `RHA_INVALID_ARGUMENT` for an unknown
/// `event_out->struct_size` (no event is taken).
///
/// # Safety
///
/// `session` is NULL or a live session used by no other thread;
/// `event_out` is NULL or valid for writing an `rha_session_event`;
/// `error_out` is NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_session_poll_event(
    session: *mut rha_session,
    event_out: *mut rha_session_event,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(session, event_out), {
        // SAFETY: non-NULL (checked by ffi_fn!) and holding its size field by contract.
        let size = unsafe { crate::sized::declared_size(event_out) }?;
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by contract.
        let s = unsafe { session_mut(session) };
        let Some(event) = s.session.poll_event() else {
            return Ok(rha_result::RHA_DONE);
        };
        let event = s.event.insert(event);
        let flat = flatten_event(event);
        // SAFETY: non-NULL (checked by ffi_fn!) and writable by contract.
        unsafe { crate::sized::write_sized(event_out, flat, size) };
        Ok(rha_result::RHA_OK)
    })
}

/// Fills `*hello_out` with the peer's hello: `RHA_OK` once it was heard
/// (its `name` view stays valid until the session is freed), `RHA_BLOCKED`
/// before (the peer's hello has not arrived: feed more bytes;
/// `*hello_out` untouched).
///
/// Errors: `RHA_NULL_PARAMETER`; `RHA_INVALID_ARGUMENT` for an unknown
/// `hello_out->struct_size`.
///
/// # Safety
///
/// `session` is NULL or a live session used by no other thread;
/// `hello_out` is NULL or valid for writing an `rha_session_hello`;
/// `error_out` is NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_session_peer(
    session: *const rha_session,
    hello_out: *mut rha_session_hello,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(session, hello_out), {
        // SAFETY: non-NULL (checked by ffi_fn!) and holding its size field by contract.
        let size = unsafe { crate::sized::declared_size(hello_out) }?;
        // SAFETY: non-NULL (checked by ffi_fn!) and live by contract.
        let s = unsafe { session_ref(session) };
        let Some(hello) = s.session.peer() else {
            return Ok(rha_result::RHA_BLOCKED);
        };
        // SAFETY: non-NULL (checked by ffi_fn!) and writable by contract.
        unsafe { crate::sized::write_sized(hello_out, flatten_hello(hello), size) };
        Ok(rha_result::RHA_OK)
    })
}

/// When `rha_session_handle_timeout` must be called next: returns true and
/// stores the instant (nanoseconds, the clock of `now_ns`) in
/// `*deadline_ns_out`, or returns false (the session is closed; or a NULL
/// argument) leaving it untouched. Ask again after every call on the
/// session.
///
/// # Safety
///
/// `session` is NULL or a live session used by no other thread;
/// `deadline_ns_out` is NULL or valid for writing a `uint64_t`.
#[no_mangle]
pub unsafe extern "C" fn rha_session_poll_timeout(
    session: *const rha_session,
    deadline_ns_out: *mut u64,
) -> bool {
    ffi_fn!(default(false), non_null(session, deadline_ns_out), {
        // SAFETY: non-NULL (checked by ffi_fn!) and live by contract.
        match unsafe { session_ref(session) }.session.poll_timeout() {
            Some(t) => {
                // SAFETY: non-NULL (checked by ffi_fn!) and writable by contract.
                unsafe { deadline_ns_out.write(t.as_nanos()) };
                true
            }
            None => false,
        }
    })
}

/// Lets time pass to `now_ns`: queues a heartbeat when one is due, and ends
/// a session whose peer was silent for the timeout
/// (`RHA_SESSION_EVENT_SILENT`, then `RHA_SESSION_EVENT_CLOSED` with reason
/// timeout). Call when the deadline of `rha_session_poll_timeout` is
/// reached (earlier or more often is harmless).
///
/// Errors: `RHA_NULL_PARAMETER`.
///
/// # Safety
///
/// `session` is NULL or a live session used by no other thread;
/// `error_out` is NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_session_handle_timeout(
    session: *mut rha_session,
    now_ns: u64,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(session), {
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by contract.
        let s = unsafe { session_mut(session) };
        s.with(|session| session.handle_timeout(Instant::from_nanos(now_ns)));
        Ok(rha_result::RHA_OK)
    })
}

/// Whether the handshake is done and the session not closed; false if
/// `session` is NULL.
///
/// # Safety
///
/// `session` is NULL or a live session used by no other thread.
#[no_mangle]
pub unsafe extern "C" fn rha_session_is_connected(session: *const rha_session) -> bool {
    ffi_fn!(default(false), non_null(session), {
        // SAFETY: non-NULL (checked by ffi_fn!) and live by contract.
        unsafe { session_ref(session) }.session.is_connected()
    })
}

/// Whether the session has ended (its last bytes, such as the close
/// message, may still wait in `rha_session_take_output`); true if
/// `session` is NULL.
///
/// # Safety
///
/// `session` is NULL or a live session used by no other thread.
#[no_mangle]
pub unsafe extern "C" fn rha_session_is_closed(session: *const rha_session) -> bool {
    ffi_fn!(default(true), non_null(session), {
        // SAFETY: non-NULL (checked by ffi_fn!) and live by contract.
        unsafe { session_ref(session) }.session.is_closed()
    })
}

/// A master: the bytes of journal frames the replica's window accepts now
/// (`rha_session_send_journal` returns `RHA_BLOCKED` for more). A replica:
/// the room it granted that the master has not used. 0 if `session` is
/// NULL.
///
/// # Safety
///
/// `session` is NULL or a live session used by no other thread.
#[no_mangle]
pub unsafe extern "C" fn rha_session_window(session: *const rha_session) -> u64 {
    ffi_fn!(default(0), non_null(session), {
        // SAFETY: non-NULL (checked by ffi_fn!) and live by contract.
        unsafe { session_ref(session) }.session.window()
    })
}

/// The sequence number of the last record sent (master) or received
/// (replica); after the handshake, where the journal resumes. 0 if
/// `session` is NULL.
///
/// # Safety
///
/// `session` is NULL or a live session used by no other thread.
#[no_mangle]
pub unsafe extern "C" fn rha_session_last_seq(session: *const rha_session) -> u64 {
    ffi_fn!(default(0), non_null(session), {
        // SAFETY: non-NULL (checked by ffi_fn!) and live by contract.
        unsafe { session_ref(session) }.session.last_seq()
    })
}

/// The largest message body both sides accept: this side's `max_body`,
/// and once the peer's hello was heard the lower of it and the peer's. A
/// sync message's body is its `data` plus `RHA_SESSION_SYNC_RECORDS_FIELDS`
/// bytes (records), `RHA_SESSION_SYNC_TREE_FIELDS` (a tree piece) or
/// `RHA_SESSION_SYNC_BLOCKS_FIELDS` (block hashes): size the pieces to fit,
/// or `rha_session_send_sync` and `_send_sync_reply` fail with
/// `RHA_SESSION_TOO_LARGE`. 0 if `session` is NULL.
///
/// # Safety
///
/// `session` is NULL or a live session used by no other thread.
#[no_mangle]
pub unsafe extern "C" fn rha_session_max_body(session: *const rha_session) -> u64 {
    ffi_fn!(default(0), non_null(session), {
        // SAFETY: non-NULL (checked by ffi_fn!) and live by contract.
        unsafe { session_ref(session) }.session.max_body() as u64
    })
}
