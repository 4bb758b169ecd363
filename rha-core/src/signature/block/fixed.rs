//! Fixed-offset comparison: for volumes and files rewritten in place, the
//! replica compares signatures block by block and asks for exactly the
//! blocks it lacks; the master answers with a delta of just those.

use std::mem;

use super::error::{JobError, PatchError};
use super::format::{DeltaFormat, Encoder};
use super::patch::ReadAt;
use super::queue::{OutQueue, Progress, HIGH_WATER};
use super::sig::{Signature, SignatureKind};

/// The blocks a replica needs, from [`compare_fixed`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixedPlan {
    /// Block length of both signatures.
    pub block_len: u32,
    /// The master's length: the replica's final length.
    pub target_len: u64,
    /// The master's whole-file hash, checked after patching.
    pub target_hash: [u8; 32],
    /// The replica's length when it was signed: the delta names it, and
    /// the patcher refuses any other target before writing.
    pub basis_len: u64,
    /// The replica's whole-file hash when it was signed (checked with
    /// `basis_len` before anything is written).
    pub basis_hash: [u8; 32],
    /// Byte ranges `(start, len)` of the master to send, ascending, merged,
    /// within `target_len`.
    pub ranges: Vec<(u64, u64)>,
}

impl FixedPlan {
    /// Bytes to send.
    pub fn needed_bytes(&self) -> u64 {
        self.ranges.iter().map(|r| r.1).sum()
    }
    /// Bytes the replica already holds at the right place.
    pub fn same_bytes(&self) -> u64 {
        self.target_len - self.needed_bytes()
    }
}

/// Compares the replica's and the master's rha signatures position by
/// position. Both must use the same block length; strong hashes are
/// compared on their common prefix.
pub fn compare_fixed(replica: &Signature, master: &Signature) -> Result<FixedPlan, JobError> {
    if replica.kind() != SignatureKind::Rha || master.kind() != SignatureKind::Rha {
        return Err(JobError::InvalidParams(
            "fixed-offset comparison needs rha signatures with BLAKE3 block hashes \
             (the master's whole-file hash is checked after patching)"
                .into(),
        ));
    }
    if replica.block_len() != master.block_len() {
        return Err(JobError::InvalidParams(format!(
            "block lengths differ: replica {}, master {}",
            replica.block_len(),
            master.block_len()
        )));
    }
    let (Some(target_len), Some(&target_hash)) = (master.file_len(), master.file_hash()) else {
        return Err(JobError::InvalidParams(
            "the master signature lacks its length or hash".into(),
        ));
    };
    let (Some(basis_len), Some(&basis_hash)) = (replica.file_len(), replica.file_hash()) else {
        return Err(JobError::InvalidParams(
            "the replica signature lacks its length or hash".into(),
        ));
    };
    let l = usize::from(replica.strong_len().min(master.strong_len()));
    let bl = u64::from(master.block_len());
    let mut ranges: Vec<(u64, u64)> = Vec::new();
    for i in 0..master.block_count() {
        let same = i < replica.block_count()
            && replica.block_len_of(i) == master.block_len_of(i)
            && replica.weak(i as usize) == master.weak(i as usize)
            && replica.strong(i as usize).map(|s| &s[..l])
                == master.strong(i as usize).map(|s| &s[..l]);
        if !same {
            let start = i * bl;
            let len = master.block_len_of(i).unwrap_or(0);
            match ranges.last_mut() {
                Some(r) if r.0 + r.1 == start => r.1 += len,
                _ => ranges.push((start, len)),
            }
        }
    }
    Ok(FixedPlan {
        block_len: master.block_len(),
        target_len,
        target_hash,
        basis_len,
        basis_hash,
        ranges,
    })
}

/// The master's answer to a [`FixedPlan`]: an rha delta whose copies are
/// all identity copies (so it applies in place), with literals read from the
/// master at random. The delta starts by naming its basis (the replica as
/// signed), so a patcher given any other file refuses it before writing.
/// Memory: one block plus the output queue.
#[derive(Debug)]
pub struct FixedDeltaJob<M> {
    master: M,
    plan: FixedPlan,
    next_range: usize,
    /// Output offset reached.
    pos: u64,
    enc: Encoder,
    out: OutQueue,
    buf: Vec<u8>,
    done: bool,
}

impl<M: ReadAt> FixedDeltaJob<M> {
    /// A job reading the needed ranges from `master`.
    pub fn new(master: M, plan: FixedPlan) -> Self {
        let mut out = OutQueue::default();
        let mut enc = Encoder::new(DeltaFormat::Rha, plan.block_len, out.buf());
        enc.basis(
            (plan.basis_len, &plan.basis_hash),
            (plan.target_len, &plan.target_hash),
            out.buf(),
        );
        Self {
            master,
            plan,
            next_range: 0,
            pos: 0,
            enc,
            out,
            buf: Vec::new(),
            done: false,
        }
    }

    /// Writes delta bytes to `output`; call until [`Progress::done`].
    pub fn run(&mut self, output: &mut [u8]) -> Result<Progress, PatchError> {
        let mut p = Progress {
            produced: self.out.drain_into(output),
            ..Progress::default()
        };
        while self.out.len() < HIGH_WATER && !self.done {
            match self.plan.ranges.get(self.next_range).copied() {
                Some((start, len)) => {
                    self.enc.copy(self.pos, start - self.pos, self.out.buf());
                    let mut at = start;
                    while at < start + len {
                        let n = (start + len - at).min(1 << 20) as usize;
                        self.buf.resize(n, 0);
                        read_exact_at(&mut self.master, at, &mut self.buf)?;
                        let buf = mem::take(&mut self.buf);
                        self.enc.literal(&buf, self.out.buf());
                        self.buf = buf;
                        at += n as u64;
                    }
                    self.pos = start + len;
                    self.next_range += 1;
                }
                None => {
                    let len = self.plan.target_len;
                    self.enc.copy(self.pos, len - self.pos, self.out.buf());
                    self.enc.end(len, &self.plan.target_hash, self.out.buf());
                    self.done = true;
                }
            }
            p.produced += self.out.drain_into(&mut output[p.produced..]);
        }
        p.done = self.done && self.out.is_empty();
        Ok(p)
    }
}

/// Fills `buf` from `src` at `offset`.
pub(crate) fn read_exact_at<R: ReadAt>(
    src: &mut R,
    offset: u64,
    buf: &mut [u8],
) -> Result<(), PatchError> {
    let mut got = 0;
    while got < buf.len() {
        let at = offset + got as u64;
        let n = src
            .read_at(at, &mut buf[got..])
            .map_err(|source| PatchError::Basis { offset: at, source })?;
        if n == 0 {
            return Err(PatchError::Basis {
                offset: at,
                source: std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the source ends early",
                ),
            });
        }
        got += n;
    }
    Ok(())
}
