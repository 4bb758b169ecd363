//! Deltas as journal records, streamed: the incremental form of
//! [`delta_to_ops`](super::delta_to_ops), for deltas that arrive in chunks
//! and files too large to convert in one call.

use bytes::Bytes;

use super::error::PatchError;
use super::fixed::read_exact_at;
use super::format::{Command, DeltaDecoder};
use super::journal::MAX_WRITE_OP;
use super::patch::{check_basis, ReadAt};
use crate::journal::{Op, RelPath};

/// What one call of [`DeltaOpsJob::next`] gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpsStep {
    /// The next journal operation.
    Op(Op),
    /// All input was consumed; feed more (or announce the end).
    NeedInput,
    /// The delta has ended and every operation has been handed out.
    Done,
}

#[derive(Debug, Clone, Copy)]
enum Pending {
    Idle,
    /// A copy from `from` to output offset `to`, `left` bytes to go.
    Copy {
        from: u64,
        to: u64,
        left: u64,
    },
    /// The decoder's current literal, from byte `at`.
    Literal {
        at: usize,
        len: usize,
    },
    /// A zero run at output offset `to`.
    Zero {
        to: u64,
        left: u64,
    },
    /// The final `SetLen` is due.
    SetLen,
}

/// Converts a delta fed in chunks of any size into the journal operations
/// that turn the basis file at `path` into the new file, one at a time:
/// the same operations, in the same order, as
/// [`delta_to_ops`](super::delta_to_ops) (a [`Op::Write`] of at most
/// [`MAX_WRITE_OP`] bytes for every literal, zero run and moved copy,
/// nothing for identity copies, and a final [`Op::SetLen`]).
///
/// Memory: one delta command and one operation (at most 1 MiB each),
/// whatever the file size.
///
/// A moved copy reads the basis when its operation is produced. Applying
/// the operations to the basis while the job still runs is safe only for
/// deltas without moved copies (fixed-offset deltas, see
/// [`FixedDeltaJob`](super::FixedDeltaJob)); otherwise apply them once the
/// job is [`OpsStep::Done`] (write them to a journal first).
///
/// ```
/// use rha_core::journal::{Op, RelPath};
/// use rha_core::signature::block::*;
///
/// let basis = vec![7u8; 4096];
/// let mut new = basis.clone();
/// new[1024..1030].copy_from_slice(b"CHANGE");
/// let params = SignatureParams::new(basis.len() as u64).with_block_len(1024)?;
/// let sig = Signature::from_bytes(&signature_of(&basis, params)?)?;
/// let (delta, _) = delta_of(sig, &new, DeltaFormat::Rha)?;
///
/// let mut job = DeltaOpsJob::new(&basis[..], RelPath::new("disk.img".to_owned())?);
/// let mut ops = Vec::new();
/// for chunk in delta.chunks(100) {
///     let mut input = chunk;
///     while let OpsStep::Op(op) = job.next(&mut input, false)? {
///         ops.push(op);
///     }
/// }
/// while let OpsStep::Op(op) = job.next(&mut &[][..], true)? {
///     ops.push(op);
/// }
/// assert!(job.is_done());
/// assert!(matches!(ops.last(), Some(Op::SetLen { len: 4096, .. })));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct DeltaOpsJob<B> {
    basis: B,
    path: RelPath,
    dec: DeltaDecoder,
    /// Output offset reached by the commands decoded so far.
    pos: u64,
    pending: Pending,
    buf: Vec<u8>,
    hash: Option<[u8; 32]>,
    max_output: u64,
    ended: bool,
    done: bool,
    failed: bool,
}

impl<B: ReadAt> DeltaOpsJob<B> {
    /// A job reading moved copies from `basis`, naming `path` in every
    /// operation.
    pub fn new(basis: B, path: RelPath) -> Self {
        Self {
            basis,
            path,
            dec: DeltaDecoder::new(),
            pos: 0,
            pending: Pending::Idle,
            buf: Vec::new(),
            hash: None,
            max_output: u64::MAX,
            ended: false,
            done: false,
            failed: false,
        }
    }

    /// Fails with [`PatchError::OutputTooLarge`] at a command that would
    /// make the file longer than `bytes` (default: no cap), as
    /// [`delta_to_ops`](super::delta_to_ops) does.
    pub fn with_max_output(mut self, bytes: u64) -> Self {
        self.max_output = bytes;
        self
    }

    /// The delta's whole-file hash (rha deltas), once its end has been
    /// decoded: check the applied result against it.
    pub fn hash(&self) -> Option<[u8; 32]> {
        self.hash
    }

    /// The block length of the whole-file hash (rha deltas, after the
    /// header), as [`file_hash`](super::file_hash) needs it.
    pub fn block_len(&self) -> Option<u32> {
        self.dec.block_len()
    }

    /// Whether every operation has been handed out.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Gives the basis back.
    pub fn into_basis(self) -> B {
        self.basis
    }

    /// Consumes delta bytes from the front of `input` (advancing it) until
    /// the next operation is ready. `end` says no more input will come after
    /// `input` (a delta that has not ended by then is truncated). After an
    /// error the job stays failed ([`PatchError::Finished`]).
    pub fn next(&mut self, input: &mut &[u8], end: bool) -> Result<OpsStep, PatchError> {
        if self.failed {
            return Err(PatchError::Finished);
        }
        let r = self.step(input, end);
        if r.is_err() {
            self.failed = true;
        }
        r
    }

    fn step(&mut self, input: &mut &[u8], end: bool) -> Result<OpsStep, PatchError> {
        loop {
            if let Some(op) = self.take_pending()? {
                return Ok(OpsStep::Op(op));
            }
            if self.ended {
                if !input.is_empty() {
                    // Reports the trailing bytes with their offset.
                    self.dec.next(input)?;
                    return Err(PatchError::Finished);
                }
                // Done only once the caller says nothing follows: bytes
                // after the end marker in a later chunk are corruption too.
                if !end {
                    return Ok(OpsStep::NeedInput);
                }
                self.done = true;
                return Ok(OpsStep::Done);
            }
            let Some(cmd) = self.dec.next(input)? else {
                if end {
                    self.dec.finish()?;
                }
                return Ok(OpsStep::NeedInput);
            };
            let len = match &cmd {
                Command::Copy { len, .. } | Command::Zero { len } => *len,
                Command::Literal(d) => d.len() as u64,
                Command::Basis { .. } | Command::End { .. } => 0,
            };
            if self.pos.saturating_add(len) > self.max_output {
                return Err(PatchError::OutputTooLarge {
                    max: self.max_output,
                });
            }
            self.pending = match cmd {
                Command::Basis { len, hash, .. } => {
                    let block_len = self.dec.block_len().unwrap_or(1);
                    check_basis(&mut self.basis, (len, &hash), None, block_len)?;
                    Pending::Idle
                }
                Command::Copy { start, len } => {
                    let to = self.pos;
                    self.pos = to.saturating_add(len);
                    if start == to {
                        Pending::Idle
                    } else {
                        Pending::Copy {
                            from: start,
                            to,
                            left: len,
                        }
                    }
                }
                Command::Literal(d) => Pending::Literal {
                    at: 0,
                    len: d.len(),
                },
                Command::Zero { len } => {
                    let to = self.pos;
                    self.pos = to.saturating_add(len);
                    Pending::Zero { to, left: len }
                }
                Command::End { hash, .. } => {
                    self.hash = hash;
                    self.ended = true;
                    Pending::SetLen
                }
            };
        }
    }

    /// The next operation of the pending command, if any.
    fn take_pending(&mut self) -> Result<Option<Op>, PatchError> {
        let path = &self.path;
        let write = |offset: u64, data: Bytes| Op::Write {
            path: path.clone(),
            offset,
            data,
        };
        let (op, next) = match self.pending {
            Pending::Idle => return Ok(None),
            Pending::Copy { from, to, left } => {
                let n = left.min(MAX_WRITE_OP as u64) as usize;
                self.buf.resize(n, 0);
                read_exact_at(&mut self.basis, from, &mut self.buf)?;
                let next = if left == n as u64 {
                    Pending::Idle
                } else {
                    Pending::Copy {
                        from: from + n as u64,
                        to: to + n as u64,
                        left: left - n as u64,
                    }
                };
                (write(to, Bytes::copy_from_slice(&self.buf)), next)
            }
            Pending::Literal { at, len } => {
                let n = (len - at).min(MAX_WRITE_OP);
                let data = &self.dec.literal()[at..at + n];
                let op = write(self.pos, Bytes::copy_from_slice(data));
                self.pos += n as u64;
                let next = if at + n == len {
                    Pending::Idle
                } else {
                    Pending::Literal { at: at + n, len }
                };
                (op, next)
            }
            Pending::Zero { to, left } => {
                let n = left.min(MAX_WRITE_OP as u64) as usize;
                let next = if left == n as u64 {
                    Pending::Idle
                } else {
                    Pending::Zero {
                        to: to + n as u64,
                        left: left - n as u64,
                    }
                };
                (write(to, Bytes::from(vec![0u8; n])), next)
            }
            Pending::SetLen => (
                Op::SetLen {
                    path: path.clone(),
                    len: self.pos,
                },
                Pending::Idle,
            ),
        };
        self.pending = next;
        Ok(Some(op))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

    use proptest::prelude::*;

    use super::super::*;
    use super::*;
    use crate::journal::{Op, RelPath};

    fn path() -> RelPath {
        RelPath::new("vol/disk.img".to_owned()).unwrap()
    }

    fn delta(basis: &[u8], new: &[u8], block_len: u32, format: DeltaFormat) -> Vec<u8> {
        let params = SignatureParams::new(basis.len() as u64)
            .with_block_len(block_len)
            .unwrap();
        let sig = Signature::from_bytes(&signature_of(basis, params).unwrap()).unwrap();
        delta_of(sig, new, format).unwrap().0
    }

    /// Feeds `delta` in `step`-byte chunks; the operations or the error.
    fn stream(basis: &[u8], delta: &[u8], step: usize) -> Result<Vec<Op>, PatchError> {
        let mut job = DeltaOpsJob::new(basis, path());
        let mut ops = Vec::new();
        let mut chunks = delta.chunks(step.max(1)).peekable();
        loop {
            let mut input: &[u8] = chunks.next().unwrap_or_default();
            let end = chunks.peek().is_none();
            loop {
                match job.next(&mut input, end)? {
                    OpsStep::Op(op) => ops.push(op),
                    OpsStep::NeedInput => break,
                    OpsStep::Done => return Ok(ops),
                }
            }
            assert!(input.is_empty(), "NeedInput leaves no input behind");
            if end {
                panic!("NeedInput after the end without an error");
            }
        }
    }

    fn apply(basis: &[u8], ops: &[Op]) -> Vec<u8> {
        let mut out = basis.to_vec();
        for op in ops {
            match op {
                Op::Write { offset, data, .. } => {
                    let o = *offset as usize;
                    if out.len() < o + data.len() {
                        out.resize(o + data.len(), 0);
                    }
                    out[o..o + data.len()].copy_from_slice(data);
                }
                Op::SetLen { len, .. } => out.resize(*len as usize, 0),
                other => panic!("unexpected {other:?}"),
            }
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn streamed_ops_equal_delta_to_ops_and_rebuild_the_new_file(
            basis in proptest::collection::vec(0u8..4, 0..5000),
            edits in proptest::collection::vec((any::<usize>(), proptest::collection::vec(any::<u8>(), 1..200)), 0..4),
            cut in any::<usize>(),
            grow in proptest::collection::vec(any::<u8>(), 0..300),
            block_len in prop_oneof![Just(16u32), Just(64), Just(512)],
            step in 1usize..3000,
            rdiff in any::<bool>(),
        ) {
            let mut new = basis.clone();
            for (at, bytes) in &edits {
                if new.is_empty() { break; }
                let at = at % new.len();
                let end = (at + bytes.len()).min(new.len());
                new[at..end].copy_from_slice(&bytes[..end - at]);
            }
            new.truncate(cut % (new.len() + 1));
            new.extend_from_slice(&grow);
            let format = if rdiff { DeltaFormat::Rdiff } else { DeltaFormat::Rha };
            let d = delta(&basis, &new, block_len, format);
            let mut whole = Vec::new();
            let hash = delta_to_ops(&d, &path(), &mut &basis[..], u64::MAX, |op| whole.push(op)).unwrap();
            let streamed = stream(&basis, &d, step).unwrap();
            // rdiff literals arrive in pieces as the input does; rha
            // commands are whole, so their operations are identical.
            if !rdiff {
                prop_assert_eq!(&streamed, &whole);
            }
            prop_assert_eq!(apply(&basis, &whole), new.clone());
            prop_assert_eq!(apply(&basis, &streamed), new.clone());
            if !rdiff {
                prop_assert!(hash.is_some());
            }
        }

        #[test]
        fn truncated_deltas_fail_and_never_panic(
            basis in proptest::collection::vec(any::<u8>(), 1..3000),
            cut in any::<usize>(),
            step in 1usize..500,
        ) {
            let mut new = basis.clone();
            new.reverse();
            let d = delta(&basis, &new, 64, DeltaFormat::Rha);
            let cut = cut % d.len();
            let err = stream(&basis, &d[..cut], step).unwrap_err();
            prop_assert!(matches!(err, PatchError::Delta(_)), "{}", err);
        }
    }

    #[test]
    fn large_moved_copies_and_zero_runs_are_split_at_max_write_op() {
        // A literal and zero runs longer than one record: rdiff literals
        // arrive in pieces, rha zero runs are one command.
        let basis = vec![1u8; 10];
        let mut new = vec![0u8; 3 * MAX_WRITE_OP + 5];
        new[..10].copy_from_slice(&basis);
        for format in [DeltaFormat::Rha, DeltaFormat::Rdiff] {
            let d = delta(&basis, &new, 1024, format);
            let ops = stream(&basis, &d, 4096).unwrap();
            for op in &ops {
                if let Op::Write { data, .. } = op {
                    assert!(data.len() <= MAX_WRITE_OP);
                }
            }
            assert_eq!(apply(&basis, &ops), new);
        }
    }

    #[test]
    fn trailing_bytes_name_their_offset() {
        let basis = b"abcdefgh".repeat(100);
        for format in [DeltaFormat::Rha, DeltaFormat::Rdiff] {
            let mut d = delta(&basis, &basis[100..], 64, format);
            let len = d.len();
            d.push(0);
            // Every chunking, including the junk byte alone in a chunk
            // after the one that ends the delta.
            for step in [1, 7, len, len + 1] {
                match stream(&basis, &d, step).unwrap_err() {
                    PatchError::Delta(e) => {
                        assert_eq!(e.kind, DeltaErrorKind::TrailingBytes, "step {step}");
                        assert_eq!(e.offset, len as u64, "step {step}");
                    }
                    other => panic!("step {step}: {other}"),
                }
            }
        }
    }

    #[test]
    fn a_short_basis_fails_with_the_basis_offset_and_the_job_stays_failed() {
        let basis: Vec<u8> = (0..1024u32).map(|i| (i * 7 + i / 251) as u8).collect();
        let mut new = basis[16..].to_vec();
        new.extend_from_slice(b"tail");
        let d = delta(&basis, &new, 16, DeltaFormat::Rha);
        let short = &basis[..100];
        let mut job = DeltaOpsJob::new(short, path());
        let mut input = &d[..];
        let err = loop {
            match job.next(&mut input, true) {
                Ok(OpsStep::Op(_)) => {}
                Ok(other) => panic!("{other:?}"),
                Err(e) => break e,
            }
        };
        assert!(
            matches!(err, PatchError::Basis { offset: 100, .. }),
            "{err}"
        );
        assert!(matches!(
            job.next(&mut &[][..], true),
            Err(PatchError::Finished)
        ));
    }
}
