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

/// An output that is a pipe or a device is written to, never replaced by a
/// file (renaming over it would): a pipe receives the output, a full device
/// gives an error and stays a device.
#[test]
fn an_output_that_is_a_pipe_or_a_device_is_written_not_replaced() {
    use std::io::Read;
    use std::os::unix::fs::FileTypeExt;
    let tmp = setup();
    let d = tmp.path();
    let expected = fs::read(d.join("old.sig")).unwrap();
    for (args, out, want) in [
        (&["signature", "old"][..], "sig", expected.clone()),
        (
            &["delta", "old.sig", "new"],
            "delta",
            fs::read(d.join("new.delta")).unwrap(),
        ),
        (
            &["patch", "old", "new.delta"],
            "patched",
            fs::read(d.join("new")).unwrap(),
        ),
    ] {
        let fifo = d.join(format!("{out}.fifo"));
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || {
                let mut got = Vec::new();
                fs::File::open(fifo).unwrap().read_to_end(&mut got).unwrap();
                got
            })
        };
        let mut all: Vec<&str> = args.to_vec();
        let name = fifo.file_name().unwrap().to_str().unwrap().to_owned();
        all.push(&name);
        let run = rha(d, &all);
        assert!(run.status.success(), "{all:?}: {}", text(&run.stderr));
        // Before joining the reader, which would wait for ever on a pipe
        // nobody opened.
        let kind = fs::symlink_metadata(&fifo).unwrap().file_type();
        assert!(kind.is_fifo(), "{all:?}: the pipe is still a pipe");
        assert!(
            reader.join().unwrap() == want,
            "{all:?}: the pipe got the output"
        );
        if out == "delta" {
            let bytes = format!("{}: {} bytes;", name, want.len());
            assert!(text(&run.stdout).contains(&bytes), "{}", text(&run.stdout));
        }
    }
    // A device that is always full (as /dev/full), where one can be made.
    let full = d.join("full");
    let c = std::ffi::CString::new(full.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    if unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 7)) } != 0 {
        eprintln!("SKIPPED: cannot make a device node here (not root?)");
        return;
    }
    let run = rha(d, &["signature", "old", "full"]);
    assert!(!run.status.success());
    assert!(
        text(&run.stderr).contains("No space left"),
        "{}",
        text(&run.stderr)
    );
    let kind = fs::symlink_metadata(&full).unwrap().file_type();
    assert!(kind.is_char_device(), "the device is still a device");
    no_leftovers(d);
}
