//! Deltas as journal records: applying a sync is applying a journal.

use bytes::Bytes;

use super::error::PatchError;
use super::fixed::read_exact_at;
use super::format::{Command, DeltaDecoder};
use super::patch::{check_basis, ReadAt};
use crate::journal::{Op, RelPath};

/// The largest `Write` record [`delta_to_ops`] emits (1 MiB).
pub const MAX_WRITE_OP: usize = 1 << 20;

/// Converts a delta into journal operations that turn the basis file at
/// `path` into the new file when applied in order, in place: a
/// [`Op::Write`] for every literal, zero run and moved copy (with the bytes
/// read from `basis`, at most [`MAX_WRITE_OP`] each), nothing for identity
/// copies, and a final [`Op::SetLen`]. A delta describing a file longer
/// than `max_output` bytes fails with [`PatchError::OutputTooLarge`] before
/// any operation past the cap is emitted, so a hostile zero run cannot make
/// it emit without end.
///
/// Every record carries its bytes, so applying them in place is safe once
/// this function has returned: `emit` must not change the basis while it
/// runs (write the records to a journal, or collect them). The returned
/// value is the delta's whole-file hash (rha deltas), for checking the
/// result after applying.
pub fn delta_to_ops<B: ReadAt>(
    delta: &[u8],
    path: &RelPath,
    basis: &mut B,
    max_output: u64,
    mut emit: impl FnMut(Op),
) -> Result<Option<[u8; 32]>, PatchError> {
    let mut dec = DeltaDecoder::new();
    let mut input = delta;
    let mut pos = 0u64;
    let mut buf = Vec::new();
    let write = |pos: u64, data: Bytes, emit: &mut dyn FnMut(Op)| {
        emit(Op::Write {
            path: path.clone(),
            offset: pos,
            data,
        });
    };
    loop {
        let Some(cmd) = dec.next(&mut input)? else {
            dec.finish()?;
            return Ok(None);
        };
        let len = match &cmd {
            Command::Copy { len, .. } | Command::Zero { len } => *len,
            Command::Literal(d) => d.len() as u64,
            Command::Basis { .. } | Command::End { .. } => 0,
        };
        if pos.saturating_add(len) > max_output {
            return Err(PatchError::OutputTooLarge { max: max_output });
        }
        match cmd {
            Command::Basis { len, hash, .. } => {
                check_basis(basis, (len, &hash), None, dec.block_len().unwrap_or(1))?;
            }
            Command::Copy { start, len } => {
                if start != pos {
                    let mut at = 0;
                    while at < len {
                        let n = (len - at).min(MAX_WRITE_OP as u64) as usize;
                        buf.resize(n, 0);
                        read_exact_at(basis, start + at, &mut buf)?;
                        write(pos + at, Bytes::copy_from_slice(&buf), &mut emit);
                        at += n as u64;
                    }
                }
                pos += len;
            }
            Command::Literal(d) => {
                for (i, piece) in d.chunks(MAX_WRITE_OP).enumerate() {
                    let at = pos + (i * MAX_WRITE_OP) as u64;
                    write(at, Bytes::copy_from_slice(piece), &mut emit);
                }
                pos += d.len() as u64;
            }
            Command::Zero { len } => {
                let mut at = 0;
                while at < len {
                    let n = (len - at).min(MAX_WRITE_OP as u64) as usize;
                    write(pos + at, Bytes::from(vec![0u8; n]), &mut emit);
                    at += n as u64;
                }
                pos += len;
            }
            Command::End { hash, .. } => {
                emit(Op::SetLen {
                    path: path.clone(),
                    len: pos,
                });
                if !input.is_empty() {
                    dec.next(&mut input)?;
                }
                return Ok(hash);
            }
        }
    }
}
