#!/usr/bin/env bash
# Builds librha (release) and installs it with rha-ffi/install.sh into
# tests/c/build/prefix, then runs the C tests against the installed library,
# compiled and linked with the flags of its rha.pc. Each tests/c/test_*.c is a
# program of its own, run
#   1. linked against librha.so (NEEDED librha.so.0, symbols @RHA_0.1)
#   2. linked against librha.a (pkg-config --static)
#   3. built with AddressSanitizer + UndefinedBehaviorSanitizer (static)
#   4. under valgrind, zero leaks (shared); valgrind.supp holds the known
#      false positives of ring's AES-GCM assembly, and nothing else
# then link_zstd.c, which links the system's libzstd beside librha.a (static
# and shared libzstd, both link orders), and a C++ file that includes rha.h,
# built with -Wall -Wextra -Werror. Prints "N passed, M failed" (test cases of
# every run plus the linkage and C++ checks); exits non-zero on any failure.
#
# Needs pkg-config and libzstd-dev besides a C compiler and valgrind.
# Environment: CARGO_TARGET_DIR (default <repo>/target), CC (default cc),
# CXX (default c++), VALGRIND (default valgrind).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
target=$(realpath -m "$target") # a relative CARGO_TARGET_DIR is relative to the caller's directory
build=$here/build
prefix=$build/prefix
CC=${CC:-cc}
CXX=${CXX:-c++}
VALGRIND=${VALGRIND:-valgrind}

sanitize=(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)

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

for tool in pkg-config "$CC" "$CXX"; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "FAIL: $tool not found ('bash .ci/run' installs what the tests need)"
        failed=$((failed + 1))
        finish
    fi
done
if [[ ! -e /usr/include/zstd.h ]] && ! pkg-config --exists libzstd; then
    echo "FAIL: the zstd development files are missing (apt-get install libzstd-dev)"
    failed=$((failed + 1))
    finish
fi

echo "== rha-ffi/install.sh --prefix $prefix (CARGO_TARGET_DIR=$target)"
rm -rf "$prefix"
if ! CARGO_TARGET_DIR=$target "$root/rha-ffi/install.sh" --prefix "$prefix"; then
    failed=$((failed + 1))
    finish
fi

# Compile and link flags come from the installed rha.pc, as an embedder's
# build would take them; the static link names the archive (-l:librha.a)
# where pkg-config says -lrha, so the shared library beside it is not used.
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
read -ra rha_cflags <<<"$(pkg-config --cflags rha)"
read -ra shared_link <<<"$(pkg-config --libs rha)"
shared_link+=(-Wl,-rpath,"$prefix/lib")
read -ra static_link <<<"$(pkg-config --static --libs rha | sed 's/-lrha\b/-l:librha.a/')"
base_cflags=(-std=c99 -Wall -Wextra -Wpedantic -Werror -g -O1 -pthread "${rha_cflags[@]}" -I"$here")
cflags=("${base_cflags[@]}")
cxxflags=(-std=c++11 -Wall -Wextra -Wpedantic -Werror -g "${rha_cflags[@]}")

# check NAME CONDITION-COMMAND...: a one-line check counted as one case.
check() {
    local name=$1
    shift
    if "$@"; then
        passed=$((passed + 1))
        echo "PASS $name"
    else
        failed=$((failed + 1))
        echo "FAIL $name"
    fi
}

# A program linked against librha.so records the SONAME and binds every rha
# function at version RHA_0.1 or later.
linked_by_soname() {
    readelf -d "$1" | grep -q 'NEEDED.*\[librha\.so\.0\]' &&
        ! readelf --dyn-syms -W "$1" | awk '$8 ~ /^rha_/ && $8 !~ /@RHA_[0-9]+\.[0-9]+/' | grep -q .
}

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
    # test_deprecated.c calls the deprecated names on purpose.
    cflags=("${base_cflags[@]}")
    [[ $t == test_deprecated ]] && cflags+=(-Wno-deprecated-declarations)

    if compile "$t-shared" "$CC" "${cflags[@]}" "${src[@]}" -o "$build/$t-shared" "${shared_link[@]}"; then
        check "$t-shared links librha.so.0 with versioned symbols" linked_by_soname "$build/$t-shared"
        run_phase "$t-shared" "$build/$t-shared" "$data"
    fi

    if compile "$t-static" "$CC" "${cflags[@]}" "${src[@]}" -o "$build/$t-static" \
        "${static_link[@]}"; then
        if ldd "$build/$t-static" | grep -q librha; then
            echo "FAIL $t-static: links librha dynamically"
            failed=$((failed + 1))
        else
            run_phase "$t-static" "$build/$t-static" "$data"
        fi
    fi

    if compile "$t-asan-ubsan" "$CC" "${cflags[@]}" "${sanitize[@]}" "${src[@]}" -o "$build/$t-asan" \
        "${static_link[@]}"; then
        ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=1 \
            UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
            run_phase "$t-asan-ubsan" "$build/$t-asan" "$data"
    fi

    if ! command -v "$VALGRIND" >/dev/null 2>&1; then
        echo "FAIL valgrind: $VALGRIND not found (apt-get install valgrind)"
        failed=$((failed + 1))
    elif [[ -x $build/$t-shared ]]; then
        run_phase "$t-valgrind" "$VALGRIND" -q --suppressions="$here/valgrind.supp" \
            --leak-check=full --error-exitcode=1 \
            --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
            "$build/$t-shared" "$data"
    fi
done

# The system's zstd beside librha.a: libzstd static or shared, before or
# after librha in the link order.
zstd_src=("$here/check.c" "$here/journal_util.c" "$here/link_zstd.c")
for variant in static-zstd-after:-l:libzstd.a static-zstd-before:-l:libzstd.a shared-zstd:-lzstd; do
    name=link_zstd-${variant%%:*}
    zstd=${variant#*:}
    if [[ $name == *before ]]; then
        link=("$zstd" "${static_link[@]}")
    else
        link=("${static_link[@]}" "$zstd")
    fi
    if compile "$name" "$CC" "${base_cflags[@]}" "${zstd_src[@]}" -o "$build/$name" "${link[@]}"; then
        run_phase "$name" "$build/$name"
    fi
done

if compile cpp "$CXX" "${cxxflags[@]}" "$here/cpp_compat.cpp" -o "$build/cpp_compat" \
    "${shared_link[@]}"; then
    run_phase cpp "$build/cpp_compat"
fi

# A deprecated name warns: with -Werror, a call to one does not compile.
deprecated_warns() {
    printf '#include "rha.h"\nvoid f(void) { rha_signature_load(0, 0, 0, 0); }\n' >"$build/deprecated_use.c"
    ! "$CC" "${base_cflags[@]}" -c "$build/deprecated_use.c" -o "$build/deprecated_use.o" \
        >"$build/deprecated_use.log" 2>&1 && grep -q 'rha_signature_new' "$build/deprecated_use.log"
}
check "a call to a deprecated function warns, naming its replacement" deprecated_warns

finish
