#!/usr/bin/env bash
# Runs the C and Python examples of README.md exactly as written (the Rust
# example runs as a doctest of the rha-tests crate), and checks the README's
# capability map against the header, the Python package and the tree.
#
# Needs librha built in release mode and the Python package installed in the
# virtual environment that bindings/python/test.sh prepares.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$repo/target}"
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

cargo build --release -p rha-ffi --quiet
# The README's own build line, run as written from a copy of the checkout's
# include/ and target/release beside the example.
build=$(grep -E '^cc -std=c99 example\.c ' "$repo/README.md")
[ -n "$build" ] || { echo "readme: no C build line found" >&2; exit 1; }
mkdir -p "$work/target"
ln -s "$repo/include" "$work/include"
ln -s "$target/release" "$work/target/release"
(cd "$work" && eval "$build -Wall -Wextra -Wpedantic -Werror" && ./example)
echo "readme: C example ok"

"$venv/bin/python" "$work/example.py"
echo "readme: Python example ok"

"$venv/bin/python" "$repo/tests/capability-map.py"
echo "readme: 3 passed, 0 failed"
