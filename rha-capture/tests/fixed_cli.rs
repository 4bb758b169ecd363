//! `rha fixed-delta` and `rha patch-in-place`: a volume with a few changed
//! blocks synced in place.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Output};

fn rha(args: &[&Path]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rha"))
        .args(args)
        .output()
        .unwrap()
}

fn rha_ok(args: &[&Path]) -> String {
    let out = rha(args);
    assert!(
        out.status.success(),
        "rha {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn noise(n: usize, seed: u32) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 11) as u8
        })
        .collect()
}

#[test]
fn a_volume_syncs_in_place_sending_only_changed_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);
    let replica_data = noise(64 * 4096, 3);
    let mut master_data = replica_data.clone();
    master_data[5 * 4096 + 1] ^= 1;
    master_data[40 * 4096..41 * 4096].fill(9);
    fs::write(p("replica.img"), &replica_data).unwrap();
    fs::write(p("master.img"), &master_data).unwrap();
    let inode = fs::metadata(p("replica.img")).unwrap().ino();

    rha_ok(&[
        Path::new("signature"),
        Path::new("--block-size"),
        Path::new("4096"),
        &p("replica.img"),
        &p("replica.sig"),
    ]);
    let out = rha_ok(&[
        Path::new("fixed-delta"),
        &p("replica.sig"),
        &p("master.img"),
        &p("changes.delta"),
    ]);
    assert!(out.contains("8192 bytes in 2 ranges to send"), "{out}");
    let delta_len = fs::metadata(p("changes.delta")).unwrap().len();
    assert!(delta_len > 8192 && delta_len < 9000, "{delta_len}");

    let out = rha_ok(&[
        Path::new("patch-in-place"),
        &p("replica.img"),
        &p("changes.delta"),
    ]);
    assert!(out.contains("8192 bytes written in place"), "{out}");
    assert!(fs::read(p("replica.img")).unwrap() == master_data);
    assert_eq!(fs::metadata(p("replica.img")).unwrap().ino(), inode);

    // Applying it again to the now-patched replica is harmless: it is
    // recognised as the delta's result and left as it is.
    let mtime = fs::metadata(p("replica.img")).unwrap().mtime_nsec();
    let out = rha_ok(&[
        Path::new("patch-in-place"),
        &p("replica.img"),
        &p("changes.delta"),
    ]);
    assert!(out.contains("already patched"), "{out}");
    assert!(fs::read(p("replica.img")).unwrap() == master_data);
    assert_eq!(fs::metadata(p("replica.img")).unwrap().mtime_nsec(), mtime);
}

#[test]
fn rolling_truncated_and_mismatched_deltas_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);
    let replica_data = noise(16 * 4096, 5);
    let mut shifted = b"inserted".to_vec();
    shifted.extend_from_slice(&replica_data);
    fs::write(p("replica.img"), &replica_data).unwrap();
    fs::write(p("shifted.img"), &shifted).unwrap();
    rha_ok(&[
        Path::new("signature"),
        Path::new("--block-size"),
        Path::new("4096"),
        &p("replica.img"),
        &p("replica.sig"),
    ]);

    // A rolling delta moves data: refused at its first moved copy (the
    // literal before it is already written).
    rha_ok(&[
        Path::new("delta"),
        &p("replica.sig"),
        &p("shifted.img"),
        &p("rolling.delta"),
    ]);
    let out = rha(&[
        Path::new("patch-in-place"),
        &p("replica.img"),
        &p("rolling.delta"),
    ]);
    assert_eq!(out.status.code(), Some(4));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot be applied in place"), "{err}");
    fs::write(p("replica.img"), &replica_data).unwrap();

    // A truncated fixed delta.
    let mut master = replica_data.clone();
    master[100] ^= 1;
    fs::write(p("master.img"), &master).unwrap();
    rha_ok(&[
        Path::new("fixed-delta"),
        &p("replica.sig"),
        &p("master.img"),
        &p("fixed.delta"),
    ]);
    let d = fs::read(p("fixed.delta")).unwrap();
    fs::write(p("short.delta"), &d[..d.len() - 4]).unwrap();
    let out = rha(&[
        Path::new("patch-in-place"),
        &p("replica.img"),
        &p("short.delta"),
    ]);
    assert_eq!(out.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&out.stderr).contains("truncated"));

    // A target that is not the signed replica is refused before anything
    // is written: the same length with one byte changed, and a shorter one.
    let mut other = replica_data.clone();
    other[9000] ^= 1;
    other[100] ^= 1; // the byte the delta rewrites: untouched too
    for other in [other, replica_data[..4096].to_vec()] {
        fs::write(p("other.img"), &other).unwrap();
        let out = rha(&[
            Path::new("patch-in-place"),
            &p("other.img"),
            &p("fixed.delta"),
        ]);
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("other.img"), "{err}");
        assert!(
            err.contains("not the file this delta was made against"),
            "{err}"
        );
        assert!(err.contains("nothing was written"), "{err}");
        assert!(fs::read(p("other.img")).unwrap() == other);
    }
    // `rha patch` refuses it as well, and leaves no output.
    let out = rha(&[
        Path::new("patch"),
        &p("other.img"),
        &p("fixed.delta"),
        &p("patched.img"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!p("patched.img").exists());

    // A corrupt signature.
    fs::write(p("bad.sig"), b"not a signature").unwrap();
    let out = rha(&[
        Path::new("fixed-delta"),
        &p("bad.sig"),
        &p("master.img"),
        &p("x.delta"),
    ]);
    assert_eq!(out.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.sig"));
}
