//! Failback without loss (SPEC.md §6): the DR application stops, a final
//! sync-back ships what it wrote since the last image, the original site is
//! restored from that final image, then cleanup and forward replication.

#![allow(clippy::unwrap_used)] // test code

use super::*;
use crate::testing::ha::{config, Pair};

/// Failed over, with one catch-up sync-back image (1).
fn failed_over_with_an_image() -> Pair {
    let mut p = Pair::replicating(config());
    p.command(Command::Failover {
        confirm: CONFIRM_FAILOVER.into(),
    })
    .unwrap();
    p.drive();
    p.command(Command::SyncBack).unwrap();
    p.drive();
    assert_eq!(p.state(), State::FailedOver);
    assert_eq!(
        p.scenario.artefacts(),
        &[Artefact::Overlay, Artefact::SyncBackImage { image: 1 }]
    );
    p
}

#[test]
fn failback_restores_from_a_final_sync_back_taken_after_the_dr_application_stops() {
    let mut p = failed_over_with_an_image();
    let from = p.actions.len();
    p.command(Command::Failback {
        confirm: CONFIRM_FAILBACK.into(),
    })
    .unwrap();
    p.drive();
    assert_eq!(p.state(), State::Replicating);
    let awaited: Vec<ActionKind> = p.actions[from..]
        .iter()
        .filter(|a| a.awaits_report)
        .map(|a| a.kind.clone())
        .collect();
    assert_eq!(
        awaited[..4],
        [
            ActionKind::StopServices {
                host: Side::Replica,
                fence: true
            },
            ActionKind::BeginSyncBack { image: 2 },
            ActionKind::RestoreFromImage { image: 2 },
            ActionKind::StartServices {
                host: Side::Master,
                test: false
            },
        ],
        "stop at the DR side, final sync-back, restore from it, start the original"
    );
    // Every artefact, the final image included, is cleaned up, then the
    // forward scenario resynchronises.
    assert!(p.scenario.artefacts().is_empty());
    assert!(
        awaited.contains(&ActionKind::RemoveArtefact(Artefact::SyncBackImage {
            image: 2
        }))
    );
    assert!(matches!(
        awaited.last(),
        Some(ActionKind::BeginSync {
            flow: Flow::Forward,
            ..
        })
    ));
    assert!(p.master.serving && !p.replica.serving);
}

#[test]
fn a_failed_final_sync_back_restores_nothing_and_the_dr_side_serves_again() {
    let mut p = failed_over_with_an_image();
    p.fail(|k| matches!(k, ActionKind::BeginSyncBack { .. }), 1);
    let from = p.actions.len();
    p.command(Command::Failback {
        confirm: CONFIRM_FAILBACK.into(),
    })
    .unwrap();
    p.drive();
    assert_eq!(p.state(), State::FailedOver);
    assert!(p.replica.serving && !p.master.serving);
    assert!(!p.actions[from..]
        .iter()
        .any(|a| matches!(a.kind, ActionKind::RestoreFromImage { .. })));
    // A failed restore keeps the final image as an artefact (it exists).
    p.fail(|k| matches!(k, ActionKind::RestoreFromImage { .. }), 1);
    p.command(Command::Failback {
        confirm: CONFIRM_FAILBACK.into(),
    })
    .unwrap();
    p.drive();
    assert_eq!(p.state(), State::FailedOver);
    assert!(p
        .scenario
        .artefacts()
        .contains(&Artefact::SyncBackImage { image: 3 }));
}
