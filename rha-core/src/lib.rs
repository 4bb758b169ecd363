//! # rha-core
//!
//! The deterministic core of rha, an embeddable replication and
//! high-availability engine. Nothing here reads a clock, spawns a thread or
//! touches the file system on its own: time, randomness and storage come in as
//! parameters, so every behaviour is testable and reproducible.
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

pub mod journal;
pub mod signature;

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
