//! `rha spool inspect|verify`, run as an operator would.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::fs;
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
    assert_eq!(out.status.code(), Some(8), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("salvaged: cut at"),
        "{}",
        text(&out.stdout)
    );
    assert!(rha(&["spool", "verify", d]).status.success());
}

#[test]
fn a_missing_directory_is_an_io_error_and_a_busy_one_says_busy() {
    let _serial = serial();
    let out = rha(&["spool", "verify", "/nonexistent/spool"]);
    assert_eq!(out.status.code(), Some(1));
    let tmp = tempfile::tempdir().unwrap();
    make_spool(tmp.path());
    let (_spool, _) =
        Spool::open_dir(tmp.path(), SpoolConfig::default().min_free_bytes(0)).unwrap();
    let out = rha(&["spool", "inspect", tmp.path().to_str().unwrap()]);
    // The same code as a busy replica in `rha apply`: one table for the tool.
    assert_eq!(out.status.code(), Some(5));
    assert!(
        text(&out.stderr).contains("in use"),
        "{}",
        text(&out.stderr)
    );
}

/// A spool opened with a 4 KiB maximum and the degrade policy, filled past
/// it so that it tracks dirty regions.
fn make_degraded_spool(dir: &Path) {
    use rha_core::spool::OverflowPolicy;
    let config = SpoolConfig::default()
        .min_free_bytes(0)
        .segment_bytes(1024)
        .max_bytes(Some(4096))
        .warn_percent(vec![50, 75])
        .overflow(OverflowPolicy::DegradeToDirtyRegions);
    let (spool, _) = Spool::open_dir(dir, config).unwrap();
    for i in 0..90u64 {
        let op = Op::Write {
            path: RelPath::new(format!("f{i}")).unwrap(),
            offset: 10,
            data: vec![1u8; 200].into(),
        };
        spool.append(i, &op, AppendOptions::default()).unwrap();
    }
    let op = Op::BlockWrite {
        volume: 2,
        offset: 8192,
        data: vec![1u8; 10].into(),
    };
    spool.append(0, &op, AppendOptions::default()).unwrap();
}

#[test]
fn inspect_shows_the_stored_limits_usage_and_dirty_regions() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    make_degraded_spool(tmp.path());
    let d = tmp.path().to_str().unwrap();
    let out = rha(&["spool", "inspect", d, "--all-dirty"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("limits:       stored in the spool directory\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "overflow degrade to dirty regions; warnings at 50%, 75%; segments of 1024 bytes"
        ),
        "{stdout}"
    );
    assert!(stdout.contains(" bytes of 4096 bytes ("), "{stdout}");
    assert!(stdout.contains("free space:   "), "{stdout}");
    assert!(stdout.contains("minimum 0\n"), "{stdout}");
    assert!(stdout.contains("(set by the maximum size)"), "{stdout}");
    assert!(
        stdout.contains("above the 50%, 75% warning threshold(s)"),
        "{stdout}"
    );
    assert!(stdout.contains("state:        degraded"), "{stdout}");
    assert!(stdout.contains("granularity 4096 bytes"), "{stdout}");
    assert!(stdout.contains("    file f30: 0..4096\n"), "{stdout}");
    assert!(stdout.contains("    volume 2: 8192..12288\n"), "{stdout}");

    // The options override the stored limits.
    let out = rha(&["spool", "inspect", d, "--max-bytes", "1000000"]);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("stored in the spool directory; overridden by --max-bytes"),
        "{stdout}"
    );
    assert!(stdout.contains(" bytes of 1000000 bytes ("), "{stdout}");
    assert!(!stdout.contains("warning threshold(s)"), "{stdout}");
}

#[test]
fn inspect_lists_the_first_dirty_targets_unless_asked_for_all() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    make_degraded_spool(tmp.path());
    let d = tmp.path().to_str().unwrap();
    let count = |s: &str| s.lines().filter(|l| l.starts_with("    file f")).count();
    let out = rha(&["spool", "inspect", d, "--all-dirty"]);
    let stdout = text(&out.stdout);
    let files = count(&stdout);
    assert!(files > 60, "{stdout}");
    assert!(stdout.contains("    volume 2: "), "{stdout}");
    assert!(
        stdout.contains(&format!("ranges in {files} file(s) and 1 volume(s)")),
        "{stdout}"
    );
    let out = rha(&["spool", "inspect", d]);
    let stdout = text(&out.stdout);
    assert_eq!(count(&stdout), 50, "{stdout}");
    assert!(!stdout.contains("    volume 2: "), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "    ... and {} more (--all-dirty lists every one)\n",
            files + 1 - 50
        )),
        "{stdout}"
    );
}

#[test]
fn inspect_of_a_spool_without_stored_limits_shows_the_defaults() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/spool-v1");
    for e in std::fs::read_dir(golden).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), tmp.path().join(e.file_name())).unwrap();
    }
    let d = tmp.path().to_str().unwrap();
    let out = rha(&["spool", "inspect", d, "--min-free-bytes", "0"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("limits:       none stored"), "{stdout}");
    assert!(
        stdout.contains("overridden by --min-free-bytes"),
        "{stdout}"
    );
    assert!(stdout.contains("bytes of unlimited"), "{stdout}");
    assert!(stdout.contains("    file dir/b: 0..end\n"), "{stdout}");
    assert!(
        !tmp.path().join("limits").exists(),
        "inspect changes nothing"
    );
}

#[test]
fn a_damaged_limits_file_is_named_and_salvage_removes_it() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    make_spool(tmp.path());
    let d = tmp.path().to_str().unwrap();
    let path = tmp.path().join("limits");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[30] ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    for cmd in ["inspect", "verify"] {
        let out = rha(&["spool", cmd, d]);
        let stdout = text(&out.stdout);
        assert_eq!(out.status.code(), Some(4), "{stdout}");
        assert!(
            stdout.starts_with("corrupt: limits at offset ")
                && stdout.contains("checksum mismatch"),
            "{stdout}"
        );
    }
    let out = rha(&["spool", "verify", d, "--salvage"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(8), "{stdout}");
    assert!(
        stdout
            .starts_with("salvaged: removed the damaged limits file (checksum mismatch at offset "),
        "{stdout}"
    );
    assert!(!path.exists());
    let out = rha(&["spool", "verify", d]);
    assert!(out.status.success(), "{}", text(&out.stdout));
}

#[test]
fn inspect_json_reports_limits_usage_and_every_dirty_region() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    make_degraded_spool(tmp.path());
    let d = tmp.path().to_str().unwrap();
    let out = rha(&["spool", "inspect", d, "--json", "--min-free-bytes", "0"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["mode"], "degraded");
    assert_eq!(v["limits"]["source"], "stored");
    assert_eq!(
        v["limits"]["overridden"],
        serde_json::json!(["min_free_bytes"])
    );
    assert_eq!(v["limits"]["max_bytes"], 4096);
    assert_eq!(v["limits"]["overflow"], "degrade");
    assert_eq!(v["limits"]["warn_percent"], serde_json::json!([50, 75]));
    assert_eq!(v["capacity_bytes"], 4096);
    assert_eq!(v["capacity_set_by"], "max_bytes");
    assert_eq!(v["thresholds_crossed"], serde_json::json!([50, 75]));
    let used = v["used_bytes"].as_u64().unwrap();
    assert!(used > 3000 && used <= 4096, "{v}");
    assert_eq!(v["records"]["first_seq"], 1);
    assert_eq!(v["segments"].as_array().unwrap().len(), 4);
    let files = v["dirty"]["files"].as_array().unwrap();
    assert!(files.len() > 60, "every target is listed");
    assert_eq!(files[0]["ranges"], serde_json::json!([[0, 4096]]));
    assert_eq!(
        v["dirty"]["volumes"],
        serde_json::json!([{"volume": 2, "ranges": [[8192, 12288]]}])
    );
    assert_eq!(
        v["dirty"]["range_count"].as_u64().unwrap(),
        files.len() as u64 + 1
    );
    assert_eq!(v["torn_tail"], serde_json::Value::Null);

    // A damaged limits file: the corruption as JSON, exit 4.
    let path = tmp.path().join("limits");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[0] = b'X';
    std::fs::write(&path, &bytes).unwrap();
    let out = rha(&["spool", "inspect", d, "--json"]);
    assert_eq!(out.status.code(), Some(4));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["corrupt"]["file"], "limits");
    assert_eq!(v["corrupt"]["offset"], 0);
}

#[test]
fn inspect_json_of_a_spool_without_limits_and_with_a_to_end_range() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/spool-v1");
    for e in std::fs::read_dir(golden).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), tmp.path().join(e.file_name())).unwrap();
    }
    let out = rha(&["spool", "inspect", tmp.path().to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["limits"]["source"], "defaults");
    assert_eq!(v["limits"]["max_bytes"], serde_json::Value::Null);
    assert_eq!(v["overflow_seq"], 9);
    assert_eq!(
        (v["resume_seq"].as_u64(), v["next_seq"].as_u64()),
        (Some(3), Some(9))
    );
    let b = v["dirty"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "dir/b")
        .unwrap();
    assert_eq!(b["ranges"], serde_json::json!([[0, null]]));
}

#[test]
fn a_directory_that_is_not_a_spool_is_refused_and_left_alone() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("notes.txt"), b"mine").unwrap();
    for cmd in ["inspect", "verify"] {
        let out = rha(&["spool", cmd, tmp.path().to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{cmd}");
        assert!(
            text(&out.stderr).contains("not a spool directory"),
            "{cmd}: {}",
            text(&out.stderr)
        );
    }
    let names: Vec<_> = fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, ["notes.txt"], "nothing created");
}

#[test]
fn salvage_rebuilds_a_missing_state_file() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    make_spool(tmp.path());
    let d = tmp.path().to_str().unwrap();
    fs::remove_file(tmp.path().join("state")).unwrap();
    let out = rha(&["spool", "verify", d]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stdout));
    let out = rha(&["spool", "verify", "--salvage", d]);
    assert_eq!(out.status.code(), Some(8), "{}", text(&out.stdout));
    // The spool opens again, and verifies clean.
    let out = rha(&["spool", "verify", d]);
    assert!(out.status.success(), "{}", text(&out.stdout));
    Spool::open_dir(tmp.path(), SpoolConfig::default().min_free_bytes(0)).unwrap();
}
