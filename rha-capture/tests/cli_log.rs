//! The `rha` tool's diagnostics on standard error: quiet by default, `-v`
//! for what each operation did, `RUST_LOG` for chosen targets and levels.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::path::Path;
use std::process::{Command, Output};

fn rha(args: &[&str], rust_log: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rha"));
    cmd.args(args).env_remove("RUST_LOG");
    if let Some(spec) = rust_log {
        cmd.env("RUST_LOG", spec);
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    out
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn trees(dir: &Path) -> (String, String) {
    let (m, r) = (dir.join("m"), dir.join("r"));
    std::fs::create_dir(&m).unwrap();
    std::fs::create_dir(&r).unwrap();
    std::fs::write(m.join("a"), b"hello").unwrap();
    (
        m.to_str().unwrap().to_owned(),
        r.to_str().unwrap().to_owned(),
    )
}

#[test]
fn a_plain_run_prints_no_diagnostics() {
    let dir = tempfile::tempdir().unwrap();
    let (m, r) = trees(dir.path());
    let out = rha(&["sync", &m, &r], None);
    assert_eq!(text(&out.stderr), "");
}

#[test]
fn verbose_prints_info_events_in_their_spans() {
    let dir = tempfile::tempdir().unwrap();
    let (m, r) = trees(dir.path());
    let out = rha(&["-v", "sync", &m, &r], None);
    let stderr = text(&out.stderr);
    let line = stderr
        .lines()
        .find(|l| l.contains("tree synced"))
        .unwrap_or_else(|| panic!("no sync event in {stderr:?}"));
    assert!(line.contains(" INFO "), "{line}");
    assert!(
        line.contains(&format!("sync{{master={m} replica={r}}}")),
        "{line}"
    );
    assert!(line.contains("created=1"), "{line}");
    // -v is info, not debug: no scan events.
    assert!(!stderr.contains("tree scanned"), "{stderr}");
    // The flag goes after the subcommand too, and -vv adds debug.
    let out = rha(&["sync", &m, &r, "-vv"], None);
    assert!(text(&out.stderr).contains("tree scanned"));
}

#[test]
fn rust_log_picks_targets_and_levels() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f");
    std::fs::write(&file, vec![7u8; 10_000]).unwrap();
    let (f, sig) = (file.to_str().unwrap(), dir.path().join("sig"));
    let args = ["signature", f, sig.to_str().unwrap()];
    let stderr = text(&rha(&args, Some("rha_core=debug")).stderr);
    let line = stderr
        .lines()
        .find(|l| l.contains("signature computed"))
        .unwrap_or_else(|| panic!("no job event in {stderr:?}"));
    assert!(line.contains("DEBUG"), "{line}");
    assert!(line.contains("signature_job{file_len=10000"), "{line}");
    assert!(line.contains("rha_core::signature"), "{line}");
    // Only the targets named are printed.
    let stderr = text(&rha(&args, Some("rha_capture=debug")).stderr);
    assert!(!stderr.contains("signature computed"), "{stderr}");
    // A RUST_LOG that does not parse is named, and the flags apply.
    let stderr = text(&rha(&args, Some("rha_core=loud")).stderr);
    assert!(stderr.contains("ignoring RUST_LOG"), "{stderr}");
}
