//! A deterministic simulation harness in the style of quinn's `Pair`: two
//! simulated hosts, controllable links, a virtual clock, and a
//! [`Scenario`] whose actions the harness executes against the hosts.
//!
//! [`Pair::step`] executes what the scenario asked for and reports back;
//! [`Pair::drive`] steps until nothing moves; [`Pair::advance`] lets virtual
//! time pass, firing every timeout on the way. After every step the
//! harness checks the invariants: never two hosts serving clients, every
//! state change in [`TRANSITIONS`](super::TRANSITIONS), and the hosts'
//! redirection matching what the scenario believes is applied.

#![allow(clippy::unwrap_used)] // test code

use std::collections::{BTreeSet, VecDeque};
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::*;

/// Matches an action.
pub(crate) type Matcher = Box<dyn Fn(&ActionKind) -> bool>;

/// A simulated host.
#[derive(Debug, Clone, Default)]
pub(crate) struct SimHost {
    /// Powered on.
    pub(crate) up: bool,
    /// Application services serving clients.
    pub(crate) serving: bool,
    /// Services started for an integrity test (not for clients).
    pub(crate) testing: bool,
}

/// Two hosts, a scenario, links and a clock.
pub(crate) struct Pair {
    pub(crate) scenario: Scenario,
    pub(crate) now: Instant,
    pub(crate) master: SimHost,
    pub(crate) replica: SimHost,
    /// Is Alive links from the standby to the watched host.
    pub(crate) links_up: Vec<bool>,
    /// Whether the harness's control path reaches the master (a partition
    /// cuts it).
    pub(crate) master_reachable: bool,
    /// Whether power fencing works.
    pub(crate) fencing_works: bool,
    /// Per redirection step: whether the hosts have it applied.
    pub(crate) redirected: Vec<bool>,
    /// Actions to fail (matcher, remaining count).
    pub(crate) failures: Vec<(Matcher, u32)>,
    /// Actions to hold instead of executing.
    pub(crate) holds: Vec<Matcher>,
    /// Held actions, waiting for [`Pair::release`].
    pub(crate) held: VecDeque<Action>,
    /// Every event seen.
    pub(crate) events: Vec<Event>,
    /// Every action seen.
    pub(crate) actions: Vec<Action>,
    /// Every state change seen.
    pub(crate) transitions: BTreeSet<(State, Trigger, State)>,
    /// An undo failed somewhere (the redirection check is then relaxed).
    pub(crate) undo_failed: bool,
}

pub(crate) fn host(name: &str, ip: &str) -> Host {
    Host {
        name: name.into(),
        address: ip.parse().unwrap(),
        prefix_len: 24,
    }
}

/// A file-server scenario with two Is Alive links, automatic switchover and
/// one step of each redirection method.
pub(crate) fn config() -> ScenarioConfig {
    let mut c = ScenarioConfig::new(
        "files",
        ScenarioType::FileServer,
        host("alpha", "10.0.0.1"),
        host("beta", "10.0.0.2"),
    );
    c.is_alive.mode = SwitchoverMode::Automatic;
    c.is_alive.links = vec![
        Link {
            name: "lan".into(),
            method: CheckMethod::ping(),
        },
        Link {
            name: "db".into(),
            method: CheckMethod::DatabaseConnect,
        },
    ];
    let dns: std::net::SocketAddr = "10.0.0.53:53".parse().unwrap();
    c.redirection = vec![
        RedirectStep::MoveIp {
            address: "10.0.0.100".parse().unwrap(),
            prefix_len: 24,
            master_interface: "eth0".into(),
            replica_interface: "eth0".into(),
        },
        RedirectStep::SwitchName {
            master_name: "alpha".into(),
            replica_name: "beta".into(),
            suffix: DEFAULT_NAME_SUFFIX.into(),
        },
        RedirectStep::DnsRedirect {
            server: dns,
            zone: "example.test".into(),
            name: "files".into(),
            ttl: 60,
            master_address: "10.0.0.1".parse::<IpAddr>().unwrap(),
            replica_address: "10.0.0.2".parse::<IpAddr>().unwrap(),
        },
        RedirectStep::AliasSwitch(Alias::Dns {
            server: dns,
            zone: "example.test".into(),
            alias: "share".into(),
            ttl: 60,
            master_target: "alpha.example.test".into(),
            replica_target: "beta.example.test".into(),
        }),
        RedirectStep::Script {
            path: PathBuf::from("/etc/rha/notify.sh"),
            args: vec!["--all".into()],
            timeout: Duration::from_secs(30),
        },
    ];
    c
}

pub(crate) fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

impl Pair {
    pub(crate) fn new(config: ScenarioConfig) -> Self {
        let steps = config.redirection.len();
        let links = config.is_alive.links.len();
        Self {
            scenario: Scenario::new(config).unwrap(),
            now: Instant::from_nanos(1_000_000_000),
            master: SimHost {
                up: true,
                serving: true,
                testing: false,
            },
            replica: SimHost {
                up: true,
                ..SimHost::default()
            },
            links_up: vec![true; links],
            master_reachable: true,
            fencing_works: true,
            redirected: vec![false; steps],
            failures: Vec::new(),
            holds: Vec::new(),
            held: VecDeque::new(),
            events: Vec::new(),
            actions: Vec::new(),
            transitions: BTreeSet::new(),
            undo_failed: false,
        }
    }

    /// A pair already replicating.
    pub(crate) fn replicating(config: ScenarioConfig) -> Self {
        let mut p = Self::new(config);
        p.command(Command::Start).unwrap();
        p.drive();
        assert_eq!(p.state(), State::Replicating);
        p
    }

    pub(crate) fn state(&self) -> State {
        self.scenario.state()
    }

    pub(crate) fn command(&mut self, cmd: Command) -> Result<(), CommandError> {
        let before = self.scenario.save();
        let r = self.scenario.handle_command(cmd, self.now);
        if r.is_err() {
            assert_eq!(
                before,
                self.scenario.save(),
                "a refused command changed the state"
            );
        }
        self.collect();
        r
    }

    /// Feeds an observation, then drives.
    pub(crate) fn observe(&mut self, obs: Observation) {
        self.feed(obs);
        self.drive();
    }

    fn feed(&mut self, obs: Observation) {
        self.scenario.handle_observation(obs, self.now);
        self.collect();
    }

    /// Fail the next `count` actions matching `m`.
    pub(crate) fn fail(&mut self, m: impl Fn(&ActionKind) -> bool + 'static, count: u32) {
        self.failures.push((Box::new(m), count));
    }

    /// Hold actions matching `m` until released.
    pub(crate) fn hold(&mut self, m: impl Fn(&ActionKind) -> bool + 'static) {
        self.holds.push(Box::new(m));
    }

    /// Executes (if `ok`) and reports the oldest held action.
    pub(crate) fn release(&mut self, ok: bool) {
        let a = self.held.pop_front().expect("a held action");
        let result = if ok {
            self.execute(&a.kind)
        } else {
            Err("held action failed".into())
        };
        let obs = match result {
            Ok(()) => Observation::ActionCompleted { id: a.id },
            Err(reason) => Observation::ActionFailed { id: a.id, reason },
        };
        self.observe(obs);
    }

    fn collect(&mut self) {
        while let Some(e) = self.scenario.poll_event() {
            if let Event::StateChanged { from, to, trigger } = &e {
                assert!(
                    is_transition(*from, *trigger, *to),
                    "{from} -{trigger:?}-> {to} is not in the transition table"
                );
                self.transitions.insert((*from, *trigger, *to));
            }
            if matches!(e, Event::UndoFailed { .. }) {
                self.undo_failed = true;
            }
            self.events.push(e);
        }
        self.check();
    }

    /// The invariants, checked after every input.
    pub(crate) fn check(&self) {
        assert!(
            !(self.master.serving && self.replica.serving),
            "two active hosts"
        );
        if !self.undo_failed {
            assert_eq!(
                self.redirected,
                self.scenario.applied_steps(),
                "hosts and scenario disagree on the redirection"
            );
        }
        if self.scenario.state() == State::SwitchedOver {
            // (A redo that failed during a switchback rollback is reported
            // with UndoFailed and leaves its step unapplied.)
            assert!(self.undo_failed || self.scenario.applied_steps().iter().all(|&a| a));
            assert_eq!(self.scenario.active(), Side::Replica);
        }
        if !self.scenario.busy()
            && !self.undo_failed
            && matches!(
                self.scenario.state(),
                State::Stopped | State::Replicating | State::Paused | State::Synchronising
            )
        {
            assert!(
                self.scenario.applied_steps().iter().all(|&a| !a),
                "a redirection step is left applied in {}",
                self.scenario.state()
            );
        }
    }

    fn host_mut(&mut self, side: Side) -> &mut SimHost {
        match side {
            Side::Master => &mut self.master,
            Side::Replica => &mut self.replica,
        }
    }

    fn reachable(&self, side: Side) -> bool {
        match side {
            Side::Master => self.master.up && self.master_reachable,
            Side::Replica => self.replica.up,
        }
    }

    /// Executes one action against the hosts: `Ok` or a failure reason.
    fn execute(&mut self, kind: &ActionKind) -> Result<(), String> {
        if let Some(f) = self.failures.iter_mut().find(|(m, n)| *n > 0 && m(kind)) {
            f.1 -= 1;
            return Err(format!("injected failure of {}", kind.describe()));
        }
        match kind {
            ActionKind::StopServices { host, fence } => {
                if self.reachable(*host) {
                    let h = self.host_mut(*host);
                    h.serving = false;
                    h.testing = false;
                } else if !self.host_mut(*host).up {
                    // Already down.
                } else if *fence && self.fencing_works {
                    let h = self.host_mut(*host);
                    *h = SimHost::default();
                } else {
                    return Err(format!("{host} unreachable"));
                }
            }
            ActionKind::StartServices { host, test } => {
                if !self.reachable(*host) {
                    return Err(format!("{host} unreachable"));
                }
                let h = self.host_mut(*host);
                if *test {
                    h.testing = true;
                } else {
                    h.serving = true;
                }
            }
            ActionKind::Redirect {
                step, direction, ..
            } => {
                let slot = self.redirected.get_mut(*step).ok_or("no such step")?;
                *slot = *direction == Direction::Do;
            }
            _ => {}
        }
        Ok(())
    }

    /// Executes and reports every queued action once; returns whether
    /// anything happened.
    pub(crate) fn step(&mut self) -> bool {
        let mut any = false;
        while let Some(a) = self.scenario.poll_action() {
            any = true;
            self.actions.push(a.clone());
            if let ActionKind::CheckAlive { link, host, .. } = &a.kind {
                let alive = self.links_up.get(*link).copied().unwrap_or(false)
                    && self.reachable(*host)
                    && match host {
                        Side::Master => self.master.up,
                        Side::Replica => self.replica.up,
                    };
                self.feed(Observation::Heartbeat { link: *link, alive });
                continue;
            }
            if self.holds.iter().any(|m| m(&a.kind)) {
                self.held.push_back(a);
                continue;
            }
            let result = self.execute(&a.kind);
            if a.awaits_report {
                let obs = match result {
                    Ok(()) => Observation::ActionCompleted { id: a.id },
                    Err(reason) => Observation::ActionFailed { id: a.id, reason },
                };
                self.feed(obs);
            } else {
                self.check();
            }
        }
        any
    }

    /// Steps until nothing moves.
    pub(crate) fn drive(&mut self) {
        for _ in 0..10_000 {
            if !self.step() {
                return;
            }
        }
        panic!("the simulation does not settle");
    }

    /// Lets `d` of virtual time pass, firing every timeout on the way.
    pub(crate) fn advance(&mut self, d: Duration) {
        let end = self.now.saturating_add(d);
        self.drive();
        while let Some(t) = self.scenario.poll_timeout() {
            if t > end {
                break;
            }
            self.now = self.now.max(t);
            self.scenario.handle_timeout(self.now);
            self.collect();
            self.drive();
        }
        self.now = end;
        self.scenario.handle_timeout(self.now);
        self.collect();
        self.drive();
    }

    /// Crashes the master: powered off, nothing serving.
    pub(crate) fn crash_master(&mut self) {
        self.master = SimHost::default();
    }

    /// Whether an event matching `f` was seen.
    pub(crate) fn saw(&self, f: impl Fn(&Event) -> bool) -> bool {
        self.events.iter().any(f)
    }
}

/// Two mirror-disk nodes and their interconnect.
pub(crate) struct MirrorPair {
    pub(crate) nodes: [MirrorNode; 2],
    pub(crate) up: [bool; 2],
    pub(crate) linked: bool,
}

impl MirrorPair {
    /// A fresh cluster: node 0 holds the original data and is active, the
    /// full build to node 1 completed.
    pub(crate) fn built() -> Self {
        let mut p = Self {
            nodes: [MirrorNode::new("a", 1), MirrorNode::new("b", 2)],
            up: [true, true],
            linked: false,
        };
        p.nodes[0].initialise().unwrap();
        let r = p.connect().unwrap().expect("first build");
        assert_eq!(r.kind, ResyncKind::Full);
        p.resync_done();
        p.nodes[0].promote(false).unwrap();
        p.sync_roles();
        p.check();
        p
    }

    /// Brings the interconnect up; both nodes must decide alike.
    #[allow(clippy::result_large_err)] // test code: both refusals are inspected
    pub(crate) fn connect(&mut self) -> Result<Option<Resync>, (MirrorError, MirrorError)> {
        assert!(self.up[0] && self.up[1]);
        let (h0, h1) = (self.nodes[0].handshake(), self.nodes[1].handshake());
        let r0 = self.nodes[0].handle_connect(h1);
        let r1 = self.nodes[1].handle_connect(h0);
        self.linked = true;
        self.check();
        match (r0, r1) {
            (Ok(a), Ok(b)) => {
                assert_eq!(a, b, "the nodes decided differently");
                Ok(a)
            }
            (Err(a), Err(b)) => Err((a, b)),
            (a, b) => panic!("one side decided, the other refused: {a:?} / {b:?}"),
        }
    }

    pub(crate) fn disconnect(&mut self) {
        self.linked = false;
        for (i, n) in self.nodes.iter_mut().enumerate() {
            if self.up[i] {
                n.handle_disconnect();
            }
        }
        self.check();
    }

    pub(crate) fn resync_done(&mut self) {
        for n in &mut self.nodes {
            n.handle_resync_done().unwrap();
        }
        self.check();
    }

    pub(crate) fn sync_roles(&mut self) {
        if self.linked {
            let (r0, r1) = (self.nodes[0].role(), self.nodes[1].role());
            self.nodes[0].handle_peer_role(r1);
            self.nodes[1].handle_peer_role(r0);
        }
    }

    pub(crate) fn crash(&mut self, i: usize) {
        self.up[i] = false;
        self.linked = false;
        let other = 1 - i;
        if self.up[other] {
            self.nodes[other].handle_disconnect();
        }
        self.check();
    }

    pub(crate) fn boot(&mut self, i: usize) {
        self.up[i] = true;
        self.nodes[i].handle_restart();
        self.check();
    }

    /// Never two actives among the nodes that are up.
    pub(crate) fn check(&self) {
        let active = (0..2)
            .filter(|&i| self.up[i] && self.nodes[i].role() == Role::Primary)
            .count();
        assert!(active <= 1, "two active nodes");
    }
}
