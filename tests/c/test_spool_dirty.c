/*
 * C tests of a spool's dirty regions in include/rha.h: fill a small spool
 * under the degrade policy, then read the exact ranges back through a
 * snapshot (borrowed views), before and after reopening; an undegraded
 * spool's empty snapshot; NULL handling. Run by tests/c/run.sh (shared,
 * static, ASan+UBSan, valgrind).
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "tempdir_util.h"
#include "rha.h"

/* ---- helpers ------------------------------------------------------------ */

static char dir[256];

static void make_dir(void) { temp_dir_new(dir, sizeof dir, "rha-spool-dirty-test"); }

static void remove_dir(void) { temp_dir_remove(dir); }

/* A spool in `dir`: 1 KiB segments, at most 4 KiB, no free-space minimum,
 * the degrade overflow policy. */
static rha_spool *open_degrading(void)
{
    rha_spool *s = NULL;
    rha_spool_builder *b = rha_spool_builder_new(dir);
    CHECK(b != NULL);
    CHECK_OK(rha_spool_builder_set_min_free_bytes(b, 0, &E));
    CHECK_OK(rha_spool_builder_set_segment_bytes(b, 1024, &E));
    CHECK_OK(rha_spool_builder_set_max_bytes(b, 4096, &E));
    CHECK_OK(rha_spool_builder_set_overflow(b, RHA_SPOOL_POLICY_DEGRADE, &E));
    CHECK_OK(rha_spool_build(b, &s, NULL, &E));
    return s;
}

static rha_bytes str(const char *s)
{
    rha_bytes v;
    v.ptr = (const uint8_t *)s;
    v.len = strlen(s);
    return v;
}

/* Appends a WRITE of `len` bytes at `off` of `path`; returns whether it was
 * spooled (rather than only tracked). */
static int append_write(rha_spool *s, const char *path, uint64_t off, size_t len)
{
    static uint8_t data[8192];
    rha_record r;
    rha_record_init(&r);
    rha_spool_ticket t = {.struct_size = sizeof(rha_spool_ticket)};
    rha_record_init(&r);
    r.op = RHA_OP_WRITE;
    r.path = str(path);
    r.data.ptr = data;
    r.data.len = len;
    r.offset = off;
    CHECK_OK(rha_spool_append(s, &r, NULL, &t, &E));
    return t.spooled;
}

static void append_record(rha_spool *s, const rha_record *r)
{
    rha_spool_ticket t = {.struct_size = sizeof(rha_spool_ticket)};
    CHECK_OK(rha_spool_append(s, r, NULL, &t, &E));
    CHECK(!t.spooled);
}

/* One expected target: kind, path or volume, and up to 4 ranges. */
struct want_target {
    uint32_t kind;
    const char *path;
    uint32_t volume;
    size_t n;
    rha_spool_range ranges[4];
};

/* Checks that `d` holds exactly `want` (n_want targets, in order). */
static void check_snapshot(const rha_spool_dirty *d, const struct want_target *want,
                           size_t n_want)
{
    rha_spool_dirty_target t = {.struct_size = sizeof(rha_spool_dirty_target)};
    size_t i, j;
    uint64_t total = 0;

    CHECK(rha_spool_dirty_granularity(d) == 4096);
    CHECK(rha_spool_dirty_target_count(d) == n_want);
    for (i = 0; i < n_want; i++) {
        const struct want_target *w = &want[i];
        memset(&t, 0xAB, sizeof t);
        t.struct_size = sizeof t;
        CHECK_OK(rha_spool_dirty_get(d, i, &t, &E));
        CHECK(t.kind == w->kind);
        if (w->kind == RHA_SPOOL_TARGET_FILE) {
            CHECK(t.volume == 0);
            CHECK(t.path.len == strlen(w->path));
            CHECK(t.path.ptr != NULL && memcmp(t.path.ptr, w->path, t.path.len) == 0);
        } else {
            CHECK(t.volume == w->volume);
            CHECK(t.path.ptr == NULL && t.path.len == 0);
        }
        CHECK(t.range_count == w->n);
        if (t.range_count == w->n) {
            for (j = 0; j < w->n; j++) {
                CHECK(t.ranges[j].start == w->ranges[j].start);
                CHECK(t.ranges[j].end == w->ranges[j].end);
            }
        }
        total += t.range_count;
    }
    CHECK(rha_spool_dirty_range_count(d) == total);
    /* Past the last target: RHA_INVALID_ARGUMENT naming the index, output
     * untouched (an index out of range is that error everywhere). */
    memset(&t, 0xAB, sizeof t);
    t.struct_size = sizeof t;
    CHECK_FAILS(rha_spool_dirty_get(d, n_want, &t, &E), RHA_INVALID_ARGUMENT, "out of range");
    CHECK(t.kind == 0xABABABABu);
    CHECK(rha_spool_dirty_get(d, (size_t)-1, &t, NULL) == RHA_INVALID_ARGUMENT);
    /* A size rha does not know is refused. */
    t.struct_size = 7;
    CHECK_FAILS(rha_spool_dirty_get(d, 0, &t, &E), RHA_INVALID_ARGUMENT,
                "rha_spool_dirty_target.struct_size is 7");
}

/* ---- test cases --------------------------------------------------------- */

static void test_exact_ranges_after_a_degrading_overflow(void)
{
    rha_spool *s;
    rha_spool_dirty *d = NULL;
    rha_spool_dirty *before = NULL;
    rha_spool_usage u = {.struct_size = sizeof(rha_spool_usage)};
    rha_record r;
    rha_record_init(&r);
    uint8_t block[1];
    uint64_t k = 0, first_tracked = 0;

    make_dir();
    s = open_degrading();
    /* Writes of 200 bytes at k * 64 KiB of "f" until one is only tracked. */
    for (k = 0; k < 100; k++) {
        if (!append_write(s, "f", k * 65536, 200)) {
            first_tracked = k;
            break;
        }
    }
    CHECK(first_tracked > 0);
    CHECK_OK(rha_spool_get_usage(s, &u, &E));
    CHECK(u.mode == RHA_SPOOL_MODE_DEGRADED);
    CHECK_OK(rha_spool_dirty_new(s, &before, &E));

    /* 5000..5010 and 8192..8292 of "f" widen to [4096, 12288), merged. */
    CHECK(!append_write(s, "f", 5000, 10));
    CHECK(!append_write(s, "f", 8192, 100));
    /* 10..5010 of "a/b": [0, 8192). */
    CHECK(!append_write(s, "a/b", 10, 5000));
    /* Deleting "g" marks it whole. */
    rha_record_init(&r);
    r.op = RHA_OP_DELETE;
    r.path = str("g");
    append_record(s, &r);
    /* One byte at 1 MiB of volume 3. */
    rha_record_init(&r);
    block[0] = 7;
    r.op = RHA_OP_BLOCK_WRITE;
    r.volume = 3;
    r.offset = 1u << 20;
    r.data.ptr = block;
    r.data.len = 1;
    append_record(s, &r);

    {
        const uint64_t at = first_tracked * 65536;
        const struct want_target want[] = {
            {RHA_SPOOL_TARGET_FILE, "a/b", 0, 1, {{0, 8192}}},
            {RHA_SPOOL_TARGET_FILE, "f", 0, 2, {{4096, 12288}, {at, at + 4096}}},
            {RHA_SPOOL_TARGET_FILE, "g", 0, 1, {{0, RHA_SPOOL_RANGE_TO_END}}},
            {RHA_SPOOL_TARGET_VOLUME, NULL, 3, 1, {{1u << 20, (1u << 20) + 4096}}},
        };
        const struct want_target want_before[] = {
            {RHA_SPOOL_TARGET_FILE, "f", 0, 1, {{at, at + 4096}}},
        };
        CHECK_OK(rha_spool_dirty_new(s, &d, &E));
        CHECK_OK(rha_spool_get_usage(s, &u, &E));
        CHECK(u.dirty_ranges == 5 && rha_spool_dirty_range_count(d) == 5);
        /* The snapshot outlives its spool. */
        CHECK_OK(rha_spool_close(s, &E));
        check_snapshot(d, want, 4);
        /* An earlier snapshot is a copy: later appends did not change it. */
        check_snapshot(before, want_before, 1);
        rha_spool_dirty_free(d);
        rha_spool_dirty_free(before);

        /* Durable: the same regions after reopening. */
        s = open_degrading();
        d = NULL;
        CHECK_OK(rha_spool_dirty_new(s, &d, &E));
        check_snapshot(d, want, 4);
        rha_spool_dirty_free(d);

        /* A reset after the resync clears them. */
        CHECK_OK(rha_spool_get_usage(s, &u, &E));
        CHECK_OK(rha_spool_reset(s, u.next_seq, &E));
        d = NULL;
        CHECK_OK(rha_spool_dirty_new(s, &d, &E));
        check_snapshot(d, NULL, 0);
        rha_spool_dirty_free(d);
    }
    rha_spool_free(s);
    remove_dir();
}

static void test_an_undegraded_spool_has_no_dirty_regions(void)
{
    rha_spool *s;
    rha_spool_dirty *d = NULL;

    make_dir();
    s = open_degrading();
    CHECK(append_write(s, "f", 0, 10));
    CHECK_OK(rha_spool_dirty_new(s, &d, &E));
    check_snapshot(d, NULL, 0);
    rha_spool_dirty_free(d);
    rha_spool_free(s);
    remove_dir();
}

static void test_null_handling(void)
{
    rha_spool_dirty *d = NULL;
    rha_spool_dirty_target t = {.struct_size = sizeof(rha_spool_dirty_target)};
    rha_spool *s;

    CHECK_FAILS(rha_spool_dirty_new(NULL, &d, &E), RHA_NULL_PARAMETER, "spool");
    CHECK(d == NULL);
    CHECK_FAILS(rha_spool_dirty_get(NULL, 0, &t, &E), RHA_NULL_PARAMETER, "dirty");
    CHECK(rha_spool_dirty_granularity(NULL) == 0);
    CHECK(rha_spool_dirty_target_count(NULL) == 0);
    CHECK(rha_spool_dirty_range_count(NULL) == 0);
    rha_spool_dirty_free(NULL);

    make_dir();
    s = open_degrading();
    CHECK_FAILS(rha_spool_dirty_new(s, NULL, &E), RHA_NULL_PARAMETER, "dirty_out");
    CHECK_OK(rha_spool_dirty_new(s, &d, &E));
    CHECK_FAILS(rha_spool_dirty_get(d, 0, NULL, &E), RHA_NULL_PARAMETER, "target_out");
    rha_spool_dirty_free(d);
    rha_spool_free(s);
    remove_dir();
}

int main(void)
{
    static const struct test_case cases[] = {
        {"spool dirty: exact ranges after a degrading overflow",
         test_exact_ranges_after_a_degrading_overflow},
        {"spool dirty: none without an overflow", test_an_undegraded_spool_has_no_dirty_regions},
        {"spool dirty: NULL handling", test_null_handling},
    };
    return run_cases(cases, sizeof cases / sizeof cases[0]) == 0 ? 0 : 1;
}
