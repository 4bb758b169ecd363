#!/usr/bin/env bash
# Checks that include/rha.h is exactly what cbindgen generates from rha-ffi.
#
#   tests/check-header.sh            regenerate into a temporary file, diff, fail if stale
#   tests/check-header.sh --update   rewrite include/rha.h
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

if [[ ${1:-} == --update ]]; then
    generate "$root/include/rha.h"
    echo "check-header: include/rha.h regenerated"
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
echo "check-header: include/rha.h is up to date"
