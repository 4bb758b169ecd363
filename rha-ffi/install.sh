#!/usr/bin/env bash
# Builds librha in release mode and installs it as a C library:
#
#   PREFIX/include/rha.h
#   LIBDIR/librha.so.0.1.0         SONAME librha.so.0, symbols versioned by
#   LIBDIR/librha.so.0 -> ...      rha-ffi/rha.map (RHA_0.1, ...), no debug
#   LIBDIR/librha.so -> ...        sections
#   LIBDIR/librha.a                one object; every symbol but rha_* local
#   LIBDIR/pkgconfig/rha.pc        static link flags in Libs.private
#
# Usage: rha-ffi/install.sh [--prefix DIR] [--libdir DIR]
#   --prefix DIR   installation prefix (default /usr/local); a relative DIR
#                  is taken from the current directory
#   --libdir DIR   library directory (default PREFIX/lib)
# Environment: DESTDIR (staged installs, as in `make install`),
# CARGO_TARGET_DIR, CC, LD, AR, OBJCOPY, NM.
#
# Why not cargo's own outputs: cargo's librha.a carries its private copies of
# zstd, blake3 and the Rust standard library as global symbols, which clash
# with a program that links its own libzstd; and rustc hands the linker a
# version script of its own, which rust-lld lets win over ours, so a cdylib
# cannot get symbol versions. This script makes one relocatable object of
# cargo's librha.a (only what the rha_* functions reach), keeps rha_* global
# and makes everything else local, and builds both libraries from it. The
# installed files are those cargo-c would install; the symbol hiding and the
# symbol versions are beyond it. docs/abi.md describes the versioning rules.
set -euo pipefail

# The ABI number in the SONAME: it changes only with an incompatible release
# (docs/abi.md); tests/abi-baseline.txt records it.
SOVERSION=0
# Native libraries a static link of librha needs, from
#   cargo rustc -p rha-ffi --release --lib -- --print native-static-libs
# tests/c/run.sh links every static test with them (through rha.pc), so a
# missing one fails there.
NATIVE_STATIC_LIBS="-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc"

die() {
    echo "install.sh: $*" >&2
    exit 1
}

script=$(readlink -f "${BASH_SOURCE[0]}")
root=$(cd "$(dirname "$script")/.." && pwd)

prefix=/usr/local
libdir=
while [[ $# -gt 0 ]]; do
    case $1 in
        --prefix) [[ $# -ge 2 ]] || die "--prefix needs a directory"; prefix=$2; shift 2 ;;
        --prefix=*) prefix=${1#--prefix=}; shift ;;
        --libdir) [[ $# -ge 2 ]] || die "--libdir needs a directory"; libdir=$2; shift 2 ;;
        --libdir=*) libdir=${1#--libdir=}; shift ;;
        -h | --help) sed -n '2,/^set -euo/p' "$script" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument '$1' (try --help)" ;;
    esac
done
[[ -n $prefix ]] || die "--prefix is empty"
prefix=$(realpath -m "$prefix")
libdir=$(realpath -m "${libdir:-$prefix/lib}")
includedir=$prefix/include
destdir=${DESTDIR:-}

CC=${CC:-cc}
LD=${LD:-ld}
AR=${AR:-ar}
OBJCOPY=${OBJCOPY:-objcopy}
NM=${NM:-nm}
for tool in cargo "$CC" "$LD" "$AR" "$OBJCOPY" "$NM" readelf; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found (binutils and a C compiler are needed)"
done

target=$(realpath -m "${CARGO_TARGET_DIR:-$root/target}")
release=$target/release
header=$root/include/rha.h
map=$root/rha-ffi/rha.map

version=$(awk '/^#define RHA_VERSION_(MAJOR|MINOR|PATCH) / { v = v (v == "" ? "" : ".") $3 } END { print v }' "$header")
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "no RHA_VERSION_MAJOR/MINOR/PATCH in include/rha.h"
soname=librha.so.$SOVERSION
realname=librha.so.$version

echo "install.sh: cargo build --release -p rha-ffi" >&2
(cd "$root" && CARGO_TARGET_DIR=$target cargo build --release -p rha-ffi --quiet)

# A private staging directory, so that two installs (the C tests and the ABI
# check, say) can run at once.
stage=$(mktemp -d "$release/capi.XXXXXX")
trap 'rm -rf "$stage"' EXIT

# The functions rha-ffi defines: the exports of cargo's cdylib, which rustc
# limits to the #[no_mangle] extern "C" functions.
"$NM" -D --defined-only "$release/librha.so" | awk '{ print $3 }' | sort >"$stage/exports.txt"
if grep -v '^rha_' "$stage/exports.txt" >"$stage/stray.txt"; then
    die "rha-ffi exports functions without the rha_ prefix: $(tr '\n' ' ' <"$stage/stray.txt")"
fi
# Every one of them must have a version node, and the map must name no others.
sed -n 's/^[[:space:]]*\(rha_[A-Za-z0-9_]*\);.*/\1/p' "$map" | sort >"$stage/versioned.txt"
if ! diff -u --label "rha-ffi/rha.map" --label "exported by rha-ffi" \
    "$stage/versioned.txt" "$stage/exports.txt" >"$stage/map.diff"; then
    cat "$stage/map.diff" >&2
    die "rha-ffi/rha.map and the functions of rha-ffi differ (+: missing from the map): list a new function in the version node of the release being made, RHA_<major>.<minor> of include/rha.h (docs/abi.md); drop one only as part of an ABI break"
fi

# One relocatable object holding what the rha_* functions reach (cargo's
# archive has the whole standard library); section groups are resolved here,
# so no local symbol can later refer to a discarded COMDAT copy.
roots=()
while read -r sym; do roots+=(-u "$sym"); done <"$stage/exports.txt"
"$LD" -r --whole-archive --force-group-allocation --gc-sections "${roots[@]}" \
    "$release/librha.a" -o "$stage/rha-full.o"
# Everything but rha_* becomes local; debug sections and the LLVM bitcode
# that the standard library's objects carry go.
"$OBJCOPY" --keep-global-symbols="$stage/exports.txt" --strip-debug \
    --remove-section=.llvmbc --remove-section=.llvmcmd "$stage/rha-full.o" "$stage/rha.o"

"$AR" crsD "$stage/librha.a" "$stage/rha.o"

# shellcheck disable=SC2086 # NATIVE_STATIC_LIBS is a list of flags
"$CC" -shared -o "$stage/$realname" "$stage/rha.o" \
    -Wl,-soname,"$soname" -Wl,--version-script="$map" \
    -Wl,--gc-sections -Wl,--strip-debug -Wl,--no-undefined -Wl,--as-needed \
    -Wl,-z,relro -Wl,-z,now -Wl,-z,noexecstack $NATIVE_STATIC_LIBS

# Both libraries define exactly the rha_* functions, nothing else but, in
# the shared object, the absolute symbols naming its version nodes (RHA_0.1).
for lib in "$stage/librha.a" "$stage/$realname"; do
    "$NM" -g --defined-only "$lib" |
        awk 'NF == 3 && !($2 == "A" && $3 ~ /^RHA_[0-9]+\.[0-9]+$/) { sub(/@.*/, "", $3); print $3 }' |
        sort >"$stage/defined.txt"
    if ! diff -q "$stage/defined.txt" "$stage/exports.txt" >/dev/null; then
        diff -u --label "rha-ffi" --label "$(basename "$lib")" "$stage/exports.txt" "$stage/defined.txt" >&2 || true
        die "$(basename "$lib") defines other global symbols than the rha_* functions"
    fi
done

cat >"$stage/rha.pc" <<EOF
prefix=$prefix
includedir=\${prefix}/include
libdir=$libdir

Name: rha
Description: Embeddable replication and high-availability engine (C API)
Version: $version
Cflags: -I\${includedir}
Libs: -L\${libdir} -lrha
Libs.private: $NATIVE_STATIC_LIBS
EOF
# A libdir under the prefix is written relative to it, so the file survives
# a relocated prefix the way pkg-config --define-prefix expects.
if [[ $libdir == "$prefix"/* ]]; then
    sed -i "s|^libdir=$prefix/|libdir=\${prefix}/|" "$stage/rha.pc"
fi

install -d "$destdir$includedir" "$destdir$libdir/pkgconfig"
install -m 644 "$header" "$destdir$includedir/rha.h"
install -m 644 "$stage/librha.a" "$destdir$libdir/librha.a"
install -m 755 "$stage/$realname" "$destdir$libdir/$realname"
ln -sfn "$realname" "$destdir$libdir/$soname"
ln -sfn "$soname" "$destdir$libdir/librha.so"
install -m 644 "$stage/rha.pc" "$destdir$libdir/pkgconfig/rha.pc"
echo "install.sh: installed librha $version ($soname) under $destdir$prefix" >&2
