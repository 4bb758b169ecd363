//! Saving and restoring a whole scenario (the saved-state format of
//! `docs/ha-state-machine.md`).

use serde::{Deserialize, Serialize};

use super::error::RestoreError;
use super::scenario::{watches, Scenario};
use super::state::State;

/// The version [`Scenario::save`] writes.
pub const STATE_VERSION: u32 = 2;
/// The largest saved state [`Scenario::restore`] accepts, in bytes.
pub const MAX_SAVED_STATE: usize = 16 << 20;

impl Scenario {
    /// The whole machine state as bytes (versioned JSON, see
    /// `docs/ha-state-machine.md`), for [`restore`](Self::restore) after an
    /// agent restart. Queued actions and events are included.
    pub fn save(&self) -> Vec<u8> {
        #[derive(Serialize)]
        struct Saved<'a> {
            version: u32,
            scenario: &'a Scenario,
        }
        serde_json::to_vec(&Saved {
            version: STATE_VERSION,
            scenario: self,
        })
        .unwrap_or_default()
    }

    /// A machine from bytes made by [`save`](Self::save) (this version or
    /// an older one).
    ///
    /// The restored machine restarts every timer from the first instant it
    /// is given (its [`poll_timeout`](Self::poll_timeout) asks for a call
    /// at once): no deadline is further away than its configured timeout,
    /// whatever the clock did across the restart. The action the operation
    /// in progress waited for (its [`intent`](Self::intent)) is re-issued
    /// then, with the same id, unless it is still queued; executors must be
    /// idempotent. [`Command::AbandonStep`](super::Command::AbandonStep)
    /// gives it up instead.
    pub fn restore(bytes: &[u8]) -> Result<Self, RestoreError> {
        if bytes.len() > MAX_SAVED_STATE {
            return Err(RestoreError::TooLarge {
                len: bytes.len(),
                max: MAX_SAVED_STATE,
            });
        }
        #[derive(Deserialize)]
        struct Version {
            version: u64,
        }
        #[derive(Deserialize)]
        struct Saved {
            scenario: Scenario,
        }
        let syntax = |e: serde_json::Error| RestoreError::Syntax {
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        };
        let v: Version = serde_json::from_slice(bytes).map_err(syntax)?;
        if v.version == 0 || v.version > u64::from(STATE_VERSION) {
            return Err(RestoreError::UnsupportedVersion {
                found: v.version,
                supported: STATE_VERSION,
            });
        }
        let mut s = serde_json::from_slice::<Saved>(bytes)
            .map_err(syntax)?
            .scenario;
        s.config.validate()?;
        if s.halves.is_empty() {
            // Version 1: one action per step.
            s.halves = s.applied.iter().map(|&a| [a, a]).collect();
        }
        s.check_consistent()?;
        // Saved instants are on the old boot's clock: the first call with
        // the time restarts every timer and re-issues the awaited action.
        s.restored = true;
        Ok(s)
    }

    fn check_consistent(&self) -> Result<(), RestoreError> {
        let bad = |what: &str| Err(RestoreError::Inconsistent(what.to_string()));
        if self.applied.len() != self.config.redirection.len() {
            return bad("the applied-step flags do not match the redirection plan");
        }
        if self.halves.len() != self.applied.len()
            || self
                .halves
                .iter()
                .zip(&self.applied)
                .any(|(h, &a)| a != (h[0] || h[1]))
        {
            return bad("the applied-half flags do not match the applied steps");
        }
        if self.silent.len() != self.config.is_alive.links.len() {
            return bad("the link flags do not match the links");
        }
        if watches(self.state) != self.is_alive.is_some() {
            return bad("Is Alive is armed in the wrong state");
        }
        if let Some(op) = &self.op {
            if !op.seq.is_consistent() {
                return bad("the operation in progress has impossible indices");
            }
        }
        let needs_op = matches!(
            self.state,
            State::Verifying
                | State::Synchronising
                | State::SwitchingOver
                | State::SwitchingBack
                | State::SyncingBack
                | State::FailingBack
        );
        if needs_op && self.op.is_none() {
            return bad("a transitional state has no operation in progress");
        }
        if self.next_id == 0 {
            return bad("the next action id is 0");
        }
        Ok(())
    }
}
