/*
 * C tests of the one-call file helpers in include/rha.h: rha_signature_file,
 * rha_delta_file and rha_patch_file over temporary files and pipes, their
 * options, and their errors (a closed descriptor, a pipe as a patch's
 * basis, a delta of another basis). Run by tests/c/run.sh (shared, static,
 * ASan+UBSan, valgrind).
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "tempdir_util.h"
#include "rha.h"

/* ---- helpers ------------------------------------------------------------ */

static char dir[256];

/* The path of `name` in the test directory (a static buffer per slot). */
static const char *at(int slot, const char *name)
{
    static char paths[8][512];
    snprintf(paths[slot], sizeof paths[slot], "%s/%s", dir, name);
    return paths[slot];
}

/* Deterministic bytes that do not repeat at block scale. */
static void fill(uint8_t *p, size_t n, uint32_t seed)
{
    uint32_t x = seed | 1u;
    size_t i;
    for (i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (uint8_t)x;
    }
}

static void write_file(const char *path, const uint8_t *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f == NULL) {
        return;
    }
    CHECK(fwrite(p, 1, n, f) == n);
    CHECK(fclose(f) == 0);
}

/* The contents of `path` (malloc'd, NULL if unreadable); length in *n. */
static uint8_t *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    uint8_t *p;
    long len;
    *n = 0;
    if (f == NULL) {
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    fseek(f, 0, SEEK_SET);
    p = malloc(len > 0 ? (size_t)len : 1);
    if (p != NULL && len > 0 && fread(p, 1, (size_t)len, f) != (size_t)len) {
        free(p);
        p = NULL;
    }
    fclose(f);
    *n = (size_t)len;
    return p;
}

static int file_equals(const char *path, const uint8_t *want, size_t n)
{
    size_t got_n;
    uint8_t *got = read_file(path, &got_n);
    int same = got != NULL && got_n == n && (n == 0 || memcmp(got, want, n) == 0);
    free(got);
    return same;
}

/* The errno of an RHA_IO error, -1 if none. */
static int32_t os_code(const rha_error *e)
{
    int32_t code = -1;
    if (e == NULL || !rha_error_os_code(e, &code)) {
        return -1;
    }
    return code;
}

static int rd(const char *path) { return open(path, O_RDONLY); }
static int wr(const char *path) { return open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644); }

#define BASIS_LEN 300000
#define NEW_LEN 305000

static uint8_t basis[BASIS_LEN];
static uint8_t new_file[NEW_LEN];

/* A basis and a new file that shares most of it. */
static void setup(void)
{
    temp_dir_new(dir, sizeof dir, "rha-file-test");
    fill(basis, BASIS_LEN, 1);
    memcpy(new_file, basis, BASIS_LEN);
    fill(new_file + 1000, 100, 2);
    fill(new_file + BASIS_LEN, NEW_LEN - BASIS_LEN, 3);
    write_file(at(0, "basis"), basis, BASIS_LEN);
    write_file(at(1, "new"), new_file, NEW_LEN);
}

static void teardown(void) { temp_dir_remove(dir); }

/* signature(basis) -> sig, delta(sig, new) -> delta, patch -> out. */
static void round_trip(const rha_file_options *o)
{
    int b = rd(at(0, "basis")), s = wr(at(2, "sig"));
    CHECK_OK(rha_signature_file(b, s, o, &E));
    close(b);
    close(s);
    s = rd(at(2, "sig"));
    {
        int n = rd(at(1, "new")), d = wr(at(3, "delta"));
        CHECK_OK(rha_delta_file(s, n, d, o, &E));
        close(n);
        close(d);
    }
    close(s);
    {
        int b2 = rd(at(0, "basis")), d = rd(at(3, "delta")), out = wr(at(4, "out"));
        CHECK_OK(rha_patch_file(b2, d, out, o, &E));
        close(b2);
        close(d);
        close(out);
    }
    CHECK(file_equals(at(4, "out"), new_file, NEW_LEN));
}

/* ---- test cases --------------------------------------------------------- */

static void test_round_trip(void)
{
    rha_file_options o;
    size_t delta_len;
    uint8_t *delta;

    setup();
    round_trip(NULL);
    /* The delta is small: most of the new file is copied from the basis. */
    delta = read_file(at(3, "delta"), &delta_len);
    CHECK(delta != NULL && delta_len < 20000);
    free(delta);

    rha_file_options_init(&o);
    CHECK(o.struct_size == sizeof o && o.block_len == 0 && o.threads == 0);
    CHECK(o.max_output == UINT64_MAX && o.format == RHA_DELTA_FORMAT_RHA);
    o.block_len = 512;
    o.strong_hash = RHA_STRONG_HASH_XXH3;
    o.format = RHA_DELTA_FORMAT_RDIFF;
    o.threads = 2;
    round_trip(&o);
    teardown();
}

/* The descriptors are used from their current positions and not closed. */
static void test_positions_are_respected(void)
{
    int b, s, s2;
    size_t n1, n2;
    uint8_t *sig1, *sig2;

    setup();
    b = rd(at(0, "basis"));
    s = wr(at(2, "sig"));
    CHECK(write(s, "prefix", 6) == 6);
    CHECK_OK(rha_signature_file(b, s, NULL, &E));
    /* Still open: both can be used and closed by the caller. */
    CHECK(lseek(b, 0, SEEK_CUR) == BASIS_LEN);
    CHECK(close(b) == 0 && close(s) == 0);

    s2 = wr(at(5, "sig2"));
    b = rd(at(0, "basis"));
    CHECK_OK(rha_signature_file(b, s2, NULL, &E));
    close(b);
    close(s2);
    sig1 = read_file(at(2, "sig"), &n1);
    sig2 = read_file(at(5, "sig2"), &n2);
    CHECK(sig1 != NULL && sig2 != NULL && n1 == n2 + 6);
    CHECK(sig1 != NULL && sig2 != NULL && memcmp(sig1, "prefix", 6) == 0 &&
          memcmp(sig1 + 6, sig2, n2) == 0);
    free(sig1);
    free(sig2);
    teardown();
}

struct feeder {
    int fd;
    const uint8_t *p;
    size_t n;
};

/* Writes the bytes into the pipe in small pieces, then closes it. */
static void *feed(void *arg)
{
    struct feeder *f = arg;
    size_t done = 0;
    while (done < f->n) {
        size_t chunk = f->n - done < 4096 ? f->n - done : 4096;
        ssize_t w = write(f->fd, f->p + done, chunk);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        done += (size_t)w;
    }
    close(f->fd);
    return NULL;
}

struct drainer {
    int fd;
    uint8_t *got;
    size_t have;
};

/* Reads the pipe to its end (at most NEW_LEN + 1 bytes). */
static void *drain(void *arg)
{
    struct drainer *d = arg;
    while (d->got != NULL && d->have <= NEW_LEN) {
        ssize_t r = read(d->fd, d->got + d->have, NEW_LEN + 1 - d->have);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            break;
        }
        d->have += (size_t)r;
    }
    return NULL;
}

/* The signature of a pipe equals the signature of the file; so do a delta
 * made from a pipe and a patch written into one. */
static void test_pipes(void)
{
    int p[2], s, sf, b;
    pthread_t t;
    struct feeder f;
    rha_file_options o;

    setup();
    rha_file_options_init(&o);
    o.threads = 1;
    CHECK(pipe(p) == 0);
    f.fd = p[1];
    f.p = basis;
    f.n = BASIS_LEN;
    CHECK(pthread_create(&t, NULL, feed, &f) == 0);
    s = wr(at(2, "sig-pipe"));
    CHECK_OK(rha_signature_file(p[0], s, &o, &E));
    CHECK(pthread_join(t, NULL) == 0);
    close(p[0]);
    close(s);
    b = rd(at(0, "basis"));
    sf = wr(at(3, "sig-file"));
    CHECK_OK(rha_signature_file(b, sf, &o, &E));
    close(b);
    close(sf);
    {
        size_t n1, n2;
        uint8_t *a = read_file(at(2, "sig-pipe"), &n1);
        uint8_t *c = read_file(at(3, "sig-file"), &n2);
        CHECK(a != NULL && c != NULL && n1 == n2 && memcmp(a, c, n1) == 0);
        free(a);
        free(c);
    }

    /* delta from a pipe */
    CHECK(pipe(p) == 0);
    f.fd = p[1];
    f.p = new_file;
    f.n = NEW_LEN;
    CHECK(pthread_create(&t, NULL, feed, &f) == 0);
    s = rd(at(3, "sig-file"));
    {
        int d = wr(at(4, "delta"));
        CHECK_OK(rha_delta_file(s, p[0], d, NULL, &E));
        close(d);
    }
    CHECK(pthread_join(t, NULL) == 0);
    close(p[0]);
    close(s);

    /* patch into a pipe, read back by another thread */
    CHECK(pipe(p) == 0);
    {
        int d = rd(at(4, "delta")), bb = rd(at(0, "basis"));
        struct drainer dr;
        dr.fd = p[0];
        dr.have = 0;
        dr.got = malloc(NEW_LEN + 1);
        CHECK(pthread_create(&t, NULL, drain, &dr) == 0);
        CHECK_OK(rha_patch_file(bb, d, p[1], NULL, &E));
        close(p[1]);
        CHECK(pthread_join(t, NULL) == 0);
        CHECK(dr.got != NULL && dr.have == NEW_LEN && memcmp(dr.got, new_file, NEW_LEN) == 0);
        free(dr.got);
        close(p[0]);
        close(d);
        close(bb);
    }
    teardown();
}

static void test_errors(void)
{
    int b, s, closed, p[2];
    rha_file_options o;

    setup();
    round_trip(NULL);
    /* A closed descriptor: RHA_IO with EBADF, naming the argument. */
    closed = rd(at(0, "basis"));
    close(closed);
    s = wr(at(5, "x"));
    {
        rha_error *E = NULL;
        CHECK(rha_signature_file(closed, s, NULL, &E) == RHA_IO);
        CHECK(os_code(E) == EBADF);
        CHECK(E != NULL && strstr(rha_error_message(E), "basis_fd") != NULL);
        rha_error_free(E);
    }
    b = rd(at(0, "basis"));
    /* (Closed after `b` is open, so that `b` cannot take its number.) */
    closed = rd(at(0, "basis"));
    close(closed);
    {
        rha_error *E = NULL;
        CHECK(rha_signature_file(b, closed, NULL, &E) == RHA_IO);
        CHECK(os_code(E) == EBADF);
        CHECK(E != NULL && strstr(rha_error_message(E), "sig_fd") != NULL);
        rha_error_free(E);
    }
    close(b);
    CHECK_FAILS(rha_signature_file(-1, s, NULL, &E), RHA_INVALID_ARGUMENT, "basis_fd");
    close(s);

    /* Bad options. */
    rha_file_options_init(&o);
    o.strong_hash = 7;
    CHECK_FAILS(rha_signature_file(0, 1, &o, &E), RHA_INVALID_ARGUMENT, "strong_hash");
    rha_file_options_init(&o);
    o.format = 9;
    CHECK_FAILS(rha_delta_file(0, 1, 2, &o, &E), RHA_INVALID_ARGUMENT, "format");
    rha_file_options_init(&o);
    o.struct_size = 4;
    CHECK_FAILS(rha_patch_file(0, 1, 2, &o, &E), RHA_INVALID_ARGUMENT, "struct_size");
    rha_file_options_init(&o);
    o.block_len = 3;
    b = rd(at(0, "basis"));
    s = wr(at(5, "x"));
    CHECK_FAILS(rha_signature_file(b, s, &o, &E), RHA_INVALID_ARGUMENT, "block length");
    close(b);
    close(s);

    /* A pipe as a patch's basis. */
    CHECK(pipe(p) == 0);
    {
        int d = rd(at(3, "delta")), out = wr(at(5, "x"));
        CHECK_FAILS(rha_patch_file(p[0], d, out, NULL, &E), RHA_INVALID_ARGUMENT, "basis_fd");
        close(d);
        close(out);
    }
    close(p[0]);
    close(p[1]);

    /* The delta applied to another basis of the same length. */
    {
        uint8_t *other = malloc(BASIS_LEN);
        int d, out;
        if (other != NULL) {
            fill(other, BASIS_LEN, 9);
            write_file(at(6, "other"), other, BASIS_LEN);
            free(other);
        }
        b = rd(at(6, "other"));
        d = rd(at(3, "delta"));
        out = wr(at(5, "x"));
        CHECK_FAILS(rha_patch_file(b, d, out, NULL, &E), RHA_PATCH_HASH_MISMATCH, NULL);
        close(b);
        close(d);
        close(out);
        /* A shorter one: a copy beyond its end. */
        write_file(at(6, "other"), basis, 1000);
        b = rd(at(6, "other"));
        d = rd(at(3, "delta"));
        out = wr(at(5, "x"));
        CHECK_FAILS(rha_patch_file(b, d, out, NULL, &E), RHA_DELTA_OUT_OF_RANGE, NULL);
        close(b);
        close(d);
        close(out);
    }
    /* A cut delta. */
    {
        size_t n;
        uint8_t *delta = read_file(at(3, "delta"), &n);
        int d, out;
        if (delta != NULL && n > 10) {
            write_file(at(6, "cut"), delta, n - 3);
        }
        free(delta);
        b = rd(at(0, "basis"));
        d = rd(at(6, "cut"));
        out = wr(at(5, "x"));
        CHECK_FAILS(rha_patch_file(b, d, out, NULL, &E), RHA_DELTA_CORRUPT, NULL);
        close(b);
        close(d);
        close(out);
    }
    /* Not a signature. */
    {
        int sg, n, d;
        write_file(at(6, "notsig"), (const uint8_t *)"hello", 5);
        sg = rd(at(6, "notsig"));
        n = rd(at(1, "new"));
        d = wr(at(5, "x"));
        CHECK_FAILS(rha_delta_file(sg, n, d, NULL, &E), RHA_SIGNATURE_CORRUPT, NULL);
        close(sg);
        close(n);
        close(d);
    }
    teardown();
}

int main(void)
{
    static const struct test_case cases[] = {
        {"file helpers: signature, delta, patch round trip", test_round_trip},
        {"file helpers: current positions, descriptors left open", test_positions_are_respected},
        {"file helpers: pipes", test_pipes},
        {"file helpers: errors", test_errors},
    };
    return run_cases(cases, sizeof cases / sizeof cases[0]) == 0 ? 0 : 1;
}
