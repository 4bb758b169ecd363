//! The `rha` tool's `tracing` subscriber: the library's spans and events on
//! standard error.
//!
//! By default only warnings and errors are printed, without timestamps, so
//! an ordinary run stays quiet. `-v` adds info, `-vv` debug, `-vvv` trace
//! (with timestamps). `RUST_LOG`, when set, overrides both: it takes a
//! level (`debug`) or targets with levels (`rha_core::spool=debug,info`),
//! as [`Targets`] parses them.

use std::str::FromStr;

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The filter for `verbose` repetitions of `-v`, or the one `rust_log`
/// (the value of `RUST_LOG`) spells. A `RUST_LOG` that does not parse is
/// named in the returned warning, and the `-v` filter applies.
pub(crate) fn filter(verbose: u8, rust_log: Option<&str>) -> (Targets, Option<String>) {
    let level = match verbose {
        0 => LevelFilter::WARN,
        1 => LevelFilter::INFO,
        2 => LevelFilter::DEBUG,
        _ => LevelFilter::TRACE,
    };
    let default = Targets::new().with_default(level);
    match rust_log.map(str::trim).filter(|s| !s.is_empty()) {
        None => (default, None),
        Some(spec) => match Targets::from_str(spec) {
            Ok(t) => (t, None),
            Err(e) => (
                default,
                Some(format!("rha: warning: ignoring RUST_LOG={spec:?}: {e}")),
            ),
        },
    }
}

/// Installs the subscriber as the process's default: events at or above
/// the chosen levels go to standard error, one line each, with the
/// enclosing spans and their fields. Timestamps only when verbose.
pub(crate) fn install(verbose: u8) {
    let rust_log = std::env::var("RUST_LOG").ok();
    let (targets, warning) = filter(verbose, rust_log.as_deref());
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(false);
    let registry = tracing_subscriber::registry().with(targets);
    // A second install (none in the tool) would fail harmlessly.
    let _ = if verbose > 0 {
        registry.with(fmt).try_init()
    } else {
        registry.with(fmt.without_time()).try_init()
    };
    if let Some(w) = warning {
        eprintln!("{w}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    fn allows(t: &Targets, target: &str, level: Level) -> bool {
        t.would_enable(target, &level)
    }

    #[test]
    fn verbosity_picks_the_level_and_rust_log_overrides_it() {
        let (t, w) = filter(0, None);
        assert!(w.is_none());
        assert!(allows(&t, "rha_core::spool", Level::WARN));
        assert!(!allows(&t, "rha_core::spool", Level::INFO));
        let (t, _) = filter(2, None);
        assert!(allows(&t, "rha_core::spool", Level::DEBUG));
        assert!(!allows(&t, "rha_core::spool", Level::TRACE));
        let (t, _) = filter(3, None);
        assert!(allows(&t, "rha_core::spool", Level::TRACE));

        let (t, w) = filter(0, Some("rha_core::spool=debug,info"));
        assert!(w.is_none());
        assert!(allows(&t, "rha_core::spool::recover", Level::DEBUG));
        assert!(!allows(&t, "rha_capture::sync", Level::DEBUG));
        assert!(allows(&t, "rha_capture::sync", Level::INFO));
    }

    #[test]
    fn a_bad_rust_log_is_named_and_the_flags_apply() {
        let (t, w) = filter(1, Some("rha_core=loud"));
        assert!(w.is_some_and(|w| w.contains("RUST_LOG")));
        assert!(allows(&t, "rha_core", Level::INFO));
        assert!(!allows(&t, "rha_core", Level::DEBUG));
    }
}
