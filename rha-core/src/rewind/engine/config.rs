//! The replica's settings.

use crate::rewind::log::LogConfig;

/// Retention of the rewind log: the oldest segments are dropped while either
/// bound is exceeded, never making the current point (or the point a rewind
/// is heading to) unreachable.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Retention {
    /// Keep points at most this old (nanoseconds, measured against the
    /// newest record's timestamp or the time given to
    /// [`Replica::retain`](super::Replica::retain)).
    pub max_age_ns: Option<u64>,
    /// Keep the log at most this large in bytes (whole segments).
    pub max_bytes: Option<u64>,
}

impl Retention {
    /// Sets [`max_age_ns`](Self::max_age_ns).
    pub fn max_age_ns(mut self, ns: Option<u64>) -> Self {
        self.max_age_ns = ns;
        self
    }
    /// Sets [`max_bytes`](Self::max_bytes).
    pub fn max_bytes(mut self, bytes: Option<u64>) -> Self {
        self.max_bytes = bytes;
        self
    }
}

/// Settings of a [`Replica`](super::Replica).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ReplicaConfig {
    /// At most this many records are logged together (one sync) before
    /// their forward changes are applied. Default: 1024. 1 gives exact file
    /// times at every point (see `docs/rewind-log-format.md`).
    pub batch_records: usize,
    /// At most about this many bytes of inverse and forward data per batch,
    /// and no more than the log's segment size. Default: 8 MiB.
    pub batch_bytes: usize,
    /// Retention. Default: keep everything.
    pub retention: Retention,
    /// Log settings.
    pub log: LogConfig,
    /// A transaction whose buffered records pass this many bytes fails.
    /// Default: 256 MiB.
    pub max_txn_bytes: usize,
    /// While rewinding, the position is recorded (and the target synced) at
    /// least every this many operations. Default: 4096.
    pub checkpoint_ops: u32,
}

impl Default for ReplicaConfig {
    fn default() -> Self {
        Self {
            batch_records: 1024,
            batch_bytes: 8 << 20,
            retention: Retention::default(),
            log: LogConfig::default(),
            max_txn_bytes: 256 << 20,
            checkpoint_ops: 4096,
        }
    }
}

impl ReplicaConfig {
    /// Sets [`batch_records`](Self::batch_records) (at least 1).
    pub fn batch_records(mut self, n: usize) -> Self {
        self.batch_records = n.max(1);
        self
    }
    /// Sets [`retention`](Self::retention).
    pub fn retention(mut self, r: Retention) -> Self {
        self.retention = r;
        self
    }
    /// Sets the log's segment size.
    pub fn segment_bytes(mut self, n: u64) -> Self {
        self.log.segment_bytes = n;
        self
    }
    /// Sets the log's [`elide_min`](LogConfig::elide_min).
    pub fn elide_min(mut self, n: usize) -> Self {
        self.log.elide_min = n;
        self
    }
    /// Sets the log's [`write_bytes`](LogConfig::write_bytes) (at least 1).
    pub fn write_bytes(mut self, n: usize) -> Self {
        self.log.write_bytes = n.max(1);
        self
    }
    /// Sets [`checkpoint_ops`](Self::checkpoint_ops) (at least 1).
    pub fn checkpoint_ops(mut self, n: u32) -> Self {
        self.checkpoint_ops = n.max(1);
        self
    }
}
