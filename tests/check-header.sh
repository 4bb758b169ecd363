#!/usr/bin/env bash
# Checks that include/rha.h is exactly what cbindgen generates from rha-ffi.
#
#   tests/check-header.sh            regenerate into a temporary file, diff, fail if stale
#   tests/check-header.sh --update   rewrite include/rha.h
#
# It also fails if the header names a file that does not ship with it (a
# path under docs/ or tests/, a .md or .sh file, SPEC.md): the header is
# installed alone and must be read alone.
#
# The cbindgen version is pinned: other versions format the header differently.
# Install it with `cargo install cbindgen --version 0.29.4 --locked`.
set -euo pipefail

CBINDGEN_VERSION=0.29.4
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

cbindgen=${CBINDGEN:-}
if [[ -z $cbindgen ]]; then
    if command -v cbindgen >/dev/null 2>&1; then
        cbindgen=cbindgen
    elif [[ -x ${CARGO_HOME:-$HOME/.cargo}/bin/cbindgen ]]; then
        cbindgen=${CARGO_HOME:-$HOME/.cargo}/bin/cbindgen
    else
        echo "check-header: cbindgen not found; install it with" >&2
        echo "  cargo install cbindgen --version $CBINDGEN_VERSION --locked" >&2
        exit 1
    fi
fi
found=$("$cbindgen" --version | awk '{print $2}')
if [[ $found != "$CBINDGEN_VERSION" ]]; then
    echo "check-header: cbindgen $CBINDGEN_VERSION is required, $cbindgen is $found" >&2
    exit 1
fi

generate() {
    (cd "$root" && "$cbindgen" --quiet --config rha-ffi/cbindgen.toml --crate rha-ffi --output "$1")
}

# self_contained FILE: fails, listing them, if FILE names files of the tree.
self_contained() {
    if grep -nE '\b(docs|tests)/|\.md\b|\.sh\b|SPEC\.' "$1" >&2; then
        echo "check-header: the header names files that do not ship with it (above);" \
            "say what they say instead" >&2
        return 1
    fi
}

if [[ ${1:-} == --update ]]; then
    generate "$root/include/rha.h"
    echo "check-header: include/rha.h regenerated"
    self_contained "$root/include/rha.h"
    exit 0
fi

fresh=$(mktemp "${TMPDIR:-/tmp}/rha.h.XXXXXX")
trap 'rm -f "$fresh"' EXIT
generate "$fresh"
if ! diff -u --label include/rha.h --label "include/rha.h (regenerated)" \
    "$root/include/rha.h" "$fresh"; then
    echo "check-header: include/rha.h is stale; run tests/check-header.sh --update" >&2
    exit 1
fi
self_contained "$fresh"
echo "check-header: include/rha.h is up to date"
