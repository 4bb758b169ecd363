//! Errors of the HA state machines.

use super::config::ConfigError;
use super::state::State;

/// A command the scenario refused. A refused command changes nothing: the
/// machine's state (as [`Scenario::save`](super::Scenario::save) shows it)
/// is the same before and after.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// The command is not valid in the current state.
    #[error("{command} refused in state {state}: {reason}")]
    Refused {
        /// The command's name.
        command: &'static str,
        /// The state the scenario is in.
        state: State,
        /// Why.
        reason: String,
    },
    /// A destructive command came without its typed confirmation word.
    #[error("{command} refused in state {state}: {what}; type {word} to confirm")]
    ConfirmationRequired {
        /// The command's name.
        command: &'static str,
        /// The state the scenario is in.
        state: State,
        /// What would be destroyed.
        what: &'static str,
        /// The word to type (for example `FAILOVER`).
        word: &'static str,
    },
    /// A new configuration does not validate.
    #[error("update configuration refused in state {state}: {error}")]
    InvalidConfig {
        /// The state the scenario is in.
        state: State,
        /// What is wrong with the configuration.
        error: ConfigError,
    },
}

impl CommandError {
    /// The state the scenario was (and still is) in.
    pub fn state(&self) -> State {
        match self {
            CommandError::Refused { state, .. }
            | CommandError::ConfirmationRequired { state, .. }
            | CommandError::InvalidConfig { state, .. } => *state,
        }
    }
}

/// Saved state that cannot be restored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RestoreError {
    /// The bytes are larger than [`MAX_SAVED_STATE`](super::MAX_SAVED_STATE).
    #[error("saved state is {len} bytes, the limit is {max}")]
    TooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The bytes are not a saved state (bad JSON or missing fields).
    #[error("saved state does not parse at line {line}, column {column}: {message}")]
    Syntax {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the parser said.
        message: String,
    },
    /// The state was saved by a newer version of rha.
    #[error("saved state has version {found}; this library reads versions 1 to {supported}")]
    UnsupportedVersion {
        /// The version in the bytes.
        found: u64,
        /// The newest version this library reads.
        supported: u32,
    },
    /// The state parses but contradicts itself (for example a step index
    /// past the end of the plan, or an invalid configuration).
    #[error("saved state is inconsistent: {0}")]
    Inconsistent(String),
}

impl From<ConfigError> for RestoreError {
    fn from(e: ConfigError) -> Self {
        RestoreError::Inconsistent(e.to_string())
    }
}
