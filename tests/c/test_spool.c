/*
 * C tests of the spool API in include/rha.h: append, read back through
 * borrowed views, acknowledge, reopen; two threads appending at once; the
 * full spool with both overflow policies; corruption and salvage; the
 * directory lock; NULL handling. Run by tests/c/run.sh (shared, static,
 * ASan+UBSan, valgrind).
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
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

static void make_dir(void) { temp_dir_new(dir, sizeof dir, "rha-spool-test"); }

static void remove_dir(void) { temp_dir_remove(dir); }

/* A builder for `dir` with no free-space minimum and small segments. */
static rha_spool_builder *builder(uint64_t segment_bytes)
{
    rha_spool_builder *b = rha_spool_builder_new(dir);
    CHECK(b != NULL);
    CHECK_OK(rha_spool_builder_set_min_free_bytes(b, 0, &E));
    CHECK_OK(rha_spool_builder_set_segment_bytes(b, segment_bytes, &E));
    return b;
}

static rha_spool *open_spool(rha_spool_builder *b, rha_spool_recovery *rec)
{
    rha_spool *s = NULL;
    CHECK_OK(rha_spool_build(b, &s, rec, &E));
    return s;
}

/* A WRITE record of `len` bytes, each `fill`, at offset `off` of "f". */
static rha_record write_record(uint8_t *buf, size_t len, uint8_t fill, uint64_t off)
{
    rha_record r;
    rha_record_init(&r);
    memset(buf, fill, len);
    r.op = RHA_OP_WRITE;
    r.path.ptr = (const uint8_t *)"f";
    r.path.len = 1;
    r.data.ptr = buf;
    r.data.len = len;
    r.offset = off;
    return r;
}

/* ---- test cases --------------------------------------------------------- */

static void test_append_read_ack_reopen(void)
{
    uint8_t buf[100];
    rha_spool_recovery rec = {.struct_size = sizeof(rha_spool_recovery)};
    rha_spool *s;
    rha_spool_reader *r = NULL;
    rha_record got;
    rha_record_init(&got);
    rha_spool_usage u = {.struct_size = sizeof(rha_spool_usage)};
    uint64_t i;
    rha_result rc;

    make_dir();
    s = open_spool(builder(2048), &rec);
    CHECK(rec.created && rec.next_seq == 1 && rec.resume_seq == 1);
    for (i = 0; i < 100; i++) {
        rha_record w = write_record(buf, sizeof buf, (uint8_t)i, i * 100);
        rha_spool_ticket t = {.struct_size = sizeof(rha_spool_ticket)};
        CHECK_OK(rha_spool_append(s, &w, NULL, &t, &E));
        CHECK(t.spooled && t.seq == i + 1);
    }
    CHECK_OK(rha_spool_reader_new(s, 1, &r, &E));
    for (i = 0; i < 100; i++) {
        CHECK_OK(rha_spool_reader_next(r, &got, &E));
        CHECK(got.seq == i + 1 && got.op == RHA_OP_WRITE && got.offset == i * 100);
        CHECK(got.data.len == 100 && got.data.ptr[0] == (uint8_t)i && got.data.ptr[99] == (uint8_t)i);
        CHECK(got.path.len == 1 && got.path.ptr[0] == 'f');
    }
    rc = rha_spool_reader_next(r, &got, NULL);
    CHECK(rc == RHA_BLOCKED);
    CHECK(rha_spool_reader_position(r) == 101);
    CHECK_FAILS(rha_spool_ack(s, 101, &E), RHA_SPOOL_NOT_DURABLE, "101");
    CHECK_OK(rha_spool_ack(s, 60, &E));
    CHECK_OK(rha_spool_get_usage(s, &u, &E));
    CHECK(u.resume_seq == 61 && u.next_seq == 101 && u.durable_next_seq == 101);
    CHECK(u.oldest_seq > 1 && u.oldest_seq <= 61 && u.mode == RHA_SPOOL_MODE_NORMAL);
    CHECK(u.max_bytes == 0 && !u.failed);
    CHECK_OK(rha_spool_close(s, &E));
    /* The reader outlives the spool handle. */
    rc = rha_spool_reader_next(r, &got, NULL);
    CHECK(rc == RHA_BLOCKED);
    rha_spool_reader_free(r);

    s = open_spool(builder(2048), &rec);
    CHECK(!rec.created && rec.resume_seq == 61 && rec.next_seq == 101 && !rec.torn);
    CHECK_FAILS(rha_spool_reader_new(s, 1, &r, &E), RHA_SPOOL_RECLAIMED, "no longer");
    CHECK_FAILS(rha_spool_reader_new(s, 500, &r, &E), RHA_INVALID_ARGUMENT, "beyond");
    CHECK_OK(rha_spool_reader_new(s, 61, &r, &E));
    CHECK_OK(rha_spool_reader_next(r, &got, &E));
    CHECK(got.seq == 61 && got.data.ptr[0] == 60);
    rha_spool_reader_free(r);
    rha_spool_free(s);
    remove_dir();
}

struct producer {
    rha_spool *spool;
    uint8_t id;
    int failures;
};

enum { PER_THREAD = 300 };

static void *produce(void *arg)
{
    struct producer *p = arg;
    uint8_t buf[64];
    uint64_t i;
    for (i = 0; i < PER_THREAD; i++) {
        rha_record w = write_record(buf, sizeof buf, p->id, i);
        rha_spool_ticket t = {.struct_size = sizeof(rha_spool_ticket)};
        if (rha_spool_append(p->spool, &w, NULL, &t, NULL) != RHA_OK || !t.spooled) {
            p->failures++;
        }
    }
    return NULL;
}

static void test_two_threads_append(void)
{
    rha_spool *s;
    pthread_t threads[2];
    struct producer p[2];
    rha_spool_reader *r = NULL;
    rha_record got;
    rha_record_init(&got);
    uint64_t next_offset[2] = {0, 0};
    uint64_t n = 0;
    int i;

    make_dir();
    s = open_spool(builder(8192), NULL);
    for (i = 0; i < 2; i++) {
        p[i].spool = s;
        p[i].id = (uint8_t)i;
        p[i].failures = 0;
        CHECK(pthread_create(&threads[i], NULL, produce, &p[i]) == 0);
    }
    for (i = 0; i < 2; i++) {
        CHECK(pthread_join(threads[i], NULL) == 0);
        CHECK(p[i].failures == 0);
    }
    CHECK_OK(rha_spool_reader_new(s, 1, &r, &E));
    while (rha_spool_reader_next(r, &got, NULL) == RHA_OK) {
        uint8_t id = got.data.ptr[0];
        n++;
        CHECK(got.seq == n);
        CHECK(id < 2);
        if (id < 2) {
            /* Each thread's records appear in the order it appended them. */
            CHECK(got.offset == next_offset[id]);
            next_offset[id] = got.offset + 1;
        }
    }
    CHECK(n == 2 * PER_THREAD);
    CHECK(next_offset[0] == PER_THREAD && next_offset[1] == PER_THREAD);
    rha_spool_reader_free(r);
    CHECK_OK(rha_spool_close(s, &E));
    remove_dir();
}

static void test_full_spool_stop_policy(void)
{
    uint8_t buf[200];
    rha_spool_builder *b;
    rha_spool *s;
    rha_spool_append_options o;
    rha_spool_append_options_init(&o);
    rha_spool_usage u = {.struct_size = sizeof(rha_spool_usage)};
    rha_spool_event ev = {.struct_size = sizeof(rha_spool_event)};
    rha_spool_ticket t = {.struct_size = sizeof(rha_spool_ticket)};
    rha_record w = write_record(buf, sizeof buf, 7, 0);
    rha_result rc = RHA_OK;
    int appended = 0;
    int saw_usage = 0, saw_overflow = 0;

    make_dir();
    b = builder(1024);
    CHECK_OK(rha_spool_builder_set_max_bytes(b, 4096, &E));
    CHECK_OK(rha_spool_builder_set_overflow(b, RHA_SPOOL_POLICY_STOP, &E));
    s = open_spool(b, NULL);
    rha_spool_append_options_init(&o);
    CHECK(o.durable && o.when_full == RHA_SPOOL_WHEN_FULL_OVERFLOW);
    o.when_full = RHA_SPOOL_WHEN_FULL_FAIL;
    while ((rc = rha_spool_append(s, &w, &o, &t, NULL)) == RHA_OK) {
        appended++;
    }
    CHECK(rc == RHA_SPOOL_FULL && appended > 5);
    o.when_full = RHA_SPOOL_WHEN_FULL_BLOCK;
    o.block_ms = 20;
    CHECK_FAILS(rha_spool_append(s, &w, &o, &t, &E), RHA_SPOOL_FULL, "spool full");
    CHECK_FAILS(rha_spool_append(s, &w, NULL, &t, &E), RHA_SPOOL_STOPPED, "resynchronise");
    CHECK_FAILS(rha_spool_append(s, &w, NULL, &t, &E), RHA_SPOOL_STOPPED, NULL);
    CHECK_OK(rha_spool_get_usage(s, &u, &E));
    CHECK(u.mode == RHA_SPOOL_MODE_STOPPED && u.overflow_seq == (uint64_t)appended + 1);
    CHECK(u.used_bytes <= 4096 && u.max_bytes == 4096);
    while (rha_spool_poll_event(s, &ev, NULL) == RHA_OK) {
        saw_usage |= ev.kind == RHA_SPOOL_EVENT_USAGE && ev.percent == 80;
        saw_overflow |= ev.kind == RHA_SPOOL_EVENT_OVERFLOW && ev.overflow_seq == u.overflow_seq;
    }
    CHECK(saw_usage && saw_overflow);
    CHECK(rha_spool_poll_event(s, &ev, NULL) == RHA_DONE);
    CHECK_FAILS(rha_spool_reset(s, 1, &E), RHA_INVALID_ARGUMENT, NULL);
    CHECK_OK(rha_spool_reset(s, u.overflow_seq, &E));
    CHECK_OK(rha_spool_append(s, &w, NULL, &t, &E));
    CHECK(t.spooled && t.seq == u.overflow_seq);
    rha_spool_free(s);
    remove_dir();
}

static void test_full_spool_degrade_policy(void)
{
    uint8_t buf[200];
    rha_spool_builder *b;
    rha_spool *s;
    rha_spool_usage u = {.struct_size = sizeof(rha_spool_usage)};
    rha_spool_ticket t = {.struct_size = sizeof(rha_spool_ticket)};
    int i, tracked = 0;

    make_dir();
    b = builder(1024);
    CHECK_OK(rha_spool_builder_set_max_bytes(b, 4096, &E));
    CHECK_OK(rha_spool_builder_set_overflow(b, RHA_SPOOL_POLICY_DEGRADE, &E));
    s = open_spool(b, NULL);
    for (i = 0; i < 40; i++) {
        rha_record w = write_record(buf, sizeof buf, 1, (uint64_t)i * 65536);
        CHECK_OK(rha_spool_append(s, &w, NULL, &t, &E));
        tracked += !t.spooled;
    }
    CHECK(tracked > 10);
    CHECK_OK(rha_spool_get_usage(s, &u, &E));
    CHECK(u.mode == RHA_SPOOL_MODE_DEGRADED && u.dirty_ranges == (uint64_t)tracked);
    rha_spool_free(s);
    /* Durable across reopening. */
    s = open_spool(builder(1024), NULL);
    CHECK_OK(rha_spool_get_usage(s, &u, &E));
    CHECK(u.mode == RHA_SPOOL_MODE_DEGRADED && u.dirty_ranges == (uint64_t)tracked);
    rha_spool_free(s);
    remove_dir();
}

static void test_corruption_and_salvage(void)
{
    uint8_t buf[50];
    rha_spool *s;
    rha_spool_builder *b;
    rha_spool_recovery rec = {.struct_size = sizeof(rha_spool_recovery)};
    rha_spool_reader *r = NULL;
    rha_record got;
    rha_record_init(&got);
    char path[512];
    FILE *f;
    uint64_t i, n = 0, off = 0, last = 0;
    rha_error *err = NULL;

    make_dir();
    s = open_spool(builder(1 << 20), NULL);
    for (i = 0; i < 10; i++) {
        rha_record w = write_record(buf, sizeof buf, 3, i);
        CHECK_OK(rha_spool_append(s, &w, NULL, NULL, &E));
    }
    CHECK_OK(rha_spool_close(s, &E));
    snprintf(path, sizeof path, "%s/seg-00000000000000000001.rhaj", dir);
    f = fopen(path, "r+b");
    CHECK(f != NULL);
    if (f != NULL) {
        /* Inside the fourth record's body (16-byte header, then frames). */
        CHECK(fseek(f, 16 + 3 * 93 + 40, SEEK_SET) == 0);
        CHECK(fputc(0xEE, f) != EOF);
        fclose(f);
    }
    s = NULL;
    CHECK(rha_spool_build(builder(1 << 20), &s, NULL, &err) == RHA_SPOOL_CORRUPT);
    CHECK(s == NULL && err != NULL);
    if (err != NULL) {
        CHECK(strstr(rha_error_message(err), "seg-00000000000000000001.rhaj") != NULL);
        CHECK(rha_error_offset(err, &off) && off == 16 + 3 * 93);
        CHECK(rha_error_last_seq(err, &last) && last == 3);
        rha_error_free(err);
    }
    b = builder(1 << 20);
    CHECK_OK(rha_spool_builder_set_salvage(b, true, &E));
    s = open_spool(b, &rec);
    CHECK(rec.salvaged && rec.salvage_offset == 16 + 3 * 93 && rec.next_seq == 4);
    CHECK_OK(rha_spool_reader_new(s, 1, &r, &E));
    while (rha_spool_reader_next(r, &got, NULL) == RHA_OK) {
        n++;
    }
    CHECK(n == 3);
    rha_spool_reader_free(r);
    rha_spool_free(s);
    remove_dir();
}

static void test_directory_lock(void)
{
    rha_spool *a, *b = NULL;
    make_dir();
    a = open_spool(builder(4096), NULL);
    CHECK_FAILS(rha_spool_build(builder(4096), &b, NULL, &E), RHA_SPOOL_LOCKED, "in use");
    CHECK(b == NULL);
    rha_spool_free(a);
    b = open_spool(builder(4096), NULL);
    rha_spool_free(b);
    remove_dir();
}

static void test_null_handling(void)
{
    rha_spool *s = NULL;
    rha_spool_usage u = {.struct_size = sizeof(rha_spool_usage)};
    rha_record rec;
    rha_record_init(&rec);
    rha_spool_builder *b;
    CHECK(rha_spool_builder_new(NULL) == NULL);
    CHECK_FAILS(rha_spool_build(NULL, &s, NULL, &E), RHA_NULL_PARAMETER, "builder");
    b = rha_spool_builder_new("/nonexistent");
    CHECK_FAILS(rha_spool_build(b, NULL, NULL, &E), RHA_NULL_PARAMETER, "spool_out");
    b = rha_spool_builder_new("/nonexistent");
    CHECK_FAILS(rha_spool_builder_set_segment_bytes(b, 0, &E), RHA_INVALID_ARGUMENT, NULL);
    CHECK_FAILS(rha_spool_builder_set_overflow(b, 9, &E), RHA_INVALID_ARGUMENT, "policy");
    rha_spool_builder_free(b);
    rha_record_init(&rec);
    CHECK_FAILS(rha_spool_append(NULL, &rec, NULL, NULL, &E), RHA_NULL_PARAMETER, "spool");
    CHECK_FAILS(rha_spool_ack(NULL, 1, &E), RHA_NULL_PARAMETER, NULL);
    CHECK_FAILS(rha_spool_get_usage(NULL, &u, &E), RHA_NULL_PARAMETER, NULL);
    CHECK_FAILS(rha_spool_reader_next(NULL, &rec, &E), RHA_NULL_PARAMETER, NULL);
    CHECK(rha_spool_reader_position(NULL) == 0);
    CHECK_OK(rha_spool_close(NULL, &E));
    rha_spool_free(NULL);
    rha_spool_reader_free(NULL);
    rha_spool_builder_free(NULL);
    rha_spool_append_options_init(NULL);
}

/* Every sized struct of the append path: an unknown struct_size (7, or
 * sizeof + 8) is refused with RHA_INVALID_ARGUMENT before anything happens,
 * so the spool stays as it was. */
static void test_unknown_struct_sizes(void)
{
    static const uint32_t bad[] = {7, (uint32_t)sizeof(rha_record) + 8};
    uint8_t buf[16];
    rha_spool *s;
    rha_spool_reader *r = NULL;
    rha_spool_usage u = {.struct_size = sizeof(rha_spool_usage)};
    rha_spool_ticket t = {.struct_size = sizeof(rha_spool_ticket)};
    rha_spool_append_options o;
    rha_record got;
    rha_record w;
    size_t i;

    make_dir();
    s = open_spool(builder(4096), NULL);
    rha_spool_append_options_init(&o);
    CHECK(o.struct_size == sizeof(rha_spool_append_options));
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        w = write_record(buf, sizeof buf, 1, 0);
        CHECK(w.struct_size == sizeof(rha_record));
        w.struct_size = bad[i];
        CHECK_FAILS(rha_spool_append(s, &w, NULL, &t, &E), RHA_INVALID_ARGUMENT,
                    "rha_record.struct_size");
        w.struct_size = sizeof w;
        o.struct_size = i == 0 ? 7 : (uint32_t)sizeof o + 8;
        CHECK_FAILS(rha_spool_append(s, &w, &o, &t, &E), RHA_INVALID_ARGUMENT,
                    "rha_spool_append_options.struct_size");
        o.struct_size = sizeof o;
        t.struct_size = i == 0 ? 7 : (uint32_t)sizeof t + 8;
        CHECK_FAILS(rha_spool_append(s, &w, &o, &t, &E), RHA_INVALID_ARGUMENT,
                    "rha_spool_ticket.struct_size");
        CHECK_FAILS(rha_spool_wait(s, &t, &E), RHA_INVALID_ARGUMENT,
                    "rha_spool_ticket.struct_size");
        t.struct_size = sizeof t;
    }
    CHECK_OK(rha_spool_get_usage(s, &u, &E));
    CHECK(u.next_seq == 1); /* nothing was appended */

    CHECK_OK(rha_spool_append(s, &w, &o, &t, &E));
    CHECK(t.struct_size == sizeof t && t.spooled && t.seq == 1);
    CHECK_OK(rha_spool_wait(s, &t, &E));
    CHECK_OK(rha_spool_reader_new(s, 1, &r, &E));
    rha_record_init(&got);
    got.struct_size = 7;
    CHECK_FAILS(rha_spool_reader_next(r, &got, &E), RHA_INVALID_ARGUMENT, "rha_record.struct_size");
    CHECK(got.struct_size == 7 && got.seq == 0); /* untouched, and the record not consumed */
    got.struct_size = sizeof got;
    CHECK_OK(rha_spool_reader_next(r, &got, &E));
    CHECK(got.seq == 1 && got.struct_size == sizeof got);
    rha_spool_reader_free(r);
    rha_spool_free(s);
    remove_dir();
}

int main(void)
{
    static const struct test_case cases[] = {
        {"spool: append, read, ack, reopen", test_append_read_ack_reopen},
        {"spool: two threads appending", test_two_threads_append},
        {"spool: full, stop policy", test_full_spool_stop_policy},
        {"spool: full, degrade policy", test_full_spool_degrade_policy},
        {"spool: corruption and salvage", test_corruption_and_salvage},
        {"spool: directory lock", test_directory_lock},
        {"spool: NULL handling", test_null_handling},
        {"spool: unknown struct sizes", test_unknown_struct_sizes},
    };
    return run_cases(cases, sizeof cases / sizeof cases[0]) == 0 ? 0 : 1;
}
