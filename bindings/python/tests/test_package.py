"""The package as a Python developer gets it: cheap to import, typed, and
installed from a manylinux wheel that carries its own stripped library.

The wheel checks need ``RHA_WHEEL`` (the wheel test.sh built and installed);
without it they are skipped.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import statistics
import struct
import subprocess
import sys
from pathlib import Path

import pytest

import rha
from rha import _native

PACKAGE_DIR = Path(rha.__file__).resolve().parent
WHEEL = os.environ.get("RHA_WHEEL")
needs_wheel = pytest.mark.skipif(not WHEEL, reason="RHA_WHEEL not set (bindings/python/test.sh sets it)")


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True, text=True, check=True, cwd=os.path.dirname(sys.executable),
    )


def installed() -> bool:
    """Whether ``rha`` was imported from an installed distribution (not a checkout)."""
    try:
        files = importlib.metadata.files("rha") or []
    except importlib.metadata.PackageNotFoundError:
        return False
    return any(Path(str(f.locate())).resolve() == PACKAGE_DIR / "__init__.py" for f in files)


needs_install = pytest.mark.skipif(not installed(), reason="rha imported from a source checkout")


@needs_install
def test_import_parses_no_c():
    # The declarations come from the module the build wrote; pycparser, which
    # cffi uses to parse C, is never loaded.
    out = run_python(
        "import sys, rha; print(sorted(m for m in sys.modules "
        "if m.split('.')[0] == 'pycparser' or m in ('cffi.cparser', 'rha._header', 'rha._rha_cffi')))"
    )
    assert out.stdout.strip() == "['rha._rha_cffi']"
    assert (PACKAGE_DIR / "_rha_cffi.py").is_file()
    assert not (PACKAGE_DIR / "rha.h").exists()


@needs_install
def test_import_time_is_bounded():
    # CPU time, not wall time: a loaded machine stretches the wall clock, not
    # the work. About 40 ms today, of which the standard library (typing,
    # dataclasses, json, threading) takes half; parsing the header at
    # import, as the package once did, costs some 140 ms.
    code = "import time; t = time.process_time(); import rha; print(time.process_time() - t)"
    times = sorted(float(run_python(code).stdout) * 1000 for _ in range(5))
    median = statistics.median(times)
    print(f"import rha: {median:.1f} ms of CPU time (median of {[round(t, 1) for t in times]})")
    assert median < 100


def test_constants_come_with_the_declarations():
    c = _native.CONSTANTS
    assert rha.version_number() == c["RHA_VERSION_NUMBER"]
    assert _native.lib.RHA_VERSION_NUMBER == c["RHA_VERSION_NUMBER"]


def has_symtab(library: Path) -> bool:
    """Whether an ELF64 little-endian file has a ``.symtab`` (SHT_SYMTAB) section."""
    data = library.read_bytes()
    assert data[:6] == b"\x7fELF\x02\x01", "not an ELF64 little-endian file"
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    return any(struct.unpack_from("<I", data, shoff + i * shentsize + 4)[0] == 2 for i in range(shnum))


@needs_wheel
def test_installed_from_a_manylinux_wheel():
    wheel = Path(str(WHEEL))
    assert re.fullmatch(r"rha-[0-9.]+-py3-none-manylinux_2_\d+_x86_64(\..*)?\.whl", wheel.name), wheel.name
    dist = importlib.metadata.distribution("rha")
    tags = re.findall(r"^Tag: (.*)$", dist.read_text("WHEEL") or "", re.M)
    assert tags and all(re.fullmatch(r"py3-none-manylinux_2_\d+_x86_64", t) for t in tags), tags
    assert installed()


@needs_wheel
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ELF")
def test_the_package_carries_its_stripped_library():
    library = Path(_native.LIBRARY_PATH)
    assert library.resolve().parent == PACKAGE_DIR
    assert not has_symtab(library)
    assert (PACKAGE_DIR / "py.typed").is_file()


@needs_install
def test_summary_describes_the_whole_package():
    summary = importlib.metadata.metadata("rha")["Summary"].lower()
    for area in ("journal", "spool", "signature", "delta", "rewind", "high-availability"):
        assert area in summary, area

