//! Properties and corruption cases of block signatures, deltas and patches.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use proptest::prelude::*;

use super::*;
use crate::journal::{Op, RelPath};

fn sig_bytes(data: &[u8], block_len: u32) -> Vec<u8> {
    let params = SignatureParams::new(data.len() as u64)
        .with_block_len(block_len)
        .unwrap();
    signature_of(data, params).unwrap()
}

fn sig(data: &[u8], block_len: u32) -> Signature {
    Signature::from_bytes(&sig_bytes(data, block_len)).unwrap()
}

/// An rdiff signature of `data` as `rdiff signature -H blake2` writes it,
/// with RabinKarp (or the older rollsum) weak sums and 32-byte BLAKE2b.
fn rdiff_sig(data: &[u8], block_len: u32, rollsum: bool) -> Signature {
    use super::rolling::{RabinKarp, Rolling, Rollsum};
    let magic = if rollsum {
        RDIFF_BLAKE2_MAGIC
    } else {
        RDIFF_RK_BLAKE2_MAGIC
    };
    let mut out = magic.to_be_bytes().to_vec();
    out.extend_from_slice(&block_len.to_be_bytes());
    out.extend_from_slice(&32u32.to_be_bytes());
    for b in data.chunks(block_len as usize) {
        let weak = if rollsum {
            Rollsum::new(b).digest()
        } else {
            RabinKarp::new(b).digest()
        };
        out.extend_from_slice(&weak.to_be_bytes());
        out.extend_from_slice(&super::hash::blake2_block(b));
    }
    Signature::from_bytes(&out).unwrap()
}

/// Runs a signature job feeding `step` bytes and offering `out_step` bytes of room.
fn sig_chunked(data: &[u8], block_len: u32, step: usize, out_step: usize) -> Vec<u8> {
    let params = SignatureParams::new(data.len() as u64)
        .with_block_len(block_len)
        .unwrap();
    let mut job = SignatureJob::new(params);
    let mut out = Vec::new();
    let mut room = vec![0u8; out_step];
    let mut fed = 0;
    loop {
        let end = (fed + step).min(data.len());
        let last = end == data.len();
        let p = job.run(&data[fed..end], &mut room, last).unwrap();
        fed += p.consumed;
        out.extend_from_slice(&room[..p.produced]);
        if p.done {
            return out;
        }
    }
}

fn delta_chunked(
    sig: Signature,
    new: &[u8],
    format: DeltaFormat,
    step: usize,
    out_step: usize,
) -> Vec<u8> {
    let mut job = DeltaJob::new(sig, format);
    let mut out = Vec::new();
    let mut room = vec![0u8; out_step];
    let mut fed = 0;
    loop {
        let end = (fed + step).min(new.len());
        let p = job
            .run(&new[fed..end], &mut room, end == new.len())
            .unwrap();
        fed += p.consumed;
        out.extend_from_slice(&room[..p.produced]);
        if p.done {
            return out;
        }
    }
}

fn patch_chunked(
    basis: &[u8],
    delta: &[u8],
    step: usize,
    out_step: usize,
) -> Result<Vec<u8>, PatchError> {
    let mut job = PatchJob::new(basis, PatchOptions::default());
    let mut out = Vec::new();
    let mut room = vec![0u8; out_step];
    let mut fed = 0;
    for _ in 0..10_000_000 {
        let end = (fed + step).min(delta.len());
        let p = job.run(&delta[fed..end], &mut room, end == delta.len())?;
        fed += p.consumed;
        out.extend_from_slice(&room[..p.produced]);
        if p.done {
            return Ok(out);
        }
    }
    panic!("patch did not finish");
}

/// A new file derived from `basis` by edits.
fn edited(basis: &[u8], edits: &[(usize, u8, Vec<u8>)]) -> Vec<u8> {
    let mut v = basis.to_vec();
    for (at, kind, bytes) in edits {
        let at = if v.is_empty() { 0 } else { at % (v.len() + 1) };
        match kind % 3 {
            0 => {
                v.splice(at..at, bytes.iter().copied());
            }
            1 => {
                let end = (at + bytes.len()).min(v.len());
                v.drain(at..end);
            }
            _ => {
                for (i, b) in bytes.iter().enumerate() {
                    if let Some(x) = v.get_mut(at + i) {
                        *x = *b;
                    }
                }
            }
        }
    }
    v
}

fn data_strategy() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..6000),
        proptest::collection::vec(0u8..3, 0..6000),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn rdiff_signature_deltas_do_not_depend_on_chunking(
        basis in data_strategy(),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), proptest::collection::vec(any::<u8>(), 1..300)), 0..5),
        block_len in prop_oneof![Just(16u32), Just(64), Just(200)],
        step in 1usize..5000,
        rollsum in any::<bool>(),
    ) {
        // Runs of matching blocks are checked in batches after a match;
        // fed a byte at a time they are found one by one instead.
        let new = edited(&basis, &edits);
        let s = rdiff_sig(&basis, block_len, rollsum);
        let whole = delta_of(s.clone(), &new, DeltaFormat::Rdiff).unwrap().0;
        prop_assert_eq!(&delta_chunked(s.clone(), &new, DeltaFormat::Rdiff, step, 4096), &whole);
        prop_assert_eq!(&delta_chunked(s, &new, DeltaFormat::Rdiff, 1, 4096), &whole);
        prop_assert_eq!(&patch_chunked(&basis, &whole, 4096, 4096).unwrap(), &new);
    }

    #[test]
    fn patch_of_delta_of_signature_is_the_new_file(
        basis in data_strategy(),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), proptest::collection::vec(any::<u8>(), 1..300)), 0..5),
        block_len in prop_oneof![Just(16u32), Just(64), Just(1024)],
        step in 1usize..5000,
        out_step in 1usize..3000,
        rdiff in any::<bool>(),
    ) {
        let new = edited(&basis, &edits);
        let format = if rdiff { DeltaFormat::Rdiff } else { DeltaFormat::Rha };
        let s = sig(&basis, block_len);
        let delta = delta_chunked(s.clone(), &new, format, step, out_step);
        prop_assert_eq!(&delta, &delta_of(s, &new, format).unwrap().0);
        prop_assert_eq!(&patch_chunked(&basis, &delta, step, out_step).unwrap(), &new);
    }

    #[test]
    fn signatures_do_not_depend_on_chunking(
        data in data_strategy(),
        step in 1usize..5000,
        out_step in 1usize..100,
    ) {
        let whole = sig_bytes(&data, 64);
        prop_assert_eq!(&sig_chunked(&data, 64, step, out_step), &whole);
        let mut loader = SignatureLoader::new(DEFAULT_MAX_BLOCKS);
        for c in whole.chunks(step.min(97)) {
            loader.feed(c).unwrap();
        }
        let s = loader.finish().unwrap();
        prop_assert_eq!(s.to_bytes().unwrap(), whole);
        prop_assert_eq!(s.file_hash(), Some(&file_hash(&data, 64)));
    }

    #[test]
    fn fixed_offset_sync_in_place(
        replica in data_strategy(),
        master in data_strategy(),
    ) {
        let rs = sig(&replica, 64);
        let ms = sig(&master, 64);
        let plan = compare_fixed(&rs, &ms).unwrap();
        let mut job = FixedDeltaJob::new(&master[..], plan.clone());
        let mut delta = Vec::new();
        let mut room = [0u8; 333];
        loop {
            let p = job.run(&mut room).unwrap();
            delta.extend_from_slice(&room[..p.produced]);
            if p.done { break; }
        }
        let mut patch = InPlacePatch::new(replica.clone(), u64::MAX);
        for c in delta.chunks(100) {
            patch.run(c, false).unwrap();
        }
        let p = patch.run(&[], true).unwrap();
        prop_assert!(p.done);
        prop_assert!(patch.written() <= plan.needed_bytes());
        prop_assert_eq!(patch.into_target(), master);
    }

    #[test]
    fn journal_ops_rebuild_the_new_file(
        basis in data_strategy(),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), proptest::collection::vec(any::<u8>(), 1..300)), 0..5),
    ) {
        let new = edited(&basis, &edits);
        let (delta, _) = delta_of(sig(&basis, 64), &new, DeltaFormat::Rha).unwrap();
        let path = RelPath::new("f").unwrap();
        let mut ops = Vec::new();
        let hash = delta_to_ops(&delta, &path, &mut &basis[..], u64::MAX, |op| ops.push(op)).unwrap();
        let mut file = basis.clone();
        for op in ops {
            match op {
                Op::Write { offset, data, .. } => file.write_at(offset, &data).unwrap(),
                Op::SetLen { len, .. } => WriteAt::set_len(&mut file, len).unwrap(),
                other => panic!("unexpected {other:?}"),
            }
        }
        prop_assert_eq!(hash, Some(file_hash(&new, 64)));
        prop_assert_eq!(file, new);
    }

    #[test]
    fn hostile_deltas_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200), basis in proptest::collection::vec(any::<u8>(), 0..100)) {
        let mut with_header = DELTA_MAGIC.to_vec();
        with_header.extend_from_slice(&bytes);
        for d in [&bytes, &with_header] {
            let _ = patch_of(&basis[..], d, 1 << 20);
        }
        let mut rdiff = RDIFF_DELTA_MAGIC.to_be_bytes().to_vec();
        rdiff.extend_from_slice(&bytes);
        let _ = patch_of(&basis[..], &rdiff, 1 << 20);
    }

    #[test]
    fn hostile_signatures_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = Signature::from_bytes(&bytes);
        let mut rha = sig_bytes(&[1, 2, 3], 16)[..8].to_vec();
        rha.extend_from_slice(&bytes);
        let _ = Signature::from_bytes(&rha);
    }
}

#[test]
fn unrelated_data_gives_literals_and_identical_data_copies() {
    let a: Vec<u8> = (0..50_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let b: Vec<u8> = (0..50_000u32)
        .map(|i| (i.wrapping_mul(40_503) >> 7) as u8)
        .collect();
    let (_, stats) = delta_of(sig(&a, 1024), &b, DeltaFormat::Rha).unwrap();
    assert_eq!(stats.matched_bytes, 0);
    let (delta, stats) = delta_of(sig(&a, 1024), &a, DeltaFormat::Rha).unwrap();
    assert_eq!((stats.matched_bytes, stats.literal_bytes), (50_000, 0));
    // One merged copy and the end.
    assert_eq!(delta.len(), DELTA_HEADER_LEN + 21 + 45);
}

#[test]
fn zero_runs_stay_small() {
    let zeros = vec![0u8; 3 << 20];
    let (delta, stats) = delta_of(sig(&[], 1024), &zeros, DeltaFormat::Rha).unwrap();
    assert_eq!(stats.literal_bytes, 3 << 20);
    assert!(delta.len() < 200, "{}", delta.len());
    assert_eq!(patch_of(&[][..], &delta, u64::MAX).unwrap(), zeros);
}

fn corrupt_delta() -> (Vec<u8>, Vec<u8>) {
    let basis = b"0123456789abcdef".repeat(64);
    let mut new = basis.clone();
    new.extend_from_slice(b"tail");
    let (delta, _) = delta_of(sig(&basis, 64), &new, DeltaFormat::Rha).unwrap();
    (basis, delta)
}

#[test]
fn a_flipped_bit_is_a_checksum_error_with_its_offset() {
    let (basis, delta) = corrupt_delta();
    for i in 0..delta.len() {
        let mut bad = delta.clone();
        bad[i] ^= 0x04;
        let e = patch_of(&basis[..], &bad, u64::MAX).unwrap_err();
        let PatchError::Delta(e) = e else {
            panic!("byte {i}: {e}")
        };
        assert!(e.offset <= i as u64, "byte {i}: {e}");
    }
}

#[test]
fn truncated_deltas_are_errors() {
    let (basis, delta) = corrupt_delta();
    for n in 0..delta.len() {
        let e = patch_of(&basis[..], &delta[..n], u64::MAX).unwrap_err();
        assert!(
            matches!(
                &e,
                PatchError::Delta(DeltaError {
                    kind: DeltaErrorKind::Truncated | DeltaErrorKind::BadMagic,
                    ..
                })
            ),
            "{n}: {e}"
        );
    }
    let mut long = delta.clone();
    long.push(0);
    assert!(patch_of(&basis[..], &long, u64::MAX).is_err());
}

/// An rha delta with the given commands (raw bytes after the header).
fn raw_delta(cmds: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = format::Encoder::new(DeltaFormat::Rha, 64, &mut out);
    let _ = &mut enc;
    out.extend_from_slice(cmds);
    out
}

fn cmd(body: &[u8]) -> Vec<u8> {
    let mut v = body.to_vec();
    v.extend_from_slice(&crc32c::crc32c(body).to_le_bytes());
    v
}

#[test]
fn hostile_commands_are_clear_errors() {
    let basis = [5u8; 100];
    // Copy out of range.
    let mut c = vec![1u8];
    c.extend_from_slice(&90u64.to_le_bytes());
    c.extend_from_slice(&20u64.to_le_bytes());
    let d = raw_delta(&cmd(&c));
    let mut job = PatchJob::new(&basis[..], PatchOptions::default().basis_len(Some(100)));
    let e = job.run(&d, &mut [0u8; 64], true).unwrap_err();
    assert!(
        matches!(
            e,
            PatchError::CopyOutOfRange {
                start: 90,
                len: 20,
                basis_len: 100,
                ..
            }
        ),
        "{e}"
    );
    // Without a known basis length the short read is the error.
    let e = patch_of(&basis[..], &d, u64::MAX).unwrap_err();
    assert!(matches!(e, PatchError::Basis { offset: 100, .. }), "{e}");
    // Zero-length copy: no progress.
    let mut c = vec![1u8];
    c.extend_from_slice(&0u64.to_le_bytes());
    c.extend_from_slice(&0u64.to_le_bytes());
    let e = patch_of(&basis[..], &raw_delta(&cmd(&c)), u64::MAX).unwrap_err();
    assert!(
        e.to_string().contains("zero-length copy at byte offset 16"),
        "{e}"
    );
    // Oversized literal: refused from its header, before any allocation.
    let mut c = vec![2u8];
    c.extend_from_slice(&u32::MAX.to_le_bytes());
    let e = patch_of(&basis[..], &raw_delta(&c), u64::MAX).unwrap_err();
    assert!(
        e.to_string()
            .contains("literal of 4294967295 bytes, the limit is 1048576"),
        "{e}"
    );
    // Output cap.
    let mut c = vec![3u8];
    c.extend_from_slice(&(1u64 << 40).to_le_bytes());
    let e = patch_of(&basis[..], &raw_delta(&cmd(&c)), 1 << 20).unwrap_err();
    assert!(
        matches!(e, PatchError::OutputTooLarge { max: 1_048_576 }),
        "{e}"
    );
    // Overflowing copy range.
    let mut c = vec![1u8];
    c.extend_from_slice(&u64::MAX.to_le_bytes());
    c.extend_from_slice(&2u64.to_le_bytes());
    let e = patch_of(&basis[..], &raw_delta(&cmd(&c)), u64::MAX).unwrap_err();
    assert!(e.to_string().contains("overflows"), "{e}");
    // Unknown command.
    let e = patch_of(&basis[..], &raw_delta(&[9]), u64::MAX).unwrap_err();
    assert!(e.to_string().contains("unknown command 0x09"), "{e}");
}

#[test]
fn a_wrong_basis_is_a_hash_mismatch() {
    let basis: Vec<u8> = (0..800u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect();
    let mut new = basis.clone();
    new[10] = b'X';
    let (delta, _) = delta_of(sig(&basis, 64), &new, DeltaFormat::Rha).unwrap();
    let mut other = basis.clone();
    other[700] = b'Y';
    let e = patch_of(&other[..], &delta, u64::MAX).unwrap_err();
    assert!(matches!(e, PatchError::HashMismatch { .. }), "{e}");
    // In place too.
    let plan = compare_fixed(&sig(&basis, 64), &sig(&new, 64)).unwrap();
    let mut job = FixedDeltaJob::new(&new[..], plan);
    let mut d = vec![0u8; 4096];
    let p = job.run(&mut d).unwrap();
    assert!(p.done);
    // In place, the delta names its basis: the wrong target is refused
    // before anything is written.
    let mut patch = InPlacePatch::new(other.clone(), u64::MAX);
    let e = patch.run(&d[..p.produced], true).unwrap_err();
    assert!(matches!(e, PatchError::WrongBasis { .. }), "{e}");
    assert_eq!(patch.written(), 0);
    assert_eq!(patch.into_target(), other);
}

/// A fixed-offset delta from `replica` (as signed) to `master`.
fn fixed_delta_bytes(replica: &[u8], master: &[u8]) -> Vec<u8> {
    let plan = compare_fixed(&sig(replica, 64), &sig(master, 64)).unwrap();
    let mut job = FixedDeltaJob::new(master, plan);
    let mut delta = Vec::new();
    let mut room = vec![0u8; 4096];
    loop {
        let p = job.run(&mut room).unwrap();
        delta.extend_from_slice(&room[..p.produced]);
        if p.done {
            return delta;
        }
    }
}

#[test]
fn fixed_deltas_refuse_any_other_target_before_writing() {
    let replica: Vec<u8> = (0..5000u32).map(|i| (i % 241) as u8).collect();
    let mut master = replica.clone();
    master[100..300].fill(b'M');
    let delta = fixed_delta_bytes(&replica, &master);
    // The delta's first command names the replica as signed.
    let mut dec = DeltaDecoder::new();
    let mut input = &delta[..];
    match dec.next(&mut input).unwrap() {
        Some(Command::Basis {
            len,
            hash,
            new_len,
            new_hash,
        }) => {
            assert_eq!(len, replica.len() as u64);
            assert_eq!(hash, file_hash(&replica, 64));
            assert_eq!(new_len, master.len() as u64);
            assert_eq!(new_hash, file_hash(&master, 64));
        }
        other => panic!("expected a basis command, got {other:?}"),
    }
    let mut changed = replica.clone();
    changed[4000] ^= 1;
    let shorter = replica[..4999].to_vec();
    let mut longer = replica.clone();
    longer.push(0);
    for (target, len, hashed) in [
        (changed, 5000, true),
        (shorter, 4999, false),
        (longer, 5001, false),
        (Vec::new(), 0, false),
    ] {
        // In place: nothing written, whatever the chunking.
        let mut patch = InPlacePatch::new(target.clone(), u64::MAX);
        let mut e = None;
        for c in delta.chunks(7) {
            if let Err(err) = patch.run(c, false) {
                e = Some(err);
                break;
            }
        }
        let e = e.expect("a wrong target is refused");
        match &e {
            PatchError::WrongBasis {
                expected_len,
                actual_len,
                actual_hash,
                ..
            } => {
                assert_eq!(*expected_len, 5000);
                assert_eq!(*actual_len, len, "{e}");
                assert_eq!(actual_hash.is_some(), hashed, "{e}");
            }
            other => panic!("expected WrongBasis, got {other}"),
        }
        assert!(e.to_string().contains("nothing was written"), "{e}");
        assert_eq!(patch.written(), 0);
        assert_eq!(patch.into_target(), target);
        // Into a new file, and as journal records: refused as well.
        let e = patch_of(&target[..], &delta, u64::MAX).unwrap_err();
        assert!(matches!(e, PatchError::WrongBasis { .. }), "{e}");
        let mut sparse = SparsePatchJob::new(&target[..], PatchOptions::default());
        let mut room = vec![0u8; 1 << 16];
        let e = sparse.run(&delta, &mut room, true).unwrap_err();
        assert!(matches!(e, PatchError::WrongBasis { .. }), "{e}");
        let path = RelPath::new("f").unwrap();
        let mut ops = 0;
        let e = delta_to_ops(&delta, &path, &mut &target[..], u64::MAX, |_| ops += 1).unwrap_err();
        assert!(matches!(e, PatchError::WrongBasis { .. }), "{e}");
        assert_eq!(ops, 0);
        let mut job = DeltaOpsJob::new(&target[..], path);
        let mut input = &delta[..];
        let e = job.next(&mut input, true).unwrap_err();
        assert!(matches!(e, PatchError::WrongBasis { .. }), "{e}");
    }
    // The right target still patches, in place and into a new file.
    assert_eq!(patch_of(&replica[..], &delta, u64::MAX).unwrap(), master);
    let mut patch = InPlacePatch::new(replica, u64::MAX);
    assert!(patch.run(&delta, true).unwrap().done);
    assert!(!patch.already_patched());
    assert_eq!(patch.into_target(), master);
    // Applied again to its result (a run that ended before it reported):
    // accepted, nothing written.
    let mut patch = InPlacePatch::new(master.clone(), u64::MAX);
    assert!(patch.run(&delta, true).unwrap().done);
    assert!(patch.already_patched());
    assert_eq!(patch.written(), 0);
    assert_eq!(patch.into_target(), master);
}

#[test]
fn an_already_patched_target_of_another_length_is_recognised() {
    let replica: Vec<u8> = (0..3000u32).map(|i| (i % 199) as u8).collect();
    let mut master = replica[..2000].to_vec();
    master[10] = 0xee;
    let delta = fixed_delta_bytes(&replica, &master);
    let mut patch = InPlacePatch::new(replica, u64::MAX);
    assert!(patch.run(&delta, true).unwrap().done);
    assert_eq!(patch.into_target(), master);
    let mut patch = InPlacePatch::new(master.clone(), u64::MAX);
    assert!(patch.run(&delta, true).unwrap().done);
    assert!(patch.already_patched());
    assert_eq!(patch.into_target(), master);
}

#[test]
fn a_basis_command_only_comes_first() {
    let replica = vec![7u8; 300];
    let mut master = replica.clone();
    master[0] = 1;
    let delta = fixed_delta_bytes(&replica, &master);
    // Header (16 bytes), then the 85-byte basis command; put a second copy
    // of it after the first.
    let basis_cmd = &delta[16..101];
    assert_eq!(basis_cmd[0], 4);
    let mut twice = delta[..101].to_vec();
    twice.extend_from_slice(basis_cmd);
    twice.extend_from_slice(&delta[101..]);
    let e = patch_of(&replica[..], &twice, u64::MAX).unwrap_err();
    match e {
        PatchError::Delta(d) => {
            assert_eq!(d.kind, DeltaErrorKind::MisplacedBasis);
            assert_eq!(d.offset, 101);
        }
        other => panic!("expected MisplacedBasis, got {other}"),
    }
    // A basis command announcing another result than the end declares (its
    // checksum redone, as a forger would).
    let mut forged = delta.clone();
    forged[60] ^= 1; // inside the announced result's length
    let crc = crc32c::crc32c(&forged[16..97]);
    forged[97..101].copy_from_slice(&crc.to_le_bytes());
    let mut patch = InPlacePatch::new(replica.clone(), u64::MAX);
    let e = patch.run(&forged, true).unwrap_err();
    assert!(
        matches!(&e, PatchError::Delta(d) if d.kind == DeltaErrorKind::EndContradictsBasis),
        "{e}"
    );
    // A damaged basis command is a checksum error, not a wrong target.
    let mut bad = delta.clone();
    bad[30] ^= 0xff;
    let e = patch_of(&replica[..], &bad, u64::MAX).unwrap_err();
    assert!(
        matches!(&e, PatchError::Delta(d) if d.kind == DeltaErrorKind::CommandChecksum),
        "{e}"
    );
}

#[test]
fn in_place_refuses_moving_copies() {
    let basis = b"abcdefgh".repeat(100);
    let mut new = basis.clone();
    new.insert(0, b'!');
    let (delta, _) = delta_of(sig(&basis, 64), &new, DeltaFormat::Rha).unwrap();
    let mut patch = InPlacePatch::new(basis, u64::MAX);
    let e = patch.run(&delta, true).unwrap_err();
    assert!(matches!(e, PatchError::NotInPlace { to: 1, .. }), "{e}");
}

#[test]
fn corrupt_signatures_name_the_damage() {
    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let good = sig_bytes(&data, 64);
    let err = |b: &[u8]| Signature::from_bytes(b).unwrap_err();
    assert_eq!(err(b"nope").kind, SignatureErrorKind::BadMagic);
    let mut b = good.clone();
    b[9] ^= 1;
    assert_eq!(err(&b).kind, SignatureErrorKind::HeaderChecksum);
    let entry = 4 + usize::from(good[6]);
    let mut b = good.clone();
    b[SIGNATURE_HEADER_LEN + entry * 1025 + 4 + 3] ^= 1;
    let e = err(&b);
    assert_eq!(
        (e.kind.clone(), e.offset),
        (
            SignatureErrorKind::GroupChecksum { group: 1 },
            (32 + 1024 * entry + 4) as u64
        ),
        "{e}"
    );
    let mut b = good.clone();
    let n = b.len();
    b[n - 5] ^= 1;
    assert_eq!(err(&b).kind, SignatureErrorKind::TrailerChecksum);
    assert_eq!(err(&good[..n - 1]).kind, SignatureErrorKind::Truncated);
    let mut b = good.clone();
    b.push(0);
    assert_eq!(err(&b).kind, SignatureErrorKind::TrailingBytes);
    let mut loader = SignatureLoader::new(10);
    assert!(matches!(
        loader.feed(&good).unwrap_err().kind,
        SignatureErrorKind::TooLarge { max: 10, .. }
    ));
    let mut md4 = RDIFF_RK_MD4_MAGIC.to_be_bytes().to_vec();
    md4.extend_from_slice(&[0, 0, 8, 0, 0, 0, 0, 8]);
    assert_eq!(
        err(&md4).kind,
        SignatureErrorKind::UnsupportedRdiff(RDIFF_RK_MD4_MAGIC)
    );
}

#[test]
fn delta_commands_decode_in_any_chunking() {
    let (_, delta) = corrupt_delta();
    let mut dec = DeltaDecoder::new();
    let mut n = 0;
    for b in delta.chunks(1) {
        let mut input = b;
        while let Some(c) = dec.next(&mut input).unwrap() {
            n += 1;
            if let Command::End { len, .. } = c {
                assert_eq!(len, Some(1028));
            }
        }
    }
    dec.finish().unwrap();
    assert!(n >= 2);
    assert_eq!(dec.format(), Some(DeltaFormat::Rha));
}

#[test]
fn signature_job_checks_the_declared_length() {
    let mut job = SignatureJob::new(SignatureParams::new(10));
    let e = job.run(&[0; 11], &mut [0; 100], false).unwrap_err();
    assert_eq!(
        e,
        JobError::InputLength {
            declared: 10,
            got: 11
        }
    );
    let mut job = SignatureJob::new(SignatureParams::new(10));
    let e = job.run(&[0; 9], &mut [0; 100], true).unwrap_err();
    assert_eq!(
        e,
        JobError::InputLength {
            declared: 10,
            got: 9
        }
    );
}

#[test]
fn runs_of_equal_blocks_merge_into_one_copy() {
    let zeros = vec![0u8; 100 << 10];
    let (delta, stats) = delta_of(sig(&zeros, 1024), &zeros, DeltaFormat::Rha).unwrap();
    assert_eq!(stats.matched_bytes, 100 << 10);
    assert_eq!(delta.len(), DELTA_HEADER_LEN + 21 + 45);
    assert_eq!(patch_of(&zeros[..], &delta, u64::MAX).unwrap(), zeros);
}

fn xxh3_params(len: usize, block_len: u32) -> SignatureParams {
    SignatureParams::new(len as u64)
        .with_block_len(block_len)
        .unwrap()
        .with_strong_hash(StrongHash::Xxh3)
}

/// Drives `run` over `data`, `step` bytes at a time, collecting the output.
fn drive<E: std::fmt::Debug>(
    data: &[u8],
    step: usize,
    mut run: impl FnMut(&[u8], &mut [u8], bool) -> Result<Progress, E>,
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut room = vec![0u8; 64 << 10];
    let mut fed = 0usize;
    loop {
        let end = fed.saturating_add(step).min(data.len());
        let p = run(&data[fed..end], &mut room, end == data.len()).unwrap();
        fed += p.consumed;
        out.extend_from_slice(&room[..p.produced]);
        if p.done {
            return out;
        }
    }
}

/// A signature job on `threads` threads, fed `step` bytes at a time.
fn sig_threads(data: &[u8], params: SignatureParams, threads: usize, step: usize) -> Vec<u8> {
    let mut job = SignatureJob::new(params).with_threads(threads);
    drive(data, step, |i, o, e| job.run(i, o, e))
}

/// A delta job on `threads` threads, fed `step` bytes at a time.
fn delta_threads(sig: Signature, new: &[u8], threads: usize, step: usize) -> Vec<u8> {
    let mut job = DeltaJob::new(sig, DeltaFormat::Rha).with_threads(threads);
    drive(new, step, |i, o, e| job.run(i, o, e))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn xxh3_signatures_round_trip_and_deltas_patch(
        basis in data_strategy(),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), proptest::collection::vec(any::<u8>(), 1..300)), 0..5),
        block_len in prop_oneof![Just(16u32), Just(64), Just(1024)],
        strong_len in prop_oneof![Just(8u8), Just(16), Just(17), Just(32)],
        step in 1usize..5000,
    ) {
        let params = xxh3_params(basis.len(), block_len).with_strong_len(strong_len).unwrap();
        let bytes = signature_of(&basis, params).unwrap();
        prop_assert_eq!(u16::from_le_bytes([bytes[4], bytes[5]]), 2);
        let s = Signature::from_bytes(&bytes).unwrap();
        prop_assert_eq!(s.kind(), SignatureKind::RhaXxh3);
        prop_assert_eq!(s.file_hash(), None);
        prop_assert_eq!(s.to_bytes().unwrap(), bytes.clone());
        prop_assert_eq!(sig_threads(&basis, params, 1, step), bytes);
        let new = edited(&basis, &edits);
        let delta = delta_chunked(s.clone(), &new, DeltaFormat::Rha, step, 997);
        prop_assert_eq!(&patch_chunked(&basis, &delta, step, 997).unwrap(), &new);
    }
}

#[test]
fn threads_do_not_change_signatures_or_deltas() {
    let mut basis = vec![0u8; 3 << 20];
    let mut x = 7u64;
    for b in basis.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    let mut new = basis.clone();
    new.splice(100_000..100_000, *b"inserted bytes");
    new[2_000_000..2_000_100].fill(9);
    for hash in [StrongHash::Blake3, StrongHash::Xxh3] {
        let params = SignatureParams::new(basis.len() as u64)
            .with_block_len(1024)
            .unwrap()
            .with_strong_hash(hash);
        let one = sig_threads(&basis, params, 1, usize::MAX);
        for (threads, step) in [(2, usize::MAX), (3, 1_000_001), (4, 300_000)] {
            assert_eq!(
                sig_threads(&basis, params, threads, step),
                one,
                "{hash:?} {threads}"
            );
        }
        let s = Signature::from_bytes(&one).unwrap();
        let single = delta_threads(s.clone(), &new, 1, usize::MAX);
        for (threads, step) in [(2, usize::MAX), (2, 700_001)] {
            assert_eq!(
                delta_threads(s.clone(), &new, threads, step),
                single,
                "{hash:?}"
            );
        }
        assert_eq!(patch_of(&basis[..], &single, u64::MAX).unwrap(), new);
    }
}

#[test]
fn xxh3_signature_headers_and_trailers_are_checked() {
    let data: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
    let good = signature_of(&data, xxh3_params(data.len(), 1024)).unwrap();
    let (_, stats) = delta_of(
        Signature::from_bytes(&good).unwrap(),
        &data,
        DeltaFormat::Rha,
    )
    .unwrap();
    assert_eq!((stats.literal_bytes, stats.matched_bytes), (0, 5000));
    let err = |b: &[u8]| Signature::from_bytes(b).unwrap_err();
    // Rewrites the header checksum and the trailer's, which covers it.
    let reseal = |mut b: Vec<u8>| {
        let crc = crc32c::crc32c(&b[..28]);
        b[28..32].copy_from_slice(&crc.to_le_bytes());
        let n = b.len();
        let t = crc32c::crc32c_append(crc32c::crc32c(&crc.to_le_bytes()), &b[n - 36..n - 4]);
        b[n - 4..].copy_from_slice(&t.to_le_bytes());
        b
    };
    let mut b = good.clone();
    b[12] = 7;
    assert_eq!(
        err(&reseal(b)).kind,
        SignatureErrorKind::Invalid("unknown strong hash")
    );
    let mut b = good.clone();
    b[4] = 1;
    assert_eq!(
        err(&reseal(b)).kind,
        SignatureErrorKind::Invalid("reserved bytes are not zero")
    );
    let mut b = good.clone();
    b[4] = 3;
    assert_eq!(
        err(&reseal(b)).kind,
        SignatureErrorKind::UnsupportedVersion(3)
    );
    // A non-zero whole-file hash with valid checksums.
    let mut b = good.clone();
    let n = b.len();
    b[n - 36] = 1;
    assert_eq!(
        err(&reseal(b)).kind,
        SignatureErrorKind::Invalid("an XXH3 signature's whole-file hash is not zero")
    );
    // Version 2 may also name BLAKE3; it reads as a version 1 signature.
    let v1 = sig_bytes(&data, 1024);
    let mut b = v1.clone();
    b[4] = 2;
    let s = Signature::from_bytes(&reseal(b)).unwrap();
    assert_eq!(s.kind(), SignatureKind::Rha);
    assert_eq!(s.file_hash(), Some(&file_hash(&data, 1024)));
}

#[test]
fn fixed_offset_sync_needs_blake3_signatures() {
    let data = vec![3u8; 5000];
    let x = Signature::from_bytes(&signature_of(&data, xxh3_params(data.len(), 1024)).unwrap())
        .unwrap();
    let e = compare_fixed(&x, &x).unwrap_err();
    assert!(e.to_string().contains("BLAKE3"), "{e}");
}

#[test]
fn the_strong_hash_changes_only_before_input() {
    let data = vec![5u8; 3000];
    let params = SignatureParams::new(3000).with_block_len(1024).unwrap();
    let mut job = SignatureJob::new(params);
    job.set_strong_hash(StrongHash::Xxh3).unwrap();
    job.set_threads(2);
    assert_eq!(job.params().strong_hash, StrongHash::Xxh3);
    let mut out = vec![0u8; 1 << 16];
    let p = job.run(&data[..100], &mut out, false).unwrap();
    assert_eq!(p.consumed, 100);
    assert!(job.set_strong_hash(StrongHash::Blake3).is_err());
    let p2 = job.run(&data[100..], &mut out[p.produced..], true).unwrap();
    assert!(p2.done);
    let whole = signature_of(&data, params.with_strong_hash(StrongHash::Xxh3)).unwrap();
    assert_eq!(&out[..p.produced + p2.produced], &whole[..]);
}

#[test]
fn journal_conversion_stops_at_its_output_cap() {
    // A zero run of 2^60 bytes: without the cap, about 2^40 writes.
    let mut c = vec![format::OP_ZERO];
    c.extend_from_slice(&(1u64 << 60).to_le_bytes());
    let hostile = raw_delta(&cmd(&c));
    let path = RelPath::new("f".to_owned()).unwrap();
    let mut writes = 0;
    let e = delta_to_ops(&hostile, &path, &mut &[][..], 1 << 20, |_| writes += 1).unwrap_err();
    assert!(
        matches!(e, PatchError::OutputTooLarge { max } if max == 1 << 20),
        "{e}"
    );
    assert_eq!(writes, 0);
    let mut job = DeltaOpsJob::new(&[][..], path).with_max_output(1 << 20);
    let e = job.next(&mut &hostile[..], true).unwrap_err();
    assert!(matches!(e, PatchError::OutputTooLarge { .. }), "{e}");
}

#[test]
fn patch_of_hashes_on_its_own_thread_and_still_checks() {
    let basis: Vec<u8> = (0..5000u32).map(|i| (i * 31 % 251) as u8).collect();
    let s = sig(&basis, 1024);
    // An empty new file, then 2 MB (many chunks) made of basis copies.
    let (d, _) = delta_of(s.clone(), &[], DeltaFormat::Rha).unwrap();
    assert_eq!(
        patch_of(&basis[..], &d, u64::MAX).unwrap(),
        Vec::<u8>::new()
    );
    let mut new = basis.repeat(400);
    new[1_000_000..1_000_010].fill(7);
    for format in [DeltaFormat::Rha, DeltaFormat::Rdiff] {
        let (d, _) = delta_of(s.clone(), &new, format).unwrap();
        assert_eq!(
            patch_of(&basis[..], &d, u64::MAX).unwrap(),
            new,
            "{format:?}"
        );
    }
    // A wrong basis is caught by the whole-file hash.
    let (d, _) = delta_of(s, &new, DeltaFormat::Rha).unwrap();
    let mut other = basis.clone();
    other[10] ^= 1;
    let e = patch_of(&other[..], &d, u64::MAX).unwrap_err();
    assert!(matches!(e, PatchError::HashMismatch { .. }), "{e}");
    // Errors from the job come through as they are.
    let e = patch_of(&basis[..], &d[..d.len() - 3], u64::MAX).unwrap_err();
    assert!(matches!(e, PatchError::Delta(_)), "{e}");
}

#[test]
fn in_place_refuses_a_copy_past_the_targets_end() {
    // rdiff magic, COPY offset 0 length 10 (one-byte fields), END: keeps
    // ten bytes the empty target does not have.
    let delta = [0x72, 0x73, 0x02, 0x36, 0x45, 0x00, 0x0a, 0x00];
    for target in [Vec::new(), vec![1u8; 9]] {
        let have = target.len() as u64;
        let mut patch = InPlacePatch::new(target, u64::MAX);
        let e = patch.run(&delta, true).unwrap_err();
        assert!(
            matches!(
                e,
                PatchError::CopyOutOfRange { start: 0, len: 10, basis_len, .. }
                    if basis_len == have
            ),
            "{e}"
        );
        assert_eq!(patch.into_target().len() as u64, have, "nothing written");
    }
    // The whole-file patch refuses the same delta.
    assert!(patch_of(&[][..], &delta, u64::MAX).is_err());
    // Ten bytes are there: the copy keeps them.
    let mut patch = InPlacePatch::new(vec![5u8; 10], u64::MAX);
    assert!(patch.run(&delta, true).unwrap().done);
    assert_eq!(patch.into_target(), vec![5u8; 10]);
}

#[test]
fn bytes_after_the_end_are_found_in_any_chunk() {
    let basis: Vec<u8> = (0..800u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let mut new = basis.clone();
    new[10] = b'!';
    for format in [DeltaFormat::Rha, DeltaFormat::Rdiff] {
        let (mut delta, _) = delta_of(sig(&basis, 64), &new, format).unwrap();
        let len = delta.len();
        delta.push(0);
        for step in [1, 7, len, len + 1] {
            // Whole-file patching.
            let e = patch_chunked(&basis, &delta, step, 4096).unwrap_err();
            assert!(
                matches!(&e, PatchError::Delta(d) if d.kind == DeltaErrorKind::TrailingBytes && d.offset == len as u64),
                "{format:?} step {step}: {e}"
            );
            // In place, on a copy of the basis (rha deltas of this edit
            // only copy blocks in place).
            let mut patch = InPlacePatch::new(basis.clone(), u64::MAX);
            let mut fed = 0;
            let e = loop {
                let to = (fed + step).min(delta.len());
                match patch.run(&delta[fed..to], to == delta.len()) {
                    Ok(p) => {
                        assert!(!p.done, "{format:?} step {step}: done despite junk");
                        fed += p.consumed;
                    }
                    Err(e) => break e,
                }
            };
            assert!(
                matches!(&e, PatchError::Delta(d) if d.kind == DeltaErrorKind::TrailingBytes),
                "{format:?} step {step}: {e}"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// A delta whose whole-file hash the caller computed (on its own
    /// thread, in its own chunks) is byte for byte the delta the job
    /// computes itself; without the hash, no patch accepts it.
    #[test]
    fn an_external_whole_file_hash_gives_the_same_delta(
        basis in data_strategy(),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), proptest::collection::vec(any::<u8>(), 1..300)), 0..5),
        block_len in prop_oneof![Just(16u32), Just(64), Just(1024)],
        step in 1usize..5000,
        hash_step in 1usize..5000,
    ) {
        let new = edited(&basis, &edits);
        let own = delta_threads(sig(&basis, block_len), &new, 1, step);
        let signature = sig(&basis, block_len);
        let mut hasher = WholeFileHasher::new(signature.block_len());
        for c in new.chunks(hash_step) {
            hasher.update(c);
        }
        let mut job = DeltaJob::new(signature, DeltaFormat::Rha).with_external_file_hash();
        let mut set = Some(hasher.finalize());
        let external = drive(&new, step, |i, o, e| {
            if e {
                if let Some(h) = set.take() {
                    job.set_file_hash(h);
                }
            }
            job.run(i, o, e)
        });
        prop_assert_eq!(&external, &own);
        prop_assert_eq!(patch_of(&basis[..], &own, u64::MAX).unwrap(), new.clone());

        let mut unset = DeltaJob::new(sig(&basis, block_len), DeltaFormat::Rha).with_external_file_hash();
        let without = drive(&new, step, |i, o, e| unset.run(i, o, e));
        prop_assert!(patch_of(&basis[..], &without, u64::MAX).is_err());
    }
}
