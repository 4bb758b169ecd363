"""Build step: put librha and its declarations inside the package.

``pip install ./bindings/python`` (or ``pip wheel``) builds the C library
with ``cargo build --release -p rha-ffi`` in the workspace, copies the shared
library into the built ``rha`` package, stripped of its symbol table, and
writes ``rha/_rha_cffi.py``: cffi's out-of-line ABI module, the declarations
of the generated header ``include/rha.h`` in cffi's compact form, so that
importing the package parses no C. The installed package never depends on
the source checkout. The wheel is tagged for the platform (it carries a
native library) but not for a Python version (nothing is compiled against
Python).

Set ``RHA_LIBRARY`` and ``RHA_HEADER`` to package an existing library and
header instead of running cargo, and ``STRIP`` to name the strip program
(``STRIP=true`` keeps the symbols). Everything else is in pyproject.toml.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py

try:
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # setuptools < 70.1
    from wheel.bdist_wheel import bdist_wheel

HERE = Path(__file__).resolve().parent
WORKSPACE = HERE.parent.parent
# The name rha/_native.py loads.
LIBRARY_NAME = {"darwin": "librha.dylib", "win32": "rha.dll"}.get(sys.platform, "librha.so")


def workspace_version() -> str:
    """The ``[workspace.package] version`` of the Cargo workspace."""
    text = (WORKSPACE / "Cargo.toml").read_text(encoding="utf-8")
    section = re.search(r"^\[workspace\.package\]\s*$(.*?)(?=^\[|\Z)", text, re.M | re.S)
    version = section and re.search(r'^version\s*=\s*"([^"]+)"', section.group(1), re.M)
    if not version:
        raise SystemExit(f"no [workspace.package] version in {WORKSPACE / 'Cargo.toml'}")
    return version.group(1)


def cargo_build() -> Path:
    """Builds rha-ffi in release mode and returns the shared library's path."""
    cargo = os.environ.get("CARGO", "cargo")
    cmd = [cargo, "build", "--release", "-p", "rha-ffi", "--message-format=json-render-diagnostics"]
    print("running", " ".join(cmd), file=sys.stderr)
    try:
        proc = subprocess.run(cmd, cwd=WORKSPACE, stdout=subprocess.PIPE, check=True, text=True)
    except FileNotFoundError:
        raise SystemExit("cargo not found: install Rust, or set RHA_LIBRARY and RHA_HEADER") from None
    except subprocess.CalledProcessError as e:
        raise SystemExit(f"cargo build failed with exit status {e.returncode}") from None
    for line in proc.stdout.splitlines():
        msg = json.loads(line) if line.startswith("{") else {}
        target = msg.get("target", {})
        if msg.get("reason") == "compiler-artifact" and "cdylib" in target.get("kind", []):
            for name in msg["filenames"]:
                if name.endswith((".so", ".dylib", ".dll")):
                    return Path(name)
    raise SystemExit("cargo build did not report a shared library for rha-ffi")


def write_declarations(header: Path, module: Path) -> None:
    """Writes cffi's out-of-line ABI module for ``header`` to ``module``.

    The header is translated by ``rha/_header.py`` (the same code a source
    checkout uses at import); its integer macros are appended as
    ``CONSTANTS``.
    """
    from cffi import FFI

    spec = importlib.util.spec_from_file_location("_rha_header", HERE / "rha" / "_header.py")
    assert spec and spec.loader
    translator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(translator)
    cdef, constants = translator.to_cdef(header.read_text(encoding="utf-8"))
    builder = FFI()
    builder.cdef(cdef)
    builder.set_source("rha._rha_cffi", None)  # None: ABI mode, nothing to compile
    builder.emit_python_code(str(module))
    with module.open("a", encoding="utf-8") as f:
        f.write(f"\n# The header's integer macros (rha._native.CONSTANTS).\nCONSTANTS = {constants!r}\n")


def strip(library: Path) -> None:
    """Removes the symbol table and debug sections; the dynamic symbols stay."""
    if sys.platform == "darwin":
        cmd = [os.environ.get("STRIP", "strip"), "-x", str(library)]
    elif sys.platform == "win32":
        return
    else:
        cmd = [os.environ.get("STRIP", "strip"), "--strip-unneeded", str(library)]
    print("running", " ".join(cmd), file=sys.stderr)
    try:
        subprocess.run(cmd, check=True)
    except FileNotFoundError:
        raise SystemExit(f"{cmd[0]} not found: install binutils, or set STRIP=true") from None


class BuildPyWithLibrary(build_py):
    """build_py that also places librha and its declarations in the built package."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install loads both from the source checkout
        library = os.environ.get("RHA_LIBRARY")
        header = os.environ.get("RHA_HEADER")
        library_path = Path(library) if library else cargo_build()
        header_path = Path(header) if header else WORKSPACE / "include" / "rha.h"
        package = Path(self.build_lib) / "rha"
        package.mkdir(parents=True, exist_ok=True)
        # Always copy (no mtime check): the package must carry this build's library.
        shutil.copyfile(library_path, package / LIBRARY_NAME)
        os.chmod(package / LIBRARY_NAME, 0o755)
        strip(package / LIBRARY_NAME)
        write_declarations(header_path, package / "_rha_cffi.py")


class NativeDistribution(Distribution):
    """Platform-specific: the package carries a native library."""

    def has_ext_modules(self) -> bool:
        return True


class PlatformWheel(bdist_wheel):
    """Wheel tagged py3-none-<platform>: native library, no Python ABI."""

    def get_tag(self) -> "tuple[str, str, str]":
        _, _, platform = super().get_tag()
        return "py3", "none", platform


setup(
    version=workspace_version(),
    distclass=NativeDistribution,
    cmdclass={"build_py": BuildPyWithLibrary, "bdist_wheel": PlatformWheel},
)
