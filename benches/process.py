#!/usr/bin/env python3
"""Whole-process comparisons of the `rha` tool against rsync and rdiff.

The criterion benches (`cargo bench -p rha-benches`) measure rha in memory;
this script measures what a user sees: one process against another, each
reading and writing real files. Every case runs the tools interleaved, in
an order flipped each round, with dirty pages flushed (`sync`) before each
timed run and the page cache left warm; it reports the median wall time of
each tool and the ratio reference / rha (above 1: rha is faster), and
checks every result.

    cargo build --release -p rha-capture
    python3 benches/process.py                       # all cases, 5 rounds
    python3 benches/process.py --rounds 7 --case sync-full --tree /usr/share

Cases (names for --case):
  sync-full      first full copy: rha sync vs rsync -a (each into a new
                 directory, the previous copy deleted and the file system
                 settled first: SyncCase.settle; about a minute per run)
  sync-nochange  re-sync of an identical tree
  sync-append    1% of the files appended to, then re-synced
                 (the sync cases also time rsync -aX, which carries extended
                 attributes as rha sync does, and the re-syncs a floor: two
                 `find -printf` walks in parallel, one lstat of every entry
                 of both trees, the least any tool comparing them must do)
  block-inplace  a 1 GiB file with 1% of its 64 KiB blocks changed:
                 rha sync --mode block --ignore-same off vs
                 rsync --no-whole-file --inplace
  block-copy     the same vs rsync --no-whole-file
  signature      rha signature (BLAKE3) vs rdiff signature -H blake2
  delta          rha delta --format rdiff vs rdiff delta, from rdiff's
                 signature of the old file

The tree (--tree, default /usr/lib) is copied once into a scratch directory
so that every round starts from the same bytes; --scratch picks where
(default: a directory under $TMPDIR). Needs rsync and rdiff on PATH.
"""

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def rha_binary():
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    exe = target / "release" / "rha"
    if not exe.exists():
        sys.exit(f"{exe} is missing: run `cargo build --release -p rha-capture` first")
    return str(exe)


def run(cmd, **kw):
    """Runs `cmd`, failing loudly with its output."""
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
    if r.returncode != 0:
        sys.exit(f"{' '.join(map(str, cmd))}: exit {r.returncode}\n{r.stderr.decode(errors='replace')}")
    return r


def timed(cmd):
    """Flushes dirty pages, then runs `cmd`; returns its wall time in seconds."""
    os.sync()
    start = time.perf_counter()
    run(cmd)
    return time.perf_counter() - start


def same_file(a, b):
    if subprocess.run(["cmp", "-s", str(a), str(b)]).returncode != 0:
        sys.exit(f"{b} differs from {a}")


class Case:
    """One comparison: `prepare_round()` once per round, `prepare(tool)`
    before each timed run (untimed), `command(tool)` timed, `check(tool)`
    after."""

    name = ""
    tools = ("rha", "ref")

    def prepare_round(self, i):
        pass

    def prepare(self, tool):
        if self.kind == "full":
            # Every tool copies into a new directory, with no other copy
            # about: the last one goes first (several would crowd the page
            # cache and make later runs pay for reclaim), then the file
            # system settles.
            for t in self.tools:
                shutil.rmtree(self.replica[t], ignore_errors=True)
            self.settle()

    def check(self, tool):
        pass


class SyncCase(Case):
    def __init__(self, rha, scratch, tree, kind):
        self.rha = rha
        self.kind = kind
        self.tools = ("rha", "ref", "refX") + (("floor",) if kind != "full" else ())
        self.name = f"sync-{kind}"
        self.master = scratch / "master"
        self.replica = {t: scratch / f"replica-{t}" for t in self.tools}
        if not self.master.exists():
            print(f"copying {tree} to the scratch directory ...", file=sys.stderr)
            run(["cp", "-a", "--", str(tree), str(self.master)])
        self.files = sorted(p for p in self.master.rglob("*") if p.is_file() and not p.is_symlink())

    def prepare_round(self, i):
        # Both replicas start each round equal to the master (untimed).
        if self.kind != "full":
            for tool in self.tools:
                if tool != "floor":
                    run(self.command(tool))
        if self.kind == "append":
            # 1% of the files, different ones each round, grow by 4 KiB;
            # both tools then sync the same change.
            rnd = random.Random(i)
            for p in rnd.sample(self.files, max(1, len(self.files) // 100)):
                with open(p, "ab") as f:
                    f.write(os.urandom(4096))

    def prepare(self, tool):
        if self.kind == "full":
            # Every tool copies into a new directory, with no other copy
            # about: the last one goes first (several would crowd the page
            # cache and make later runs pay for reclaim), then the file
            # system settles.
            for t in self.tools:
                shutil.rmtree(self.replica[t], ignore_errors=True)
            self.settle()

    def settle(self):
        """Leaves the file system as a fresh copy would find it.

        ext4 without a journal (as on this project's test machine) checks,
        for every inode it allocates, whether the inode was freed in the
        last minute (five if its inode-table block is still dirty), and
        skips it if so. Right after the previous copies were deleted most
        candidates are such inodes, and a copy spends up to twice its time
        skipping them, by an amount that varies from run to run. So the
        deleted copies are flushed and the minute is waited out. The master
        stays in the page cache (it is read once more to make sure); caches
        are not dropped, since on a virtual machine that hands freed memory
        back to its host the next copy would pay for faulting it in again.
        """
        os.sync()
        time.sleep(61)
        for p in self.files:
            with open(p, "rb") as f:
                while f.read(1 << 20):
                    pass
        for _ in self.master.rglob("*"):
            pass

    def command(self, tool):
        replica = self.replica[tool]
        if tool == "rha":
            return [self.rha, "sync", str(self.master), str(replica)]
        if tool == "floor":
            walk = "find \"$1\" -printf '%P %y %s %T@ %m %U %G\\n' >/dev/null"
            return ["sh", "-c", f"{walk} & pid=$!; shift; {walk}; wait $pid", "floor",
                    str(self.master), str(self.replica["rha"])]
        flags = "-aX" if tool == "refX" else "-a"
        return ["rsync", flags, "--delete", f"{self.master}/", f"{replica}/"]

    def check(self, tool):
        if tool == "floor":
            return
        # rha keeps its own state in the replica's `.rha`; compare the rest.
        r = subprocess.run(["diff", "-r", "--no-dereference", "-x", ".rha",
                            str(self.master), str(self.replica[tool])],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            sys.exit(f"{tool}'s replica differs from the master:\n"
                     f"{r.stdout.decode(errors='replace')[:2000]}")


BLOCK = 64 << 10


def random_file(path, size):
    """Writes `size` random bytes to `path` unless it exists."""
    if path.exists():
        return
    print(f"writing a {size >> 20} MiB file ...", file=sys.stderr)
    with open(path, "wb") as f:
        for _ in range(size >> 20):
            f.write(os.urandom(1 << 20))


def changed_pair(old, master, replica, seed):
    """Fresh directories `master` and `replica` holding `old` as `f.img`,
    the master's copy with 1% of its 64 KiB blocks rewritten (other blocks
    for each `seed`)."""
    for d in (master, replica):
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir()
        run(["cp", "--reflink=never", "--preserve=timestamps", str(old), str(d / "f.img")])
    rnd = random.Random(seed)
    blocks = (1 << 30) // BLOCK
    with open(master / "f.img", "r+b") as f:
        for b in rnd.sample(range(blocks), blocks // 100):
            f.seek(b * BLOCK)
            f.write(os.urandom(BLOCK))


def block_pair_dirs(case, dir):
    """Gives a block case its directory `dir`, the random 1 GiB file `old.img`
    in it that each round changes (made once), and a master and a replica
    directory per tool."""
    case.dir = dir
    dir.mkdir(exist_ok=True)
    case.old = dir / "old.img"
    random_file(case.old, 1 << 30)
    case.master = {t: dir / f"master-{t}" for t in case.tools}
    case.replica = {t: dir / f"replica-{t}" for t in case.tools}
    case.round = 0


class BlockCase(Case):
    def __init__(self, rha, scratch, inplace):
        self.rha = rha
        self.inplace = inplace
        self.name = "block-inplace" if inplace else "block-copy"
        block_pair_dirs(self, scratch / "block")

    def prepare(self, tool):
        changed_pair(self.old, self.master[tool], self.replica[tool], self.round)
        self.round += 1
        # The same modification time on both sides, so size and time agree
        # and only the content check finds the change.
        r = self.replica[tool]
        st = os.stat(r / "f.img")
        os.utime(self.master[tool] / "f.img", ns=(st.st_atime_ns, st.st_mtime_ns))

    def command(self, tool):
        m, r = self.master[tool], self.replica[tool]
        if tool == "rha":
            return [self.rha, "sync", "--mode", "block", "--ignore-same", "off", str(m), str(r)]
        cmd = ["rsync", "-a", "--no-whole-file", "--checksum"]
        if self.inplace:
            cmd.append("--inplace")
        return cmd + [f"{m}/", f"{r}/"]

    def check(self, tool):
        same_file(self.master[tool] / "f.img", self.replica[tool] / "f.img")


class RdiffCase(Case):
    def __init__(self, rha, scratch, what):
        self.rha = rha
        self.what = what
        self.name = what
        self.dir = scratch / "rdiff"
        self.dir.mkdir(exist_ok=True)
        self.old = self.dir / "old"
        self.new = self.dir / "new"
        if not self.old.exists():
            print("writing 256 MiB files ...", file=sys.stderr)
            data = bytearray(os.urandom(256 << 20))
            self.old.write_bytes(data)
            rnd = random.Random(1)
            for _ in range(64):
                at = rnd.randrange(len(data) - 4096)
                data[at:at + 4096] = os.urandom(4096)
            self.new.write_bytes(data)
        self.sig = self.dir / "old.sig"
        if not self.sig.exists():
            run(["rdiff", "signature", "-H", "blake2", str(self.old), str(self.sig)])

    def out(self, tool):
        return self.dir / f"{self.what}-{tool}"

    def prepare(self, tool):
        self.out(tool).unlink(missing_ok=True)

    def command(self, tool):
        out = str(self.out(tool))
        if self.what == "signature":
            if tool == "rha":
                return [self.rha, "signature", str(self.old), out]
            return ["rdiff", "signature", "-H", "blake2", str(self.old), out]
        if tool == "rha":
            return [self.rha, "delta", "--format", "rdiff", str(self.sig), str(self.new), out]
        return ["rdiff", "delta", str(self.sig), str(self.new), out]

    def check(self, tool):
        patched = self.dir / "check.out"
        patched.unlink(missing_ok=True)
        if self.what == "signature":
            # Each tool's signature must describe the old file: a delta from
            # it patches the old file into the new one.
            delta = self.dir / "check.delta"
            delta.unlink(missing_ok=True)
            tool_cmd = self.rha if tool == "rha" else "rdiff"
            run([tool_cmd, "delta", str(self.out(tool)), str(self.new), str(delta)])
            run([tool_cmd, "patch", str(self.old), str(delta), str(patched)])
        else:
            run(["rdiff", "patch", str(self.old), str(self.out(tool)), str(patched)])
        same_file(self.new, patched)


def measure(case, rounds):
    times = {t: [] for t in case.tools}
    for i in range(rounds):
        case.prepare_round(i)
        order = case.tools if i % 2 == 0 else tuple(reversed(case.tools))
        for tool in order:
            case.prepare(tool)
            times[tool].append(timed(case.command(tool)))
            case.check(tool)
    return {t: statistics.median(v) for t, v in times.items()}, times


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--case", action="append", help="run only these cases (repeatable)")
    ap.add_argument("--tree", type=Path, default=Path("/usr/lib"))
    ap.add_argument("--scratch", type=Path)
    args = ap.parse_args()
    for tool in ("rsync", "rdiff", "diff", "cmp"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not on PATH (apt-get install rsync rdiff diffutils)")
    rha = rha_binary()
    scratch = args.scratch or Path(tempfile.mkdtemp(prefix="rha-process-bench-"))
    scratch.mkdir(parents=True, exist_ok=True)
    names = ["sync-full", "sync-nochange", "sync-append", "block-inplace", "block-copy",
             "signature", "delta"]
    wanted = args.case or names
    unknown = set(wanted) - set(names)
    if unknown:
        sys.exit(f"unknown case(s): {', '.join(sorted(unknown))}; known: {', '.join(names)}")
    refs = {
        "sync-full": "rsync -a", "sync-nochange": "rsync -a", "sync-append": "rsync -a",
        "block-inplace": "rsync --no-whole-file --inplace",
        "block-copy": "rsync --no-whole-file", "signature": "rdiff signature -H blake2",
        "delta": "rdiff delta",
    }
    print(f"{'case':<15} {'rha s':>9} {'reference':<32} {'ref s':>9} {'ratio':>7}")
    for name in wanted:
        if name.startswith("sync-"):
            case = SyncCase(rha, scratch, args.tree, name[5:])
        elif name.startswith("block-"):
            case = BlockCase(rha, scratch, name == "block-inplace")
        else:
            case = RdiffCase(rha, scratch, name)
        med, _ = measure(case, args.rounds)
        ratio = med["ref"] / med["rha"]
        print(f"{name:<15} {med['rha']:9.3f} {refs[name]:<32} {med['ref']:9.3f} {ratio:6.2f}x",
              flush=True)
        if "refX" in med:
            print(f"{'':<15} {'':>9} {'rsync -aX':<32} {med['refX']:9.3f} "
                  f"{med['refX'] / med['rha']:6.2f}x", flush=True)
        if "floor" in med:
            print(f"{'':<15} {'':>9} {'floor (both trees lstat)':<32} {med['floor']:9.3f} "
                  f"{med['floor'] / med['rha']:6.2f}x  (rsync -a: "
                  f"{med['floor'] / med['ref']:.2f}x)", flush=True)
    if not args.scratch:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
