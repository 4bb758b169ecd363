"""The loaded library, its version, and the header translation."""

from __future__ import annotations

import cffi
import pytest

import rha
from rha import _header, _native


def test_version_matches_header():
    c = _native.CONSTANTS
    major, minor, patch = c["RHA_VERSION_MAJOR"], c["RHA_VERSION_MINOR"], c["RHA_VERSION_PATCH"]
    assert rha.__version__ == f"{major}.{minor}.{patch}"
    assert rha.version_number() == major * 10000 + minor * 100 + patch
    assert rha.version_number() == c["RHA_VERSION_NUMBER"]


def test_result_names_come_from_the_library():
    lib = _native.lib
    assert lib.RHA_OK == 0 and lib.RHA_JOURNAL_SEQUENCE == 303
    assert _native.ffi.string(lib.rha_result_name(lib.RHA_JOURNAL_CORRUPT)) == b"RHA_JOURNAL_CORRUPT"


CBINDGEN_STYLE = r"""
#ifndef RHA_H
#define RHA_H

/* Generated with cbindgen: "do not edit" */

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#define RHA_VERSION_MAJOR 0
#define RHA_VERSION_MINOR 12
#define RHA_VERSION_PATCH 3
#define RHA_VERSION_NUMBER (RHA_VERSION_MAJOR * 10000 + RHA_VERSION_MINOR * 100 \
                            + RHA_VERSION_PATCH)
#define RHA_ATTR_MTIME 0x10u
#define RHA_MAX ((uint64_t)18446744073709551615ull)
#define RHA_MUST_USE __attribute__((warn_unused_result))

#if defined(_WIN32) && !defined(RHA_STATIC)
#define RHA_API __declspec(dllimport)
#else
#define RHA_API
#endif

/**
 * Result codes. // not a line comment
 */
enum rha_result
#ifdef __cplusplus
  : int32_t
#endif // __cplusplus
 {
  RHA_OK = 0,
  RHA_BLOCKED = 1,
  RHA_PANIC = 100,
};
#ifndef __cplusplus
typedef int32_t rha_result;
#endif // __cplusplus

typedef struct rha_error rha_error;

typedef struct rha_bytes {
  const uint8_t *ptr;   // borrowed
  size_t len;
} rha_bytes;

static const uint32_t RHA_ATTR_MODE = 1;

#ifdef __cplusplus
extern "C" {
#endif // __cplusplus

RHA_API RHA_MUST_USE rha_result rha_error_code(const rha_error *e);
RHA_API const char *rha_error_message(const rha_error *e);
bool rha_error_offset(const rha_error *e, uint64_t *offset_out);

#if 0
this is not C
#elif RHA_VERSION_MINOR > 10
void only_when_minor_above_ten(void);
#else
void never(void);
#endif

#ifdef __cplusplus
}  // extern "C"
#endif  // __cplusplus

#endif  /* RHA_H */
"""


def test_translates_cbindgen_output():
    cdef, constants = _header.to_cdef(CBINDGEN_STYLE)
    assert constants["RHA_VERSION_NUMBER"] == 1203
    assert constants["RHA_ATTR_MTIME"] == 16
    assert constants["RHA_MAX"] == 2**64 - 1
    assert constants["RHA_ATTR_MODE"] == 1
    for gone in ("__cplusplus", 'extern "C"', "__attribute__", "#include", "never", "not C", "int32_t\n {"):
        assert gone not in cdef
    ffi = cffi.FFI()
    ffi.cdef(cdef)  # parses
    assert "only_when_minor_above_ten" in cdef
    assert ffi.typeof("rha_result") == ffi.typeof("int32_t")
    assert ffi.sizeof("rha_bytes") == ffi.sizeof("void *") + ffi.sizeof("size_t")


def test_function_like_attribute_macros_expand():
    header = (
        "#if defined(__GNUC__)\n#define RHA_DEPRECATED(note) __attribute__((deprecated(note)))\n"
        "#else\n#define RHA_DEPRECATED(note)\n#endif\n"
        'RHA_DEPRECATED("use g, (not h)") int f(void);\nint g(void);\n'
    )
    cdef, _ = _header.to_cdef(header)
    assert "RHA_DEPRECATED" not in cdef
    ffi = cffi.FFI()
    ffi.cdef(cdef)
    assert "int f(void);" in cdef


def test_unguarded_extern_c_is_removed():
    cdef, _ = _header.to_cdef('extern "C" {\nint f(void);\n}\n')
    cffi.FFI().cdef(cdef)


@pytest.mark.parametrize("text", ["#error stop\n", "#if\n#endif\n", "#ifdef X\n", "#endif\n"])
def test_rejects_what_it_cannot_translate(text):
    with pytest.raises(_header.HeaderError):
        _header.to_cdef(text)
