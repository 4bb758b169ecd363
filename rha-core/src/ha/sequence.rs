//! Running an operation as an ordered list of steps, each with its undo.
//!
//! Steps are issued one at a time; each waits for its report. If a step that
//! is not best-effort fails, the undos of the steps already done are issued
//! in reverse order (an undo that fails is recorded and the rollback goes
//! on), and the operation ends as failed. A best-effort step that fails is
//! recorded as a leftover and the operation goes on.

use serde::{Deserialize, Serialize};

use super::io::ActionKind;

/// One step of an operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Step {
    pub(crate) action: ActionKind,
    pub(crate) undo: Option<ActionKind>,
    pub(crate) best_effort: bool,
}

impl Step {
    pub(crate) fn new(action: ActionKind, undo: Option<ActionKind>) -> Self {
        Self {
            action,
            undo,
            best_effort: false,
        }
    }

    pub(crate) fn best_effort(action: ActionKind) -> Self {
        Self {
            action,
            undo: None,
            best_effort: true,
        }
    }
}

/// An operation in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Sequence {
    steps: Vec<Step>,
    /// Steps before `next` are done (or were best-effort and failed).
    next: usize,
    /// The id of the action being waited for.
    waiting: Option<u64>,
    /// During a rollback: the undos still to issue, last first (popped).
    rollback: Option<Vec<ActionKind>>,
    /// The undo being waited for during a rollback.
    undoing: Option<ActionKind>,
    /// Best-effort steps and undos that failed.
    leftovers: Vec<ActionKind>,
}

/// What to do after starting or after a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Next {
    /// Issue this action and call [`Sequence::issued`] with its id.
    Issue(ActionKind),
    /// Every step succeeded (best-effort failures are in the leftovers).
    Done,
    /// A step failed and every done step's undo was issued and reported.
    RolledBack,
}

/// The outcome of one report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Report {
    /// The action the report was about.
    pub(crate) action: ActionKind,
    /// Whether it succeeded.
    pub(crate) ok: bool,
    /// Whether the action was an undo issued during a rollback.
    pub(crate) was_undo: bool,
    /// Whether this report started a rollback.
    pub(crate) rollback_started: bool,
    /// What to do next.
    pub(crate) next: Next,
}

impl Sequence {
    pub(crate) fn new(steps: Vec<Step>) -> Self {
        Self {
            steps,
            next: 0,
            waiting: None,
            rollback: None,
            undoing: None,
            leftovers: Vec::new(),
        }
    }

    /// The first thing to do.
    pub(crate) fn start(&mut self) -> Next {
        self.advance()
    }

    /// Records the id of the action just issued.
    pub(crate) fn issued(&mut self, id: u64) {
        self.waiting = Some(id);
    }

    /// Whether the sequence waits for a report on `id`.
    pub(crate) fn waits_for(&self, id: u64) -> bool {
        self.waiting == Some(id)
    }

    /// The action being waited for and its id: the undo under way during a
    /// rollback, the current step otherwise.
    pub(crate) fn awaited(&self) -> Option<(u64, &ActionKind)> {
        let id = self.waiting?;
        let action = match &self.undoing {
            Some(undo) => undo,
            None => &self.steps.get(self.next)?.action,
        };
        Some((id, action))
    }

    /// Actions that failed and were left as they were.
    pub(crate) fn leftovers(&self) -> &[ActionKind] {
        &self.leftovers
    }

    /// Applies the report on the awaited action; `None` if `id` is not the
    /// awaited one.
    pub(crate) fn report(&mut self, id: u64, ok: bool) -> Option<Report> {
        if !self.waits_for(id) {
            return None;
        }
        self.waiting = None;
        if self.rollback.is_some() {
            let action = self.undoing.take()?;
            if !ok {
                self.leftovers.push(action.clone());
            }
            return Some(Report {
                action,
                ok,
                was_undo: true,
                rollback_started: false,
                next: self.advance(),
            });
        }
        let step = self.steps.get(self.next)?.clone();
        let mut rollback_started = false;
        if ok || step.best_effort {
            if !ok {
                self.leftovers.push(step.action.clone());
            }
            self.next += 1;
        } else {
            // Undo the done steps, most recent first (popped from the end).
            let undos: Vec<ActionKind> = self
                .steps
                .iter()
                .take(self.next)
                .filter_map(|s| s.undo.clone())
                .collect();
            self.rollback = Some(undos);
            rollback_started = true;
        }
        Some(Report {
            action: step.action,
            ok,
            was_undo: false,
            rollback_started,
            next: self.advance(),
        })
    }

    fn advance(&mut self) -> Next {
        if let Some(undos) = &mut self.rollback {
            return match undos.pop() {
                Some(undo) => {
                    self.undoing = Some(undo.clone());
                    Next::Issue(undo)
                }
                None => Next::RolledBack,
            };
        }
        match self.steps.get(self.next) {
            Some(step) => Next::Issue(step.action.clone()),
            None => Next::Done,
        }
    }

    /// Checks indices after a restore.
    pub(crate) fn is_consistent(&self) -> bool {
        self.next <= self.steps.len()
            && (self.rollback.is_some() || self.undoing.is_none())
            && (self.waiting.is_some() || self.undoing.is_none())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ha::io::Side;

    fn start(host: Side) -> ActionKind {
        ActionKind::StartServices { host, test: false }
    }
    fn stop(host: Side) -> ActionKind {
        ActionKind::StopServices { host, fence: false }
    }

    #[test]
    fn a_failed_step_undoes_the_done_ones_in_reverse() {
        let mut s = Sequence::new(vec![
            Step::new(stop(Side::Master), Some(start(Side::Master))),
            Step::new(ActionKind::StopReplication, None),
            Step::new(start(Side::Replica), Some(stop(Side::Replica))),
            Step::new(ActionKind::MountOverlay, None),
        ]);
        let mut id = 0;
        let mut issue = |s: &mut Sequence, next: Next| -> ActionKind {
            id += 1;
            s.issued(id);
            match next {
                Next::Issue(a) => a,
                other => panic!("{other:?}"),
            }
        };
        let n = s.start();
        assert_eq!(issue(&mut s, n), stop(Side::Master));
        assert!(s.report(99, true).is_none(), "not the awaited id");
        let r = s.report(1, true).expect("awaited");
        assert_eq!(issue(&mut s, r.next), ActionKind::StopReplication);
        let r = s.report(2, true).expect("awaited");
        assert_eq!(issue(&mut s, r.next), start(Side::Replica));
        let r = s.report(3, true).expect("awaited");
        assert_eq!(issue(&mut s, r.next), ActionKind::MountOverlay);
        let r = s.report(4, false).expect("awaited");
        assert!(r.rollback_started && !r.ok);
        assert_eq!(issue(&mut s, r.next), stop(Side::Replica));
        let r = s.report(5, false).expect("awaited");
        assert!(r.was_undo && !r.ok);
        assert_eq!(issue(&mut s, r.next), start(Side::Master));
        let r = s.report(6, true).expect("awaited");
        assert_eq!(r.next, Next::RolledBack);
        assert_eq!(s.leftovers(), &[stop(Side::Replica)]);
    }

    #[test]
    fn best_effort_failures_are_leftovers() {
        let mut s = Sequence::new(vec![
            Step::best_effort(ActionKind::MountOverlay),
            Step::new(ActionKind::StopReplication, None),
        ]);
        assert_eq!(s.start(), Next::Issue(ActionKind::MountOverlay));
        s.issued(1);
        let r = s.report(1, false).expect("awaited");
        assert_eq!(r.next, Next::Issue(ActionKind::StopReplication));
        s.issued(2);
        assert_eq!(s.report(2, true).map(|r| r.next), Some(Next::Done));
        assert_eq!(s.leftovers(), &[ActionKind::MountOverlay]);
        assert_eq!(Sequence::new(vec![]).start(), Next::Done);
    }
}
