//! What goes into a scenario (commands, observations) and what comes out
//! (actions, events).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::config::{CheckMethod, ScenarioConfig, SyncKind, VmAddress};
use super::redirect::{Direction, RedirectStep};
use super::state::{State, Trigger};

/// One of the two hosts of a scenario, by its configured role (the master
/// stays "master" while the replica is active).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The configured master.
    Master,
    /// The configured replica.
    Replica,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Master => "master",
            Side::Replica => "replica",
        })
    }
}

/// Which way data flows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flow {
    /// Master to replica.
    Forward,
    /// Replica (active after switchover) back to the master.
    Reverse,
}

/// An operator's (or scheduler's) request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "command")]
#[non_exhaustive]
pub enum Command {
    /// Verify, synchronise, then replicate.
    Start,
    /// Stop replication (or an unfinished start, or reverse replication).
    Stop,
    /// Pause replication; the replica spools.
    Pause,
    /// Resume after a pause (resynchronising if the spool overflowed).
    Resume,
    /// Switch over to the replica now (manual switchover).
    Switchover {
        /// Must be [`CONFIRM_SWITCHOVER`]: clients move to the replica.
        confirm: String,
    },
    /// Begin reverse replication, then switch back as soon as the reverse
    /// sync finished. Always an operator's decision.
    Switchback {
        /// The original master was restored from scratch: the first reverse
        /// sync is volume-level.
        master_restored: bool,
    },
    /// Begin reverse replication only; a later [`Command::Switchback`]
    /// swaps roles back.
    StartReverseReplication {
        /// As for [`Command::Switchback`].
        master_restored: bool,
    },
    /// Start an integrity test (assured recovery) on the replica.
    StartIntegrityTest,
    /// End the integrity test: discard its changes and apply the spool.
    StopIntegrityTest,
    /// Present a writable copy of the newest replicated point to `host`
    /// without stopping replication.
    TestFailover {
        /// The host the copy is presented to.
        host: String,
    },
    /// Remove the test failover's copy.
    EndTestFailover,
    /// Stop replication and serve from the replica's copy.
    Failover {
        /// Must be [`CONFIRM_FAILOVER`]: the original site stops being
        /// protected.
        confirm: String,
    },
    /// Ship the changes made at the DR side back as a new image (any
    /// number of times; images are never applied automatically).
    SyncBack,
    /// Restore the original site from the newest sync-back image, remove
    /// every failover artefact, and resume forward replication.
    Failback {
        /// Must be [`CONFIRM_FAILBACK`]: the original site's data is
        /// overwritten.
        confirm: String,
    },
    /// Remove failover artefacts left over by an earlier failback, and undo
    /// redirection steps a failed rollback left applied.
    Cleanup {
        /// Must be [`CONFIRM_CLEANUP`]: test copies, the overlay and
        /// sync-back images are deleted.
        confirm: String,
    },
    /// Set a named rewind point on the replica (needs a live replica).
    Bookmark {
        /// The bookmark's name.
        name: String,
    },
    /// Replace the configuration (refused while it is locked).
    UpdateConfig(Box<ScenarioConfig>),
    /// Give up the step the operation in progress waits for (see
    /// [`Scenario::intent`](super::Scenario::intent)), for example after a
    /// restart when the operator knows it cannot complete: it counts as
    /// failed now and the operation follows its plan for a failed step
    /// (undo the done steps, or stop a synchronisation).
    AbandonStep,
}

impl Command {
    /// The command's name in messages.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Start => "start",
            Command::Stop => "stop",
            Command::Pause => "pause",
            Command::Resume => "resume",
            Command::Switchover { .. } => "switchover",
            Command::Switchback { .. } => "switchback",
            Command::StartReverseReplication { .. } => "start reverse replication",
            Command::StartIntegrityTest => "start integrity test",
            Command::StopIntegrityTest => "stop integrity test",
            Command::TestFailover { .. } => "test failover",
            Command::EndTestFailover => "end test failover",
            Command::Failover { .. } => "failover",
            Command::SyncBack => "sync-back",
            Command::Failback { .. } => "failback",
            Command::Cleanup { .. } => "cleanup",
            Command::Bookmark { .. } => "bookmark",
            Command::UpdateConfig(_) => "update configuration",
            Command::AbandonStep => "abandon step",
        }
    }

    /// The word an operator types to confirm this command, if it is
    /// destructive (the appliance asks for "FAILOVER").
    pub fn confirmation_word(&self) -> Option<&'static str> {
        match self {
            Command::Switchover { .. } => Some(CONFIRM_SWITCHOVER),
            Command::Failover { .. } => Some(CONFIRM_FAILOVER),
            Command::Failback { .. } => Some(CONFIRM_FAILBACK),
            Command::Cleanup { .. } => Some(CONFIRM_CLEANUP),
            _ => None,
        }
    }
}

/// The word that confirms a manual [`Command::Switchover`].
pub const CONFIRM_SWITCHOVER: &str = "SWITCHOVER";
/// The word that confirms a [`Command::Failover`].
pub const CONFIRM_FAILOVER: &str = "FAILOVER";
/// The word that confirms a [`Command::Failback`].
pub const CONFIRM_FAILBACK: &str = "FAILBACK";
/// The word that confirms a [`Command::Cleanup`].
pub const CONFIRM_CLEANUP: &str = "CLEANUP";

/// A fact the embedder reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "observation")]
#[non_exhaustive]
pub enum Observation {
    /// The action with this id finished successfully (for a sync: the sync
    /// finished).
    ActionCompleted {
        /// The action's id.
        id: u64,
    },
    /// The action with this id failed.
    ActionFailed {
        /// The action's id.
        id: u64,
        /// Why, for events and logs.
        reason: String,
    },
    /// The result of an Is Alive check on a link.
    Heartbeat {
        /// The link's index in the configuration.
        link: usize,
        /// Whether the active host answered.
        alive: bool,
    },
    /// The replica's spool or disk is full.
    SpoolFull,
    /// The replication link to the replica went down.
    ReplicaDisconnected,
    /// The replication link to the replica is back.
    ReplicaReconnected,
}

/// Something the machine left behind on a host during the appliance flow.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "artefact")]
pub enum Artefact {
    /// A test failover's writable copy, presented to `host`.
    TestCopy {
        /// The host.
        host: String,
    },
    /// The failover's write overlay on the replica.
    Overlay,
    /// A sync-back image.
    SyncBackImage {
        /// The image's number (1, 2, ...).
        image: u32,
    },
}

/// Work for the embedder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Action {
    /// Identifies the action in [`Observation::ActionCompleted`] and
    /// [`Observation::ActionFailed`]; unique within a scenario.
    pub id: u64,
    /// What to do.
    pub kind: ActionKind,
    /// Whether the machine waits for an [`Observation::ActionCompleted`] or
    /// [`Observation::ActionFailed`] naming `id` before it goes on. Other
    /// actions are orders whose outcome it does not track (reporting them
    /// anyway only yields an [`Event::UnexpectedReport`]).
    pub awaits_report: bool,
}

/// What an [`Action`] asks for.
///
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "action")]
#[non_exhaustive]
pub enum ActionKind {
    /// Check the scenario before the run (hosts, directories, services).
    Verify,
    /// Begin a synchronisation; report when it finishes.
    BeginSync {
        /// What it compares.
        kind: SyncKind,
        /// Which way.
        flow: Flow,
    },
    /// Stop shipping and applying changes (everything received is applied).
    StopReplication,
    /// Resume replication stopped by [`ActionKind::StopReplication`].
    ResumeReplication,
    /// Keep changes in the spool instead of sending them (the replica is
    /// unreachable).
    StartSpooling,
    /// Send what the spool holds and go on replicating.
    DrainSpool,
    /// Drop the spool's content (a resync will follow).
    ClearSpool,
    /// Hold the application of changes on the replica (they keep spooling).
    HoldApplication,
    /// Apply the spooled changes and go on applying.
    ReleaseApplication,
    /// Discard every change made on the replica during the integrity test.
    DiscardTestChanges,
    /// Start the application services on a host (`test`: for an integrity
    /// test, not for clients).
    StartServices {
        /// The host.
        host: Side,
        /// Whether this is for an integrity test.
        test: bool,
    },
    /// Stop the application services on a host. With `fence`, make sure
    /// they are down even if the host does not answer (power fencing) and
    /// report failure if that cannot be confirmed: switchover never leaves
    /// two active hosts.
    StopServices {
        /// The host.
        host: Side,
        /// Whether the stop must be confirmed by fencing.
        fence: bool,
    },
    /// Check the active host over Is Alive link `link`; report the result
    /// as [`Observation::Heartbeat`].
    CheckAlive {
        /// The link's index.
        link: usize,
        /// How to check.
        method: CheckMethod,
        /// The host checked.
        host: Side,
    },
    /// Do or undo redirection step `step` of the plan.
    Redirect {
        /// The step's index in the configuration.
        step: usize,
        /// Do (clients to the replica) or undo (back to the master).
        direction: Direction,
        /// The step's parameters.
        params: RedirectStep,
        /// Environment for a script step (the scenario context); empty for
        /// other methods.
        env: Vec<(String, String)>,
        /// For a two-sided step ([`RedirectStep::two_sided`]): the host
        /// performing this half (do: the master releases, then the replica
        /// takes; undo: the replica releases, then the master takes back).
        /// `None`: one action does the whole step (DNS, script, and version
        /// 1 states).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        half: Option<Side>,
    },
    /// Set a bookmark on the replica.
    SetBookmark {
        /// Its name.
        name: String,
    },
    /// Present a writable copy of the newest replicated point to `host`.
    PresentTestCopy {
        /// The host.
        host: String,
    },
    /// Serve from the replica's copy, with writes going to an overlay.
    MountOverlay,
    /// Ship DR-side changes back as sync-back image `image`.
    BeginSyncBack {
        /// The image's number.
        image: u32,
    },
    /// Restore the original site from sync-back image `image`.
    RestoreFromImage {
        /// The image's number.
        image: u32,
    },
    /// Remove a failover artefact; must succeed if it is already gone.
    RemoveArtefact(Artefact),
    /// Give the replica's virtual machine these network settings before it
    /// starts (Hyper-V and full-system scenarios). The executor keeps the
    /// settings it replaces for [`ActionKind::RevertVmAddress`].
    ReaddressVm(VmAddress),
    /// Give the replica's virtual machine back the network settings
    /// [`ActionKind::ReaddressVm`] replaced (switchback, or a failed
    /// switchover's rollback); must succeed if they are already back.
    RevertVmAddress,
}

impl ActionKind {
    /// A short description for events and logs.
    pub fn describe(&self) -> String {
        match self {
            ActionKind::Redirect {
                step,
                direction,
                params,
                half,
                ..
            } => format!(
                "{} redirection step {step} ({}){}",
                match direction {
                    Direction::Do => "do",
                    Direction::Undo => "undo",
                },
                params.method().name(),
                half.map(|h| format!(", the {h}'s half"))
                    .unwrap_or_default()
            ),
            ActionKind::StartServices { host, .. } => format!("start services on the {host}"),
            ActionKind::StopServices { host, fence: true } => {
                format!("stop (fence) services on the {host}")
            }
            ActionKind::StopServices { host, .. } => format!("stop services on the {host}"),
            other => format!("{other:?}"),
        }
    }
}

/// Something that happened, for logs and user interfaces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "event")]
#[non_exhaustive]
pub enum Event {
    /// The state changed.
    StateChanged {
        /// The old state.
        from: State,
        /// The new state.
        to: State,
        /// Why.
        trigger: Trigger,
    },
    /// Every Is Alive link has been silent for the timeout.
    ActiveUnresponsive {
        /// The host watched.
        host: Side,
        /// Whether a switchover starts automatically; if not, why not.
        automatic: bool,
        /// Why no automatic switchover starts, if it does not.
        reason: Option<String>,
    },
    /// A link has been silent for more than two heartbeat intervals.
    LinkSilent {
        /// The link's index.
        link: usize,
    },
    /// The active host answered again after being declared dead.
    ActiveRecovered,
    /// A switchover began.
    SwitchoverStarted {
        /// Started by Is Alive rather than by an operator.
        automatic: bool,
    },
    /// A step of an operation failed.
    StepFailed {
        /// The operation (switchover, switchback, ...).
        operation: String,
        /// The step.
        step: String,
        /// Why.
        reason: String,
    },
    /// An undo (or redo) of a done step failed during a rollback; the step
    /// stays applied and needs an operator.
    UndoFailed {
        /// The step.
        step: String,
        /// Why.
        reason: String,
    },
    /// An operation finished with an outcome.
    OperationFinished {
        /// The operation.
        operation: String,
        /// Whether it succeeded.
        ok: bool,
    },
    /// Verification failed; the run stopped.
    VerificationFailed {
        /// Why.
        reason: String,
    },
    /// A synchronisation failed.
    SyncFailed {
        /// Why.
        reason: String,
    },
    /// The replica's spool or disk is full (a warning before the stop).
    SpoolFull {
        /// Whether the whole scenario stops (otherwise only the replica,
        /// which resynchronises when resumed).
        scenario_stopped: bool,
    },
    /// The replication link went down; the master spools.
    ReplicaDisconnected,
    /// The replication link is back; the spool drains.
    ReplicaReconnected,
    /// A sync-back image is ready (never applied automatically).
    SyncBackImageReady {
        /// The image's number.
        image: u32,
    },
    /// Failback finished; `leftovers` could not be removed.
    FailbackCompleted {
        /// Artefacts still present.
        leftovers: Vec<Artefact>,
    },
    /// A cleanup finished; `leftovers` could not be removed.
    CleanupCompleted {
        /// Artefacts still present.
        leftovers: Vec<Artefact>,
    },
    /// A report named an action the machine was not waiting for (late,
    /// duplicate, or from before a stop); it was ignored.
    UnexpectedReport {
        /// The id reported.
        id: u64,
    },
    /// A heartbeat named a link that does not exist; it was ignored.
    UnknownLink {
        /// The link reported.
        link: usize,
    },
    /// An awaited step got no report within its timeout and was issued
    /// again (same id).
    StepRetried {
        /// The operation.
        operation: String,
        /// The step.
        step: String,
        /// Which re-issue this is (1, 2, ...).
        attempt: u32,
    },
    /// An awaited step got no report within its timeout on any attempt: it
    /// counts as failed (a [`Event::StepFailed`] follows).
    StepTimedOut {
        /// The operation.
        operation: String,
        /// The step that hung.
        step: String,
        /// How many attempts were made.
        attempts: u32,
    },
    /// The operator abandoned the awaited step: it counts as failed (a
    /// [`Event::StepFailed`] follows).
    StepAbandoned {
        /// The operation.
        operation: String,
        /// The step.
        step: String,
    },
    /// The machine was restored and given the time: every timer restarted
    /// from then.
    Restarted {
        /// The awaited step re-issued, if one was (not if it was still
        /// queued or nothing was awaited).
        reissued: Option<String>,
    },
}
