//! Redirection executors: the operating-system side of switchover.
//!
//! When a scenario switches over, clients must be pointed at the replica.
//! The scenario state machine in `rha-core` plans the steps; the executors
//! here carry them out on Linux. Each executor does one step and can undo it:
//!
//! | executor | what `apply` does | what `undo` does |
//! |---|---|---|
//! | [`MoveIp`] | master side: removes the service address; replica side: adds it and announces it (gratuitous ARP, IPv6 neighbour advertisement) | the reverse |
//! | [`SwitchName`] | replica takes the master's host name; the master becomes `name-RHA` | each host gets its own name back |
//! | [`DnsRedirect`] | rewrites the master's A/AAAA record to the replica's address (RFC 2136, optionally signed with [`TsigKey`]) | restores the previous record |
//! | [`AliasSwitch`] | re-points a CNAME alias at the replica (RFC 2136) | re-points it at the previous target |
//! | [`Script`], [`ScriptList`] | runs user scripts with the scenario context in the environment | runs them again with `RHA_DIRECTION=undo` |
//!
//! Every executor is idempotent: applying twice, undoing twice, or undoing
//! something never applied is safe and comes back as
//! [`Outcome::AlreadyDone`] rather than an error. Errors are
//! [`RedirectError`]s naming the interface, record, host or script and the
//! cause.
//!
//! ```no_run
//! use rha_capture::redirect::{Executor, Side, SwitchName};
//!
//! let mut step = SwitchName::new(Side::Replica, "db1", "db2");
//! let report = step.apply()?;
//! println!("{}: {}", step.describe(), report);
//! // ... on switchback:
//! step.undo()?;
//! # Ok::<(), rha_capture::redirect::RedirectError>(())
//! ```
//!
//! `docs/redirection.md` describes each method, what it needs (privileges,
//! packages) and the environment user scripts receive.

mod alias;
mod dns_client;
mod dns_redirect;
pub mod dns_wire;
mod error;
mod garp;
pub mod ha;
mod host_name;
mod move_ip;
mod ndisc;
pub(crate) mod rtnetlink;
mod script;
pub(crate) mod tsig;

use std::fmt;

pub use alias::{AliasSwitch, AliasTarget};
pub use dns_client::DnsClient;
pub use dns_redirect::DnsRedirect;
pub use error::RedirectError;
pub use host_name::{check_host_name, host_name, SwitchName, DEFAULT_SUFFIX, MAX_HOST_NAME_LEN};
pub use move_ip::MoveIp;
pub use script::{Script, ScriptContext, ScriptList, ScriptOutput, DEFAULT_OUTPUT_LIMIT};
pub use tsig::TsigKey;

/// Which host an executor acts on, and whether a step is done or undone:
/// the scenario machine's own types, so an action maps onto an executor
/// without translation.
pub use rha_core::ha::{Direction, Side};

/// What an `apply` or `undo` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The system was changed.
    Changed,
    /// The system was already in the wanted state; nothing was changed.
    AlreadyDone,
}

/// The result of a successful `apply` or `undo`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct Report {
    /// Whether anything changed.
    pub outcome: Outcome,
    /// What was done, or why nothing was, for logs.
    pub detail: String,
}

impl Report {
    pub(crate) fn changed(detail: impl Into<String>) -> Self {
        Self {
            outcome: Outcome::Changed,
            detail: detail.into(),
        }
    }

    pub(crate) fn already(detail: impl Into<String>) -> Self {
        Self {
            outcome: Outcome::AlreadyDone,
            detail: detail.into(),
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.outcome {
            Outcome::Changed => write!(f, "done: {}", self.detail),
            Outcome::AlreadyDone => write!(f, "nothing to do: {}", self.detail),
        }
    }
}

/// One redirection step that can be done and undone.
///
/// Implementations are idempotent: calling [`apply`](Executor::apply) when
/// the step is already in place, or [`undo`](Executor::undo) when it was
/// never done or is already undone, succeeds with [`Outcome::AlreadyDone`].
/// A test double can stand in for the real executors wherever this trait is
/// used.
pub trait Executor {
    /// A one-line description of the step, naming what it acts on.
    fn describe(&self) -> String;

    /// Does the step.
    ///
    /// # Errors
    ///
    /// A [`RedirectError`] naming what could not be changed and why; the
    /// step may then be partly done, and [`undo`](Executor::undo) cleans up.
    fn apply(&mut self) -> Result<Report, RedirectError>;

    /// Undoes the step.
    ///
    /// # Errors
    ///
    /// A [`RedirectError`] naming what could not be restored and why.
    fn undo(&mut self) -> Result<Report, RedirectError>;

    /// Runs [`apply`](Executor::apply) or [`undo`](Executor::undo).
    ///
    /// # Errors
    ///
    /// As the method it runs.
    fn run(&mut self, direction: Direction) -> Result<Report, RedirectError> {
        match direction {
            Direction::Do => self.apply(),
            Direction::Undo => self.undo(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// A test double: records what it was asked to do and is idempotent
    /// like the real executors.
    #[derive(Default)]
    struct Recorder {
        applied: bool,
        calls: Vec<Direction>,
    }

    impl Executor for Recorder {
        fn describe(&self) -> String {
            "recorder".to_owned()
        }

        fn apply(&mut self) -> Result<Report, RedirectError> {
            self.calls.push(Direction::Do);
            Ok(if std::mem::replace(&mut self.applied, true) {
                Report::already("already applied")
            } else {
                Report::changed("applied")
            })
        }

        fn undo(&mut self) -> Result<Report, RedirectError> {
            self.calls.push(Direction::Undo);
            Ok(if std::mem::replace(&mut self.applied, false) {
                Report::changed("undone")
            } else {
                Report::already("never applied")
            })
        }
    }

    #[test]
    fn a_test_double_stands_in_for_an_executor() {
        let mut double = Recorder::default();
        let steps: &mut dyn Executor = &mut double;
        assert_eq!(
            steps.run(Direction::Undo).unwrap().outcome,
            Outcome::AlreadyDone
        );
        assert_eq!(steps.run(Direction::Do).unwrap().outcome, Outcome::Changed);
        assert_eq!(
            steps.run(Direction::Do).unwrap().outcome,
            Outcome::AlreadyDone
        );
        let report = steps.run(Direction::Undo).unwrap();
        assert_eq!(report.to_string(), "done: undone");
        assert_eq!(Report::already("x").to_string(), "nothing to do: x");
        assert_eq!(
            double.calls,
            [
                Direction::Undo,
                Direction::Do,
                Direction::Do,
                Direction::Undo
            ]
        );
        assert_eq!(
            format!("{} {}", Side::Master, Side::Replica),
            "master replica"
        );
        assert_eq!(format!("{} {}", Direction::Do, Direction::Undo), "do undo");
    }
}
