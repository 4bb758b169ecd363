//! The file commands never destroy their inputs: an output that is an input
//! (by name, `./name`, a symlink or a hard link) is refused before anything
//! is written, and a failed run leaves an existing output as it was.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

fn rha(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rha"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
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

/// A directory with `old` and `new` files, `old.sig`, `new.delta` and
/// `fixed.delta` made by the tool.
fn setup() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let old = noise(300_000, 1);
    let mut new = old.clone();
    new[70_000..70_100].copy_from_slice(&[9; 100]);
    fs::write(d.join("old"), &old).unwrap();
    fs::write(d.join("new"), &new).unwrap();
    for args in [
        &["signature", "old", "old.sig"][..],
        &["delta", "old.sig", "new", "new.delta"],
        &["fixed-delta", "old.sig", "new", "fixed.delta"],
    ] {
        let out = rha(d, args);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    }
    fs::symlink_metadata(d.join("fixed.delta")).unwrap();
    tmp
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// No temporary file is left behind.
fn no_leftovers(d: &Path) {
    for e in fs::read_dir(d).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        assert!(!name.ends_with(".rha-tmp"), "left behind: {name}");
    }
}

#[test]
fn an_output_that_is_an_input_is_refused_and_the_input_kept() {
    let tmp = setup();
    let d = tmp.path();
    std::os::unix::fs::symlink("new", d.join("new-link")).unwrap();
    fs::hard_link(d.join("old"), d.join("old-hard")).unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["signature", "old", "old"], "old"),
        (&["signature", "old", "./old"], "old"),
        (&["signature", "old", "old-hard"], "old"),
        (&["delta", "old.sig", "new", "new"], "new"),
        (&["delta", "old.sig", "new", "new-link"], "new"),
        (&["delta", "old.sig", "new", "old.sig"], "old.sig"),
        (&["patch", "old", "new.delta", "old"], "old"),
        (&["patch", "old", "new.delta", "./old-hard"], "old"),
        (&["patch", "old", "new.delta", "new.delta"], "new.delta"),
        (&["fixed-delta", "old.sig", "new", "new"], "new"),
        (&["fixed-delta", "old.sig", "new", "old.sig"], "old.sig"),
        (&["patch-in-place", "old", "old"], "old"),
        (&["patch-in-place", "old", "old-hard"], "old"),
    ];
    for (args, victim) in cases {
        let before = fs::read(d.join(victim)).unwrap();
        let out = rha(d, args);
        assert_eq!(out.status.code(), Some(2), "{args:?} was not refused");
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains("is the same file as the input"),
            "{args:?}: {stderr}"
        );
        assert_eq!(fs::read(d.join(victim)).unwrap(), before, "{args:?}");
    }
    no_leftovers(d);
}

#[test]
fn a_failed_run_leaves_an_existing_output_as_it_was() {
    let tmp = setup();
    let d = tmp.path();
    fs::write(d.join("out"), b"precious").unwrap();
    // A truncated delta: the patch fails.
    let delta = fs::read(d.join("new.delta")).unwrap();
    fs::write(d.join("short.delta"), &delta[..delta.len() / 2]).unwrap();
    let out = rha(d, &["patch", "old", "short.delta", "out"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert_eq!(fs::read(d.join("out")).unwrap(), b"precious");
    // A corrupt signature: the delta fails.
    fs::write(d.join("bad.sig"), b"not a signature").unwrap();
    let out = rha(d, &["delta", "bad.sig", "new", "out"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert_eq!(fs::read(d.join("out")).unwrap(), b"precious");
    no_leftovers(d);
    // A successful run replaces it.
    let out = rha(d, &["patch", "old", "new.delta", "out"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        fs::read(d.join("out")).unwrap(),
        fs::read(d.join("new")).unwrap()
    );
    no_leftovers(d);
}

#[test]
fn bytes_after_the_end_of_a_delta_are_corruption() {
    let tmp = setup();
    let d = tmp.path();
    for (delta, patch) in [("new.delta", "patch"), ("fixed.delta", "patch-in-place")] {
        let mut bytes = fs::read(d.join(delta)).unwrap();
        bytes.push(0);
        fs::write(d.join("junk.delta"), &bytes).unwrap();
        fs::copy(d.join("old"), d.join("target")).unwrap();
        let args: Vec<&str> = if patch == "patch" {
            vec!["patch", "old", "junk.delta", "out"]
        } else {
            vec!["patch-in-place", "target", "junk.delta"]
        };
        let out = rha(d, &args);
        assert_eq!(
            out.status.code(),
            Some(4),
            "{args:?}: {}",
            text(&out.stderr)
        );
        let stderr = text(&out.stderr);
        assert!(stderr.contains("after the end"), "{args:?}: {stderr}");
    }
    assert!(!d.join("out").exists(), "a failed patch leaves no output");
}
