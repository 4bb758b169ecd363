//! Block signatures, deltas and patching (SPEC.md §3, block-level sync).
//!
//! A [`SignatureJob`] cuts a file into blocks (about the square root of its
//! length, see [`SignatureParams`]) and records for each a weak rolling
//! checksum and a truncated strong hash: BLAKE3 plus a whole-file hash by
//! default, or the faster XXH3-128 ([`StrongHash::Xxh3`]) for rolling
//! deltas, whose own whole-file BLAKE3 hash still checks the result. Jobs
//! can hash on several threads ([`SignatureJob::with_threads`],
//! [`DeltaJob::with_threads`]) without changing their output. From the
//! replica's signature, a [`DeltaJob`] describes the master's file as
//! copies of replica blocks and literal bytes (rolling mode, rsync style),
//! and a [`PatchJob`] rebuilds the file from the replica's copy and the
//! delta, checking the whole-file hash. Sparse files stay cheap: the
//! holes of a file can be given to a [`SignatureJob`] or a [`DeltaJob`] as
//! lengths of zeros (`run_zeros`), which cost a hash per block rather than
//! per byte and become zero runs of the delta, and a [`SparsePatchJob`]
//! hands zero runs back as holes to skip. For volumes, [`compare_fixed`]
//! compares two signatures position by position, a [`FixedDeltaJob`] sends
//! exactly the blocks that differ and an [`InPlacePatch`] writes them.
//!
//! Every job is incremental: it consumes input and produces output in
//! chunks of any size, so memory stays bounded whatever the file size. The
//! formats are in `docs/signature-format.md` and `docs/delta-format.md`;
//! deltas can also be written in librsync's format ([`DeltaFormat::Rdiff`],
//! applied by `rdiff patch`) and made from `rdiff signature` files.
//!
//! ```
//! use rha_core::signature::block::*;
//!
//! let replica = b"the quick brown fox jumps over the lazy dog. ".repeat(100);
//! let mut master = replica.clone();
//! master[2000..2005].copy_from_slice(b"HELLO");
//!
//! let params = SignatureParams::new(replica.len() as u64).with_block_len(256)?;
//! let sig = Signature::from_bytes(&signature_of(&replica, params)?)?;
//! let (delta, stats) = delta_of(sig, &master, DeltaFormat::Rha)?;
//! assert_eq!(stats.literal_bytes, 256);
//! assert_eq!(patch_of(&replica[..], &delta, u64::MAX)?, master);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod delta;
mod error;
mod fixed;
mod format;
mod hash;
mod journal;
mod ops;
mod parallel;
mod params;
mod patch;
mod queue;
mod rolling;
mod sig;
mod sparse;
mod stream;

#[cfg(test)]
mod tests;

pub use delta::{delta_of, DeltaJob, DeltaStats};
pub use error::{
    DeltaError, DeltaErrorKind, JobError, PatchError, SignatureError, SignatureErrorKind,
};
pub use fixed::{compare_fixed, FixedDeltaJob, FixedPlan};
pub use format::{
    Command, DeltaDecoder, DeltaFormat, DELTA_HEADER_LEN, DELTA_MAGIC, DELTA_VERSION, MAX_LITERAL,
    RDIFF_DELTA_MAGIC,
};
pub use hash::{file_hash, WholeFileHasher};
pub use journal::{delta_to_ops, MAX_WRITE_OP};
pub use ops::{DeltaOpsJob, OpsStep};
pub use params::{
    block_len_for, strong_len_for, SignatureParams, StrongHash, MAX_AUTO_BLOCK_LEN, MAX_BLOCK_LEN,
    MAX_STRONG_LEN, MIN_AUTO_BLOCK_LEN, MIN_BLOCK_LEN, MIN_STRONG_LEN,
};
pub use patch::{patch_of, InPlacePatch, PatchJob, PatchOptions, ReadAt, WriteAt};
pub use queue::Progress;
pub use sig::{
    signature_of, Signature, SignatureJob, SignatureKind, SignatureLoader, DEFAULT_MAX_BLOCKS,
    RDIFF_BLAKE2_MAGIC, RDIFF_MD4_MAGIC, RDIFF_RK_BLAKE2_MAGIC, RDIFF_RK_MD4_MAGIC,
    SIGNATURE_GROUP_ENTRIES, SIGNATURE_HEADER_LEN, SIGNATURE_MAGIC, SIGNATURE_TRAILER_LEN,
    SIGNATURE_VERSION,
};
pub use sparse::{SparsePatchJob, SparseProgress};
pub use stream::{
    delta_pieces, delta_stream, patch_stream, read_signature, signature_pieces, signature_stream,
    Piece, PieceSource, StreamError, StreamOptions, StreamRole, STREAM_CHUNK,
    UNKNOWN_LEN_BLOCKS_FOR, UNKNOWN_LEN_STRONG_FOR,
};
