"""Loading the C library: ``ffi`` and ``lib`` for the rest of the package.

cffi runs in ABI mode: the declarations come from the generated header
``rha.h`` at import time, so the header stays the single description of the
C ABI and nothing is compiled when the package is installed.

Where the header and the library are found, first match wins, each looked up
on its own:

1. next to this module (``rha/rha.h``, ``rha/librha.so``): the copies an
   installed package carries;
2. the environment variables ``RHA_HEADER`` and ``RHA_LIBRARY``;
3. the source checkout this file sits in: ``<repo>/include/rha.h`` and
   ``${CARGO_TARGET_DIR:-<repo>/target}/release/librha.so``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Dict, List

from cffi import FFI

from ._header import to_cdef

__all__ = ["HEADER_PATH", "LIBRARY_PATH", "CONSTANTS", "ffi", "lib", "c_str"]

_PACKAGE_DIR = Path(__file__).resolve().parent
_REPO = _PACKAGE_DIR.parent.parent.parent

if sys.platform == "darwin":
    LIBRARY_NAME = "librha.dylib"
elif sys.platform == "win32":
    LIBRARY_NAME = "rha.dll"
else:
    LIBRARY_NAME = "librha.so"


def _candidates(packaged: str, env: str, checkout: Path) -> List[Path]:
    found = [_PACKAGE_DIR / packaged]
    if os.environ.get(env):
        found.append(Path(os.environ[env]))
    found.append(checkout)
    return found


def _locate(what: str, candidates: List[Path]) -> Path:
    for path in candidates:
        if path.is_file():
            return path
    tried = "\n  ".join(str(p) for p in candidates)
    raise ImportError(
        f"rha: cannot find the {what}; looked in:\n  {tried}\n"
        "Build it with `cargo build --release -p rha-ffi` in the rha workspace, "
        "or point RHA_HEADER / RHA_LIBRARY at it."
    )


def _target_dir() -> Path:
    target = os.environ.get("CARGO_TARGET_DIR")
    return Path(target) if target else _REPO / "target"


HEADER_PATH: Path = _locate(
    "C header rha.h", _candidates("rha.h", "RHA_HEADER", _REPO / "include" / "rha.h")
)
"""The header the declarations were read from."""

LIBRARY_PATH: Path = _locate(
    f"shared library {LIBRARY_NAME}",
    _candidates(LIBRARY_NAME, "RHA_LIBRARY", _target_dir() / "release" / LIBRARY_NAME),
)
"""The shared library in use."""

ffi = FFI()
_cdef, _constants = to_cdef(HEADER_PATH.read_text(encoding="utf-8"))
ffi.cdef(_cdef)

CONSTANTS: Dict[str, int] = _constants
"""The header's integer macros (``RHA_VERSION_MAJOR``, ``RHA_ATTR_MODE``, ...)."""

lib: Any = ffi.dlopen(str(LIBRARY_PATH))
"""The library's functions and constants, as declared by the header."""


def c_str(ptr: Any) -> str:
    """Copies a NUL-terminated C string (UTF-8) into a ``str``."""
    raw = ffi.string(ptr)
    assert isinstance(raw, bytes)
    return raw.decode("utf-8", "replace")
