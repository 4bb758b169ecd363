//! What the embedder asks of a session: send journal frames (master),
//! grant window and acknowledge (replica), control requests (master), and
//! close (either). Each queues bytes for `rha_session_take_output`.

use bytes::Bytes;
use rha_core::session::{Control, Point};

use super::error::outcome;
use super::types::{decode, rha_session_ack_kind, rha_session_control_kind, rha_session_reason};
use super::{rha_session, session_mut};
use crate::error::{rha_error, rha_result};
use crate::ha::types::utf8_field;

/// A master: sends the journal frames `frames` (the journal's own encoding,
/// without its stream header, as the spool stores them) holding the records
/// `first..=last` of the session's epoch. `first` must follow the last
/// record sent (after the handshake: `rha_session_last_seq`, where the
/// journal resumes).
///
/// Returns `RHA_OK` (the message waits in `rha_session_take_output`), or
/// `RHA_BLOCKED` when the replica's window has less room than `frames_len`
/// (`rha_session_window`): not a failure; nothing was sent, and the master
/// sends the same frames after the replica's next grant (stop reading the
/// spool meanwhile). `frames` is copied; read during the call only.
///
/// Errors: `RHA_NULL_PARAMETER`; `RHA_INVALID_ARGUMENT` for no frames
/// (`frames_len` 0); `RHA_SESSION_WRONG_ROLE` on a replica;
/// `RHA_SESSION_NOT_CONNECTED` during the handshake or once closed;
/// `RHA_SESSION_OUT_OF_ORDER` if `first` is not the next record or `last`
/// is below it; `RHA_SESSION_TOO_LARGE` if the frames exceed a message
/// (this side's `max_body` less 24 bytes; give both sides the same
/// `max_body`: send fewer records at a time).
///
/// # Safety
///
/// `session` is NULL or a live session used by no other thread; `frames` is
/// valid for reading `frames_len` bytes (or NULL with 0); `error_out` is
/// NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_session_send_journal(
    session: *mut rha_session,
    first: u64,
    last: u64,
    frames: *const u8,
    frames_len: usize,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(session), {
        // SAFETY: valid by this function's contract.
        let frames = unsafe { crate::buffer::arg_slice(frames, frames_len, "frames")? };
        if frames.is_empty() {
            return Err(rha_error::invalid_argument(
                "argument `frames` is empty: a journal message carries at least one frame",
            ));
        }
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by contract.
        let s = unsafe { session_mut(session) };
        outcome(s.with(|session| session.send_journal(first, last, Bytes::copy_from_slice(frames))))
    })
}

/// A replica: grants the master `bytes` more bytes of journal frames, after
/// it stored or dropped what it received (the total is capped at 2^40).
///
/// Errors: `RHA_NULL_PARAMETER`; `RHA_SESSION_WRONG_ROLE` on a master;
/// `RHA_SESSION_NOT_CONNECTED` during the handshake or once closed.
///
/// # Safety
///
/// `session` is NULL or a live session used by no other thread;
/// `error_out` is NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_session_grant(
    session: *mut rha_session,
    bytes: u64,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(session), {
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by contract.
        let s = unsafe { session_mut(session) };
        outcome(s.with(|session| session.grant(bytes)))
    })
}

/// A replica: acknowledges the records up to `(epoch, seq)` as stored
/// durably in its spool or applied durably to its data (`kind`, an
/// `rha_session_ack_kind` value). Acknowledgements only go forward, never
/// beyond the last record received, and "applied" never passes "stored".
///
/// Errors: `RHA_NULL_PARAMETER`; `RHA_INVALID_ARGUMENT` for an unknown
/// `kind`; `RHA_SESSION_WRONG_ROLE` on a master;
/// `RHA_SESSION_NOT_CONNECTED`; `RHA_SESSION_BAD_ACK` for a point of
/// another epoch, beyond the last record received, behind an earlier
/// acknowledgement, or applied beyond stored (the message says which).
///
/// # Safety
///
/// `session` is NULL or a live session used by no other thread;
/// `error_out` is NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_session_ack(
    session: *mut rha_session,
    kind: u32,
    epoch: u64,
    seq: u64,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(session), {
        let kind = decode(kind, rha_session_ack_kind::from_raw, "acknowledgement kind")?;
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by contract.
        let s = unsafe { session_mut(session) };
        outcome(s.with(|session| session.ack(kind.into(), Point { epoch, seq })))
    })
}

/// A master: sends a control request (`kind`, an `rha_session_control_kind`
/// value): pause applying, resume, or set a bookmark named by the `name_len`
/// bytes at `name` (UTF-8, cut at 1024 bytes) after the point
/// `(epoch, seq)`. `epoch`, `seq` and `name` are ignored for pause and
/// resume; `name` is read during the call only.
///
/// Errors: `RHA_NULL_PARAMETER`; `RHA_INVALID_ARGUMENT` for an unknown
/// `kind` or a `name` that is not UTF-8; `RHA_SESSION_WRONG_ROLE` on a
/// replica; `RHA_SESSION_NOT_CONNECTED`.
///
/// # Safety
///
/// `session` is NULL or a live session used by no other thread; `name` is
/// valid for reading `name_len` bytes (or NULL with 0); `error_out` is NULL
/// or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_session_control(
    session: *mut rha_session,
    kind: u32,
    epoch: u64,
    seq: u64,
    name: *const u8,
    name_len: usize,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(session), {
        use rha_session_control_kind::*;
        let kind = decode(kind, rha_session_control_kind::from_raw, "control kind")?;
        let control = match kind {
            RHA_SESSION_CONTROL_PAUSE => Control::Pause,
            RHA_SESSION_CONTROL_RESUME => Control::Resume,
            RHA_SESSION_CONTROL_BOOKMARK => {
                // SAFETY: valid by this function's contract.
                let name = unsafe { crate::buffer::arg_slice(name, name_len, "name")? };
                Control::Bookmark {
                    at: Point { epoch, seq },
                    name: utf8_field(name, "name")?,
                }
            }
        };
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by contract.
        let s = unsafe { session_mut(session) };
        outcome(s.with(|session| session.control(control)))
    })
}

/// Ends the session with `reason` (an `rha_session_reason` value) and the
/// `text_len` bytes of `text` (UTF-8 details for the peer's logs, cut at
/// 1024 bytes; read during the call only): a close message waits in
/// `rha_session_take_output` (send it, then close the transport) and an
/// `RHA_SESSION_EVENT_CLOSED` with `by_peer` false follows. Does nothing
/// once the session is closed.
///
/// Errors: `RHA_NULL_PARAMETER`; `RHA_INVALID_ARGUMENT` for an unknown
/// `reason` or a `text` that is not UTF-8.
///
/// # Safety
///
/// `session` is NULL or a live session used by no other thread; `text` is
/// valid for reading `text_len` bytes (or NULL with 0); `error_out` is NULL
/// or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_session_close(
    session: *mut rha_session,
    reason: u32,
    text: *const u8,
    text_len: usize,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(session), {
        let reason = decode(reason, rha_session_reason::from_raw, "close reason")?;
        // SAFETY: valid by this function's contract.
        let text = utf8_field(
            unsafe { crate::buffer::arg_slice(text, text_len, "text")? },
            "text",
        )?;
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by contract.
        let s = unsafe { session_mut(session) };
        s.with(|session| session.close(reason.into(), &text));
        Ok(rha_result::RHA_OK)
    })
}
