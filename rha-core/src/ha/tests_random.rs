//! Properties of the scenario machine: random sequences of commands,
//! failures, link changes and restarts keep its invariants and reach most
//! transitions of the table.

use std::collections::BTreeSet;

use proptest::prelude::*;

use super::*;
use crate::testing::ha::{config, secs, Pair};

type Seen = BTreeSet<(State, Trigger, State)>;

#[derive(Debug, Clone)]
enum Input {
    Cmd(u8),
    Advance(u16),
    Fail(u8),
    Hold(bool),
    Release(bool),
    Link(u8, bool),
    CrashMaster,
    BootMaster,
    Partition(bool),
    Fencing(bool),
    Observe(u8),
    Restart,
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        8 => any::<u8>().prop_map(Input::Cmd),
        3 => (0u16..700).prop_map(Input::Advance),
        1 => any::<u8>().prop_map(Input::Fail),
        1 => any::<bool>().prop_map(Input::Hold),
        1 => any::<bool>().prop_map(Input::Release),
        1 => (0u8..3, any::<bool>()).prop_map(|(l, up)| Input::Link(l, up)),
        1 => Just(Input::CrashMaster),
        1 => Just(Input::BootMaster),
        1 => any::<bool>().prop_map(Input::Partition),
        1 => any::<bool>().prop_map(Input::Fencing),
        1 => any::<u8>().prop_map(Input::Observe),
        1 => Just(Input::Restart),
    ]
}

/// The confirmation word when `i`'s top bit is set, a wrong one otherwise.
fn word(i: u8, word: &str) -> String {
    if i & 0x80 != 0 {
        word.into()
    } else {
        word.to_ascii_lowercase()
    }
}

pub(crate) fn command(i: u8) -> Command {
    match i % 18 {
        0 => Command::Start,
        1 => Command::Stop,
        2 => Command::Pause,
        3 => Command::Resume,
        4 => Command::Switchover {
            confirm: word(i, CONFIRM_SWITCHOVER),
        },
        5 => Command::Switchback {
            master_restored: false,
        },
        6 => Command::StartReverseReplication {
            master_restored: true,
        },
        7 => Command::StartIntegrityTest,
        8 => Command::StopIntegrityTest,
        9 => Command::TestFailover { host: "qa".into() },
        10 => Command::EndTestFailover,
        11 => Command::Failover {
            confirm: word(i, CONFIRM_FAILOVER),
        },
        12 => Command::SyncBack,
        13 => Command::Failback {
            confirm: word(i, CONFIRM_FAILBACK),
        },
        14 => Command::Cleanup {
            confirm: word(i, CONFIRM_CLEANUP),
        },
        15 => Command::Bookmark { name: "b".into() },
        16 => Command::UpdateConfig(Box::new(config())),
        _ => Command::AbandonStep,
    }
}

fn matcher(i: u8) -> impl Fn(&ActionKind) -> bool {
    move |k: &ActionKind| match i % 8 {
        0 => matches!(
            k,
            ActionKind::Redirect {
                direction: Direction::Do,
                ..
            }
        ),
        1 => matches!(
            k,
            ActionKind::Redirect {
                direction: Direction::Undo,
                ..
            }
        ),
        2 => matches!(k, ActionKind::StartServices { .. }),
        3 => matches!(k, ActionKind::StopServices { .. }),
        4 => matches!(k, ActionKind::BeginSync { .. } | ActionKind::Verify),
        5 => matches!(k, ActionKind::RemoveArtefact(_)),
        6 => matches!(
            k,
            ActionKind::RestoreFromImage { .. } | ActionKind::BeginSyncBack { .. }
        ),
        _ => true,
    }
}

fn run(stop_on_spool_full: bool, inputs: Vec<Input>) -> Seen {
    let mut c = config();
    c.stop_on_spool_full = stop_on_spool_full;
    let mut p = Pair::new(c);
    for input in inputs {
        match input {
            Input::Cmd(i) => {
                // The harness checks refusals and the configuration lock.
                let _ = p.command(command(i));
                p.drive();
            }
            Input::Advance(s) => p.advance(secs(u64::from(s))),
            Input::Fail(i) => p.fail(matcher(i), 1),
            Input::Hold(on) => {
                if on {
                    p.hold(|k| matches!(k, ActionKind::BeginSync { .. } | ActionKind::Verify));
                } else {
                    p.holds.clear();
                }
            }
            Input::Release(ok) => {
                if !p.held.is_empty() {
                    p.release(ok);
                }
            }
            Input::Link(l, up) => {
                if let Some(x) = p.links_up.get_mut(usize::from(l)) {
                    *x = up;
                }
            }
            Input::CrashMaster => p.crash_master(),
            Input::BootMaster => p.boot_master(),
            Input::Partition(cut) => p.master_reachable = !cut,
            Input::Fencing(works) => p.fencing_works = works,
            Input::Observe(i) => {
                let obs = match i % 5 {
                    0 => Observation::SpoolFull,
                    1 => Observation::ReplicaDisconnected,
                    2 => Observation::ReplicaReconnected,
                    3 => Observation::ActionCompleted { id: u64::from(i) },
                    _ => Observation::Heartbeat {
                        link: usize::from(i % 4),
                        alive: i % 2 == 0,
                    },
                };
                p.observe(obs);
                p.drive();
            }
            Input::Restart => p.restart(),
        }
        p.check();
    }
    p.transitions
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Never two actives, every transition in the table, refused commands
    /// change nothing, redirection fully undone when not switched over,
    /// configuration locked while switched over, restore is exact.
    #[test]
    fn invariants_hold_under_random_sequences(
        stop_on_spool_full in any::<bool>(),
        inputs in proptest::collection::vec(input(), 1..80),
    ) {
        run(stop_on_spool_full, inputs);
    }
}

#[test]
fn commands_cover_every_variant_used_by_the_properties() {
    let names: BTreeSet<&str> = (0..=255u8).map(|i| command(i).name()).collect();
    assert_eq!(names.len(), 18);
}

/// The generator stays meaningful: the same number of random cases as the
/// property (deterministic seed) takes most edges of the transition table.
#[test]
fn random_sequences_reach_most_transitions() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strat = (any::<bool>(), proptest::collection::vec(input(), 1..80));
    let mut seen = Seen::new();
    for _ in 0..256 {
        let (stop, inputs) = strat.new_tree(&mut runner).unwrap().current();
        seen.extend(run(stop, inputs));
    }
    let missing: Vec<_> = TRANSITIONS.iter().filter(|t| !seen.contains(t)).collect();
    assert!(missing.len() <= 6, "random sequences miss {missing:#?}");
}
