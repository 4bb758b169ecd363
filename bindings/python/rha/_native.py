"""Loading the C library: ``ffi`` and ``lib`` for the rest of the package.

cffi runs in out-of-line ABI mode: the build step (``setup.py``) translates
the generated header ``rha.h`` into ``rha/_rha_cffi.py``, cffi's compact
form of the declarations, so importing the package parses no C and compiles
nothing, and the header stays the single description of the C ABI. In a
source checkout, where no build step ran, the header is translated at import
instead (slower: pycparser parses it).

The shared library is found (first match wins):

1. next to this module (``rha/librha.so``): the copy an installed package
   carries;
2. the environment variable ``RHA_LIBRARY``;
3. the source checkout this file sits in:
   ``${CARGO_TARGET_DIR:-<repo>/target}/release/librha.so``.

In a source checkout the header is ``RHA_HEADER`` if set, else
``<repo>/include/rha.h``.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any, Dict, List, Tuple

__all__ = ["LIBRARY_PATH", "CONSTANTS", "ffi", "lib", "c_str"]

# Paths are strings: pathlib would add its imports (urllib.parse, ipaddress)
# to every `import rha`.
_PACKAGE_DIR = os.path.dirname(os.path.realpath(__file__))
_REPO = os.path.dirname(os.path.dirname(os.path.dirname(_PACKAGE_DIR)))

if sys.platform == "darwin":
    LIBRARY_NAME = "librha.dylib"
elif sys.platform == "win32":
    LIBRARY_NAME = "rha.dll"
else:
    LIBRARY_NAME = "librha.so"


def _locate(what: str, candidates: List[str]) -> str:
    for path in candidates:
        if os.path.isfile(path):
            return path
    tried = "\n  ".join(candidates)
    raise ImportError(
        f"rha: cannot find the {what}; looked in:\n  {tried}\n"
        "Build it with `cargo build --release -p rha-ffi` in the rha workspace, "
        "or point RHA_HEADER / RHA_LIBRARY at it."
    )


def _from_env(name: str) -> List[str]:
    value = os.environ.get(name)
    return [value] if value else []


LIBRARY_PATH: str = _locate(
    f"shared library {LIBRARY_NAME}",
    [os.path.join(_PACKAGE_DIR, LIBRARY_NAME)]
    + _from_env("RHA_LIBRARY")
    + [os.path.join(os.environ.get("CARGO_TARGET_DIR") or os.path.join(_REPO, "target"), "release", LIBRARY_NAME)],
)
"""The shared library in use."""


def _from_header() -> Tuple[Any, Dict[str, int]]:
    """Declarations translated from the header at import (a source checkout)."""
    from cffi import FFI

    from ._header import to_cdef

    header = _locate("C header rha.h", _from_env("RHA_HEADER") + [os.path.join(_REPO, "include", "rha.h")])
    with open(header, encoding="utf-8") as f:
        cdef, constants = to_cdef(f.read())
    declared = FFI()
    declared.cdef(cdef)
    return declared, constants


def _declarations() -> Tuple[Any, Dict[str, int]]:
    """The module setup.py wrote, else (a source checkout) the header's translation."""
    name = f"{__package__}._rha_cffi"
    try:
        built = importlib.import_module(name)
    except ModuleNotFoundError as e:
        if e.name != name:
            raise
        return _from_header()
    return built.ffi, built.CONSTANTS


ffi: Any
CONSTANTS: Dict[str, int]
ffi, CONSTANTS = _declarations()
"""The header's integer macros (``RHA_VERSION_MAJOR``, ``RHA_ATTR_MODE``, ...)."""

lib: Any = ffi.dlopen(LIBRARY_PATH)
"""The library's functions and constants, as declared by the header."""


def c_str(ptr: Any) -> str:
    """Copies a NUL-terminated C string (UTF-8) into a ``str``."""
    raw = ffi.string(ptr)
    assert isinstance(raw, bytes)
    return raw.decode("utf-8", "replace")
