//! The scenario lifecycle state machine (SPEC.md §6), sans-IO.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::config::{ScenarioConfig, SwitchoverMode, SyncKind};
use super::error::{CommandError, RestoreError};
use super::heartbeat::{IsAlive, Liveness};
use super::io::{Action, ActionKind, Artefact, Command, Event, Flow, Observation, Side};
use super::redirect::{script_env, Direction};
use super::sequence::{Next, Report, Sequence, Step};
use super::state::{State, Trigger};
use super::time::Instant;

/// The version [`Scenario::save`] writes.
pub const STATE_VERSION: u32 = 1;
/// The largest saved state [`Scenario::restore`] accepts, in bytes.
pub const MAX_SAVED_STATE: usize = 16 << 20;
/// The longest bookmark name accepted.
pub const MAX_BOOKMARK_NAME: usize = 255;

/// One protection relationship's lifecycle: a sans-IO state machine.
///
/// Feed it operator [`Command`]s with [`handle_command`], facts with
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
    config: ScenarioConfig,
    state: State,
    /// The host serving clients (or that will, once the scenario runs).
    active: Side,
    next_id: u64,
    op: Option<Operation>,
    is_alive: Option<IsAlive>,
    /// Links already reported silent (until they answer again).
    silent: Vec<bool>,
    /// Whether an automatic switchover may start (disarmed after a failed
    /// one until the active host answers again or the scenario restarts).
    auto_armed: bool,
    /// The replica holds the master's latest data (a forward sync finished
    /// and nothing invalidated it since).
    replica_current: bool,
    /// The spool overflowed: resuming must resynchronise.
    needs_resync: bool,
    replica_connected: bool,
    /// The reverse sync finished (the original master is current).
    reverse_synced: bool,
    switchback_requested: bool,
    /// Redirection steps currently applied (done and not undone).
    applied: Vec<bool>,
    artefacts: Vec<Artefact>,
    next_image: u32,
    actions: VecDeque<Action>,
    events: VecDeque<Event>,
}

/// An operation in progress and what it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Operation {
    kind: OpKind,
    seq: Sequence,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "op")]
enum OpKind {
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
    fn name(&self) -> &'static str {
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
fn watches(state: State) -> bool {
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

    /// Failover artefacts present (test copies, the overlay, sync-back
    /// images).
    pub fn artefacts(&self) -> &[Artefact] {
        &self.artefacts
    }

    /// Whether the replica holds the master's latest data.
    pub fn replica_current(&self) -> bool {
        self.replica_current
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
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.is_alive.as_ref().map(IsAlive::next_timeout)
    }

    /// Lets time pass: runs due heartbeat rounds and declares the active
    /// host dead when every link has been silent for the timeout. Call when
    /// [`poll_timeout`](Self::poll_timeout)'s instant is reached (calling
    /// earlier or more often is harmless).
    pub fn handle_timeout(&mut self, now: Instant) {
        let Some(ia) = self.is_alive.as_mut() else {
            return;
        };
        let due = ia.checks_due(now);
        let dead = ia.declare_failure(now);
        let silent: Vec<usize> = ia.silent_links(now).collect();
        if due {
            let watched = self.active;
            for (link, l) in self.config.is_alive.links.clone().into_iter().enumerate() {
                self.push_action(
                    ActionKind::CheckAlive {
                        link,
                        method: l.method,
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

    /// Applies an operator command at `now`.
    ///
    /// A refused command returns an error naming the state and the reason
    /// and changes nothing.
    pub fn handle_command(&mut self, cmd: Command, now: Instant) -> Result<(), CommandError> {
        let name = cmd.name();
        let refuse = |state: State, reason: String| CommandError::Refused {
            command: name,
            state,
            reason,
        };
        let st = self.state;
        if let Some(op) = &self.op {
            let abortable = matches!(cmd, Command::Stop)
                && matches!(op.kind, OpKind::Verify | OpKind::Sync { .. })
                && matches!(
                    st,
                    State::Verifying | State::Synchronising | State::ReverseReplicating
                );
            let request_switchback =
                matches!(cmd, Command::Switchback { .. }) && st == State::ReverseReplicating;
            if !abortable && !request_switchback {
                return Err(refuse(st, format!("the {} is in progress", op.kind.name())));
            }
        }
        match cmd {
            Command::Start => {
                if st != State::Stopped {
                    return Err(refuse(st, not_stopped(st)));
                }
                self.replica_current = false;
                self.auto_armed = true;
                self.set_state(State::Verifying, Trigger::Start, now);
                self.begin(
                    OpKind::Verify,
                    vec![Step::new(ActionKind::Verify, None)],
                    now,
                );
            }
            Command::Stop => match st {
                State::Verifying | State::Synchronising | State::Replicating | State::Paused => {
                    self.op = None;
                    self.push_action(ActionKind::StopReplication, false);
                    self.set_state(State::Stopped, Trigger::Stop, now);
                }
                State::ReverseReplicating => {
                    self.op = None;
                    self.switchback_requested = false;
                    self.reverse_synced = false;
                    self.push_action(ActionKind::StopReplication, false);
                    self.set_state(State::SwitchedOver, Trigger::ReverseStopped, now);
                }
                _ => return Err(refuse(st, stop_refusal(st))),
            },
            Command::Pause => {
                if st != State::Replicating {
                    return Err(refuse(
                        st,
                        "only a replicating scenario can be paused".into(),
                    ));
                }
                self.begin(
                    OpKind::Pause,
                    vec![Step::new(ActionKind::HoldApplication, None)],
                    now,
                );
            }
            Command::Resume => {
                if st != State::Paused {
                    return Err(refuse(st, "only a paused scenario can be resumed".into()));
                }
                if self.needs_resync {
                    self.set_state(State::Synchronising, Trigger::Resume, now);
                    self.begin_sync(Flow::Forward, self.config.sync_kind, now);
                } else {
                    let steps = vec![Step::new(ActionKind::ReleaseApplication, None)];
                    self.begin(OpKind::Resume, steps, now);
                }
            }
            Command::Switchover => {
                if !matches!(st, State::Replicating | State::Paused) {
                    return Err(refuse(
                        st,
                        "switchover needs a replicating or paused scenario".into(),
                    ));
                }
                if !self.replica_current {
                    return Err(refuse(st, stale_replica(self.needs_resync)));
                }
                self.start_switchover(false, now);
            }
            Command::Switchback { master_restored }
            | Command::StartReverseReplication { master_restored } => {
                let switchback = matches!(cmd, Command::Switchback { .. });
                match st {
                    State::SwitchedOver => {
                        self.switchback_requested = switchback;
                        self.reverse_synced = false;
                        self.set_state(State::ReverseReplicating, Trigger::ReverseStarted, now);
                        let kind = if master_restored {
                            SyncKind::Volume
                        } else {
                            self.config.sync_kind
                        };
                        self.begin_sync(Flow::Reverse, kind, now);
                    }
                    State::ReverseReplicating if switchback => {
                        if self.reverse_synced && self.op.is_none() {
                            self.start_switchback(now);
                        } else if self.switchback_requested {
                            return Err(refuse(st, "switchback is already requested; it starts when the reverse sync finishes".into()));
                        } else {
                            self.switchback_requested = true;
                        }
                    }
                    State::ReverseReplicating => {
                        return Err(refuse(st, "reverse replication is already running".into()))
                    }
                    _ => {
                        return Err(refuse(
                            st,
                            "switchback needs a switched-over scenario (roles swapped)".into(),
                        ))
                    }
                }
            }
            Command::StartIntegrityTest => {
                if st == State::IntegrityTesting {
                    return Err(refuse(st, "an integrity test is already running on this replica; at most one at a time".into()));
                }
                if st != State::Replicating {
                    return Err(refuse(
                        st,
                        "an integrity test needs a replicating scenario".into(),
                    ));
                }
                if !self.replica_current || !self.replica_connected {
                    return Err(refuse(
                        st,
                        "the replica is not current and connected".into(),
                    ));
                }
                let steps = vec![
                    Step::new(
                        ActionKind::HoldApplication,
                        Some(ActionKind::ReleaseApplication),
                    ),
                    Step::new(
                        ActionKind::StartServices {
                            host: Side::Replica,
                            test: true,
                        },
                        Some(ActionKind::StopServices {
                            host: Side::Replica,
                            fence: false,
                        }),
                    ),
                ];
                self.begin(OpKind::StartTest, steps, now);
            }
            Command::StopIntegrityTest => {
                if st != State::IntegrityTesting {
                    return Err(refuse(st, "no integrity test is running".into()));
                }
                let steps = vec![
                    Step::new(
                        ActionKind::StopServices {
                            host: Side::Replica,
                            fence: false,
                        },
                        None,
                    ),
                    Step::new(ActionKind::DiscardTestChanges, None),
                    Step::new(ActionKind::ReleaseApplication, None),
                ];
                self.begin(OpKind::EndTest, steps, now);
            }
            Command::TestFailover { host } => {
                if st == State::TestFailover {
                    return Err(refuse(
                        st,
                        "a test failover is already presented; at most one at a time".into(),
                    ));
                }
                if st != State::Replicating {
                    return Err(refuse(
                        st,
                        "test failover needs a replicating scenario".into(),
                    ));
                }
                if host.is_empty() || host.len() > 255 {
                    return Err(refuse(st, "the host name must be 1 to 255 bytes".into()));
                }
                let copy = Artefact::TestCopy { host: host.clone() };
                let steps = vec![Step::new(
                    ActionKind::PresentTestCopy { host: host.clone() },
                    Some(ActionKind::RemoveArtefact(copy)),
                )];
                self.begin(OpKind::PresentTestCopy { host }, steps, now);
            }
            Command::EndTestFailover => {
                let host = match (self.artefacts.iter().find_map(test_copy_host), st) {
                    (Some(h), State::TestFailover) => h.clone(),
                    _ => return Err(refuse(st, "no test failover is presented".into())),
                };
                let steps = vec![Step::new(
                    ActionKind::RemoveArtefact(Artefact::TestCopy { host: host.clone() }),
                    None,
                )];
                self.begin(OpKind::EndTestCopy { host }, steps, now);
            }
            Command::Failover { confirm } => {
                if st != State::Replicating {
                    return Err(refuse(st, "failover needs a replicating scenario".into()));
                }
                if !self.replica_current {
                    return Err(refuse(st, stale_replica(self.needs_resync)));
                }
                if !confirm {
                    return Err(CommandError::ConfirmationRequired {
                        command: name,
                        state: st,
                        what: "failover stops replication and leaves the original site unprotected",
                    });
                }
                let steps = vec![
                    Step::new(
                        ActionKind::StopServices {
                            host: Side::Master,
                            fence: true,
                        },
                        Some(ActionKind::StartServices {
                            host: Side::Master,
                            test: false,
                        }),
                    ),
                    Step::new(
                        ActionKind::StopReplication,
                        Some(ActionKind::ResumeReplication),
                    ),
                    Step::new(
                        ActionKind::MountOverlay,
                        Some(ActionKind::RemoveArtefact(Artefact::Overlay)),
                    ),
                    Step::new(
                        ActionKind::StartServices {
                            host: Side::Replica,
                            test: false,
                        },
                        Some(ActionKind::StopServices {
                            host: Side::Replica,
                            fence: false,
                        }),
                    ),
                ];
                self.begin(OpKind::Failover, steps, now);
            }
            Command::SyncBack => {
                if st != State::FailedOver {
                    return Err(refuse(st, "sync-back needs a failed-over scenario".into()));
                }
                let image = self.next_image;
                self.next_image = self.next_image.saturating_add(1);
                self.set_state(State::SyncingBack, Trigger::SyncBack, now);
                let steps = vec![Step::new(ActionKind::BeginSyncBack { image }, None)];
                self.begin(OpKind::SyncBack { image }, steps, now);
            }
            Command::Failback { confirm } => {
                if st != State::FailedOver {
                    return Err(refuse(st, "failback needs a failed-over scenario".into()));
                }
                let Some(image) = self.newest_image() else {
                    return Err(refuse(
                        st,
                        "no sync-back image exists yet; run a sync-back first".into(),
                    ));
                };
                if !confirm {
                    return Err(CommandError::ConfirmationRequired {
                        command: name,
                        state: st,
                        what:
                            "failback overwrites the original site with the newest sync-back image",
                    });
                }
                let mut steps = vec![
                    Step::new(
                        ActionKind::StopServices {
                            host: Side::Replica,
                            fence: true,
                        },
                        Some(ActionKind::StartServices {
                            host: Side::Replica,
                            test: false,
                        }),
                    ),
                    Step::new(ActionKind::RestoreFromImage { image }, None),
                    Step::new(
                        ActionKind::StartServices {
                            host: Side::Master,
                            test: false,
                        },
                        None,
                    ),
                ];
                let mut artefacts = self.artefacts.clone();
                artefacts.sort();
                steps.extend(
                    artefacts
                        .into_iter()
                        .map(|a| Step::best_effort(ActionKind::RemoveArtefact(a))),
                );
                self.set_state(State::FailingBack, Trigger::Failback, now);
                self.begin(OpKind::Failback, steps, now);
            }
            Command::Cleanup => {
                if !matches!(st, State::Stopped | State::Replicating | State::Paused) {
                    return Err(refuse(
                        st,
                        "cleanup runs in the stopped, replicating or paused states".into(),
                    ));
                }
                if self.artefacts.is_empty() {
                    return Err(refuse(st, "there are no artefacts to clean up".into()));
                }
                let mut artefacts = self.artefacts.clone();
                artefacts.sort();
                let steps = artefacts
                    .into_iter()
                    .map(|a| Step::best_effort(ActionKind::RemoveArtefact(a)))
                    .collect();
                self.begin(OpKind::Cleanup, steps, now);
            }
            Command::Bookmark { name: bookmark } => {
                if st != State::Replicating || !self.replica_connected {
                    return Err(refuse(
                        st,
                        "setting a bookmark requires a live replica session".into(),
                    ));
                }
                if bookmark.is_empty() || bookmark.len() > MAX_BOOKMARK_NAME {
                    return Err(refuse(
                        st,
                        format!("a bookmark name must be 1 to {MAX_BOOKMARK_NAME} bytes"),
                    ));
                }
                self.push_action(ActionKind::SetBookmark { name: bookmark }, false);
            }
            Command::UpdateConfig(config) => {
                if st.config_locked() {
                    return Err(refuse(
                        st,
                        format!("the configuration is locked while {st}"),
                    ));
                }
                if let Err(error) = config.validate() {
                    return Err(CommandError::InvalidConfig { state: st, error });
                }
                self.applied = vec![false; config.redirection.len()];
                self.silent = vec![false; config.is_alive.links.len()];
                self.config = *config;
                if watches(st) {
                    self.is_alive = Some(self.new_is_alive(now));
                }
            }
        }
        Ok(())
    }

    /// Applies a fact reported by the embedder at `now`. Observations are
    /// never refused: one that does not apply (a late report, an unknown
    /// link) is ignored with an event.
    pub fn handle_observation(&mut self, obs: Observation, now: Instant) {
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

    fn newest_image(&self) -> Option<u32> {
        self.artefacts
            .iter()
            .filter_map(|a| match a {
                Artefact::SyncBackImage { image } => Some(*image),
                _ => None,
            })
            .max()
    }

    fn new_is_alive(&self, now: Instant) -> IsAlive {
        let ia = &self.config.is_alive;
        IsAlive::new(ia.links.len(), ia.heartbeat_interval, ia.timeout, now)
    }

    fn push_action(&mut self, kind: ActionKind, awaits_report: bool) -> u64 {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1).max(1);
        self.actions.push_back(Action {
            id,
            kind,
            awaits_report,
        });
        id
    }

    fn set_state(&mut self, to: State, trigger: Trigger, now: Instant) {
        let from = self.state;
        self.state = to;
        if watches(to) && !watches(from) {
            self.is_alive = Some(self.new_is_alive(now));
            self.silent.iter_mut().for_each(|f| *f = false);
        } else if !watches(to) {
            self.is_alive = None;
        }
        self.events
            .push_back(Event::StateChanged { from, to, trigger });
    }

    /// Starts an operation: issues its first step (or finishes it at once).
    fn begin(&mut self, kind: OpKind, steps: Vec<Step>, now: Instant) {
        let mut seq = Sequence::new(steps);
        let next = seq.start();
        self.op = Some(Operation { kind, seq });
        self.follow(next, now);
    }

    fn begin_sync(&mut self, flow: Flow, kind: SyncKind, now: Instant) {
        let steps = vec![Step::new(ActionKind::BeginSync { kind, flow }, None)];
        self.begin(OpKind::Sync { flow }, steps, now);
    }

    fn follow(&mut self, next: Next, now: Instant) {
        match next {
            Next::Issue(kind) => {
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
        let Report {
            action,
            ok,
            was_undo,
            next,
            ..
        } = report;
        if ok {
            if let ActionKind::Redirect {
                step, direction, ..
            } = &action
            {
                if let Some(flag) = self.applied.get_mut(*step) {
                    *flag = *direction == Direction::Do;
                }
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
            (OpKind::SyncBack { image }, true) => {
                self.artefacts.push(Artefact::SyncBackImage { image });
                self.events.push_back(Event::SyncBackImageReady { image });
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
    }

    fn start_switchover(&mut self, automatic: bool, now: Instant) {
        let from = self.state;
        let mut steps = vec![
            Step::new(
                ActionKind::StopServices {
                    host: Side::Master,
                    fence: true,
                },
                Some(ActionKind::StartServices {
                    host: Side::Master,
                    test: false,
                }),
            ),
            Step::new(
                ActionKind::StopReplication,
                Some(ActionKind::ResumeReplication),
            ),
        ];
        for (i, params) in self.config.redirection.iter().enumerate() {
            let env = |d| match params {
                super::RedirectStep::Script { .. } => script_env(&self.config, i, d),
                _ => Vec::new(),
            };
            steps.push(Step::new(
                ActionKind::Redirect {
                    step: i,
                    direction: Direction::Do,
                    params: params.clone(),
                    env: env(Direction::Do),
                },
                Some(ActionKind::Redirect {
                    step: i,
                    direction: Direction::Undo,
                    params: params.clone(),
                    env: env(Direction::Undo),
                }),
            ));
        }
        steps.push(Step::new(
            ActionKind::StartServices {
                host: Side::Replica,
                test: false,
            },
            Some(ActionKind::StopServices {
                host: Side::Replica,
                fence: false,
            }),
        ));
        self.events
            .push_back(Event::SwitchoverStarted { automatic });
        self.set_state(State::SwitchingOver, Trigger::Switchover, now);
        self.begin(OpKind::Switchover { automatic, from }, steps, now);
    }

    fn start_switchback(&mut self, now: Instant) {
        let mut steps = vec![
            Step::new(
                ActionKind::StopServices {
                    host: Side::Replica,
                    fence: true,
                },
                Some(ActionKind::StartServices {
                    host: Side::Replica,
                    test: false,
                }),
            ),
            Step::new(
                ActionKind::StopReplication,
                Some(ActionKind::ResumeReplication),
            ),
        ];
        for (i, params) in self.config.redirection.iter().enumerate().rev() {
            if !self.applied.get(i).copied().unwrap_or(false) {
                continue;
            }
            let env = |d| match params {
                super::RedirectStep::Script { .. } => script_env(&self.config, i, d),
                _ => Vec::new(),
            };
            steps.push(Step::new(
                ActionKind::Redirect {
                    step: i,
                    direction: Direction::Undo,
                    params: params.clone(),
                    env: env(Direction::Undo),
                },
                Some(ActionKind::Redirect {
                    step: i,
                    direction: Direction::Do,
                    params: params.clone(),
                    env: env(Direction::Do),
                }),
            ));
        }
        steps.push(Step::new(
            ActionKind::StartServices {
                host: Side::Master,
                test: false,
            },
            Some(ActionKind::StopServices {
                host: Side::Master,
                fence: false,
            }),
        ));
        self.set_state(State::SwitchingBack, Trigger::Switchback, now);
        self.begin(OpKind::Switchback, steps, now);
    }

    fn on_active_dead(&mut self, now: Instant) {
        let host = self.active;
        let reason = if self.config.is_alive.mode == SwitchoverMode::Manual {
            Some("manual switchover mode: an operator decides".to_string())
        } else if !matches!(self.state, State::Replicating | State::Paused) {
            Some(format!("the scenario is {}", self.state))
        } else if self.op.is_some() {
            Some("another operation is in progress".to_string())
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
        let s = serde_json::from_slice::<Saved>(bytes)
            .map_err(syntax)?
            .scenario;
        s.config.validate()?;
        s.check_consistent()?;
        Ok(s)
    }

    fn check_consistent(&self) -> Result<(), RestoreError> {
        let bad = |what: &str| Err(RestoreError::Inconsistent(what.to_string()));
        if self.applied.len() != self.config.redirection.len() {
            return bad("the applied-step flags do not match the redirection plan");
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

fn test_copy_host(a: &Artefact) -> Option<&String> {
    match a {
        Artefact::TestCopy { host } => Some(host),
        _ => None,
    }
}

fn is_forward_running(state: State) -> bool {
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

fn stale_replica(needs_resync: bool) -> String {
    if needs_resync {
        "the replica does not hold the latest data (its spool overflowed; it must resynchronise)"
            .into()
    } else {
        "the replica does not hold the latest data (no synchronisation has finished)".into()
    }
}

fn not_stopped(st: State) -> String {
    match st {
        State::SwitchedOver | State::ReverseReplicating => {
            "roles are swapped; switch back first".into()
        }
        State::FailedOver | State::SyncingBack | State::FailingBack => {
            "the scenario is failed over; fail back first".into()
        }
        _ => "the scenario is already running".into(),
    }
}

fn stop_refusal(st: State) -> String {
    match st {
        State::Stopped => "the scenario is already stopped".into(),
        State::IntegrityTesting => "end the integrity test first".into(),
        State::TestFailover => "end the test failover first".into(),
        State::SwitchedOver => "roles are swapped; use switchback".into(),
        State::FailedOver => "the scenario is failed over; use failback".into(),
        _ => format!("wait for {st} to finish"),
    }
}
