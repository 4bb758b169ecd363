//! The scenario lifecycle state machine (SPEC.md §6), sans-IO.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::command::stale_replica;
use super::config::{ScenarioConfig, SwitchoverMode, SyncKind};
use super::heartbeat::{IsAlive, Liveness};
use super::io::{Action, ActionKind, Artefact, Event, Flow, Observation, Side};
use super::redirect::Direction;
use super::sequence::{Next, Report, Sequence, Step};
use super::state::{State, Trigger};
use super::time::Instant;

/// The longest bookmark name accepted.
pub const MAX_BOOKMARK_NAME: usize = 255;

/// One protection relationship's lifecycle: a sans-IO state machine.
///
/// Feed it operator [`Command`](super::Command)s with [`handle_command`], facts with
/// [`handle_observation`] and the passage of time with [`handle_timeout`];
/// after each call drain [`poll_action`] (work for the embedder, which
/// reports back with [`Observation::ActionCompleted`] or
/// [`Observation::ActionFailed`] when [`Action::awaits_report`] is set) and
/// [`poll_event`] (for logs and user interfaces), then ask [`poll_timeout`]
/// when to call [`handle_timeout`] next. Nothing here reads a clock: every
/// call takes the current [`Instant`].
///
/// ```
/// use rha_core::ha::{ActionKind, Command, Host, Instant, Observation, Scenario, ScenarioConfig, ScenarioType, State};
///
/// let host = |name: &str, ip: &str| Host { name: name.into(), address: ip.parse().unwrap(), prefix_len: 24 };
/// let config = ScenarioConfig::new("files", ScenarioType::FileServer, host("alpha", "10.0.0.1"), host("beta", "10.0.0.2"));
/// let mut s = Scenario::new(config)?;
/// let t0 = Instant::from_nanos(0);
/// s.handle_command(Command::Start, t0)?;
/// let verify = s.poll_action().unwrap();
/// assert_eq!(verify.kind, ActionKind::Verify);
/// s.handle_observation(Observation::ActionCompleted { id: verify.id }, t0);
/// let sync = s.poll_action().unwrap(); // BeginSync
/// s.handle_observation(Observation::ActionCompleted { id: sync.id }, t0);
/// assert_eq!(s.state(), State::Replicating);
/// # Ok::<(), rha_core::Error>(())
/// ```
///
/// [`handle_command`]: Scenario::handle_command
/// [`handle_observation`]: Scenario::handle_observation
/// [`handle_timeout`]: Scenario::handle_timeout
/// [`poll_action`]: Scenario::poll_action
/// [`poll_event`]: Scenario::poll_event
/// [`poll_timeout`]: Scenario::poll_timeout
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scenario {
    pub(super) config: ScenarioConfig,
    pub(super) state: State,
    /// The host serving clients (or that will, once the scenario runs).
    pub(super) active: Side,
    pub(super) next_id: u64,
    pub(super) op: Option<Operation>,
    pub(super) is_alive: Option<IsAlive>,
    /// Links already reported silent (until they answer again).
    pub(super) silent: Vec<bool>,
    /// Whether an automatic switchover may start (disarmed after a failed
    /// one until the active host answers again or the scenario restarts).
    pub(super) auto_armed: bool,
    /// The replica holds the master's latest data (a forward sync finished
    /// and nothing invalidated it since).
    pub(super) replica_current: bool,
    /// The spool overflowed: resuming must resynchronise.
    pub(super) needs_resync: bool,
    pub(super) replica_connected: bool,
    /// The reverse sync finished (the original master is current).
    pub(super) reverse_synced: bool,
    pub(super) switchback_requested: bool,
    /// Redirection steps currently applied (done and not undone), wholly
    /// or in part.
    pub(super) applied: Vec<bool>,
    /// Per redirection step, which halves are applied: [the master's, the
    /// replica's] (a one-sided step sets both). Absent from version 1
    /// states: read from `applied`.
    #[serde(default)]
    pub(super) halves: Vec<[bool; 2]>,
    pub(super) artefacts: Vec<Artefact>,
    pub(super) next_image: u32,
    pub(super) actions: VecDeque<Action>,
    pub(super) events: VecDeque<Event>,
    /// The active host was declared dead while an operation ran or the
    /// state did not allow acting on it: acted on when that ends. Absent
    /// from version 1 states (false).
    #[serde(default)]
    pub(super) failure_pending: bool,
    /// Restored and not yet given the time: the first `handle_*` call
    /// restarts the timers and re-issues the awaited action. Never saved.
    #[serde(skip)]
    pub(super) restored: bool,
}

/// An operation in progress and what it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Operation {
    pub(super) kind: OpKind,
    pub(super) seq: Sequence,
    /// When the awaited action's current attempt times out (absent from
    /// version 1 states: set at the restore time).
    #[serde(default)]
    pub(super) deadline: Option<Instant>,
    /// How many times the awaited action was re-issued.
    #[serde(default)]
    pub(super) attempts: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "op")]
pub(super) enum OpKind {
    Verify,
    Sync { flow: Flow },
    Pause,
    Resume,
    StartTest,
    EndTest,
    PresentTestCopy { host: String },
    EndTestCopy { host: String },
    Switchover { automatic: bool, from: State },
    Switchback,
    Failover,
    SyncBack { image: u32 },
    Failback,
    Cleanup,
}

impl OpKind {
    pub(super) fn name(&self) -> &'static str {
        match self {
            OpKind::Verify => "verification",
            OpKind::Sync {
                flow: Flow::Forward,
            } => "synchronisation",
            OpKind::Sync {
                flow: Flow::Reverse,
            } => "reverse synchronisation",
            OpKind::Pause => "pause",
            OpKind::Resume => "resume",
            OpKind::StartTest => "integrity test start",
            OpKind::EndTest => "integrity test end",
            OpKind::PresentTestCopy { .. } => "test failover",
            OpKind::EndTestCopy { .. } => "end of test failover",
            OpKind::Switchover { .. } => "switchover",
            OpKind::Switchback => "switchback",
            OpKind::Failover => "failover",
            OpKind::SyncBack { .. } => "sync-back",
            OpKind::Failback => "failback",
            OpKind::Cleanup => "cleanup",
        }
    }
}

/// Whether Is Alive watches the master in `state`.
pub(super) fn watches(state: State) -> bool {
    matches!(
        state,
        State::Replicating | State::Paused | State::IntegrityTesting | State::TestFailover
    )
}

impl Scenario {
    /// A stopped scenario with `config` (validated first).
    pub fn new(config: ScenarioConfig) -> Result<Self, super::ConfigError> {
        config.validate()?;
        Ok(Self {
            applied: vec![false; config.redirection.len()],
            halves: vec![[false; 2]; config.redirection.len()],
            silent: vec![false; config.is_alive.links.len()],
            config,
            state: State::Stopped,
            active: Side::Master,
            next_id: 1,
            op: None,
            is_alive: None,
            auto_armed: true,
            replica_current: false,
            needs_resync: false,
            replica_connected: true,
            reverse_synced: false,
            switchback_requested: false,
            artefacts: Vec::new(),
            next_image: 1,
            actions: VecDeque::new(),
            events: VecDeque::new(),
            failure_pending: false,
            restored: false,
        })
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The configuration.
    pub fn config(&self) -> &ScenarioConfig {
        &self.config
    }

    /// The host currently serving clients.
    pub fn active(&self) -> Side {
        self.active
    }

    /// Whether an operation (a sequence of actions) is waiting for reports.
    pub fn busy(&self) -> bool {
        self.op.is_some()
    }

    /// Which redirection steps are applied now (done and not undone), by
    /// index in the plan.
    pub fn applied_steps(&self) -> &[bool] {
        &self.applied
    }

    /// Per redirection step, which halves are applied now: `[master's,
    /// replica's]` (a one-sided step has both or neither).
    pub fn applied_halves(&self) -> &[[bool; 2]] {
        &self.halves
    }

    /// Failover artefacts present (test copies, the overlay, sync-back
    /// images).
    pub fn artefacts(&self) -> &[Artefact] {
        &self.artefacts
    }

    /// Whether the replica holds the master's latest data.
    pub fn replica_current(&self) -> bool {
        self.replica_current
    }

    /// Whether the replication link to the replica is up (as last
    /// observed): while it is down the master spools.
    pub fn replica_connected(&self) -> bool {
        self.replica_connected
    }

    /// Whether the active host was declared dead while an operation (or a
    /// test) stood in the way; the failure is acted on when it ends.
    pub fn failure_pending(&self) -> bool {
        self.failure_pending
    }

    /// The next action for the embedder, if any. Call after every
    /// `handle_*` call until it returns `None`.
    #[must_use]
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The next event, if any. Call after every `handle_*` call until it
    /// returns `None` (events accumulate otherwise).
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called next
    /// (`None`: no timer runs). Ask again after every `handle_*` call.
    /// Right after [`restore`](Self::restore) it is the earliest instant
    /// (call at once: the timers restart from the time given).
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.restored {
            return Some(Instant::from_nanos(0));
        }
        let ia = self.is_alive.as_ref().map(IsAlive::next_timeout);
        match (ia, self.step_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Lets time pass: runs due heartbeat rounds and declares the active
    /// host dead when every link has been silent for the timeout. Call when
    /// [`poll_timeout`](Self::poll_timeout)'s instant is reached (calling
    /// earlier or more often is harmless).
    pub fn handle_timeout(&mut self, now: Instant) {
        self.resume_if_restored(now);
        self.check_step_deadline(now);
        let Some(ia) = self.is_alive.as_mut() else {
            return;
        };
        let due = ia.checks_due(now);
        let dead = ia.declare_failure(now);
        let silent: Vec<usize> = ia.silent_links(now).collect();
        if due {
            let watched = self.active;
            // One check per link and interval: copy the methods, not the
            // whole links (their names).
            let methods: Vec<_> = self
                .config
                .is_alive
                .links
                .iter()
                .map(|l| l.method.clone())
                .collect();
            for (link, method) in methods.into_iter().enumerate() {
                self.push_action(
                    ActionKind::CheckAlive {
                        link,
                        method,
                        host: watched,
                    },
                    false,
                );
            }
        }
        for link in silent {
            if let Some(flag) = self.silent.get_mut(link) {
                if !*flag {
                    *flag = true;
                    self.events.push_back(Event::LinkSilent { link });
                }
            }
        }
        if dead {
            self.on_active_dead(now);
        }
    }

    /// Applies a fact reported by the embedder at `now`. Observations are
    /// never refused: one that does not apply (a late report, an unknown
    /// link) is ignored with an event.
    pub fn handle_observation(&mut self, obs: Observation, now: Instant) {
        self.resume_if_restored(now);
        match obs {
            Observation::ActionCompleted { id } => self.on_report(id, true, None, now),
            Observation::ActionFailed { id, reason } => {
                self.on_report(id, false, Some(reason), now)
            }
            Observation::Heartbeat { link, alive } => {
                let Some(ia) = self.is_alive.as_mut() else {
                    return;
                };
                match ia.record(link, alive, now) {
                    None => self.events.push_back(Event::UnknownLink { link }),
                    Some(liveness) => {
                        if alive {
                            if let Some(flag) = self.silent.get_mut(link) {
                                *flag = false;
                            }
                        }
                        if liveness == Liveness::Recovered {
                            self.auto_armed = true;
                            self.failure_pending = false;
                            self.events.push_back(Event::ActiveRecovered);
                        }
                    }
                }
            }
            Observation::SpoolFull => self.on_spool_full(now),
            Observation::ReplicaDisconnected => {
                if self.replica_connected {
                    self.replica_connected = false;
                    if is_forward_running(self.state) {
                        self.push_action(ActionKind::StartSpooling, false);
                    }
                    self.events.push_back(Event::ReplicaDisconnected);
                }
            }
            Observation::ReplicaReconnected => {
                if !self.replica_connected {
                    self.replica_connected = true;
                    if is_forward_running(self.state) {
                        self.push_action(ActionKind::DrainSpool, false);
                    }
                    self.events.push_back(Event::ReplicaReconnected);
                }
            }
        }
    }

    pub(super) fn newest_image(&self) -> Option<u32> {
        self.artefacts
            .iter()
            .filter_map(|a| match a {
                Artefact::SyncBackImage { image } => Some(*image),
                _ => None,
            })
            .max()
    }

    pub(super) fn new_is_alive(&self, now: Instant) -> IsAlive {
        let ia = &self.config.is_alive;
        IsAlive::new(ia.links.len(), ia.heartbeat_interval, ia.timeout, now)
    }

    pub(super) fn push_action(&mut self, kind: ActionKind, awaits_report: bool) -> u64 {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1).max(1);
        self.actions.push_back(Action {
            id,
            kind,
            awaits_report,
        });
        id
    }

    pub(super) fn set_state(&mut self, to: State, trigger: Trigger, now: Instant) {
        let from = self.state;
        self.state = to;
        if watches(to) && !watches(from) {
            self.is_alive = Some(self.new_is_alive(now));
            self.silent.iter_mut().for_each(|f| *f = false);
        } else if !watches(to) {
            self.is_alive = None;
            self.failure_pending = false;
        }
        self.events
            .push_back(Event::StateChanged { from, to, trigger });
    }

    /// Starts an operation: issues its first step (or finishes it at once).
    pub(super) fn begin(&mut self, kind: OpKind, steps: Vec<Step>, now: Instant) {
        let mut seq = Sequence::new(steps);
        let next = seq.start();
        self.op = Some(Operation {
            kind,
            seq,
            deadline: None,
            attempts: 0,
        });
        self.follow(next, now);
    }

    pub(super) fn begin_sync(&mut self, flow: Flow, kind: SyncKind, now: Instant) {
        let steps = vec![Step::new(ActionKind::BeginSync { kind, flow }, None)];
        self.begin(OpKind::Sync { flow }, steps, now);
    }

    fn follow(&mut self, next: Next, now: Instant) {
        match next {
            Next::Issue(kind) => {
                self.arm_step(&kind, now);
                let id = self.push_action(kind, true);
                if let Some(op) = self.op.as_mut() {
                    op.seq.issued(id);
                }
            }
            Next::Done => self.finish(true, now),
            Next::RolledBack => self.finish(false, now),
        }
    }

    fn on_report(&mut self, id: u64, ok: bool, reason: Option<String>, now: Instant) {
        let Some(op) = self.op.as_mut() else {
            self.events.push_back(Event::UnexpectedReport { id });
            return;
        };
        let Some(report) = op.seq.report(id, ok) else {
            self.events.push_back(Event::UnexpectedReport { id });
            return;
        };
        let operation = op.kind.name().to_string();
        op.deadline = None;
        // A re-issued copy not yet handed out is pointless now.
        self.actions.retain(|a| a.id != id);
        let Report {
            action,
            ok,
            was_undo,
            next,
            ..
        } = report;
        if ok {
            if let ActionKind::Redirect {
                step,
                direction,
                half,
                ..
            } = &action
            {
                let on = *direction == Direction::Do;
                if let Some(h) = self.halves.get_mut(*step) {
                    match half {
                        None => *h = [on, on],
                        Some(Side::Master) => h[0] = on,
                        Some(Side::Replica) => h[1] = on,
                    }
                    if let Some(flag) = self.applied.get_mut(*step) {
                        *flag = h[0] || h[1];
                    }
                }
            }
            // A sync-back image exists from the moment its sync-back
            // finished (a catch-up one, or a failback's final one).
            if let ActionKind::BeginSyncBack { image } = &action {
                let image = *image;
                self.artefacts.push(Artefact::SyncBackImage { image });
                self.events.push_back(Event::SyncBackImageReady { image });
            }
        } else {
            let reason = reason.unwrap_or_else(|| "no reason given".into());
            if was_undo {
                self.events.push_back(Event::UndoFailed {
                    step: action.describe(),
                    reason,
                });
            } else {
                self.events.push_back(Event::StepFailed {
                    operation,
                    step: action.describe(),
                    reason,
                });
            }
        }
        self.follow(next, now);
    }

    /// The current operation ended (`ok`: every step succeeded; otherwise
    /// it was rolled back).
    fn finish(&mut self, ok: bool, now: Instant) {
        let Some(op) = self.op.take() else {
            return;
        };
        let leftovers: Vec<Artefact> = op
            .seq
            .leftovers()
            .iter()
            .filter_map(|a| match a {
                ActionKind::RemoveArtefact(x) => Some(x.clone()),
                _ => None,
            })
            .collect();
        self.events.push_back(Event::OperationFinished {
            operation: op.kind.name().into(),
            ok,
        });
        match (op.kind, ok) {
            (OpKind::Verify, true) => {
                self.set_state(State::Synchronising, Trigger::Verified, now);
                self.begin_sync(Flow::Forward, self.config.sync_kind, now);
            }
            (OpKind::Verify, false) => {
                self.events.push_back(Event::VerificationFailed {
                    reason: last_failure(&self.events),
                });
                self.set_state(State::Stopped, Trigger::VerificationFailed, now);
            }
            (
                OpKind::Sync {
                    flow: Flow::Forward,
                },
                true,
            ) => {
                self.replica_current = true;
                self.needs_resync = false;
                self.set_state(State::Replicating, Trigger::SyncFinished, now);
            }
            (
                OpKind::Sync {
                    flow: Flow::Forward,
                },
                false,
            ) => {
                self.events.push_back(Event::SyncFailed {
                    reason: last_failure(&self.events),
                });
                self.set_state(State::Stopped, Trigger::SyncFailed, now);
            }
            (
                OpKind::Sync {
                    flow: Flow::Reverse,
                },
                true,
            ) => {
                self.reverse_synced = true;
                if self.switchback_requested {
                    self.start_switchback(now);
                }
            }
            (
                OpKind::Sync {
                    flow: Flow::Reverse,
                },
                false,
            ) => {
                self.events.push_back(Event::SyncFailed {
                    reason: last_failure(&self.events),
                });
                self.switchback_requested = false;
                self.set_state(State::SwitchedOver, Trigger::SyncFailed, now);
            }
            (OpKind::Pause, true) => self.set_state(State::Paused, Trigger::Pause, now),
            (OpKind::Resume, true) => self.set_state(State::Replicating, Trigger::Resume, now),
            (OpKind::StartTest, true) => {
                self.set_state(State::IntegrityTesting, Trigger::TestStarted, now)
            }
            (OpKind::EndTest, true) => self.set_state(State::Replicating, Trigger::TestEnded, now),
            (OpKind::PresentTestCopy { host }, true) => {
                self.artefacts.push(Artefact::TestCopy { host });
                self.set_state(State::TestFailover, Trigger::TestFailoverStarted, now);
            }
            (OpKind::EndTestCopy { host }, true) => {
                self.artefacts
                    .retain(|a| *a != Artefact::TestCopy { host: host.clone() });
                self.set_state(State::Replicating, Trigger::TestFailoverEnded, now);
            }
            (OpKind::Switchover { .. }, true) => {
                self.active = Side::Replica;
                self.replica_current = false;
                self.set_state(State::SwitchedOver, Trigger::SwitchoverDone, now);
            }
            (OpKind::Switchover { from, .. }, false) => {
                self.auto_armed = false;
                self.set_state(from, Trigger::SwitchoverFailed, now);
            }
            (OpKind::Switchback, true) => {
                self.active = Side::Master;
                self.reverse_synced = false;
                self.switchback_requested = false;
                self.set_state(State::Synchronising, Trigger::SwitchbackDone, now);
                self.begin_sync(Flow::Forward, self.config.sync_kind, now);
            }
            (OpKind::Switchback, false) => {
                self.switchback_requested = false;
                self.set_state(State::ReverseReplicating, Trigger::SwitchbackFailed, now);
            }
            (OpKind::Failover, true) => {
                self.active = Side::Replica;
                self.replica_current = false;
                self.artefacts.push(Artefact::Overlay);
                self.set_state(State::FailedOver, Trigger::FailedOver, now);
            }
            (OpKind::SyncBack { .. }, true) => {
                self.set_state(State::FailedOver, Trigger::SyncBackDone, now);
            }
            (OpKind::SyncBack { .. }, false) => {
                self.set_state(State::FailedOver, Trigger::SyncBackFailed, now)
            }
            (OpKind::Failback, true) => {
                self.active = Side::Master;
                self.artefacts = leftovers.clone();
                self.events
                    .push_back(Event::FailbackCompleted { leftovers });
                self.set_state(State::Synchronising, Trigger::FailbackDone, now);
                self.begin_sync(Flow::Forward, self.config.sync_kind, now);
            }
            (OpKind::Failback, false) => {
                self.set_state(State::FailedOver, Trigger::FailbackFailed, now)
            }
            (OpKind::Cleanup, _) => {
                self.artefacts = leftovers.clone();
                self.events.push_back(Event::CleanupCompleted { leftovers });
            }
            // A failed pause, resume, test start or end, test failover or
            // failover was rolled back: the state stays as it was.
            (_, false) => {}
        }
        self.act_on_pending_failure(now);
    }

    /// Acts on a failure declared while it could not be acted on, once
    /// nothing stands in the way any more (no operation, replicating or
    /// paused) and the active host is still dead.
    pub(super) fn act_on_pending_failure(&mut self, now: Instant) {
        let dead = self.is_alive.as_ref().is_some_and(IsAlive::is_dead);
        if !self.failure_pending || self.op.is_some() || !dead {
            return;
        }
        if matches!(self.state, State::Replicating | State::Paused) {
            self.failure_pending = false;
            self.on_active_dead(now);
        }
    }

    fn on_active_dead(&mut self, now: Instant) {
        let host = self.active;
        let blocked = if !matches!(self.state, State::Replicating | State::Paused) {
            Some(format!("the scenario is {}", self.state))
        } else {
            self.op
                .as_ref()
                .map(|op| format!("the {} is in progress", op.kind.name()))
        };
        if let Some(why) = blocked {
            // Acted on (switchover or notification) when it ends.
            self.failure_pending = true;
            self.events.push_back(Event::ActiveUnresponsive {
                host,
                automatic: false,
                reason: Some(format!("{why}; the failure is acted on when it ends")),
            });
            return;
        }
        let reason = if self.config.is_alive.mode == SwitchoverMode::Manual {
            Some("manual switchover mode: an operator decides".to_string())
        } else if !self.replica_current {
            Some(stale_replica(self.needs_resync))
        } else if !self.auto_armed {
            Some("an automatic switchover already failed; an operator decides".to_string())
        } else {
            None
        };
        let automatic = reason.is_none();
        self.events.push_back(Event::ActiveUnresponsive {
            host,
            automatic,
            reason,
        });
        if automatic {
            self.start_switchover(true, now);
        }
    }

    fn on_spool_full(&mut self, now: Instant) {
        let st = self.state;
        if !is_forward_running(st) {
            return;
        }
        let op_blocks = self
            .op
            .as_ref()
            .is_some_and(|op| !matches!(op.kind, OpKind::Sync { .. } | OpKind::Verify));
        self.replica_current = false;
        self.needs_resync = true;
        let replica_only =
            !self.config.stop_on_spool_full && matches!(st, State::Replicating | State::Paused);
        self.events.push_back(Event::SpoolFull {
            scenario_stopped: !replica_only,
        });
        if op_blocks {
            // The operation under way finishes first; the next run resyncs.
            return;
        }
        self.op = None;
        self.push_action(ActionKind::StopReplication, false);
        self.push_action(ActionKind::ClearSpool, false);
        if st == State::IntegrityTesting {
            self.push_action(
                ActionKind::StopServices {
                    host: Side::Replica,
                    fence: false,
                },
                false,
            );
            self.push_action(ActionKind::DiscardTestChanges, false);
        }
        if replica_only {
            if st == State::Replicating {
                self.set_state(State::Paused, Trigger::SpoolFull, now);
            }
        } else {
            self.set_state(State::Stopped, Trigger::SpoolFull, now);
        }
    }
}

pub(super) fn is_forward_running(state: State) -> bool {
    matches!(
        state,
        State::Synchronising
            | State::Replicating
            | State::Paused
            | State::IntegrityTesting
            | State::TestFailover
    )
}

fn last_failure(events: &VecDeque<Event>) -> String {
    events
        .iter()
        .rev()
        .find_map(|e| match e {
            Event::StepFailed { reason, .. } => Some(reason.clone()),
            _ => None,
        })
        .unwrap_or_else(|| "unknown".into())
}
