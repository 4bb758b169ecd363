//! The directory lock, its subdirectories, and the fault plans.

use std::io;
use std::sync::Arc;

use super::*;

#[test]
fn a_subdirectory_shares_its_parents_lock() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = DirStorage::open(tmp.path()).expect("open");
    let sub = dir.subdir("rewind").expect("subdir");
    assert!(tmp.path().join("rewind").is_dir());
    assert!(!tmp.path().join("rewind").join(LOCK_FILE).exists());
    drop(dir);
    // The subdirectory alone still holds the lock.
    let e = DirStorage::open(tmp.path()).expect_err("locked");
    assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
    let file = sub.create("f").expect("create");
    file.write_at(0, b"abc").expect("write");
    drop((file, sub));
    let dir = DirStorage::open(tmp.path()).expect("unlocked");
    let sub = dir.subdir("rewind").expect("existing subdir");
    assert_eq!(sub.list().expect("list"), vec!["f".to_owned()]);
}

/// Makes `n` calls through `storage`, returning which failed.
fn failures(storage: &FaultInjector, n: usize) -> Vec<bool> {
    (0..n).map(|_| storage.list().is_err()).collect()
}

#[test]
fn fail_at_fails_one_call_and_stop_at_every_call_from_there() {
    let faults = Faults::new(FaultPlan::FailAt(1));
    let storage = FaultInjector::new(Arc::new(MemStorage::new()), faults.clone());
    assert_eq!(failures(&storage, 4), [false, true, false, false]);
    assert_eq!((faults.calls(), faults.failed_call()), (4, Some("list")));
    faults.set(FaultPlan::StopAt(2));
    assert_eq!(faults.failed_call(), None);
    assert_eq!(failures(&storage, 4), [false, false, true, true]);
    faults.set(FaultPlan::Never);
    assert_eq!(failures(&storage, 2), [false, false]);
    // Another test double can share the count.
    faults.set(FaultPlan::FailAt(0));
    assert!(faults.step("target").is_err());
    assert!(storage.list().is_ok());
    assert_eq!(faults.failed_call(), Some("target"));
}
