//! Two simulated hosts running a [`Scenario`], in the style of quinn-proto's
//! `Pair`: controllable links, a virtual clock, and a harness that executes
//! the scenario's actions against the hosts and reports back.
//!
//! [`Pair::step`] executes what the scenario asked for and reports back;
//! [`Pair::drive`] steps until nothing moves; [`Pair::advance`] lets virtual
//! time pass, firing every timeout on the way. The world can be disturbed
//! between steps: failed or held actions ([`Pair::fail`], [`Pair::hold`]),
//! a crashed or rebooted master ([`Pair::crash_master`],
//! [`Pair::boot_master`]), a partition ([`Pair::master_reachable`]), dead
//! links ([`Pair::links_up`]), broken fencing ([`Pair::fencing_works`]) and
//! an agent restart ([`Pair::restart`]).
//!
//! After every input the harness checks the invariants, panicking with a
//! message when one breaks:
//!
//! - never two hosts serving clients;
//! - every state change is an edge of [`TRANSITIONS`](crate::ha::TRANSITIONS);
//! - the hosts' redirection matches what the scenario believes is applied,
//!   everything is applied while switched over (to the replica), and
//!   nothing is left applied once the scenario is idle outside the
//!   switched-over states (unless an undo failed, which the scenario
//!   reports);
//! - a refused command leaves the machine unchanged (equal, so its saved
//!   state is byte-for-byte the same) and names the current state;
//! - the configuration cannot change while locked or busy;
//! - save then restore gives the same machine.

#![allow(clippy::unwrap_used)] // harness code: a panic is the failure report

use std::collections::{BTreeSet, VecDeque};
use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::ha::{
    is_transition, Action, ActionKind, Alias, CheckMethod, Command, CommandError, ConfigError,
    Direction, Event, Host, Instant, Link, Observation, RedirectStep, Scenario, ScenarioConfig,
    ScenarioType, Side, State, SwitchoverMode, Trigger, DEFAULT_NAME_SUFFIX,
};

/// Matches an action (for [`Pair::fail`] and [`Pair::hold`]).
pub type Matcher = Box<dyn Fn(&ActionKind) -> bool>;

/// How many timeouts may fire at one instant before [`Pair::advance`]
/// declares the timers stuck.
const MAX_TIMEOUTS_AT_ONE_INSTANT: usize = 10_000;

/// A simulated host.
#[derive(Debug, Clone, Default)]
pub struct SimHost {
    /// Powered on.
    pub up: bool,
    /// Application services serving clients.
    pub serving: bool,
    /// Services started for an integrity test (not for clients).
    pub testing: bool,
}

/// Two hosts, a scenario, links and a clock.
pub struct Pair {
    /// The machine under test.
    pub scenario: Scenario,
    /// The virtual clock.
    pub now: Instant,
    /// The master host.
    pub master: SimHost,
    /// The replica host.
    pub replica: SimHost,
    /// Is Alive links from the standby to the watched host.
    pub links_up: Vec<bool>,
    /// Whether the harness's control path reaches the master (a partition
    /// cuts it).
    pub master_reachable: bool,
    /// Whether power fencing works.
    pub fencing_works: bool,
    /// Per redirection step: whether the hosts have it applied (wholly or
    /// in part).
    pub redirected: Vec<bool>,
    /// Per redirection step: which halves the hosts have applied, [the
    /// master's, the replica's] (a one-sided step has both or neither).
    pub redirected_halves: Vec<[bool; 2]>,
    /// Actions to fail (matcher, remaining count).
    pub failures: Vec<(Matcher, u32)>,
    /// Actions to hold instead of executing.
    pub holds: Vec<Matcher>,
    /// Held actions, waiting for [`Pair::release`].
    pub held: VecDeque<Action>,
    /// Whether to keep every event and action in [`events`](Self::events)
    /// and [`actions`](Self::actions) (on by default). A fuzzer turns it
    /// off: a long run would hold every heartbeat check.
    pub history: bool,
    /// Every event seen (while [`history`](Self::history) is on).
    pub events: Vec<Event>,
    /// Every action seen (while [`history`](Self::history) is on).
    pub actions: Vec<Action>,
    /// Every state change seen.
    pub transitions: BTreeSet<(State, Trigger, State)>,
    /// An undo failed somewhere (the redirection check is then relaxed).
    pub undo_failed: bool,
}

impl fmt::Debug for Pair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pair")
            .field("scenario", &self.scenario)
            .field("now", &self.now)
            .field("master", &self.master)
            .field("replica", &self.replica)
            .field("links_up", &self.links_up)
            .field("master_reachable", &self.master_reachable)
            .field("fencing_works", &self.fencing_works)
            .field("redirected", &self.redirected)
            .field("failures", &self.failures.len())
            .field("holds", &self.holds.len())
            .field("held", &self.held)
            .field("history", &self.history)
            .field("undo_failed", &self.undo_failed)
            .finish_non_exhaustive()
    }
}

/// A host named `name` at `ip` (a /24).
pub fn host(name: &str, ip: &str) -> Host {
    Host {
        name: name.into(),
        address: ip.parse().unwrap(),
        prefix_len: 24,
    }
}

/// A file-server scenario with two Is Alive links, automatic switchover and
/// one step of each redirection method.
pub fn config() -> ScenarioConfig {
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

/// `s` seconds.
pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

impl Pair {
    /// A stopped scenario with `config`; the master up and serving, the
    /// replica up and idle, every link up. Panics if `config` is invalid.
    pub fn new(config: ScenarioConfig) -> Self {
        Self::try_new(config).expect("a valid configuration")
    }

    /// Like [`new`](Self::new), but an invalid `config` is the scenario's
    /// error.
    pub fn try_new(config: ScenarioConfig) -> Result<Self, ConfigError> {
        let steps = config.redirection.len();
        let links = config.is_alive.links.len();
        Ok(Self {
            scenario: Scenario::new(config)?,
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
            redirected_halves: vec![[false; 2]; steps],
            failures: Vec::new(),
            holds: Vec::new(),
            held: VecDeque::new(),
            history: true,
            events: Vec::new(),
            actions: Vec::new(),
            transitions: BTreeSet::new(),
            undo_failed: false,
        })
    }

    /// A pair already replicating.
    pub fn replicating(config: ScenarioConfig) -> Self {
        let mut p = Self::new(config);
        p.command(Command::Start).unwrap();
        p.drive();
        assert_eq!(p.state(), State::Replicating);
        p
    }

    /// The scenario's state.
    pub fn state(&self) -> State {
        self.scenario.state()
    }

    /// Hands `cmd` to the scenario (without driving). A refused command
    /// must leave the machine unchanged and name the current state; a
    /// configuration update must be refused while the configuration is
    /// locked or an operation runs. An accepted update resizes the hosts'
    /// redirection (nothing applied) and links (new ones up) to the new
    /// plan.
    pub fn command(&mut self, cmd: Command) -> Result<(), CommandError> {
        let before = self.scenario.clone();
        let locked = self.state().config_locked() || self.scenario.busy();
        let is_update = matches!(cmd, Command::UpdateConfig(_));
        let r = self.scenario.handle_command(cmd, self.now);
        match &r {
            Ok(()) if is_update => {
                assert!(!locked, "the configuration changed while locked");
                self.redirected = vec![false; self.scenario.applied_steps().len()];
                self.redirected_halves = vec![[false; 2]; self.redirected.len()];
                let links = self.scenario.config().is_alive.links.len();
                self.links_up.resize(links, true);
            }
            Ok(()) => {}
            Err(e) => {
                // Every part of a scenario derives both PartialEq and
                // Serialize (no maps, no floats): equal machines save to the
                // same bytes, and a change the saved state would not show
                // is caught too. Far cheaper than serialising both.
                assert!(
                    before == self.scenario,
                    "a refused command changed the state: {e}"
                );
                assert_eq!(e.state(), self.state(), "a refusal names another state");
            }
        }
        self.collect();
        r
    }

    /// Feeds an observation, then drives.
    pub fn observe(&mut self, obs: Observation) {
        self.feed(obs);
        self.drive();
    }

    fn feed(&mut self, obs: Observation) {
        self.scenario.handle_observation(obs, self.now);
        self.collect();
    }

    /// Fail the next `count` actions matching `m`.
    pub fn fail(&mut self, m: impl Fn(&ActionKind) -> bool + 'static, count: u32) {
        self.failures.push((Box::new(m), count));
    }

    /// Hold actions matching `m` until released.
    pub fn hold(&mut self, m: impl Fn(&ActionKind) -> bool + 'static) {
        self.holds.push(Box::new(m));
    }

    /// Executes (if `ok`) and reports the oldest held action, then drives.
    /// Panics if nothing is held.
    pub fn release(&mut self, ok: bool) {
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

    /// Restarts the agent: saves the scenario, restores it from the bytes
    /// (which must save to the same bytes), loses the actions in flight
    /// (the held ones), gives the copy the time (which restarts its timers
    /// and re-issues the awaited action) and carries on with it.
    pub fn restart(&mut self) {
        let saved = self.scenario.save();
        let restored = Scenario::restore(&saved).expect("a saved state restores");
        assert!(restored.save() == saved, "restore is not exact");
        assert_eq!(restored.poll_timeout(), Some(Instant::from_nanos(0)));
        self.scenario = restored;
        self.held.clear();
        self.scenario.handle_timeout(self.now);
        assert!(!self.scenario.awaiting_restart());
        // No timer of the restored machine waits longer than configured,
        // whatever the clock did across the restart.
        let c = self.scenario.config();
        let limit = self.scenario.intent().map_or(c.is_alive.timeout, |i| {
            c.is_alive.timeout.max(c.timeouts.for_action(&i.action))
        });
        if let Some(t) = self.scenario.poll_timeout() {
            assert!(
                t <= self.now.saturating_add(limit),
                "a timer after a restart is {t}, later than {} + {limit:?}",
                self.now
            );
        }
        self.collect();
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
            if self.history {
                self.events.push(e);
            }
        }
        self.check();
    }

    /// The invariants, checked after every input; panics when one breaks.
    pub fn check(&self) {
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
            assert_eq!(
                self.redirected_halves,
                self.scenario.applied_halves(),
                "hosts and scenario disagree on which halves are applied"
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
                step,
                direction,
                half,
                ..
            } => {
                let on = *direction == Direction::Do;
                let h = self
                    .redirected_halves
                    .get_mut(*step)
                    .ok_or("no such step")?;
                match half {
                    None => *h = [on, on],
                    Some(Side::Master) => h[0] = on,
                    Some(Side::Replica) => h[1] = on,
                }
                let any = h[0] || h[1];
                let slot = self.redirected.get_mut(*step).ok_or("no such step")?;
                *slot = any;
            }
            _ => {}
        }
        Ok(())
    }

    /// Executes and reports every queued action once (answering heartbeat
    /// checks from the links and hosts, holding what [`hold`](Self::hold)
    /// matches); returns whether anything happened.
    pub fn step(&mut self) -> bool {
        let mut any = false;
        while let Some(a) = self.scenario.poll_action() {
            any = true;
            if self.history {
                self.actions.push(a.clone());
            }
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

    /// Steps until nothing moves; panics if that takes more than 10,000
    /// steps.
    pub fn drive(&mut self) {
        for _ in 0..10_000 {
            if !self.step() {
                return;
            }
        }
        panic!("the simulation does not settle");
    }

    /// Lets `d` of virtual time pass, firing every timeout on the way and
    /// driving after each; panics if the timers fire without end at one
    /// instant.
    pub fn advance(&mut self, d: Duration) {
        let end = self.now.saturating_add(d);
        self.drive();
        let mut at_this_instant = 0;
        while let Some(t) = self.scenario.poll_timeout() {
            if t > end {
                break;
            }
            if t > self.now {
                self.now = t;
                at_this_instant = 0;
            }
            at_this_instant += 1;
            assert!(
                at_this_instant <= MAX_TIMEOUTS_AT_ONE_INSTANT,
                "the timers do not advance past {:?}",
                self.now
            );
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
    pub fn crash_master(&mut self) {
        self.master = SimHost::default();
    }

    /// Powers the master on again (its services stay stopped).
    pub fn boot_master(&mut self) {
        self.master.up = true;
    }

    /// Whether an event matching `f` was seen (and kept, see
    /// [`history`](Self::history)).
    pub fn saw(&self, f: impl Fn(&Event) -> bool) -> bool {
        self.events.iter().any(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invalid_configuration_is_an_error_not_a_pair() {
        let mut c = config();
        c.is_alive.timeout = secs(1);
        let e = Pair::try_new(c.clone()).unwrap_err();
        assert_eq!(Err(e), c.validate());
    }

    #[test]
    fn without_history_the_checks_still_run_and_transitions_are_kept() {
        let mut p = Pair::new(config());
        p.history = false;
        p.command(Command::Start).unwrap();
        p.drive();
        p.advance(secs(600));
        assert_eq!(p.state(), State::Replicating);
        assert!(p.events.is_empty() && p.actions.is_empty());
        assert!(p
            .transitions
            .contains(&(State::Stopped, Trigger::Start, State::Verifying)));
    }

    #[test]
    fn a_restarted_agent_carries_on() {
        let mut p = Pair::replicating(config());
        p.restart();
        p.crash_master();
        p.advance(secs(600));
        assert_eq!(p.state(), State::SwitchedOver);
        p.boot_master();
        assert!(p.master.up && !p.master.serving);
    }
}
