#!/usr/bin/env python3
"""Peak memory (maximum resident set size) of the `rha` commands on large inputs.

Every command runs as its own process under `/usr/bin/time -f %M`; the
script prints each one's peak RSS in MiB next to the bound that
docs/memory.md states, and fails if a bound is exceeded.

    cargo build --release -p rha-capture
    python3 benches/memory.py                  # a 2 GiB file, /usr/lib as the tree
    python3 benches/memory.py --gib 1 --tree /usr/share/doc

The large case is a signature of 2^20 blocks: the file (2 GiB by default,
about 7 GiB of scratch space in all) is signed in blocks of its size / 2^20
(`--block-size 2048`), which gives as many blocks as a 1 TiB file has at
the automatic block length (1 MiB, the largest). The delta runs against that signature with 1% of the blocks
changed, then the patch; `sync --mode block` updates a replica copy of the
file; the tree cases are a first full copy and a no-change re-sync of
--tree. `sync --mode block, 1 TiB` updates a sparse 1 TiB file (2^20 blocks
of 1 MiB, 16 of them data) in a replica where half of those differ.
"""

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The large file is signed in blocks of size / 2^20: 2^20 blocks.
BLOCKS = 1 << 20
# The bounds of docs/memory.md, MiB.
BOUNDS = {
    "signature": 64,
    "delta": 64,
    "patch": 64,
    "sync --mode block": 64,
    "sync --mode block, 1 TiB": 64,
    "sync (first copy)": 64,
    "sync (no change)": 64,
}


def rha_binary():
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    exe = target / "release" / "rha"
    if not exe.exists():
        sys.exit(f"{exe} is missing: run `cargo build --release -p rha-capture` first")
    return str(exe)


def peak_mib(cmd):
    """Runs `cmd`; returns its peak RSS in MiB, failing loudly on an error."""
    r = subprocess.run(["/usr/bin/time", "-f", "%M", "--", *cmd],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    lines = r.stderr.decode(errors="replace").strip().splitlines()
    if r.returncode != 0 or not lines:
        sys.exit(f"{' '.join(cmd)}: exit {r.returncode}\n" + "\n".join(lines))
    return int(lines[-1]) / 1024


def write_file(path, size, seed):
    rnd = random.Random(seed)
    chunk = 64 << 20
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(chunk, left)
            f.write(rnd.randbytes(n))
            left -= n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gib", type=int, default=2, help="size of the large file (default 2)")
    ap.add_argument("--tree", type=Path, default=Path("/usr/lib"))
    ap.add_argument("--scratch", type=Path)
    args = ap.parse_args()
    if not Path("/usr/bin/time").exists():
        sys.exit("/usr/bin/time is missing (apt-get install time)")
    rha = rha_binary()
    scratch = args.scratch or Path(tempfile.mkdtemp(prefix="rha-memory-bench-"))
    scratch.mkdir(parents=True, exist_ok=True)
    old, new = scratch / "old", scratch / "new"
    size = args.gib << 30
    blocks = BLOCKS
    block = size // blocks
    print(f"writing a {args.gib} GiB file ({blocks} blocks of {block} bytes) ...", file=sys.stderr)
    write_file(old, size, 1)
    shutil.copyfile(old, new)
    rnd = random.Random(2)
    with open(new, "r+b") as f:
        for b in rnd.sample(range(blocks), blocks // 100):
            f.seek(b * block)
            f.write(rnd.randbytes(block))
    sig, delta, out = scratch / "sig", scratch / "delta", scratch / "out"
    master_dir, replica_dir = scratch / "master", scratch / "replica"
    master_dir.mkdir()
    replica_dir.mkdir()
    results = {}
    results["signature"] = peak_mib([rha, "signature", "--block-size", str(block), str(old), str(sig)])
    results["delta"] = peak_mib([rha, "delta", str(sig), str(new), str(delta)])
    results["patch"] = peak_mib([rha, "patch", str(old), str(delta), str(out)])
    if subprocess.run(["cmp", "-s", str(new), str(out)]).returncode != 0:
        sys.exit("the patched file differs from the new file")
    # The old file becomes the replica's copy (a rename: disk space).
    out.unlink()
    os.rename(old, replica_dir / "big")
    os.link(new, master_dir / "big")
    results["sync --mode block"] = peak_mib(
        [rha, "sync", "--mode", "block", "--ignore-same", "off", str(master_dir), str(replica_dir)])
    if subprocess.run(["cmp", "-s", str(new), str(replica_dir / "big")]).returncode != 0:
        sys.exit("the block-synced replica differs from the master")
    for p in (new, sig, delta):
        p.unlink()
    shutil.rmtree(master_dir)
    shutil.rmtree(replica_dir)
    # A sparse 1 TiB file: 2^20 blocks of 1 MiB (the automatic length), a
    # few of them data, the rest holes; master and replica differ in some.
    master_dir.mkdir()
    replica_dir.mkdir()
    tib = 1 << 40
    for d, seed in ((master_dir, 3), (replica_dir, 4)):
        with open(d / "sparse", "wb") as f:
            f.truncate(tib)
            r = random.Random(5)
            for i, at in enumerate(sorted(r.sample(range(tib >> 20), 16))):
                f.seek(at << 20)
                f.write(random.Random(seed if i % 2 else 6).randbytes(1 << 20))
    results["sync --mode block, 1 TiB"] = peak_mib(
        [rha, "sync", "--mode", "block", "--ignore-same", "off", str(master_dir), str(replica_dir)])
    shutil.rmtree(master_dir)
    shutil.rmtree(replica_dir)
    tree_replica = scratch / "tree-replica"
    results["sync (first copy)"] = peak_mib([rha, "sync", str(args.tree), str(tree_replica)])
    results["sync (no change)"] = peak_mib([rha, "sync", str(args.tree), str(tree_replica)])
    failed = False
    print(f"{'command':<26} {'peak MiB':>9} {'bound':>7}")
    for name, mib in results.items():
        bound = BOUNDS[name]
        mark = "" if mib <= bound else "  OVER THE BOUND"
        failed |= mib > bound
        print(f"{name:<26} {mib:9.1f} {bound:7d}{mark}")
    if not args.scratch:
        shutil.rmtree(scratch, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
