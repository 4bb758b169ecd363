//! Typed confirmations and refusals (SPEC.md §6: destructive steps require
//! an explicit confirmation; a test copy goes to another host; switchback
//! restores the original state, VM address included).

#![allow(clippy::unwrap_used)] // test code

use super::*;
use crate::testing::ha::{config, Pair};

fn confirmation(r: Result<(), CommandError>, word: &str) {
    match r {
        Err(e @ CommandError::ConfirmationRequired { .. }) => {
            assert!(
                e.to_string().contains(&format!("type {word} to confirm")),
                "{e}"
            )
        }
        other => panic!("expected a confirmation refusal, got {other:?}"),
    }
}

#[test]
fn destructive_commands_take_the_typed_word() {
    let mut p = Pair::replicating(config());
    for wrong in ["", "yes", "switchover", "SWITCHOVER "] {
        confirmation(
            p.command(Command::Switchover {
                confirm: wrong.into(),
            }),
            CONFIRM_SWITCHOVER,
        );
        confirmation(
            p.command(Command::Failover {
                confirm: wrong.into(),
            }),
            CONFIRM_FAILOVER,
        );
    }
    // A word for another command does not do either.
    confirmation(
        p.command(Command::Failover {
            confirm: CONFIRM_SWITCHOVER.into(),
        }),
        CONFIRM_FAILOVER,
    );
    p.command(Command::Failover {
        confirm: CONFIRM_FAILOVER.into(),
    })
    .unwrap();
    p.drive();
    p.command(Command::SyncBack).unwrap();
    p.drive();
    confirmation(
        p.command(Command::Failback {
            confirm: "FAILOVER".into(),
        }),
        CONFIRM_FAILBACK,
    );
    p.fail(|k| matches!(k, ActionKind::RemoveArtefact(_)), 1);
    p.command(Command::Failback {
        confirm: CONFIRM_FAILBACK.into(),
    })
    .unwrap();
    p.drive();
    assert_eq!(p.state(), State::Replicating);
    assert!(!p.scenario.artefacts().is_empty(), "a leftover to clean up");
    confirmation(
        p.command(Command::Cleanup {
            confirm: "cleanup".into(),
        }),
        CONFIRM_CLEANUP,
    );
    p.command(Command::Cleanup {
        confirm: CONFIRM_CLEANUP.into(),
    })
    .unwrap();
    p.drive();
    assert!(p.scenario.artefacts().is_empty());
    assert_eq!(
        Command::Failover {
            confirm: String::new()
        }
        .confirmation_word(),
        Some("FAILOVER")
    );
    assert_eq!(Command::SyncBack.confirmation_word(), None);
}

#[test]
fn a_test_copy_is_never_presented_to_the_protected_host() {
    let mut p = Pair::replicating(config());
    for master in ["alpha", "ALPHA", "alpha.example.test", "10.0.0.1"] {
        let e = p
            .command(Command::TestFailover {
                host: master.into(),
            })
            .unwrap_err();
        assert!(e.to_string().contains("is the protected host"), "{e}");
    }
    p.command(Command::TestFailover { host: "qa".into() })
        .unwrap();
    p.drive();
    assert_eq!(p.state(), State::TestFailover);
}

fn hyper_v() -> ScenarioConfig {
    let mut c = config();
    c.scenario_type = ScenarioType::HyperV;
    c.redirection
        .retain(|s| s.method().allowed_for(ScenarioType::HyperV));
    c.replica_vm_address = Some(VmAddress {
        address: "192.168.50.10".parse().unwrap(),
        prefix_len: 24,
        gateway: None,
    });
    c
}

#[test]
fn switchback_gives_the_vm_its_original_address_back() {
    let mut p = Pair::replicating(hyper_v());
    p.command(Command::Switchover {
        confirm: CONFIRM_SWITCHOVER.into(),
    })
    .unwrap();
    p.drive();
    assert_eq!(p.state(), State::SwitchedOver);
    p.boot_master();
    p.command(Command::Switchback {
        master_restored: false,
    })
    .unwrap();
    p.drive();
    assert_eq!(p.state(), State::Replicating);
    let kinds: Vec<_> = p.actions.iter().map(|a| &a.kind).collect();
    let readdress = kinds
        .iter()
        .position(|k| matches!(k, ActionKind::ReaddressVm(_)))
        .unwrap();
    let revert = kinds
        .iter()
        .position(|k| **k == ActionKind::RevertVmAddress)
        .expect("the VM's address is reverted at switchback");
    assert!(revert > readdress);
}

#[test]
fn a_failed_switchover_reverts_the_vm_address() {
    let mut p = Pair::replicating(hyper_v());
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
    assert_eq!(p.state(), State::Replicating);
    assert!(p
        .actions
        .iter()
        .any(|a| a.kind == ActionKind::RevertVmAddress));
}
