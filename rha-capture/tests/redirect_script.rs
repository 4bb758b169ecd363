//! User scripts: environment, timeout, output bounds, ordering, rollback.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rha_capture::redirect::{
    Direction, Executor, Outcome, RedirectError, Script, ScriptContext, ScriptList,
};

fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn context() -> ScriptContext {
    ScriptContext {
        scenario: "fileserver".into(),
        step: 3,
        master: "db1".into(),
        replica: "db2".into(),
        extra: vec![("RHA_SERVICE_IP".into(), "10.0.0.100".into())],
    }
}

const SECOND: Duration = Duration::from_secs(1);

#[test]
fn scripts_see_the_scenario_context() {
    let dir = tempfile::tempdir().unwrap();
    let path = script(
        dir.path(),
        "env.sh",
        "echo \"$RHA_SCENARIO $RHA_STEP $RHA_DIRECTION $RHA_MASTER $RHA_REPLICA \
         $RHA_SCRIPT_INDEX $RHA_SERVICE_IP $1 $2\"; echo warn >&2",
    );
    let s = Script::new(
        &path,
        vec!["a".into(), "b c".into()],
        10 * SECOND,
        context(),
    );
    let out = s.execute(Direction::Do).unwrap();
    assert!(out.status.success());
    assert_eq!(out.stdout, "fileserver 3 do db1 db2 0 10.0.0.100 a b c\n");
    assert_eq!(out.stderr, "warn\n");
    assert!(!out.stdout_truncated && !out.stderr_truncated);
    let out = s.execute(Direction::Undo).unwrap();
    assert_eq!(out.stdout, "fileserver 3 undo db1 db2 0 10.0.0.100 a b c\n");

    let mut s = s;
    let report = s.apply().unwrap();
    assert_eq!(report.outcome, Outcome::Changed);
    assert!(report.detail.contains("env.sh"), "{report}");
    assert!(s.last_output().unwrap().stdout.contains(" do "));
}

#[test]
fn a_failing_script_reports_status_and_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let path = script(dir.path(), "fail.sh", "echo 'no route to host' >&2; exit 3");
    let mut s = Script::new(&path, vec![], 10 * SECOND, context());
    let err = s.apply().unwrap_err();
    let RedirectError::ScriptFailed {
        status,
        stderr,
        direction,
        ..
    } = &err
    else {
        panic!("{err:?}");
    };
    assert_eq!(*direction, Direction::Do);
    assert!(status.contains('3'), "{status}");
    assert_eq!(stderr, "no route to host\n");
    let text = err.to_string();
    assert!(
        text.contains("fail.sh") && text.contains("no route to host"),
        "{text}"
    );
    assert!(s.last_output().is_some());
}

#[test]
fn a_missing_script_cannot_start() {
    let mut s = Script::new("/nonexistent/rha-script", vec![], SECOND, context());
    let err = s.undo().unwrap_err();
    assert!(
        matches!(
            err,
            RedirectError::ScriptSpawn {
                direction: Direction::Undo,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("/nonexistent/rha-script"), "{err}");
}

#[test]
fn the_timeout_kills_the_whole_process_group() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("child.pid");
    let path = script(
        dir.path(),
        "hang.sh",
        &format!(
            "sleep 30 &\necho $! > {}\necho started >&2\nsleep 30",
            pid_file.display()
        ),
    );
    let start = Instant::now();
    let err = Script::new(&path, vec![], Duration::from_millis(500), context())
        .execute(Direction::Do)
        .unwrap_err();
    assert!(start.elapsed() < 5 * SECOND, "took {:?}", start.elapsed());
    let RedirectError::ScriptTimeout {
        timeout, stderr, ..
    } = &err
    else {
        panic!("{err:?}");
    };
    assert_eq!(*timeout, Duration::from_millis(500));
    assert_eq!(stderr, "started\n");
    assert!(err.to_string().contains("timed out"), "{err}");
    // The background child was killed with its group (gone, or a zombie
    // awaiting a reaper).
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let dead = || match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .unwrap()
            .trim_start()
            .starts_with('Z'),
    };
    let end = Instant::now() + 5 * SECOND;
    while !dead() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(dead(), "background child {pid} survived the timeout");
}

#[test]
fn output_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let path = script(
        dir.path(),
        "loud.sh",
        "head -c 1000000 /dev/zero | tr '\\0' x; head -c 10 /dev/zero | tr '\\0' y >&2",
    );
    let out = Script::new(&path, vec![], 10 * SECOND, context())
        .output_limit(1000)
        .execute(Direction::Do)
        .unwrap();
    assert!(out.status.success());
    assert_eq!(out.stdout, "x".repeat(1000));
    assert!(out.stdout_truncated);
    assert_eq!(out.stderr, "yyyyyyyyyy");
    assert!(!out.stderr_truncated);
}

#[test]
fn lists_run_in_order_and_undo_in_reverse() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let body = format!(
        "echo \"$RHA_SCRIPT_INDEX $RHA_DIRECTION\" >> {}",
        log.display()
    );
    let scripts = (0..3)
        .map(|i| {
            let path = script(dir.path(), &format!("s{i}.sh"), &body);
            Script::new(path, vec![], 10 * SECOND, context())
        })
        .collect();
    let mut list = ScriptList::new(scripts);
    assert_eq!(list.scripts().len(), 3);
    assert_eq!(list.apply().unwrap().outcome, Outcome::Changed);
    assert_eq!(list.undo().unwrap().outcome, Outcome::Changed);
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "0 do\n1 do\n2 do\n2 undo\n1 undo\n0 undo\n"
    );
    assert!(list.describe().contains("s0.sh"));
}

#[test]
fn a_failure_in_a_list_undoes_the_scripts_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let ok = format!(
        "echo \"$RHA_SCRIPT_INDEX $RHA_DIRECTION\" >> {}",
        log.display()
    );
    let fail_on_do = format!("{ok}\n[ \"$RHA_DIRECTION\" = undo ] || exit 7");
    let bodies = [ok.as_str(), ok.as_str(), fail_on_do.as_str(), ok.as_str()];
    let scripts = bodies
        .iter()
        .enumerate()
        .map(|(i, body)| {
            Script::new(
                script(dir.path(), &format!("s{i}.sh"), body),
                vec![],
                10 * SECOND,
                context(),
            )
        })
        .collect();
    let mut list = ScriptList::new(scripts);
    let err = list.apply().unwrap_err();
    let RedirectError::ScriptList {
        index,
        failed,
        rollback,
    } = &err
    else {
        panic!("{err:?}");
    };
    assert_eq!(*index, 2);
    assert!(matches!(**failed, RedirectError::ScriptFailed { .. }));
    assert!(rollback.as_ref().unwrap().is_empty());
    assert!(err.to_string().contains("were undone"), "{err}");
    // The failed script is not undone (it did not complete); the last
    // never ran.
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "0 do\n1 do\n2 do\n1 undo\n0 undo\n"
    );
}

#[test]
fn a_failed_rollback_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let fragile = script(
        dir.path(),
        "fragile.sh",
        "[ \"$RHA_DIRECTION\" = do ] || { echo cannot undo >&2; exit 4; }",
    );
    let broken = script(dir.path(), "broken.sh", "exit 1");
    let mut list = ScriptList::new(vec![
        Script::new(fragile, vec![], 10 * SECOND, context()),
        Script::new(broken, vec![], 10 * SECOND, context()),
    ]);
    let err = list.apply().unwrap_err();
    let RedirectError::ScriptList {
        rollback: Some(rollback),
        ..
    } = &err
    else {
        panic!("{err:?}");
    };
    assert_eq!(rollback.len(), 1);
    let text = err.to_string();
    assert!(
        text.contains("cannot undo") && text.contains("broken.sh"),
        "{text}"
    );
}
