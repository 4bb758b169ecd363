//! Diagnostics for C embedders: rha's `tracing` spans and events handed to
//! a logging callback.
//!
//! rha reports what it does through `tracing` (spans for jobs, sync, apply,
//! rewind and spool recovery; warnings such as a torn spool tail truncated
//! or a spool near its limit). A C program receives them by registering an
//! [`rha_log_fn`] with [`rha_log_set_callback`]. The first registration
//! installs, once per process, a `tracing` subscriber as the global default;
//! it keeps the spans that events are named under and hands each event at or
//! below the chosen level to the callback. The callback, its `userdata` and
//! the level sit behind one lock, so they can be replaced or cleared at any
//! time; a level change rebuilds `tracing`'s interest cache, so events above
//! the level (and all of them once the callback is cleared) cost one
//! comparison at their call site.

use std::cell::Cell;
use std::ffi::{c_char, c_void};
use std::fmt::{self, Write as _};
use std::sync::OnceLock;

use parking_lot::RwLock;
use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

use crate::error::{rha_error, rha_result};

/// The level of a log message, most severe first (as `uint32_t`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum rha_log_level {
    /// Something failed: a spool write, a caught panic (a bug in rha).
    RHA_LOG_ERROR = 1,
    /// Something the operator should know: a torn spool tail truncated, a
    /// spool past a usage threshold or overflowing, an interrupted rewind
    /// finished on open, a spool salvaged.
    RHA_LOG_WARN = 2,
    /// What each operation did: a journal applied, a tree synced, a rewind.
    RHA_LOG_INFO = 3,
    /// Details: each job (signature, delta, patch), tree scan and spool
    /// recovery step.
    RHA_LOG_DEBUG = 4,
    /// Everything rha reports.
    RHA_LOG_TRACE = 5,
}

closed_set!(rha_log_level {
    RHA_LOG_ERROR,
    RHA_LOG_WARN,
    RHA_LOG_INFO,
    RHA_LOG_DEBUG,
    RHA_LOG_TRACE,
});

impl rha_log_level {
    fn of(level: &Level) -> Self {
        match *level {
            Level::ERROR => Self::RHA_LOG_ERROR,
            Level::WARN => Self::RHA_LOG_WARN,
            Level::INFO => Self::RHA_LOG_INFO,
            Level::DEBUG => Self::RHA_LOG_DEBUG,
            Level::TRACE => Self::RHA_LOG_TRACE,
        }
    }

    fn filter(self) -> LevelFilter {
        match self {
            Self::RHA_LOG_ERROR => LevelFilter::ERROR,
            Self::RHA_LOG_WARN => LevelFilter::WARN,
            Self::RHA_LOG_INFO => LevelFilter::INFO,
            Self::RHA_LOG_DEBUG => LevelFilter::DEBUG,
            Self::RHA_LOG_TRACE => LevelFilter::TRACE,
        }
    }
}

/// Receives one log message.
///
/// `level` is an `rha_log_level`. `target` names the part of rha that
/// speaks (a Rust module path such as `rha_core::spool::recover`);
/// `message` is the text, preceded by the spans it happened in and
/// followed by its fields, for example
/// `spool_open{dir=/var/spool}:spool_recovery: torn tail truncated
/// file=seg-00000000000000000001.rhaj offset=4096 bytes=17 last_good_seq=41`.
/// A span is named only if `max_level` takes in its level (spool, sync,
/// apply and rewind spans are `RHA_LOG_INFO`, job spans `RHA_LOG_DEBUG`).
/// Both are UTF-8 of `target_len` and `message_len` bytes, followed by a
/// NUL byte (not counted) and holding no other NUL: they can be printed
/// with `%s`. They belong to rha and are valid only during the call.
///
/// Called from any thread that runs rha code, including the helper threads
/// of jobs, possibly from several at once: the callback must be
/// thread-safe. It must not call `rha_log_set_callback` (that call fails
/// with `RHA_INVALID_STATE`); messages that rha code called from inside the
/// callback would log are dropped.
pub type rha_log_fn = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        level: u32,
        target: *const c_char,
        target_len: usize,
        message: *const c_char,
        message_len: usize,
    ),
>;

type LogFn = unsafe extern "C" fn(*mut c_void, u32, *const c_char, usize, *const c_char, usize);

/// The registered callback.
#[derive(Clone, Copy)]
struct Sink {
    callback: LogFn,
    userdata: *mut c_void,
    max: LevelFilter,
}

// SAFETY: `userdata` is only handed back to the callback, which the
// caller of `rha_log_set_callback` promised may be called from any thread.
unsafe impl Send for Sink {}
// SAFETY: as above; a `Sink` is never changed in place.
unsafe impl Sync for Sink {}

/// The callback, held (read) while it runs, so that once
/// `rha_log_set_callback` returns the previous callback is not running on
/// any thread and will not be called again.
static SINK: RwLock<Option<Sink>> = RwLock::new(None);

/// Whether rha's subscriber became the process's global default (`false`:
/// another one already was).
static INSTALLED: OnceLock<bool> = OnceLock::new();

thread_local! {
    /// The current thread is inside the callback.
    static IN_CALLBACK: Cell<bool> = const { Cell::new(false) };
}

fn in_callback() -> bool {
    IN_CALLBACK.try_with(Cell::get).unwrap_or(true)
}

/// The level events must be at or below to reach the callback (`OFF`
/// without one).
fn current_max() -> LevelFilter {
    SINK.read_recursive()
        .as_ref()
        .map_or(LevelFilter::OFF, |s| s.max)
}

/// Sets, replaces or clears (`callback` NULL) the process-wide logging
/// callback: from now on, every message of level `max_level` (an
/// `rha_log_level`) or more severe is passed to `callback(userdata, ...)`
/// (see `rha_log_fn`), on the thread that logs it.
///
/// When this call returns, the previous callback (if any) is not running on
/// any thread and will not be called again, so its `userdata` may be freed.
/// `userdata` must stay valid until the callback is replaced or cleared.
///
/// The first call that sets a callback installs rha's `tracing` subscriber
/// as the process's global default. If the process already has one (a Rust
/// host installed its own), rha's messages go to that one instead, and the
/// call fails with `RHA_LOG_SUBSCRIBER_EXISTS`; clearing never fails so.
/// Fails with `RHA_INVALID_ARGUMENT` for a `max_level` that is not an
/// `rha_log_level` (when setting), and with `RHA_INVALID_STATE` when called
/// from inside a logging callback. Thread-safe.
///
/// Caught panics (`RHA_PANIC`) are logged too, at `RHA_LOG_ERROR`, target
/// `rha_ffi::panic`.
///
/// # Safety
///
/// `callback` is NULL or a function that behaves as `rha_log_fn` documents;
/// `error_out` is NULL or valid for reading and writing an `rha_error *`.
#[no_mangle]
pub unsafe extern "C" fn rha_log_set_callback(
    callback: rha_log_fn,
    userdata: *mut c_void,
    max_level: u32,
    error_out: *mut *mut rha_error,
) -> rha_result {
    ffi_fn!(fallible(error_out), non_null(), {
        if in_callback() {
            return Err(rha_error::new(
                rha_result::RHA_INVALID_STATE,
                "rha_log_set_callback was called from inside the logging callback",
            ));
        }
        let sink = match callback {
            None => None,
            Some(callback) => {
                let level = rha_log_level::from_raw(max_level).ok_or_else(|| {
                    rha_error::invalid_argument(format!(
                        "max_level {max_level} is not an rha_log_level (1 to 5)"
                    ))
                })?;
                if !install() {
                    return Err(rha_error::new(
                        rha_result::RHA_LOG_SUBSCRIBER_EXISTS,
                        "the process already has a global tracing subscriber: \
                         rha's messages go to it, not to a callback",
                    ));
                }
                Some(Sink {
                    callback,
                    userdata,
                    max: level.filter(),
                })
            }
        };
        let changed = {
            let mut slot = SINK.write();
            let before = slot.map(|s| s.max);
            *slot = sink;
            before != sink.map(|s| s.max)
        };
        if changed {
            // Call sites cache whether they are enabled: recompute.
            tracing::callsite::rebuild_interest_cache();
        }
        Ok(rha_result::RHA_OK)
    })
}

/// Installs rha's subscriber as the global default, once; whether it is.
fn install() -> bool {
    *INSTALLED.get_or_init(|| {
        let subscriber = tracing_subscriber::registry().with(CallbackLayer);
        tracing::subscriber::set_global_default(subscriber).is_ok()
    })
}

/// Logs a caught panic through the callback (and any other subscriber).
pub(crate) fn panic_caught(what: &str) {
    tracing::error!(target: "rha_ffi::panic", "rha panicked: {what}");
}

/// The fields of a span, formatted once when it is made.
struct SpanFields(String);

/// Formats fields as `key=value` pairs, the `message` field bare and first.
struct Fields<'a> {
    message: &'a mut String,
    rest: &'a mut String,
}

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.record_debug(field, &format_args!("{value}"));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            if !self.rest.is_empty() {
                self.rest.push(' ');
            }
            let _ = write!(self.rest, "{}={value:?}", field.name());
        }
    }
}

/// The layer that formats events and calls the callback.
struct CallbackLayer;

impl<S> Layer<S> for CallbackLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
        if current_max() >= *meta.level() {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, meta: &Metadata<'_>, _: Context<'_, S>) -> bool {
        current_max() >= *meta.level() && !in_callback()
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(current_max())
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = String::new();
        let mut message = String::new();
        attrs.record(&mut Fields {
            message: &mut message,
            rest: &mut fields,
        });
        if !message.is_empty() {
            fields = if fields.is_empty() {
                message
            } else {
                format!("{message} {fields}")
            };
        }
        span.extensions_mut().insert(SpanFields(fields));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut ext = span.extensions_mut();
        if let Some(SpanFields(fields)) = ext.get_mut::<SpanFields>() {
            let mut message = String::new();
            values.record(&mut Fields {
                message: &mut message,
                rest: fields,
            });
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if in_callback() {
            return;
        }
        // Held while the callback runs: a replacement waits for it.
        let guard = SINK.read_recursive();
        let Some(sink) = guard.as_ref().copied() else {
            return;
        };
        let meta = event.metadata();
        if sink.max < *meta.level() {
            return;
        }
        let mut text = String::new();
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                text.push_str(span.name());
                if let Some(SpanFields(f)) = span.extensions().get::<SpanFields>() {
                    if !f.is_empty() {
                        let _ = write!(text, "{{{f}}}");
                    }
                }
                text.push(':');
            }
            if !text.is_empty() {
                text.push(' ');
            }
        }
        let mut message = String::new();
        let mut fields = String::new();
        event.record(&mut Fields {
            message: &mut message,
            rest: &mut fields,
        });
        text.push_str(&message);
        if !fields.is_empty() {
            if !message.is_empty() {
                text.push(' ');
            }
            text.push_str(&fields);
        }
        let target = c_text(meta.target());
        let message = c_text(&text);
        let _inside = Inside::enter();
        // SAFETY: the caller of `rha_log_set_callback` promised a callback
        // that behaves as `rha_log_fn` documents; both texts are valid,
        // NUL-terminated and outlive the call.
        unsafe {
            (sink.callback)(
                sink.userdata,
                rha_log_level::of(meta.level()) as u32,
                target.as_ptr().cast(),
                target.len() - 1,
                message.as_ptr().cast(),
                message.len() - 1,
            );
        }
        drop(guard);
    }
}

/// `text` with any NUL byte replaced, followed by one NUL.
fn c_text(text: &str) -> Vec<u8> {
    let mut bytes: Vec<u8> = text
        .bytes()
        .map(|b| if b == 0 { b'?' } else { b })
        .collect();
    bytes.push(0);
    bytes
}

/// Marks the current thread as inside the callback while it lives.
struct Inside;

impl Inside {
    fn enter() -> Self {
        let _ = IN_CALLBACK.try_with(|c| c.set(true));
        Inside
    }
}

impl Drop for Inside {
    fn drop(&mut self) {
        let _ = IN_CALLBACK.try_with(|c| c.set(false));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// Records each event's level, target and message field.
    #[derive(Clone, Default)]
    struct Collect(Arc<Mutex<Vec<(Level, String, String)>>>);

    impl<S: Subscriber> Layer<S> for Collect {
        fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
            let (mut message, mut rest) = (String::new(), String::new());
            event.record(&mut Fields {
                message: &mut message,
                rest: &mut rest,
            });
            let meta = event.metadata();
            if let Ok(mut seen) = self.0.lock() {
                seen.push((*meta.level(), meta.target().to_owned(), message));
            }
        }
    }

    #[test]
    fn a_caught_panic_is_logged_as_an_error() {
        let collect = Collect::default();
        let subscriber = tracing_subscriber::registry().with(collect.clone());
        let logged = |seen: &[(Level, String, String)]| {
            seen.iter()
                .find(|(_, _, m)| m.contains("boom-7f3a"))
                .cloned()
        };
        let mut found = None;
        tracing::subscriber::with_default(subscriber, || {
            // Other tests of this binary hit the same call site on other
            // threads, where no subscriber listens. One of them may be
            // registering it (with the interest of a thread without a
            // subscriber) while this thread rebuilds the cache, and its
            // stale interest lands last: rebuild and try again, a bounded
            // number of times.
            for _ in 0..20 {
                tracing::callsite::rebuild_interest_cache();
                let result = crate::macros::run_fallible(&[], || panic!("boom-7f3a"));
                assert_eq!(result.map_err(|e| e.code()), Err(rha_result::RHA_PANIC));
                let seen = collect.0.lock().map(|s| s.clone()).unwrap_or_default();
                found = logged(&seen);
                if found.is_some() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        });
        let (level, target, message) = found.expect("the panic was logged");
        assert_eq!(level, Level::ERROR);
        assert_eq!(target, "rha_ffi::panic");
        assert!(
            message.starts_with("rha panicked: boom-7f3a, at "),
            "{message}"
        );
    }

    #[test]
    fn levels_map_both_ways() {
        for &l in rha_log_level::ALL {
            let level = l.filter().into_level().expect("a level");
            assert_eq!(rha_log_level::of(&level), l);
        }
        assert_eq!(c_text("a\0b"), b"a?b\0");
    }
}
