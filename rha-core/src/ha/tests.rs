//! Simulation tests of the scenario machine (refusals, partitions,
//! redirection rules, configuration), persistence and the documented
//! diagram; tours and properties are in `tests_tour` and `tests_random`.

#![allow(clippy::unwrap_used)] // test code

use std::collections::BTreeSet;
use std::path::PathBuf;

use super::*;
use crate::testing::ha::{config, host, secs, Pair};

pub(super) type Seen = BTreeSet<(State, Trigger, State)>;

pub(super) fn is_redirect(k: &ActionKind, step: usize, dir: Direction) -> bool {
    matches!(k, ActionKind::Redirect { step: s, direction: d, .. } if *s == step && *d == dir)
}

pub(super) fn refused(r: Result<(), CommandError>, needle: &str) {
    match r {
        Err(e) => assert!(e.to_string().contains(needle), "{e}"),
        Ok(()) => panic!("accepted; expected a refusal containing {needle:?}"),
    }
}

#[test]
fn a_partition_fences_the_master_or_fails_safely() {
    // The master is alive but cut off: fencing powers it off first.
    let mut p = Pair::replicating(config());
    p.master_reachable = false;
    p.advance(secs(400));
    assert_eq!(p.state(), State::SwitchedOver);
    assert!(!p.master.up && p.replica.serving);

    // Without working fencing the switchover fails before anything changes,
    // and is not retried automatically.
    let mut p = Pair::replicating(config());
    p.master_reachable = false;
    p.fencing_works = false;
    p.advance(secs(400));
    assert_eq!(p.state(), State::Replicating);
    assert!(p.master.serving && !p.replica.serving);
    assert!(p.saw(|e| matches!(e, Event::OperationFinished { operation, ok: false } if operation == "switchover")));
    // Declared dead once; no retry until the master answers again.
    p.advance(secs(600));
    let fences = p.actions.iter().filter(|a| {
        a.kind
            == ActionKind::StopServices {
                host: Side::Master,
                fence: true,
            }
    });
    assert_eq!(fences.count(), 1);
    p.master_reachable = true;
    p.advance(secs(30));
    assert!(p.saw(|e| matches!(e, Event::ActiveRecovered)));
}

#[test]
fn one_live_link_prevents_a_switchover() {
    let mut p = Pair::replicating(config());
    p.links_up = vec![false, true];
    p.advance(secs(3600));
    assert_eq!(p.state(), State::Replicating);
    assert!(!p.saw(|e| matches!(e, Event::ActiveUnresponsive { .. })));
    assert!(p.saw(|e| *e == Event::LinkSilent { link: 0 }));
    p.observe(Observation::Heartbeat {
        link: 9,
        alive: true,
    });
    assert!(p.saw(|e| *e == Event::UnknownLink { link: 9 }));
}

#[test]
fn a_stale_replica_refuses_to_become_active() {
    let mut p = Pair::new(config());
    p.hold(|k| matches!(k, ActionKind::BeginSync { .. }));
    p.command(Command::Start).unwrap();
    p.drive();
    refused(
        p.command(Command::Failover {
            confirm: CONFIRM_FAILOVER.into(),
        }),
        "the synchronisation is in progress",
    );
    // The master dies during the first sync: no automatic switchover.
    p.crash_master();
    p.advance(secs(1000));
    assert_eq!(p.state(), State::Synchronising);
    assert!(!p.replica.serving);
}

#[test]
fn configuration_updates_are_validated_and_locked() {
    let mut p = Pair::replicating(config());
    let mut bad = config();
    bad.scenario_type = ScenarioType::Exchange;
    let e = p.command(Command::UpdateConfig(Box::new(bad))).unwrap_err();
    assert!(
        e.to_string()
            .contains("switch computer name is not allowed for Exchange"),
        "{e}"
    );
    let mut good = config();
    good.is_alive.links.truncate(1);
    p.command(Command::UpdateConfig(Box::new(good))).unwrap();
    p.advance(secs(31));
    let last: Vec<_> = p
        .actions
        .iter()
        .rev()
        .take(2)
        .map(|a| a.kind.clone())
        .collect();
    assert!(matches!(last[0], ActionKind::CheckAlive { link: 0, .. }));
}

#[test]
fn redirection_validation_follows_the_spec_table() {
    use ScenarioType::*;
    let table = [
        (FileServer, [true, true, true, true, true]),
        (SqlServer, [true, true, true, true, true]),
        (Exchange, [true, false, true, true, true]),
        (Iis, [true, true, true, true, true]),
        (Oracle, [true, false, true, true, true]),
        (VCenter, [true, true, true, true, true]),
        (HyperV, [false, false, true, false, true]),
        (FullSystem, [false, false, true, false, true]),
    ];
    let steps = config().redirection;
    for (t, allowed) in table {
        for (i, m) in Method::ALL.iter().enumerate() {
            assert_eq!(m.allowed_for(t), allowed[i], "{t} {}", m.name());
            let mut c = config();
            c.scenario_type = t;
            c.redirection = vec![steps[i].clone()];
            assert_eq!(c.validate().is_ok(), allowed[i], "{t} {}", m.name());
        }
    }
    // N:1 rules out switching names.
    let mut c = config();
    c.masters_on_replica = 3;
    assert_eq!(
        c.validate().unwrap_err().to_string(),
        "redirection step 1: switch computer name is not usable when 3 masters share one replica (N:1)"
    );
    // Move IP needs one segment.
    let mut c = config();
    c.replica = host("beta", "10.0.1.2");
    assert!(c
        .validate()
        .unwrap_err()
        .to_string()
        .contains("master 10.0.0.1/24 and replica 10.0.1.2/24"));
    let mut c = config();
    c.redirection[0] = RedirectStep::MoveIp {
        address: "192.168.0.9".parse().unwrap(),
        prefix_len: 24,
        master_interface: "eth0".into(),
        replica_interface: "eth0".into(),
    };
    assert!(c
        .validate()
        .unwrap_err()
        .to_string()
        .contains("service address 192.168.0.9"));
    // Parameters.
    let mut c = config();
    if let RedirectStep::DnsRedirect { ttl, .. } = &mut c.redirection[2] {
        *ttl = 0;
    }
    assert_eq!(
        c.validate().unwrap_err().to_string(),
        "redirection step 2 (DNS redirect): ttl 0 is outside 1..=2147483647"
    );
    let mut c = config();
    c.redirection[4] = RedirectStep::Script {
        path: PathBuf::from("rel.sh"),
        args: vec![],
        timeout: secs(1),
    };
    assert!(c
        .validate()
        .unwrap_err()
        .to_string()
        .contains("rel.sh is not absolute"));
    let mut c = config();
    c.redirection.push(c.redirection[0].clone());
    assert_eq!(
        c.validate().unwrap_err().to_string(),
        "redirection step 5 (move IP) repeats step 0"
    );
    let mut c = config();
    c.is_alive.timeout = secs(10);
    assert!(c
        .validate()
        .unwrap_err()
        .to_string()
        .contains("shorter than the heartbeat interval"));
    let mut c = config();
    c.is_alive.links.clear();
    assert!(Scenario::new(c).is_err());
}

#[test]
fn refused_commands_name_state_and_reason() {
    let mut p = Pair::replicating(config());
    let e = p.command(Command::Resume).unwrap_err();
    assert_eq!(e.state(), State::Replicating);
    assert_eq!(
        e.to_string(),
        "resume refused in state replicating: only a paused scenario can be resumed"
    );
}

#[test]
fn save_and_restore_resume_mid_operation() {
    let mut p = Pair::replicating(config());
    p.hold(|k| matches!(k, ActionKind::Redirect { step: 2, .. }));
    p.command(Command::Switchover {
        confirm: CONFIRM_SWITCHOVER.into(),
    })
    .unwrap();
    p.drive();
    assert_eq!(p.state(), State::SwitchingOver);
    let saved = p.scenario.save();
    let restored = Scenario::restore(&saved).unwrap();
    assert_eq!(restored.save(), saved);
    p.scenario = restored;
    p.holds.clear();
    p.release(true);
    assert_eq!(p.state(), State::SwitchedOver);
}

fn data_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data")
        .join(name)
}

/// The state pinned by `tests/data/ha-state-v2.json` (and, as version 1
/// wrote it, by `ha-state-v1.json`): switching over, with an Is Alive
/// history and queued output.
fn golden_scenario() -> Scenario {
    let mut p = Pair::replicating(config());
    p.advance(secs(45));
    p.hold(|k| matches!(k, ActionKind::Redirect { step: 1, .. }));
    p.command(Command::Switchover {
        confirm: CONFIRM_SWITCHOVER.into(),
    })
    .unwrap();
    p.drive();
    p.command(Command::Bookmark { name: "x".into() })
        .unwrap_err();
    p.scenario
}

#[test]
fn version_2_state_is_pinned() {
    let file = data_file("ha-state-v2.json");
    let fresh = golden_scenario();
    if std::env::var_os("RHA_BLESS").is_some() {
        let mut pretty = serde_json::to_vec_pretty(
            &serde_json::from_slice::<serde_json::Value>(&fresh.save()).unwrap(),
        )
        .unwrap();
        pretty.push(b'\n');
        std::fs::write(&file, pretty).unwrap();
    }
    let bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let old = Scenario::restore(&bytes).unwrap();
    assert_eq!(old.save(), fresh.save());
    assert_eq!(old.state(), State::SwitchingOver);
}

#[test]
fn damaged_state_is_refused_with_context() {
    let good = golden_scenario().save();
    let text = String::from_utf8(good.clone()).unwrap();
    let e = Scenario::restore(
        text.replacen("\"version\":2", "\"version\":7", 1)
            .as_bytes(),
    )
    .unwrap_err();
    assert_eq!(
        e,
        RestoreError::UnsupportedVersion {
            found: 7,
            supported: 2
        }
    );
    let e = Scenario::restore(&good[..good.len() / 2]).unwrap_err();
    assert!(matches!(e, RestoreError::Syntax { line: 1, .. }), "{e}");
    let e = Scenario::restore(
        text.replacen("\"applied\":[", "\"applied\":[true,", 1)
            .as_bytes(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("applied-step flags"), "{e}");
    let e = Scenario::restore(
        text.replacen("\"state\":\"switching_over\"", "\"state\":\"stopped\"", 1)
            .as_bytes(),
    );
    assert!(e.is_ok(), "stopped with an operation is odd but harmless");
    let e = Scenario::restore(
        text.replacen("\"state\":\"switching_over\"", "\"state\":\"paused\"", 1)
            .as_bytes(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("Is Alive"), "{e}");
    let big = vec![b' '; MAX_SAVED_STATE + 1];
    assert!(matches!(
        Scenario::restore(&big),
        Err(RestoreError::TooLarge { .. })
    ));
}

#[test]
fn the_documented_diagram_matches_the_table() {
    let doc = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/ha-state-machine.md");
    let text = std::fs::read_to_string(&doc).unwrap_or_else(|e| panic!("{}: {e}", doc.display()));
    let (begin, end) = (
        "<!-- BEGIN GENERATED: cargo test -p rha-core ha (RHA_BLESS=1 rewrites) -->\n```mermaid\n",
        "```\n<!-- END GENERATED -->",
    );
    let start = text.find(begin).expect("begin marker") + begin.len();
    let stop = text.find(end).expect("end marker");
    let fresh = mermaid();
    if text[start..stop] != fresh {
        if std::env::var_os("RHA_BLESS").is_some() {
            std::fs::write(
                &doc,
                format!("{}{}{}", &text[..start], fresh, &text[stop..]),
            )
            .unwrap();
        } else {
            panic!("docs/ha-state-machine.md is out of date; regenerate with RHA_BLESS=1 cargo test -p rha-core ha::tests::the_documented_diagram");
        }
    }
}

#[test]
fn a_failed_undo_is_reported_and_cleanup_retries_it() {
    let mut p = Pair::replicating(config());
    // Step 3 fails, and undoing step 1 fails too: step 1 stays applied.
    p.fail(|k| is_redirect(k, 3, Direction::Do), 1);
    p.fail(|k| is_redirect(k, 1, Direction::Undo), 1);
    p.undo_failed = true; // the hosts keep step 1 applied, as the machine says
    p.command(Command::Switchover {
        confirm: CONFIRM_SWITCHOVER.into(),
    })
    .unwrap();
    p.drive();
    assert_eq!(p.state(), State::Replicating);
    assert!(p.saw(|e| matches!(e, Event::UndoFailed { step, .. } if step.contains("step 1"))));
    assert_eq!(
        p.scenario.applied_steps(),
        &[false, true, false, false, false]
    );
    refused(
        p.command(Command::UpdateConfig(Box::new(config()))),
        "redirection step 1 is still applied",
    );
    p.command(Command::Cleanup {
        confirm: CONFIRM_CLEANUP.into(),
    })
    .unwrap();
    p.drive();
    assert_eq!(p.scenario.applied_steps(), &[false; 5]);
    p.command(Command::UpdateConfig(Box::new(config())))
        .unwrap();
}

#[test]
fn hyper_v_switchover_readdresses_the_vm_before_starting_it() {
    let vm = VmAddress {
        address: "192.168.50.10".parse().unwrap(),
        prefix_len: 24,
        gateway: Some("192.168.50.1".parse().unwrap()),
    };
    let mut c = config();
    c.replica_vm_address = Some(vm.clone());
    let e = Scenario::new(c).unwrap_err();
    assert!(
        e.to_string()
            .contains("applies to Hyper-V and full-system scenarios, not file server"),
        "{e}"
    );

    let mut c = config();
    c.scenario_type = ScenarioType::HyperV;
    c.redirection.retain(|s| {
        Method::DnsRedirect.allowed_for(ScenarioType::HyperV)
            && s.method().allowed_for(ScenarioType::HyperV)
    });
    c.replica_vm_address = Some(vm.clone());
    let mut p = Pair::replicating(c);
    p.command(Command::Switchover {
        confirm: CONFIRM_SWITCHOVER.into(),
    })
    .unwrap();
    p.drive();
    assert_eq!(p.state(), State::SwitchedOver);
    let kinds: Vec<_> = p
        .actions
        .iter()
        .rev()
        .take(2)
        .map(|a| a.kind.clone())
        .collect();
    assert_eq!(kinds[1], ActionKind::ReaddressVm(vm));
    assert!(matches!(
        kinds[0],
        ActionKind::StartServices {
            host: Side::Replica,
            ..
        }
    ));

    let mut c = config();
    c.scenario_type = ScenarioType::FullSystem;
    c.redirection.clear();
    c.replica_vm_address = Some(VmAddress {
        address: "10.1.1.1".parse().unwrap(),
        prefix_len: 0,
        gateway: None,
    });
    assert!(c
        .validate()
        .unwrap_err()
        .to_string()
        .contains("not a usable address"));
}
