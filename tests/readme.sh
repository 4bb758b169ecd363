#!/usr/bin/env bash
# Runs the C and Python examples of README.md exactly as written (the Rust
# example runs as a doctest of the rha-tests crate), and checks the README's
# capability map against the header, the Python package and the tree.
#
# Needs pkg-config and the Python package installed in the virtual environment
# that bindings/python/test.sh prepares.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
target="$(realpath -m "${CARGO_TARGET_DIR:-$repo/target}")" # relative to the caller
venv="${RHA_VENV:-$repo/target/pyvenv}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Prints the body of every fenced block of language $1 in README.md.
extract() {
    awk -v lang="$1" '
        /^```/ { if (inside) { inside = 0; next } if ($0 == "```" lang) { inside = 1; next } }
        inside { print }
    ' "$repo/README.md"
}

extract c > "$work/example.c"
extract python > "$work/example.py"
[ -s "$work/example.c" ] || { echo "readme: no C example found" >&2; exit 1; }
[ -s "$work/example.py" ] || { echo "readme: no Python example found" >&2; exit 1; }

# The README's shell block after the C example (install the library, build
# and run the example), run as written in a directory that stands for the top
# of the checkout: rha-ffi/ is linked there, so install.sh builds the real
# checkout and installs into a fresh target/prefix beside example.c. The
# compile line gets warnings as errors added.
awk '
    /^```c$/ { seen_c = 1 }
    seen_c && /^```sh$/ { inside = 1; next }
    inside && /^```$/ { exit }
    inside { print }
' "$repo/README.md" > "$work/build.sh"
grep -qE '^cc -std=c99 example\.c ' "$work/build.sh" || { echo "readme: no C build line found" >&2; exit 1; }
sed -i -E 's/^(cc -std=c99 example\.c .*)$/\1 -Wall -Wextra -Wpedantic -Werror/' "$work/build.sh"
ln -s "$repo/rha-ffi" "$work/rha-ffi"
(cd "$work" && env -u PKG_CONFIG_PATH CARGO_TARGET_DIR="$target" bash -euo pipefail build.sh)
echo "readme: C example ok"

"$venv/bin/python" "$work/example.py"
echo "readme: Python example ok"

"$venv/bin/python" "$repo/tests/capability-map.py"
echo "readme: 3 passed, 0 failed"
