//! Restarts and hung steps: the awaited action (the intent) survives in the
//! saved state, is re-issued after a restore, times out with a defined
//! outcome, and can be abandoned by the operator.
//!
//! Timers after a restore: every timer restarts from the first instant the
//! restored machine is given (the restore time). Instants saved before the
//! restart are on the old boot's monotonic clock and mean nothing on the new
//! one, so none of them is trusted: Is Alive counts every link as seen at
//! the restore time and the awaited step gets a full timeout from it. No
//! deadline after a restore is ever further away than its configured
//! timeout.

use super::io::{ActionKind, Event};
use super::scenario::Scenario;
use super::time::Instant;

/// What the scenario waits for: the action handed out (or about to be) and
/// its deadline. It is part of the saved state from the moment the action
/// is queued, so saving after each `handle_*` call (before executing the
/// polled actions) persists the intent before the action is handed out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intent {
    /// The action's id (the same on every attempt).
    pub id: u64,
    /// The operation it belongs to (switchover, failback, ...).
    pub operation: &'static str,
    /// The action.
    pub action: ActionKind,
    /// When the current attempt times out (`None` right after a restore,
    /// until the machine is given the time).
    pub deadline: Option<Instant>,
    /// How many times it was re-issued after a timeout or a restart.
    pub attempts: u32,
}

/// The outcome of a step that hung past its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hung {
    Retry,
    Fail,
}

impl Scenario {
    /// The action the operation in progress waits for, if any.
    pub fn intent(&self) -> Option<Intent> {
        let op = self.op.as_ref()?;
        let (id, action) = op.seq.awaited()?;
        Some(Intent {
            id,
            operation: op.kind.name(),
            action: action.clone(),
            deadline: op.deadline,
            attempts: op.attempts,
        })
    }

    /// Whether the machine was restored and has not been given the time
    /// yet (its first `handle_*` call restarts the timers).
    pub fn awaiting_restart(&self) -> bool {
        self.restored
    }

    /// After a restore, at the first instant the machine is given: restarts
    /// every timer from `now` and re-issues the awaited action unless it is
    /// still queued (not handed out before the save).
    pub(super) fn resume_if_restored(&mut self, now: Instant) {
        if !self.restored {
            return;
        }
        self.restored = false;
        if let Some(ia) = self.is_alive.as_mut() {
            ia.restart(now);
        }
        let timeouts = self.config.timeouts;
        let Some(op) = self.op.as_mut() else {
            self.events.push_back(Event::Restarted { reissued: None });
            return;
        };
        let Some((id, action)) = op.seq.awaited() else {
            self.events.push_back(Event::Restarted { reissued: None });
            return;
        };
        let action = action.clone();
        op.deadline = Some(now.saturating_add(timeouts.for_action(&action)));
        let queued = self.actions.iter().any(|a| a.id == id);
        let reissued = (!queued).then(|| action.describe());
        if !queued {
            op.attempts = op.attempts.saturating_add(1);
            self.actions.push_back(super::io::Action {
                id,
                kind: action,
                awaits_report: true,
            });
        }
        self.events.push_back(Event::Restarted { reissued });
    }

    /// The deadline of the awaited step, if one runs.
    pub(super) fn step_deadline(&self) -> Option<Instant> {
        self.op.as_ref().and_then(|op| op.deadline)
    }

    /// Sets the deadline of the action just issued (a new step: no
    /// attempts yet).
    pub(super) fn arm_step(&mut self, kind: &ActionKind, now: Instant) {
        let timeout = self.config.timeouts.for_action(kind);
        if let Some(op) = self.op.as_mut() {
            op.deadline = Some(now.saturating_add(timeout));
            op.attempts = 0;
        }
    }

    /// At `now`, acts on an awaited step past its deadline: re-issues it
    /// (same id) while retries remain, else fails it with an event naming
    /// it.
    pub(super) fn check_step_deadline(&mut self, now: Instant) {
        let retries = self.config.timeouts.retries;
        let Some(op) = self.op.as_mut() else {
            return;
        };
        if op.deadline.is_none_or(|d| now < d) {
            return;
        }
        let Some((id, action)) = op.seq.awaited() else {
            op.deadline = None;
            return;
        };
        let action = action.clone();
        let operation = op.kind.name().to_string();
        let hung = if op.attempts < retries {
            Hung::Retry
        } else {
            Hung::Fail
        };
        match hung {
            Hung::Retry => {
                op.attempts += 1;
                let attempt = op.attempts;
                op.deadline = Some(now.saturating_add(self.config.timeouts.for_action(&action)));
                self.events.push_back(Event::StepRetried {
                    operation,
                    step: action.describe(),
                    attempt,
                });
                self.actions.retain(|a| a.id != id);
                self.actions.push_back(super::io::Action {
                    id,
                    kind: action,
                    awaits_report: true,
                });
            }
            Hung::Fail => {
                let attempts = op.attempts.saturating_add(1);
                op.deadline = None;
                let step = action.describe();
                self.events.push_back(Event::StepTimedOut {
                    operation,
                    step: step.clone(),
                    attempts,
                });
                self.fail_awaited(
                    id,
                    format!("{step} timed out ({attempts} attempts without a report)"),
                    now,
                );
            }
        }
    }

    /// The operator's abandon: the awaited step counts as failed now and
    /// the operation follows its plan for a failed step. `None` if nothing
    /// is awaited.
    pub(super) fn abandon_step(&mut self, now: Instant) -> Option<()> {
        let op = self.op.as_ref()?;
        let (id, action) = op.seq.awaited()?;
        let step = action.describe();
        self.events.push_back(Event::StepAbandoned {
            operation: op.kind.name().to_string(),
            step: step.clone(),
        });
        self.fail_awaited(id, format!("{step} abandoned by the operator"), now);
        Some(())
    }

    fn fail_awaited(&mut self, id: u64, reason: String, now: Instant) {
        self.actions.retain(|a| a.id != id);
        self.handle_observation(super::io::Observation::ActionFailed { id, reason }, now);
    }
}
