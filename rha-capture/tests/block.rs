//! `rha signature`, `rha delta`, `rha patch`, interoperability with
//! librsync's `rdiff`, and `sync::block::sync_file`, including its update
//! in place cut at every write and flush.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::fs;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rha_capture::sync::block::{
    sync_file, sync_file_with_hook, BlockSyncMode, BlockSyncOptions, IoPoint, IN_PLACE_MIN,
};

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

fn rdiff(args: &[&str]) {
    let out = Command::new("rdiff")
        .args(args)
        .output()
        .expect("the `rdiff` command (Debian package rdiff) is needed; `bash .ci/run` installs it");
    assert!(
        out.status.success(),
        "rdiff {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Pseudo-random bytes (xorshift), deterministic per seed.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// `basis` with a few edits: overwrites, an insertion and a deletion.
fn edited(basis: &[u8]) -> Vec<u8> {
    let mut v = basis.to_vec();
    v[1000..1100].fill(b'x');
    v.splice(50_000..50_000, noise(777, 9));
    v.drain(120_000..121_234);
    let n = v.len();
    v[n - 10..].copy_from_slice(b"0123456789");
    v
}

struct Files {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Files {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_owned();
        Self { _dir: dir, root }
    }
    fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }
    fn write(&self, name: &str, data: &[u8]) -> PathBuf {
        let p = self.path(name);
        fs::write(&p, data).unwrap();
        p
    }
}

#[test]
fn signature_delta_patch_round_trip() {
    let f = Files::new();
    let basis_data = noise(300_000, 1);
    let new_data = edited(&basis_data);
    let basis = f.write("basis", &basis_data);
    let new = f.write("new", &new_data);
    let (sig, delta, out) = (f.path("sig"), f.path("delta"), f.path("out"));
    let said = rha_ok(&[
        Path::new("signature"),
        &basis,
        &sig,
        Path::new("--block-size"),
        Path::new("2048"),
    ]);
    assert!(said.contains("147 blocks of 2048 bytes"), "{said}");
    let said = rha_ok(&[Path::new("delta"), &sig, &new, &delta]);
    assert!(said.contains("literal"), "{said}");
    assert!(fs::metadata(&delta).unwrap().len() < 20_000);
    rha_ok(&[Path::new("patch"), &basis, &delta, &out]);
    assert_eq!(fs::read(&out).unwrap(), new_data);
}

#[test]
fn xxh3_signatures_and_threads_give_the_same_deltas() {
    let f = Files::new();
    // 12 MiB, so that several threads get whole 4 MiB reads to share.
    let basis_data = noise(12 << 20, 9);
    let new_data = edited(&basis_data);
    let basis = f.write("basis", &basis_data);
    let new = f.write("new", &new_data);
    let mut deltas = Vec::new();
    for (hash, threads) in [("xxh3", "1"), ("xxh3", "3"), ("blake3", "2")] {
        let sig = f.path(&format!("{hash}-{threads}.sig"));
        let delta = f.path(&format!("{hash}-{threads}.delta"));
        let out = f.path(&format!("{hash}-{threads}.out"));
        let flags = [Path::new("--threads"), Path::new(threads)];
        let mut args = vec![
            Path::new("signature"),
            &basis,
            &sig,
            Path::new("--strong-hash"),
        ];
        args.push(Path::new(hash));
        args.extend(flags);
        rha_ok(&args);
        let version = fs::read(&sig).unwrap()[4];
        assert_eq!(version, if hash == "xxh3" { 2 } else { 1 });
        let mut args = vec![Path::new("delta"), &sig, &new, &delta];
        args.extend(flags);
        let said = rha_ok(&args);
        assert!(said.contains("literal"), "{said}");
        rha_ok(&[Path::new("patch"), &basis, &delta, &out]);
        assert_eq!(fs::read(&out).unwrap(), new_data, "{hash} {threads}");
        deltas.push(fs::read(&delta).unwrap());
    }
    // The strong hash of the signature and the thread count change nothing
    // in the delta: its format has no trace of either.
    assert_eq!(deltas[0], deltas[1]);
    assert_eq!(deltas[0], deltas[2]);
}

#[test]
fn rdiff_patch_applies_our_rdiff_deltas_from_its_own_signatures() {
    let f = Files::new();
    let basis_data = noise(400_000, 2);
    let new_data = edited(&basis_data);
    let basis = f.write("basis", &basis_data);
    let new = f.write("new", &new_data);
    for (i, extra) in [
        &[][..],
        &["-R", "rollsum"][..],
        &["-b", "1000", "-S", "8"][..],
    ]
    .iter()
    .enumerate()
    {
        let sig = f.path(&format!("rdiff{i}.sig"));
        let mut args = vec!["signature"];
        args.extend_from_slice(extra);
        args.extend([basis.to_str().unwrap(), sig.to_str().unwrap()]);
        rdiff(&args);
        // rdiff format, applied by rdiff.
        let delta = f.path(&format!("d{i}.rdiff"));
        let out = f.path(&format!("out{i}"));
        let said = rha_ok(&[
            Path::new("delta"),
            &sig,
            &new,
            &delta,
            Path::new("--format"),
            Path::new("rdiff"),
        ]);
        let matched: u64 = said
            .split("; ")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(matched > 300_000, "{extra:?}: {said}");
        rdiff(&[
            "patch",
            basis.to_str().unwrap(),
            delta.to_str().unwrap(),
            out.to_str().unwrap(),
        ]);
        assert_eq!(fs::read(&out).unwrap(), new_data, "{extra:?}");
        // rha format from the same rdiff signature, applied by rha.
        let delta = f.path(&format!("d{i}.rha"));
        let out = f.path(&format!("out{i}.rha"));
        rha_ok(&[Path::new("delta"), &sig, &new, &delta]);
        rha_ok(&[Path::new("patch"), &basis, &delta, &out]);
        assert_eq!(fs::read(&out).unwrap(), new_data, "{extra:?}");
    }
}

#[test]
fn rha_signatures_give_deltas_rdiff_applies_and_rha_reads_rdiff_deltas() {
    let f = Files::new();
    let basis_data = noise(200_000, 3);
    let new_data = edited(&basis_data);
    let basis = f.write("basis", &basis_data);
    let new = f.write("new", &new_data);
    let (sig, delta, out) = (f.path("sig"), f.path("delta"), f.path("out"));
    rha_ok(&[Path::new("signature"), &basis, &sig]);
    rha_ok(&[
        Path::new("delta"),
        &sig,
        &new,
        &delta,
        Path::new("--format"),
        Path::new("rdiff"),
    ]);
    rdiff(&[
        "patch",
        basis.to_str().unwrap(),
        delta.to_str().unwrap(),
        out.to_str().unwrap(),
    ]);
    assert_eq!(fs::read(&out).unwrap(), new_data);

    // A delta made by rdiff itself, applied by rha.
    let (rsig, rdelta, rout) = (f.path("r.sig"), f.path("r.delta"), f.path("r.out"));
    rdiff(&["signature", basis.to_str().unwrap(), rsig.to_str().unwrap()]);
    rdiff(&[
        "delta",
        rsig.to_str().unwrap(),
        new.to_str().unwrap(),
        rdelta.to_str().unwrap(),
    ]);
    rha_ok(&[Path::new("patch"), &basis, &rdelta, &rout]);
    assert_eq!(fs::read(&rout).unwrap(), new_data);
}

#[test]
fn md4_rdiff_signatures_are_refused_clearly() {
    let f = Files::new();
    let basis = f.write("basis", &noise(10_000, 4));
    let sig = f.path("md4.sig");
    rdiff(&[
        "signature",
        "-H",
        "md4",
        basis.to_str().unwrap(),
        sig.to_str().unwrap(),
    ]);
    let out = rha(&[Path::new("delta"), &sig, &basis, &f.path("d")]);
    assert_eq!(out.status.code(), Some(4));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("MD4") && err.contains("byte offset 0"),
        "{err}"
    );
}

#[test]
fn corrupt_inputs_have_exit_code_4_and_leave_no_output() {
    let f = Files::new();
    let basis_data = noise(50_000, 5);
    let basis = f.write("basis", &basis_data);
    let new = f.write("new", &edited(&noise(130_000, 5))[..60_000]);
    let (sig, delta, out) = (f.path("sig"), f.path("delta"), f.path("out"));
    rha_ok(&[Path::new("signature"), &basis, &sig]);
    rha_ok(&[Path::new("delta"), &sig, &new, &delta]);

    let mut bad = fs::read(&sig).unwrap();
    bad[40] ^= 1;
    let bad_sig = f.write("bad.sig", &bad);
    let o = rha(&[Path::new("delta"), &bad_sig, &new, &f.path("x")]);
    assert_eq!(o.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&o.stderr).contains("checksum mismatch at byte offset 32"));

    let mut bad = fs::read(&delta).unwrap();
    let n = bad.len();
    bad[n / 2] ^= 1;
    let bad_delta = f.write("bad.delta", &bad);
    let o = rha(&[Path::new("patch"), &basis, &bad_delta, &out]);
    assert_eq!(
        o.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!out.exists());

    // The right delta on the wrong basis: the whole-file hash catches it.
    let mut other = basis_data.clone();
    other[5000] ^= 1;
    let other = f.write("other", &other);
    let o = rha(&[Path::new("patch"), &other, &delta, &out]);
    assert_eq!(o.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&o.stderr).contains("whole-file hash"));
    assert!(!out.exists());
}

#[test]
fn sync_file_rolling_and_fixed() {
    let f = Files::new();
    let master_data = edited(&noise(1_000_000, 6));
    let master = f.write("master", &master_data);
    for mode in [BlockSyncMode::Rolling, BlockSyncMode::FixedInPlace] {
        let replica = f.write("replica", &noise(1_000_000, 6));
        let opts = BlockSyncOptions::default().mode(mode);
        let stats = sync_file(&master, &replica, &opts).unwrap();
        assert_eq!(fs::read(&replica).unwrap(), master_data, "{mode:?}");
        assert!(!stats.fell_back);
        assert_eq!(
            stats.literal_bytes + stats.matched_bytes,
            master_data.len() as u64,
            "{mode:?} {stats:?}"
        );
        if mode == BlockSyncMode::Rolling {
            assert!(stats.literal_bytes < 40_000, "{stats:?}");
        }
        // Again: nothing left to send.
        let stats = sync_file(&master, &replica, &opts).unwrap();
        assert_eq!(stats.literal_bytes, 0, "{mode:?}");
    }
    // A missing replica is created.
    let fresh = f.path("fresh");
    sync_file(&master, &fresh, &BlockSyncOptions::default()).unwrap();
    assert_eq!(fs::read(&fresh).unwrap(), master_data);
}

/// A 5 GiB sparse file with data at a few places beyond 4 GiB.
#[test]
fn sync_file_handles_sparse_files_beyond_4_gib() {
    let f = Files::new();
    let len = 5u64 << 30;
    let master = f.path("master");
    let replica = f.path("replica");
    let m = fs::File::create(&master).unwrap();
    m.set_len(len).unwrap();
    m.write_all_at(b"head", 0).unwrap();
    m.write_all_at(&noise(100_000, 7), (4u64 << 30) + 12_345)
        .unwrap();
    m.write_all_at(b"tail", len - 4).unwrap();
    let r = fs::File::create(&replica).unwrap();
    r.set_len(len - 1000).unwrap();
    r.write_all_at(&noise(100_000, 7), (4u64 << 30) + 12_345)
        .unwrap();
    drop((m, r));

    let stats = sync_file(&master, &replica, &BlockSyncOptions::default()).unwrap();
    assert!(!stats.fell_back);
    assert!(stats.literal_bytes < 1 << 20, "{stats:?}");
    let meta = fs::metadata(&replica).unwrap();
    assert_eq!(meta.len(), len);
    // Holes stay holes: far less than the length is allocated.
    assert!(
        meta.blocks() * 512 < 64 << 20,
        "{} bytes allocated",
        meta.blocks() * 512
    );
    let r = fs::File::open(&replica).unwrap();
    let mut buf = [0u8; 4];
    r.read_exact_at(&mut buf, len - 4).unwrap();
    assert_eq!(&buf, b"tail");
    r.read_exact_at(&mut buf, 0).unwrap();
    assert_eq!(&buf, b"head");
    let mut mid = vec![0u8; 100_000];
    r.read_exact_at(&mut mid, (4u64 << 30) + 12_345).unwrap();
    assert_eq!(mid, noise(100_000, 7));
}

/// Whether the file system under `dir` reports holes (`SEEK_HOLE` finds
/// one in a file that has one); the sparse tests skip, saying so, where it
/// does not.
fn reports_holes(dir: &Path) -> bool {
    let path = dir.join("probe");
    let f = fs::File::create(&path).unwrap();
    f.set_len(64 << 20).unwrap();
    f.write_all_at(b"x", 0).unwrap();
    let hole = rustix::fs::seek(&f, rustix::fs::SeekFrom::Hole(0));
    drop(f);
    fs::remove_file(&path).unwrap();
    matches!(hole, Ok(h) if h > 0 && h < 64 << 20)
}

/// Data regions of the 1 TiB test file: at the start, just past 4 GiB,
/// in the middle and at the very end (unaligned).
fn tib_regions() -> Vec<(u64, Vec<u8>)> {
    let len = 1u64 << 40;
    vec![
        (0, noise(1 << 20, 11)),
        ((4 << 30) + 777, noise(1 << 20, 12)),
        ((len / 2) + 12_345, noise(1 << 20, 13)),
        (len - 300_000, noise(300_000, 14)),
    ]
}

fn sparse_file(path: &Path, len: u64, regions: &[(u64, Vec<u8>)]) {
    let f = fs::File::create(path).unwrap();
    f.set_len(len).unwrap();
    for (at, data) in regions {
        f.write_all_at(data, *at).unwrap();
    }
}

/// Checks `path` is `len` bytes holding `regions` and zeros elsewhere (at
/// sampled offsets), and is still sparse.
fn check_sparse_copy(path: &Path, len: u64, regions: &[(u64, Vec<u8>)], case: &str) {
    let meta = fs::metadata(path).unwrap();
    assert_eq!(meta.len(), len, "{case}");
    assert!(
        meta.blocks() * 512 < 64 << 20,
        "{case}: {} bytes allocated",
        meta.blocks() * 512
    );
    let f = fs::File::open(path).unwrap();
    for (at, data) in regions {
        let mut buf = vec![0u8; data.len()];
        f.read_exact_at(&mut buf, *at).unwrap();
        assert!(buf == *data, "{case}: region at {at}");
    }
    for at in [
        2 << 20,
        1 << 30,
        (4 << 30) - 4096,
        300 << 30,
        len - (1 << 20),
    ] {
        let mut buf = vec![1u8; 4096];
        f.read_exact_at(&mut buf, at).unwrap();
        assert!(buf.iter().all(|&b| b == 0), "{case}: hole at {at}");
    }
}

/// A 1 TiB sparse file with a few MiB of data syncs in about the time its
/// data takes: into a missing replica, one that differs in one region, and
/// an identical one; the replica stays sparse.
#[test]
fn sync_file_of_a_terabyte_sparse_file_costs_its_data() {
    let f = Files::new();
    if !reports_holes(&f.root) {
        eprintln!(
            "SKIPPED: the file system of {} does not report holes (SEEK_HOLE)",
            f.root.display()
        );
        return;
    }
    let len = 1u64 << 40;
    let regions = tib_regions();
    let data: u64 = regions.iter().map(|(_, d)| d.len() as u64).sum();
    let master = f.path("master");
    sparse_file(&master, len, &regions);

    // (a) No replica yet.
    let replica = f.path("replica");
    let stats = sync_file(&master, &replica, &BlockSyncOptions::default()).unwrap();
    assert!(!stats.fell_back, "{stats:?}");
    assert!(stats.literal_bytes < data + (8 << 20), "{stats:?}");
    assert!(stats.hole_bytes > len - (64 << 20), "{stats:?}");
    assert!(stats.delta_bytes < data + (8 << 20), "{stats:?}");
    check_sparse_copy(&replica, len, &regions, "missing replica");

    // (b) A replica that differs in one region.
    let mut other = regions.clone();
    other[2].1 = noise(1 << 20, 99);
    sparse_file(&replica, len, &other);
    let stats = sync_file(&master, &replica, &BlockSyncOptions::default()).unwrap();
    assert!(!stats.fell_back, "{stats:?}");
    assert!(stats.literal_bytes <= 3 << 20, "{stats:?}");
    assert!(stats.matched_bytes >= 2 << 20, "{stats:?}");
    check_sparse_copy(&replica, len, &regions, "one region differs");

    // (c) An identical replica: every data block is found.
    let stats = sync_file(&master, &replica, &BlockSyncOptions::default()).unwrap();
    assert!(!stats.fell_back, "{stats:?}");
    assert_eq!(stats.literal_bytes, 0, "{stats:?}");
    assert_eq!(
        stats.literal_bytes + stats.matched_bytes + stats.hole_bytes,
        len,
        "{stats:?}"
    );
    check_sparse_copy(&replica, len, &regions, "identical replica");
}

/// `rha signature`, `rha delta` and `rha patch` on a 1 TiB sparse file:
/// holes are not read, travel as zero runs and stay holes.
#[test]
fn block_commands_keep_a_terabyte_sparse_file_cheap() {
    let f = Files::new();
    if !reports_holes(&f.root) {
        eprintln!(
            "SKIPPED: the file system of {} does not report holes (SEEK_HOLE)",
            f.root.display()
        );
        return;
    }
    let len = 1u64 << 40;
    let regions = tib_regions();
    let (master, basis) = (f.path("master"), f.path("basis"));
    sparse_file(&master, len, &regions);
    let mut other = regions.clone();
    other[1].1 = noise(1 << 20, 98);
    sparse_file(&basis, len, &other);
    let (sig, delta, out) = (f.path("sig"), f.path("delta"), f.path("out"));
    rha_ok(&[Path::new("signature"), &basis, &sig]);
    rha_ok(&[Path::new("delta"), &sig, &master, &delta]);
    assert!(
        fs::metadata(&delta).unwrap().len() < 4 << 20,
        "{} delta bytes",
        fs::metadata(&delta).unwrap().len()
    );
    rha_ok(&[Path::new("patch"), &basis, &delta, &out]);
    check_sparse_copy(&out, len, &regions, "rha patch");
}

/// A replica of `len` noise bytes and a master with some of its 4 KiB
/// blocks rewritten where they are, one zeroed, and `grow` bytes added.
fn blocks_changed_in_place(len: usize, grow: usize) -> (Vec<u8>, Vec<u8>) {
    let old = noise(len, 21);
    let mut new = old.clone();
    for (i, b) in [3usize, 40, 41, 97, 180].into_iter().enumerate() {
        let at = (b * 4096) % (len - 4096);
        new[at..at + 4096].copy_from_slice(&noise(4096, 100 + i as u64));
    }
    new[64 * 4096..66 * 4096].fill(0);
    new.extend_from_slice(&noise(grow, 77));
    (old, new)
}

fn small_in_place() -> BlockSyncOptions {
    BlockSyncOptions::default()
        .block_len(Some(4096))
        .in_place_min(0)
}

/// Issue 13: a replica whose blocks changed in place is updated in place,
/// writing only those blocks; a shared inode, a moved block or a small
/// file still gets a new file.
#[test]
fn changed_blocks_are_written_in_place_unless_the_file_is_shared_or_data_moved() {
    let f = Files::new();
    let (old, new) = blocks_changed_in_place(1 << 20, 0);
    let master = f.write("master", &new);
    let replica = f.write("replica", &old);
    let ino = fs::metadata(&replica).unwrap().ino();
    let stats = sync_file(&master, &replica, &small_in_place()).unwrap();
    assert!(stats.in_place && !stats.fell_back, "{stats:?}");
    assert!(stats.literal_bytes <= 7 * 4096, "{stats:?}");
    assert!(fs::read(&replica).unwrap() == new);
    assert_eq!(fs::metadata(&replica).unwrap().ino(), ino, "same inode");
    let leftovers: Vec<_> = fs::read_dir(&f.root).unwrap().collect();
    assert_eq!(leftovers.len(), 2, "no temporary file left");

    // Growing and shrinking in place.
    for (grow, cut) in [(10_000, 0), (0, 70_000)] {
        let (old, mut new) = blocks_changed_in_place(1 << 20, grow);
        new.truncate(new.len() - cut);
        let master = f.write("master", &new);
        let replica = f.write("replica", &old);
        let stats = sync_file(&master, &replica, &small_in_place()).unwrap();
        assert!(stats.in_place, "{stats:?}");
        assert!(fs::read(&replica).unwrap() == new, "grow {grow} cut {cut}");
    }

    // A second name shares the inode: it keeps the old content.
    let master = f.write("master", &new);
    let replica = f.write("replica", &old);
    let other = f.path("other-name");
    fs::hard_link(&replica, &other).unwrap();
    let stats = sync_file(&master, &replica, &small_in_place()).unwrap();
    assert!(!stats.in_place, "{stats:?}");
    assert!(fs::read(&replica).unwrap() == new);
    assert!(fs::read(&other).unwrap() == old);
    fs::remove_file(&other).unwrap();

    // Inserted data moves the blocks after it: a new file.
    let moved = edited(&old);
    let master = f.write("master", &moved);
    let replica = f.write("replica", &old);
    let stats = sync_file(&master, &replica, &small_in_place()).unwrap();
    assert!(!stats.in_place, "{stats:?}");
    assert!(fs::read(&replica).unwrap() == moved);

    // Below the default threshold: a new file.
    const { assert!(IN_PLACE_MIN > 1 << 20) };
    let master = f.write("master", &new);
    let replica = f.write("replica", &old);
    let opts = BlockSyncOptions::default().block_len(Some(4096));
    let stats = sync_file(&master, &replica, &opts).unwrap();
    assert!(!stats.in_place, "{stats:?}");
    assert!(fs::read(&replica).unwrap() == new);
}

/// Issue 13, crash safety of the update in place: the file is durably
/// marked (status change, then `fsync`) before its first write, and an
/// update cut at any write or flush (a crash, a kill, an I/O error) is
/// repaired by the next run, which yields the master's exact bytes.
#[test]
fn an_update_in_place_cut_at_every_write_and_flush_is_repaired_by_the_next_run() {
    let f = Files::new();
    for (grow, defer) in [(0, false), (5000, false), (0, true)] {
        let (old, new) = blocks_changed_in_place(1 << 20, grow);
        let master = f.write("master", &new);
        let opts = small_in_place().defer_flush(defer);

        // The points, in order, of an update that runs through.
        let replica = f.write("replica", &old);
        let mut points = Vec::new();
        let stats = sync_file_with_hook(&master, &replica, &opts, &mut |p| {
            points.push(p);
            Ok(())
        })
        .unwrap();
        assert!(stats.in_place, "{stats:?}");
        assert!(fs::read(&replica).unwrap() == new);
        assert_eq!(points[..2], [IoPoint::Mark, IoPoint::Sync], "{points:?}");
        let changes = points
            .iter()
            .filter(|p| matches!(p, IoPoint::Write { .. } | IoPoint::Zero { .. }))
            .count();
        assert!(changes >= 5, "{points:?}");
        assert!(points.iter().any(|p| matches!(p, IoPoint::Zero { .. })));
        assert!(points.iter().any(|p| matches!(p, IoPoint::SetLen { .. })));
        assert_eq!(
            points.last() == Some(&IoPoint::Sync),
            !defer,
            "a flush at the end unless deferred: {points:?}"
        );

        for cut in 0..points.len() {
            let replica = f.write("replica", &old);
            let mut n = 0;
            let result = sync_file_with_hook(&master, &replica, &opts, &mut |_| {
                n += 1;
                if n > cut {
                    return Err(std::io::Error::other("cut"));
                }
                Ok(())
            });
            assert!(result.is_err(), "cut at {cut}: {result:?}");
            let stats = sync_file(&master, &replica, &opts).unwrap();
            assert!(!stats.fell_back, "{stats:?}");
            assert!(
                fs::read(&replica).unwrap() == new,
                "grow {grow} defer {defer}: cut before point {cut} of {points:?}"
            );
        }
    }
}

/// A delta larger than what is staged in memory goes on in a file and is
/// still applied in place; one that rewrites more than half the file is
/// not.
#[test]
fn large_deltas_are_staged_in_a_file_and_half_rewritten_files_copied() {
    let f = Files::new();
    let len = 48 << 20;
    let old = noise(len, 5);
    for (every, in_place) in [(2usize, true), (1, false)] {
        // Every `every`th 64 KiB of the first 40 MiB rewritten.
        let mut new = old.clone();
        for (i, chunk) in new[..40 << 20].chunks_mut(64 << 10).enumerate() {
            if i % every == 0 {
                chunk.copy_from_slice(&noise(64 << 10, i as u64 + 1000));
            }
        }
        let master = f.write("master", &new);
        let replica = f.write("replica", &old);
        let opts = BlockSyncOptions::default()
            .block_len(Some(64 << 10))
            .in_place_min(0);
        let stats = sync_file(&master, &replica, &opts).unwrap();
        assert_eq!(stats.in_place, in_place, "every {every}: {stats:?}");
        assert!(stats.literal_bytes > 16 << 20, "{stats:?}");
        assert!(fs::read(&replica).unwrap() == new, "every {every}");
        let names: Vec<_> = fs::read_dir(&f.root).unwrap().collect();
        assert_eq!(names.len(), 2, "no staging or temporary file left");
    }
}

/// Issue 13: a file of several read pieces with threads to spare is read
/// ahead (the replica signed and the master hashed on the reading thread):
/// the result is the same, updated in place, holes included, and a copy
/// still works when data moved.
#[test]
fn read_ahead_with_threads_gives_the_same_result() {
    let dir = tempfile::tempdir().unwrap();
    let (m, r) = (dir.path().join("m"), dir.path().join("r"));
    let len = 21 << 20; // more than two 4 MiB pieces, not a multiple
    let base = noise(len, 11);
    let mut master = base.clone();
    for at in [5 << 20, (13 << 20) + 123, len - 700] {
        master[at..at + 500].fill(0xEE);
    }
    for threads in [1, 2] {
        fs::write(&r, &base).unwrap();
        // The master has a hole in the middle (zeros, never written).
        let f = fs::File::create(&m).unwrap();
        f.set_len(len as u64).unwrap();
        f.write_all_at(&master[..8 << 20], 0).unwrap();
        f.write_all_at(&master[12 << 20..], 12 << 20).unwrap();
        let mut want = master.clone();
        want[8 << 20..12 << 20].fill(0);
        let stats = sync_file(&m, &r, &small_in_place().block_len(None).threads(threads)).unwrap();
        assert!(fs::read(&r).unwrap() == want, "threads {threads}");
        assert!(!stats.fell_back, "threads {threads}: {stats:?}");
        // The hole differs from the replica's data: those blocks travel.
        assert!(
            stats.literal_bytes < (6 << 20),
            "threads {threads}: {stats:?}"
        );
        // Data that moved: a new file, still right.
        let mut shifted = vec![1u8; 4096];
        shifted.extend_from_slice(&base);
        fs::write(&m, &shifted).unwrap();
        let stats = sync_file(&m, &r, &small_in_place().block_len(None).threads(threads)).unwrap();
        assert!(fs::read(&r).unwrap() == shifted, "threads {threads}");
        assert!(
            !stats.in_place && !stats.fell_back,
            "threads {threads}: {stats:?}"
        );
    }
}
