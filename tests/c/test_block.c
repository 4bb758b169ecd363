/*
 * C tests of the block signature, delta and patch jobs in include/rha.h:
 * streaming round trips with tiny and large buffers, rdiff-format deltas,
 * a wrong basis caught by the whole-file hash, corrupt signatures and
 * deltas, output caps, failing callbacks and NULL handling. Run by
 * tests/c/run.sh (shared, static, ASan+UBSan, valgrind).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "rha.h"

/* A growable byte array. */
struct bytes {
    uint8_t *ptr;
    size_t len;
};

static void append(struct bytes *b, const uint8_t *data, size_t n)
{
    uint8_t *p = realloc(b->ptr, b->len + n + 1);
    if (p == NULL) {
        abort();
    }
    b->ptr = p;
    if (n > 0) {
        memcpy(b->ptr + b->len, data, n);
    }
    b->len += n;
}

/* Deterministic pseudo-random bytes. */
static void noise(uint8_t *dst, size_t n, uint32_t seed)
{
    uint32_t x = seed | 1u;
    size_t i;
    for (i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        dst[i] = (uint8_t)(x >> 11);
    }
}

/* The kinds of job, driven by one loop. */
enum kind { SIG, DELTA, PATCH };

/* Feeds `in` in pieces of `in_step` bytes with `out_step` bytes of output
 * room; returns the final code (RHA_DONE or an error) and appends output. */
static rha_result drive(enum kind kind, void *job, const uint8_t *in, size_t n,
                        size_t in_step, size_t out_step, struct bytes *out, rha_error **err)
{
    size_t fed = 0;
    uint8_t *room = malloc(out_step);
    rha_result rc = RHA_BLOCKED;
    int spins = 0;
    if (room == NULL) {
        abort();
    }
    while (rc == RHA_BLOCKED && spins < 10000000) {
        size_t len = n - fed < in_step ? n - fed : in_step;
        rha_in_buffer ib = {in + fed, len, 0};
        rha_out_buffer ob = {room, out_step, 0};
        bool end = fed + len == n;
        switch (kind) {
        case SIG:
            rc = rha_signature_job_run(job, &ib, &ob, end, err);
            break;
        case DELTA:
            rc = rha_delta_job_run(job, &ib, &ob, end, err);
            break;
        default:
            rc = rha_patch_job_run(job, &ib, &ob, end, err);
            break;
        }
        fed += ib.pos;
        append(out, room, ob.pos);
        spins++;
    }
    free(room);
    return rc;
}

struct basis {
    const uint8_t *data;
    size_t len;
    int fail;
};

static int32_t read_basis(void *userdata, uint64_t offset, uint8_t *buf, size_t len,
                          size_t *read_out)
{
    const struct basis *b = userdata;
    size_t n = 0;
    if (b->fail) {
        return 5;
    }
    if (offset < b->len) {
        n = b->len - (size_t)offset;
        n = n < len ? n : len;
        memcpy(buf, b->data + offset, n);
    }
    *read_out = n;
    return 0;
}

#define BASIS_LEN 100000

static uint8_t basis_data[BASIS_LEN];
static uint8_t new_data[BASIS_LEN + 500];
static size_t new_len;

static void make_files(void)
{
    noise(basis_data, BASIS_LEN, 7);
    /* new = basis with an insertion at 30000 and an overwrite at 70000. */
    memcpy(new_data, basis_data, 30000);
    noise(new_data + 30000, 500, 9);
    memcpy(new_data + 30500, basis_data + 30000, BASIS_LEN - 30000);
    memset(new_data + 70000, 'x', 100);
    new_len = BASIS_LEN + 500;
}

static rha_signature *signature_of(const uint8_t *data, size_t n, uint32_t block_len,
                                   size_t in_step, size_t out_step, struct bytes *raw)
{
    rha_signature_job *job = NULL;
    rha_signature *sig = NULL;
    CHECK_OK(rha_signature_job_new(n, block_len, 0, &job, &E));
    CHECK(drive(SIG, job, data, n, in_step, out_step, raw, NULL) == RHA_DONE);
    rha_signature_job_free(job);
    CHECK_OK(rha_signature_new(raw->ptr, raw->len, &sig, &E));
    return sig;
}

static void round_trip(uint32_t format, size_t in_step, size_t out_step)
{
    struct bytes raw = {NULL, 0}, delta = {NULL, 0}, out = {NULL, 0};
    rha_signature *sig;
    rha_delta_job *dj = NULL;
    rha_patch_job *pj = NULL;
    struct basis b = {basis_data, BASIS_LEN, 0};
    uint64_t literal = 0, matched = 0;

    make_files();
    sig = signature_of(basis_data, BASIS_LEN, 1024, in_step, out_step, &raw);
    CHECK(rha_signature_block_count(sig) == 98);
    CHECK(rha_signature_block_len(sig) == 1024);
    CHECK_OK(rha_delta_job_new(sig, format, &dj, &E));
    rha_signature_free(sig);
    CHECK(drive(DELTA, dj, new_data, new_len, in_step, out_step, &delta, NULL) == RHA_DONE);
    rha_delta_job_stats(dj, &literal, &matched);
    CHECK(literal + matched == new_len);
    CHECK(literal < 3000);
    rha_delta_job_free(dj);
    CHECK(delta.len < 4000);

    CHECK_OK(rha_patch_job_new(read_basis, &b, BASIS_LEN, UINT64_MAX, &pj, &E));
    CHECK(drive(PATCH, pj, delta.ptr, delta.len, in_step, out_step, &out, NULL) == RHA_DONE);
    CHECK(rha_patch_job_produced(pj) == new_len);
    rha_patch_job_free(pj);
    CHECK(out.len == new_len && memcmp(out.ptr, new_data, new_len) == 0);
    free(raw.ptr);
    free(delta.ptr);
    free(out.ptr);
}

/* XXH3 block hashes and two hashing threads: a version-2 signature equal
   to the one-thread signature, whose delta patches to the new file. */
static void test_xxh3_and_threads(void)
{
    struct bytes one = {NULL, 0}, two = {NULL, 0}, delta = {NULL, 0}, out = {NULL, 0};
    rha_signature_job *job = NULL;
    rha_signature *sig = NULL;
    rha_delta_job *dj = NULL;
    rha_patch_job *pj = NULL;
    rha_error *err = NULL;
    struct basis b = {basis_data, BASIS_LEN, 0};

    make_files();
    CHECK_OK(rha_signature_job_new(BASIS_LEN, 1024, 0, &job, &E));
    CHECK_OK(rha_signature_job_set_strong_hash(job, RHA_STRONG_HASH_XXH3, &E));
    CHECK(drive(SIG, job, basis_data, BASIS_LEN, 999, 100, &one, NULL) == RHA_DONE);
    /* Too late once input has been consumed. */
    CHECK(rha_signature_job_set_strong_hash(job, RHA_STRONG_HASH_BLAKE3, &err) ==
          RHA_INVALID_ARGUMENT);
    CHECK(err != NULL && strstr(rha_error_message(err), "strong hash") != NULL);
    rha_error_free(err);
    err = NULL;
    rha_signature_job_free(job);
    job = NULL;
    CHECK(one.len > 6 && one.ptr[4] == 2);

    CHECK_OK(rha_signature_job_new(BASIS_LEN, 1024, 0, &job, &E));
    CHECK_OK(rha_signature_job_set_strong_hash(job, RHA_STRONG_HASH_XXH3, &E));
    rha_signature_job_set_threads(job, 2);
    CHECK(drive(SIG, job, basis_data, BASIS_LEN, 1 << 20, 1 << 20, &two, NULL) == RHA_DONE);
    rha_signature_job_free(job);
    CHECK(one.len == two.len && memcmp(one.ptr, two.ptr, one.len) == 0);

    CHECK_OK(rha_signature_new(two.ptr, two.len, &sig, &E));
    CHECK_OK(rha_delta_job_new(sig, RHA_DELTA_FORMAT_RHA, &dj, &E));
    rha_signature_free(sig);
    rha_delta_job_set_threads(dj, 2);
    CHECK(drive(DELTA, dj, new_data, new_len, 1 << 20, 1 << 20, &delta, NULL) == RHA_DONE);
    rha_delta_job_free(dj);
    CHECK_OK(rha_patch_job_new(read_basis, &b, BASIS_LEN, UINT64_MAX, &pj, &E));
    CHECK(drive(PATCH, pj, delta.ptr, delta.len, 1 << 20, 1 << 20, &out, NULL) == RHA_DONE);
    rha_patch_job_free(pj);
    CHECK(out.len == new_len && memcmp(out.ptr, new_data, new_len) == 0);

    CHECK(rha_signature_job_set_strong_hash(NULL, RHA_STRONG_HASH_XXH3, NULL) ==
          RHA_NULL_PARAMETER);
    CHECK_OK(rha_signature_job_new(10, 0, 0, &job, &E));
    CHECK(rha_signature_job_set_strong_hash(job, 7, NULL) == RHA_INVALID_ARGUMENT);
    rha_signature_job_free(job);
    rha_signature_job_set_threads(NULL, 2);
    rha_delta_job_set_threads(NULL, 2);
    free(one.ptr);
    free(two.ptr);
    free(delta.ptr);
    free(out.ptr);
}

static void test_round_trip_big_buffers(void) { round_trip(RHA_DELTA_FORMAT_RHA, 1 << 20, 1 << 20); }
static void test_round_trip_small_buffers(void) { round_trip(RHA_DELTA_FORMAT_RHA, 777, 61); }
static void test_round_trip_rdiff(void) { round_trip(RHA_DELTA_FORMAT_RDIFF, 4096, 1000); }

/* A delta of new_data against basis_data, rha format. */
static void make_delta(struct bytes *delta)
{
    struct bytes raw = {NULL, 0};
    rha_signature *sig;
    rha_delta_job *dj = NULL;
    make_files();
    sig = signature_of(basis_data, BASIS_LEN, 0, 1 << 16, 1 << 16, &raw);
    CHECK_OK(rha_delta_job_new(sig, RHA_DELTA_FORMAT_RHA, &dj, &E));
    CHECK(drive(DELTA, dj, new_data, new_len, 1 << 16, 1 << 16, delta, NULL) == RHA_DONE);
    rha_delta_job_free(dj);
    rha_signature_free(sig);
    free(raw.ptr);
}

static rha_result patch_with(const struct basis *b, uint64_t max_output, const struct bytes *delta,
                             rha_error **err)
{
    struct bytes out = {NULL, 0};
    rha_patch_job *pj = NULL;
    rha_result rc;
    CHECK_OK(rha_patch_job_new(read_basis, (void *)b, UINT64_MAX, max_output, &pj, &E));
    rc = drive(PATCH, pj, delta->ptr, delta->len, 5000, 5000, &out, err);
    rha_patch_job_free(pj);
    free(out.ptr);
    return rc;
}

static void test_wrong_basis_is_a_hash_mismatch(void)
{
    struct bytes delta = {NULL, 0};
    static uint8_t other[BASIS_LEN];
    struct basis b = {other, BASIS_LEN, 0};
    make_delta(&delta);
    memcpy(other, basis_data, BASIS_LEN);
    other[50000] ^= 1;
    CHECK_FAILS(patch_with(&b, UINT64_MAX, &delta, &E), RHA_PATCH_HASH_MISMATCH, "whole-file hash");
    free(delta.ptr);
}

static void test_corrupt_and_capped_deltas(void)
{
    struct bytes delta = {NULL, 0};
    struct basis b = {basis_data, BASIS_LEN, 0};
    struct basis failing = {basis_data, BASIS_LEN, 1};
    uint64_t offset = 0;
    rha_error *err = NULL;
    make_delta(&delta);
    delta.ptr[delta.len / 2] ^= 0x20;
    CHECK(patch_with(&b, UINT64_MAX, &delta, &err) == RHA_DELTA_CORRUPT);
    CHECK(err != NULL && rha_error_offset(err, &offset) && offset <= delta.len / 2);
    CHECK(err != NULL && strstr(rha_error_message(err), "checksum mismatch") != NULL);
    rha_error_free(err);
    delta.ptr[delta.len / 2] ^= 0x20;
    CHECK_FAILS(patch_with(&b, 1000, &delta, &E), RHA_PATCH_TOO_LARGE, "cap of 1000 bytes");
    CHECK_FAILS(patch_with(&failing, UINT64_MAX, &delta, &E), RHA_IO, "callback returned 5");
    delta.len -= 3;
    CHECK_FAILS(patch_with(&b, UINT64_MAX, &delta, &E), RHA_DELTA_CORRUPT, "truncated delta");
    free(delta.ptr);
}

static void test_corrupt_signatures(void)
{
    struct bytes raw = {NULL, 0};
    rha_signature *sig;
    rha_signature_job *job = NULL;
    uint64_t offset = 0;
    rha_error *err = NULL;
    make_files();
    sig = signature_of(basis_data, BASIS_LEN, 1024, 1 << 16, 1 << 16, &raw);
    rha_signature_free(sig);
    sig = NULL;
    raw.ptr[40] ^= 1;
    CHECK(rha_signature_new(raw.ptr, raw.len, &sig, &err) == RHA_SIGNATURE_CORRUPT);
    CHECK(sig == NULL);
    CHECK(err != NULL && rha_error_offset(err, &offset) && offset == 32);
    rha_error_free(err);
    CHECK_FAILS(rha_signature_new((const uint8_t *)"nope", 4, &sig, &E), RHA_SIGNATURE_CORRUPT,
                "bad magic");
    CHECK_FAILS(rha_signature_new(raw.ptr, 10, &sig, &E), RHA_SIGNATURE_CORRUPT, "truncated");
    /* A NULL pointer with a length: the error names the argument, `data`
     * (not a record field). */
    CHECK_FAILS(rha_signature_new(NULL, 5, &sig, &E), RHA_NULL_PARAMETER,
                "argument `data` is NULL but its length is 5");
    free(raw.ptr);

    /* A file longer than declared. */
    CHECK_OK(rha_signature_job_new(10, 0, 0, &job, &E));
    {
        uint8_t in[11] = {0}, room[256];
        rha_in_buffer ib = {in, sizeof in, 0};
        rha_out_buffer ob = {room, sizeof room, 0};
        CHECK_FAILS(rha_signature_job_run(job, &ib, &ob, true, &E), RHA_SIGNATURE_INPUT_LENGTH,
                    "declared 10 bytes");
    }
    rha_signature_job_free(job);
}

static void test_invalid_arguments_and_nulls(void)
{
    rha_signature_job *job = NULL;
    rha_delta_job *dj = NULL;
    rha_patch_job *pj = NULL;
    rha_signature *sig = NULL;
    uint8_t room[16];
    rha_out_buffer ob = {room, sizeof room, 0};
    CHECK_FAILS(rha_signature_job_new(100, 7, 0, &job, &E), RHA_INVALID_ARGUMENT, "block length");
    CHECK_FAILS(rha_signature_job_new(100, 0, 40, &job, &E), RHA_INVALID_ARGUMENT, "strong");
    CHECK_FAILS(rha_signature_job_new(100, 0, 0, NULL, &E), RHA_NULL_PARAMETER, "job_out");
    CHECK_FAILS(rha_signature_job_run(NULL, NULL, &ob, true, &E), RHA_NULL_PARAMETER, "job");
    CHECK_FAILS(rha_delta_job_new(NULL, 0, &dj, &E), RHA_NULL_PARAMETER, "sig");
    CHECK_FAILS(rha_patch_job_new(NULL, NULL, 0, 0, &pj, &E), RHA_NULL_PARAMETER, "read_at");
    CHECK_FAILS(rha_signature_new(NULL, 5, &sig, &E), RHA_NULL_PARAMETER, "NULL");
    CHECK(job == NULL && dj == NULL && pj == NULL && sig == NULL);
    {
        struct bytes raw = {NULL, 0};
        make_files();
        sig = signature_of(basis_data, 1000, 0, 100, 100, &raw);
        CHECK_FAILS(rha_delta_job_new(sig, 9, &dj, &E), RHA_INVALID_ARGUMENT, "format 9");
        rha_signature_free(sig);
        free(raw.ptr);
    }
    CHECK(rha_signature_block_count(NULL) == 0);
    CHECK(rha_patch_job_produced(NULL) == 0);
    rha_delta_job_stats(NULL, NULL, NULL);
    rha_signature_job_free(NULL);
    rha_signature_free(NULL);
    rha_delta_job_free(NULL);
    rha_patch_job_free(NULL);
    CHECK(strcmp(rha_result_name(RHA_PATCH_HASH_MISMATCH), "RHA_PATCH_HASH_MISMATCH") == 0);
    CHECK(RHA_SIGNATURE_CORRUPT / 100 == 4 && RHA_PATCH_HASH_MISMATCH / 100 == 4);
}

int main(void)
{
    static const struct test_case cases[] = {
        {"round trip, big buffers", test_round_trip_big_buffers},
        {"round trip, small buffers", test_round_trip_small_buffers},
        {"round trip, rdiff format", test_round_trip_rdiff},
        {"XXH3 signatures and hashing threads", test_xxh3_and_threads},
        {"a wrong basis is a hash mismatch", test_wrong_basis_is_a_hash_mismatch},
        {"corrupt, capped and unreadable", test_corrupt_and_capped_deltas},
        {"corrupt signatures", test_corrupt_signatures},
        {"invalid arguments and NULLs", test_invalid_arguments_and_nulls},
    };
    return run_cases(cases, sizeof cases / sizeof cases[0]) == 0 ? 0 : 1;
}
