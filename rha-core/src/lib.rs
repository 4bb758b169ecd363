//! # rha-core
//!
//! The deterministic core of rha, an embeddable replication and
//! high-availability engine. Time, randomness and storage come in as
//! parameters, so every behaviour is testable and reproducible: the state
//! machines ([`ha`]) take `now` and hand back deadlines, decoders take bytes,
//! and the spool and rewind log sit on a narrow storage trait.
//!
//! The exceptions, each a matter of *waiting* or *parallelism*, never of
//! what the result is:
//!
//! - **Blocking waits in the spool.** [`spool::Spool`] is a thread-safe
//!   handle whose producers block until their records are durable. The
//!   group-commit leader reads the monotonic clock to size its gathering
//!   window (at most the previous flush's duration, never over 1 ms), and
//!   [`spool::WhenFull::Block`] waits up to a real-time deadline. Which
//!   records are durable, their order and sequence numbers never depend on
//!   the clock.
//! - **Scoped worker threads in block jobs.** Signature and delta jobs hash
//!   on several threads only when asked (`with_threads(n)`, one by default),
//!   and whole-file patching hashes its output on a second thread. Every
//!   thread is scoped: joined before the call returns, none left running,
//!   and the output is byte-identical for any thread count.
//! - **The file-backed storage.** The directory implementation of the
//!   storage trait and the journal writer's [`std::fs::File`] sink touch
//!   the file system, because the caller chose them; nothing here opens a
//!   file it was not given the path or handle of.
//!
//! ## The journal
//!
//! A master captures every change into a [`journal`]; the replica replays it in
//! order.
//!
//! ```
//! use rha_core::journal::{Decoder, End, JournalWriter, Op, RelPath, WriterConfig};
//!
//! // Master side: capture two changes.
//! let mut writer = JournalWriter::new(Vec::new(), WriterConfig::default());
//! let path = RelPath::new("db/data.bin")?;
//! writer.append(1_000, &Op::Create { path: path.clone(), mode: 0o600 })?;
//! writer.append(2_000, &Op::Write { path, offset: 4096, data: vec![7u8; 512].into() })?;
//! writer.sync()?;
//! let bytes = writer.into_inner()?;
//!
//! // Replica side: feed whatever arrives, pull records out.
//! let mut decoder = Decoder::new(Default::default());
//! decoder.feed(&bytes);
//! while let Some(record) = decoder.next_record()? {
//!     println!("{} {:?}", record.seq, record.op.code());
//! }
//! assert_eq!(decoder.finish()?, End::Clean { len: bytes.len() as u64 });
//! # Ok::<(), rha_core::Error>(())
//! ```
//!
//! ## Tree signatures and sync plans
//!
//! File-level synchronisation scans the master's and the replica's trees
//! into [`signature::tree`] signatures and merges them, in one streaming
//! pass, into a sync plan: the deletions, creations, updates and attribute
//! fixes that make the replica equal to the master, in a safe order.
//!
//! ## High availability
//!
//! [`ha::Scenario`] is a scenario's lifecycle (verify, sync, replicate,
//! switch over, switch back, integrity tests, the appliance flow) as a
//! sans-IO state machine: commands, observations and time in; actions for
//! the embedder, events and the next deadline out. [`ha::MirrorNode`]
//! applies the mirror-disk split-brain rules. See the [`ha`] module.
//!
//! ## The spool
//!
//! Records that cannot move on yet wait in a [`spool`]: durable, bounded and
//! crash-safe, on the narrow [`storage`] trait it shares with the rewind log
//! (a real directory, or memory with a crash model for tests).
//!
//! ```
//! use std::sync::Arc;
//! use rha_core::journal::Op;
//! use rha_core::spool::{AppendOptions, Spool, SpoolConfig};
//! use rha_core::storage::MemStorage;
//!
//! let (spool, _) = Spool::open(Arc::new(MemStorage::new()), SpoolConfig::default())?;
//! spool.append(1_000, &Op::TxBegin { txid: 7 }, AppendOptions::default())?;
//! for record in spool.read_from(1)? {
//!     let record = record?;
//!     // ... send or apply it, then:
//!     spool.ack(record.seq)?;
//! }
//! # Ok::<(), rha_core::Error>(())
//! ```
//!
//! ## Testing
//!
//! With the `testing` feature, the `testing` module holds the deterministic
//! simulation harness (two hosts around a scenario, a mirror-disk pair,
//! invariants checked after every step) and gathers the storage layer's
//! crash plans, fault injection and memory statistics, which this crate's
//! tests and the fuzz targets share. It is not part of the stable API.

pub mod ha;
pub mod journal;
#[cfg(test)]
mod log_capture;
pub mod rewind;
pub mod session;
pub mod signature;
pub mod spool;
pub mod storage;
#[cfg(any(test, fuzzing, feature = "testing"))]
pub mod testing;

/// Any error from this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A path was not a valid scenario-relative path.
    #[error(transparent)]
    Path(#[from] journal::PathError),
    /// A journal did not decode.
    #[error(transparent)]
    Decode(#[from] journal::DecodeError),
    /// A record could not be encoded.
    #[error(transparent)]
    Encode(#[from] journal::EncodeError),
    /// Writing a journal failed.
    #[error(transparent)]
    Write(#[from] journal::WriteError),
    /// Reading a journal failed.
    #[error(transparent)]
    Read(#[from] journal::ReadError),
    /// A tree signature did not decode.
    #[error(transparent)]
    TreeSignature(#[from] signature::tree::SignatureError),
    /// Reading a tree signature failed.
    #[error(transparent)]
    TreeRead(#[from] signature::tree::TreeReadError),
    /// Writing a tree signature failed.
    #[error(transparent)]
    TreeWrite(#[from] signature::tree::TreeWriteError),
    /// Comparing tree signatures failed.
    #[error(transparent)]
    Compare(#[from] signature::tree::CompareError),
    /// An exclusion pattern did not parse.
    #[error(transparent)]
    Glob(#[from] signature::tree::GlobError),
    /// A scenario configuration is invalid.
    #[error(transparent)]
    HaConfig(#[from] ha::ConfigError),
    /// A scenario refused a command.
    #[error(transparent)]
    HaCommand(#[from] ha::CommandError),
    /// A saved scenario state could not be restored.
    #[error(transparent)]
    HaRestore(#[from] ha::RestoreError),
    /// A mirror-disk node refused an operation.
    #[error(transparent)]
    Mirror(#[from] ha::MirrorError),
    /// A spool did not open.
    #[error(transparent)]
    SpoolOpen(#[from] spool::OpenError),
    /// A spool append (or durability wait) failed.
    #[error(transparent)]
    SpoolAppend(#[from] spool::AppendError),
    /// A spool acknowledgement failed.
    #[error(transparent)]
    SpoolAck(#[from] spool::AckError),
    /// Reading from a spool failed.
    #[error(transparent)]
    SpoolRead(#[from] spool::ReadError),
    /// Resetting a spool failed.
    #[error(transparent)]
    SpoolReset(#[from] spool::ResetError),
    /// Applying, bookmarking or rewinding failed.
    #[error(transparent)]
    Rewind(#[from] rewind::RewindError),
    /// A block signature did not decode.
    #[error(transparent)]
    Signature(#[from] signature::block::SignatureError),
    /// A delta did not decode.
    #[error(transparent)]
    Delta(#[from] signature::block::DeltaError),
    /// Applying a delta failed.
    #[error(transparent)]
    Patch(#[from] signature::block::PatchError),
    /// A signature or delta job was misused.
    #[error(transparent)]
    Job(#[from] signature::block::JobError),
}
