//! What an agent reports about itself: link, lag, spool, progress.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use rha_core::spool::{SpoolMode, SpoolUsage};
use serde::{Deserialize, Serialize};

use super::error::AgentError;

/// The file an agent rewrites with its [`AgentStatus`] while it runs (in
/// its state directory), for `rha status`.
pub const STATUS_FILE: &str = "status.json";

/// The state of an agent's link to its peer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkState {
    /// Not connected; a master retries after its backoff.
    #[default]
    Down,
    /// Connecting or in the handshake.
    Connecting,
    /// The session is up.
    Connected,
    /// The agent stopped.
    Stopped,
}

/// A snapshot of an agent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AgentStatus {
    /// `master` or `replica`.
    pub role: String,
    /// The link.
    pub link: LinkState,
    /// The peer's name (its hello), when connected.
    pub peer: Option<String>,
    /// Why the last session ended.
    pub last_end: Option<String>,
    /// Sessions started.
    pub sessions: u64,
    /// The journal's epoch.
    pub epoch: u64,
    /// A master: the last durable record of its spool. A replica: the
    /// last record stored durably.
    pub last_seq: u64,
    /// The last record acknowledged as stored durably on the replica.
    pub acked_stored: u64,
    /// The last record acknowledged as applied durably on the replica.
    pub acked_applied: u64,
    /// A master: records not yet acknowledged as stored. A replica:
    /// records stored but not yet applied.
    pub lag_records: u64,
    /// Spooled bytes waiting (not yet reclaimed).
    pub lag_bytes: u64,
    /// Age in seconds of the oldest record not yet acknowledged (master)
    /// or applied (replica), by the records' own timestamps.
    pub lag_seconds: f64,
    /// Bytes the spool uses.
    pub spool_used_bytes: u64,
    /// Bytes the spool may use (its limit, or the free space).
    pub spool_capacity_bytes: u64,
    /// The spool's mode: `normal`, `stopped` (it overflowed under the
    /// stop policy and refuses records) or `degraded` (it overflowed under
    /// the dirty-region policy and keeps only which regions changed).
    pub spool_mode: String,
    /// The first record the spool did not keep, once it overflowed.
    pub overflow_at_seq: Option<u64>,
    /// Dirty ranges a degraded spool tracks.
    pub dirty_ranges: u64,
    /// The replica needs a resynchronisation before it can follow again:
    /// the spool overflowed (everything spooled before the overflow is
    /// still sent), or a sync ended with another to follow.
    pub resync_needed: bool,
    /// A replica: application is paused.
    pub paused: bool,
    /// A replica: why application stopped, if it failed.
    pub apply_error: Option<String>,
    /// The last sync over the session (under way or ended).
    #[serde(default)]
    pub sync: Option<super::sync::SyncStatus>,
    /// When this snapshot was taken, milliseconds since the Unix epoch.
    pub updated_unix_ms: u64,
}

impl AgentStatus {
    pub(crate) fn stamp(&mut self) {
        self.updated_unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    }

    /// Takes the spool's figures from `usage`: used and capacity bytes,
    /// the bytes waiting, the mode, the overflow point and the dirty
    /// ranges. Says whether the spool overflowed since the last call.
    pub(crate) fn set_spool(&mut self, usage: &SpoolUsage) -> bool {
        let (mode, at) = match usage.mode {
            SpoolMode::Normal => ("normal", None),
            SpoolMode::Stopped { at_seq } => ("stopped", Some(at_seq)),
            SpoolMode::Degraded { at_seq } => ("degraded", Some(at_seq)),
        };
        let newly = self.overflow_at_seq.is_none() && at.is_some();
        self.lag_bytes = usage.used_bytes;
        self.spool_used_bytes = usage.used_bytes;
        self.spool_capacity_bytes = usage.capacity_bytes;
        mode.clone_into(&mut self.spool_mode);
        self.overflow_at_seq = at;
        self.dirty_ranges = usage.dirty_ranges as u64;
        self.resync_needed = at.is_some();
        newly
    }

    /// Writes a stamped copy to the status file in `dir`, logging (not
    /// failing) if it cannot.
    pub(crate) fn publish(&self, dir: &Path) {
        let mut st = self.clone();
        st.stamp();
        if let Err(e) = st.write(dir) {
            tracing::warn!(%e, "cannot write the status file");
        }
    }

    /// Reads the status an agent last wrote in its state directory `dir`.
    pub fn read(dir: &Path) -> Result<Self, AgentError> {
        let path = dir.join(STATUS_FILE);
        let bytes = std::fs::read(&path).map_err(|source| AgentError::Io {
            path: path.clone(),
            source,
        })?;
        serde_json::from_slice(&bytes).map_err(|e| AgentError::State {
            path,
            why: e.to_string(),
        })
    }

    /// Writes the snapshot to `dir` (a new file renamed over the old one;
    /// not synced: it is a report, not state).
    pub(crate) fn write(&self, dir: &Path) -> std::io::Result<()> {
        let tmp = dir.join(".status.json.tmp");
        let bytes = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, dir.join(STATUS_FILE))
    }
}

/// Seconds between a record's timestamp and now (0 for none).
pub(crate) fn age_seconds(timestamp_ns: u64) -> f64 {
    if timestamp_ns == 0 {
        return 0.0;
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    now.saturating_sub(timestamp_ns) as f64 / 1e9
}
