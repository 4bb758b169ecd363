//! Golden files pin versions 1 and 2 of the block signature format and
//! version 1 of the delta format: `tests/data/signature-v1.rhbs` is the
//! signature of a fixed basis (BLAKE3), `tests/data/signature-v2-xxh3.rhbs`
//! the same with XXH3 block hashes,
//! `tests/data/delta-v1.rhbd` the delta of a fixed new file against it,
//! `tests/data/fixed-delta-v1.rhbd` a fixed-offset delta (which starts by
//! naming its basis) of a rewritten copy.
//! Both must stay byte-for-byte what the writers produce, and keep
//! decoding and patching to the same results.
//!
//! Regenerate (only when adding a golden file, never to paper over a change):
//! `RHA_BLESS=1 cargo test -p rha-tests --test block_golden`.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::path::PathBuf;

use rha_core::signature::block::{
    compare_fixed, delta_of, file_hash, patch_of, signature_of, DeltaFormat, FixedDeltaJob,
    InPlacePatch, PatchError, Signature, SignatureKind, SignatureParams, StrongHash,
};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(name)
}

fn read_or_bless(name: &str, fresh: &[u8]) -> Vec<u8> {
    let file = data(name);
    if std::env::var_os("RHA_BLESS").is_some() {
        std::fs::write(&file, fresh).unwrap();
    }
    std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

/// 3000 bytes of text-like data: 2 full 1 KiB blocks and a short one.
fn basis() -> Vec<u8> {
    (0..3000u32)
        .map(|i| {
            b"abcdefghijklmnopqrstuvwxyz .,"[(i.wrapping_mul(2_654_435_761) >> 27) as usize % 29]
        })
        .collect()
}

/// The basis with bytes inserted, a block rewritten and zeros appended.
fn new_file() -> Vec<u8> {
    let mut v = basis();
    v.splice(10..10, *b"INSERTED");
    v[1500..1600].fill(b'#');
    v.extend_from_slice(&[0; 2048]);
    v
}

#[test]
fn signature_v1() {
    let params = SignatureParams::new(3000).with_block_len(1024).unwrap();
    let fresh = signature_of(&basis(), params).unwrap();
    let golden = read_or_bless("signature-v1.rhbs", &fresh);
    assert_eq!(golden, fresh, "the signature writer changed its output");
    let sig = Signature::from_bytes(&golden).unwrap();
    assert_eq!(sig.kind(), SignatureKind::Rha);
    assert_eq!(
        (sig.block_len(), sig.block_count(), sig.file_len()),
        (1024, 3, Some(3000))
    );
    assert_eq!(sig.strong_len(), 11);
    assert_eq!(sig.file_hash(), Some(&file_hash(&basis(), 1024)));
    assert_eq!(&golden[..4], b"RHBS");
}

#[test]
fn delta_v1() {
    let sig = Signature::from_bytes(&read_or_bless(
        "signature-v1.rhbs",
        &signature_of(
            &basis(),
            SignatureParams::new(3000).with_block_len(1024).unwrap(),
        )
        .unwrap(),
    ))
    .unwrap();
    let (fresh, stats) = delta_of(sig, &new_file(), DeltaFormat::Rha).unwrap();
    let golden = read_or_bless("delta-v1.rhbd", &fresh);
    assert_eq!(golden, fresh, "the delta writer changed its output");
    assert_eq!(
        stats.literal_bytes + stats.matched_bytes,
        new_file().len() as u64
    );
    assert_eq!(
        patch_of(&basis()[..], &golden, u64::MAX).unwrap(),
        new_file()
    );
    assert_eq!(&golden[..4], b"RHBD");
}

#[test]
fn fixed_delta_v1() {
    let params = SignatureParams::new(3000).with_block_len(1024).unwrap();
    let sign = |d: &[u8]| Signature::from_bytes(&signature_of(d, params).unwrap()).unwrap();
    // The same length, one block rewritten: what a volume sees.
    let mut master = basis();
    master[1500..1600].fill(b'#');
    let plan = compare_fixed(&sign(&basis()), &sign(&master)).unwrap();
    let mut job = FixedDeltaJob::new(&master[..], plan);
    let mut fresh = Vec::new();
    let mut room = vec![0u8; 1 << 16];
    loop {
        let p = job.run(&mut room).unwrap();
        fresh.extend_from_slice(&room[..p.produced]);
        if p.done {
            break;
        }
    }
    let golden = read_or_bless("fixed-delta-v1.rhbd", &fresh);
    assert_eq!(
        golden, fresh,
        "the fixed-offset delta writer changed its output"
    );
    // Header, then the basis command (opcode 4): the basis's length and
    // whole-file hash, then the result's.
    assert_eq!(golden[16], 4);
    assert_eq!(golden[17..25], 3000u64.to_le_bytes());
    assert_eq!(golden[25..57], file_hash(&basis(), 1024));
    assert_eq!(golden[57..65], 3000u64.to_le_bytes());
    assert_eq!(golden[65..97], file_hash(&master, 1024));
    let mut patch = InPlacePatch::new(basis(), u64::MAX);
    assert!(patch.run(&golden, true).unwrap().done);
    assert_eq!(patch.into_target(), master);
    let mut other = basis();
    other[0] = b'!';
    let mut patch = InPlacePatch::new(other.clone(), u64::MAX);
    let e = patch.run(&golden, true).unwrap_err();
    assert!(matches!(e, PatchError::WrongBasis { .. }), "{e}");
    assert_eq!(patch.into_target(), other);
}

#[test]
fn signature_v2_xxh3() {
    let params = SignatureParams::new(3000)
        .with_block_len(1024)
        .unwrap()
        .with_strong_hash(StrongHash::Xxh3);
    let fresh = signature_of(&basis(), params).unwrap();
    let golden = read_or_bless("signature-v2-xxh3.rhbs", &fresh);
    assert_eq!(golden, fresh, "the signature writer changed its output");
    assert_eq!((&golden[..4], golden[4], golden[12]), (&b"RHBS"[..], 2, 1));
    let sig = Signature::from_bytes(&golden).unwrap();
    assert_eq!(sig.kind(), SignatureKind::RhaXxh3);
    assert_eq!(
        (
            sig.block_len(),
            sig.block_count(),
            sig.file_len(),
            sig.strong_len()
        ),
        (1024, 3, Some(3000), 11)
    );
    assert_eq!(sig.file_hash(), None);
    // A delta against it patches to the new file (the delta format is the
    // same whatever the signature's strong hash).
    let (delta, _) = delta_of(sig.clone(), &new_file(), DeltaFormat::Rha).unwrap();
    assert_eq!(
        patch_of(&basis()[..], &delta, u64::MAX).unwrap(),
        new_file()
    );
    // Bytes inserted after the first block leave it to be matched.
    let mut shifted = basis();
    shifted.splice(1500..1500, *b"XY");
    let (delta, stats) = delta_of(sig, &shifted, DeltaFormat::Rha).unwrap();
    assert_eq!(stats.matched_bytes, 1024 + 952, "{stats:?}");
    assert_eq!(patch_of(&basis()[..], &delta, u64::MAX).unwrap(), shifted);
}
