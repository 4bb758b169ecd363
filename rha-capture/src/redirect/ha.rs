//! Carrying out a scenario's redirection actions with the Linux executors.
//!
//! The scenario state machine ([`rha_core::ha::Scenario`]) plans redirection
//! and emits [`ActionKind::Redirect`] actions; it performs nothing itself. A
//! [`Redirector`] turns each such action into the matching executor of
//! [`crate::redirect`], runs its do or undo half, and hands back the
//! [`Observation`] the scenario waits for.
//!
//! One executor is kept per redirection step for the life of the
//! `Redirector`, so an undo finds what the do replaced (for example the DNS
//! record's previous value and TTL) instead of falling back to the
//! configured master value.
//!
//! ```no_run
//! use rha_capture::redirect::ha::Redirector;
//! use rha_core::ha::{Instant, Scenario};
//!
//! /// Hands every pending action to whoever performs it.
//! fn pump(scenario: &mut Scenario, redirector: &mut Redirector, now: Instant) {
//!     while let Some(action) = scenario.poll_action() {
//!         if let Some(observation) = redirector.handle(&action) {
//!             scenario.handle_observation(observation, now);
//!         } else {
//!             // Syncs, services, spooling, ...: the embedder's own work.
//!         }
//!     }
//! }
//! # let _ = pump;
//! ```

use std::collections::BTreeMap;

use rha_core::ha::{Action, ActionKind, Alias, Observation, RedirectStep};

use crate::redirect::{
    AliasSwitch, AliasTarget, Direction, DnsRedirect, Executor, MoveIp, RedirectError, Report,
    Script, ScriptContext, Side, SwitchName,
};

/// Runs the redirection actions of one scenario on one host.
///
/// Move IP and switch name act on one host each: the `Redirector` of the
/// host given as `side` does that host's half. The DNS, alias and script
/// steps act on shared services or locally and are done entirely by
/// whichever host runs them.
pub struct Redirector {
    side: Side,
    executors: BTreeMap<usize, Box<dyn Executor + Send>>,
}

impl std::fmt::Debug for Redirector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redirector")
            .field("side", &self.side)
            .field("steps", &self.executors.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Redirector {
    /// A redirector for the host playing `side` in the scenario.
    pub fn new(side: Side) -> Self {
        Self {
            side,
            executors: BTreeMap::new(),
        }
    }

    /// Runs `action` when it is a redirection action and returns the
    /// observation to feed back with
    /// [`Scenario::handle_observation`](rha_core::ha::Scenario::handle_observation):
    /// [`Observation::ActionCompleted`] on success,
    /// [`Observation::ActionFailed`] naming the step and the cause on
    /// failure. Returns `None` for the other host's half of a two-sided step
    /// (its runner does it) and for every other kind of action, which the
    /// embedder handles itself.
    pub fn handle(&mut self, action: &Action) -> Option<Observation> {
        let ActionKind::Redirect {
            step,
            direction,
            params,
            env,
            half,
        } = &action.kind
        else {
            return None;
        };
        if half.is_some_and(|h| h != self.side) {
            // The other host's half of a two-sided step: its runner does it.
            return None;
        }
        let observation = match self.run(*step, *direction, params, env) {
            Ok(_) => Observation::ActionCompleted { id: action.id },
            Err(e) => Observation::ActionFailed {
                id: action.id,
                reason: format!("redirection step {step}: {e}"),
            },
        };
        Some(observation)
    }

    /// Runs the `direction` half of redirection step `step` with parameters
    /// `params`; `env` is the scenario context for a script step (see
    /// [`rha_core::ha::script_env`]).
    ///
    /// # Errors
    ///
    /// The executor's [`RedirectError`]: invalid parameters (checked when
    /// the step is first seen), or the failure of the operation itself.
    pub fn run(
        &mut self,
        step: usize,
        direction: Direction,
        params: &RedirectStep,
        env: &[(String, String)],
    ) -> Result<Report, RedirectError> {
        let executor = match self.executors.entry(step) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(executor_for(self.side, step, params, env)?)
            }
        };
        executor.run(direction)
    }
}

/// Builds the executor for one planned step.
fn executor_for(
    side: Side,
    step: usize,
    params: &RedirectStep,
    env: &[(String, String)],
) -> Result<Box<dyn Executor + Send>, RedirectError> {
    Ok(match params {
        RedirectStep::MoveIp {
            address,
            prefix_len,
            master_interface,
            replica_interface,
        } => Box::new(MoveIp::new(
            side,
            *address,
            *prefix_len,
            master_interface.clone(),
            replica_interface.clone(),
        )?),
        RedirectStep::SwitchName {
            master_name,
            replica_name,
            suffix,
        } => Box::new(
            SwitchName::new(side, master_name.clone(), replica_name.clone()).suffix(suffix.clone()),
        ),
        RedirectStep::DnsRedirect {
            server,
            zone,
            name,
            ttl,
            master_address,
            replica_address,
        } => Box::new(DnsRedirect::new(
            *server,
            zone,
            name,
            *ttl,
            *master_address,
            *replica_address,
        )?),
        RedirectStep::AliasSwitch(Alias::Dns {
            server,
            zone,
            alias,
            ttl,
            master_target,
            replica_target,
        }) => Box::new(AliasSwitch::new(AliasTarget::Dns {
            server: *server,
            zone: zone.clone(),
            alias: alias.clone(),
            ttl: *ttl,
            master_target: master_target.clone(),
            replica_target: replica_target.clone(),
        })?),
        RedirectStep::AliasSwitch(Alias::NetBios { .. }) => {
            Box::new(AliasSwitch::new(AliasTarget::NetBios)?)
        }
        RedirectStep::Script {
            path,
            args,
            timeout,
        } => {
            let get = |key: &str| {
                env.iter()
                    .find(|(k, _)| k == key)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            // The script sets the step and the direction itself on every
            // run; the rest of the scenario context passes through.
            let extra = env
                .iter()
                .filter(|(k, _)| k != "RHA_STEP" && k != "RHA_DIRECTION")
                .cloned()
                .collect();
            let context = ScriptContext {
                scenario: get("RHA_SCENARIO"),
                step: u32::try_from(step).unwrap_or(u32::MAX),
                master: get("RHA_MASTER"),
                replica: get("RHA_REPLICA"),
                extra,
            };
            Box::new(Script::new(path.clone(), args.clone(), *timeout, context))
        }
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::net::IpAddr;
    use std::path::Path;
    use std::time::Duration;

    use rha_core::ha::{Command, Host, Instant, Scenario, ScenarioConfig, ScenarioType, State};

    use super::*;

    fn host(name: &str, addr: &str) -> Host {
        Host {
            name: name.into(),
            address: addr.parse::<IpAddr>().unwrap(),
            prefix_len: 24,
        }
    }

    /// Feeds every action back: redirection through `redirector`, the
    /// rest reported as completed. Returns the failure reasons seen.
    fn pump(s: &mut Scenario, r: &mut Redirector, now: Instant) -> Vec<String> {
        let mut failures = Vec::new();
        while let Some(action) = s.poll_action() {
            let observation = match r.handle(&action) {
                Some(o) => o,
                None if action.awaits_report => Observation::ActionCompleted { id: action.id },
                None => continue,
            };
            if let Observation::ActionFailed { reason, .. } = &observation {
                failures.push(reason.clone());
            }
            s.handle_observation(observation, now);
        }
        failures
    }

    fn script(dir: &Path, name: &str, body: &str) -> std::path::PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    fn scenario(steps: Vec<RedirectStep>) -> Scenario {
        let mut c = ScenarioConfig::new(
            "files",
            ScenarioType::FileServer,
            host("alpha", "10.0.0.1"),
            host("beta", "10.0.0.2"),
        );
        c.redirection = steps;
        Scenario::new(c).unwrap()
    }

    fn replicating(s: &mut Scenario, r: &mut Redirector) -> Instant {
        let now = Instant::from_nanos(1_000_000_000);
        s.handle_command(Command::Start, now).unwrap();
        assert!(pump(s, r, now).is_empty());
        assert_eq!(s.state(), State::Replicating);
        now
    }

    #[test]
    fn switchover_runs_the_scripts_and_switchback_undoes_them() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let body = format!(
            "echo \"$RHA_SCENARIO $RHA_STEP $RHA_DIRECTION $RHA_MASTER $RHA_REPLICA $1\" >> {}",
            log.display()
        );
        let first = script(dir.path(), "first.sh", &body);
        let second = script(dir.path(), "second.sh", &body);
        let step = |path: &Path, arg: &str| RedirectStep::Script {
            path: path.to_path_buf(),
            args: vec![arg.into()],
            timeout: Duration::from_secs(10),
        };
        let mut s = scenario(vec![step(&first, "a"), step(&second, "b")]);
        let mut r = Redirector::new(Side::Replica);
        let now = replicating(&mut s, &mut r);

        s.handle_command(
            Command::Switchover {
                confirm: rha_core::ha::CONFIRM_SWITCHOVER.into(),
            },
            now,
        )
        .unwrap();
        assert!(pump(&mut s, &mut r, now).is_empty());
        assert_eq!(s.state(), State::SwitchedOver);
        assert_eq!(
            std::fs::read_to_string(&log).unwrap(),
            "files 0 do alpha beta a\nfiles 1 do alpha beta b\n"
        );

        s.handle_command(
            Command::Switchback {
                master_restored: true,
            },
            now,
        )
        .unwrap();
        assert!(pump(&mut s, &mut r, now).is_empty());
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(
            text.ends_with("files 1 undo alpha beta b\nfiles 0 undo alpha beta a\n"),
            "switchback undoes the steps last first: {text}"
        );
    }

    #[test]
    fn a_failing_step_is_reported_and_the_done_steps_are_undone() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let ok = script(
            dir.path(),
            "ok.sh",
            &format!("echo \"$RHA_STEP $RHA_DIRECTION\" >> {}", log.display()),
        );
        let bad = script(dir.path(), "bad.sh", "echo broken >&2; exit 3");
        let step = |path: &Path| RedirectStep::Script {
            path: path.to_path_buf(),
            args: Vec::new(),
            timeout: Duration::from_secs(10),
        };
        let mut s = scenario(vec![step(&ok), step(&bad)]);
        let mut r = Redirector::new(Side::Replica);
        let now = replicating(&mut s, &mut r);

        s.handle_command(
            Command::Switchover {
                confirm: rha_core::ha::CONFIRM_SWITCHOVER.into(),
            },
            now,
        )
        .unwrap();
        let failures = pump(&mut s, &mut r, now);
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert!(
            failures[0].starts_with("redirection step 1:") && failures[0].contains("broken"),
            "{}",
            failures[0]
        );
        assert_ne!(s.state(), State::SwitchedOver);
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "0 do\n0 undo\n");
    }

    #[test]
    fn other_actions_are_left_to_the_embedder() {
        let mut s = scenario(Vec::new());
        let mut r = Redirector::new(Side::Replica);
        s.handle_command(Command::Start, Instant::from_nanos(0))
            .unwrap();
        let action = s.poll_action().unwrap();
        assert!(r.handle(&action).is_none());
    }

    #[test]
    fn the_other_hosts_half_is_left_to_its_runner() {
        let mut r = Redirector::new(Side::Replica);
        let action = Action {
            id: 8,
            kind: ActionKind::Redirect {
                step: 0,
                direction: Direction::Do,
                params: RedirectStep::MoveIp {
                    address: "10.0.0.100".parse().unwrap(),
                    prefix_len: 40,
                    master_interface: "eth0".into(),
                    replica_interface: "eth0".into(),
                },
                env: Vec::new(),
                half: Some(Side::Master),
            },
            awaits_report: true,
        };
        assert!(r.handle(&action).is_none(), "the master's half");
        let mut mine = action.clone();
        if let ActionKind::Redirect { half, .. } = &mut mine.kind {
            *half = Some(Side::Replica);
        }
        assert!(
            matches!(
                r.handle(&mine),
                Some(Observation::ActionFailed { id: 8, .. })
            ),
            "the replica's half is run (and fails on the bad prefix)"
        );
    }

    #[test]
    fn invalid_parameters_fail_the_action_with_the_executors_error() {
        let mut r = Redirector::new(Side::Replica);
        let params = RedirectStep::MoveIp {
            address: "10.0.0.100".parse().unwrap(),
            prefix_len: 40,
            master_interface: "eth0".into(),
            replica_interface: "eth0".into(),
        };
        let action = Action {
            id: 7,
            kind: ActionKind::Redirect {
                step: 0,
                direction: Direction::Do,
                params,
                env: Vec::new(),
                half: None,
            },
            awaits_report: true,
        };
        match r.handle(&action) {
            Some(Observation::ActionFailed { id: 7, reason }) => {
                assert!(reason.contains("10.0.0.100"), "{reason}");
            }
            other => panic!("expected a failure, got {other:?}"),
        }
    }
}
