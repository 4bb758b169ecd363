//! The harness for tests and fuzzers: deterministic simulated worlds around
//! the sans-IO state machines, with their invariants checked after every
//! step.
//!
//! As in quinn-proto, the unit tests, the property tests and the fuzz
//! targets drive one harness, so a check added here guards all three and
//! a fuzzer finding replays as an ordinary test. The module is compiled for
//! this crate's tests, under `cfg(fuzzing)`, and with the `testing` cargo
//! feature (which the fuzz crate enables, so that its corpus replays on
//! stable). It is not part of the stable API.
//!
//! - [`ha`]: [`ha::Pair`], two simulated hosts executing a
//!   [`Scenario`](crate::ha::Scenario)'s actions on a virtual clock, with
//!   injected failures, held actions, crashes, partitions, dead links and
//!   agent restarts, and a reference configuration ([`ha::config`]).
//! - [`mirror`]: [`mirror::MirrorPair`], two
//!   [`MirrorNode`](crate::ha::MirrorNode)s and their interconnect, never
//!   two primaries.
//! - [`storage`]: the crash plans, fault injection and memory statistics
//!   of the storage layer ([`MemStorage`](storage::MemStorage) with its
//!   [`CrashPlan`](storage::CrashPlan) and [`MemStats`](storage::MemStats),
//!   [`FaultInjector`](storage::FaultInjector) with its
//!   [`FaultPlan`](storage::FaultPlan)), which the spool's and the rewind
//!   log's crash tests and the `spool_model` and `rewind_model` fuzz targets
//!   drive. They are defined in [`crate::storage`], always compiled, because
//!   an embedder's own tests of a spool or a replica use them too.
//!
//! ```
//! use rha_core::ha::State;
//! use rha_core::testing::ha::{config, secs, Pair};
//!
//! let mut pair = Pair::replicating(config());
//! pair.crash_master();
//! pair.advance(secs(600)); // Is Alive times out: automatic switchover
//! assert_eq!(pair.state(), State::SwitchedOver);
//! assert!(pair.replica.serving && !pair.master.serving);
//! ```

pub mod ha;
pub mod mirror;

/// The storage layer's test doubles: see the [module docs](self).
pub mod storage {
    pub use crate::storage::{CrashPlan, FaultInjector, FaultPlan, Faults, MemStats, MemStorage};
}
