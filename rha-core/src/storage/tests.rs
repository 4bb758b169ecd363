//! The directory lock, its subdirectories, and the fault plans.

use std::io;
use std::sync::Arc;

use super::*;

#[test]
fn a_lock_held_by_another_process_says_so() {
    let tmp = tempfile::tempdir().expect("tempdir");
    drop(DirStorage::open(tmp.path()).expect("create"));
    // Another process: flock(1) takes the lock and becomes `sleep` (no
    // fork, so killing it releases the lock).
    let lock = tmp.path().join(LOCK_FILE);
    let Ok(mut child) = std::process::Command::new("flock")
        .args(["-x", "--no-fork"])
        .arg(&lock)
        .args(["sleep", "5"])
        .spawn()
    else {
        eprintln!("flock(1) is not installed; skipped");
        return;
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let e = loop {
        match DirStorage::open(tmp.path()) {
            Err(e) => break e,
            Ok(d) if std::time::Instant::now() < deadline => drop(d),
            Ok(_) => panic!("the other process never took the lock"),
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    let held = lock_held(&e).expect("a LockHeld");
    assert!(!held.by_this_process);
    assert!(e.to_string().contains("in use by another process"), "{e}");
    // Released, and this process's own record of it is gone with the handle.
    let dir = DirStorage::open(tmp.path()).expect("unlocked");
    drop(dir);
    drop(DirStorage::open(tmp.path()).expect("reopened after drop"));
}

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
    let held = lock_held(&e).expect("a LockHeld");
    assert!(held.by_this_process);
    assert!(e.to_string().contains("in use by this process"), "{e}");
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

/// Starting write-back is only a hint: the data stays as written, a range
/// past the end or of no bytes is accepted, and a sync still follows.
#[test]
fn write_back_starts_writing_without_changing_anything() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = DirStorage::open(tmp.path()).expect("open");
    let f = dir.create("f").expect("create");
    let data = vec![7u8; 3 << 12];
    f.write_at(10, &data).expect("write");
    f.write_back(10, data.len() as u64).expect("write back");
    f.write_back(0, 0).expect("nothing");
    f.write_back(1 << 30, 4096).expect("past the end");
    f.sync().expect("sync");
    let mut back = vec![0u8; data.len()];
    f.read_at(10, &mut back).expect("read");
    assert_eq!(back, data);
    assert_eq!(f.len().expect("len"), 10 + data.len() as u64);
    // The default (in memory) does nothing.
    let mem = MemStorage::new();
    let m = mem.create("m").expect("create");
    mem.sync_dir().expect("name it");
    m.write_at(0, b"abc").expect("write");
    m.write_back(0, 3).expect("write back");
    assert!(mem
        .durable_image()
        .open("m")
        .expect("open")
        .is_empty()
        .expect("len"));
}

#[test]
fn a_vectored_write_lands_as_one_write_of_its_buffers() {
    // More buffers than one `pwritev` takes, some empty, of uneven sizes.
    let data: Vec<Vec<u8>> = (0..2500u32)
        .map(|i| vec![i as u8; (i as usize * 7) % 13])
        .collect();
    let bufs: Vec<&[u8]> = data.iter().map(|b| &b[..]).collect();
    let whole = data.concat();
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = DirStorage::open(tmp.path()).expect("open");
    let mem = MemStorage::new();
    for storage in [&dir as &dyn Storage, &mem] {
        let f = storage.create("f").expect("create");
        f.write_at(0, b"head").expect("write");
        f.write_vectored_at(4, &bufs).expect("write vectored");
        f.write_vectored_at(4 + whole.len() as u64, &[])
            .expect("nothing");
        let mut back = vec![0u8; 4 + whole.len()];
        f.read_at(0, &mut back).expect("read");
        assert_eq!(&back[..4], b"head");
        assert_eq!(&back[4..], &whole[..]);
        assert_eq!(f.len().expect("len"), 4 + whole.len() as u64);
    }
}
