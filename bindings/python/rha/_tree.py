"""Tree signatures and sync plans: scan a directory, compare two scans.

A tree signature records every file system object under a directory (path,
kind, size, modification time, mode, owner, symlink target, hard-link
identity, sparse flag) in the compact, checksummed format of
``docs/tree-signature-format.md``. Comparing the master's signature with the
replica's yields the sync plan: the steps, in a safe order, that make the
replica equal to the master::

    import rha

    master = rha.scan("/srv/data")
    replica = rha.scan("/mnt/replica/data")
    for step in rha.compare(master, replica, exclude=["*.tmp"]):
        print(step.op, step.path)

Signatures may be ``bytes`` (as :func:`scan` returns) or paths of signature
files (as :func:`scan_to_file` writes); files are read incrementally, so very
large trees stay cheap in memory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, FrozenSet, Iterable, Iterator, Optional, Tuple, Union

from ._closeable import LockedIterator
from ._errors import call
from ._native import ffi, lib

__all__ = ["TreeEntry", "PlanStep", "ScanStats", "scan", "scan_to_file", "read_signature", "compare"]

Signature = Union[bytes, bytearray, memoryview, str, "os.PathLike[str]"]

_KINDS = {
    lib.RHA_TREE_FILE: "file",
    lib.RHA_TREE_DIR: "dir",
    lib.RHA_TREE_SYMLINK: "symlink",
    lib.RHA_TREE_OTHER: "other",
}
_OPS = {
    lib.RHA_PLAN_DELETE: "delete",
    lib.RHA_PLAN_MKDIR: "mkdir",
    lib.RHA_PLAN_CREATE: "create",
    lib.RHA_PLAN_UPDATE: "update",
    lib.RHA_PLAN_CHECK: "check",
    lib.RHA_PLAN_SYMLINK: "symlink",
    lib.RHA_PLAN_LINK: "link",
    lib.RHA_PLAN_SPECIAL: "special",
    lib.RHA_PLAN_SET_ATTRS: "attrs",
}
_CHANGES = (
    (lib.RHA_PLAN_CHANGE_MODE, "mode"),
    (lib.RHA_PLAN_CHANGE_OWNER, "owner"),
    (lib.RHA_PLAN_CHANGE_MTIME, "mtime"),
    (lib.RHA_PLAN_CHANGE_XATTRS, "xattrs"),
)
_CHUNK = 1 << 20


@dataclass(frozen=True)
class TreeEntry:
    """One entry of a tree signature.

    Attributes:
        path: Path relative to the scanned root (``str``; undecodable bytes
            as with :func:`os.fsdecode`).
        kind: ``"file"``, ``"dir"``, ``"symlink"`` or ``"other"``.
        size: Length in bytes (files; 0 otherwise).
        mtime_ns: Modification time in nanoseconds since the Unix epoch.
        mode: Permission bits (at most ``0o7777``).
        uid: Owner.
        gid: Group.
        target: A symlink's target (``""`` otherwise).
        link: ``(dev, ino)`` shared by the names of a hard-linked file, else None.
        sparse: Whether the file has holes.
    """

    path: str
    kind: str
    size: int = 0
    mtime_ns: int = 0
    mode: int = 0
    uid: int = 0
    gid: int = 0
    target: str = ""
    link: Optional[Tuple[int, int]] = None
    sparse: bool = False


@dataclass(frozen=True)
class PlanStep:
    """One step of a sync plan.

    Attributes:
        op: ``"delete"``, ``"mkdir"``, ``"create"``, ``"update"``,
            ``"check"`` (same size and time, compare contents), ``"symlink"``,
            ``"link"`` (hard link to :attr:`link_target`), ``"special"`` or
            ``"attrs"`` (fix the attributes named in :attr:`changes`).
        entry: The master's entry the replica must end up with; for
            ``"delete"`` the replica's path and kind only.
        link_target: For ``"link"``: the path of the file to link to.
        changes: For ``"attrs"``: a subset of
            ``{"mode", "owner", "mtime", "xattrs"}``.
    """

    op: str
    entry: TreeEntry
    link_target: Optional[str] = None
    changes: FrozenSet[str] = frozenset()

    @property
    def path(self) -> str:
        """The path the step acts on."""
        return self.entry.path


@dataclass(frozen=True)
class ScanStats:
    """Totals of a scan: entries, regular files, and their bytes."""

    entries: int
    files: int
    bytes: int


def _bytes(view: Any) -> bytes:
    return bytes(ffi.buffer(view.ptr, view.len)) if view.len else b""


def _entry(e: Any) -> TreeEntry:
    return TreeEntry(
        path=os.fsdecode(_bytes(e.path)),
        kind=_KINDS.get(e.kind, "other"),
        size=int(e.size),
        mtime_ns=int(e.mtime_ns),
        mode=int(e.mode),
        uid=int(e.uid),
        gid=int(e.gid),
        target=os.fsdecode(_bytes(e.target)),
        link=(int(e.link_dev), int(e.link_ino)) if e.has_link else None,
        sparse=bool(e.sparse),
    )


def _flags(one_file_system: bool, include_state_dir: bool) -> int:
    flags = lib.RHA_TREE_SCAN_ONE_FILE_SYSTEM if one_file_system else 0
    return flags | (lib.RHA_TREE_SCAN_INCLUDE_STATE_DIR if include_state_dir else 0)


def scan(
    directory: Union[str, "os.PathLike[str]"],
    *,
    one_file_system: bool = False,
    include_state_dir: bool = False,
) -> bytes:
    """Scans the tree under ``directory`` and returns its signature.

    Symlinks are recorded, not followed. With ``one_file_system`` the scan
    does not descend into other mounted file systems. A replica's state
    directory ``.rha`` at the root (its lock and rewind log) is left out
    unless ``include_state_dir``.

    Raises:
        InvalidArgumentError: ``directory`` is not a directory.
        RhaIOError: a directory or entry could not be read (the message names it).
    """
    job_out = ffi.new("rha_tree_scan_job **")
    flags = _flags(one_file_system, include_state_dir)
    call(lib.rha_tree_scan_job_new, os.fsencode(directory), flags, job_out)
    job = ffi.gc(job_out[0], lib.rha_tree_scan_job_free)
    room = ffi.new("uint8_t[]", _CHUNK)
    out = ffi.new("rha_out_buffer *")
    parts = []
    while True:
        out.dst, out.size, out.pos = room, _CHUNK, 0
        status = call(lib.rha_tree_scan_job_read, job, out)
        parts.append(bytes(ffi.buffer(room, out.pos)))
        if status == lib.RHA_DONE:
            return b"".join(parts)


def scan_to_file(
    directory: Union[str, "os.PathLike[str]"],
    signature_path: Union[str, "os.PathLike[str]"],
    *,
    one_file_system: bool = False,
    include_state_dir: bool = False,
) -> ScanStats:
    """Scans the tree under ``directory`` into the signature file
    ``signature_path`` and returns the totals. See :func:`scan`."""
    stats = ffi.new("rha_tree_scan_stats *")
    stats.struct_size = ffi.sizeof("rha_tree_scan_stats")
    call(lib.rha_tree_scan_file, os.fsencode(directory), os.fsencode(signature_path),
         _flags(one_file_system, include_state_dir), stats)
    return ScanStats(int(stats.entries), int(stats.files), int(stats.bytes))


def read_signature(signature: Signature) -> Iterator[TreeEntry]:
    """The entries of a signature (``bytes`` or a signature file's path), in order.

    Raises:
        CorruptTreeSignatureError: the signature is damaged or truncated; the
            exception's ``offset`` is the byte offset of the damage.

    The iterator may be shared between threads (each entry goes to one of
    them); ``close()`` stops it early and releases the reader.
    """
    return LockedIterator(_read_signature(signature))


def _read_signature(signature: Signature) -> Iterator[TreeEntry]:
    reader = ffi.gc(lib.rha_tree_reader_new(), lib.rha_tree_reader_free)
    entry = ffi.new("rha_tree_entry *")
    entry.struct_size = ffi.sizeof("rha_tree_entry")
    inp = ffi.new("rha_in_buffer *")
    count = ffi.new("uint64_t *")

    def chunks() -> Iterator[bytes]:
        if isinstance(signature, (str, os.PathLike)):
            with open(signature, "rb") as f:
                while True:
                    chunk = f.read(_CHUNK)
                    if not chunk:
                        return
                    yield chunk
        else:
            yield bytes(signature)

    done = False
    for chunk in chunks():
        keep = ffi.from_buffer("uint8_t[]", chunk)
        inp.src, inp.size, inp.pos = keep, len(chunk), 0
        while not done:
            status = call(lib.rha_tree_reader_next, reader, inp, entry)
            if status == lib.RHA_OK:
                yield _entry(entry)
            elif status == lib.RHA_DONE:
                done = inp.pos == inp.size
                if not done:
                    continue
            else:
                break
    call(lib.rha_tree_reader_finish, reader, count)


def compare(
    master: Signature,
    replica: Signature,
    *,
    ignore_same: bool = True,
    check_contents: bool = False,
    owners: bool = True,
    exclude: Iterable[str] = (),
) -> Iterator[PlanStep]:
    """The sync plan that makes the replica's tree equal to the master's.

    Both signatures are ``bytes`` or paths of signature files (not a mix of
    ``bytes`` for one and a path for the other). Steps come in a safe order:
    directories before their contents, deletions deepest first, hard links
    after their first name, directory attributes after their contents.

    Args:
        ignore_same: Treat files of equal size and modification time as
            identical (the file-level default).
        check_contents: With ``ignore_same`` off, plan ``"check"`` (compare
            contents) rather than ``"update"`` for such files.
        owners: Whether differing owners need fixing.
        exclude: Glob patterns left alone on both sides: ``*.tmp`` (any
            depth), ``build/*.o`` (from the root), ``cache/`` (directories).

    Raises:
        BadGlobError: a pattern does not parse.
        CorruptTreeSignatureError: a signature is damaged (raised while iterating).

    The iterator may be shared between threads (each step goes to one of
    them); ``close()`` stops it early.
    """
    options = ffi.gc(lib.rha_compare_options_new(), lib.rha_compare_options_free)
    call(lib.rha_compare_options_set_ignore_same, options, bool(ignore_same))
    call(lib.rha_compare_options_set_check_contents, options, bool(check_contents))
    call(lib.rha_compare_options_set_owners, options, bool(owners))
    if isinstance(exclude, (str, bytes)):
        raise TypeError("exclude takes an iterable of patterns, not one string")
    for pattern in exclude:
        call(lib.rha_compare_options_add_exclude, options, pattern.encode("utf-8"))
    plan_out = ffi.new("rha_plan **")
    paths = [s for s in (master, replica) if isinstance(s, (str, os.PathLike))]
    if len(paths) == 2:
        call(lib.rha_plan_new_files, options, os.fsencode(paths[0]), os.fsencode(paths[1]), plan_out)
    elif not paths:
        m = ffi.from_buffer("uint8_t[]", master)
        r = ffi.from_buffer("uint8_t[]", replica)
        call(lib.rha_plan_new_buffers, options, m, len(m), r, len(r), plan_out)
    else:
        raise TypeError("pass both signatures as bytes or both as paths")
    plan = ffi.gc(plan_out[0], lib.rha_plan_free)
    return LockedIterator(_steps(plan))


def _steps(plan: Any) -> Iterator[PlanStep]:
    op = ffi.new("rha_plan_op *")
    op.struct_size = ffi.sizeof("rha_plan_op")
    while call(lib.rha_plan_next, plan, op) == lib.RHA_OK:
        yield PlanStep(
            op=_OPS.get(op.op, "unknown"),
            entry=_entry(op.entry),
            link_target=os.fsdecode(_bytes(op.link_target)) if op.op == lib.RHA_PLAN_LINK else None,
            changes=frozenset(name for bit, name in _CHANGES if op.changes & bit),
        )
