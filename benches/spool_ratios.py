#!/usr/bin/env python3
"""Print the spool benchmark results as ratios to their references.

Reads the last run of `cargo bench -p rha-benches --bench spool` from the
criterion output directory ($CARGO_TARGET_DIR or ./target, then criterion/)
and checks the spool targets of issue 4:

- 8 producers waiting for durability: >= 20x the records/s of
  fdatasync-per-record (reported for one wait per record and pipelined);
- bulk append of 1 MiB records: >= 0.80 of a raw sequential write + fsync;
- reading sealed segments: >= 0.50 of memcpy.

    cargo bench -p rha-benches --bench spool
    python3 benches/spool_ratios.py
"""

import json
import os
import sys
from pathlib import Path


def load(root):
    groups = {}
    for bench in root.glob("spool-*/**/new/benchmark.json"):
        meta = json.loads(bench.read_text())
        est = json.loads((bench.parent / "estimates.json").read_text())
        groups.setdefault(meta["group_id"], {})[meta["function_id"]] = est["mean"]["point_estimate"]
    return groups


def main():
    target = Path(os.environ.get("CARGO_TARGET_DIR", "target"))
    groups = load(target / "criterion")
    if not groups:
        sys.exit(f"no spool results under {target / 'criterion'}; run cargo bench first")
    checks = []
    durable = groups.get("spool-durable-4KiB", {})
    base = durable.get("fdatasync-per-record")
    if base:
        print("spool-durable-4KiB (records/s relative to fdatasync-per-record)")
        for name, ns in sorted(durable.items()):
            print(f"  {name:28} {base / ns:8.2f}x")
        for name in ("producers-8", "producers-8-pipelined"):
            if name in durable:
                checks.append((f"{name} vs fdatasync-per-record", base / durable[name], 20.0))
    bulk = groups.get("spool-bulk-1MiB", {})
    if "raw-write+one-fsync" in bulk and "spool" in bulk:
        r = bulk["raw-write+one-fsync"] / bulk["spool"]
        print(f"spool-bulk-1MiB: spool at {r:.2f} of raw write + fsync")
        checks.append(("bulk 1 MiB vs raw write", r, 0.80))
    read = groups.get("spool-read", {})
    if "memcpy" in read and "spool" in read:
        r = read["memcpy"] / read["spool"]
        print(f"spool-read: spool at {r:.2f} of memcpy")
        checks.append(("read sealed segments vs memcpy", r, 0.50))
    failed = 0
    for what, ratio, goal in checks:
        ok = ratio >= goal
        failed += not ok
        print(f"{'PASS' if ok else 'MISS'} {what}: {ratio:.2f} (target >= {goal})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
