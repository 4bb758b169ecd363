#!/usr/bin/env bash
# Builds librha (release) and runs the C tests against it. Each
# tests/c/test_*.c is a program of its own, run
#   1. linked against librha.so
#   2. linked against librha.a
#   3. built with AddressSanitizer + UndefinedBehaviorSanitizer (static)
#   4. under valgrind, zero leaks (shared)
# and then a C++ file that includes rha.h, built with -Wall -Wextra -Werror, run
# and prints "N passed, M failed" (test cases of every run plus the C++
# check); exits non-zero on any failure.
#
# Environment: CARGO_TARGET_DIR (default <repo>/target), CC (default cc),
# CXX (default c++), VALGRIND (default valgrind).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
target=$(realpath -m "$target") # a relative CARGO_TARGET_DIR is relative to the caller's directory
lib=$target/release
build=$here/build
CC=${CC:-cc}
CXX=${CXX:-c++}
VALGRIND=${VALGRIND:-valgrind}

cflags=(-std=c99 -Wall -Wextra -Wpedantic -Werror -g -O1 -pthread -I"$root/include" -I"$here")
cxxflags=(-std=c++11 -Wall -Wextra -Wpedantic -Werror -g -I"$root/include")
static_libs=(-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc)
sanitize=(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
shared_link=(-L"$lib" -Wl,-rpath,"$lib" -lrha)

passed=0
failed=0

finish() {
    echo "$passed passed, $failed failed"
    [[ $failed -eq 0 ]]
    exit
}

# run_phase NAME COMMAND...: runs a test binary, counts its "ok -" and
# "not ok -" lines; a non-zero exit without a failed case (a crash, a
# sanitizer or valgrind report) counts as one more failure.
run_phase() {
    local name=$1
    shift
    local log=$build/$name.log
    "$@" >"$log" 2>&1
    local status=$?
    local ok bad
    ok=$(grep -c '^ok - ' "$log")
    bad=$(grep -c '^not ok - ' "$log")
    passed=$((passed + ok))
    failed=$((failed + bad))
    if [[ $status -ne 0 && $bad -eq 0 ]]; then
        failed=$((failed + 1))
    fi
    if [[ $status -ne 0 ]]; then
        echo "FAIL $name ($ok passed, $bad failed, exit status $status); log: $log"
        sed 's/^/    /' "$log" | tail -n 60
    else
        echo "PASS $name ($ok passed)"
    fi
}

# compile NAME COMMAND...: a build step; failure counts as one failed phase.
compile() {
    local name=$1
    shift
    if ! "$@" >"$build/$name.build.log" 2>&1; then
        failed=$((failed + 1))
        echo "FAIL $name: build failed"
        sed 's/^/    /' "$build/$name.build.log" | tail -n 40
        return 1
    fi
}

mkdir -p "$build"

echo "== cargo build --release -p rha-ffi (CARGO_TARGET_DIR=$target)"
if ! (cd "$root" && CARGO_TARGET_DIR=$target cargo build --release -p rha-ffi); then
    failed=$((failed + 1))
    finish
fi

# Every tests/c/test_*.c is its own program (its own main), linked with the
# shared harness (check.c) and every *_util.c helper.
support=("$here/check.c")
for util in "$here"/*_util.c; do
    [[ -e $util ]] && support+=("$util")
done
data=$root/tests/data

for test_src in "$here"/test_*.c; do
    t=$(basename "$test_src" .c)
    src=("${support[@]}" "$test_src")

    if compile "$t-shared" "$CC" "${cflags[@]}" "${src[@]}" -o "$build/$t-shared" "${shared_link[@]}"; then
        run_phase "$t-shared" "$build/$t-shared" "$data"
    fi

    if compile "$t-static" "$CC" "${cflags[@]}" "${src[@]}" -o "$build/$t-static" \
        "$lib/librha.a" "${static_libs[@]}"; then
        if ldd "$build/$t-static" | grep -q librha; then
            echo "FAIL $t-static: links librha dynamically"
            failed=$((failed + 1))
        else
            run_phase "$t-static" "$build/$t-static" "$data"
        fi
    fi

    if compile "$t-asan-ubsan" "$CC" "${cflags[@]}" "${sanitize[@]}" "${src[@]}" -o "$build/$t-asan" \
        "$lib/librha.a" "${static_libs[@]}"; then
        ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=1 \
            UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
            run_phase "$t-asan-ubsan" "$build/$t-asan" "$data"
    fi

    if ! command -v "$VALGRIND" >/dev/null 2>&1; then
        echo "FAIL valgrind: $VALGRIND not found (apt-get install valgrind)"
        failed=$((failed + 1))
    elif [[ -x $build/$t-shared ]]; then
        run_phase "$t-valgrind" "$VALGRIND" -q --leak-check=full --error-exitcode=1 \
            --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
            "$build/$t-shared" "$data"
    fi
done

if compile cpp "$CXX" "${cxxflags[@]}" "$here/cpp_compat.cpp" -o "$build/cpp_compat" \
    "${shared_link[@]}"; then
    run_phase cpp "$build/cpp_compat"
fi

finish
