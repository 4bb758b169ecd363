//! Golden files pin versions 1 and 2 of the block signature format and
//! version 1 of the delta format: `tests/data/signature-v1.rhbs` is the
//! signature of a fixed basis (BLAKE3), `tests/data/signature-v2-xxh3.rhbs`
//! the same with XXH3 block hashes,
//! `tests/data/delta-v1.rhbd` the delta of a fixed new file against it.
//! Both must stay byte-for-byte what the writers produce, and keep
//! decoding and patching to the same results.
//!
//! Regenerate (only when adding a golden file, never to paper over a change):
//! `RHA_BLESS=1 cargo test -p rha-tests --test block_golden`.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::path::PathBuf;

use rha_core::signature::block::{
    delta_of, file_hash, patch_of, signature_of, DeltaFormat, Signature, SignatureKind,
    SignatureParams, StrongHash,
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
