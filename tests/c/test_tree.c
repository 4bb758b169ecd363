/*
 * C tests of the tree signature API in include/rha.h: scan a generated
 * directory into a signature file and through a streaming job, read it back
 * one byte at a time, compare two trees into a plan, and check that damage,
 * truncation, bad patterns and NULLs are clear errors. Run by
 * tests/c/run.sh (shared, static, ASan+UBSan, valgrind).
 *
 * Usage: test_tree [DATA_DIR]   (DATA_DIR: tests/data, for golden files)
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "journal_util.h"
#include "rha.h"

static const char *data_dir;
static char root[256];

static void path_of(char *out, const char *rel)
{
    sprintf(out, "%.200s/%.50s", root, rel);
}

static void put(const char *rel, const char *content)
{
    char p[300];
    FILE *f;
    path_of(p, rel);
    f = fopen(p, "wb");
    CHECK(f != NULL);
    if (f != NULL) {
        fputs(content, f);
        fclose(f);
    }
}

static void make(const char *rel)
{
    char p[300];
    path_of(p, rel);
    CHECK(mkdir(p, 0755) == 0);
}

static int remove_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static void setup(void)
{
    char p[300], q[300];
    strcpy(root, "/tmp/rha-test-tree-XXXXXX");
    CHECK(mkdtemp(root) != NULL);
    make("m");
    make("m/d");
    put("m/d/f", "hello");
    put("m/top", "12345678");
    path_of(p, "m/d/f");
    path_of(q, "m/d/h");
    CHECK(link(p, q) == 0);
    path_of(p, "m/l");
    CHECK(symlink("d/f", p) == 0);
    make("r");
    make("r/d");
    put("r/d/f", "hello, longer");
    put("r/old", "x");
}

static void teardown(void)
{
    nftw(root, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int read_path(const char *path, struct buf *out)
{
    uint8_t chunk[4096];
    size_t n;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        check_fail(__FILE__, __LINE__, "cannot open %s", path);
        return 0;
    }
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        buf_append(out, chunk, n);
    }
    fclose(f);
    return 1;
}

static int eq(rha_bytes b, const char *s)
{
    return b.len == strlen(s) && (b.len == 0 || memcmp(b.ptr, s, b.len) == 0);
}

/* Scans the tree under rel into a buffer through a scan job, 7 bytes at a time. */
static void scan_job(const char *rel, struct buf *out, uint64_t entries)
{
    char p[300];
    rha_tree_scan_job *job = NULL;
    uint8_t room[7];
    rha_result rc = RHA_BLOCKED;
    path_of(p, rel);
    CHECK_OK(rha_tree_scan_job_new(p, 0, &job, &E));
    while (rc == RHA_BLOCKED) {
        rha_out_buffer o = {room, sizeof room, 0};
        rha_error *err = NULL;
        rc = rha_tree_scan_job_read(job, &o, &err);
        /* Output full with more to come is RHA_BLOCKED, as for every job. */
        CHECK(rc == RHA_BLOCKED || rc == RHA_DONE);
        CHECK(rc == RHA_DONE || o.pos == o.size);
        if (err != NULL) {
            check_fail(__FILE__, __LINE__, "%s", rha_error_message(err));
        }
        rha_error_free(err);
        buf_append(out, room, o.pos);
    }
    {
        rha_tree_scan_stats stats = {.struct_size = sizeof(rha_tree_scan_stats)};
        CHECK_OK(rha_tree_scan_job_get_stats(job, &stats, &E));
        CHECK(stats.struct_size == sizeof stats && stats.entries == entries);
    }
    rha_tree_scan_job_free(job);
}

/* Reads a signature one byte at a time; returns the entry count, or -1 on error. */
static long read_sig(const struct buf *sig, char paths[][32], size_t max, rha_result *rc_out,
                     uint64_t *offset)
{
    rha_tree_reader *r = rha_tree_reader_new();
    rha_tree_entry e = {.struct_size = sizeof(rha_tree_entry)};
    size_t fed = 0, n = 0;
    rha_result rc = RHA_BLOCKED;
    uint64_t count = 0;
    rha_error *err = NULL;
    while (rc == RHA_BLOCKED || rc == RHA_OK) {
        rha_in_buffer in = {sig->p + fed, fed < sig->len ? fed + 1 : fed, fed};
        in.src = sig->p;
        rc = rha_tree_reader_next(r, &in, &e, &err);
        fed = in.pos;
        if (rc == RHA_OK && n < max) {
            sprintf(paths[n], "%.*s", (int)(e.path.len < 30 ? e.path.len : 30), (const char *)e.path.ptr);
            n++;
        } else if (rc == RHA_BLOCKED && fed >= sig->len) {
            break;
        }
    }
    if (rc == RHA_DONE || rc == RHA_BLOCKED) {
        rc = rha_tree_reader_finish(r, &count, &err);
        CHECK(rc != RHA_OK || count == n);
    }
    *rc_out = rc;
    if (err != NULL && offset != NULL) {
        CHECK(rha_error_offset(err, offset));
    }
    rha_error_free(err);
    rha_tree_reader_free(r);
    return rc == RHA_OK ? (long)n : -1;
}

static void test_scan_file_and_read_back(void)
{
    char p[300], s[300];
    rha_tree_scan_stats stats = {.struct_size = sizeof(rha_tree_scan_stats)};
    struct buf sig = {NULL, 0}, streamed = {NULL, 0};
    char paths[8][32];
    rha_result rc;
    setup();
    path_of(p, "m");
    path_of(s, "m.rhatree");
    CHECK_OK(rha_tree_scan_file(p, s, 0, &stats, &E));
    CHECK(stats.entries == 5 && stats.files == 3 && stats.bytes == 5 + 5 + 8);
    if (read_path(s, &sig)) {
        CHECK(read_sig(&sig, paths, 8, &rc, NULL) == 5);
        CHECK(strcmp(paths[0], "d") == 0 && strcmp(paths[1], "d/f") == 0 &&
              strcmp(paths[2], "d/h") == 0 && strcmp(paths[3], "l") == 0 &&
              strcmp(paths[4], "top") == 0);
        /* The streamed scan produces the same bytes. */
        scan_job("m", &streamed, 5);
        CHECK(streamed.len == sig.len && memcmp(streamed.p, sig.p, sig.len) == 0);
    }
    buf_free(&sig);
    buf_free(&streamed);
    teardown();
}

static void test_entry_fields(void)
{
    struct buf sig = {NULL, 0};
    rha_tree_reader *r = rha_tree_reader_new();
    rha_tree_entry e = {.struct_size = sizeof(rha_tree_entry)};
    rha_in_buffer in;
    int seen = 0;
    setup();
    scan_job("m", &sig, 5);
    in.src = sig.p;
    in.size = sig.len;
    in.pos = 0;
    while (1) {
        rha_error *err = NULL;
        rha_result rc = rha_tree_reader_next(r, &in, &e, &err);
        rha_error_free(err);
        if (rc != RHA_OK) {
            CHECK(rc == RHA_DONE);
            break;
        }
        if (eq(e.path, "d")) {
            CHECK(e.kind == RHA_TREE_DIR && e.size == 0 && (e.mode & 0777) == 0755);
            seen++;
        } else if (eq(e.path, "d/f") || eq(e.path, "d/h")) {
            CHECK(e.kind == RHA_TREE_FILE && e.size == 5 && e.has_link == 1 && e.link_ino != 0);
            seen++;
        } else if (eq(e.path, "l")) {
            CHECK(e.kind == RHA_TREE_SYMLINK && eq(e.target, "d/f"));
            seen++;
        } else if (eq(e.path, "top")) {
            CHECK(e.kind == RHA_TREE_FILE && e.size == 8 && e.has_link == 0 && e.sparse == 0);
            CHECK(e.mtime_ns > 1000000000LL * 1000000000LL);
            seen++;
        }
    }
    CHECK(seen == 5);
    CHECK(in.pos == sig.len);
    rha_tree_reader_free(r);
    buf_free(&sig);
    teardown();
}

static const char *const expected_plan[] = {
    "update d/f", "link d/h", "attrs d", "symlink l", "delete old", "create top",
};

static void check_plan(rha_plan *plan, const char *const *want, size_t n_want)
{
    static const char *const names[] = {"?",       "delete",  "mkdir", "create", "update",
                                        "check",   "symlink", "link",  "special", "attrs"};
    rha_plan_op op = {.struct_size = sizeof(rha_plan_op)};
    size_t n = 0;
    char line[128];
    rha_result rc;
    while ((rc = rha_plan_next(plan, &op, NULL)) == RHA_OK) {
        sprintf(line, "%s %.*s", op.op < 10 ? names[op.op] : "?", (int)op.entry.path.len,
                (const char *)op.entry.path.ptr);
        if (n < n_want && strcmp(line, want[n]) != 0) {
            check_fail(__FILE__, __LINE__, "step %u is \"%s\", expected \"%s\"", (unsigned)n,
                       line, want[n]);
        }
        if (op.op == RHA_PLAN_LINK) {
            CHECK(eq(op.link_target, "d/f"));
        }
        if (op.op == RHA_PLAN_SET_ATTRS) {
            CHECK((op.changes & RHA_PLAN_CHANGE_MTIME) != 0);
        }
        if (op.op == RHA_PLAN_DELETE) {
            CHECK(op.entry.kind == RHA_TREE_FILE);
        }
        n++;
    }
    CHECK(rc == RHA_DONE);
    CHECK(n == n_want);
    CHECK(rha_plan_next(plan, &op, NULL) == RHA_DONE);
}

static void test_compare_files(void)
{
    char m[300], r[300], ms[300], rs[300];
    rha_plan *plan = NULL;
    rha_compare_options *o = rha_compare_options_new();
    setup();
    path_of(m, "m");
    path_of(r, "r");
    path_of(ms, "m.rhatree");
    path_of(rs, "r.rhatree");
    CHECK_OK(rha_tree_scan_file(m, ms, RHA_TREE_SCAN_ONE_FILE_SYSTEM, NULL, &E));
    CHECK_OK(rha_tree_scan_file(r, rs, 0, NULL, &E));
    CHECK_OK(rha_compare_options_set_owners(o, false, &E));
    CHECK_OK(rha_plan_new_files(o, ms, rs, &plan, &E));
    rha_compare_options_free(o);
    if (plan != NULL) {
        check_plan(plan, expected_plan, sizeof expected_plan / sizeof expected_plan[0]);
    }
    rha_plan_free(plan);
    CHECK_FAILS(rha_plan_new_files(NULL, ms, "/no/such/file.rhatree", &plan, &E), RHA_IO,
                "/no/such/file.rhatree");
    teardown();
}

static void test_compare_buffers_with_exclusions(void)
{
    struct buf ms = {NULL, 0}, rs = {NULL, 0};
    rha_plan *plan = NULL;
    rha_compare_options *o = rha_compare_options_new();
    static const char *const want[] = {"update d/f", "link d/h", "attrs d", "create top"};
    setup();
    scan_job("m", &ms, 5);
    scan_job("r", &rs, 3);
    CHECK_OK(rha_compare_options_set_owners(o, false, &E));
    CHECK_OK(rha_compare_options_add_exclude(o, "l", &E));
    CHECK_OK(rha_compare_options_add_exclude(o, "/old", &E));
    CHECK_FAILS(rha_compare_options_add_exclude(o, "[oops", &E), RHA_TREE_BAD_GLOB, "not closed");
    CHECK_OK(rha_plan_new_buffers(o, ms.p, ms.len, rs.p, rs.len, &plan, &E));
    rha_compare_options_free(o);
    /* The plan copied the buffers. */
    memset(ms.p, 0, ms.len);
    if (plan != NULL) {
        check_plan(plan, want, sizeof want / sizeof want[0]);
    }
    rha_plan_free(plan);
    buf_free(&ms);
    buf_free(&rs);
    teardown();
}

/* A replica's state directory .rha (lock, rewind log) is left out of a scan
 * of its root unless asked for, so a plan from a master never deletes it. */
static void test_state_dir_is_left_out(void)
{
    struct buf ms = {NULL, 0}, rs = {NULL, 0};
    char r[300], rs_path[300];
    rha_plan *plan = NULL;
    rha_tree_scan_stats stats = {.struct_size = sizeof(rha_tree_scan_stats)};
    rha_compare_options *o = rha_compare_options_new();
    setup();
    make("r/.rha");
    put("r/.rha/lock", "");
    make("r/.rha/rewind");
    put("r/.rha/rewind/log", "undo");
    scan_job("m", &ms, 5);
    scan_job("r", &rs, 3); /* d, d/f, old: no .rha */
    CHECK_OK(rha_compare_options_set_owners(o, false, &E));
    CHECK_OK(rha_plan_new_buffers(o, ms.p, ms.len, rs.p, rs.len, &plan, &E));
    if (plan != NULL) {
        /* The master has no .rha, yet nothing deletes the replica's. */
        check_plan(plan, expected_plan, sizeof expected_plan / sizeof expected_plan[0]);
    }
    rha_plan_free(plan);
    rha_compare_options_free(o);

    path_of(r, "r");
    path_of(rs_path, "r-all.rhatree");
    CHECK_OK(rha_tree_scan_file(r, rs_path, RHA_TREE_SCAN_INCLUDE_STATE_DIR, &stats, &E));
    CHECK(stats.entries == 3 + 4);
    CHECK_OK(rha_tree_scan_file(r, rs_path, 0, &stats, &E));
    CHECK(stats.entries == 3);
    CHECK_FAILS(rha_tree_scan_file(r, rs_path, 4, &stats, &E), RHA_INVALID_ARGUMENT, "0x4");
    buf_free(&ms);
    buf_free(&rs);
    teardown();
}

static void test_damage_is_an_error_with_an_offset(void)
{
    struct buf sig = {NULL, 0};
    char paths[8][32];
    rha_result rc;
    uint64_t offset = 999;
    size_t i;
    rha_plan *plan = NULL;
    rha_plan_op op = {.struct_size = sizeof(rha_plan_op)};
    setup();
    scan_job("m", &sig, 5);
    /* Every flipped byte is caught. */
    for (i = 0; i < sig.len; i++) {
        sig.p[i] ^= 0x40;
        CHECK(read_sig(&sig, paths, 8, &rc, NULL) == -1);
        CHECK(rc == RHA_TREE_CORRUPT || rc == RHA_TREE_UNSUPPORTED_VERSION);
        sig.p[i] ^= 0x40;
    }
    sig.p[40] ^= 1;
    CHECK(read_sig(&sig, paths, 8, &rc, &offset) == -1);
    CHECK(rc == RHA_TREE_CORRUPT && offset == 16);
    /* A damaged buffer fails when the plan is made, naming the side, with
     * the offset. */
    {
        rha_error *err = NULL;
        offset = 999;
        CHECK(rha_plan_new_buffers(NULL, sig.p, sig.len, sig.p, 0, &plan, &err) == RHA_TREE_CORRUPT);
        CHECK(plan == NULL && err != NULL);
        if (err != NULL) {
            CHECK(strstr(rha_error_message(err), "master signature") != NULL);
            CHECK(rha_error_offset(err, &offset) && offset == 16);
            rha_error_free(err);
        }
    }
    sig.p[40] ^= 1;
    CHECK_FAILS(rha_plan_new_buffers(NULL, sig.p, sig.len, (const uint8_t *)"garbage", 7, &plan, &E),
                RHA_TREE_CORRUPT, "replica signature");
    CHECK(plan == NULL);
    CHECK_OK(rha_plan_new_buffers(NULL, sig.p, sig.len, sig.p, sig.len, &plan, &E));
    CHECK(rha_plan_next(plan, &op, NULL) == RHA_DONE);
    rha_plan_free(plan);
    /* Every cut is caught. */
    for (i = 0; i < sig.len; i++) {
        struct buf cut = {sig.p, i};
        CHECK(read_sig(&cut, paths, 8, &rc, NULL) == -1);
        CHECK(rc == RHA_TREE_CORRUPT);
    }
    buf_free(&sig);
    teardown();
}

/* An I/O error carries the operating system's error number. */
static void test_io_errors_carry_errno(void)
{
    rha_error *err = NULL;
    int32_t code = -1;
    CHECK(rha_tree_scan_file("/", "/nonexistent-rha-dir/x.sig", 0, NULL, &err) == RHA_IO);
    CHECK(err != NULL && rha_error_os_code(err, &code) && code == ENOENT);
    CHECK(strstr(rha_error_message(err), "nonexistent-rha-dir") != NULL);
    rha_error_free(err);
    err = NULL;
    /* Errors of other kinds carry none; NULLs are refused. */
    code = -1;
    CHECK(rha_tree_scan_file("/etc/passwd", "/tmp/x", 0, NULL, &err) == RHA_INVALID_ARGUMENT);
    CHECK(!rha_error_os_code(err, &code) && code == -1);
    CHECK(!rha_error_os_code(err, NULL));
    CHECK(!rha_error_os_code(NULL, &code));
    rha_error_free(err);
}

static void test_null_handling(void)
{
    rha_plan *plan = NULL;
    rha_tree_scan_job *job = NULL;
    rha_plan_op op = {.struct_size = sizeof(rha_plan_op)};
    rha_tree_entry e = {.struct_size = sizeof(rha_tree_entry)};
    uint64_t n;
    CHECK_FAILS(rha_tree_scan_file(NULL, "x", 0, NULL, &E), RHA_NULL_PARAMETER, "dir");
    CHECK_FAILS(rha_tree_scan_file("/", NULL, 0, NULL, &E), RHA_NULL_PARAMETER, "sig_path");
    CHECK_FAILS(rha_tree_scan_file("/etc/passwd", "/tmp/x", 0, NULL, &E), RHA_INVALID_ARGUMENT,
                "not a directory");
    CHECK_FAILS(rha_tree_scan_job_new("/", 99, &job, &E), RHA_INVALID_ARGUMENT, "flags");
    CHECK_FAILS(rha_tree_scan_job_new("/", 0, NULL, &E), RHA_NULL_PARAMETER, "job_out");
    CHECK_FAILS(rha_plan_new_buffers(NULL, NULL, 5, NULL, 0, &plan, &E), RHA_NULL_PARAMETER,
                "master");
    CHECK_FAILS(rha_plan_next(NULL, &op, &E), RHA_NULL_PARAMETER, "plan");
    CHECK_FAILS(rha_tree_reader_next(NULL, NULL, &e, &E), RHA_NULL_PARAMETER, "reader");
    CHECK_FAILS(rha_tree_reader_finish(NULL, &n, &E), RHA_NULL_PARAMETER, "reader");
    CHECK_FAILS(rha_compare_options_add_exclude(NULL, "x", &E), RHA_NULL_PARAMETER, "options");
    {
        rha_tree_scan_stats stats = {.struct_size = sizeof(rha_tree_scan_stats)};
        CHECK_FAILS(rha_tree_scan_job_get_stats(NULL, &stats, &E), RHA_NULL_PARAMETER, "job");
    }
    rha_plan_free(NULL);
    rha_tree_scan_job_free(NULL);
    rha_tree_reader_free(NULL);
    rha_compare_options_free(NULL);
    CHECK(strcmp(rha_result_name(RHA_TREE_CORRUPT), "RHA_TREE_CORRUPT") == 0);
    CHECK(RHA_TREE_CORRUPT == 450 && RHA_TREE_UNSUPPORTED_ENTRY == 454);
}

static void test_golden_files(void)
{
    char p[4200];
    struct buf good = {NULL, 0}, bad = {NULL, 0};
    char paths[8][32];
    rha_result rc;
    uint64_t offset = 0;
    if (data_dir == NULL) {
        check_fail(__FILE__, __LINE__, "no data directory given");
        return;
    }
    sprintf(p, "%.4000s/tree-v1.rhatree", data_dir);
    if (read_path(p, &good)) {
        CHECK(read_sig(&good, paths, 8, &rc, NULL) == 8);
        CHECK(strcmp(paths[0], "docs") == 0 && strcmp(paths[7], "z-hard") == 0);
    }
    sprintf(p, "%.4000s/tree-v1-corrupt.rhatree", data_dir);
    if (read_path(p, &bad)) {
        CHECK(read_sig(&bad, paths, 8, &rc, &offset) == -1);
        CHECK(rc == RHA_TREE_CORRUPT && offset == 16);
    }
    buf_free(&good);
    buf_free(&bad);
}

/* An unknown struct_size (7, or sizeof + 8) of a tree entry, a plan step or
 * scan totals is refused with RHA_INVALID_ARGUMENT before anything happens:
 * no signature file is written, no entry or step is consumed. */
static void test_unknown_struct_sizes(void)
{
    static const uint32_t extra[] = {0, 8};
    struct buf ms = {NULL, 0}, rs = {NULL, 0};
    char p[300], s[300];
    rha_tree_scan_stats stats = {.struct_size = sizeof(rha_tree_scan_stats)};
    rha_tree_entry e = {.struct_size = sizeof(rha_tree_entry)};
    rha_plan_op op = {.struct_size = sizeof(rha_plan_op)};
    rha_tree_scan_job *job = NULL;
    rha_tree_reader *r = rha_tree_reader_new();
    rha_compare_options *o = rha_compare_options_new();
    rha_plan *plan = NULL;
    rha_in_buffer in;
    size_t i;
    setup();
    path_of(p, "m");
    path_of(s, "m.rhatree");
    scan_job("m", &ms, 5);
    scan_job("r", &rs, 3);
    CHECK_OK(rha_tree_scan_job_new(p, 0, &job, &E));
    CHECK_OK(rha_plan_new_buffers(o, ms.p, ms.len, rs.p, rs.len, &plan, &E));
    in.src = ms.p;
    in.size = ms.len;
    in.pos = 0;
    for (i = 0; i < 2; i++) {
        uint32_t bad = i == 0 ? 7 : 0;
        stats.struct_size = bad ? bad : (uint32_t)sizeof stats + extra[i];
        CHECK_FAILS(rha_tree_scan_file(p, s, 0, &stats, &E), RHA_INVALID_ARGUMENT,
                    "rha_tree_scan_stats.struct_size");
        CHECK(access(s, F_OK) != 0); /* no signature file made */
        CHECK_FAILS(rha_tree_scan_job_get_stats(job, &stats, &E), RHA_INVALID_ARGUMENT,
                    "rha_tree_scan_stats.struct_size");
        e.struct_size = bad ? bad : (uint32_t)sizeof e + extra[i];
        CHECK_FAILS(rha_tree_reader_next(r, &in, &e, &E), RHA_INVALID_ARGUMENT,
                    "rha_tree_entry.struct_size");
        CHECK(in.pos == 0 && e.path.ptr == NULL); /* no input consumed, entry untouched */
        op.struct_size = bad ? bad : (uint32_t)sizeof op + extra[i];
        CHECK_FAILS(rha_plan_next(plan, &op, &E), RHA_INVALID_ARGUMENT, "rha_plan_op.struct_size");
        CHECK(op.op == 0);
    }
    /* Nothing was taken: the first entry and the first step come next. */
    e.struct_size = sizeof e;
    CHECK_OK(rha_tree_reader_next(r, &in, &e, &E));
    CHECK(e.struct_size == sizeof e && eq(e.path, "d"));
    op.struct_size = sizeof op;
    CHECK_OK(rha_plan_next(plan, &op, &E));
    CHECK(op.struct_size == sizeof op && op.entry.struct_size == sizeof op.entry);
    CHECK(op.op != 0 && op.entry.path.len > 0);
    stats.struct_size = sizeof stats;
    CHECK_OK(rha_tree_scan_file(p, s, 0, &stats, &E));
    CHECK(stats.entries == 5);
    rha_plan_free(plan);
    rha_compare_options_free(o);
    rha_tree_reader_free(r);
    rha_tree_scan_job_free(job);
    buf_free(&ms);
    buf_free(&rs);
    teardown();
}

int main(int argc, char **argv)
{
    static const struct test_case cases[] = {
        {"scan to a file, read back byte by byte", test_scan_file_and_read_back},
        {"entry fields", test_entry_fields},
        {"compare signature files", test_compare_files},
        {"compare buffers with exclusions", test_compare_buffers_with_exclusions},
        {"a replica's .rha is left out of scans and plans", test_state_dir_is_left_out},
        {"damage and truncation are errors with offsets", test_damage_is_an_error_with_an_offset},
        {"NULL handling and _free(NULL)", test_null_handling},
        {"I/O errors carry errno", test_io_errors_carry_errno},
        {"golden files", test_golden_files},
        {"unknown struct sizes", test_unknown_struct_sizes},
    };
    data_dir = argc > 1 ? argv[1] : NULL;
    return run_cases(cases, sizeof cases / sizeof cases[0]) == 0 ? 0 : 1;
}
