#!/usr/bin/env bash
# Every test of rha, in the order a failure is cheapest to find:
# formatting, lints, docs, Rust tests (unit, properties, golden files, CLI,
# README doctest, fuzz corpus replay), the C header check, the ABI check
# against tests/abi-baseline.txt, the C tests (installed librha shared and
# static, AddressSanitizer+UBSan, valgrind, the system zstd beside librha.a,
# C++ compile check),
# the Python tests, and the README's C and Python examples.
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in cargo cbindgen gcc g++ valgrind python3 rdiff pkg-config; do
    command -v "$tool" >/dev/null || {
        echo "tests/all.sh: '$tool' is missing; 'bash .ci/run' installs everything" >&2
        exit 1
    }
done

passed=0
step() {
    echo "==> $*"
    "$@"
    passed=$((passed + 1))
}

step cargo fmt --all -- --check
step cargo clippy --workspace --all-targets -- -D warnings
step env RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps
step cargo test --workspace
step bash tests/check-deps.sh
step bash tests/check-header.sh
step bash tests/check-abi.sh
step bash tests/c/run.sh
step bash bindings/python/test.sh
step bash tests/readme.sh
echo "steps: $passed passed, 0 failed"
