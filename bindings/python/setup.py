"""Build step: put librha and rha.h inside the package.

``pip install ./bindings/python`` builds the C library with
``cargo build --release -p rha-ffi`` in the workspace and copies the shared
library and the generated header into the built ``rha`` package, so the
installed package never depends on the source checkout. The wheel is tagged
for the platform (it carries a native library) but not for a Python version
(cffi's ABI mode compiles nothing).

Set ``RHA_LIBRARY`` and ``RHA_HEADER`` to package an existing library and
header instead of running cargo. Everything else is in pyproject.toml.
"""

from __future__ import annotations

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


class BuildPyWithLibrary(build_py):
    """build_py that also places librha and rha.h in the built package."""

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
        shutil.copy2(library_path, package / LIBRARY_NAME)
        shutil.copy2(header_path, package / "rha.h")


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
