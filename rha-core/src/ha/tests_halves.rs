//! Two-sided redirection steps (SPEC.md §6): move IP and switch name need
//! both hosts; each half is its own action naming the host that performs
//! it, with its own outcome, and the undo plan undoes exactly the halves
//! that were done.

#![allow(clippy::unwrap_used)] // test code

use super::*;
use crate::testing::ha::{config, Pair};

fn half_of(k: &ActionKind, step: usize, dir: Direction) -> Option<Option<Side>> {
    match k {
        ActionKind::Redirect {
            step: s,
            direction: d,
            half,
            ..
        } if *s == step && *d == dir => Some(*half),
        _ => None,
    }
}

fn switchover(p: &mut Pair) {
    p.command(Command::Switchover {
        confirm: CONFIRM_SWITCHOVER.into(),
    })
    .unwrap();
    p.drive();
}

#[test]
fn move_ip_and_switch_name_are_one_action_per_host() {
    let mut p = Pair::replicating(config());
    switchover(&mut p);
    assert_eq!(p.state(), State::SwitchedOver);
    for step in [0, 1] {
        let halves: Vec<_> = p
            .actions
            .iter()
            .filter_map(|a| half_of(&a.kind, step, Direction::Do))
            .collect();
        assert_eq!(
            halves,
            [Some(Side::Master), Some(Side::Replica)],
            "step {step}: the master releases, then the replica takes"
        );
    }
    // DNS steps and scripts stay one action.
    let dns: Vec<_> = p
        .actions
        .iter()
        .filter_map(|a| half_of(&a.kind, 2, Direction::Do))
        .collect();
    assert_eq!(dns, [None]);
    assert_eq!(p.scenario.applied_halves()[0], [true, true]);
    assert!(p.actions.iter().any(|a| a
        .kind
        .describe()
        .contains("do redirection step 0 (move IP), the replica's half")));
    // Switchback: the replica releases first, then the master takes back.
    p.boot_master();
    let from = p.actions.len();
    p.command(Command::Switchback {
        master_restored: false,
    })
    .unwrap();
    p.drive();
    let undo: Vec<_> = p.actions[from..]
        .iter()
        .filter_map(|a| half_of(&a.kind, 0, Direction::Undo))
        .collect();
    assert_eq!(undo, [Some(Side::Replica), Some(Side::Master)]);
    assert_eq!(p.scenario.applied_halves()[0], [false, false]);
}

#[test]
fn a_failed_half_undoes_only_the_halves_that_were_done() {
    let mut p = Pair::replicating(config());
    // The replica cannot take the address: the master's half (done) is
    // undone; the replica's (failed) is not.
    p.fail(
        |k| half_of(k, 0, Direction::Do) == Some(Some(Side::Replica)),
        1,
    );
    switchover(&mut p);
    assert_eq!(p.state(), State::Replicating);
    let undone: Vec<_> = p
        .actions
        .iter()
        .filter_map(|a| half_of(&a.kind, 0, Direction::Undo))
        .collect();
    assert_eq!(undone, [Some(Side::Master)]);
    assert!(p.scenario.applied_halves().iter().all(|h| *h == [false; 2]));
}

#[test]
fn cleanup_undoes_the_one_half_a_failed_rollback_left() {
    let mut p = Pair::replicating(config());
    p.fail(|k| is_step(k, 3, Direction::Do), 1);
    // Undoing the replica's half of switch name fails; the master's works.
    p.fail(
        |k| half_of(k, 1, Direction::Undo) == Some(Some(Side::Replica)),
        1,
    );
    switchover(&mut p);
    assert_eq!(p.state(), State::Replicating);
    assert_eq!(p.scenario.applied_halves()[1], [false, true]);
    assert!(p.scenario.applied_steps()[1]);
    let from = p.actions.len();
    p.command(Command::Cleanup {
        confirm: CONFIRM_CLEANUP.into(),
    })
    .unwrap();
    p.drive();
    let undone: Vec<_> = p.actions[from..]
        .iter()
        .filter_map(|a| half_of(&a.kind, 1, Direction::Undo))
        .collect();
    assert_eq!(undone, [Some(Side::Replica)], "only the half left applied");
    assert!(p.scenario.applied_halves().iter().all(|h| *h == [false; 2]));
}

fn is_step(k: &ActionKind, step: usize, dir: Direction) -> bool {
    half_of(k, step, dir).is_some()
}
