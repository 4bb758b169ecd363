//! Operator commands: what each one may do in each state, and the plans
//! (ordered steps with undos) they start.

use super::config::SyncKind;
use super::error::CommandError;
use super::io::{
    ActionKind, Artefact, Command, Event, Flow, Side, CONFIRM_CLEANUP, CONFIRM_FAILBACK,
    CONFIRM_FAILOVER, CONFIRM_SWITCHOVER,
};
use super::redirect::{script_env, Direction, RedirectStep};
use super::scenario::{watches, OpKind, Scenario, MAX_BOOKMARK_NAME};
use super::sequence::Step;
use super::state::{State, Trigger};
use super::time::Instant;

impl Scenario {
    /// Applies an operator command at `now`.
    ///
    /// A refused command returns an error naming the state and the reason
    /// and changes nothing.
    pub fn handle_command(&mut self, cmd: Command, now: Instant) -> Result<(), CommandError> {
        self.resume_if_restored(now);
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
            let abandon = matches!(cmd, Command::AbandonStep);
            if !abortable && !request_switchback && !abandon {
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
            Command::Switchover { confirm } => {
                if !matches!(st, State::Replicating | State::Paused) {
                    return Err(refuse(
                        st,
                        "switchover needs a replicating or paused scenario".into(),
                    ));
                }
                if !self.replica_current {
                    return Err(refuse(st, stale_replica(self.needs_resync)));
                }
                confirmed(
                    name,
                    st,
                    &confirm,
                    CONFIRM_SWITCHOVER,
                    "switchover moves clients to the replica and stops the master's services",
                )?;
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
                if self.is_master_host(&host) {
                    return Err(refuse(
                        st,
                        format!(
                            "{host:?} is the protected host (the master); a test copy goes to another host"
                        ),
                    ));
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
                confirmed(
                    name,
                    st,
                    &confirm,
                    CONFIRM_FAILOVER,
                    "failover stops replication and leaves the original site unprotected",
                )?;
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
                if self.newest_image().is_none() {
                    return Err(refuse(
                        st,
                        "no sync-back image exists yet; run a catch-up sync-back first".into(),
                    ));
                }
                confirmed(
                    name,
                    st,
                    &confirm,
                    CONFIRM_FAILBACK,
                    "failback stops the application at the DR site and overwrites the original site with a final sync-back image",
                )?;
                // Nothing written at the DR side is lost: its application
                // stops first, then a final sync-back ships everything since
                // the last image, and the original site is restored from it.
                let image = self.next_image;
                self.next_image = self.next_image.saturating_add(1);
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
                    Step::new(ActionKind::BeginSyncBack { image }, None),
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
                artefacts.push(Artefact::SyncBackImage { image });
                artefacts.sort();
                steps.extend(
                    artefacts
                        .into_iter()
                        .map(|a| Step::best_effort(ActionKind::RemoveArtefact(a))),
                );
                self.set_state(State::FailingBack, Trigger::Failback, now);
                self.begin(OpKind::Failback, steps, now);
            }
            Command::Cleanup { confirm } => {
                if !matches!(st, State::Stopped | State::Replicating | State::Paused) {
                    return Err(refuse(
                        st,
                        "cleanup runs in the stopped, replicating or paused states".into(),
                    ));
                }
                if self.artefacts.is_empty() && !self.applied.contains(&true) {
                    return Err(refuse(
                        st,
                        "there are no artefacts or applied redirection steps to clean up".into(),
                    ));
                }
                confirmed(
                    name,
                    st,
                    &confirm,
                    CONFIRM_CLEANUP,
                    "cleanup deletes test copies, the overlay and sync-back images",
                )?;
                // Redirection steps left applied by a failed undo, last first,
                // then the artefacts.
                let mut steps: Vec<Step> = Vec::new();
                for (i, params) in self.config.redirection.iter().enumerate().rev() {
                    steps.extend(
                        self.undo_halves(i, params)
                            .into_iter()
                            .map(|(undo, _)| Step::best_effort(undo)),
                    );
                }
                let mut artefacts = self.artefacts.clone();
                artefacts.sort();
                steps.extend(
                    artefacts
                        .into_iter()
                        .map(|a| Step::best_effort(ActionKind::RemoveArtefact(a))),
                );
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
            Command::AbandonStep => {
                if self.abandon_step(now).is_none() {
                    return Err(refuse(st, "no step is awaited".into()));
                }
            }
            Command::UpdateConfig(config) => {
                if st.config_locked() {
                    return Err(refuse(
                        st,
                        format!("the configuration is locked while {st}"),
                    ));
                }
                if let Some(step) = self.applied.iter().position(|&a| a) {
                    return Err(refuse(
                        st,
                        format!("redirection step {step} is still applied (its undo failed); undo it first"),
                    ));
                }
                if let Err(error) = config.validate() {
                    return Err(CommandError::InvalidConfig { state: st, error });
                }
                self.applied = vec![false; config.redirection.len()];
                self.halves = vec![[false; 2]; config.redirection.len()];
                self.silent = vec![false; config.is_alive.links.len()];
                self.config = *config;
                if watches(st) {
                    self.is_alive = Some(self.new_is_alive(now));
                }
            }
        }
        Ok(())
    }

    /// Whether `host` names the master: its name (any case, with or
    /// without a domain) or its address.
    fn is_master_host(&self, host: &str) -> bool {
        let master = &self.config.master;
        let short = host.split('.').next().unwrap_or(host);
        host.eq_ignore_ascii_case(&master.name)
            || short.eq_ignore_ascii_case(&master.name)
            || host.parse::<std::net::IpAddr>().ok() == Some(master.address)
    }

    /// The action doing or undoing redirection step `i` (its `half`, for a
    /// two-sided step).
    fn redirect_action(
        &self,
        i: usize,
        params: &RedirectStep,
        direction: Direction,
        half: Option<Side>,
    ) -> ActionKind {
        let env = match params {
            RedirectStep::Script { .. } => script_env(&self.config, i, direction),
            _ => Vec::new(),
        };
        ActionKind::Redirect {
            step: i,
            direction,
            params: params.clone(),
            env,
            half,
        }
    }

    /// The switchover's steps for redirection step `i`: each half (the
    /// master releases, then the replica takes) or the whole step, each
    /// with its undo.
    fn do_halves(&self, i: usize, params: &RedirectStep) -> Vec<Step> {
        let halves: &[Option<Side>] = if params.two_sided() {
            &[Some(Side::Master), Some(Side::Replica)]
        } else {
            &[None]
        };
        halves
            .iter()
            .map(|&h| {
                Step::new(
                    self.redirect_action(i, params, Direction::Do, h),
                    Some(self.redirect_action(i, params, Direction::Undo, h)),
                )
            })
            .collect()
    }

    /// The undos of the applied halves of redirection step `i` (the
    /// replica releases, then the master takes back), each with its redo.
    fn undo_halves(&self, i: usize, params: &RedirectStep) -> Vec<(ActionKind, ActionKind)> {
        let [master, replica] = self.halves.get(i).copied().unwrap_or([false; 2]);
        let halves: Vec<Option<Side>> = if params.two_sided() {
            [(replica, Side::Replica), (master, Side::Master)]
                .into_iter()
                .filter(|(on, _)| *on)
                .map(|(_, h)| Some(h))
                .collect()
        } else if master || replica {
            vec![None]
        } else {
            Vec::new()
        };
        halves
            .into_iter()
            .map(|h| {
                (
                    self.redirect_action(i, params, Direction::Undo, h),
                    self.redirect_action(i, params, Direction::Do, h),
                )
            })
            .collect()
    }

    pub(super) fn start_switchover(&mut self, automatic: bool, now: Instant) {
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
            steps.extend(self.do_halves(i, params));
        }
        if let Some(vm) = &self.config.replica_vm_address {
            steps.push(Step::new(
                ActionKind::ReaddressVm(vm.clone()),
                Some(ActionKind::RevertVmAddress),
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

    pub(super) fn start_switchback(&mut self, now: Instant) {
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
        // The mirror image of the switchover: the VM's own address comes
        // back first (it was set last), then the redirection, last first.
        if let Some(vm) = &self.config.replica_vm_address {
            steps.push(Step::new(
                ActionKind::RevertVmAddress,
                Some(ActionKind::ReaddressVm(vm.clone())),
            ));
        }
        for (i, params) in self.config.redirection.iter().enumerate().rev() {
            steps.extend(
                self.undo_halves(i, params)
                    .into_iter()
                    .map(|(undo, redo)| Step::new(undo, Some(redo))),
            );
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
}

/// `Ok` if `given` is `word`, else the refusal asking for it.
fn confirmed(
    command: &'static str,
    state: State,
    given: &str,
    word: &'static str,
    what: &'static str,
) -> Result<(), CommandError> {
    if given == word {
        Ok(())
    } else {
        Err(CommandError::ConfirmationRequired {
            command,
            state,
            what,
            word,
        })
    }
}

fn test_copy_host(a: &Artefact) -> Option<&String> {
    match a {
        Artefact::TestCopy { host } => Some(host),
        _ => None,
    }
}

pub(super) fn stale_replica(needs_resync: bool) -> String {
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
