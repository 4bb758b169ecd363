//! Why an agent could not start or had to stop.

use std::io;
use std::path::PathBuf;

use crate::apply::ApplyError;

/// Why an agent could not start or had to stop. (A session that ends is
/// not an error: the agent reconnects, and its status says why.)
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AgentError {
    /// A file or directory could not be used.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The system's error.
        #[source]
        source: io::Error,
    },
    /// The agent's state file is damaged or of another version.
    #[error("{}: {why}", path.display())]
    State {
        /// The state file.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
    },
    /// The agent's state belongs to another scenario.
    #[error("{} serves scenario {found}, not {wanted}", path.display())]
    OtherScenario {
        /// The state directory.
        path: PathBuf,
        /// The scenario its state names.
        found: String,
        /// The scenario asked for.
        wanted: String,
    },
    /// The spool could not be opened.
    #[error("spool {}: {source}", path.display())]
    Spool {
        /// The spool directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: rha_core::spool::OpenError,
    },
    /// The spool failed while the agent ran (a write or sync error).
    #[error("spool: {0}")]
    SpoolFailed(String),
    /// Applying to the replica failed; the replica stops applying (it
    /// keeps what it applied, durably) until the cause is fixed.
    #[error("applying to the replica: {0}")]
    Apply(#[from] ApplyError),
    /// A thread of the agent panicked.
    #[error("the agent's {0} thread panicked")]
    Panicked(&'static str),
}
