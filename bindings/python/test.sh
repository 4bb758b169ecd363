#!/usr/bin/env bash
# Builds librha, installs the Python package into a venv and runs its tests.
#
#   bindings/python/test.sh [pytest arguments...]
#
# CARGO_TARGET_DIR is honoured; the venv is ${RHA_VENV:-<repo>/target/pyvenv}
# (created with ${PYTHON:-python3} when missing). Needs cargo and Python >= 3.9, and PyPI
# (or a pip cache) for pytest, cffi and setuptools.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
target=${CARGO_TARGET_DIR:-$repo/target}
venv=${RHA_VENV:-$repo/target/pyvenv}
case "$(uname -s)" in
    Darwin) libname=librha.dylib ;;
    *) libname=librha.so ;;
esac

echo "== cargo build --release -p rha-ffi" >&2
(cd "$repo" && cargo build --release -p rha-ffi)

if [ ! -x "$venv/bin/python" ]; then
    echo "== ${PYTHON:-python3} -m venv $venv" >&2
    "${PYTHON:-python3}" -m venv "$venv"
fi
py=$venv/bin/python
export PIP_DISABLE_PIP_VERSION_CHECK=1

echo "== pip install pytest cffi ./bindings/python" >&2
"$py" -m pip install --quiet "pytest>=7" "cffi>=1.15"
# A fresh build directory: nothing stale from an earlier build gets packaged.
rm -rf "$here/build"
# --force-reinstall: same version number, new library; --no-deps: cffi is above.
"$py" -m pip install --quiet --force-reinstall --no-deps "$here"

# The installed package must carry the library just built, not an older copy.
installed=$(cd / && "$py" -c 'import rha._native as n; print(n.LIBRARY_PATH)')
if ! cmp -s "$installed" "$target/release/$libname"; then
    echo "error: the installed package loads $installed, which differs from $target/release/$libname" >&2
    exit 1
fi
echo "== pytest (rha from $installed)" >&2

# Run from outside the source tree so `import rha` finds the installed package.
cd "$venv"
PYTHONDONTWRITEBYTECODE=1 "$py" -m pytest -p no:cacheprovider "$here/tests" "$@"
