/*
 * C tests of the replica / rewind API in include/rha.h: apply journal files
 * to a temporary directory with rewind on, set and list bookmarks and points,
 * rewind by bookmark, sequence number and time (dry run and real), undo a
 * rewind, and the errors (unknown bookmark, no such point, replica busy,
 * a record escaping the root, NULL arguments). Run by tests/c/run.sh
 * (shared, static, ASan+UBSan, valgrind).
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <ftw.h>
#include <sys/stat.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "rha.h"

static char base[64];
static char root[128];
static char journal1[128];
static char journal2[128];

static rha_bytes str(const char *s)
{
    rha_bytes b;
    b.ptr = (const uint8_t *)s;
    b.len = strlen(s);
    return b;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Writes records first..first+n-1 (timestamps first*1e9 ...) to `path`. */
static void write_journal(const char *path, uint64_t first, const rha_record *recs, size_t n)
{
    rha_journal_writer_builder *b = rha_journal_writer_builder_new();
    rha_journal_writer *w = NULL;
    uint8_t buf[1 << 16];
    rha_out_buffer out;
    FILE *f;
    size_t i;
    CHECK_OK(rha_journal_writer_builder_set_first_seq(b, first, &E));
    CHECK_OK(rha_journal_writer_build(b, &w, &E));
    for (i = 0; i < n; i++) {
        uint64_t seq = 0;
        rha_record r = recs[i];
        r.timestamp_ns = (first + i) * 1000000000ull;
        CHECK_OK(rha_journal_writer_append(w, &r, &seq, &E));
    }
    CHECK_OK(rha_journal_writer_flush(w, &E));
    out.dst = buf;
    out.size = sizeof buf;
    out.pos = 0;
    CHECK_OK(rha_journal_writer_drain(w, &out, &E));
    f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f != NULL) {
        CHECK(fwrite(buf, 1, out.pos, f) == out.pos);
        fclose(f);
    }
    rha_journal_writer_free(w);
}

static int file_is(const char *rel, const char *want)
{
    char path[256], got[256];
    size_t n;
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", root, rel);
    f = fopen(path, "rb");
    if (f == NULL) {
        return want == NULL;
    }
    n = fread(got, 1, sizeof got - 1, f);
    fclose(f);
    got[n] = 0;
    return want != NULL && strcmp(got, want) == 0;
}

/* rha_record_init on each of `n` records. */
static void init_records(rha_record *r, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        rha_record_init(&r[i]);
    }
}

static void setup(void)
{
    rha_record r[4];
    init_records(r, sizeof r / sizeof r[0]);
    strcpy(base, "/tmp/rha-c-rewind-XXXXXX");
    CHECK(mkdtemp(base) != NULL);
    snprintf(root, sizeof root, "%s/replica", base);
    snprintf(journal1, sizeof journal1, "%s/one.rhaj", base);
    snprintf(journal2, sizeof journal2, "%s/two.rhaj", base);
    CHECK(mkdir(root, 0755) == 0);

    r[0].op = RHA_OP_CREATE;
    r[0].path = str("a.txt");
    r[0].mode = 0644;
    r[1].op = RHA_OP_WRITE;
    r[1].path = str("a.txt");
    r[1].data = str("first");
    r[2].op = RHA_OP_BOOKMARK;
    r[2].name = str("nightly");
    r[2].app_consistent = 1;
    write_journal(journal1, 1, r, 3);

    init_records(r, sizeof r / sizeof r[0]);
    r[0].op = RHA_OP_WRITE;
    r[0].path = str("a.txt");
    r[0].data = str("SECOND");
    r[1].op = RHA_OP_DELETE;
    r[1].path = str("a.txt");
    write_journal(journal2, 4, r, 2);
}

static void teardown(void)
{
    nftw(base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void test_apply_bookmark_rewind_undo(void)
{
    rha_replica *rep = NULL;
    rha_apply_report report = {.struct_size = sizeof(rha_apply_report)};
    rha_rewind_info info = {.struct_size = sizeof(rha_rewind_info)};
    rha_rewind_point point = {.struct_size = sizeof(rha_rewind_point)};
    rha_bookmark mark = {.struct_size = sizeof(rha_bookmark)};
    rha_rewind_plan plan = {.struct_size = sizeof(rha_rewind_plan)};
    uint64_t top = 0;

    setup();
    CHECK_OK(rha_replica_open_with(root, NULL, RHA_REPLICA_REWIND, &rep, &E));
    if (rep == NULL) {
        teardown();
        return;
    }
    CHECK_OK(rha_replica_apply_journal(rep, journal1, &report, &E));
    CHECK(report.applied == 3 && report.skipped == 0 && report.has_point && report.point == 3);
    CHECK(file_is("a.txt", "first"));
    CHECK_OK(rha_replica_add_bookmark(rep, (const uint8_t *)"before-edit", 11, 3500000000ull, false, &E));
    CHECK_OK(rha_replica_apply_journal(rep, journal2, &report, &E));
    CHECK(report.applied == 2 && report.point == 5);
    CHECK(file_is("a.txt", NULL));
    /* Applying it again skips what the replica has. */
    CHECK_OK(rha_replica_apply_journal(rep, journal2, &report, &E));
    CHECK(report.applied == 0 && report.skipped == 2);

    CHECK_OK(rha_replica_info(rep, &info, &E));
    CHECK(info.rewind == 1 && info.has_point == 1 && info.current == 5);
    CHECK(info.points == 6 && info.bookmarks == 2 && info.rewound == 0);
    CHECK_OK(rha_replica_point(rep, 0, &point, &E));
    CHECK(point.seq == 0 && point.has_time == 0);
    CHECK_OK(rha_replica_point(rep, 5, &point, &E));
    CHECK(point.seq == 5 && point.has_time == 1 && point.timestamp_ns == 5000000000ull);
    CHECK_FAILS(rha_replica_point(rep, 6, &point, &E), RHA_INVALID_ARGUMENT, "out of range");
    CHECK_OK(rha_replica_bookmark(rep, 0, &mark, &E));
    CHECK(strcmp(mark.name, "nightly") == 0 && mark.seq == 3 && mark.app_consistent == 1);
    CHECK_OK(rha_replica_bookmark(rep, 1, &mark, &E));
    CHECK(strcmp(mark.name, "before-edit") == 0 && mark.seq == 3 && mark.app_consistent == 0);

    CHECK_OK(rha_replica_rewind_to(rep, RHA_REWIND_BY_BOOKMARK, 0, (const uint8_t *)"before-edit", 11, 0, true, &plan, &E));
    CHECK(plan.from == 5 && plan.to == 3 && plan.records == 2 && plan.paths == 1);
    CHECK(file_is("a.txt", NULL)); /* dry run: nothing changed */
    CHECK_OK(rha_replica_rewind_to(rep, RHA_REWIND_BY_BOOKMARK, 0, (const uint8_t *)"before-edit", 11, 0, false, &plan, &E));
    CHECK(file_is("a.txt", "first"));
    CHECK_OK(rha_replica_rewind_to(rep, RHA_REWIND_BY_TIME, 0, NULL, 0, 1500000000ull, false, &plan, &E));
    CHECK(plan.to == 1 && file_is("a.txt", ""));
    CHECK_OK(rha_replica_info(rep, &info, &E));
    CHECK(info.current == 1 && info.rewound == 1);
    CHECK_OK(rha_replica_undo_rewind(rep, &top, &E));
    CHECK(top == 5 && file_is("a.txt", NULL));
    CHECK_FAILS(rha_replica_undo_rewind(rep, NULL, &E), RHA_REWIND_NOTHING_TO_UNDO, "nothing to undo");

    CHECK_OK(rha_replica_rewind_to(rep, RHA_REWIND_BY_SEQ, 2, NULL, 0, 0, false, &plan, &E));
    CHECK(file_is("a.txt", "first"));
    CHECK_OK(rha_replica_sync(rep, &E));
    rha_replica_free(rep);
    teardown();
}

static void test_errors(void)
{
    rha_replica *rep = NULL, *second = NULL;
    rha_apply_report report = {.struct_size = sizeof(rha_apply_report)};
    rha_rewind_plan plan = {.struct_size = sizeof(rha_rewind_plan)};
    rha_record r;
    rha_record_init(&r);
    char link[256];

    setup();
    CHECK_OK(rha_replica_open_with(root, NULL, RHA_REPLICA_REWIND, &rep, &E));
    if (rep == NULL) {
        teardown();
        return;
    }
    CHECK_FAILS(rha_replica_rewind_to(rep, RHA_REWIND_BY_SEQ, 0, NULL, 0, 0, false, &plan, &E),
                RHA_REWIND_NO_POINT, "empty");
    /* A struct with a size field must say a size rha knows: a wrong one is
     * refused before anything happens (the journal is not applied). */
    report.struct_size = 3;
    CHECK_FAILS(rha_replica_apply_journal(rep, journal1, &report, &E), RHA_INVALID_ARGUMENT,
                "rha_apply_report.struct_size is 3");
    report.struct_size = sizeof report + 8;
    CHECK_FAILS(rha_replica_apply_journal(rep, journal1, &report, &E), RHA_INVALID_ARGUMENT,
                "sizeof(struct rha_apply_report)");
    CHECK(report.applied == 0);
    report.struct_size = sizeof report;
    plan.struct_size = 0;
    CHECK_FAILS(rha_replica_rewind_to(rep, RHA_REWIND_BY_SEQ, 0, NULL, 0, 0, true, &plan, &E),
                RHA_INVALID_ARGUMENT, "rha_rewind_plan.struct_size is 0");
    plan.struct_size = sizeof plan;
    /* The lock is held by this process (another handle): the message says so. */
    CHECK_FAILS(rha_replica_open_with(root, NULL, RHA_REPLICA_REWIND, &second, &E), RHA_REPLICA_BUSY,
                "busy: another handle in this process holds the lock");
    CHECK(second == NULL);
    CHECK_OK(rha_replica_apply_journal(rep, journal1, &report, &E));
    CHECK_FAILS(rha_replica_rewind_to(rep, RHA_REWIND_BY_BOOKMARK, 0, (const uint8_t *)"nope", 4, 0, false, &plan, &E),
                RHA_REWIND_UNKNOWN_BOOKMARK, "unknown bookmark 'nope'");
    CHECK_FAILS(rha_replica_rewind_to(rep, RHA_REWIND_BY_SEQ, 9, NULL, 0, 0, false, &plan, &E),
                RHA_REWIND_NO_POINT, "after the current point");
    CHECK_FAILS(rha_replica_rewind_to(rep, RHA_REWIND_BY_BOOKMARK, 0, NULL, 0, 0, false, &plan, &E),
                RHA_NULL_PARAMETER, "name");
    /* `by` is a uint32_t: a value outside rha_rewind_by is refused, not undefined. */
    CHECK_FAILS(rha_replica_rewind_to(rep, 7, 0, NULL, 0, 0, false, &plan, &E), RHA_INVALID_ARGUMENT,
                "unknown rha_rewind_by value 7");

    /* A record through a planted symlink is refused; nothing leaves the root. */
    snprintf(link, sizeof link, "%s/out", root);
    CHECK(symlink(base, link) == 0);
    rha_record_init(&r);
    r.seq = 4;
    r.op = RHA_OP_CREATE;
    r.path = str("out/escaped");
    r.mode = 0644;
    CHECK_FAILS(rha_replica_apply(rep, &r, &E), RHA_APPLY_FAILED, "refused");
    snprintf(link, sizeof link, "%s/escaped", base);
    CHECK(access(link, F_OK) != 0);
    r.path = str("new.txt");
    /* An unknown struct_size is refused before the record is applied. */
    r.struct_size = 7;
    CHECK_FAILS(rha_replica_apply(rep, &r, &E), RHA_INVALID_ARGUMENT, "rha_record.struct_size is 7");
    r.struct_size = sizeof r + 8;
    CHECK_FAILS(rha_replica_apply(rep, &r, &E), RHA_INVALID_ARGUMENT, "rha_record.struct_size");
    r.struct_size = sizeof r;
    CHECK_OK(rha_replica_apply(rep, &r, &E));
    CHECK_OK(rha_replica_sync(rep, &E));
    CHECK(file_is("new.txt", ""));
    r.seq = 2;
    CHECK_FAILS(rha_replica_apply(rep, &r, &E), RHA_JOURNAL_SEQUENCE, "not after");
    /* A gap is refused, naming the expected and the received sequence number. */
    r.seq = 20;
    r.path = str("late.txt");
    CHECK_FAILS(rha_replica_apply(rep, &r, &E), RHA_REPLICA_SEQUENCE_GAP,
                "expects record 5 next, the journal continues with record 20");
    snprintf(link, sizeof link, "%s/late.txt", root);
    CHECK(access(link, F_OK) != 0);

    CHECK_FAILS(rha_replica_open_with(NULL, NULL, RHA_REPLICA_REWIND, &second, &E), RHA_NULL_PARAMETER,
                "root");
    CHECK_FAILS(rha_replica_open_with(root, NULL, 4, &second, &E), RHA_INVALID_ARGUMENT,
                "unknown rha_replica_flag bits 0x4");
    CHECK_FAILS(rha_replica_sync(NULL, &E), RHA_NULL_PARAMETER, "replica");
    rha_replica_free(NULL);
    rha_replica_free(rep);

    /* Without rewind, rewinding is refused. */
    CHECK_OK(rha_replica_open_with(root, NULL, 0, &second, &E));
    rha_replica_free(second);
    teardown();
}

/* A missing root is an error naming it, unless RHA_REPLICA_CREATE; the
 * state directory is where the lock and the rewind log live. */
static void test_open_missing_root_and_state_dir(void)
{
    rha_replica *rep = NULL;
    rha_error *err = NULL;
    char missing[300], state[300], lock[340];

    setup();
    snprintf(missing, sizeof missing, "%s/not-yet", base);
    CHECK(rha_replica_open_with(missing, NULL, RHA_REPLICA_REWIND, &rep, &err) == RHA_IO);
    CHECK(rep == NULL && err != NULL);
    if (err != NULL) {
        CHECK(strstr(rha_error_message(err), missing) != NULL);
        CHECK(strstr(rha_error_message(err), "RHA_REPLICA_CREATE") != NULL);
        int32_t os = 0;
        CHECK(rha_error_os_code(err, &os) && os == ENOENT);
        rha_error_free(err);
    }
    CHECK(access(missing, F_OK) != 0);
    CHECK_OK(rha_replica_open_with(missing, NULL, RHA_REPLICA_CREATE | RHA_REPLICA_REWIND, &rep, &E));
    rha_replica_free(rep);
    CHECK(access(missing, F_OK) == 0);

    /* An explicit state directory holds the lock; the root gets no .rha. */
    snprintf(state, sizeof state, "%s/state", base);
    CHECK_OK(rha_replica_open_with(root, state, RHA_REPLICA_REWIND, &rep, &E));
    snprintf(lock, sizeof lock, "%s/lock", state);
    CHECK(access(lock, F_OK) == 0);
    snprintf(lock, sizeof lock, "%s/.rha", root);
    CHECK(access(lock, F_OK) != 0);
    rha_replica_free(rep);
    teardown();
}

static void test_result_names(void)
{
    CHECK(strcmp(rha_result_name(RHA_REWIND_UNKNOWN_BOOKMARK), "RHA_REWIND_UNKNOWN_BOOKMARK") == 0);
    CHECK(strcmp(rha_result_name(RHA_REPLICA_BUSY), "RHA_REPLICA_BUSY") == 0);
    CHECK(strcmp(rha_result_name(RHA_REWIND_INTERRUPTED), "RHA_REWIND_INTERRUPTED") == 0);
    CHECK(RHA_REWIND_UNKNOWN_BOOKMARK / 100 == 6 && RHA_REWIND_INTERRUPTED / 100 == 6);
    CHECK(strcmp(rha_result_name(RHA_REPLICA_SEQUENCE_GAP), "RHA_REPLICA_SEQUENCE_GAP") == 0);
    CHECK(RHA_REPLICA_SEQUENCE_GAP == 609);
}

int main(void)
{
    static const struct test_case cases[] = {
        {"apply, bookmark, list, rewind, undo", test_apply_bookmark_rewind_undo},
        {"errors", test_errors},
        {"open: a missing root, a state directory", test_open_missing_root_and_state_dir},
        {"rewind result names", test_result_names},
    };
    return run_cases(cases, sizeof cases / sizeof cases[0]) == 0 ? 0 : 1;
}
