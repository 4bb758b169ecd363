//! `rha_spool`: the durable, bounded, crash-safe queue of journal records.

pub(crate) mod dirty;
mod error;
pub(crate) mod reader;
pub(crate) mod types;

use std::ffi::{c_char, CStr};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::ptr;
use std::time::Duration;

use rha_core::spool::{
    AppendOptions, OverflowPolicy, Spool, SpoolConfig, SpoolEvent, SpoolMode, Ticket, WhenFull,
};

use crate::error::{rha_error, rha_result};
use crate::record::rha_record;

use types::{
    recovery_view, rha_spool_append_options, rha_spool_event, rha_spool_event_kind, rha_spool_mode,
    rha_spool_policy, rha_spool_recovery, rha_spool_ticket, rha_spool_usage, rha_spool_when_full,
};

/// Settings for a spool, consumed by `rha_spool_build`.
///
/// Ownership: made by `rha_spool_builder_new`, owned by the caller until
/// passed to `rha_spool_build` (which frees it, even when it fails) or
/// `rha_spool_builder_free`. Thread safety: one thread at a time.
#[derive(Debug)]
pub struct rha_spool_builder {
    dir: PathBuf,
    config: SpoolConfig,
}

/// An open spool: a directory of segment files holding journal records that
/// cannot move on yet, with an acknowledged position that survives restarts.
///
/// Ownership: made by `rha_spool_build`, owned by the caller, released with
/// `rha_spool_close` or `rha_spool_free`. Thread safety: every function
/// taking a `const rha_spool *` may be called from several threads at once
/// on the same spool (producers appending concurrently share syncs);
/// `rha_spool_close` and `rha_spool_free` must not race with other calls.
pub struct rha_spool {
    spool: Spool,
}

/// Makes a spool builder for the directory `dir` (a NUL-terminated path,
/// created if missing), with the defaults: unlimited size, 1 GiB minimum
/// free space, 64 MiB segments, the stop overflow policy, first sequence
/// number 1, no salvage.
///
/// Returns a new builder owned by the caller (pass it to `rha_spool_build`
/// or `rha_spool_builder_free`), or NULL if `dir` is NULL. The path is
/// copied. Thread-safe.
///
/// # Safety
///
/// `dir` is NULL or a NUL-terminated string readable for the call.
#[no_mangle]
pub unsafe extern "C" fn rha_spool_builder_new(dir: *const c_char) -> *mut rha_spool_builder {
    ffi_fn!(default(ptr::null_mut()), non_null(dir), {
        // SAFETY: non-NULL (checked by ffi_fn!) and NUL-terminated by this function's contract.
        let dir = unsafe { CStr::from_ptr(dir) };
        crate::handle::new(rha_spool_builder {
            dir: PathBuf::from(std::ffi::OsStr::from_bytes(dir.to_bytes())),
            config: SpoolConfig::default(),
        })
    })
}

/// Applies `f` to a live builder.
///
/// # Safety
///
/// `builder` is non-NULL, live and not used by another thread.
unsafe fn with_builder(
    builder: *mut rha_spool_builder,
    f: impl FnOnce(SpoolConfig) -> Result<SpoolConfig, rha_error>,
) -> Result<rha_result, rha_error> {
    // SAFETY: by this function's contract.
    let builder = unsafe { &mut *builder };
    builder.config = f(builder.config.clone())?;
    Ok(rha_result::RHA_OK)
}

/// Sets the maximum spool size in bytes; 0 means unlimited (the default).
///
/// Errors: `RHA_NULL_PARAMETER` if `builder` is NULL.
///
/// # Safety
///
/// `builder` is NULL or a live builder not used by another thread during the
/// call; `error_out` is NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_spool_builder_set_max_bytes(
    builder: *mut rha_spool_builder,
    bytes: u64,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(builder), {
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by this function's contract.
        unsafe { with_builder(builder, |c| Ok(c.max_bytes((bytes > 0).then_some(bytes)))) }
    })
}

/// Sets the free space the spool leaves on its file system, in bytes
/// (default 1 GiB).
///
/// Errors: `RHA_NULL_PARAMETER` if `builder` is NULL.
///
/// # Safety
///
/// `builder` is NULL or a live builder not used by another thread during the
/// call; `error_out` is NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_spool_builder_set_min_free_bytes(
    builder: *mut rha_spool_builder,
    bytes: u64,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(builder), {
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by this function's contract.
        unsafe { with_builder(builder, |c| Ok(c.min_free_bytes(bytes))) }
    })
}

/// Sets the size at which a segment is closed and a new one started
/// (default 64 MiB).
///
/// Errors: `RHA_NULL_PARAMETER` if `builder` is NULL; `RHA_INVALID_ARGUMENT`
/// if `bytes` is 0.
///
/// # Safety
///
/// `builder` is NULL or a live builder not used by another thread during the
/// call; `error_out` is NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_spool_builder_set_segment_bytes(
    builder: *mut rha_spool_builder,
    bytes: u64,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(builder), {
        if bytes == 0 {
            return Err(rha_error::invalid_argument(
                "segment size must be at least 1 byte",
            ));
        }
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by this function's contract.
        unsafe { with_builder(builder, |c| Ok(c.segment_bytes(bytes))) }
    })
}

/// Sets the overflow policy, an `rha_spool_policy` value:
/// `RHA_SPOOL_POLICY_STOP` (default) or `RHA_SPOOL_POLICY_DEGRADE`.
///
/// Errors: `RHA_NULL_PARAMETER` if `builder` is NULL; `RHA_INVALID_ARGUMENT`
/// for another value.
///
/// # Safety
///
/// `builder` is NULL or a live builder not used by another thread during the
/// call; `error_out` is NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_spool_builder_set_overflow(
    builder: *mut rha_spool_builder,
    policy: u32,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(builder), {
        let policy = match rha_spool_policy::from_raw(policy) {
            Some(rha_spool_policy::RHA_SPOOL_POLICY_STOP) => OverflowPolicy::Stop,
            Some(rha_spool_policy::RHA_SPOOL_POLICY_DEGRADE) => {
                OverflowPolicy::DegradeToDirtyRegions
            }
            None => {
                return Err(rha_error::invalid_argument(format!(
                    "unknown overflow policy {policy}"
                )))
            }
        };
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by this function's contract.
        unsafe { with_builder(builder, |c| Ok(c.overflow(policy))) }
    })
}

/// Sets the sequence number of the first record of a new spool (default 1;
/// an existing spool keeps its numbering).
///
/// Errors: `RHA_NULL_PARAMETER` if `builder` is NULL.
///
/// # Safety
///
/// `builder` is NULL or a live builder not used by another thread during the
/// call; `error_out` is NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_spool_builder_set_first_seq(
    builder: *mut rha_spool_builder,
    seq: u64,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(builder), {
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by this function's contract.
        unsafe { with_builder(builder, |c| Ok(c.first_seq(seq))) }
    })
}

/// Turns salvage mode on or off (default off): when on, opening keeps
/// everything before a corruption and discards the rest instead of failing
/// with `RHA_SPOOL_CORRUPT`.
///
/// Errors: `RHA_NULL_PARAMETER` if `builder` is NULL.
///
/// # Safety
///
/// `builder` is NULL or a live builder not used by another thread during the
/// call; `error_out` is NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_spool_builder_set_salvage(
    builder: *mut rha_spool_builder,
    on: bool,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(builder), {
        // SAFETY: non-NULL (checked by ffi_fn!), live and unshared by this function's contract.
        unsafe { with_builder(builder, |c| Ok(c.salvage(on))) }
    })
}

/// Releases a builder that was not passed to `rha_spool_build`. NULL does
/// nothing.
///
/// # Safety
///
/// `builder` is NULL or a live builder, not used again after this call.
#[no_mangle]
pub unsafe extern "C" fn rha_spool_builder_free(builder: *mut rha_spool_builder) {
    ffi_fn!(default(()), non_null(), {
        // SAFETY: NULL or made by `rha_spool_builder_new` and not used again,
        // by this function's contract.
        unsafe { crate::handle::free(builder) }
    })
}

/// Opens (or creates) the spool, recovering from a crash, and consumes
/// `builder` (freed whether or not the call succeeds).
///
/// On success stores the spool in `*spool_out` (owned by the caller: release
/// it with `rha_spool_close` or `rha_spool_free`) and, if `recovery_out` is
/// not NULL, what recovery found there (a torn tail truncated, a salvage).
///
/// Errors: `RHA_NULL_PARAMETER` if `builder` or `spool_out` is NULL;
/// `RHA_SPOOL_LOCKED` if another process has the directory open;
/// `RHA_SPOOL_CORRUPT` if a file is damaged (the error names the file and
/// carries the offset and the last good sequence number; salvage mode keeps
/// what precedes the damage); `RHA_IO` if the storage fails;
/// `RHA_INVALID_ARGUMENT` for an unusable setting.
///
/// # Safety
///
/// `builder` is NULL or a live builder not used by another thread;
/// `spool_out` is NULL or valid for writing an `rha_spool *`;
/// `recovery_out` is NULL or valid for writing an `rha_spool_recovery`;
/// `error_out` is NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_spool_build(
    builder: *mut rha_spool_builder,
    spool_out: *mut *mut rha_spool,
    recovery_out: *mut rha_spool_recovery,
    error_out: *mut *mut rha_error,
) -> rha_result {
    // `builder` is checked in the body: it is consumed even when
    // `spool_out` is NULL.
    ffi_fn!(fallible(error_out), non_null(), handle_out(spool_out), {
        let open = |b: rha_spool_builder| {
            // Checked before the spool is opened (and recovered).
            let size = if recovery_out.is_null() {
                0
            } else {
                // SAFETY: non-NULL and holding its size field by this function's contract.
                unsafe { crate::sized::declared_size(recovery_out) }?
            };
            let (spool, recovery) = Spool::open_dir(&b.dir, b.config)?;
            if !recovery_out.is_null() {
                // SAFETY: `size` from `declared_size`; writable by this function's contract.
                unsafe { crate::sized::write_sized(recovery_out, recovery_view(&recovery), size) };
            }
            Ok(rha_spool { spool })
        };
        // SAFETY: `builder` is NULL or made by `rha_spool_builder_new` and not
        // used again; `spool_out` is NULL or writable; by this function's contract.
        unsafe { crate::handle::build(builder, spool_out, "spool_out", open) }
    })
}

/// Stores the default append options in `*options` (`struct_size` set to
/// `sizeof(rha_spool_append_options)`): wait for durability,
/// overflow when full. NULL does nothing.
///
/// # Safety
///
/// `options` is NULL or valid for writing an `rha_spool_append_options`.
#[no_mangle]
pub unsafe extern "C" fn rha_spool_append_options_init(options: *mut rha_spool_append_options) {
    ffi_fn!(default(()), non_null(options), {
        // SAFETY: non-NULL (checked by ffi_fn!) and writable by this function's contract.
        unsafe { options.write(rha_spool_append_options::default()) }
    })
}

fn to_ticket(t: Ticket) -> rha_spool_ticket {
    rha_spool_ticket {
        struct_size: 0,
        seq: t.seq.unwrap_or(0),
        spooled: t.seq.is_some(),
        commit: t.commit,
    }
}

/// Appends the record `*record` (its `seq` is ignored: the spool numbers
/// records), with `options` (NULL: the defaults).
///
/// With `options->durable` the call returns once the record is durable;
/// concurrent appends from other threads share one sync. If `ticket_out` is
/// not NULL it receives the sequence number (or, on a degraded spool,
/// `spooled == false`) and the ticket for `rha_spool_wait`. The record's
/// views are read during the call only.
///
/// Errors: `RHA_NULL_PARAMETER` if `spool` or `record` is NULL;
/// `RHA_INVALID_ARGUMENT` for an invalid record or option, or a
/// `struct_size` this library does not know (nothing appended);
/// `RHA_JOURNAL_TOO_LARGE`; `RHA_SPOOL_FULL` (nothing appended);
/// `RHA_SPOOL_STOPPED` (the stop policy applied: reset after a resync);
/// `RHA_IO` if writing or syncing failed, after which every write call
/// returns `RHA_SPOOL_FAILED` until the spool is reopened.
///
/// Thread-safe: may be called from several threads at once.
///
/// # Safety
///
/// `spool` is NULL or a live spool; `record` is NULL or a valid record whose
/// used views are readable; `options` is NULL or readable; `ticket_out` is
/// NULL or valid for writing an `rha_spool_ticket`; `error_out` is NULL or
/// valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_spool_append(
    spool: *const rha_spool,
    record: *const rha_record,
    options: *const rha_spool_append_options,
    ticket_out: *mut rha_spool_ticket,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(spool, record), {
        // SAFETY: non-NULL (checked by ffi_fn!) and live by this function's contract.
        let spool = unsafe { &*spool };
        // SAFETY: non-NULL (checked by ffi_fn!) and readable (its declared size) by this function's contract.
        let record = unsafe { crate::sized::read_sized(record) }?;
        // SAFETY: NULL or readable (its declared size) by this function's contract.
        let opts = unsafe { append_options(options) }?;
        // Checked before anything is appended.
        // SAFETY: NULL or holding its size field by this function's contract.
        let ticket_size = unsafe { ticket_size(ticket_out) }?;
        // SAFETY: the views the record's operation uses are readable by this function's contract.
        let op = unsafe { record.owned_op() }?;
        let ticket = spool.spool.append(record.timestamp_ns, &op, opts)?;
        if !ticket_out.is_null() {
            // SAFETY: `ticket_size` from `declared_size`; writable by this function's contract.
            unsafe { crate::sized::write_sized(ticket_out, to_ticket(ticket), ticket_size) };
        }
        Ok(rha_result::RHA_OK)
    })
}

/// Waits until the append that returned `*ticket` (and every earlier one)
/// is durable, syncing if no other thread is.
///
/// Errors: `RHA_NULL_PARAMETER`; `RHA_IO` if the sync failed;
/// `RHA_SPOOL_FAILED` after an earlier failure. Thread-safe.
///
/// # Safety
///
/// `spool` is NULL or a live spool; `ticket` is NULL or readable;
/// `error_out` is NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_spool_wait(
    spool: *const rha_spool,
    ticket: *const rha_spool_ticket,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(spool, ticket), {
        // SAFETY: non-NULL (checked by ffi_fn!) and live by this function's contract.
        let spool = unsafe { &*spool };
        // SAFETY: non-NULL (checked by ffi_fn!) and readable (its declared size) by this function's contract.
        let t = unsafe { crate::sized::read_sized(ticket) }?;
        spool.spool.wait(Ticket {
            seq: t.spooled.then_some(t.seq),
            commit: t.commit,
        })?;
        Ok(rha_result::RHA_OK)
    })
}

/// Makes everything appended so far durable.
///
/// Errors: `RHA_NULL_PARAMETER`; `RHA_IO`; `RHA_SPOOL_FAILED`. Thread-safe.
///
/// # Safety
///
/// `spool` is NULL or a live spool; `error_out` is NULL or valid for writing
/// an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_spool_sync(
    spool: *const rha_spool,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(spool), {
        // SAFETY: non-NULL (checked by ffi_fn!) and live by this function's contract.
        unsafe { &*spool }.spool.sync()?;
        Ok(rha_result::RHA_OK)
    })
}

/// Acknowledges every record up to and including `seq` (the consumer has
/// applied or sent them). The position is durable when this returns; whole
/// segments behind it are removed. An older position does nothing.
///
/// Errors: `RHA_NULL_PARAMETER`; `RHA_SPOOL_NOT_DURABLE` if `seq` is not
/// durable yet; `RHA_IO`; `RHA_SPOOL_FAILED`. Thread-safe.
///
/// # Safety
///
/// `spool` is NULL or a live spool; `error_out` is NULL or valid for writing
/// an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_spool_ack(
    spool: *const rha_spool,
    seq: u64,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(spool), {
        // SAFETY: non-NULL (checked by ffi_fn!) and live by this function's contract.
        unsafe { &*spool }.spool.ack(seq)?;
        Ok(rha_result::RHA_OK)
    })
}

/// Discards everything spooled, the dirty regions and a stopped or degraded
/// state, after the scenario resynchronised; the next record is numbered
/// `next_seq` (not less than the current next sequence number).
///
/// Errors: `RHA_NULL_PARAMETER`; `RHA_INVALID_ARGUMENT` if `next_seq` is
/// behind; `RHA_IO`; `RHA_SPOOL_FAILED`. Thread-safe.
///
/// # Safety
///
/// `spool` is NULL or a live spool; `error_out` is NULL or valid for writing
/// an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_spool_reset(
    spool: *const rha_spool,
    next_seq: u64,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(spool), {
        // SAFETY: non-NULL (checked by ffi_fn!) and live by this function's contract.
        unsafe { &*spool }.spool.reset(next_seq)?;
        Ok(rha_result::RHA_OK)
    })
}

/// Stores the spool's usage, limits and state in `*usage_out`.
///
/// Errors: `RHA_NULL_PARAMETER`. Thread-safe.
///
/// # Safety
///
/// `spool` is NULL or a live spool; `usage_out` is NULL or valid for writing
/// an `rha_spool_usage`; `error_out` is NULL or valid for writing an
/// `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_spool_get_usage(
    spool: *const rha_spool,
    usage_out: *mut rha_spool_usage,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(spool, usage_out), {
        // SAFETY: non-NULL (checked by ffi_fn!) and holding its size field by this function's contract.
        let size = unsafe { crate::sized::declared_size(usage_out) }?;
        // SAFETY: non-NULL (checked by ffi_fn!) and live by this function's contract.
        let u = unsafe { &*spool }.spool.usage();
        let (mode, overflow_seq) = match u.mode {
            SpoolMode::Normal => (rha_spool_mode::RHA_SPOOL_MODE_NORMAL, 0),
            SpoolMode::Stopped { at_seq } => (rha_spool_mode::RHA_SPOOL_MODE_STOPPED, at_seq),
            SpoolMode::Degraded { at_seq } => (rha_spool_mode::RHA_SPOOL_MODE_DEGRADED, at_seq),
        };
        let view = rha_spool_usage {
            struct_size: 0,
            used_bytes: u.used_bytes,
            max_bytes: u.max_bytes.unwrap_or(0),
            free_bytes: u.free_bytes,
            min_free_bytes: u.min_free_bytes,
            capacity_bytes: u.capacity_bytes,
            segments: u.segments as u64,
            oldest_seq: u.oldest_seq.unwrap_or(u.next_seq),
            next_seq: u.next_seq,
            durable_next_seq: u.durable_next_seq,
            resume_seq: u.resume_seq,
            mode: mode as u32,
            overflow_seq,
            dirty_ranges: u.dirty_ranges as u64,
            failed: u.failed,
        };
        // SAFETY: non-NULL (checked by ffi_fn!) and writable by this function's contract.
        unsafe { crate::sized::write_sized(usage_out, view, size) };
        Ok(rha_result::RHA_OK)
    })
}

/// Takes the oldest pending monitoring event.
///
/// Returns `RHA_OK` with the event in `*event_out`, or `RHA_DONE` if there
/// is none (`*event_out` untouched). Errors: `RHA_NULL_PARAMETER`.
/// Thread-safe.
///
/// # Safety
///
/// `spool` is NULL or a live spool; `event_out` is NULL or valid for writing
/// an `rha_spool_event`; `error_out` is NULL or valid for writing an
/// `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_spool_poll_event(
    spool: *const rha_spool,
    event_out: *mut rha_spool_event,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(spool, event_out), {
        // SAFETY: non-NULL (checked by ffi_fn!) and holding its size field by this function's contract.
        let size = unsafe { crate::sized::declared_size(event_out) }?;
        // SAFETY: non-NULL (checked by ffi_fn!) and live by this function's contract.
        let Some(e) = unsafe { &*spool }.spool.poll_event() else {
            return Ok(rha_result::RHA_DONE);
        };
        let view = match e {
            SpoolEvent::UsageAbove {
                percent,
                used,
                capacity,
            } => rha_spool_event {
                kind: rha_spool_event_kind::RHA_SPOOL_EVENT_USAGE as u32,
                percent: u32::from(percent),
                used_bytes: used,
                capacity_bytes: capacity,
                ..Default::default()
            },
            SpoolEvent::Overflow { at_seq, .. } => rha_spool_event {
                kind: rha_spool_event_kind::RHA_SPOOL_EVENT_OVERFLOW as u32,
                overflow_seq: at_seq,
                ..Default::default()
            },
            // Failed, and any kind added later.
            _ => rha_spool_event {
                kind: rha_spool_event_kind::RHA_SPOOL_EVENT_FAILED as u32,
                ..Default::default()
            },
        };
        // SAFETY: non-NULL (checked by ffi_fn!) and writable by this function's contract.
        unsafe { crate::sized::write_sized(event_out, view, size) };
        Ok(rha_result::RHA_OK)
    })
}

/// Makes everything appended durable, then releases the spool (always,
/// even if that fails). NULL does nothing and returns `RHA_OK`. Readers made
/// from the spool stay usable.
///
/// Errors: `RHA_IO` or `RHA_SPOOL_FAILED` if the final sync failed.
///
/// # Safety
///
/// `spool` is NULL or a live spool that no other thread is using, not used
/// again after this call; `error_out` is NULL or valid for writing an
/// `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_spool_close(
    spool: *mut rha_spool,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(), {
        // SAFETY: NULL or made by `rha_spool_build` and not used again, by
        // this function's contract.
        let Some(spool) = (unsafe { crate::handle::take(spool) }) else {
            return Ok(rha_result::RHA_OK);
        };
        spool.spool.close()?;
        Ok(rha_result::RHA_OK)
    })
}

/// Releases a spool, syncing what was appended on a best-effort basis (use
/// `rha_spool_close` to learn whether that worked). NULL does nothing.
///
/// # Safety
///
/// `spool` is NULL or a live spool that no other thread is using, not used
/// again after this call.
#[no_mangle]
pub unsafe extern "C" fn rha_spool_free(spool: *mut rha_spool) {
    ffi_fn!(default(()), non_null(), {
        // SAFETY: NULL or made by `rha_spool_build` and not used again, by
        // this function's contract.
        unsafe { crate::handle::free(spool) }
    })
}

/// The append options at `options` (NULL: the defaults), checked.
/// The declared size of the ticket at `ticket_out` (0 for NULL), checked.
///
/// # Safety
///
/// `ticket_out` is NULL or holds its size field.
unsafe fn ticket_size(ticket_out: *const rha_spool_ticket) -> Result<usize, rha_error> {
    if ticket_out.is_null() {
        return Ok(0);
    }
    // SAFETY: non-NULL and holding its size field by this function's contract.
    unsafe { crate::sized::declared_size(ticket_out) }
}

/// The append options at `options` (NULL: the defaults), checked.
///
/// # Safety
///
/// `options` is NULL or readable for its declared size.
unsafe fn append_options(
    options: *const rha_spool_append_options,
) -> Result<AppendOptions, rha_error> {
    let options = if options.is_null() {
        rha_spool_append_options::default()
    } else {
        // SAFETY: non-NULL and readable (its declared size) by this function's contract.
        unsafe { crate::sized::read_sized(options) }?
    };
    let when_full = match rha_spool_when_full::from_raw(options.when_full) {
        Some(rha_spool_when_full::RHA_SPOOL_WHEN_FULL_OVERFLOW) => WhenFull::Overflow,
        Some(rha_spool_when_full::RHA_SPOOL_WHEN_FULL_FAIL) => WhenFull::Fail,
        Some(rha_spool_when_full::RHA_SPOOL_WHEN_FULL_BLOCK) => {
            WhenFull::Block(Duration::from_millis(options.block_ms))
        }
        None => {
            return Err(rha_error::invalid_argument(format!(
                "unknown when_full value {}",
                options.when_full
            )))
        }
    };
    Ok(AppendOptions::default()
        .durable(options.durable)
        .when_full(when_full))
}

/// Appends the records of `bytes[0..len]`, a journal as an
/// `rha_journal_writer` (or any writer of the journal format) encoded it,
/// with or without its stream header, compressed or not, in one call and
/// all or nothing, with `options` (NULL: the defaults; `when_full` applies
/// to the records as one group).
///
/// The records must carry consecutive sequence numbers starting at the
/// spool's next one (`rha_spool_usage.next_seq`): numbering the journal
/// writer from it (`rha_journal_writer_builder_set_first_seq`) does that.
/// Every frame is decoded and checked before anything is appended, and no
/// other append comes between the records. With `options->durable` every
/// record is durable when the call returns; a crash before that keeps a
/// prefix of them, as with consecutive `rha_spool_append` calls.
///
/// If `ticket_out` is not NULL it receives the last record's ticket
/// (waiting for it covers all of them; `spooled == false` on a degraded
/// spool, or when `bytes` holds no record); if `records_out` is not NULL
/// it receives the number of records (the first one's sequence number is
/// `ticket.seq - records + 1`).
///
/// Errors: `RHA_NULL_PARAMETER` (`spool`, or `bytes` with `len` > 0);
/// `RHA_JOURNAL_CORRUPT` for bytes that do not decode or end inside a frame
/// (with the byte offset, `rha_error_offset`); `RHA_JOURNAL_SEQUENCE` for
/// a gap inside the bytes or a first record that is not the spool's next
/// (the message names the expected and the found number);
/// `RHA_JOURNAL_TOO_LARGE`; `RHA_JOURNAL_UNSUPPORTED_VERSION`;
/// `RHA_INVALID_ARGUMENT` for a bad option; `RHA_SPOOL_FULL`,
/// `RHA_SPOOL_STOPPED`, `RHA_IO`, `RHA_SPOOL_FAILED` as for
/// `rha_spool_append`. Except for `RHA_IO` and `RHA_SPOOL_FAILED`, nothing
/// was appended and the spool goes on.
///
/// Thread-safe: may be called from several threads at once.
///
/// # Safety
///
/// `spool` is NULL or a live spool; `bytes` is NULL (only if `len` is 0) or
/// readable for `len` bytes during the call; `options` is NULL or readable;
/// `ticket_out` is NULL or valid for writing an `rha_spool_ticket`;
/// `records_out` is NULL or valid for writing a `uint64_t`; `error_out` is
/// NULL or valid for writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_spool_append_journal(
    spool: *const rha_spool,
    bytes: *const u8,
    len: usize,
    options: *const rha_spool_append_options,
    ticket_out: *mut rha_spool_ticket,
    records_out: *mut u64,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(spool), {
        // SAFETY: non-NULL (checked by ffi_fn!) and live by this function's contract.
        let spool = unsafe { &*spool };
        let view = crate::buffer::rha_bytes { ptr: bytes, len };
        // SAFETY: readable for `len` bytes during the call by this function's contract.
        let bytes = unsafe { view.as_slice("bytes") }?;
        // SAFETY: NULL or readable (its declared size) by this function's contract.
        let opts = unsafe { append_options(options) }?;
        // SAFETY: NULL or holding its size field by this function's contract.
        let ticket_size = unsafe { ticket_size(ticket_out) }?;
        let done = spool.spool.append_journal(bytes, opts)?;
        if !ticket_out.is_null() {
            // SAFETY: `ticket_size` from `declared_size`; writable by this function's contract.
            unsafe { crate::sized::write_sized(ticket_out, to_ticket(done.ticket), ticket_size) };
        }
        if !records_out.is_null() {
            // SAFETY: non-NULL and writable by this function's contract.
            unsafe { records_out.write(done.records) };
        }
        Ok(rha_result::RHA_OK)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_thread_safe_where_documented() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<rha_spool>();
        fn send<T: Send>() {}
        send::<rha_spool_builder>();
        send::<reader::rha_spool_reader>();
    }
}
