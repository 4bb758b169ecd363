#!/usr/bin/env bash
# Compares the ABI of librha with the committed baseline tests/abi-baseline.txt
# and fails on any difference, naming each one a break (something removed or
# changed) or an addition. docs/abi.md gives the rules this enforces.
#
#   tests/check-abi.sh                    compare; fail on any difference
#   tests/check-abi.sh --update           record additions in the baseline
#                                         (refuses if anything broke)
#   tests/check-abi.sh --update --break   record an intended break as well
#
# What is compared, from a library built and installed by rha-ffi/install.sh
# into a temporary prefix:
#   - the SONAME and every exported symbol with its version (librha.so), and
#     that librha.so and librha.a define rha_* and nothing else (besides the
#     absolute symbols that name the .so's version nodes, RHA_<major>.<minor>);
#   - every function declared in include/rha.h (types only, as gcc's
#     -aux-info prints them, so renaming a parameter is not a change), and
#     that each is exported;
#   - the callback typedefs, the opaque types, the #define constants (but the
#     version macros) and the value of every enum constant;
#   - size and alignment of every struct and enum, and offset and size of
#     every struct field, from a C program generated from the header, built
#     and run on this machine (the baseline is for x86_64-linux-gnu). A
#     struct with a size field (struct_size at offset 0) that grew at its end,
#     its alignment and old fields unchanged, is an addition, not a break.
#
# Environment: CARGO_TARGET_DIR, CC (default cc; builds the layout program),
# GCC (default gcc; its -aux-info lists the prototypes).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
baseline=$root/tests/abi-baseline.txt
header=$root/include/rha.h
CC=${CC:-cc}
GCC=${GCC:-gcc}

die() {
    echo "check-abi: $*" >&2
    exit 1
}

update=0
allow_break=0
for arg in "$@"; do
    case $arg in
        --update) update=1 ;;
        --break) allow_break=1 ;;
        *) die "unknown argument '$arg' (usage: tests/check-abi.sh [--update [--break]])" ;;
    esac
done
[[ $allow_break -eq 0 || $update -eq 1 ]] || die "--break only makes sense with --update"

for tool in "$CC" "$GCC" readelf nm awk; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found"
done

work=$(mktemp -d "${TMPDIR:-/tmp}/rha-abi.XXXXXX")
trap 'rm -rf "$work"' EXIT

"$root/rha-ffi/install.sh" --prefix "$work/prefix" 2>"$work/install.log" || {
    cat "$work/install.log" >&2
    die "rha-ffi/install.sh failed"
}
so=$(find "$work/prefix/lib" -name 'librha.so.*.*.*' -type f)
[[ -n $so ]] || die "install.sh installed no librha.so.X.Y.Z"
archive=$work/prefix/lib/librha.a

platform=$("$CC" -dumpmachine)
case $platform in
    x86_64-*linux-gnu) ;;
    *) die "the baseline describes x86_64-linux-gnu; this compiler targets $platform, whose layouts differ" ;;
esac

current=$work/abi.txt
problems=$work/problems.txt
: >"$problems"

# ---- the libraries: SONAME, exports, nothing but rha_* ----------------------

soname=$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[[ -n $soname ]] || echo "librha.so has no SONAME" >>"$problems"

# Defined global dynamic symbols, with their versions (rha_x@@RHA_0.1).
readelf --dyn-syms -W "$so" |
    awk '$5 == "GLOBAL" || $5 == "WEAK" { if ($7 != "UND") print $8 }' | sort >"$work/so-syms.txt"
grep -v -E '^rha_[A-Za-z0-9_]+@@RHA_[0-9]+\.[0-9]+$|^RHA_[0-9]+\.[0-9]+(@@RHA_[0-9]+\.[0-9]+)?$' \
    "$work/so-syms.txt" | sed 's/^/librha.so exports a symbol outside rha_*@@RHA_x.y: /' >>"$problems" || true
nm -g --defined-only "$archive" | awk 'NF == 3 { print $3 }' | sort >"$work/a-syms.txt"
grep -v -E '^rha_[A-Za-z0-9_]+$' "$work/a-syms.txt" |
    sed 's/^/librha.a defines a global symbol outside rha_*: /' >>"$problems" || true
sed -n 's/@@.*//p' "$work/so-syms.txt" | grep '^rha_' >"$work/so-names.txt" || true
if ! cmp -s "$work/so-names.txt" "$work/a-syms.txt"; then
    echo "librha.so and librha.a define different rha_* functions" >>"$problems"
fi

# ---- the header: prototypes, callbacks, opaque types, constants -------------

printf '#include "rha.h"\n' >"$work/decl.c"
"$GCC" -std=c99 -fsyntax-only -I"$root/include" -aux-info "$work/aux.txt" "$work/decl.c"
# "/* rha.h:123:NC */ extern rha_result rha_x (struct rha_y *, size_t);"
awk '/rha\.h:[0-9]+:/ { sub(/^\/\*[^*]*\*\/ */, ""); sub(/^extern /, ""); print "function " $0 }' \
    "$work/aux.txt" | sort >"$work/functions.txt"
sed -n 's/^function .*[ *]\(rha_[A-Za-z0-9_]*\) (.*/\1/p' "$work/functions.txt" | sort >"$work/declared.txt"
comm -23 "$work/declared.txt" "$work/so-names.txt" |
    sed 's/^/declared in rha.h but not exported: /' >>"$problems"
comm -13 "$work/declared.txt" "$work/so-names.txt" |
    sed 's/^/exported but not declared in rha.h: /' >>"$problems"

# Callback typedefs, joined onto one line with single spaces.
awk '
    /^typedef [^(]*\(\*rha_/ { inside = 1; text = "" }
    inside { line = $0; gsub(/^[ \t]+/, "", line); text = text (text == "" ? "" : " ") line }
    inside && /;[ \t]*$/ { print "callback " text; inside = 0 }
' "$header" | sort >"$work/callbacks.txt"

awk '/^typedef struct rha_[a-z0-9_]+ rha_[a-z0-9_]+;$/ { print "opaque " $3 }' "$header" |
    sort >"$work/opaque.txt"

awk '/^#define RHA_/ && $2 != "RHA_H" && $2 !~ /^RHA_VERSION_/ {
        name = $2; $1 = ""; $2 = ""; sub(/^ +/, ""); print "define " name " " $0
    }' "$header" | sort >"$work/defines.txt"

# ---- layouts: a C program generated from the header -------------------------

awk '
    BEGIN {
        print "#include <stdio.h>"
        print "#include <stddef.h>"
        print "#include \"rha.h\""
        print "int main(void) {"
    }
    /^typedef struct rha_[a-z0-9_]+ \{/ { kind = "struct"; name = $3; body = 1
        printf "    printf(\"struct %s size %%zu align %%zu\\n\", sizeof(struct %s), _Alignof(struct %s));\n", name, name, name
        next }
    /^typedef enum rha_[a-z0-9_]+ \{/ { kind = "enum"; name = $3; body = 1
        printf "    printf(\"enum %s size %%zu\\n\", sizeof(enum %s));\n", name, name
        next }
    body && /^}/ { body = 0; next }
    body && kind == "struct" && /^ +[A-Za-z_][A-Za-z0-9_ *]*[ *][A-Za-z_][A-Za-z0-9_]*(\[[^]]*\])?;$/ {
        field = $0; sub(/(\[[^]]*\])?;$/, "", field); sub(/.*[ *]/, "", field)
        printf "    printf(\"field %s.%s offset %%zu size %%zu\\n\", offsetof(struct %s, %s), sizeof(((struct %s *)0)->%s));\n", name, field, name, field, name, field
        next }
    body && kind == "enum" && /^ +[A-Z][A-Z0-9_]*( = [^,]*)?,?$/ {
        constant = $1; sub(/,$/, "", constant)
        printf "    printf(\"const %s.%s %%lld\\n\", (long long)%s);\n", name, constant, constant
        next }
    END { print "    return 0;"; print "}" }
' "$header" >"$work/layout.c"
"$CC" -std=c11 -Wall -Wextra -Werror -I"$root/include" "$work/layout.c" -o "$work/layout" ||
    die "the generated layout program does not compile (the header changed shape?): $work/layout.c"
"$work/layout" | sort >"$work/layouts.txt"
[[ $(grep -c '^struct ' "$work/layouts.txt") -gt 0 ]] || die "found no struct in include/rha.h"
# A struct whose fields were not recognised would be compared by size only.
awk '
    $1 == "struct" { size[$2] = $4 }
    $1 == "field" { split($2, p, "."); seen[p[1]] = 1 }
    END { for (s in size) if (!(s in seen)) print "no fields parsed for struct " s }
' "$work/layouts.txt" >>"$problems"

# ---- compare ----------------------------------------------------------------

{
    echo "soname $soname"
    sed 's/^/symbol /' "$work/so-syms.txt"
    cat "$work/functions.txt" "$work/callbacks.txt" "$work/opaque.txt" "$work/defines.txt" \
        "$work/layouts.txt"
} >"$current"

if [[ -s $problems ]]; then
    sed 's/^/check-abi: /' "$problems" >&2
    die "the library or header is malformed (see above); the baseline was not compared"
fi

sort "$current" >"$work/new.txt"
if [[ ! -e $baseline ]]; then
    [[ $update -eq 1 ]] || die "no baseline at tests/abi-baseline.txt; create it with --update"
    cp "$work/new.txt" "$work/old.txt"
    : >"$baseline"
else
    grep -v '^#' "$baseline" | sort >"$work/old.txt" || true
fi
comm -23 "$work/old.txt" "$work/new.txt" >"$work/removed.txt"
comm -13 "$work/old.txt" "$work/new.txt" >"$work/added.txt"

# A struct with a size field (struct_size, a uint32_t at offset 0) may grow
# at its end (docs/abi.md): its old size line is then no break, provided its
# alignment and every field it had stay as they were (a field moved or
# changed shows as a removed field line, a break) and it got larger. Such a
# change is recorded as an addition, marked "grown".
: >"$work/grown.txt"
while read -r _ name _ old_size _ align; do
    grep -qx "field $name.struct_size offset 0 size 4" "$work/old.txt" || continue
    grep -qx "field $name.struct_size offset 0 size 4" "$work/new.txt" || continue
    grep -q "^field $name\." "$work/removed.txt" && continue
    new_size=$(awk -v n="$name" -v a="$align" '$1 == "struct" && $2 == n && $6 == a { print $4 }' \
        "$work/new.txt")
    [[ -n $new_size && $new_size -gt $old_size ]] || continue
    echo "struct $name size $old_size align $align" >>"$work/grown.txt"
    echo "  + struct $name grew from $old_size to $new_size bytes (fields appended; an allowed change)"
done < <(grep '^struct ' "$work/removed.txt" || true) >"$work/grown-notes.txt"
if [[ -s $work/grown.txt ]]; then
    grep -v -x -F -f "$work/grown.txt" "$work/removed.txt" >"$work/removed-left.txt" || true
    mv "$work/removed-left.txt" "$work/removed.txt"
fi

# A function added since the baseline belongs in the version node of the
# release being made (RHA_<major>.<minor> of the header's version macros);
# putting it in an older node would make that node mean two things.
node=$(awk '/^#define RHA_VERSION_MAJOR / { M = $3 } /^#define RHA_VERSION_MINOR / { m = $3 }
            END { print "RHA_" M "." m }' "$header")
grep '^symbol rha_' "$work/added.txt" | grep -v "@@$node\$" >"$work/misplaced.txt" || true
if [[ -s $work/misplaced.txt ]]; then
    echo "check-abi: ABI BREAK: new functions in an older version node than $node" \
        "(rha-ffi/rha.map: add a node $node for them):" >&2
    sed 's/^/  ! /' "$work/misplaced.txt" >&2
    cat "$work/misplaced.txt" >>"$work/removed.txt"
fi
if [[ -s $work/removed.txt ]]; then
    echo "check-abi: ABI BREAK: the baseline has these lines, the library and header no longer do" \
        "(a change shows as this line and its new form below):" >&2
    sed 's/^/  - /' "$work/removed.txt" >&2
fi
if [[ -s $work/added.txt ]]; then
    echo "check-abi: not in the baseline (additions, or the new form of a line above):" >&2
    sed 's/^/  + /' "$work/added.txt" >&2
    if [[ -s $work/grown-notes.txt ]]; then
        echo "check-abi: structs with a size field that grew at their end (allowed):" >&2
        cat "$work/grown-notes.txt" >&2
    fi
fi

write_baseline() {
    {
        echo "# The ABI of librha, checked by tests/check-abi.sh against the library and"
        echo "# include/rha.h; platform x86_64-linux-gnu. Regenerate with"
        echo "# tests/check-abi.sh --update (additions) or --update --break (a break:"
        echo "# see docs/abi.md first). One line per fact, sorted."
        cat "$work/new.txt"
    } >"$baseline"
}

if [[ ! -s $baseline ]]; then
    write_baseline
    echo "check-abi: tests/abi-baseline.txt created"
    exit 0
fi
if [[ ! -s $work/removed.txt && ! -s $work/added.txt ]]; then
    echo "check-abi: the ABI matches tests/abi-baseline.txt ($(grep -c '^symbol ' "$work/new.txt") symbols," \
        "$(grep -c '^struct ' "$work/new.txt") structs)"
    exit 0
fi
if [[ $update -eq 0 ]]; then
    if [[ -s $work/removed.txt ]]; then
        die "the ABI broke; if intended (docs/abi.md says when), run tests/check-abi.sh --update --break"
    fi
    die "compatible additions are missing from the baseline; run tests/check-abi.sh --update"
fi
if [[ -s $work/removed.txt && $allow_break -eq 0 ]]; then
    die "refusing to record a break without --break (docs/abi.md: what a break requires)"
fi
write_baseline
echo "check-abi: tests/abi-baseline.txt updated"
