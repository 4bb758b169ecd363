//! High availability: the scenario lifecycle, Is Alive, redirection plans
//! and the mirror-disk (split-brain) rules of SPEC.md §6, as sans-IO state
//! machines.
//!
//! - [`Scenario`]: one protection relationship's lifecycle. Commands,
//!   observations and time go in; [`Action`]s (work for the embedder) and
//!   [`Event`]s (for logs and user interfaces) come out. Its states and
//!   transitions are listed in [`TRANSITIONS`], drawn in
//!   `docs/ha-state-machine.md`.
//! - [`IsAlive`]: heartbeats over redundant links; failure only when every
//!   link has been silent for the timeout.
//! - [`RedirectStep`]: the five redirection methods with the parameters the
//!   executors need, validated against the scenario-type table
//!   ([`Method::allowed_for`]) and the N:1 and network-segment rules.
//! - [`MirrorNode`]: one node of a two-node mirror-disk cluster: data
//!   generations decide which side holds the latest data; the stale side
//!   refuses to become active; a partition ends in an explicit operator
//!   resolution.
//!
//! The whole [`Scenario`] saves to versioned bytes ([`Scenario::save`],
//! [`Scenario::restore`]) so an agent restart resumes where it was.

mod command;
mod config;
mod error;
mod heartbeat;
mod io;
mod mirror;
mod persist;
mod redirect;
mod restart;
mod scenario;
mod sequence;
mod state;
mod time;
mod timeouts;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_confirm;
#[cfg(test)]
mod tests_failback;
#[cfg(test)]
mod tests_halves;
#[cfg(test)]
mod tests_mirror;
#[cfg(test)]
mod tests_random;
#[cfg(test)]
mod tests_restart;
#[cfg(test)]
mod tests_tour;

pub use config::{
    CheckMethod, ConfigError, Host, IsAliveConfig, Link, ScenarioConfig, ScenarioType,
    SwitchoverMode, SyncKind, VmAddress, DEFAULT_HEARTBEAT_INTERVAL, DEFAULT_IS_ALIVE_TIMEOUT,
    DEFAULT_PING_REPLY_LIMIT, MAX_LINKS, MAX_REDIRECT_STEPS,
};
pub use error::{CommandError, RestoreError};
pub use heartbeat::{IsAlive, Liveness};
pub use io::{
    Action, ActionKind, Artefact, Command, Event, Flow, Observation, Side, CONFIRM_CLEANUP,
    CONFIRM_FAILBACK, CONFIRM_FAILOVER, CONFIRM_SWITCHOVER,
};
pub use mirror::{
    DiskState, Generations, Handshake, MirrorError, MirrorNode, Resync, ResyncKind, Role,
    MIRROR_HEARTBEAT_INTERVAL, MIRROR_HEARTBEAT_TIMEOUT,
};
pub use persist::{MAX_SAVED_STATE, STATE_VERSION};
pub use redirect::{script_env, Alias, Direction, Method, RedirectStep, DEFAULT_NAME_SUFFIX};
pub use restart::Intent;
pub use scenario::{Scenario, MAX_BOOKMARK_NAME};
pub use state::{is_transition, mermaid, State, Trigger, TRANSITIONS};
pub use time::Instant;
pub use timeouts::{
    StepTimeouts, DEFAULT_STEP_RETRIES, DEFAULT_STEP_TIMEOUT, DEFAULT_SYNC_TIMEOUT,
    MAX_STEP_RETRIES,
};
