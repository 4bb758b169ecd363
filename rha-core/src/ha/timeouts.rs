//! How long the scenario waits for an awaited action's report, and what it
//! does when none comes (SPEC.md §6; the restart rules of
//! `docs/ha-state-machine.md`).
//!
//! Every action the machine waits for has a deadline. When it passes, the
//! machine re-issues the same action (same id: executors are idempotent and
//! a late report of any attempt counts) up to [`StepTimeouts::retries`]
//! times; after that the step counts as failed, with an
//! [`Event::StepTimedOut`](super::Event::StepTimedOut) naming it, and the
//! operation follows its plan for a failed step: the done steps are undone
//! (switchover, failover, ...), a best-effort step is left over (cleanup),
//! a synchronisation or verification stops the run.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::config::ConfigError;
use super::io::ActionKind;
use super::redirect::RedirectStep;

/// The default wait for one attempt of an ordinary step (stop or start
/// services, a redirection step, removing an artefact).
pub const DEFAULT_STEP_TIMEOUT: Duration = Duration::from_secs(600);
/// The default wait for one attempt of a long step (a synchronisation, a
/// sync-back, a restore from an image): a day.
pub const DEFAULT_SYNC_TIMEOUT: Duration = Duration::from_secs(24 * 3600);
/// How many times a step that timed out is re-issued by default.
pub const DEFAULT_STEP_RETRIES: u32 = 1;
/// The most re-issues a configuration may ask for.
pub const MAX_STEP_RETRIES: u32 = 100;

/// Deadlines of awaited actions. Absent from older saved states, where it
/// reads as the defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepTimeouts {
    /// One attempt of an ordinary step [600 s]. A script redirection step
    /// waits for the longer of this and its own timeout.
    pub step: Duration,
    /// One attempt of a synchronisation, sync-back or restore [24 h].
    pub sync: Duration,
    /// How many times a step that timed out is re-issued before it counts
    /// as failed (default 1).
    pub retries: u32,
}

impl Default for StepTimeouts {
    fn default() -> Self {
        Self {
            step: DEFAULT_STEP_TIMEOUT,
            sync: DEFAULT_SYNC_TIMEOUT,
            retries: DEFAULT_STEP_RETRIES,
        }
    }
}

impl StepTimeouts {
    /// How long one attempt of `kind` may take.
    pub fn for_action(&self, kind: &ActionKind) -> Duration {
        match kind {
            ActionKind::Verify => self.step,
            ActionKind::BeginSync { .. }
            | ActionKind::BeginSyncBack { .. }
            | ActionKind::RestoreFromImage { .. } => self.sync,
            ActionKind::Redirect {
                params: RedirectStep::Script { timeout, .. },
                ..
            } => self.step.max(*timeout),
            _ => self.step,
        }
    }

    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        let bad = |field: &'static str, reason: String| Err(ConfigError::Field { field, reason });
        if self.step.is_zero() {
            return bad("timeouts.step", "must be positive".into());
        }
        if self.sync.is_zero() {
            return bad("timeouts.sync", "must be positive".into());
        }
        if self.retries > MAX_STEP_RETRIES {
            return bad(
                "timeouts.retries",
                format!("{} is more than {MAX_STEP_RETRIES}", self.retries),
            );
        }
        Ok(())
    }
}
