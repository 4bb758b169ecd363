//! The crate's macros: the one wrapper around every exported function, and
//! the table of every closed set.
//!
//! Each `extern "C" fn` of this crate has a body that is exactly one
//! [`ffi_fn!`] invocation; `tests/every_export_wrapped.rs` enforces it. The
//! macro sets every handle output to NULL, checks the pointers the function
//! requires, runs the body under [`std::panic::catch_unwind`] so a panic
//! never unwinds into C (and, through the panic hook installed here, never
//! prints to the host's stderr), and for fallible functions turns an error
//! into an [`rha_error`] stored through `error_out` by the error-slot rule.
//!
//! [`closed_set!`] gives each C enum its list of values, its decoding from
//! the `uint32_t` a C caller passes, and its constants' names.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::ffi::CStr;
use std::panic::{self, catch_unwind, AssertUnwindSafe, PanicHookInfo};
use std::sync::Once;

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
///   cases a new error object is stored through `error_out` by the rule of
///   [`report`] (unless `error_out` is NULL).
/// - `ffi_fn!(default(value), non_null(a), { ... })` for functions that return
///   anything else. A NULL `a` or a panic returns `value` without further
///   effect.
///
/// A fallible function that hands out new handles names their out-pointers
/// in a `handle_out(x_out, ...)` clause after `non_null`:
/// `ffi_fn!(fallible(error_out), non_null(x_out), handle_out(x_out), { ... })`.
/// Each one that is not NULL is set to NULL before anything else runs, so
/// after any failure (an error, a NULL argument, a panic) it holds NULL,
/// never a stale handle that the caller could free twice; the body stores
/// the new handle only once it cannot fail any more.
/// `tests/every_export_wrapped.rs` fails if a `T **` parameter other than
/// `error_out` is missing from the clause.
macro_rules! ffi_fn {
    (
        fallible($error_out:ident),
        non_null($($ptr:ident),* $(,)?),
        handle_out($($out:ident),+ $(,)?),
        $body:block $(,)?
    ) => {{
        $(
            if !$out.is_null() {
                // SAFETY: every function with a handle output documents,
                // under `# Safety`, that it is NULL or valid for writing a
                // pointer.
                unsafe { $out.write(::core::ptr::null_mut()) };
            }
        )+
        ffi_fn!(fallible($error_out), non_null($($ptr),*), $body)
    }};
    (fallible($error_out:ident), non_null($($ptr:ident),* $(,)?), $body:block $(,)?) => {{
        let nulls: &[(&'static str, bool)] = &[$((stringify!($ptr), $ptr.is_null())),*];
        let result = $crate::macros::run_fallible(nulls, || -> ::core::result::Result<
            $crate::error::rha_result,
            $crate::error::rha_error,
        > { $body });
        // SAFETY: every fallible function documents, under `# Safety`, that
        // its `error_out` is NULL or valid for writing one `rha_error *`,
        // and the crate's conventions that it is read too (initialised).
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

/// Implements `SizedStruct` (`sized.rs`) for structs in their first version (the one
/// size known is their whole size). Each must be `repr(C)` and start with
/// `pub struct_size: u32`.
///
/// A struct that grew lists its older sizes, oldest first, each the offset
/// of the first field that version lacked (`older: [offset_of!(T, field)]`):
/// the bytes below it are that version's fields.
macro_rules! sized_struct {
    ($name:ident, older: [$($old:expr),+ $(,)?]) => {
        // SAFETY: `repr(C)` with `struct_size: u32` first (the macro's
        // contract); each older size is the offset of the first field that
        // version lacked, so it ends at a field boundary of this layout,
        // and the last is the whole struct.
        unsafe impl $crate::sized::SizedStruct for $name {
            const NAME: &'static str = stringify!($name);
            const SIZES: &'static [usize] = &[$($old,)+ ::std::mem::size_of::<$name>()];
            fn set_struct_size(&mut self, size: u32) {
                self.struct_size = size;
            }
        }
    };
    ($($name:ident),+ $(,)?) => {
        $(
            // SAFETY: `repr(C)` with `struct_size: u32` first (the macro's
            // contract); the one size is the whole struct.
            unsafe impl $crate::sized::SizedStruct for $name {
                const NAME: &'static str = stringify!($name);
                const SIZES: &'static [usize] = &[::std::mem::size_of::<$name>()];
                fn set_struct_size(&mut self, size: u32) {
                    self.struct_size = size;
                }
            }
        )+
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
    in_call(body).unwrap_or_else(|payload| Err(panicked(&*payload)))
}

/// Runs `body`, catching a panic (`None`).
pub(crate) fn run_infallible<T, F: FnOnce() -> T>(body: F) -> Option<T> {
    in_call(body).ok()
}

thread_local! {
    /// How many rha calls the current thread is inside (a callback may call
    /// rha again): while it is not 0, the panic hook captures instead of
    /// printing.
    static DEPTH: Cell<usize> = const { Cell::new(0) };
    /// What the panic hook captured of the last panic in an rha call on
    /// this thread: its message and where it happened.
    static CAPTURED: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Counts the current thread inside an rha call while it lives.
struct Inside;

impl Inside {
    fn enter() -> Self {
        let outermost = DEPTH.with(|d| d.replace(d.get() + 1)) == 0;
        if outermost {
            // Nothing captured before this call belongs to it.
            CAPTURED.with(|c| c.replace(None));
        }
        Inside
    }
}

impl Drop for Inside {
    fn drop(&mut self) {
        DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
    }
}

/// Runs `body` as an rha call: the panic hook is installed, the thread is
/// marked as inside rha, and a panic is caught (its payload returned).
fn in_call<T>(body: impl FnOnce() -> T) -> Result<T, Box<dyn Any + Send>> {
    install_panic_hook();
    let _inside = Inside::enter();
    catch_unwind(AssertUnwindSafe(body))
}

/// Installs, once per process, the panic hook that keeps rha's panics off
/// the host's stderr: a panic on a thread inside an rha call is recorded
/// for the `RHA_PANIC` error the call returns; any other panic goes to the
/// hook that was installed before (the host's own, or the default one), so
/// the host's panics look as they always did.
///
/// The hook is process-wide, as Rust's panic hook is; a host that replaces
/// it after rha's first call gets rha's panics printed again, by its own hook.
fn install_panic_hook() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let inside = DEPTH.try_with(|d| d.get() > 0).unwrap_or(false);
            if !inside {
                return previous(info);
            }
            let text = describe(info);
            // A panic while the slot is borrowed or torn down (thread exit)
            // loses its location; the payload still reaches the error.
            let _ = CAPTURED.try_with(|c| {
                if let Ok(mut slot) = c.try_borrow_mut() {
                    *slot = Some(text);
                }
            });
        }));
    });
}

/// A panic's message and location, as the default hook would print them.
fn describe(info: &PanicHookInfo<'_>) -> String {
    let message = payload_text(info.payload());
    match info.location() {
        Some(at) => format!("{message}, at {}:{}:{}", at.file(), at.line(), at.column()),
        None => message.to_owned(),
    }
}

/// The text of a panic payload (`panic!` gives a `&str` or a `String`).
fn payload_text(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("no message")
}

/// Returns the code of `result`, storing the error through `error_out` when
/// it is one, by the error-slot rule (GLib's `GError` rule): `*error_out`
/// must be NULL on entry. If it is, a new error is stored there; if it still
/// holds an earlier error the caller has not freed, that error is kept and
/// the new one is dropped, so neither leaks nor gets freed twice. The code
/// returned is always this call's. A NULL `error_out` gets nothing.
///
/// # Safety
///
/// `error_out` is NULL or valid for reading and writing one `*mut rha_error`.
pub(crate) unsafe fn report(
    result: Result<rha_result, rha_error>,
    error_out: *mut *mut rha_error,
) -> rha_result {
    match result {
        Ok(code) => code,
        Err(error) => {
            let code = error.code();
            // SAFETY: non-NULL, and valid for reads and writes by this
            // function's contract.
            if !error_out.is_null() && unsafe { error_out.read() }.is_null() {
                // SAFETY: as above.
                unsafe { error_out.write(crate::handle::new(error)) };
            }
            code
        }
    }
}

/// The error for a caught panic: the message and location the panic hook
/// captured on this thread, else the payload's message.
fn panicked(payload: &(dyn Any + Send)) -> rha_error {
    let captured = CAPTURED
        .try_with(|c| c.try_borrow_mut().ok().and_then(|mut slot| slot.take()))
        .ok()
        .flatten();
    let what = captured.unwrap_or_else(|| payload_text(payload).to_owned());
    crate::log::panic_caught(&what);
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
        assert_eq!(rha_tree_scan_flag::ALL_BITS, 0x3);
        assert_eq!(rha_replica_flag::ALL_BITS, 0x3);
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
    fn an_earlier_error_in_the_slot_is_kept_not_leaked_or_overwritten() {
        let mut err: *mut rha_error = ptr::null_mut();
        // SAFETY: `err` is a live local.
        let code = unsafe { report(Err(rha_error::invalid_argument("first")), &mut err) };
        assert_eq!(code, rha_result::RHA_INVALID_ARGUMENT);
        let first = err;
        let second = Err(rha_error::null_parameter("x"));
        // SAFETY: `err` is a live local.
        let code = unsafe { report(second, &mut err) };
        assert_eq!(
            code,
            rha_result::RHA_NULL_PARAMETER,
            "the code is this call's"
        );
        assert_eq!(err, first, "the earlier error stays in the slot");
        // SAFETY: stored by `report` above, taken once.
        let kept = unsafe { crate::handle::take(err) }.expect("an error was stored");
        assert_eq!(kept.message(), "first");
    }

    /// A stand-in for an exported constructor: fails, panics or succeeds.
    unsafe fn make(how: u8, out: *mut *mut u32, error_out: *mut *mut rha_error) -> rha_result {
        ffi_fn!(fallible(error_out), non_null(out), handle_out(out), {
            match how {
                0 => Err(rha_error::invalid_argument("no")),
                1 => panic!("constructor bug"),
                _ => {
                    // SAFETY: non-NULL (checked) and writable by this function's contract.
                    unsafe { crate::handle::store(out, 7) };
                    Ok(rha_result::RHA_OK)
                }
            }
        })
    }

    #[test]
    fn handle_outputs_are_null_after_any_failure() {
        for (how, code) in [
            (0, rha_result::RHA_INVALID_ARGUMENT),
            (1, rha_result::RHA_PANIC),
        ] {
            // A stale handle left in the variable by an earlier call.
            let stale = crate::handle::new(1u32);
            let mut out = stale;
            let mut err: *mut rha_error = ptr::null_mut();
            // SAFETY: live locals.
            assert_eq!(unsafe { make(how, &mut out, &mut err) }, code);
            assert!(out.is_null(), "failure {how} left the output {out:?}");
            // SAFETY: made by `new`/`report` above, each released once.
            unsafe {
                crate::handle::free(stale);
                crate::handle::free(err);
            }
        }
        let mut out: *mut u32 = ptr::null_mut();
        // SAFETY: live local; NULL `error_out` is allowed.
        let code = unsafe { make(2, &mut out, ptr::null_mut()) };
        assert_eq!(code, rha_result::RHA_OK);
        // SAFETY: stored by `make`, taken once.
        assert_eq!(unsafe { crate::handle::take(out) }, Some(7));
        // SAFETY: a NULL output is refused before anything is written.
        let code = unsafe { make(2, ptr::null_mut(), ptr::null_mut()) };
        assert_eq!(code, rha_result::RHA_NULL_PARAMETER);
    }

    /// The child half of `panics_in_rha_calls_print_nothing`: runs only in
    /// the subprocess that test starts.
    #[test]
    fn panic_hook_child() {
        if std::env::var_os("RHA_PANIC_HOOK_CHILD").is_none() {
            return;
        }
        let mut err: *mut rha_error = ptr::null_mut();
        // SAFETY: a live local.
        let code = unsafe { make(1, &mut ptr::null_mut(), &mut err) };
        assert_eq!(code, rha_result::RHA_PANIC);
        // SAFETY: stored by `make`, taken once.
        let err = unsafe { crate::handle::take(err) }.expect("an error was stored");
        println!("error message: {}", err.message());
        // A panic of the host's own, outside any rha call, still reaches
        // the hook that was there before (the default one prints it).
        let host = std::thread::spawn(|| panic!("the host's own panic"));
        assert!(host.join().is_err());
    }

    #[test]
    fn panics_in_rha_calls_print_nothing() {
        let exe = std::env::current_exe().expect("the test binary's path");
        let out = std::process::Command::new(exe)
            .args(["--exact", "macros::tests::panic_hook_child", "--nocapture"])
            .args(["--test-threads", "1"])
            .env("RHA_PANIC_HOOK_CHILD", "1")
            .env_remove("RUST_BACKTRACE")
            .output()
            .expect("the test binary runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "child failed:\n{stdout}\n{stderr}");
        assert!(
            stdout.contains("1 passed"),
            "the child test did not run:\n{stdout}"
        );
        assert!(
            stdout.contains("error message: internal error: rha panicked (constructor bug, at ")
                && stdout.contains("macros.rs:"),
            "the error carries the panic's message and location:\n{stdout}"
        );
        assert!(
            !stderr.contains("constructor bug") && !stdout.contains("panicked at"),
            "an rha panic was printed:\n{stdout}\n{stderr}"
        );
        assert!(
            stderr.contains("the host's own panic"),
            "the host's panic went missing:\n{stderr}"
        );
    }

    #[test]
    fn infallible_panics_give_none() {
        assert_eq!(run_infallible(|| 7), Some(7));
        assert_eq!(run_infallible(|| -> u32 { panic!("boom") }), None);
    }
}
