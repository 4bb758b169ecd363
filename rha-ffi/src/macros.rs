//! The crate's macros: the one wrapper around every exported function, and
//! the table of every closed set.
//!
//! Each `extern "C" fn` of this crate has a body that is exactly one
//! [`ffi_fn!`] invocation; `tests/every_export_wrapped.rs` enforces it. The
//! macro checks the pointers the function requires, runs the body under
//! [`std::panic::catch_unwind`] so a panic never unwinds into C, and for
//! fallible functions turns an error into an [`rha_error`] stored through
//! `error_out`.
//!
//! [`closed_set!`] gives each C enum its list of values, its decoding from
//! the `uint32_t` a C caller passes, and its constants' names.

use std::any::Any;
use std::ffi::CStr;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::error::{rha_error, rha_result};

/// Wraps the body of an exported function.
///
/// Two forms:
///
/// - `ffi_fn!(fallible(error_out), non_null(a, b), { ... })` for functions
///   that return [`rha_result`]. The body evaluates to
///   `Result<rha_result, rha_error>` (it may use `?` and `return`). A NULL
///   `a` or `b` returns `RHA_NULL_PARAMETER` without running the body, a
///   panic returns `RHA_PANIC`, and an `Err` returns its code; in all three
///   cases a new error object is stored through `error_out` unless it is
///   NULL.
/// - `ffi_fn!(default(value), non_null(a), { ... })` for functions that return
///   anything else. A NULL `a` or a panic returns `value` without further
///   effect.
macro_rules! ffi_fn {
    (fallible($error_out:ident), non_null($($ptr:ident),* $(,)?), $body:block $(,)?) => {{
        let nulls: &[(&'static str, bool)] = &[$((stringify!($ptr), $ptr.is_null())),*];
        let result = $crate::macros::run_fallible(nulls, || -> ::core::result::Result<
            $crate::error::rha_result,
            $crate::error::rha_error,
        > { $body });
        // SAFETY: every fallible function documents, under `# Safety`, that
        // its `error_out` is NULL or valid for writing one `rha_error *`.
        unsafe { $crate::macros::report(result, $error_out) }
    }};
    (default($default:expr), non_null($($ptr:ident),* $(,)?), $body:block $(,)?) => {{
        let nulls: &[bool] = &[$($ptr.is_null()),*];
        if nulls.contains(&true) {
            $default
        } else {
            $crate::macros::run_infallible(|| $body).unwrap_or($default)
        }
    }};
}

/// Derives the table of a closed set from its C enum: `ALL` (every value,
/// in declaration order), `from_raw` (the value a C caller's `uint32_t`
/// stands for, `None` if it is none) and `name` (the constant's name as the
/// header spells it).
///
/// ```text
/// closed_set!(rha_rewind_by {
///     RHA_REWIND_BY_SEQ,
///     RHA_REWIND_BY_BOOKMARK,
///     RHA_REWIND_BY_TIME,
/// });
/// ```
///
/// The enum itself (numbers and doc comments) stays written out as a plain
/// item, the one place they are written: cbindgen reads items, not macro
/// output (it expands macros only through a nightly compiler), so an enum
/// emitted by a macro would vanish from the header. The list here holds the
/// variant names only, and the compiler holds it to the enum: `name` matches
/// exhaustively, so a variant missing from the list, one listed twice or a
/// name that is not a variant does not compile.
///
/// `closed_set!(flags rha_x_flag { ... })` is for a set of bit flags that a
/// `uint32_t` mask combines; it adds `ALL_BITS` (every flag at once: a mask
/// with any other bit is invalid) and `is_in` (whether a mask has the flag).
macro_rules! closed_set {
    (flags $enum:ident { $($variant:ident),+ $(,)? }) => {
        closed_set!($enum { $($variant),+ });

        impl $enum {
            /// Every flag at once: a mask with any other bit is invalid.
            pub const ALL_BITS: u32 = 0 $(| $enum::$variant as u32)+;

            /// Whether `mask` has this flag.
            pub fn is_in(self, mask: u32) -> bool {
                mask & self as u32 != 0
            }
        }
    };
    ($enum:ident { $($variant:ident),+ $(,)? }) => {
        impl $enum {
            /// Every value, in declaration order.
            pub const ALL: &'static [$enum] = &[$($enum::$variant),+];

            /// The value whose number is `raw`, or `None` if `raw` is none of
            /// them: how a `uint32_t` received from C is checked.
            pub fn from_raw(raw: u32) -> Option<$enum> {
                Self::ALL.iter().copied().find(|&value| value as u32 == raw)
            }

            /// The constant's name, as the header spells it.
            // Exhaustive, with no wildcard: this is what ties the list to the
            // enum.
            #[deny(unreachable_patterns)]
            pub fn name(self) -> &'static ::std::ffi::CStr {
                match self {
                    $($enum::$variant => const {
                        $crate::macros::c_name(concat!(stringify!($variant), "\0"))
                    },)+
                }
            }
        }
    };
}

/// `name`, which ends in its only NUL byte, as a C string (at compile time).
pub(crate) const fn c_name(name: &'static str) -> &'static CStr {
    match CStr::from_bytes_with_nul(name.as_bytes()) {
        Ok(name) => name,
        Err(_) => panic!("a constant's name holds a NUL byte"),
    }
}

/// Checks `nulls` (parameter name, whether it is NULL) and runs `body`,
/// catching a panic.
pub(crate) fn run_fallible<F>(
    nulls: &[(&'static str, bool)],
    body: F,
) -> Result<rha_result, rha_error>
where
    F: FnOnce() -> Result<rha_result, rha_error>,
{
    if let Some((name, _)) = nulls.iter().find(|(_, is_null)| *is_null) {
        return Err(rha_error::null_parameter(name));
    }
    catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|payload| Err(panicked(&*payload)))
}

/// Runs `body`, catching a panic (`None`).
pub(crate) fn run_infallible<T, F: FnOnce() -> T>(body: F) -> Option<T> {
    catch_unwind(AssertUnwindSafe(body)).ok()
}

/// Returns the code of `result`, storing the error through `error_out` (if
/// not NULL) when it is one.
///
/// # Safety
///
/// `error_out` is NULL or valid for writing one `*mut rha_error`.
pub(crate) unsafe fn report(
    result: Result<rha_result, rha_error>,
    error_out: *mut *mut rha_error,
) -> rha_result {
    match result {
        Ok(code) => code,
        Err(error) => {
            let code = error.code();
            if !error_out.is_null() {
                // SAFETY: non-NULL, and valid for writes by this function's contract.
                unsafe { error_out.write(crate::handle::new(error)) };
            }
            code
        }
    }
}

/// The error for a caught panic, with the panic's message if it has one.
fn panicked(payload: &(dyn Any + Send)) -> rha_error {
    let what = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("no message");
    rha_error::new(
        rha_result::RHA_PANIC,
        format!("internal error: rha panicked ({what}); please report this bug"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ptr;

    #[test]
    fn a_panic_becomes_rha_panic_with_its_message() {
        let mut err: *mut rha_error = ptr::null_mut();
        let result = run_fallible(&[], || panic!("boom"));
        // SAFETY: `err` is a live local.
        let code = unsafe { report(result, &mut err) };
        assert_eq!(code, rha_result::RHA_PANIC);
        assert!(!err.is_null());
        // SAFETY: `report` stored a new handle, taken exactly once here.
        let err = unsafe { crate::handle::take(err) }.expect("an error was stored");
        assert_eq!(err.code(), rha_result::RHA_PANIC);
        assert!(err.message().contains("boom"), "{}", err.message());
    }

    #[test]
    fn a_null_parameter_is_named_and_the_body_does_not_run() {
        let mut ran = false;
        let result = run_fallible(&[("ok", false), ("handle", true)], || {
            ran = true;
            Ok(rha_result::RHA_OK)
        });
        assert!(!ran);
        let err = result.expect_err("NULL must fail");
        assert_eq!(err.code(), rha_result::RHA_NULL_PARAMETER);
        assert!(err.message().contains("`handle`"), "{}", err.message());
    }

    #[test]
    fn success_leaves_error_out_untouched() {
        let sentinel = ptr::NonNull::<rha_error>::dangling().as_ptr();
        let mut err = sentinel;
        // SAFETY: `err` is a live local.
        let code = unsafe { report(Ok(rha_result::RHA_BLOCKED), &mut err) };
        assert_eq!(code, rha_result::RHA_BLOCKED);
        assert_eq!(err, sentinel);
    }

    #[test]
    fn closed_sets_decode_name_and_keep_their_numbers() {
        use crate::*;
        let when_full: Vec<u32> = rha_spool_when_full::ALL.iter().map(|&v| v as u32).collect();
        assert_eq!(when_full, [0, 1, 2]);
        assert_eq!(
            rha_spool_when_full::from_raw(2),
            Some(rha_spool_when_full::RHA_SPOOL_WHEN_FULL_BLOCK)
        );
        assert_eq!(rha_spool_when_full::from_raw(3), None);
        assert_eq!(rha_spool_event_kind::from_raw(0), None);
        assert_eq!(
            rha_spool_target_kind::RHA_SPOOL_TARGET_VOLUME.name(),
            c"RHA_SPOOL_TARGET_VOLUME"
        );
        assert_eq!(rha_attr_flag::ALL_BITS, 0x1f);
        assert_eq!(rha_plan_change_flag::ALL_BITS, 0xf);
        assert_eq!(rha_tree_scan_flag::ALL_BITS, 0x1);
        assert!(rha_attr_flag::RHA_ATTR_GID.is_in(0b100));
        assert!(!rha_attr_flag::RHA_ATTR_GID.is_in(0b011));
        for (set, expected) in [
            (rha_spool_policy::ALL.len(), 2),
            (rha_spool_mode::ALL.len(), 3),
            (rha_delta_format::ALL.len(), 2),
            (rha_strong_hash::ALL.len(), 2),
            (rha_rewind_by::ALL.len(), 3),
        ] {
            assert_eq!(set, expected);
        }
    }

    #[test]
    fn infallible_panics_give_none() {
        assert_eq!(run_infallible(|| 7), Some(7));
        assert_eq!(run_infallible(|| -> u32 { panic!("boom") }), None);
    }
}
