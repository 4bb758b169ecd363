"""Test helpers: a sample of every operation, and encode/decode shorthands."""

from __future__ import annotations

from typing import Any, Iterable, List, Optional, Tuple

import rha

T0 = 1_700_000_000_000_000_000

ALL_OPS: List[rha.Op] = [
    rha.Create("dir/file.txt", 0o644),
    rha.Write("dir/file.txt", 4096, b"hello, journal"),
    rha.Write("dir/empty-write", 0, b""),
    rha.SetLen("dir/file.txt", 1 << 40),
    rha.Delete("dir/old"),
    rha.Rename("dir/a", "other/b"),
    rha.Mkdir("dir/sub", 0o755),
    rha.Rmdir("dir/sub"),
    rha.Symlink("dir/link", "../outside/target"),
    rha.HardLink("dir/file.txt", "dir/hard"),
    rha.SetAttr("dir/file.txt", mode=0o600, uid=1000, gid=100, atime_ns=-1, mtime_ns=T0),
    rha.SetAttr("dir/file.txt", mtime_ns=0),
    rha.SetAttr("dir/file.txt"),
    rha.SetXattr("dir/file.txt", "user.comment", b"\x00binary\xff"),
    rha.RemoveXattr("dir/file.txt", b"user.comment"),
    rha.Mknod("dev/sda1", 0o060660, (8 << 8) | 1),
    rha.Mknod("dir/fifo", 0o010600),
    rha.ClearXattrs("dir/file.txt"),
    rha.BlockWrite(3, 1 << 33, bytes(range(256)) * 4),
    rha.Discard(3, 4096, 1 << 20),
    rha.Bookmark("before upgrade \N{SNOWMAN}", app_consistent=True),
    rha.Bookmark("plain"),
    rha.TxBegin(7),
    rha.TxCommit(7),
    rha.SyncStart(2**64 - 1),
    rha.SyncEnd(2**64 - 1),
    rha.Epoch(scenario=42, epoch=3),
    rha.Create(b"non-utf8-\xff\xfe", 0o600),
    rha.Write("big", 0, bytes(200_000)),  # above the writer's direct-payload threshold
]

def encode(ops: Iterable[rha.Op], **options: Any) -> bytes:
    """A whole journal: ``ops`` stamped T0, T0+1, ... then flushed and drained."""
    with rha.JournalWriter(**options) as w:
        for i, op in enumerate(ops):
            w.append(op, timestamp_ns=T0 + i)
        w.flush()
        return w.drain()


def decode(data: Any, chunk: Optional[int] = None, **options: Any) -> Tuple[List[rha.Record], rha.End]:
    """Records and end of ``data``, fed in ``chunk``-byte pieces (or at once)."""
    with rha.JournalReader(**options) as r:
        records: List[rha.Record] = []
        view = memoryview(data)
        step = chunk or max(len(view), 1)
        for start in range(0, len(view), step):
            r.feed(view[start : start + step])
            records.extend(r)
        return records, r.finish()

