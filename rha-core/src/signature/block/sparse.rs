//! Applying a delta into a new sparse file: zero runs are handed back as
//! lengths to skip, not produced as bytes.

use super::error::{hex, PatchError};
use super::format::{Command, DeltaDecoder};
use super::hash::FileHasher;
use super::patch::{check_basis, fill, Current, PatchOptions, ReadAt};

/// What one call of [`SparsePatchJob::run`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SparseProgress {
    /// Delta bytes consumed (the caller drops them).
    pub consumed: usize,
    /// Output bytes written at the start of the output slice.
    pub produced: usize,
    /// Zero bytes that follow the produced ones: the caller skips them
    /// (leaves a hole) rather than writing them. Not 0 only when the call
    /// ended at a zero run.
    pub zeros: u64,
    /// The job has produced all of its output; further calls produce nothing.
    pub done: bool,
}

/// A decoded command, without the borrow of the decoder (a literal's bytes
/// stay there).
#[derive(Debug, Clone, Copy)]
enum Cmd {
    Copy { start: u64, len: u64 },
    Literal(usize),
    Zero(u64),
    Basis { len: u64, hash: [u8; 32] },
    End(Option<[u8; 32]>),
}

/// Applies a delta (rha or rdiff format) fed in chunks of any size to a
/// basis read at random, like [`PatchJob`](super::PatchJob), for a target
/// written at increasing offsets into a fresh file: each zero run of the
/// delta (the holes of a sparse file, [`DeltaJob::run_zeros`](super::DeltaJob::run_zeros))
/// is returned as a length to skip ([`SparseProgress::zeros`]) instead of
/// being produced, so a terabyte hole costs nothing. The caller sets the
/// file's length at the end. Memory: one delta command (at most 1 MiB).
///
/// For an rha delta the output's whole-file hash is checked at the end,
/// the zero runs hashed as known zeros: a mismatch is
/// [`PatchError::HashMismatch`], and the caller should discard the output
/// and fall back to a full copy.
///
/// ```
/// use rha_core::signature::block::*;
///
/// let basis = b"0123456789abcdef".repeat(64);
/// let mut new = vec![0u8; 8192];
/// new.extend_from_slice(&basis);
/// let params = SignatureParams::new(basis.len() as u64).with_block_len(256)?;
/// let sig = Signature::from_bytes(&signature_of(&basis, params)?)?;
/// let (delta, _) = delta_of(sig, &new, DeltaFormat::Rha)?;
///
/// let mut job = SparsePatchJob::new(&basis[..], PatchOptions::default());
/// let (mut out, mut room) = (Vec::new(), vec![0u8; 4096]);
/// let (mut input, mut skipped) = (&delta[..], 0);
/// loop {
///     let p = job.run(input, &mut room, true)?;
///     input = &input[p.consumed..];
///     out.extend_from_slice(&room[..p.produced]);
///     out.resize(out.len() + p.zeros as usize, 0);
///     skipped += p.zeros;
///     if p.done { break; }
/// }
/// assert_eq!((out, skipped), (new, 8192));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct SparsePatchJob<B> {
    basis: B,
    options: PatchOptions,
    dec: DeltaDecoder,
    cur: Current,
    produced: u64,
    hasher: Option<FileHasher>,
    done: bool,
    failed: bool,
}

impl<B: ReadAt> SparsePatchJob<B> {
    /// A job reading copies from `basis`.
    pub fn new(basis: B, options: PatchOptions) -> Self {
        Self {
            basis,
            options,
            dec: DeltaDecoder::new(),
            cur: Current::Idle,
            produced: 0,
            hasher: None,
            done: false,
            failed: false,
        }
    }

    /// Output bytes produced or skipped so far.
    pub fn produced(&self) -> u64 {
        self.produced
    }

    /// Consumes delta bytes from `input` and writes output bytes to
    /// `output`, stopping after a zero run (returned in
    /// [`SparseProgress::zeros`]). Call again with the unconsumed input
    /// (and more) until [`SparseProgress::done`]; `end` says no more input
    /// will come (a delta that has not ended by then is truncated).
    pub fn run(
        &mut self,
        input: &[u8],
        output: &mut [u8],
        end: bool,
    ) -> Result<SparseProgress, PatchError> {
        if self.failed {
            return Err(PatchError::Finished);
        }
        let r = self.step(input, output, end);
        if r.is_err() {
            self.failed = true;
        }
        r
    }

    fn step(
        &mut self,
        input: &[u8],
        output: &mut [u8],
        end: bool,
    ) -> Result<SparseProgress, PatchError> {
        let mut rest = input;
        let mut p = SparseProgress::default();
        loop {
            if p.produced < output.len() {
                let room = &mut output[p.produced..];
                let n = self.advance(room)?;
                if let Some(h) = &mut self.hasher {
                    h.update(&room[..n]);
                }
                p.produced += n;
                self.produced += n as u64;
            }
            if !matches!(self.cur, Current::Idle) {
                // Output is full.
                break;
            }
            if self.done {
                if !rest.is_empty() {
                    self.dec.next(&mut rest)?;
                    return Err(PatchError::Finished);
                }
                p.done = end;
                break;
            }
            let offset = self.dec.offset();
            let cmd = match self.dec.next(&mut rest)? {
                None => {
                    if end {
                        self.dec.finish()?;
                    }
                    break;
                }
                Some(Command::Copy { start, len }) => Cmd::Copy { start, len },
                Some(Command::Literal(d)) => Cmd::Literal(d.len()),
                Some(Command::Zero { len }) => Cmd::Zero(len),
                Some(Command::Basis { len, hash, .. }) => Cmd::Basis { len, hash },
                Some(Command::End { hash, .. }) => Cmd::End(hash),
            };
            if self.hasher.is_none() {
                // The header, and with it the hash's block length, comes
                // with the first command.
                self.hasher = self.dec.block_len().map(FileHasher::new);
            }
            let len = match cmd {
                Cmd::Copy { len, .. } | Cmd::Zero(len) => len,
                Cmd::Literal(len) => len as u64,
                Cmd::Basis { .. } | Cmd::End(_) => 0,
            };
            if self.produced.saturating_add(len) > self.options.max_output {
                return Err(PatchError::OutputTooLarge {
                    max: self.options.max_output,
                });
            }
            match cmd {
                Cmd::Copy { start, len } => {
                    if let Some(basis_len) = self.options.basis_len {
                        if start.checked_add(len).is_none_or(|e| e > basis_len) {
                            return Err(PatchError::CopyOutOfRange {
                                offset,
                                start,
                                len,
                                basis_len,
                            });
                        }
                    }
                    self.cur = Current::Copy {
                        from: start,
                        left: len,
                    };
                }
                Cmd::Literal(len) => self.cur = Current::Literal { at: 0, len },
                Cmd::Basis { len, hash } => {
                    let block_len = self.dec.block_len().unwrap_or(1);
                    check_basis(&mut self.basis, (len, &hash), None, block_len)?;
                }
                Cmd::Zero(len) => {
                    if let Some(h) = &mut self.hasher {
                        h.push_zeros(len);
                    }
                    self.produced += len;
                    p.zeros = len;
                    break;
                }
                Cmd::End(hash) => {
                    if let (Some(expected), Some(h)) = (hash, self.hasher.take()) {
                        let actual = h.finalize();
                        if actual != expected {
                            return Err(PatchError::HashMismatch {
                                expected: hex(&expected),
                                actual: hex(&actual),
                            });
                        }
                    }
                    self.done = true;
                }
            }
        }
        p.consumed = input.len() - rest.len();
        Ok(p)
    }

    /// Fills `room` from the current command; returns the bytes written.
    fn advance(&mut self, room: &mut [u8]) -> Result<usize, PatchError> {
        fill(&mut self.cur, &mut self.basis, self.dec.literal(), room)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

    use std::io;

    use proptest::prelude::*;

    use super::super::*;

    /// A file as data pieces and holes (lengths of zeros).
    #[derive(Debug, Clone)]
    enum Seg {
        Data(Vec<u8>),
        Hole(u64),
    }

    fn dense(segs: &[Seg]) -> Vec<u8> {
        let mut v = Vec::new();
        for s in segs {
            match s {
                Seg::Data(d) => v.extend_from_slice(d),
                Seg::Hole(n) => v.resize(v.len() + *n as usize, 0),
            }
        }
        v
    }

    fn sign_sparse(segs: &[Seg], params: SignatureParams, out_step: usize) -> Vec<u8> {
        let mut job = SignatureJob::new(params);
        let (mut out, mut room) = (Vec::new(), vec![0u8; out_step]);
        for s in segs {
            match s {
                Seg::Data(d) => {
                    let mut input = &d[..];
                    while !input.is_empty() {
                        let p = job.run(input, &mut room, false).unwrap();
                        input = &input[p.consumed..];
                        out.extend_from_slice(&room[..p.produced]);
                    }
                }
                Seg::Hole(n) => {
                    let mut left = *n;
                    while left > 0 {
                        let p = job.run_zeros(left, &mut room).unwrap();
                        left -= p.consumed as u64;
                        out.extend_from_slice(&room[..p.produced]);
                    }
                }
            }
        }
        loop {
            let p = job.run(&[], &mut room, true).unwrap();
            out.extend_from_slice(&room[..p.produced]);
            if p.done {
                return out;
            }
        }
    }

    fn delta_sparse(
        sig: Signature,
        segs: &[Seg],
        format: DeltaFormat,
        out_step: usize,
    ) -> (Vec<u8>, DeltaStats) {
        let mut job = DeltaJob::new(sig, format);
        let (mut out, mut room) = (Vec::new(), vec![0u8; out_step]);
        for s in segs {
            match s {
                Seg::Data(d) => {
                    let mut input = &d[..];
                    while !input.is_empty() {
                        let p = job.run(input, &mut room, false).unwrap();
                        input = &input[p.consumed..];
                        out.extend_from_slice(&room[..p.produced]);
                    }
                }
                Seg::Hole(n) => {
                    let mut left = *n;
                    while left > 0 {
                        let p = job.run_zeros(left, &mut room).unwrap();
                        left -= p.consumed as u64;
                        out.extend_from_slice(&room[..p.produced]);
                    }
                }
            }
        }
        loop {
            let p = job.run(&[], &mut room, true).unwrap();
            out.extend_from_slice(&room[..p.produced]);
            if p.done {
                return (out, job.stats());
            }
        }
    }

    /// Applies `delta` with a sparse job; the output and the bytes skipped.
    fn patch_sparse(
        basis: &[u8],
        delta: &[u8],
        step: usize,
        out_step: usize,
    ) -> Result<(Vec<u8>, u64), PatchError> {
        let mut job = SparsePatchJob::new(basis, PatchOptions::default());
        let (mut out, mut room) = (Vec::new(), vec![0u8; out_step]);
        let (mut fed, mut skipped) = (0, 0);
        for _ in 0..10_000_000 {
            let end = (fed + step).min(delta.len());
            let p = job.run(&delta[fed..end], &mut room, end == delta.len())?;
            fed += p.consumed;
            out.extend_from_slice(&room[..p.produced]);
            out.resize(out.len() + p.zeros as usize, 0);
            skipped += p.zeros;
            if p.done {
                assert_eq!(job.produced(), out.len() as u64);
                return Ok((out, skipped));
            }
        }
        panic!("patch did not finish");
    }

    fn segs_strategy() -> impl Strategy<Value = Vec<Seg>> {
        proptest::collection::vec(
            prop_oneof![
                proptest::collection::vec(any::<u8>(), 1..700).prop_map(Seg::Data),
                proptest::collection::vec(0u8..2, 1..700).prop_map(Seg::Data),
                (1u64..5000).prop_map(Seg::Hole),
            ],
            0..8,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn holes_sign_delta_and_patch_as_their_zeros(
            basis_segs in segs_strategy(),
            new_segs in segs_strategy(),
            block_len in prop_oneof![Just(16u32), Just(64), Just(256)],
            out_step in 1usize..3000,
            step in 1usize..3000,
            xxh3 in any::<bool>(),
        ) {
            let (basis, new) = (dense(&basis_segs), dense(&new_segs));
            let hash = if xxh3 { StrongHash::Xxh3 } else { StrongHash::Blake3 };
            let params = SignatureParams::new(basis.len() as u64)
                .with_block_len(block_len)
                .unwrap()
                .with_strong_hash(hash);
            let sig_bytes = sign_sparse(&basis_segs, params, out_step);
            prop_assert_eq!(&sig_bytes, &signature_of(&basis, params).unwrap());
            let sig = Signature::from_bytes(&sig_bytes).unwrap();

            let (delta, stats) = delta_sparse(sig.clone(), &new_segs, DeltaFormat::Rha, out_step);
            prop_assert_eq!(
                stats.literal_bytes + stats.matched_bytes + stats.hole_bytes,
                new.len() as u64
            );
            let (out, skipped) = patch_sparse(&basis, &delta, step, out_step).unwrap();
            prop_assert_eq!(&out, &new);
            prop_assert!(skipped >= stats.hole_bytes);
            // An ordinary patch reads the same delta.
            prop_assert_eq!(&patch_of(&basis[..], &delta, u64::MAX).unwrap(), &new);

            let (rdiff, _) = delta_sparse(sig, &new_segs, DeltaFormat::Rdiff, out_step);
            prop_assert_eq!(&patch_sparse(&basis, &rdiff, step, out_step).unwrap().0, &new);
        }
    }

    proptest! {
        #[test]
        fn hostile_deltas_never_panic(
            bytes in proptest::collection::vec(any::<u8>(), 0..200),
            basis in proptest::collection::vec(any::<u8>(), 0..100),
        ) {
            let mut delta = DELTA_MAGIC.to_vec();
            delta.extend_from_slice(&bytes);
            for input in [&bytes[..], &delta[..]] {
                let options = PatchOptions::default().max_output(1 << 20);
                let mut job = SparsePatchJob::new(&basis[..], options);
                let mut room = vec![0u8; 64];
                let mut input = input;
                for _ in 0..10_000 {
                    match job.run(input, &mut room, true) {
                        Ok(p) if !p.done && (p.consumed > 0 || p.produced > 0 || p.zeros > 0) => {
                            input = &input[p.consumed..];
                        }
                        _ => break,
                    }
                }
            }
        }
    }

    #[test]
    fn a_wrong_basis_is_a_hash_mismatch() {
        let basis: Vec<u8> = (0..5000u32).map(|i| (i % 253) as u8).collect();
        let segs = [
            Seg::Data(basis[..2000].to_vec()),
            Seg::Hole(10_000),
            Seg::Data(basis.clone()),
        ];
        let params = SignatureParams::new(basis.len() as u64)
            .with_block_len(256)
            .unwrap();
        let sig = Signature::from_bytes(&signature_of(&basis, params).unwrap()).unwrap();
        let (delta, _) = delta_sparse(sig, &segs, DeltaFormat::Rha, 4096);
        let mut wrong = basis.clone();
        wrong[300] ^= 1;
        assert!(matches!(
            patch_sparse(&wrong, &delta, 100, 1000),
            Err(PatchError::HashMismatch { .. })
        ));
        assert_eq!(
            patch_sparse(&basis, &delta, 100, 1000).unwrap().0,
            dense(&segs)
        );
    }

    #[test]
    fn a_large_hole_is_one_zero_run_and_blocks_at_its_edges_match() {
        let bl = 1024u64;
        let data: Vec<u8> = (0..3000u32).map(|i| (i % 251 + 1) as u8).collect();
        // Data, a hole of a gigabyte, data: the basis is the same file.
        let segs = [
            Seg::Data(data.clone()),
            Seg::Hole(1 << 30),
            Seg::Data(data.clone()),
        ];
        let len = 2 * data.len() as u64 + (1 << 30);
        let params = SignatureParams::new(len).with_block_len(bl as u32).unwrap();
        let sig = Signature::from_bytes(&sign_sparse(&segs, params, 64 << 10)).unwrap();
        assert_eq!(sig.block_count(), len.div_ceil(bl));
        let (delta, stats) = delta_sparse(sig, &segs, DeltaFormat::Rha, 64 << 10);
        assert!(delta.len() < 1000, "{}", delta.len());
        assert_eq!(stats.literal_bytes, 0, "{stats:?}");
        assert!(stats.hole_bytes > (1 << 30) - 2 * bl, "{stats:?}");

        // Patched against a basis of the same shape, read through a view
        // that answers zeros for the hole.
        struct View(Vec<u8>);
        impl ReadAt for View {
            fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
                let (head, hole) = (3000u64, 1u64 << 30);
                for (i, b) in buf.iter_mut().enumerate() {
                    let at = offset + i as u64;
                    *b = if at < head {
                        self.0[at as usize]
                    } else if at < head + hole {
                        0
                    } else {
                        self.0[(at - head - hole) as usize]
                    };
                }
                Ok(buf
                    .len()
                    .min((2 * head + hole).saturating_sub(offset) as usize))
            }
        }
        let mut job = SparsePatchJob::new(View(data), PatchOptions::default());
        let mut room = vec![0u8; 1 << 16];
        let (mut input, mut written, mut skipped) = (&delta[..], 0u64, 0u64);
        loop {
            let p = job.run(input, &mut room, true).unwrap();
            input = &input[p.consumed..];
            written += p.produced as u64;
            skipped += p.zeros;
            if p.done {
                break;
            }
        }
        assert_eq!(written + skipped, len);
        assert!(skipped >= stats.hole_bytes);
    }

    #[test]
    fn zeros_past_the_declared_length_or_end_are_refused() {
        let mut job = SignatureJob::new(SignatureParams::new(100));
        let mut room = vec![0u8; 1024];
        assert!(matches!(
            job.run_zeros(101, &mut room),
            Err(JobError::InputLength { declared: 100, .. })
        ));
        assert_eq!(job.run_zeros(100, &mut room).unwrap().consumed, 100);
        let sig = Signature::from_bytes(&signature_of(&[0; 10], SignatureParams::new(10)).unwrap())
            .unwrap();
        let mut delta = DeltaJob::new(sig, DeltaFormat::Rha);
        loop {
            if delta.run(&[], &mut room, true).unwrap().done {
                break;
            }
        }
        assert!(matches!(
            delta.run_zeros(1, &mut room),
            Err(JobError::AfterEnd)
        ));
    }
}
