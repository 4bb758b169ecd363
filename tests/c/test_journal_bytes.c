/*
 * C tests of journal bytes from memory: rha_spool_append_journal (all or
 * nothing; damaged, cut and misnumbered bytes refused with nothing
 * appended) and rha_replica_apply_journal_bytes (applies like a journal
 * file, skips what the replica has, stops at damage). Run by
 * tests/c/run.sh (shared, static, ASan+UBSan, valgrind).
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "journal_util.h"
#include "tempdir_util.h"
#include "rha.h"

static char dir[256];

static rha_spool *open_spool(void)
{
    rha_spool_builder *b = rha_spool_builder_new(dir);
    rha_spool *s = NULL;
    CHECK(b != NULL);
    CHECK_OK(rha_spool_builder_set_min_free_bytes(b, 0, &E));
    CHECK_OK(rha_spool_builder_set_segment_bytes(b, 4096, &E));
    CHECK_OK(rha_spool_build(b, &s, NULL, &E));
    return s;
}

static uint64_t next_seq(const rha_spool *s)
{
    rha_spool_usage u = {.struct_size = sizeof(rha_spool_usage)};
    CHECK_OK(rha_spool_get_usage(s, &u, &E));
    return u.next_seq;
}

static void test_spool_append_journal(void)
{
    rha_record recs[MAX_RECORDS];
    size_t n = sample_records(recs, 1), i;
    struct writer_opts plain = {0, 0, 0, 4096};
    struct writer_opts zstd = {3, 1000, 0, 4096};
    struct buf first = {NULL, 0}, second = {NULL, 0}, bad = {NULL, 0};
    rha_spool *s;
    rha_spool_reader *r = NULL;
    rha_spool_ticket t = {.struct_size = sizeof(rha_spool_ticket)};
    uint64_t count = 0;

    temp_dir_new(dir, sizeof dir, "rha-journal-bytes");
    s = open_spool();
    encode(recs, n, plain, &first);
    CHECK_OK(rha_spool_append_journal(s, first.p, first.len, NULL, &t, &count, &E));
    CHECK(count == n && t.spooled && t.seq == n);
    /* Compressed batches, numbered on from the spool's next record. */
    zstd.first_seq = n + 1;
    encode(recs, n, zstd, &second);
    CHECK_OK(rha_spool_append_journal(s, second.p, second.len, NULL, &t, &count, &E));
    CHECK(count == n && t.seq == 2 * n);
    CHECK_OK(rha_spool_reader_new(s, 1, &r, &E));
    for (i = 0; i < 2 * n; i++) {
        rha_record got;
        rha_record_init(&got);
        CHECK_OK(rha_spool_reader_next(r, &got, &E));
        CHECK(record_equal(&recs[i % n], &got, i + 1));
    }
    rha_spool_reader_free(r);

    /* Damage of every kind: refused, nothing appended. */
    plain.first_seq = 2 * n + 1;
    encode(recs, n, plain, &bad);
    bad.p[bad.len - 5] ^= 0x10;
    CHECK_FAILS(rha_spool_append_journal(s, bad.p, bad.len, NULL, &t, &count, &E),
                RHA_JOURNAL_CORRUPT, "nothing was appended");
    bad.p[bad.len - 5] ^= 0x10;
    CHECK_FAILS(rha_spool_append_journal(s, bad.p, bad.len - 1, NULL, NULL, NULL, &E),
                RHA_JOURNAL_CORRUPT, "inside a frame");
    CHECK(next_seq(s) == 2 * n + 1);
    /* Not the spool's next number: the message names both. */
    CHECK_FAILS(rha_spool_append_journal(s, first.p, first.len, NULL, NULL, NULL, &E),
                RHA_JOURNAL_SEQUENCE, "record seq 1 does not follow");
    CHECK(next_seq(s) == 2 * n + 1);
    /* The good bytes still go in. */
    CHECK_OK(rha_spool_append_journal(s, bad.p, bad.len, NULL, &t, &count, &E));
    CHECK(count == n && t.seq == 3 * n && next_seq(s) == 3 * n + 1);
    /* Nothing at all. */
    CHECK_OK(rha_spool_append_journal(s, NULL, 0, NULL, &t, &count, &E));
    CHECK(count == 0 && !t.spooled);
    CHECK_FAILS(rha_spool_append_journal(s, NULL, 5, NULL, NULL, NULL, &E),
                RHA_NULL_PARAMETER, "bytes");
    CHECK_FAILS(rha_spool_append_journal(NULL, first.p, first.len, NULL, NULL, NULL, &E),
                RHA_NULL_PARAMETER, "spool");

    CHECK_OK(rha_spool_close(s, &E));
    buf_free(&first);
    buf_free(&second);
    buf_free(&bad);
    temp_dir_remove(dir);
}

static int file_is(const char *root, const char *rel, const char *want)
{
    char path[512], got[256];
    size_t n;
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", root, rel);
    f = fopen(path, "rb");
    if (f == NULL) {
        return 0;
    }
    n = fread(got, 1, sizeof got - 1, f);
    fclose(f);
    got[n] = 0;
    return strcmp(got, want) == 0;
}

static void test_replica_apply_journal_bytes(void)
{
    rha_record r[2];
    struct writer_opts o = {0, 0, 0, 4096};
    struct buf one = {NULL, 0}, two = {NULL, 0};
    rha_replica *rep = NULL;
    rha_apply_report report = {.struct_size = sizeof(rha_apply_report)};

    temp_dir_new(dir, sizeof dir, "rha-replica-bytes");
    memset(r, 0, sizeof r);
    rha_record_init(&r[0]);
    rha_record_init(&r[1]);
    r[0].op = RHA_OP_CREATE;
    r[0].path = S("a.txt");
    r[0].mode = 0644;
    r[1].op = RHA_OP_WRITE;
    r[1].path = S("a.txt");
    r[1].data = S("first");
    encode(r, 2, o, &one);
    r[0].op = RHA_OP_WRITE;
    r[0].path = S("a.txt");
    r[0].data = S("SECOND");
    r[1].op = RHA_OP_WRITE;
    r[1].path = S("a.txt");
    r[1].data = S("third!");
    o.first_seq = 3;
    encode(r, 2, o, &two);

    CHECK_OK(rha_replica_open_with(dir, NULL, RHA_REPLICA_REWIND, &rep, &E));
    if (rep == NULL) {
        temp_dir_remove(dir);
        return;
    }
    CHECK_OK(rha_replica_apply_journal_bytes(rep, one.p, one.len, &report, &E));
    CHECK(report.applied == 2 && report.has_point && report.point == 2);
    CHECK(file_is(dir, "a.txt", "first"));
    /* Again: skipped, not applied twice. */
    CHECK_OK(rha_replica_apply_journal_bytes(rep, one.p, one.len, &report, &E));
    CHECK(report.applied == 0 && report.skipped == 2);
    /* Damage in the second record: the first applies, the error says so. */
    two.p[two.len - 3] ^= 0x01;
    CHECK_FAILS(rha_replica_apply_journal_bytes(rep, two.p, two.len, &report, &E),
                RHA_JOURNAL_CORRUPT, "(journal bytes)");
    CHECK(file_is(dir, "a.txt", "SECOND"));
    two.p[two.len - 3] ^= 0x01;
    CHECK_OK(rha_replica_apply_journal_bytes(rep, two.p, two.len, &report, &E));
    CHECK(report.applied == 1 && report.skipped == 1 && report.point == 4);
    CHECK(file_is(dir, "a.txt", "third!"));
    CHECK_FAILS(rha_replica_apply_journal_bytes(rep, NULL, 3, &report, &E),
                RHA_NULL_PARAMETER, "bytes");
    rha_replica_free(rep);
    buf_free(&one);
    buf_free(&two);
    temp_dir_remove(dir);
}

int main(void)
{
    static const struct test_case cases[] = {
        {"journal bytes: spool append, all or nothing", test_spool_append_journal},
        {"journal bytes: replica apply from memory", test_replica_apply_journal_bytes},
    };
    return run_cases(cases, sizeof cases / sizeof cases[0]) == 0 ? 0 : 1;
}
