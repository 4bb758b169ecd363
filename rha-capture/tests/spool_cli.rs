//! `rha spool inspect|verify`, run as an operator would.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard};

use rha_core::journal::{Op, RelPath};
use rha_core::spool::{AppendOptions, Spool, SpoolConfig};

/// The tests run one at a time: a child process forked by one test holds
/// copies of the others' open files (the spool directory lock among them)
/// until it execs, which would make a spool look busy.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn rha(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rha"))
        .args(args)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A spool of 30 records in several segments, the first 10 acknowledged.
fn make_spool(dir: &Path) {
    let config = SpoolConfig::default().min_free_bytes(0).segment_bytes(1000);
    let (spool, _) = Spool::open_dir(dir, config).unwrap();
    for i in 0..30u64 {
        let op = Op::Write {
            path: RelPath::new("f").unwrap(),
            offset: i,
            data: vec![1u8; 100].into(),
        };
        spool.append(i, &op, AppendOptions::default()).unwrap();
    }
    spool.ack(10).unwrap();
}

fn segments(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rhaj"))
        // Spare files (reclaimed segments kept for reuse) are not segments.
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("seg-"))
        })
        .collect();
    v.sort();
    v
}

#[test]
fn inspect_and_verify_a_healthy_spool() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    make_spool(tmp.path());
    let d = tmp.path().to_str().unwrap();
    let out = rha(&["spool", "inspect", d, "--max-bytes", "100000"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("state:        normal"), "{stdout}");
    assert!(
        stdout.contains("acknowledged: up to seq 10 (reading resumes at 11)"),
        "{stdout}"
    );
    assert!(stdout.contains("next seq:     31"), "{stdout}");
    assert!(stdout.contains("of 100000 bytes ("), "{stdout}");
    assert!(stdout.contains("seg-"), "{stdout}");
    let out = rha(&["spool", "verify", d]);
    assert!(out.status.success());
    assert!(
        text(&out.stdout).starts_with("ok: seq "),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn verify_reports_a_torn_tail_and_salvage_truncates_it() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    make_spool(tmp.path());
    let last = segments(tmp.path()).pop().unwrap();
    let len = std::fs::metadata(&last).unwrap().len();
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&last)
        .unwrap();
    std::io::Write::write_all(&mut f, &[7u8; 13]).unwrap();
    drop(f);
    let d = tmp.path().to_str().unwrap();
    let out = rha(&["spool", "verify", d]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains(&format!("at offset {len} (13 bytes")),
        "{}",
        text(&out.stdout)
    );
    // Verifying changed nothing; salvage repairs.
    assert_eq!(std::fs::metadata(&last).unwrap().len(), len + 13);
    let out = rha(&["spool", "verify", "--salvage", d]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert_eq!(std::fs::metadata(&last).unwrap().len(), len);
    assert!(rha(&["spool", "verify", d]).status.success());
}

#[test]
fn verify_names_a_corruption_and_salvage_keeps_the_prefix() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    make_spool(tmp.path());
    let segs = segments(tmp.path());
    let victim = &segs[1];
    let mut bytes = std::fs::read(victim).unwrap();
    bytes[16 + 50] ^= 0x40;
    std::fs::write(victim, bytes).unwrap();
    let d = tmp.path().to_str().unwrap();
    let out = rha(&["spool", "verify", d]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "{stdout}");
    let name = victim.file_name().unwrap().to_str().unwrap();
    assert!(
        stdout.contains(&format!("corrupt: {name} at offset 16")),
        "{stdout}"
    );
    let out = rha(&["spool", "inspect", d]);
    assert_eq!(out.status.code(), Some(4));
    let out = rha(&["spool", "verify", "--salvage", d]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("salvaged: cut at"),
        "{}",
        text(&out.stdout)
    );
    assert!(rha(&["spool", "verify", d]).status.success());
}

#[test]
fn a_missing_or_busy_directory_is_an_io_error() {
    let _serial = serial();
    let out = rha(&["spool", "verify", "/nonexistent/spool"]);
    assert_eq!(out.status.code(), Some(1));
    let tmp = tempfile::tempdir().unwrap();
    make_spool(tmp.path());
    let (_spool, _) =
        Spool::open_dir(tmp.path(), SpoolConfig::default().min_free_bytes(0)).unwrap();
    let out = rha(&["spool", "inspect", tmp.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("in use"),
        "{}",
        text(&out.stderr)
    );
}
