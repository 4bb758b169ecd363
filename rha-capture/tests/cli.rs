//! The `rha` binary, run as a user would.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::path::PathBuf;
use std::process::{Command, Output};

fn golden(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data")
        .join(name)
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

#[test]
fn dump_lists_every_record() {
    for file in ["journal-v1-plain.rhaj", "journal-v1-zstd.rhaj"] {
        let out = rha(&["journal", "dump", golden(file).to_str().unwrap()]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let stdout = text(&out.stdout);
        let lines: Vec<&str> = stdout.lines().collect();
        assert_eq!(lines.len(), 24, "{stdout}");
        assert!(
            lines[0].contains("100  2025-11-21T00:00:00.000000000Z  epoch"),
            "{}",
            lines[0]
        );
        assert!(
            lines[4]
                .trim_end()
                .ends_with("write         srv/data.db  offset=0 len=12"),
            "{}",
            lines[4]
        );
        assert!(
            lines[9].ends_with("srv/data.db -> srv/data.old"),
            "{}",
            lines[9]
        );
        assert!(lines[17].ends_with("srv/caf\\xe9"), "{}", lines[17]);
        assert!(
            lines[21].contains("\"before upgrade ✓\"  application-consistent"),
            "{}",
            lines[21]
        );
        assert_eq!(
            lines[23],
            "# 23 records, seq 100..=122, 1233 bytes, clean end".replace(
                "1233",
                &std::fs::metadata(golden(file)).unwrap().len().to_string(),
            )
        );
    }
}

#[test]
fn verify_has_distinct_exit_codes() {
    let ok = rha(&[
        "journal",
        "verify",
        golden("journal-v1-plain.rhaj").to_str().unwrap(),
    ]);
    assert_eq!(ok.status.code(), Some(0));
    assert!(text(&ok.stdout).starts_with("ok: "), "{}", text(&ok.stdout));

    let torn = rha(&[
        "journal",
        "verify",
        golden("journal-v1-torn.rhaj").to_str().unwrap(),
    ]);
    assert_eq!(torn.status.code(), Some(3));
    assert!(
        text(&torn.stdout).starts_with("torn tail at offset 1194:"),
        "{}",
        text(&torn.stdout)
    );

    let bad = rha(&[
        "journal",
        "verify",
        golden("journal-v1-corrupt.rhaj").to_str().unwrap(),
    ]);
    assert_eq!(bad.status.code(), Some(4));
    let msg = text(&bad.stdout);
    assert!(msg.starts_with("corrupt at offset "), "{msg}");
    assert!(msg.contains("last good sequence number: 10"), "{msg}");
}

#[test]
fn unreadable_input_is_a_one_line_error() {
    let dir = std::env::temp_dir();
    for path in ["/nonexistent/journal.rhaj", dir.to_str().unwrap()] {
        for cmd in ["dump", "verify"] {
            let out = rha(&["journal", cmd, path]);
            assert_eq!(out.status.code(), Some(1));
            let err = text(&out.stderr);
            assert_eq!(err.lines().count(), 1, "{err}");
            assert!(err.starts_with(&format!("rha: error: {path}: ")), "{err}");
            assert!(
                !err.contains("panicked") && !err.contains("backtrace"),
                "{err}"
            );
        }
    }
}

#[test]
fn bad_usage_exits_2() {
    assert_eq!(rha(&["journal"]).status.code(), Some(2));
    assert_eq!(rha(&["journal", "verify"]).status.code(), Some(2));
}

#[test]
fn help_lists_the_one_table_of_exit_codes() {
    for args in [
        &["--help"][..],
        &["sync", "--help"],
        &["journal", "verify", "--help"],
        &["spool", "verify", "--help"],
        &["rewind", "to", "--help"],
        &["patch-in-place", "--help"],
    ] {
        help_has_the_table(args);
    }
}

fn help_has_the_table(args: &[&str]) {
    let out = rha(args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("Exit status (the same in every subcommand):"),
        "{stdout}"
    );
    for line in [
        "  0  success",
        "  3  torn tail",
        "  4  corrupt input",
        "  5  another process holds",
        "  8  --salvage discarded",
        "  9  the journal does not continue the replica's sequence",
    ] {
        assert!(stdout.contains(line), "{line:?} missing from:\n{stdout}");
    }
}

/// Runs `rha` with standard output going to `stdout`, returning the exit
/// code and standard error.
fn rha_to(args: &[&str], stdout: std::process::Stdio) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_rha"))
        .args(args)
        .stdout(stdout)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    (out.status.code(), text(&out.stderr))
}

#[test]
fn a_full_disk_on_stdout_is_a_one_line_error() {
    let journal = golden("journal-v1-plain.rhaj");
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("m/d")).unwrap();
    std::fs::write(tmp.path().join("m/d/f"), b"x").unwrap();
    let m = tmp.path().join("m");
    let r = tmp.path().join("r");
    for args in [
        vec!["journal", "dump", journal.to_str().unwrap()],
        vec!["journal", "verify", journal.to_str().unwrap()],
        vec![
            "sync",
            m.to_str().unwrap(),
            r.to_str().unwrap(),
            "--dry-run",
        ],
    ] {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let (code, stderr) = rha_to(&args, full.into());
        assert_eq!(code, Some(1), "{args:?}: {stderr}");
        assert_eq!(
            stderr.trim_end(),
            "rha: error: writing to standard output: No space left on device (os error 28)",
            "{args:?}"
        );
    }
}

#[test]
fn dump_shows_special_nodes_and_cleared_attributes() {
    let out = rha(&[
        "journal",
        "dump",
        golden("journal-v1-nodes.rhaj").to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{stdout}");
    assert!(
        lines[0].ends_with("mknod         dev/fifo  mode=10640  dev=0:0"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].ends_with("dev/null  mode=20666  dev=1:3"),
        "{}",
        lines[1]
    );
    assert!(
        lines[3].trim_end().ends_with("clear-xattrs  dev/fifo"),
        "{}",
        lines[3]
    );
}

#[test]
fn a_closed_pipe_on_stdout_ends_quietly() {
    let tmp = tempfile::tempdir().unwrap();
    let m = tmp.path().join("m");
    std::fs::create_dir_all(&m).unwrap();
    for i in 0..3000 {
        std::fs::write(m.join(format!("file-{i:05}")), b"x").unwrap();
    }
    let r = tmp.path().join("r");
    let journal = golden("journal-v1-plain.rhaj");
    for args in [
        vec![
            "sync",
            m.to_str().unwrap(),
            r.to_str().unwrap(),
            "--dry-run",
        ],
        vec!["journal", "dump", journal.to_str().unwrap()],
    ] {
        // A pipe whose reading end is already closed: every write fails
        // with EPIPE (SIGPIPE is ignored by Rust programs).
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let (code, stderr) = rha_to(&args, writer.into());
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?}: {stderr}");
    }
}

#[test]
fn the_largest_max_record_size_still_reads_valid_journals() {
    for file in ["journal-v1-plain.rhaj", "journal-v1-zstd.rhaj"] {
        let out = rha(&[
            "journal",
            "verify",
            "--max-record-size",
            "18446744073709551615",
            golden(file).to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{file}: {}", text(&out.stdout));
    }
}
