//! The scenario's states and the transition table (SPEC.md §6).
//!
//! [`TRANSITIONS`] lists every state change the machine can make, with what
//! triggers it. The machine only moves along these edges (tests and the fuzz
//! target check every change it reports against the table), and
//! `docs/ha-state-machine.md` carries the diagram generated from it by
//! [`mermaid`].

use std::fmt;

use serde::{Deserialize, Serialize};

/// Where a scenario is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Not running; nothing is replicated.
    Stopped,
    /// The scenario is being checked before the run; errors stop it.
    Verifying,
    /// The replica is being made equal to the master; changes captured
    /// meanwhile are spooled.
    Synchronising,
    /// Changes flow from the master to the replica; Is Alive watches the
    /// master.
    Replicating,
    /// Replication is paused; the replica's spool holds the changes.
    Paused,
    /// Assured recovery: application of changes on the replica is held
    /// (spool growing) while the replica's data is tested.
    IntegrityTesting,
    /// A writable copy of the newest replicated point is presented to one
    /// host; replication goes on.
    TestFailover,
    /// Clients are being redirected to the replica.
    SwitchingOver,
    /// The replica is active; the configuration is locked.
    SwitchedOver,
    /// The new active host replicates back to the repaired original.
    ReverseReplicating,
    /// Roles are being swapped back: the redirection is undone.
    SwitchingBack,
    /// Appliance failover: replication is stopped and the replica's copy
    /// (with an overlay for writes) serves.
    FailedOver,
    /// Changes made at the DR side are being shipped back as a new image.
    SyncingBack,
    /// The original site is being restored from the newest sync-back image
    /// and every failover artefact is being removed.
    FailingBack,
}

impl State {
    /// Every state, in lifecycle order.
    pub const ALL: [State; 14] = [
        State::Stopped,
        State::Verifying,
        State::Synchronising,
        State::Replicating,
        State::Paused,
        State::IntegrityTesting,
        State::TestFailover,
        State::SwitchingOver,
        State::SwitchedOver,
        State::ReverseReplicating,
        State::SwitchingBack,
        State::FailedOver,
        State::SyncingBack,
        State::FailingBack,
    ];

    /// The state's name in messages and diagrams.
    pub fn name(self) -> &'static str {
        match self {
            State::Stopped => "stopped",
            State::Verifying => "verifying",
            State::Synchronising => "synchronising",
            State::Replicating => "replicating",
            State::Paused => "paused",
            State::IntegrityTesting => "integrity testing",
            State::TestFailover => "test failover",
            State::SwitchingOver => "switching over",
            State::SwitchedOver => "switched over",
            State::ReverseReplicating => "reverse replicating",
            State::SwitchingBack => "switching back",
            State::FailedOver => "failed over",
            State::SyncingBack => "syncing back",
            State::FailingBack => "failing back",
        }
    }

    /// Whether the scenario's configuration is locked in this state.
    pub fn config_locked(self) -> bool {
        !matches!(self, State::Stopped | State::Replicating | State::Paused)
    }

    fn ident(self) -> String {
        self.name()
            .split(' ')
            .map(|w| {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                    .unwrap_or_default()
            })
            .collect()
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What made a state change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// The operator's start command.
    Start,
    /// Verification succeeded.
    Verified,
    /// Verification failed.
    VerificationFailed,
    /// The operator's stop command.
    Stop,
    /// A synchronisation finished.
    SyncFinished,
    /// A synchronisation failed.
    SyncFailed,
    /// A spool or disk filled up.
    SpoolFull,
    /// The operator paused replication.
    Pause,
    /// The operator resumed replication.
    Resume,
    /// The replica's data is up for testing.
    TestStarted,
    /// The test ended; its changes were discarded.
    TestEnded,
    /// A test copy was presented to a host.
    TestFailoverStarted,
    /// The test copy was removed.
    TestFailoverEnded,
    /// A switchover began (operator or Is Alive).
    Switchover,
    /// Every switchover step succeeded.
    SwitchoverDone,
    /// A switchover step failed; the done steps were undone.
    SwitchoverFailed,
    /// The operator asked for reverse replication or switchback.
    ReverseStarted,
    /// Reverse replication was stopped.
    ReverseStopped,
    /// The switchback began (reverse sync done, operator asked).
    Switchback,
    /// Every switchback step succeeded; forward replication restarts.
    SwitchbackDone,
    /// A switchback step failed; the undone steps were redone.
    SwitchbackFailed,
    /// Appliance failover completed.
    FailedOver,
    /// A sync-back began.
    SyncBack,
    /// A sync-back produced its image.
    SyncBackDone,
    /// A sync-back failed.
    SyncBackFailed,
    /// Failback began.
    Failback,
    /// Failback restored the original site; forward replication resumes.
    FailbackDone,
    /// Restoring from the sync-back image failed.
    FailbackFailed,
}

impl Trigger {
    /// The trigger's label in diagrams.
    pub fn label(self) -> &'static str {
        match self {
            Trigger::Start => "start",
            Trigger::Verified => "verified",
            Trigger::VerificationFailed => "verification failed",
            Trigger::Stop => "stop",
            Trigger::SyncFinished => "sync finished",
            Trigger::SyncFailed => "sync failed",
            Trigger::SpoolFull => "spool full",
            Trigger::Pause => "pause",
            Trigger::Resume => "resume",
            Trigger::TestStarted => "integrity test started",
            Trigger::TestEnded => "integrity test ended",
            Trigger::TestFailoverStarted => "test failover presented",
            Trigger::TestFailoverEnded => "test failover ended",
            Trigger::Switchover => "switchover",
            Trigger::SwitchoverDone => "switchover done",
            Trigger::SwitchoverFailed => "switchover failed, rolled back",
            Trigger::ReverseStarted => "reverse replication",
            Trigger::ReverseStopped => "stop reverse",
            Trigger::Switchback => "switchback",
            Trigger::SwitchbackDone => "switchback done",
            Trigger::SwitchbackFailed => "switchback failed, rolled forward",
            Trigger::FailedOver => "failover (confirmed)",
            Trigger::SyncBack => "sync-back",
            Trigger::SyncBackDone => "sync-back image ready",
            Trigger::SyncBackFailed => "sync-back failed",
            Trigger::Failback => "failback (confirmed)",
            Trigger::FailbackDone => "failback done",
            Trigger::FailbackFailed => "restore failed",
        }
    }
}

use State as S;
use Trigger as T;

/// Every transition of the scenario machine: (from, trigger, to).
pub const TRANSITIONS: &[(State, Trigger, State)] = &[
    (S::Stopped, T::Start, S::Verifying),
    (S::Verifying, T::Verified, S::Synchronising),
    (S::Verifying, T::VerificationFailed, S::Stopped),
    (S::Verifying, T::Stop, S::Stopped),
    (S::Synchronising, T::SyncFinished, S::Replicating),
    (S::Synchronising, T::SyncFailed, S::Stopped),
    (S::Synchronising, T::Stop, S::Stopped),
    (S::Synchronising, T::SpoolFull, S::Stopped),
    (S::Replicating, T::Pause, S::Paused),
    (S::Replicating, T::Stop, S::Stopped),
    (S::Replicating, T::SpoolFull, S::Stopped),
    (S::Replicating, T::SpoolFull, S::Paused),
    (S::Paused, T::Resume, S::Replicating),
    (S::Paused, T::Resume, S::Synchronising),
    (S::Paused, T::Stop, S::Stopped),
    (S::Paused, T::SpoolFull, S::Stopped),
    (S::Replicating, T::TestStarted, S::IntegrityTesting),
    (S::IntegrityTesting, T::TestEnded, S::Replicating),
    (S::IntegrityTesting, T::SpoolFull, S::Stopped),
    (S::Replicating, T::TestFailoverStarted, S::TestFailover),
    (S::TestFailover, T::TestFailoverEnded, S::Replicating),
    (S::TestFailover, T::SpoolFull, S::Stopped),
    (S::Replicating, T::Switchover, S::SwitchingOver),
    (S::Paused, T::Switchover, S::SwitchingOver),
    (S::SwitchingOver, T::SwitchoverDone, S::SwitchedOver),
    (S::SwitchingOver, T::SwitchoverFailed, S::Replicating),
    (S::SwitchingOver, T::SwitchoverFailed, S::Paused),
    (S::SwitchedOver, T::ReverseStarted, S::ReverseReplicating),
    (S::ReverseReplicating, T::ReverseStopped, S::SwitchedOver),
    (S::ReverseReplicating, T::SyncFailed, S::SwitchedOver),
    (S::ReverseReplicating, T::Switchback, S::SwitchingBack),
    (S::SwitchingBack, T::SwitchbackDone, S::Synchronising),
    (S::SwitchingBack, T::SwitchbackFailed, S::ReverseReplicating),
    (S::Replicating, T::FailedOver, S::FailedOver),
    (S::FailedOver, T::SyncBack, S::SyncingBack),
    (S::SyncingBack, T::SyncBackDone, S::FailedOver),
    (S::SyncingBack, T::SyncBackFailed, S::FailedOver),
    (S::FailedOver, T::Failback, S::FailingBack),
    (S::FailingBack, T::FailbackDone, S::Synchronising),
    (S::FailingBack, T::FailbackFailed, S::FailedOver),
];

/// Whether (from, trigger, to) is in [`TRANSITIONS`].
pub fn is_transition(from: State, trigger: Trigger, to: State) -> bool {
    TRANSITIONS.contains(&(from, trigger, to))
}

/// The state diagram of [`TRANSITIONS`] in Mermaid syntax (a
/// `stateDiagram-v2`), as embedded in `docs/ha-state-machine.md`.
pub fn mermaid() -> String {
    let mut out = String::from("stateDiagram-v2\n    [*] --> Stopped\n");
    for (from, trigger, to) in TRANSITIONS {
        out.push_str(&format!(
            "    {} --> {}: {}\n",
            from.ident(),
            to.ident(),
            trigger.label()
        ));
    }
    for state in State::ALL {
        if state.ident() != state.name() {
            out.push_str(&format!("    {}: {}\n", state.ident(), state.name()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_is_reachable_and_left() {
        for s in State::ALL {
            let reached = s == State::Stopped || TRANSITIONS.iter().any(|t| t.2 == s);
            let left = TRANSITIONS.iter().any(|t| t.0 == s);
            assert!(reached && left, "{s} is a dead end or unreachable");
        }
    }

    #[test]
    fn the_diagram_names_every_state() {
        let m = mermaid();
        for s in State::ALL {
            assert!(m.contains(&s.ident()), "{s}");
        }
        assert!(m.contains("IntegrityTesting: integrity testing"));
    }
}
