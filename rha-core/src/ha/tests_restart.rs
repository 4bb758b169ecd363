//! Simulation tests of restarts, hung steps and failures that happen while
//! something else runs (SPEC.md §6; issue: the scenario machine is right
//! before it runs for real).

#![allow(clippy::unwrap_used)] // test code

use std::path::PathBuf;

use super::*;
use crate::testing::ha::{config, secs, Pair};

fn is_redirect(k: &ActionKind, step: usize, dir: Direction) -> bool {
    matches!(k, ActionKind::Redirect { step: s, direction: d, .. } if *s == step && *d == dir)
}

/// A pair switching over, held at redirection step 2.
fn stuck_switchover() -> Pair {
    let mut p = Pair::replicating(config());
    p.hold(|k| is_redirect(k, 2, Direction::Do));
    p.command(Command::Switchover {
        confirm: CONFIRM_SWITCHOVER.into(),
    })
    .unwrap();
    p.drive();
    assert_eq!(p.state(), State::SwitchingOver);
    assert_eq!(p.held.len(), 1);
    p
}

#[test]
fn a_restart_mid_switchover_reissues_the_awaited_step() {
    let mut p = stuck_switchover();
    let id = p.held[0].id;
    let intent = p.scenario.intent().unwrap();
    assert_eq!(intent.id, id);
    assert_eq!(intent.operation, "switchover");
    assert!(is_redirect(&intent.action, 2, Direction::Do));
    // The agent dies with the step in flight; the new one re-issues it.
    p.restart();
    p.drive();
    assert!(p.saw(|e| matches!(
        e,
        Event::Restarted { reissued: Some(s) } if s.contains("redirection step 2")
    )));
    assert_eq!(p.held.len(), 1, "re-issued and held again");
    assert_eq!(p.held[0].id, id, "same id: a late report still counts");
    p.holds.clear();
    p.release(true);
    assert_eq!(p.state(), State::SwitchedOver);
}

#[test]
fn a_step_still_queued_at_the_save_is_not_issued_twice() {
    let mut p = Pair::replicating(config());
    p.scenario
        .handle_command(
            Command::Switchover {
                confirm: CONFIRM_SWITCHOVER.into(),
            },
            p.now,
        )
        .unwrap();
    // Saved before the embedder polled the first step.
    let mut s = Scenario::restore(&p.scenario.save()).unwrap();
    assert!(s.awaiting_restart());
    s.handle_timeout(p.now);
    let mut awaited = 0;
    while let Some(a) = s.poll_action() {
        awaited += usize::from(a.awaits_report);
    }
    assert_eq!(awaited, 1);
}

#[test]
fn an_awaited_step_that_hangs_is_retried_then_rolled_back() {
    let mut p = stuck_switchover();
    let timeout = p.scenario.config().timeouts.step;
    assert!(p.scenario.poll_timeout().unwrap() <= p.now.saturating_add(timeout));
    p.advance(timeout);
    assert!(p.saw(|e| matches!(
        e,
        Event::StepRetried { step, attempt: 1, .. } if step.contains("redirection step 2")
    )));
    assert_eq!(p.state(), State::SwitchingOver);
    assert_eq!(p.held.len(), 2, "the step was issued again");
    p.advance(timeout);
    assert!(p.saw(|e| matches!(
        e,
        Event::StepTimedOut { operation, step, attempts: 2 }
            if operation == "switchover" && step.contains("redirection step 2")
    )));
    assert!(
        p.saw(|e| matches!(e, Event::StepFailed { reason, .. } if reason.contains("timed out")))
    );
    assert_eq!(p.state(), State::Replicating, "the done steps were undone");
    assert!(p.scenario.applied_steps().iter().all(|&a| !a));
    assert!(p.scenario.intent().is_none());
    // Late reports of either attempt are ignored.
    p.holds.clear();
    p.release(false);
    assert!(p.saw(|e| matches!(e, Event::UnexpectedReport { .. })));
}

#[test]
fn a_hung_sync_stops_the_run_with_an_event_naming_it() {
    let mut p = Pair::new(config());
    p.hold(|k| matches!(k, ActionKind::BeginSync { .. }));
    p.command(Command::Start).unwrap();
    p.drive();
    let sync = p.scenario.config().timeouts.sync;
    p.advance(sync.saturating_mul(2));
    assert_eq!(p.state(), State::Stopped);
    assert!(p.saw(|e| matches!(
        e,
        Event::StepTimedOut { operation, step, .. }
            if operation == "synchronisation" && step.contains("BeginSync")
    )));
}

#[test]
fn the_operator_abandons_the_awaited_step_after_a_restart() {
    let mut p = Pair::replicating(config());
    let e = p.command(Command::AbandonStep).unwrap_err();
    assert!(e.to_string().contains("no step is awaited"), "{e}");
    let mut p = stuck_switchover();
    p.restart();
    p.command(Command::AbandonStep).unwrap();
    p.drive();
    assert!(p.saw(|e| matches!(
        e,
        Event::StepAbandoned { step, .. } if step.contains("redirection step 2")
    )));
    assert_eq!(p.state(), State::Replicating);
    assert!(p.scenario.applied_steps().iter().all(|&a| !a));
    assert!(p.master.serving && !p.replica.serving);
}

#[test]
fn deadlines_after_a_reboot_never_exceed_the_timeout() {
    // The old boot's monotonic clock read about 11.5 days; after the
    // reboot it restarts near zero.
    let mut p = Pair::new(config());
    p.now = Instant::from_nanos(1_000_000 * 1_000_000_000);
    p.command(Command::Start).unwrap();
    p.drive();
    assert_eq!(p.state(), State::Replicating);
    p.now = Instant::from_nanos(5_000_000_000);
    p.restart();
    let timeout = p.scenario.config().is_alive.timeout;
    assert!(p.scenario.poll_timeout().unwrap() <= p.now.saturating_add(timeout));
    p.crash_master();
    p.advance(timeout + secs(1));
    assert_eq!(p.state(), State::SwitchedOver);
}

#[test]
fn a_master_dying_during_an_integrity_test_is_acted_on_when_it_ends() {
    let mut p = Pair::replicating(config());
    p.command(Command::StartIntegrityTest).unwrap();
    p.drive();
    p.crash_master();
    p.advance(secs(600));
    assert_eq!(p.state(), State::IntegrityTesting);
    assert!(p.scenario.failure_pending());
    assert!(p.saw(|e| matches!(
        e,
        Event::ActiveUnresponsive { automatic: false, reason: Some(r), .. }
            if r.contains("acted on when it ends")
    )));
    // A restart in between keeps the pending failure.
    p.restart();
    p.command(Command::StopIntegrityTest).unwrap();
    p.drive();
    assert_eq!(p.state(), State::SwitchedOver);
    assert!(p.saw(|e| matches!(e, Event::SwitchoverStarted { automatic: true })));
}

#[test]
fn in_manual_mode_the_failure_is_notified_when_the_test_ends() {
    let mut c = config();
    c.is_alive.mode = SwitchoverMode::Manual;
    let mut p = Pair::replicating(c);
    p.command(Command::StartIntegrityTest).unwrap();
    p.drive();
    p.crash_master();
    p.advance(secs(600));
    let manual = |e: &Event| {
        matches!(e, Event::ActiveUnresponsive { automatic: false, reason: Some(r), .. }
            if r.contains("manual switchover mode"))
    };
    assert!(!p.saw(manual));
    p.command(Command::StopIntegrityTest).unwrap();
    p.drive();
    assert_eq!(p.state(), State::Replicating);
    assert!(p.saw(manual));
    assert!(!p.scenario.failure_pending());
}

#[test]
fn a_master_dying_during_a_pause_operation_is_acted_on_when_it_ends() {
    let mut p = Pair::replicating(config());
    p.hold(|k| *k == ActionKind::HoldApplication);
    p.command(Command::Pause).unwrap();
    p.drive();
    p.crash_master();
    p.advance(secs(400));
    assert_eq!(p.state(), State::Replicating);
    assert!(p.scenario.failure_pending());
    p.holds.clear();
    p.release(true);
    assert_eq!(p.state(), State::SwitchedOver);
}

#[test]
fn a_recovered_master_clears_the_pending_failure() {
    let mut p = Pair::replicating(config());
    p.command(Command::StartIntegrityTest).unwrap();
    p.drive();
    p.links_up = vec![false; 2];
    p.advance(secs(400));
    assert!(p.scenario.failure_pending());
    p.links_up = vec![true; 2];
    p.advance(secs(60));
    assert!(!p.scenario.failure_pending());
    p.command(Command::StopIntegrityTest).unwrap();
    p.drive();
    assert_eq!(p.state(), State::Replicating);
}

#[test]
fn a_replica_dying_during_a_test_shows_in_events_and_state() {
    let mut p = Pair::replicating(config());
    p.command(Command::StartIntegrityTest).unwrap();
    p.drive();
    p.observe(Observation::ReplicaDisconnected);
    assert!(!p.scenario.replica_connected());
    assert!(p.saw(|e| matches!(e, Event::ReplicaDisconnected)));
    assert!(p
        .actions
        .iter()
        .any(|a| a.kind == ActionKind::StartSpooling));
    p.command(Command::StopIntegrityTest).unwrap();
    p.drive();
    assert!(!p.scenario.replica_connected());
    p.observe(Observation::ReplicaReconnected);
    assert!(p.scenario.replica_connected());
    assert!(p.actions.iter().any(|a| a.kind == ActionKind::DrainSpool));
}

fn data_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data")
        .join(name)
}

/// A version 1 state (written before the intent and the deadlines were
/// saved) restores, re-issues the step it waited for, and finishes.
#[test]
fn a_version_1_state_restores_and_reissues_its_awaited_step() {
    let bytes = std::fs::read(data_file("ha-state-v1.json")).unwrap();
    let mut s = Scenario::restore(&bytes).unwrap();
    assert_eq!(s.state(), State::SwitchingOver);
    assert!(s.awaiting_restart());
    let intent = s.intent().unwrap();
    assert!(is_redirect(&intent.action, 1, Direction::Do));
    assert_eq!(intent.deadline, None);
    let now = Instant::from_nanos(7);
    s.handle_timeout(now);
    let step = s.config().timeouts.step;
    assert_eq!(s.intent().unwrap().deadline, Some(now.saturating_add(step)));
    let a = s.poll_action().unwrap();
    assert_eq!(a.id, intent.id);
    s.handle_observation(Observation::ActionCompleted { id: a.id }, now);
    while let Some(a) = s.poll_action() {
        if a.awaits_report {
            s.handle_observation(Observation::ActionCompleted { id: a.id }, now);
        }
    }
    assert_eq!(s.state(), State::SwitchedOver);
}
