//! Owned handles: how a Rust value becomes a pointer the caller owns, and back.
//!
//! Every opaque handle (`rha_journal_writer`, its builder, `rha_error`, …)
//! is a `Box` turned into a raw pointer; these helpers are the only places
//! that convert, so each conversion's safety argument is made once.

use crate::error::{rha_error, rha_result};

/// Hands `value` to the caller as an owned pointer (never NULL), to be
/// released with [`free`].
pub(crate) fn new<T>(value: T) -> *mut T {
    Box::into_raw(Box::new(value))
}

/// Releases a handle made by [`new`]; NULL does nothing.
///
/// # Safety
///
/// `handle` is NULL or was made by [`new`] with the same `T`, is not freed
/// yet, and is not used again.
pub(crate) unsafe fn free<T>(handle: *mut T) {
    if !handle.is_null() {
        // SAFETY: made by `Box::into_raw` in `new`; ownership comes back here
        // by this function's contract.
        drop(unsafe { Box::from_raw(handle) });
    }
}

/// Consumes `builder` (also on failure) and stores the handle `make` builds
/// from it in `*out`. `out_name` names `out` in the NULL-parameter error.
///
/// # Safety
///
/// `builder` is NULL or was made by [`new`] with the same `B` and is not used
/// again; `out` is NULL or valid for writing a pointer.
pub(crate) unsafe fn build<B, T>(
    builder: *mut B,
    out: *mut *mut T,
    out_name: &str,
    make: impl FnOnce(B) -> T,
) -> Result<rha_result, rha_error> {
    if builder.is_null() {
        return Err(rha_error::null_parameter("builder"));
    }
    // SAFETY: made by `Box::into_raw` in `new`; ownership passes here by this
    // function's contract.
    let builder = *unsafe { Box::from_raw(builder) };
    if out.is_null() {
        return Err(rha_error::null_parameter(out_name));
    }
    // SAFETY: non-NULL (checked above) and writable by this function's contract.
    unsafe { out.write(new(make(builder))) };
    Ok(rha_result::RHA_OK)
}
