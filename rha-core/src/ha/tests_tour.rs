//! Tours of the scenario machine: every state and every transition of the
//! table, taken on purpose (lifecycle, pause and spool, tests, switchover,
//! the appliance flow).

#![allow(clippy::unwrap_used)] // test code

use std::collections::BTreeSet;

use super::tests::{is_redirect, refused, Seen};
use super::*;
use crate::testing::ha::{config, secs, Pair};

/// Starting, failing to start, stopping midway.
fn tour_lifecycle() -> Seen {
    let mut p = Pair::new(config());
    refused(
        p.command(Command::Stop),
        "stop refused in state stopped: the scenario is already stopped",
    );
    refused(
        p.command(Command::Switchover {
            confirm: CONFIRM_SWITCHOVER.into(),
        }),
        "switchover refused in state stopped",
    );
    p.command(Command::Start).unwrap();
    refused(p.command(Command::Start), "the verification is in progress");
    p.drive();
    assert_eq!(p.state(), State::Replicating);
    assert!(p.scenario.replica_current());
    let kinds: Vec<_> = p.actions.iter().map(|a| a.kind.clone()).collect();
    assert_eq!(kinds[0], ActionKind::Verify);
    assert_eq!(
        kinds[1],
        ActionKind::BeginSync {
            kind: SyncKind::File,
            flow: Flow::Forward
        }
    );
    refused(p.command(Command::Start), "already running");
    p.command(Command::Stop).unwrap();
    assert_eq!(p.state(), State::Stopped);
    let mut seen = p.transitions.clone();

    // Verification fails; then a stop while verifying.
    let mut p = Pair::new(config());
    p.fail(|k| *k == ActionKind::Verify, 1);
    p.command(Command::Start).unwrap();
    p.drive();
    assert_eq!(p.state(), State::Stopped);
    assert!(
        p.saw(|e| matches!(e, Event::VerificationFailed { reason } if reason.contains("injected")))
    );
    p.hold(|k| *k == ActionKind::Verify);
    p.command(Command::Start).unwrap();
    p.drive();
    assert_eq!(p.state(), State::Verifying);
    p.command(Command::Stop).unwrap();
    assert_eq!(p.state(), State::Stopped);
    // The late report is ignored.
    p.release(true);
    assert_eq!(p.state(), State::Stopped);
    assert!(p.saw(|e| matches!(e, Event::UnexpectedReport { .. })));
    seen.extend(p.transitions.clone());

    // Sync fails; a stop and a full spool while synchronising.
    let mut p = Pair::new(config());
    p.fail(|k| matches!(k, ActionKind::BeginSync { .. }), 1);
    p.command(Command::Start).unwrap();
    p.drive();
    assert_eq!(p.state(), State::Stopped);
    assert!(p.saw(|e| matches!(e, Event::SyncFailed { .. })));
    p.hold(|k| matches!(k, ActionKind::BeginSync { .. }));
    p.command(Command::Start).unwrap();
    p.drive();
    assert_eq!(p.state(), State::Synchronising);
    refused(
        p.command(Command::Switchover {
            confirm: CONFIRM_SWITCHOVER.into(),
        }),
        "the synchronisation is in progress",
    );
    p.command(Command::Stop).unwrap();
    p.release(true);
    p.command(Command::Start).unwrap();
    p.drive();
    p.observe(Observation::SpoolFull);
    assert_eq!(p.state(), State::Stopped);
    assert!(p.saw(|e| matches!(
        e,
        Event::SpoolFull {
            scenario_stopped: true
        }
    )));
    seen.extend(p.transitions.clone());
    seen
}

/// Pause, resume, spool full with either setting, disconnects, bookmarks.
fn tour_pause_and_spool() -> Seen {
    let mut p = Pair::replicating(config());
    refused(
        p.command(Command::Resume),
        "only a paused scenario can be resumed",
    );
    p.command(Command::Pause).unwrap();
    p.drive();
    assert_eq!(p.state(), State::Paused);
    refused(
        p.command(Command::Bookmark { name: "x".into() }),
        "requires a live replica session",
    );
    p.command(Command::Resume).unwrap();
    p.drive();
    assert_eq!(p.state(), State::Replicating);
    p.command(Command::Bookmark {
        name: "nightly".into(),
    })
    .unwrap();
    refused(
        p.command(Command::Bookmark {
            name: String::new(),
        }),
        "bookmark name",
    );
    p.observe(Observation::ReplicaDisconnected);
    refused(
        p.command(Command::Bookmark { name: "x".into() }),
        "live replica session",
    );
    p.observe(Observation::ReplicaReconnected);
    p.drive();
    let kinds: Vec<_> = p.actions.iter().map(|a| &a.kind).collect();
    assert!(kinds.contains(&&ActionKind::SetBookmark {
        name: "nightly".into()
    }));
    assert!(kinds.contains(&&ActionKind::StartSpooling));
    assert!(kinds.contains(&&ActionKind::DrainSpool));
    p.command(Command::Pause).unwrap();
    p.drive();
    p.command(Command::Stop).unwrap();
    assert_eq!(p.state(), State::Stopped);
    let mut seen = p.transitions.clone();

    // Spool full, whole scenario stops (default), from replicating and paused.
    let mut p = Pair::replicating(config());
    p.observe(Observation::SpoolFull);
    assert_eq!(p.state(), State::Stopped);
    assert!(p.actions.iter().any(|a| a.kind == ActionKind::ClearSpool));
    p.command(Command::Start).unwrap();
    p.drive();
    p.command(Command::Pause).unwrap();
    p.drive();
    p.observe(Observation::SpoolFull);
    assert_eq!(p.state(), State::Stopped);
    seen.extend(p.transitions.clone());

    // Only the replica stops; it resynchronises when resumed.
    let mut c = config();
    c.stop_on_spool_full = false;
    let mut p = Pair::replicating(c);
    p.observe(Observation::SpoolFull);
    assert_eq!(p.state(), State::Paused);
    assert!(p.saw(|e| matches!(
        e,
        Event::SpoolFull {
            scenario_stopped: false
        }
    )));
    refused(
        p.command(Command::Switchover {
            confirm: CONFIRM_SWITCHOVER.into(),
        }),
        "spool overflowed",
    );
    p.command(Command::Resume).unwrap();
    assert_eq!(p.state(), State::Synchronising);
    p.drive();
    assert_eq!(p.state(), State::Replicating);
    seen.extend(p.transitions.clone());
    seen
}

/// Integrity testing and test failover.
fn tour_tests() -> Seen {
    let mut p = Pair::replicating(config());
    refused(
        p.command(Command::StopIntegrityTest),
        "no integrity test is running",
    );
    p.command(Command::StartIntegrityTest).unwrap();
    p.drive();
    assert_eq!(p.state(), State::IntegrityTesting);
    assert!(p.replica.testing && !p.replica.serving && p.master.serving);
    refused(
        p.command(Command::StartIntegrityTest),
        "at most one at a time",
    );
    refused(p.command(Command::Stop), "end the integrity test first");
    refused(
        p.command(Command::Switchover {
            confirm: CONFIRM_SWITCHOVER.into(),
        }),
        "switchover refused in state integrity testing",
    );
    // Ending fails once: the test goes on.
    p.fail(|k| *k == ActionKind::DiscardTestChanges, 1);
    p.command(Command::StopIntegrityTest).unwrap();
    p.drive();
    assert_eq!(p.state(), State::IntegrityTesting);
    p.command(Command::StopIntegrityTest).unwrap();
    p.drive();
    assert_eq!(p.state(), State::Replicating);
    assert!(!p.replica.testing);
    // No resync: the only sync is the initial one.
    let syncs = p
        .actions
        .iter()
        .filter(|a| matches!(a.kind, ActionKind::BeginSync { .. }))
        .count();
    assert_eq!(syncs, 1);
    // A failed test start rolls back (application released).
    p.fail(
        |k| matches!(k, ActionKind::StartServices { test: true, .. }),
        1,
    );
    p.command(Command::StartIntegrityTest).unwrap();
    p.drive();
    assert_eq!(p.state(), State::Replicating);
    assert_eq!(
        p.actions.last().map(|a| a.kind.clone()),
        Some(ActionKind::ReleaseApplication)
    );
    p.command(Command::StartIntegrityTest).unwrap();
    p.drive();
    p.observe(Observation::SpoolFull);
    assert_eq!(p.state(), State::Stopped);
    assert!(p
        .actions
        .iter()
        .rev()
        .take(4)
        .any(|a| a.kind == ActionKind::DiscardTestChanges));
    let mut seen = p.transitions.clone();

    let mut p = Pair::replicating(config());
    refused(
        p.command(Command::EndTestFailover),
        "no test failover is presented",
    );
    refused(
        p.command(Command::TestFailover {
            host: String::new(),
        }),
        "host name",
    );
    p.command(Command::TestFailover {
        host: "qa-1".into(),
    })
    .unwrap();
    p.drive();
    assert_eq!(p.state(), State::TestFailover);
    assert_eq!(
        p.scenario.artefacts(),
        &[Artefact::TestCopy {
            host: "qa-1".into()
        }]
    );
    refused(
        p.command(Command::TestFailover {
            host: "qa-2".into(),
        }),
        "at most one at a time",
    );
    refused(
        p.command(Command::Failover {
            confirm: CONFIRM_FAILOVER.into(),
        }),
        "failover refused in state test failover",
    );
    p.command(Command::EndTestFailover).unwrap();
    p.drive();
    assert_eq!(p.state(), State::Replicating);
    assert!(p.scenario.artefacts().is_empty());
    p.command(Command::TestFailover {
        host: "qa-1".into(),
    })
    .unwrap();
    p.drive();
    p.observe(Observation::SpoolFull);
    assert_eq!(p.state(), State::Stopped);
    // The copy is left behind; cleanup removes it.
    assert_eq!(p.scenario.artefacts().len(), 1);
    p.command(Command::Cleanup {
        confirm: CONFIRM_CLEANUP.into(),
    })
    .unwrap();
    p.drive();
    assert!(p.scenario.artefacts().is_empty());
    refused(
        p.command(Command::Cleanup {
            confirm: CONFIRM_CLEANUP.into(),
        }),
        "no artefacts",
    );
    seen.extend(p.transitions.clone());
    seen
}

/// Is Alive, switchover with rollback, switchback.
fn tour_switchover() -> Seen {
    // Automatic: the master dies; failure after every link is silent 300 s.
    let mut p = Pair::replicating(config());
    p.advance(secs(95));
    let checks = p
        .actions
        .iter()
        .filter(|a| matches!(a.kind, ActionKind::CheckAlive { .. }))
        .count();
    assert_eq!(checks, 2 * 4, "two links every 30 s: at 0, 30, 60, 90");
    p.crash_master();
    let crashed_at = p.now;
    p.advance(secs(200));
    assert_eq!(p.state(), State::Replicating);
    p.advance(secs(120));
    assert_eq!(p.state(), State::SwitchedOver);
    let declared = p.events.iter().position(|e| {
        matches!(
            e,
            Event::ActiveUnresponsive {
                automatic: true,
                ..
            }
        )
    });
    assert!(declared.is_some());
    assert!(p.saw(|e| matches!(e, Event::SwitchoverStarted { automatic: true })));
    assert!(p.replica.serving && !p.master.serving);
    assert!(p.now.saturating_duration_since(crashed_at) >= secs(300));
    assert_eq!(p.scenario.applied_steps(), &[true; 5]);
    // Configuration locked; no automatic switchback; no stop.
    refused(
        p.command(Command::UpdateConfig(Box::new(config()))),
        "locked while switched over",
    );
    refused(p.command(Command::Stop), "use switchback");
    refused(p.command(Command::Start), "switch back first");
    p.advance(secs(3600));
    assert_eq!(p.state(), State::SwitchedOver);
    assert_eq!(p.scenario.poll_timeout(), None);

    // The operator repairs the master and switches back.
    p.master.up = true;
    p.hold(|k| {
        matches!(
            k,
            ActionKind::BeginSync {
                flow: Flow::Reverse,
                ..
            }
        )
    });
    p.command(Command::Switchback {
        master_restored: true,
    })
    .unwrap();
    p.drive();
    assert_eq!(p.state(), State::ReverseReplicating);
    assert_eq!(
        p.held.front().map(|a| a.kind.clone()),
        Some(ActionKind::BeginSync {
            kind: SyncKind::Volume,
            flow: Flow::Reverse
        })
    );
    refused(
        p.command(Command::Switchback {
            master_restored: false,
        }),
        "already requested",
    );
    p.holds.clear();
    // Undoing step 2 fails once: the undone steps are redone.
    p.fail(|k| is_redirect(k, 2, Direction::Undo), 1);
    p.release(true);
    assert_eq!(p.state(), State::ReverseReplicating);
    assert!(
        p.saw(|e| matches!(e, Event::StepFailed { operation, .. } if operation == "switchback"))
    );
    assert_eq!(p.scenario.applied_steps(), &[true; 5]);
    assert!(p.replica.serving);
    p.command(Command::Switchback {
        master_restored: false,
    })
    .unwrap();
    p.drive();
    assert_eq!(p.state(), State::Replicating);
    assert!(p.master.serving && !p.replica.serving);
    assert_eq!(p.scenario.active(), Side::Master);
    assert_eq!(p.scenario.applied_steps(), &[false; 5]);
    // The undo plan ran in reverse order.
    let undos: Vec<usize> = p
        .actions
        .iter()
        .rev()
        .filter_map(|a| match &a.kind {
            ActionKind::Redirect {
                step,
                direction: Direction::Undo,
                ..
            } => Some(*step),
            _ => None,
        })
        .take(7)
        .collect();
    assert_eq!(
        undos,
        vec![0, 0, 1, 1, 2, 3, 4],
        "newest first: 0 is the last undone (move IP and switch name in two halves)"
    );
    let mut seen = p.transitions.clone();

    // Manual mode only notifies; a step failure rolls back in reverse.
    let mut c = config();
    c.is_alive.mode = SwitchoverMode::Manual;
    let mut p = Pair::replicating(c);
    p.links_up = vec![false, false];
    p.advance(secs(400));
    assert_eq!(p.state(), State::Replicating);
    assert!(p.saw(|e| matches!(e, Event::ActiveUnresponsive { automatic: false, reason: Some(r), .. } if r.contains("manual"))));
    assert!(p.saw(|e| matches!(e, Event::LinkSilent { link: 1 })));
    p.links_up = vec![true, false];
    p.advance(secs(30));
    assert!(p.saw(|e| matches!(e, Event::ActiveRecovered)));
    p.fail(|k| is_redirect(k, 3, Direction::Do), 1);
    p.command(Command::Switchover {
        confirm: CONFIRM_SWITCHOVER.into(),
    })
    .unwrap();
    p.drive();
    assert_eq!(p.state(), State::Replicating);
    assert!(p.master.serving && !p.replica.serving);
    let redirects: Vec<(usize, Direction)> = p
        .actions
        .iter()
        .filter_map(|a| match &a.kind {
            ActionKind::Redirect {
                step, direction, ..
            } => Some((*step, *direction)),
            _ => None,
        })
        .collect();
    use Direction::{Do, Undo};
    assert_eq!(
        redirects,
        vec![
            (0, Do),
            (0, Do),
            (1, Do),
            (1, Do),
            (2, Do),
            (3, Do),
            (2, Undo),
            (1, Undo),
            (1, Undo),
            (0, Undo),
            (0, Undo)
        ],
        "move IP and switch name in two halves each"
    );
    assert!(p.saw(|e| matches!(e, Event::OperationFinished { operation, ok: false } if operation == "switchover")));
    // From paused, manual switchover succeeds; scripts get the context.
    p.command(Command::Pause).unwrap();
    p.drive();
    p.command(Command::Switchover {
        confirm: CONFIRM_SWITCHOVER.into(),
    })
    .unwrap();
    p.drive();
    assert_eq!(p.state(), State::SwitchedOver);
    let env = p
        .actions
        .iter()
        .find_map(|a| match &a.kind {
            ActionKind::Redirect {
                env,
                direction: Direction::Do,
                ..
            } if !env.is_empty() => Some(env.clone()),
            _ => None,
        })
        .unwrap();
    assert!(env.contains(&("RHA_SCENARIO".into(), "files".into())));
    assert!(env.contains(&("RHA_DIRECTION".into(), "do".into())));
    // Reverse replication without switchback; stop it; a failed reverse sync.
    p.command(Command::StartReverseReplication {
        master_restored: false,
    })
    .unwrap();
    p.drive();
    assert_eq!(p.state(), State::ReverseReplicating);
    refused(
        p.command(Command::StartReverseReplication {
            master_restored: false,
        }),
        "already running",
    );
    p.command(Command::Stop).unwrap();
    assert_eq!(p.state(), State::SwitchedOver);
    p.fail(
        |k| {
            matches!(
                k,
                ActionKind::BeginSync {
                    flow: Flow::Reverse,
                    ..
                }
            )
        },
        1,
    );
    p.command(Command::Switchback {
        master_restored: false,
    })
    .unwrap();
    p.drive();
    assert_eq!(p.state(), State::SwitchedOver);
    seen.extend(p.transitions.clone());

    // A switchover failing from paused returns to paused; a stale replica refuses.
    let mut p = Pair::replicating(config());
    p.command(Command::Pause).unwrap();
    p.drive();
    p.fail(
        |k| {
            matches!(
                k,
                ActionKind::StartServices {
                    host: Side::Replica,
                    ..
                }
            )
        },
        1,
    );
    p.command(Command::Switchover {
        confirm: CONFIRM_SWITCHOVER.into(),
    })
    .unwrap();
    p.drive();
    assert_eq!(p.state(), State::Paused);
    assert!(p.master.serving);
    seen.extend(p.transitions.clone());
    seen
}

/// The appliance flow: failover, sync-back, failback.
fn tour_appliance() -> Seen {
    let mut p = Pair::replicating(config());
    refused(p.command(Command::SyncBack), "needs a failed-over scenario");
    match p.command(Command::Failover {
        confirm: String::new(),
    }) {
        Err(CommandError::ConfirmationRequired {
            state: State::Replicating,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    // A failed failover rolls back.
    p.fail(|k| *k == ActionKind::MountOverlay, 1);
    p.command(Command::Failover {
        confirm: CONFIRM_FAILOVER.into(),
    })
    .unwrap();
    p.drive();
    assert_eq!(p.state(), State::Replicating);
    assert!(p.master.serving);
    p.command(Command::Failover {
        confirm: CONFIRM_FAILOVER.into(),
    })
    .unwrap();
    p.drive();
    assert_eq!(p.state(), State::FailedOver);
    assert!(p.replica.serving && !p.master.serving);
    refused(
        p.command(Command::Failback {
            confirm: CONFIRM_FAILBACK.into(),
        }),
        "no sync-back image",
    );
    refused(p.command(Command::Stop), "use failback");
    // Sync-back, repeatedly; one fails; images are never applied.
    for _ in 0..3 {
        p.command(Command::SyncBack).unwrap();
        p.drive();
    }
    p.fail(|k| matches!(k, ActionKind::BeginSyncBack { .. }), 1);
    p.command(Command::SyncBack).unwrap();
    p.drive();
    assert_eq!(p.state(), State::FailedOver);
    let images: Vec<_> = p
        .events
        .iter()
        .filter_map(|e| match e {
            Event::SyncBackImageReady { image } => Some(*image),
            _ => None,
        })
        .collect();
    assert_eq!(images, vec![1, 2, 3]);
    assert!(!p
        .actions
        .iter()
        .any(|a| matches!(a.kind, ActionKind::RestoreFromImage { .. })));
    match p.command(Command::Failback {
        confirm: "failback".into(),
    }) {
        Err(CommandError::ConfirmationRequired { what, .. }) => {
            assert!(what.contains("overwrites"))
        }
        other => panic!("{other:?}"),
    }
    // Restore fails: back to failed over, the replica serves again.
    p.fail(|k| matches!(k, ActionKind::RestoreFromImage { .. }), 1);
    p.command(Command::Failback {
        confirm: CONFIRM_FAILBACK.into(),
    })
    .unwrap();
    p.drive();
    assert_eq!(p.state(), State::FailedOver);
    assert!(p.replica.serving);
    // Failback with one artefact that cannot be removed.
    p.fail(
        |k| *k == ActionKind::RemoveArtefact(Artefact::SyncBackImage { image: 2 }),
        1,
    );
    p.command(Command::SyncBack).unwrap();
    p.drive();
    p.command(Command::Failback {
        confirm: CONFIRM_FAILBACK.into(),
    })
    .unwrap();
    p.drive();
    assert_eq!(p.state(), State::Replicating);
    assert!(p.master.serving && !p.replica.serving);
    assert!(p
        .actions
        .iter()
        .any(|a| a.kind == ActionKind::RestoreFromImage { image: 7 }));
    let leftovers = vec![Artefact::SyncBackImage { image: 2 }];
    assert!(p.saw(|e| *e
        == Event::FailbackCompleted {
            leftovers: leftovers.clone()
        }));
    assert_eq!(p.scenario.artefacts(), leftovers.as_slice());
    // Cleanup is idempotent: it retries what is left.
    p.command(Command::Cleanup {
        confirm: CONFIRM_CLEANUP.into(),
    })
    .unwrap();
    p.drive();
    assert!(p.scenario.artefacts().is_empty());
    p.transitions.clone()
}

macro_rules! tours {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                super::$name();
            }
        )*

        /// Together the tours take every transition of the table.
        #[test]
        fn every_transition_is_exercised() {
            let mut seen = Seen::new();
            $( seen.extend(super::$name()); )*
            let missing: Vec<_> = TRANSITIONS.iter().filter(|t| !seen.contains(t)).collect();
            assert!(missing.is_empty(), "never exercised: {missing:#?}");
            let states: BTreeSet<State> = seen.iter().flat_map(|t| [t.0, t.2]).collect();
            assert_eq!(states.len(), State::ALL.len());
        }
    };
}

mod tour {
    use super::*;
    tours!(
        tour_lifecycle,
        tour_pause_and_spool,
        tour_tests,
        tour_switchover,
        tour_appliance
    );
}
