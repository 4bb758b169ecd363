/*
 * A program that links its own zstd (the system's libzstd) and librha.a
 * side by side, and defines a symbol of its own that the BLAKE3 C library
 * also defines. librha.a carries private copies of zstd and BLAKE3; they
 * must stay private to it: the program sees the system zstd's version and
 * functions, rha compresses with its own, and neither the program's symbol
 * nor libzstd's clash with librha.a at link time, whatever the link order.
 *
 * Built and run by tests/c/run.sh, static and shared, with libzstd linked
 * statically and dynamically, in both link orders.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "check.h"
#include "journal_util.h"
#include "rha.h"

/* The name under which the BLAKE3 C library (and, privately, rha) defines
 * its SSE2 many-input hasher; a program that embeds BLAKE3 defines it too.
 * Here it only returns a marker. */
int blake3_hash_many_sse2(void);
int blake3_hash_many_sse2(void)
{
    return 42;
}

static void test_program_sees_system_zstd(void)
{
    static uint8_t input[65536];
    size_t bound = ZSTD_compressBound(sizeof input);
    uint8_t *packed = malloc(bound);
    uint8_t *unpacked = malloc(sizeof input);
    CHECK(packed != NULL && unpacked != NULL);
    if (packed == NULL || unpacked == NULL) {
        free(packed);
        free(unpacked);
        return;
    }
    for (size_t i = 0; i < sizeof input; i++) {
        input[i] = (uint8_t)(i % 251 < 200 ? 'a' : i);
    }
    /* The library answering is the one whose header this file included,
     * not the zstd inside librha.a (a different release). */
    CHECK(ZSTD_versionNumber() == ZSTD_VERSION_NUMBER);
    CHECK(strcmp(ZSTD_versionString(), ZSTD_VERSION_STRING) == 0);
    size_t n = ZSTD_compress(packed, bound, input, sizeof input, 3);
    CHECK(!ZSTD_isError(n) && n < sizeof input);
    size_t m = ZSTD_decompress(unpacked, sizeof input, packed, n);
    CHECK(!ZSTD_isError(m) && m == sizeof input && memcmp(unpacked, input, m) == 0);
    free(packed);
    free(unpacked);
}

static void test_program_keeps_its_own_blake3_symbol(void)
{
    CHECK(blake3_hash_many_sse2() == 42);
}

static void test_rha_compresses_with_its_own_zstd(void)
{
    rha_record recs[MAX_RECORDS];
    size_t n = sample_records(recs, 1);
    struct buf plain = {NULL, 0}, packed = {NULL, 0};
    struct writer_opts off = {0, 0, 0, 1 << 20};
    struct writer_opts zstd = {3, 0, 0, 1 << 20};
    struct decoded d;

    encode(recs, n, off, &plain);
    encode(recs, n, zstd, &packed);
    /* The sample's large block write is compressible. */
    CHECK(packed.len > 0 && packed.len < plain.len);
    decode(packed.p, packed.len, 4096, recs, n, 1, &d);
    CHECK(decoded_all(&d, n, packed.len));
    buf_free(&plain);
    buf_free(&packed);
}

int main(void)
{
    static const struct test_case cases[] = {
        {"the program sees the system zstd", test_program_sees_system_zstd},
        {"the program keeps its own blake3_* symbol", test_program_keeps_its_own_blake3_symbol},
        {"rha compresses a journal with its own zstd", test_rha_compresses_with_its_own_zstd},
    };
    return run_cases(cases, sizeof cases / sizeof cases[0]) == 0 ? 0 : 1;
}
