//! Owned handles: how a Rust value becomes a pointer the caller owns, and back.
//!
//! Every opaque handle (`rha_journal_writer`, its builder, `rha_error`, …)
//! is a `Box` turned into a raw pointer; these helpers are the only places
//! that convert (`tests/every_export_wrapped.rs` fails on a `Box::from_raw`
//! anywhere else), so each conversion's safety argument is made once.

use crate::error::{rha_error, rha_result};

/// Hands `value` to the caller as an owned pointer (never NULL), to be
/// released with [`free`] or taken back with [`take`].
pub(crate) fn new<T>(value: T) -> *mut T {
    Box::into_raw(Box::new(value))
}

/// Takes back ownership of a handle made by [`new`]: the value, or `None`
/// for NULL. The pointer is dangling afterwards.
///
/// # Safety
///
/// `handle` is NULL or was made by [`new`] with the same `T`, is not freed
/// or taken yet, and is not used again.
pub(crate) unsafe fn take<T>(handle: *mut T) -> Option<T> {
    if handle.is_null() {
        return None;
    }
    // SAFETY: made by `Box::into_raw` in `new`; ownership comes back here
    // by this function's contract.
    Some(*unsafe { Box::from_raw(handle) })
}

/// Releases a handle made by [`new`]; NULL does nothing.
///
/// # Safety
///
/// As for [`take`].
pub(crate) unsafe fn free<T>(handle: *mut T) {
    // SAFETY: passed on from this function's contract.
    drop(unsafe { take(handle) });
}

/// Hands `value` to the caller through `out` as a new owned handle.
///
/// # Safety
///
/// `out` is non-NULL and valid for writing a pointer.
pub(crate) unsafe fn store<T>(out: *mut *mut T, value: T) {
    // SAFETY: non-NULL and writable by this function's contract.
    unsafe { out.write(new(value)) };
}

/// Consumes `builder` (also on failure) and stores the handle `make` builds
/// from it in `*out`. `out_name` names `out` in the NULL-parameter error;
/// `make` runs only when `out` is not NULL, and its error is the call's.
///
/// # Safety
///
/// `builder` is NULL or was made by [`new`] with the same `B` and is not used
/// again; `out` is NULL or valid for writing a pointer.
pub(crate) unsafe fn build<B, T>(
    builder: *mut B,
    out: *mut *mut T,
    out_name: &str,
    make: impl FnOnce(B) -> Result<T, rha_error>,
) -> Result<rha_result, rha_error> {
    // SAFETY: passed on from this function's contract.
    let Some(builder) = (unsafe { take(builder) }) else {
        return Err(rha_error::null_parameter("builder"));
    };
    if out.is_null() {
        return Err(rha_error::null_parameter(out_name));
    }
    let value = make(builder)?;
    // SAFETY: non-NULL (checked above) and writable by this function's contract.
    unsafe { store(out, value) };
    Ok(rha_result::RHA_OK)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ptr;

    #[test]
    fn take_returns_the_value_and_none_for_null() {
        // SAFETY: made by `new` just above and not used again.
        assert_eq!(unsafe { take(new(7u32)) }, Some(7));
        // SAFETY: NULL is allowed.
        assert_eq!(unsafe { take::<u32>(ptr::null_mut()) }, None);
    }

    #[test]
    fn build_consumes_the_builder_even_when_it_fails() {
        let mut out: *mut String = ptr::null_mut();
        // SAFETY: a fresh builder; `out` is a live local.
        let r = unsafe { build(new(5u8), &mut out, "out", |b| Ok(b.to_string())) };
        assert_eq!(r.map_err(|e| e.code()), Ok(rha_result::RHA_OK));
        // SAFETY: stored by `build` above, taken once.
        assert_eq!(unsafe { take(out) }.as_deref(), Some("5"));

        // SAFETY: a fresh builder; NULL `out` is allowed.
        let r = unsafe { build(new(5u8), ptr::null_mut::<*mut u8>(), "out", Ok) };
        assert_eq!(r.map_err(|e| e.code()), Err(rha_result::RHA_NULL_PARAMETER));

        let mut out: *mut u8 = ptr::null_mut();
        let fail = |_| Err(rha_error::invalid_argument("no"));
        // SAFETY: a fresh builder; `out` is a live local.
        let r = unsafe { build(new(5u8), &mut out, "out", fail) };
        assert_eq!(
            r.map_err(|e| e.code()),
            Err(rha_result::RHA_INVALID_ARGUMENT)
        );
        assert!(out.is_null(), "outputs are written only on success");
    }
}
