#!/usr/bin/env bash
# Checks that librha (rha-ffi) links no command-line crates: the `rha` tool's
# subcommands live in its binary, behind rha-capture's `cli` feature.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

tree=$(cargo tree -p rha-ffi -e normal --prefix none)
bad=$(printf '%s\n' "$tree" | awk '{print $1}' | grep -xE 'clap|clap_builder|clap_derive|indicatif|humantime|console' | sort -u || true)
if [[ -n $bad ]]; then
    echo "check-deps: rha-ffi depends on command-line crates:" >&2
    printf '  %s\n' $bad >&2
    exit 1
fi
echo "check-deps: rha-ffi links no command-line crates ($(printf '%s\n' "$tree" | awk '{print $1}' | sort -u | wc -l) crates)"
