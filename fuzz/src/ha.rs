//! The `ha_sequence` and `ha_restore` targets: the HA scenario machine.
//!
//! `ha_sequence` builds a scenario from an `arbitrary` configuration (often
//! invalid: then construction must fail cleanly with the validation error),
//! then runs a sequence of commands, observations, time steps, injected
//! failures, crashes, partitions, link and fencing changes and restarts
//! against the two simulated hosts of [`rha_core::testing::ha::Pair`], the
//! harness the unit and property tests use. The harness checks the
//! machine's invariants after every input:
//!
//! - a refused command leaves the machine (so its saved state) unchanged;
//! - every state change is an edge of `TRANSITIONS`;
//! - never two hosts serve clients at once;
//! - the hosts' redirection matches what the machine believes is applied,
//!   and nothing is left applied outside the switched-over states (unless
//!   an undo failed, which the machine reports);
//! - the configuration is locked while switched over;
//! - save then restore gives the same machine.
//!
//! Only the decoding of the input lives here.
//!
//! `ha_restore` feeds arbitrary bytes to `Scenario::restore`: no panic, and
//! whatever restores saves and restores to itself.
//!
//! Corpus: the `seed-*` files are random bytes (`ha_sequence`) and the
//! golden saved state pretty-printed, compact and relabelled version 2
//! (`ha_restore`); the files named by their SHA-1 were found by the fuzzer
//! and kept by a `-merge=1` pass.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use arbitrary::{Arbitrary, Unstructured};
use rha_core::ha::{
    ActionKind, Alias, CheckMethod, Command, Direction, Host, Link, Observation, RedirectStep,
    Scenario, ScenarioConfig, ScenarioType, SwitchoverMode,
};
use rha_core::testing::ha::Pair;

/// The longest single time step, in seconds. The machine's only timer is
/// Is Alive (interval below 64 s, timeout below 1024 s here): one step can
/// still outlast any timeout, a longer wait is consecutive shorter ones,
/// and every second costs heartbeat rounds.
const MAX_ADVANCE_S: u16 = 1024;

/// The configuration knobs the target varies.
#[derive(Debug, Arbitrary)]
struct Setup {
    scenario_type: u8,
    replica_octet: u8,
    replica_prefix: u8,
    masters_on_replica: u8,
    automatic: bool,
    links: u8,
    interval_s: u8,
    timeout_s: u16,
    steps: Vec<u8>,
    stop_on_spool_full: bool,
}

#[derive(Debug, Arbitrary)]
enum Input {
    Command(u8, bool),
    Advance(u16),
    FailNext(u8),
    Link(u8, bool),
    CrashMaster,
    BootMaster,
    Partition(bool),
    Fencing(bool),
    SpoolFull,
    Disconnect,
    Reconnect,
    LateReport(u16),
    Heartbeat(u8, bool),
    Restart,
}

fn config(s: &Setup) -> ScenarioConfig {
    let host = |name: &str, last: u8, prefix: u8| Host {
        name: name.into(),
        address: IpAddr::V4(Ipv4Addr::new(10, 0, 0, last)),
        prefix_len: prefix,
    };
    let t = ScenarioType::ALL[usize::from(s.scenario_type) % ScenarioType::ALL.len()];
    let mut c = ScenarioConfig::new(
        "fuzz",
        t,
        host("alpha", 1, 24),
        host("beta", s.replica_octet, s.replica_prefix % 40),
    );
    c.masters_on_replica = u32::from(s.masters_on_replica % 4);
    c.stop_on_spool_full = s.stop_on_spool_full;
    c.is_alive.mode = if s.automatic {
        SwitchoverMode::Automatic
    } else {
        SwitchoverMode::Manual
    };
    c.is_alive.heartbeat_interval = Duration::from_secs(u64::from(s.interval_s % 64));
    c.is_alive.timeout = Duration::from_secs(u64::from(s.timeout_s % 1024));
    c.is_alive.links = (0..s.links % 4)
        .map(|i| Link {
            name: format!("link{i}"),
            method: if i % 2 == 0 {
                CheckMethod::ping()
            } else {
                CheckMethod::DatabaseConnect
            },
        })
        .collect();
    let dns = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 53)), 53);
    c.redirection = s
        .steps
        .iter()
        .take(8)
        .map(|&b| match b % 6 {
            0 => RedirectStep::MoveIp {
                address: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 100 + b / 6 % 4)),
                prefix_len: 24,
                master_interface: "eth0".into(),
                replica_interface: "eth0".into(),
            },
            1 => RedirectStep::SwitchName {
                master_name: "alpha".into(),
                replica_name: "beta".into(),
                suffix: "-RHA".into(),
            },
            2 => RedirectStep::DnsRedirect {
                server: dns,
                zone: "example.test".into(),
                name: format!("n{}", b / 6 % 4),
                ttl: u32::from(b / 6 % 3) * 60,
                master_address: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
                replica_address: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
            },
            3 => RedirectStep::AliasSwitch(Alias::Dns {
                server: dns,
                zone: "example.test".into(),
                alias: format!("a{}", b / 6 % 4),
                ttl: 60,
                master_target: "alpha.example.test".into(),
                replica_target: "beta.example.test".into(),
            }),
            4 => RedirectStep::AliasSwitch(Alias::NetBios {
                alias: format!("NB{}", b / 6 % 4),
                master_name: "alpha".into(),
                replica_name: "beta".into(),
            }),
            _ => RedirectStep::Script {
                path: PathBuf::from(if b & 0x80 != 0 { "/x.sh" } else { "x.sh" }),
                args: vec![],
                timeout: Duration::from_secs(u64::from(b / 6 % 3)),
            },
        })
        .collect();
    c
}

/// The confirmation word with `flag`, a wrong one without.
fn word(flag: bool, word: &str) -> String {
    if flag {
        word.into()
    } else {
        word.to_ascii_lowercase()
    }
}

fn command(i: u8, flag: bool) -> Command {
    match i % 17 {
        0 => Command::Start,
        1 => Command::Stop,
        2 => Command::Pause,
        3 => Command::Resume,
        4 => Command::Switchover {
            confirm: word(flag, rha_core::ha::CONFIRM_SWITCHOVER),
        },
        5 => Command::Switchback {
            master_restored: flag,
        },
        6 => Command::StartReverseReplication {
            master_restored: flag,
        },
        7 => Command::StartIntegrityTest,
        8 => Command::StopIntegrityTest,
        9 => Command::TestFailover {
            host: if flag { "qa".into() } else { String::new() },
        },
        10 => Command::EndTestFailover,
        11 => Command::Failover {
            confirm: word(flag, rha_core::ha::CONFIRM_FAILOVER),
        },
        12 => Command::SyncBack,
        13 => Command::Failback {
            confirm: word(flag, rha_core::ha::CONFIRM_FAILBACK),
        },
        14 => Command::Cleanup {
            confirm: word(flag, rha_core::ha::CONFIRM_CLEANUP),
        },
        15 => Command::Bookmark {
            name: if flag { "b".into() } else { String::new() },
        },
        _ => Command::UpdateConfig(Box::new(ScenarioConfig::new(
            "other",
            ScenarioType::FileServer,
            Host {
                name: "alpha".into(),
                address: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
                prefix_len: 24,
            },
            Host {
                name: "beta".into(),
                address: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
                prefix_len: 24,
            },
        ))),
    }
}

fn kind_code(k: &ActionKind) -> u8 {
    match k {
        ActionKind::Verify => 0,
        ActionKind::BeginSync { .. } => 1,
        ActionKind::StopServices { .. } => 2,
        ActionKind::StartServices { .. } => 3,
        ActionKind::Redirect {
            direction: Direction::Do,
            ..
        } => 4,
        ActionKind::Redirect { .. } => 5,
        ActionKind::RemoveArtefact(_) => 6,
        ActionKind::RestoreFromImage { .. } | ActionKind::BeginSyncBack { .. } => 7,
        _ => 8,
    }
}

/// Runs one `ha_sequence` input.
pub fn ha_sequence(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(setup) = Setup::arbitrary(&mut u) else {
        return;
    };
    let c = config(&setup);
    let valid = c.validate();
    let mut p = match Pair::try_new(c) {
        Ok(p) => p,
        Err(e) => {
            assert_eq!(Err(e), valid);
            return;
        }
    };
    // Nothing reads the history; heartbeats would fill it.
    p.history = false;
    // The machine as last restarted: saving and restoring are deterministic
    // and equal machines save to the same bytes (every part derives both
    // PartialEq and Serialize), so restarting an equal machine again checks
    // nothing new.
    let mut restarted: Option<Scenario> = None;
    for _ in 0..200 {
        // Past the end of the data `arbitrary` would decode zeros: 200
        // copies of the first command, which the fuzzer can ask for itself.
        if u.is_empty() {
            break;
        }
        let Ok(input) = Input::arbitrary(&mut u) else {
            break;
        };
        match input {
            // The harness checks what a refusal may and may not change.
            Input::Command(i, flag) => drop(p.command(command(i, flag))),
            Input::Advance(secs) => {
                p.advance(Duration::from_secs(u64::from(secs % MAX_ADVANCE_S)));
            }
            Input::FailNext(k) => {
                let code = k % 9;
                p.failures.clear();
                p.fail(move |kind| kind_code(kind) == code, 1);
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
            Input::SpoolFull => p.observe(Observation::SpoolFull),
            Input::Disconnect => p.observe(Observation::ReplicaDisconnected),
            Input::Reconnect => p.observe(Observation::ReplicaReconnected),
            Input::LateReport(id) => p.observe(Observation::ActionFailed {
                id: u64::from(id),
                reason: "late".into(),
            }),
            Input::Heartbeat(link, alive) => p.observe(Observation::Heartbeat {
                link: usize::from(link),
                alive,
            }),
            Input::Restart => {
                if restarted.as_ref() != Some(&p.scenario) {
                    p.restart();
                    restarted = Some(p.scenario.clone());
                }
            }
        }
        p.drive();
    }
}

/// Runs one `ha_restore` input.
pub fn ha_restore(data: &[u8]) {
    if let Ok(s) = Scenario::restore(data) {
        let again = Scenario::restore(&s.save()).expect("a saved state restores");
        assert!(again == s, "save/restore is not exact");
    }
}
