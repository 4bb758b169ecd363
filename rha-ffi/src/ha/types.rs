//! The flat C types a scenario is fed (commands, observations, settings)
//! and its states and sides, with their conversions. What it hands out
//! (actions, events) is in `output.rs`.

use rha_core::ha::{CheckMethod, Command, Observation, ScenarioType, Side, State};

use crate::buffer::rha_bytes;
use crate::error::{rha_error, rha_result};

/// A scenario's lifecycle state. Values never change.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum rha_ha_state {
    /// Not running.
    RHA_HA_STOPPED = 0,
    /// Checked before the run.
    RHA_HA_VERIFYING = 1,
    /// The replica is being made equal to the master.
    RHA_HA_SYNCHRONISING = 2,
    /// Changes flow master to replica; Is Alive watches the master.
    RHA_HA_REPLICATING = 3,
    /// Replication paused; the replica spools.
    RHA_HA_PAUSED = 4,
    /// An integrity test holds application on the replica.
    RHA_HA_INTEGRITY_TESTING = 5,
    /// A test copy is presented to one host; replication goes on.
    RHA_HA_TEST_FAILOVER = 6,
    /// Clients are being redirected to the replica.
    RHA_HA_SWITCHING_OVER = 7,
    /// The replica is active; the configuration is locked.
    RHA_HA_SWITCHED_OVER = 8,
    /// The new active host replicates back to the original.
    RHA_HA_REVERSE_REPLICATING = 9,
    /// The redirection is being undone.
    RHA_HA_SWITCHING_BACK = 10,
    /// Appliance failover: the replica's copy serves.
    RHA_HA_FAILED_OVER = 11,
    /// DR-side changes are being shipped back as an image.
    RHA_HA_SYNCING_BACK = 12,
    /// The original site is being restored and artefacts removed.
    RHA_HA_FAILING_BACK = 13,
}

impl From<State> for rha_ha_state {
    fn from(s: State) -> Self {
        use rha_ha_state::*;
        match s {
            State::Stopped => RHA_HA_STOPPED,
            State::Verifying => RHA_HA_VERIFYING,
            State::Synchronising => RHA_HA_SYNCHRONISING,
            State::Replicating => RHA_HA_REPLICATING,
            State::Paused => RHA_HA_PAUSED,
            State::IntegrityTesting => RHA_HA_INTEGRITY_TESTING,
            State::TestFailover => RHA_HA_TEST_FAILOVER,
            State::SwitchingOver => RHA_HA_SWITCHING_OVER,
            State::SwitchedOver => RHA_HA_SWITCHED_OVER,
            State::ReverseReplicating => RHA_HA_REVERSE_REPLICATING,
            State::SwitchingBack => RHA_HA_SWITCHING_BACK,
            State::FailedOver => RHA_HA_FAILED_OVER,
            State::SyncingBack => RHA_HA_SYNCING_BACK,
            State::FailingBack => RHA_HA_FAILING_BACK,
        }
    }
}

/// The kind of application a scenario protects (`rha_ha_scenario_builder_set_type`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum rha_ha_scenario_type {
    /// A file server.
    RHA_HA_FILE_SERVER = 0,
    /// Microsoft SQL Server.
    RHA_HA_SQL_SERVER = 1,
    /// Microsoft Exchange.
    RHA_HA_EXCHANGE = 2,
    /// Microsoft IIS.
    RHA_HA_IIS = 3,
    /// Oracle Database.
    RHA_HA_ORACLE = 4,
    /// VMware vCenter.
    RHA_HA_VCENTER = 5,
    /// Hyper-V.
    RHA_HA_HYPER_V = 6,
    /// A full system.
    RHA_HA_FULL_SYSTEM = 7,
}

closed_set!(rha_ha_scenario_type {
    RHA_HA_FILE_SERVER,
    RHA_HA_SQL_SERVER,
    RHA_HA_EXCHANGE,
    RHA_HA_IIS,
    RHA_HA_ORACLE,
    RHA_HA_VCENTER,
    RHA_HA_HYPER_V,
    RHA_HA_FULL_SYSTEM,
});

/// The scenario type for `rha_ha_scenario_type` `raw`.
pub(crate) fn scenario_type(raw: u32) -> Result<ScenarioType, rha_error> {
    use rha_ha_scenario_type::*;
    Ok(match rha_ha_scenario_type::from_raw(raw) {
        Some(RHA_HA_FILE_SERVER) => ScenarioType::FileServer,
        Some(RHA_HA_SQL_SERVER) => ScenarioType::SqlServer,
        Some(RHA_HA_EXCHANGE) => ScenarioType::Exchange,
        Some(RHA_HA_IIS) => ScenarioType::Iis,
        Some(RHA_HA_ORACLE) => ScenarioType::Oracle,
        Some(RHA_HA_VCENTER) => ScenarioType::VCenter,
        Some(RHA_HA_HYPER_V) => ScenarioType::HyperV,
        Some(RHA_HA_FULL_SYSTEM) => ScenarioType::FullSystem,
        None => {
            return Err(rha_error::invalid_argument(format!(
                "unknown scenario type {raw}"
            )))
        }
    })
}

/// How an Is Alive link checks the active host (`rha_ha_scenario_builder_add_link`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum rha_ha_check {
    /// A ping with a reply limit.
    RHA_HA_CHECK_PING = 0,
    /// Connect to the database.
    RHA_HA_CHECK_DATABASE = 1,
    /// A user-defined check.
    RHA_HA_CHECK_USER = 2,
}

closed_set!(rha_ha_check {
    RHA_HA_CHECK_PING,
    RHA_HA_CHECK_DATABASE,
    RHA_HA_CHECK_USER,
});

/// A host by its configured role.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum rha_ha_side {
    /// The configured master.
    RHA_HA_MASTER = 0,
    /// The configured replica.
    RHA_HA_REPLICA = 1,
}

closed_set!(rha_ha_side {
    RHA_HA_MASTER,
    RHA_HA_REPLICA,
});

impl From<Side> for rha_ha_side {
    fn from(s: Side) -> Self {
        match s {
            Side::Master => rha_ha_side::RHA_HA_MASTER,
            Side::Replica => rha_ha_side::RHA_HA_REPLICA,
        }
    }
}

/// An operator command (`rha_ha_command.kind`). Values never change.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum rha_ha_command_kind {
    /// Verify, synchronise, replicate.
    RHA_HA_CMD_START = 1,
    /// Stop replication (or reverse replication).
    RHA_HA_CMD_STOP = 2,
    /// Pause replication.
    RHA_HA_CMD_PAUSE = 3,
    /// Resume replication.
    RHA_HA_CMD_RESUME = 4,
    /// Switch over to the replica (`text`: the word `SWITCHOVER`).
    RHA_HA_CMD_SWITCHOVER = 5,
    /// Reverse-replicate, then switch back (`master_restored`).
    RHA_HA_CMD_SWITCHBACK = 6,
    /// Reverse-replicate only (`master_restored`).
    RHA_HA_CMD_START_REVERSE = 7,
    /// Start an integrity test.
    RHA_HA_CMD_START_INTEGRITY_TEST = 8,
    /// End the integrity test.
    RHA_HA_CMD_STOP_INTEGRITY_TEST = 9,
    /// Present a test copy to the host named by `text`.
    RHA_HA_CMD_TEST_FAILOVER = 10,
    /// Remove the test copy.
    RHA_HA_CMD_END_TEST_FAILOVER = 11,
    /// Fail over (`text`: the word `FAILOVER`).
    RHA_HA_CMD_FAILOVER = 12,
    /// Ship DR-side changes back as a new image.
    RHA_HA_CMD_SYNC_BACK = 13,
    /// Fail back from the newest image (`text`: the word `FAILBACK`).
    RHA_HA_CMD_FAILBACK = 14,
    /// Remove leftover failover artefacts and undo redirection steps left
    /// applied (`text`: the word `CLEANUP`).
    RHA_HA_CMD_CLEANUP = 15,
    /// Set the bookmark named by `text`.
    RHA_HA_CMD_BOOKMARK = 16,
    /// Give up the step the operation in progress waits for (after a
    /// restart, or when it cannot complete): it counts as failed and the
    /// operation follows its plan for a failed step.
    RHA_HA_CMD_ABANDON_STEP = 17,
}

closed_set!(rha_ha_command_kind {
    RHA_HA_CMD_START,
    RHA_HA_CMD_STOP,
    RHA_HA_CMD_PAUSE,
    RHA_HA_CMD_RESUME,
    RHA_HA_CMD_SWITCHOVER,
    RHA_HA_CMD_SWITCHBACK,
    RHA_HA_CMD_START_REVERSE,
    RHA_HA_CMD_START_INTEGRITY_TEST,
    RHA_HA_CMD_STOP_INTEGRITY_TEST,
    RHA_HA_CMD_TEST_FAILOVER,
    RHA_HA_CMD_END_TEST_FAILOVER,
    RHA_HA_CMD_FAILOVER,
    RHA_HA_CMD_SYNC_BACK,
    RHA_HA_CMD_FAILBACK,
    RHA_HA_CMD_CLEANUP,
    RHA_HA_CMD_BOOKMARK,
    RHA_HA_CMD_ABANDON_STEP,
});

/// A command for `rha_ha_scenario_command`.
///
/// `text` (UTF-8) is the host of a test failover, the name of a bookmark,
/// or the word typed to confirm a destructive command (`SWITCHOVER`,
/// `FAILOVER`, `FAILBACK`, `CLEANUP`), and is ignored by the other kinds;
/// it is read only during the call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rha_ha_command {
    /// `sizeof` this struct as the caller knows it: set before the call
    /// (see the conventions on structs with a size field).
    pub struct_size: u32,
    /// An `rha_ha_command_kind` value.
    pub kind: u32,
    /// Ignored (kept for the layout): destructive commands take their typed
    /// confirmation word in `text`.
    pub confirm: bool,
    /// For switchback and reverse replication: the original master was
    /// restored from scratch (the first reverse sync is volume-level).
    pub master_restored: bool,
    /// Host or bookmark name.
    pub text: rha_bytes,
}

impl Default for rha_ha_command {
    fn default() -> Self {
        Self {
            struct_size: 0,
            kind: 0,
            confirm: false,
            master_restored: false,
            text: rha_bytes::EMPTY,
        }
    }
}

impl Default for rha_ha_observation {
    fn default() -> Self {
        Self {
            struct_size: 0,
            kind: 0,
            action_id: 0,
            link: 0,
            alive: false,
            text: rha_bytes::EMPTY,
        }
    }
}

sized_struct!(rha_ha_command, rha_ha_observation);

pub(crate) fn utf8_field(bytes: &[u8], field: &str) -> Result<String, rha_error> {
    String::from_utf8(bytes.to_vec())
        .map_err(|e| rha_error::invalid_argument(format!("`{field}` is not UTF-8: {e}")))
}

impl rha_ha_command {
    /// The command it describes.
    ///
    /// # Safety
    ///
    /// `text` is a valid view for the duration of the call.
    pub(crate) unsafe fn command(&self) -> Result<Command, rha_error> {
        let text = || -> Result<String, rha_error> {
            // SAFETY: forwarded from this function's contract.
            utf8_field(unsafe { self.text.as_slice("text")? }, "text")
        };
        use rha_ha_command_kind::*;
        let Some(kind) = rha_ha_command_kind::from_raw(self.kind) else {
            return Err(rha_error::invalid_argument(format!(
                "unknown command kind {}",
                self.kind
            )));
        };
        Ok(match kind {
            RHA_HA_CMD_START => Command::Start,
            RHA_HA_CMD_STOP => Command::Stop,
            RHA_HA_CMD_PAUSE => Command::Pause,
            RHA_HA_CMD_RESUME => Command::Resume,
            RHA_HA_CMD_SWITCHOVER => Command::Switchover { confirm: text()? },
            RHA_HA_CMD_SWITCHBACK => Command::Switchback {
                master_restored: self.master_restored,
            },
            RHA_HA_CMD_START_REVERSE => Command::StartReverseReplication {
                master_restored: self.master_restored,
            },
            RHA_HA_CMD_START_INTEGRITY_TEST => Command::StartIntegrityTest,
            RHA_HA_CMD_STOP_INTEGRITY_TEST => Command::StopIntegrityTest,
            RHA_HA_CMD_TEST_FAILOVER => Command::TestFailover { host: text()? },
            RHA_HA_CMD_END_TEST_FAILOVER => Command::EndTestFailover,
            RHA_HA_CMD_FAILOVER => Command::Failover { confirm: text()? },
            RHA_HA_CMD_SYNC_BACK => Command::SyncBack,
            RHA_HA_CMD_FAILBACK => Command::Failback { confirm: text()? },
            RHA_HA_CMD_CLEANUP => Command::Cleanup { confirm: text()? },
            RHA_HA_CMD_BOOKMARK => Command::Bookmark { name: text()? },
            RHA_HA_CMD_ABANDON_STEP => Command::AbandonStep,
        })
    }
}

/// An observation kind (`rha_ha_observation.kind`). Values never change.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum rha_ha_observation_kind {
    /// The action `action_id` succeeded (for a sync: the sync finished).
    RHA_HA_OBS_ACTION_COMPLETED = 1,
    /// The action `action_id` failed; `text` says why.
    RHA_HA_OBS_ACTION_FAILED = 2,
    /// An Is Alive check on link `link` answered (`alive`) or not.
    RHA_HA_OBS_HEARTBEAT = 3,
    /// The replica's spool or disk is full.
    RHA_HA_OBS_SPOOL_FULL = 4,
    /// The replication link went down.
    RHA_HA_OBS_REPLICA_DISCONNECTED = 5,
    /// The replication link is back.
    RHA_HA_OBS_REPLICA_RECONNECTED = 6,
}

closed_set!(rha_ha_observation_kind {
    RHA_HA_OBS_ACTION_COMPLETED,
    RHA_HA_OBS_ACTION_FAILED,
    RHA_HA_OBS_HEARTBEAT,
    RHA_HA_OBS_SPOOL_FULL,
    RHA_HA_OBS_REPLICA_DISCONNECTED,
    RHA_HA_OBS_REPLICA_RECONNECTED,
});

/// A fact for `rha_ha_scenario_observe`; `text` (UTF-8) is read only during
/// the call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rha_ha_observation {
    /// `sizeof` this struct as the caller knows it: set before the call
    /// (see the conventions on structs with a size field).
    pub struct_size: u32,
    /// An `rha_ha_observation_kind` value.
    pub kind: u32,
    /// The action reported on.
    pub action_id: u64,
    /// The Is Alive link (index in the configuration).
    pub link: u32,
    /// Whether the heartbeat was answered.
    pub alive: bool,
    /// A failure's reason.
    pub text: rha_bytes,
}

impl rha_ha_observation {
    /// The observation it describes.
    ///
    /// # Safety
    ///
    /// `text` is a valid view for the duration of the call.
    pub(crate) unsafe fn observation(&self) -> Result<Observation, rha_error> {
        use rha_ha_observation_kind::*;
        let Some(kind) = rha_ha_observation_kind::from_raw(self.kind) else {
            return Err(rha_error::invalid_argument(format!(
                "unknown observation kind {}",
                self.kind
            )));
        };
        Ok(match kind {
            RHA_HA_OBS_ACTION_COMPLETED => Observation::ActionCompleted { id: self.action_id },
            RHA_HA_OBS_ACTION_FAILED => Observation::ActionFailed {
                id: self.action_id,
                // SAFETY: forwarded from this function's contract.
                reason: String::from_utf8_lossy(unsafe { self.text.as_slice("text")? })
                    .into_owned(),
            },
            RHA_HA_OBS_HEARTBEAT => Observation::Heartbeat {
                link: self.link as usize,
                alive: self.alive,
            },
            RHA_HA_OBS_SPOOL_FULL => Observation::SpoolFull,
            RHA_HA_OBS_REPLICA_DISCONNECTED => Observation::ReplicaDisconnected,
            RHA_HA_OBS_REPLICA_RECONNECTED => Observation::ReplicaReconnected,
        })
    }
}

/// The check method for `rha_ha_check` `raw`.
pub(crate) fn check_method(
    raw: u32,
    reply_limit_ns: u64,
    command: String,
) -> Result<CheckMethod, rha_error> {
    Ok(match rha_ha_check::from_raw(raw) {
        Some(rha_ha_check::RHA_HA_CHECK_PING) => CheckMethod::Ping {
            reply_limit: std::time::Duration::from_nanos(reply_limit_ns),
        },
        Some(rha_ha_check::RHA_HA_CHECK_DATABASE) => CheckMethod::DatabaseConnect,
        Some(rha_ha_check::RHA_HA_CHECK_USER) => CheckMethod::UserDefined { command },
        None => {
            return Err(rha_error::invalid_argument(format!(
                "unknown check method {raw}"
            )))
        }
    })
}

/// Decodes the JSON a caller passed as `json`/`json_len` into `T`, naming
/// `what` in the `RHA_HA_INVALID_CONFIG` error.
///
/// # Safety
///
/// `json` is valid for reading `json_len` bytes (or NULL with 0).
pub(crate) unsafe fn json_arg<T: serde::de::DeserializeOwned>(
    json: *const u8,
    json_len: usize,
    what: &str,
) -> Result<T, rha_error> {
    // SAFETY: valid by this function's contract.
    let bytes = unsafe { crate::buffer::arg_slice(json, json_len, "json")? };
    serde_json::from_slice(bytes)
        .map_err(|e| rha_error::new(rha_result::RHA_HA_INVALID_CONFIG, format!("{what}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_type_values_follow_the_core_order() {
        for (raw, t) in ScenarioType::ALL.iter().enumerate() {
            assert_eq!(scenario_type(raw as u32).ok(), Some(*t));
        }
        let past_the_end = ScenarioType::ALL.len() as u32;
        assert!(scenario_type(past_the_end).is_err());
    }
}
