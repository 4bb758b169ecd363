//! The `ha_sequence` and `ha_restore` targets: the HA scenario machine.
//!
//! `ha_sequence` builds a scenario from an `arbitrary` configuration (often
//! invalid: then construction must fail cleanly), then runs a sequence of
//! commands, observations and time steps against two simulated hosts that
//! execute the actions, with injected failures. After every input it checks
//! the machine's invariants against that small world:
//!
//! - a refused command leaves the saved state byte-for-byte unchanged;
//! - every state change is an edge of `TRANSITIONS`;
//! - never two hosts serve clients at once;
//! - the hosts' redirection matches what the machine believes is applied,
//!   and nothing is left applied outside the switched-over states (unless
//!   an undo failed, which the machine reports);
//! - the configuration is locked while switched over;
//! - save then restore gives the same machine.
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
    is_transition, Action, ActionKind, Alias, CheckMethod, Command, Direction, Event, Host,
    Instant, Link, Observation, RedirectStep, Scenario, ScenarioConfig, ScenarioType, Side, State,
    SwitchoverMode,
};

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

fn command(i: u8, flag: bool) -> Command {
    match i % 17 {
        0 => Command::Start,
        1 => Command::Stop,
        2 => Command::Pause,
        3 => Command::Resume,
        4 => Command::Switchover,
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
        11 => Command::Failover { confirm: flag },
        12 => Command::SyncBack,
        13 => Command::Failback { confirm: flag },
        14 => Command::Cleanup,
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

/// Two hosts executing the scenario's actions.
struct World {
    s: Scenario,
    now: Instant,
    master_up: bool,
    master_reachable: bool,
    fencing: bool,
    serving: [bool; 2],
    links_up: Vec<bool>,
    redirected: Vec<bool>,
    fail_next: Option<u8>,
    undo_failed: bool,
}

fn side(s: Side) -> usize {
    match s {
        Side::Master => 0,
        Side::Replica => 1,
    }
}

impl World {
    fn check_events(&mut self) {
        while let Some(e) = self.s.poll_event() {
            match e {
                Event::StateChanged { from, to, trigger } => {
                    assert!(
                        is_transition(from, trigger, to),
                        "{from} -{trigger:?}-> {to}"
                    );
                }
                Event::UndoFailed { .. } => self.undo_failed = true,
                _ => {}
            }
        }
        assert!(!(self.serving[0] && self.serving[1]), "two actives");
        if !self.undo_failed {
            assert_eq!(self.redirected, self.s.applied_steps());
            if !self.s.busy()
                && matches!(
                    self.s.state(),
                    State::Stopped | State::Replicating | State::Paused
                )
            {
                assert!(self.redirected.iter().all(|&r| !r), "left applied");
            }
        }
    }

    fn reachable(&self, s: Side) -> bool {
        s == Side::Replica || self.master_up && self.master_reachable
    }

    fn execute(&mut self, a: &Action) -> Result<(), String> {
        let code = kind_code(&a.kind);
        if self.fail_next == Some(code) {
            self.fail_next = None;
            return Err("injected".into());
        }
        match &a.kind {
            ActionKind::StopServices { host, fence } => {
                if self.reachable(*host) || *host == Side::Master && !self.master_up {
                    self.serving[side(*host)] = false;
                } else if *fence && self.fencing {
                    self.master_up = false;
                    self.serving[side(*host)] = false;
                } else {
                    return Err("unreachable".into());
                }
            }
            ActionKind::StartServices { host, test } => {
                if !self.reachable(*host) {
                    return Err("unreachable".into());
                }
                if !test {
                    self.serving[side(*host)] = true;
                }
            }
            ActionKind::Redirect {
                step, direction, ..
            } => {
                if let Some(r) = self.redirected.get_mut(*step) {
                    *r = *direction == Direction::Do;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn drive(&mut self) {
        for _ in 0..10_000 {
            let Some(a) = self.s.poll_action() else {
                break;
            };
            if let ActionKind::CheckAlive { link, .. } = a.kind {
                let alive = self.links_up.get(link).copied().unwrap_or(false)
                    && self.master_up
                    && self.master_reachable;
                self.s
                    .handle_observation(Observation::Heartbeat { link, alive }, self.now);
            } else if a.awaits_report {
                let obs = match self.execute(&a) {
                    Ok(()) => Observation::ActionCompleted { id: a.id },
                    Err(reason) => Observation::ActionFailed { id: a.id, reason },
                };
                self.s.handle_observation(obs, self.now);
            }
            self.check_events();
        }
        self.check_events();
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
    let s = match Scenario::new(c.clone()) {
        Ok(s) => s,
        Err(e) => {
            assert_eq!(Err(e), valid);
            return;
        }
    };
    let mut w = World {
        s,
        now: Instant::from_nanos(0),
        master_up: true,
        master_reachable: true,
        fencing: true,
        serving: [true, false],
        links_up: vec![true; c.is_alive.links.len()],
        redirected: vec![false; c.redirection.len()],
        fail_next: None,
        undo_failed: false,
    };
    for _ in 0..200 {
        let Ok(input) = Input::arbitrary(&mut u) else {
            break;
        };
        match input {
            Input::Command(i, flag) => {
                let before = w.s.save();
                let locked = w.s.state().config_locked() || w.s.busy();
                let cmd = command(i, flag);
                let is_update = matches!(cmd, Command::UpdateConfig(_));
                match w.s.handle_command(cmd, w.now) {
                    Ok(()) => {
                        assert!(!(is_update && locked), "configuration changed while locked");
                        if is_update {
                            w.redirected = vec![false; w.s.applied_steps().len()];
                            w.links_up = vec![true; w.s.config().is_alive.links.len()];
                        }
                    }
                    Err(e) => {
                        assert_eq!(before, w.s.save(), "refused command changed the state: {e}");
                        assert_eq!(e.state(), w.s.state());
                    }
                }
            }
            Input::Advance(secs) => {
                let end = w.now.saturating_add(Duration::from_secs(u64::from(secs)));
                let mut guard = 0;
                while let Some(t) = w.s.poll_timeout() {
                    guard += 1;
                    if t > end || guard > 10_000 {
                        break;
                    }
                    w.now = w.now.max(t);
                    w.s.handle_timeout(w.now);
                    w.drive();
                }
                w.now = end;
                w.s.handle_timeout(w.now);
            }
            Input::FailNext(k) => w.fail_next = Some(k % 9),
            Input::Link(l, up) => {
                if let Some(x) = w.links_up.get_mut(usize::from(l)) {
                    *x = up;
                }
            }
            Input::CrashMaster => {
                w.master_up = false;
                w.serving[0] = false;
            }
            Input::BootMaster => w.master_up = true,
            Input::Partition(cut) => w.master_reachable = !cut,
            Input::Fencing(works) => w.fencing = works,
            Input::SpoolFull => w.s.handle_observation(Observation::SpoolFull, w.now),
            Input::Disconnect => {
                w.s.handle_observation(Observation::ReplicaDisconnected, w.now)
            }
            Input::Reconnect => {
                w.s.handle_observation(Observation::ReplicaReconnected, w.now)
            }
            Input::LateReport(id) => w.s.handle_observation(
                Observation::ActionFailed {
                    id: u64::from(id),
                    reason: "late".into(),
                },
                w.now,
            ),
            Input::Heartbeat(link, alive) => w.s.handle_observation(
                Observation::Heartbeat {
                    link: usize::from(link),
                    alive,
                },
                w.now,
            ),
            Input::Restart => {
                let saved = w.s.save();
                let restored = Scenario::restore(&saved).expect("a saved state restores");
                assert!(restored == w.s, "restore is not exact");
                w.s = restored;
            }
        }
        w.drive();
    }
}

/// Runs one `ha_restore` input.
pub fn ha_restore(data: &[u8]) {
    if let Ok(s) = Scenario::restore(data) {
        let again = Scenario::restore(&s.save()).expect("a saved state restores");
        assert!(again == s, "save/restore is not exact");
    }
}
