//! The agents that replicate between two hosts (`docs/agents.md`).
//!
//! A [`MasterAgent`] sends the durable records of its spool to a replica
//! over a [`Link`], within the replica's window, and reclaims them as the
//! replica acknowledges them stored; it reconnects with backoff when the
//! link fails, and resumes where the replica's stored point says. A
//! [`ReplicaAgent`] stores what arrives in its own spool durably,
//! acknowledges it, and applies it in order through the replica's apply
//! engine ([`crate::apply::ReplicaDir`], with rewind when asked). Both run
//! the sans-IO [`rha_core::session::Session`] over the link.
//!
//! ```no_run
//! use std::net::{TcpListener, TcpStream};
//! use rha_capture::agent::{MasterAgent, MasterConfig, ReplicaAgent, ReplicaConfig};
//!
//! let scenario = [7; 16];
//! let replica = ReplicaAgent::open(ReplicaConfig::new(scenario, [2; 16], "/srv/replica"))?;
//! let listener = TcpListener::bind("127.0.0.1:7400")?;
//! std::thread::spawn(move || {
//!     let master = MasterConfig::new(scenario, [1; 16], "/var/lib/rha/master");
//!     let agent = MasterAgent::start(master, || TcpStream::connect("127.0.0.1:7400"));
//!     // ... append to agent.spool() ...
//! });
//! let (link, _) = listener.accept()?;
//! let end = replica.serve(link)?;
//! println!("session over: {end}");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod config;
mod conn;
mod error;
mod inbox;
mod link;
mod master;
mod replica;
mod state;
mod status;
mod store;
mod sync;
mod tls;
mod wake;

pub use config::{
    CompressionName, ConfigError, MasterSide, OverflowName, ReplicaSide, ScenarioFile,
    SpoolLimitsSection,
};
pub use conn::SessionEnd;
pub use error::AgentError;
pub use inbox::{take_inbox, InboxError, INBOX_SUFFIX};
pub use link::Link;
pub use master::{Connector, MasterAgent, MasterConfig, StatusProbe, MASTER_SPOOL_DIR};
pub use replica::{
    ReplicaAgent, ReplicaConfig, StopHandle, REPLICA_AGENT_DIR, REPLICA_INCOMING_DIR,
};
pub use state::{scenario_hex, AgentState, RESYNC_REGIONS_FILE, STATE_FILE};
pub use status::{AgentStatus, LinkState, STATUS_FILE};
pub use sync::{SyncSettings, SyncStatus};
pub use tls::{node_id, scenario_id, tls_connector, ReplicaServer};

#[cfg(test)]
mod resync_tests;
#[cfg(test)]
mod sync_tests;
#[cfg(test)]
mod tests;
