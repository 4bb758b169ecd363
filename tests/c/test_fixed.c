/*
 * C tests of fixed-offset sync in include/rha.h: a volume-like file with a
 * few blocks changed gives a plan listing exactly those blocks, the master's
 * fixed delta patched in place rebuilds the master, the same delta turned
 * into journal records rebuilds it too, signatures load one byte at a time,
 * and corrupt, truncated, rolling or oversized input, failing callbacks and
 * NULLs give the documented codes. Run by tests/c/run.sh (shared, static,
 * ASan+UBSan, valgrind).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "rha.h"

/* A growable byte array: also the in-place target of the patch tests. */
struct bytes {
    uint8_t *ptr;
    size_t len;
};

static void reserve(struct bytes *b, size_t len)
{
    uint8_t *p = realloc(b->ptr, len + 1);
    if (p == NULL) {
        abort();
    }
    b->ptr = p;
}

static void append(struct bytes *b, const uint8_t *data, size_t n)
{
    reserve(b, b->len + n);
    if (n > 0) {
        memcpy(b->ptr + b->len, data, n);
    }
    b->len += n;
}

static struct bytes copy_of(const uint8_t *data, size_t n)
{
    struct bytes b = {NULL, 0};
    append(&b, data, n);
    return b;
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

/* Callbacks over a `struct file`: a byte array that can be told to fail. */
struct file {
    struct bytes b;
    int fail_read;
    int fail_write;
    int writes;
};

static int32_t file_read_at(void *userdata, uint64_t offset, uint8_t *buf, size_t len,
                            size_t *read_out)
{
    const struct file *f = userdata;
    size_t n = 0;
    if (f->fail_read) {
        return 5;
    }
    if (offset < f->b.len) {
        n = f->b.len - (size_t)offset;
        n = n < len ? n : len;
        memcpy(buf, f->b.ptr + offset, n);
    }
    *read_out = n;
    return 0;
}

static int32_t file_write_at(void *userdata, uint64_t offset, const uint8_t *data, size_t len)
{
    struct file *f = userdata;
    size_t end = (size_t)offset + len;
    if (f->fail_write) {
        return 28;
    }
    if (end > f->b.len) {
        reserve(&f->b, end);
        memset(f->b.ptr + f->b.len, 0, end - f->b.len);
        f->b.len = end;
    }
    memcpy(f->b.ptr + offset, data, len);
    f->writes++;
    return 0;
}

static int32_t file_set_len(void *userdata, uint64_t len)
{
    struct file *f = userdata;
    if (f->fail_write) {
        return 28;
    }
    if (len > f->b.len) {
        reserve(&f->b, (size_t)len);
        memset(f->b.ptr + f->b.len, 0, (size_t)len - f->b.len);
    }
    f->b.len = (size_t)len;
    return 0;
}

#define BLOCK 4096
#define BLOCKS 64
#define VOLUME_LEN (BLOCK * BLOCKS)

static uint8_t replica_data[VOLUME_LEN];
static uint8_t master_data[VOLUME_LEN + 1000];
static size_t master_len;

/* The replica volume, and the master with blocks 3, 4, 20 and 63 changed. */
static void make_volumes(void)
{
    noise(replica_data, VOLUME_LEN, 11);
    memcpy(master_data, replica_data, VOLUME_LEN);
    master_len = VOLUME_LEN;
    memset(master_data + 3 * BLOCK + 100, 'a', 10);
    memset(master_data + 4 * BLOCK, 'b', BLOCK);
    master_data[20 * BLOCK + BLOCK - 1] ^= 1;
    memset(master_data + 63 * BLOCK + 7, 'c', 1);
}

/* Runs a signature job over `data` and returns the signature bytes. */
static struct bytes signature_bytes(const uint8_t *data, size_t n, uint32_t block_len)
{
    struct bytes raw = {NULL, 0};
    rha_signature_job *job = NULL;
    uint8_t room[4096];
    rha_in_buffer in = {data, n, 0};
    rha_result rc = RHA_BLOCKED;
    CHECK_OK(rha_signature_job_new(n, block_len, 0, &job, &E));
    while (rc == RHA_BLOCKED) {
        rha_out_buffer out = {room, sizeof room, 0};
        rc = rha_signature_job_run(job, &in, &out, true, NULL);
        append(&raw, room, out.pos);
    }
    CHECK(rc == RHA_DONE);
    rha_signature_job_free(job);
    return raw;
}

static rha_signature *signature_of(const uint8_t *data, size_t n, uint32_t block_len)
{
    struct bytes raw = signature_bytes(data, n, block_len);
    rha_signature *sig = NULL;
    CHECK_OK(rha_signature_new(raw.ptr, raw.len, &sig, &E));
    free(raw.ptr);
    return sig;
}

/* The master's fixed delta for the replica, written with `room` bytes of
 * output room per call. */
static struct bytes fixed_delta(rha_fixed_plan *plan, struct file *master, size_t room_len)
{
    struct bytes delta = {NULL, 0};
    rha_fixed_delta_job *job = NULL;
    uint8_t *room = malloc(room_len);
    rha_result rc = RHA_BLOCKED;
    int spins = 0;
    if (room == NULL) {
        abort();
    }
    CHECK_OK(rha_fixed_delta_job_new(plan, file_read_at, master, &job, &E));
    while (rc == RHA_BLOCKED && spins++ < 1000000) {
        rha_out_buffer out = {room, room_len, 0};
        rc = rha_fixed_delta_job_run(job, &out, NULL);
        append(&delta, room, out.pos);
    }
    CHECK(rc == RHA_DONE);
    rha_fixed_delta_job_free(job);
    free(room);
    return delta;
}

/* The plan for the replica against the master (block length BLOCK). */
static rha_fixed_plan *plan_of(const uint8_t *replica, size_t replica_len, const uint8_t *master,
                               size_t len)
{
    rha_signature *rs = signature_of(replica, replica_len, BLOCK);
    rha_signature *ms = signature_of(master, len, BLOCK);
    rha_fixed_plan *plan = NULL;
    CHECK_OK(rha_fixed_plan_new(rs, ms, &plan, &E));
    rha_signature_free(rs);
    rha_signature_free(ms);
    return plan;
}

/* Applies `delta` in place to `target` in `step`-byte pieces; the final code. */
static rha_result patch_in_place(struct file *target, const struct bytes *delta, size_t step,
                                 uint64_t max_output, rha_error **err)
{
    rha_in_place_patch_job *job = NULL;
    size_t fed = 0;
    rha_result rc = RHA_BLOCKED;
    CHECK_OK(rha_in_place_patch_job_new(file_read_at, file_write_at, file_set_len, target,
                                        max_output, &job, &E));
    while (rc == RHA_BLOCKED) {
        size_t len = delta->len - fed < step ? delta->len - fed : step;
        rha_in_buffer in = {delta->ptr + fed, len, 0};
        rc = rha_in_place_patch_job_run(job, &in, fed + len == delta->len, err);
        fed += in.pos;
    }
    rha_in_place_patch_job_free(job);
    return rc;
}

static void test_plan_lists_exactly_the_changed_blocks(void)
{
    rha_fixed_plan *plan;
    rha_fixed_range r;
    make_volumes();
    plan = plan_of(replica_data, VOLUME_LEN, master_data, master_len);
    CHECK(rha_fixed_plan_block_len(plan) == BLOCK);
    CHECK(rha_fixed_plan_target_len(plan) == VOLUME_LEN);
    CHECK(rha_fixed_plan_range_count(plan) == 3);
    CHECK(rha_fixed_plan_block_count(plan) == 4);
    CHECK(rha_fixed_plan_needed_bytes(plan) == 4 * BLOCK);
    CHECK(rha_fixed_plan_same_bytes(plan) == VOLUME_LEN - 4 * BLOCK);
    CHECK_OK(rha_fixed_plan_range(plan, 0, &r, &E));
    CHECK(r.offset == 3 * BLOCK && r.length == 2 * BLOCK);
    CHECK(r.first_block == 3 && r.block_count == 2);
    CHECK_OK(rha_fixed_plan_range(plan, 1, &r, &E));
    CHECK(r.offset == 20 * BLOCK && r.length == BLOCK && r.first_block == 20);
    CHECK_OK(rha_fixed_plan_range(plan, 2, &r, &E));
    CHECK(r.offset == 63 * BLOCK && r.length == BLOCK && r.block_count == 1);
    CHECK_FAILS(rha_fixed_plan_range(plan, 3, &r, &E), RHA_INVALID_ARGUMENT, "index 3");
    rha_fixed_plan_free(plan);

    /* Identical volumes need nothing. */
    plan = plan_of(replica_data, VOLUME_LEN, replica_data, VOLUME_LEN);
    CHECK(rha_fixed_plan_range_count(plan) == 0 && rha_fixed_plan_needed_bytes(plan) == 0);
    rha_fixed_plan_free(plan);
}

static void in_place_round_trip(size_t room, size_t step)
{
    struct file master, target = {{NULL, 0}, 0, 0, 0};
    struct bytes delta;
    rha_fixed_plan *plan;
    make_volumes();
    master.b = copy_of(master_data, master_len);
    master.fail_read = 0;
    plan = plan_of(replica_data, VOLUME_LEN, master_data, master_len);
    delta = fixed_delta(plan, &master, room);
    /* Four blocks of literal data and little else. */
    CHECK(delta.len > 4 * BLOCK && delta.len < 4 * BLOCK + 1000);

    target.b = copy_of(replica_data, VOLUME_LEN);
    CHECK(patch_in_place(&target, &delta, step, UINT64_MAX, NULL) == RHA_DONE);
    CHECK(target.b.len == master_len && memcmp(target.b.ptr, master_data, master_len) == 0);

    /* The same delta also applies as an ordinary patch into a new file. */
    {
        rha_patch_job *pj = NULL;
        struct file basis;
        struct bytes out = {NULL, 0};
        uint8_t buf[8192];
        rha_in_buffer in = {delta.ptr, delta.len, 0};
        rha_result rc = RHA_BLOCKED;
        basis.b = copy_of(replica_data, VOLUME_LEN);
        basis.fail_read = 0;
        CHECK_OK(rha_patch_job_new(file_read_at, &basis, VOLUME_LEN, UINT64_MAX, &pj, &E));
        while (rc == RHA_BLOCKED) {
            rha_out_buffer ob = {buf, sizeof buf, 0};
            rc = rha_patch_job_run(pj, &in, &ob, true, NULL);
            append(&out, buf, ob.pos);
        }
        CHECK(rc == RHA_DONE);
        CHECK(out.len == master_len && memcmp(out.ptr, master_data, master_len) == 0);
        rha_patch_job_free(pj);
        free(out.ptr);
        free(basis.b.ptr);
    }
    rha_fixed_plan_free(plan);
    free(delta.ptr);
    free(target.b.ptr);
    free(master.b.ptr);
}

static void test_in_place_big_buffers(void) { in_place_round_trip(1 << 20, 1 << 20); }
static void test_in_place_small_buffers(void) { in_place_round_trip(97, 333); }

static void test_growing_and_shrinking_volumes(void)
{
    struct file master, target = {{NULL, 0}, 0, 0, 0};
    struct bytes delta;
    rha_fixed_plan *plan;
    rha_fixed_range r;
    size_t shrunk = 10 * BLOCK + 5;

    /* The master grew by 1000 bytes: the last block and the new tail. */
    make_volumes();
    memcpy(master_data, replica_data, VOLUME_LEN);
    noise(master_data + VOLUME_LEN, 1000, 3);
    master_len = VOLUME_LEN + 1000;
    master.b = copy_of(master_data, master_len);
    master.fail_read = 0;
    plan = plan_of(replica_data, VOLUME_LEN, master_data, master_len);
    CHECK(rha_fixed_plan_range_count(plan) == 1);
    CHECK_OK(rha_fixed_plan_range(plan, 0, &r, &E));
    CHECK(r.offset == VOLUME_LEN && r.length == 1000 && r.first_block == BLOCKS);
    delta = fixed_delta(plan, &master, 4096);
    target.b = copy_of(replica_data, VOLUME_LEN);
    CHECK(patch_in_place(&target, &delta, 100, UINT64_MAX, NULL) == RHA_DONE);
    CHECK(target.b.len == master_len && memcmp(target.b.ptr, master_data, master_len) == 0);
    rha_fixed_plan_free(plan);
    free(delta.ptr);
    free(master.b.ptr);

    /* The master shrank: nothing to send, the target is truncated. */
    plan = plan_of(replica_data, VOLUME_LEN, replica_data, shrunk);
    CHECK(rha_fixed_plan_block_count(plan) == 1); /* the now-short block 10 */
    master.b = copy_of(replica_data, shrunk);
    delta = fixed_delta(plan, &master, 4096);
    free(target.b.ptr);
    target.b = copy_of(replica_data, VOLUME_LEN);
    CHECK(patch_in_place(&target, &delta, 4096, UINT64_MAX, NULL) == RHA_DONE);
    CHECK(target.b.len == shrunk && memcmp(target.b.ptr, replica_data, shrunk) == 0);
    rha_fixed_plan_free(plan);
    free(delta.ptr);
    free(master.b.ptr);
    free(target.b.ptr);
}

/* Converts `delta` (fed in `step`-byte pieces) into records applied to a
 * copy of the replica after the conversion, and also appended to a journal
 * writer; returns the final code. */
static rha_result delta_to_records(const struct bytes *delta, size_t step, struct file *out,
                                   uint64_t *records, rha_error **err)
{
    rha_delta_ops_job *job = NULL;
    rha_journal_writer *w = NULL;
    struct file basis;
    size_t fed = 0;
    rha_result rc = RHA_OK;
    static const char path[] = "volumes/disk0.img";
    basis.b = copy_of(replica_data, VOLUME_LEN);
    basis.fail_read = 0;
    out->b = copy_of(replica_data, VOLUME_LEN);
    out->fail_read = out->fail_write = out->writes = 0;
    *records = 0;
    CHECK_OK(rha_journal_writer_build(rha_journal_writer_builder_new(), &w, &E));
    CHECK_OK(rha_delta_ops_job_new((const uint8_t *)path, strlen(path), file_read_at, &basis,
                                   &job, &E));
    while (rc == RHA_OK || rc == RHA_BLOCKED) {
        size_t len = delta->len - fed < step ? delta->len - fed : step;
        rha_in_buffer in = {delta->ptr + fed, len, 0};
        rha_record rec;
        rha_record_init(&rec);
        uint64_t seq = 0;
        rc = rha_delta_ops_job_next(job, &in, fed + len == delta->len, &rec, err);
        fed += in.pos;
        if (rc != RHA_OK) {
            continue;
        }
        (*records)++;
        CHECK(rec.path.len == strlen(path) && memcmp(rec.path.ptr, path, rec.path.len) == 0);
        rec.timestamp_ns = 1700000000000000000ull;
        CHECK_OK(rha_journal_writer_append(w, &rec, &seq, &E));
        CHECK(seq == *records);
        if (rec.op == RHA_OP_WRITE) {
            CHECK(rec.data.len > 0 && rec.data.len <= (1u << 20));
            CHECK(file_write_at(out, rec.offset, rec.data.ptr, rec.data.len) == 0);
        } else {
            CHECK(rec.op == RHA_OP_SET_LEN);
            CHECK(file_set_len(out, rec.length) == 0);
        }
    }
    if (rc == RHA_DONE) {
        uint8_t hash[32];
        CHECK(rha_delta_ops_job_hash(job, hash));
        CHECK(rha_journal_writer_next_seq(w) == *records + 1);
    }
    rha_delta_ops_job_free(job);
    rha_journal_writer_free(w);
    free(basis.b.ptr);
    return rc;
}

static void test_delta_to_records(void)
{
    struct file master, out;
    struct bytes delta;
    rha_fixed_plan *plan;
    uint64_t records = 0;
    size_t steps[] = {1 << 20, 1, 1000};
    size_t i;
    make_volumes();
    master.b = copy_of(master_data, master_len);
    master.fail_read = 0;
    plan = plan_of(replica_data, VOLUME_LEN, master_data, master_len);
    delta = fixed_delta(plan, &master, 1 << 16);
    for (i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        CHECK(delta_to_records(&delta, steps[i], &out, &records, NULL) == RHA_DONE);
        /* One write per range (all under 1 MiB), then SET_LEN. */
        CHECK(records == 4);
        CHECK(out.b.len == master_len && memcmp(out.b.ptr, master_data, master_len) == 0);
        free(out.b.ptr);
    }

    /* A rolling delta with moved copies converts too (applied afterwards). */
    {
        rha_signature *sig = signature_of(replica_data, VOLUME_LEN, BLOCK);
        rha_delta_job *dj = NULL;
        struct bytes rolling = {NULL, 0};
        uint8_t room[8192];
        rha_in_buffer in;
        rha_result rc = RHA_BLOCKED;
        /* master = 300 new bytes, then the replica shifted. */
        noise(master_data, 300, 5);
        memcpy(master_data + 300, replica_data, VOLUME_LEN);
        master_len = VOLUME_LEN + 300;
        in.src = master_data;
        in.size = master_len;
        in.pos = 0;
        CHECK_OK(rha_delta_job_new(sig, RHA_DELTA_FORMAT_RHA, &dj, &E));
        while (rc == RHA_BLOCKED) {
            rha_out_buffer ob = {room, sizeof room, 0};
            rc = rha_delta_job_run(dj, &in, &ob, true, NULL);
            append(&rolling, room, ob.pos);
        }
        CHECK(rc == RHA_DONE);
        CHECK(delta_to_records(&rolling, 5000, &out, &records, NULL) == RHA_DONE);
        CHECK(out.b.len == master_len && memcmp(out.b.ptr, master_data, master_len) == 0);
        free(out.b.ptr);

        /* ... but in place it is refused, naming the offending command. */
        out.b = copy_of(replica_data, VOLUME_LEN);
        out.fail_read = out.fail_write = out.writes = 0;
        {
            rha_error *err = NULL;
            uint64_t offset = 0;
            CHECK(patch_in_place(&out, &rolling, 1 << 20, UINT64_MAX, &err) ==
                  RHA_PATCH_NOT_IN_PLACE);
            CHECK(err != NULL && rha_error_code(err) == RHA_PATCH_NOT_IN_PLACE);
            CHECK(strstr(rha_error_message(err), "cannot be applied in place") != NULL);
            CHECK(rha_error_offset(err, &offset) && offset > 0 && offset < rolling.len);
            rha_error_free(err);
        }
        CHECK(strcmp(rha_result_name(RHA_PATCH_NOT_IN_PLACE), "RHA_PATCH_NOT_IN_PLACE") == 0);
        free(out.b.ptr);
        free(rolling.ptr);
        rha_delta_job_free(dj);
        rha_signature_free(sig);
    }
    rha_fixed_plan_free(plan);
    free(delta.ptr);
    free(master.b.ptr);
}

/* Loads `raw` through a loader, `step` bytes per feed. */
static rha_result load_in_steps(const struct bytes *raw, size_t step, rha_signature **sig,
                                rha_error **err)
{
    rha_signature_loader *loader = NULL;
    size_t fed = 0;
    CHECK_OK(rha_signature_loader_new(0, &loader, &E));
    while (fed < raw->len) {
        size_t len = raw->len - fed < step ? raw->len - fed : step;
        rha_in_buffer in = {raw->ptr + fed, len, 0};
        rha_result rc = rha_signature_loader_feed(loader, &in, err);
        if (rc != RHA_OK) {
            rha_signature_loader_free(loader);
            return rc;
        }
        CHECK(in.pos == len);
        fed += len;
    }
    return rha_signature_loader_finish(loader, sig, err);
}

static void test_loader_one_byte_at_a_time(void)
{
    struct bytes raw;
    rha_signature *a = NULL, *b = NULL, *m;
    rha_fixed_plan *plan = NULL;
    make_volumes();
    raw = signature_bytes(replica_data, VOLUME_LEN, BLOCK);
    CHECK(load_in_steps(&raw, 1, &a, NULL) == RHA_OK);
    CHECK(load_in_steps(&raw, raw.len, &b, NULL) == RHA_OK);
    CHECK(rha_signature_block_count(a) == BLOCKS && rha_signature_block_len(a) == BLOCK);
    /* Loaded either way, the signatures compare equal. */
    CHECK_OK(rha_fixed_plan_new(a, b, &plan, &E));
    CHECK(rha_fixed_plan_needed_bytes(plan) == 0);
    rha_fixed_plan_free(plan);
    m = signature_of(master_data, master_len, BLOCK);
    CHECK_OK(rha_fixed_plan_new(a, m, &plan, &E));
    CHECK(rha_fixed_plan_block_count(plan) == 4);
    rha_fixed_plan_free(plan);
    rha_signature_free(a);
    rha_signature_free(b);
    rha_signature_free(m);
    free(raw.ptr);
}

static void test_corrupt_and_truncated_signatures(void)
{
    struct bytes raw;
    rha_signature *sig = NULL;
    rha_error *err = NULL;
    uint64_t offset = 0;
    rha_signature_loader *loader = NULL;
    make_volumes();
    raw = signature_bytes(replica_data, VOLUME_LEN, BLOCK);

    /* A damaged entry: the group checksum fails, naming where the group starts. */
    raw.ptr[raw.len / 2] ^= 0x40;
    CHECK(load_in_steps(&raw, 7, &sig, &err) == RHA_SIGNATURE_CORRUPT);
    CHECK(err != NULL && strstr(rha_error_message(err), "checksum") != NULL);
    CHECK(rha_error_offset(err, &offset) && offset > 0 && offset < raw.len / 2);
    rha_error_free(err);
    err = NULL;
    raw.ptr[raw.len / 2] ^= 0x40;

    /* Bad magic at offset 0. */
    raw.ptr[0] ^= 0xff;
    CHECK(load_in_steps(&raw, 1, &sig, &err) == RHA_SIGNATURE_CORRUPT);
    CHECK(err != NULL && rha_error_offset(err, &offset) && offset == 0);
    CHECK(strstr(rha_error_message(err), "magic") != NULL);
    rha_error_free(err);
    err = NULL;
    raw.ptr[0] ^= 0xff;

    /* Truncated: every feed succeeds, finish fails. */
    raw.len -= 3;
    CHECK(load_in_steps(&raw, 1000, &sig, &err) == RHA_SIGNATURE_CORRUPT);
    CHECK(err != NULL && strstr(rha_error_message(err), "truncated") != NULL);
    rha_error_free(err);
    err = NULL;
    raw.len += 3;

    /* Trailing bytes, and a failed loader stays failed. */
    CHECK_OK(rha_signature_loader_new(0, &loader, &E));
    {
        uint8_t extra[] = {0};
        rha_in_buffer in = {raw.ptr, raw.len, 0};
        rha_in_buffer more = {extra, 1, 0};
        CHECK_OK(rha_signature_loader_feed(loader, &in, &E));
        CHECK_FAILS(rha_signature_loader_feed(loader, &more, &E), RHA_SIGNATURE_CORRUPT,
                    "after the end");
        CHECK_FAILS(rha_signature_loader_feed(loader, &more, &E), RHA_INVALID_STATE, NULL);
        CHECK_FAILS(rha_signature_loader_finish(loader, &sig, &E), RHA_INVALID_STATE, NULL);
    }

    /* A block limit. */
    CHECK_OK(rha_signature_loader_new(10, &loader, &E));
    {
        rha_in_buffer in = {raw.ptr, raw.len, 0};
        CHECK_FAILS(rha_signature_loader_feed(loader, &in, &E), RHA_SIGNATURE_TOO_LARGE, "64");
        rha_signature_loader_free(loader);
    }

    /* The whole-buffer loader still works. */
    CHECK_OK(rha_signature_new(raw.ptr, raw.len, &sig, &E));
    rha_signature_free(sig);
    free(raw.ptr);
}

static void test_corrupt_truncated_and_capped_deltas(void)
{
    struct file master, target;
    struct bytes delta;
    rha_fixed_plan *plan;
    rha_error *err = NULL;
    uint64_t records = 0, offset = 0;
    make_volumes();
    master.b = copy_of(master_data, master_len);
    master.fail_read = 0;
    plan = plan_of(replica_data, VOLUME_LEN, master_data, master_len);
    delta = fixed_delta(plan, &master, 1 << 16);
    target.fail_read = target.fail_write = target.writes = 0;
    target.b.ptr = NULL;

    /* Truncated: in place and as records. */
    delta.len -= 5;
    target.b = copy_of(replica_data, VOLUME_LEN);
    CHECK(patch_in_place(&target, &delta, 1000, UINT64_MAX, &err) == RHA_DELTA_CORRUPT);
    CHECK(err != NULL && strstr(rha_error_message(err), "truncated") != NULL);
    rha_error_free(err);
    err = NULL;
    free(target.b.ptr);
    CHECK(delta_to_records(&delta, 1000, &target, &records, &err) == RHA_DELTA_CORRUPT);
    CHECK(err != NULL && rha_error_offset(err, &offset));
    rha_error_free(err);
    err = NULL;
    free(target.b.ptr);
    delta.len += 5;

    /* A flipped literal byte fails its command checksum at the right offset. */
    delta.ptr[delta.len / 2] ^= 1;
    target.b = copy_of(replica_data, VOLUME_LEN);
    CHECK(patch_in_place(&target, &delta, 777, UINT64_MAX, &err) == RHA_DELTA_CORRUPT);
    CHECK(err != NULL && rha_error_offset(err, &offset) && offset < delta.len / 2);
    CHECK(strstr(rha_error_message(err), "checksum") != NULL);
    rha_error_free(err);
    err = NULL;
    free(target.b.ptr);
    delta.ptr[delta.len / 2] ^= 1;

    /* Trailing bytes after the delta. */
    {
        struct bytes longer = copy_of(delta.ptr, delta.len);
        uint8_t zero = 0;
        append(&longer, &zero, 1);
        target.b = copy_of(replica_data, VOLUME_LEN);
        CHECK(patch_in_place(&target, &longer, 1 << 20, UINT64_MAX, &err) == RHA_DELTA_CORRUPT);
        CHECK(err != NULL && rha_error_offset(err, &offset) && offset == delta.len);
        rha_error_free(err);
        err = NULL;
        free(target.b.ptr);
        CHECK(delta_to_records(&longer, 1 << 20, &target, &records, &err) == RHA_DELTA_CORRUPT);
        CHECK(err != NULL && strstr(rha_error_message(err), "after the end") != NULL);
        rha_error_free(err);
        err = NULL;
        free(target.b.ptr);
        free(longer.ptr);
    }

    /* A target that is not the replica the plan was made for. */
    target.writes = 0;
    target.b = copy_of(replica_data, VOLUME_LEN);
    target.b.ptr[40 * BLOCK] ^= 1;
    CHECK(patch_in_place(&target, &delta, 1 << 20, UINT64_MAX, &err) == RHA_PATCH_WRONG_BASIS);
    CHECK(err != NULL && strstr(rha_error_message(err), "not the file this delta was made against") != NULL);
    CHECK(strstr(rha_error_message(err), "nothing was written") != NULL);
    /* Refused before anything was written: the target is as it was. */
    CHECK(target.writes == 0);
    target.b.ptr[40 * BLOCK] ^= 1;
    CHECK(target.b.len == VOLUME_LEN && memcmp(target.b.ptr, replica_data, VOLUME_LEN) == 0);
    CHECK(strcmp(rha_result_name(RHA_PATCH_WRONG_BASIS), "RHA_PATCH_WRONG_BASIS") == 0);
    rha_error_free(err);
    err = NULL;
    free(target.b.ptr);
    /* A shorter target too (the length is checked before the hash). */
    target.b = copy_of(replica_data, VOLUME_LEN - 1);
    CHECK(patch_in_place(&target, &delta, 1 << 20, UINT64_MAX, &err) == RHA_PATCH_WRONG_BASIS);
    CHECK(err != NULL && strstr(rha_error_message(err), "found 262143 bytes") != NULL);
    CHECK(target.writes == 0 && target.b.len == VOLUME_LEN - 1);
    rha_error_free(err);
    err = NULL;
    free(target.b.ptr);

    /* The output cap. */
    target.b = copy_of(replica_data, VOLUME_LEN);
    CHECK(patch_in_place(&target, &delta, 1 << 20, VOLUME_LEN - 1, &err) == RHA_PATCH_TOO_LARGE);
    rha_error_free(err);
    err = NULL;

    /* Failing callbacks: the write (on the replica again: the capped run
       wrote part of the delta), and the master's read. */
    free(target.b.ptr);
    target.b = copy_of(replica_data, VOLUME_LEN);
    target.fail_write = 1;
    CHECK(patch_in_place(&target, &delta, 1 << 20, UINT64_MAX, &err) == RHA_IO);
    CHECK(err != NULL && strstr(rha_error_message(err), "write_at callback returned 28") != NULL);
    rha_error_free(err);
    err = NULL;
    free(target.b.ptr);
    master.fail_read = 1;
    {
        rha_fixed_delta_job *job = NULL;
        uint8_t room[4096];
        rha_out_buffer out = {room, sizeof room, 0};
        CHECK_OK(rha_fixed_delta_job_new(plan, file_read_at, &master, &job, &E));
        CHECK_FAILS(rha_fixed_delta_job_run(job, &out, &E), RHA_IO, "read_at callback returned 5");
        CHECK_FAILS(rha_fixed_delta_job_run(job, &out, &E), RHA_INVALID_STATE, NULL);
        rha_fixed_delta_job_free(job);
    }
    rha_fixed_plan_free(plan);
    free(delta.ptr);
    free(master.b.ptr);
}

static void test_mismatched_signatures_and_nulls(void)
{
    rha_signature *a, *b;
    rha_fixed_plan *plan = NULL;
    rha_fixed_range r;
    rha_record rec;
    rha_record_init(&rec);
    uint8_t hash[32];
    rha_signature_loader *loader = NULL;
    rha_in_place_patch_job *ipj = NULL;
    rha_fixed_delta_job *fdj = NULL;
    rha_delta_ops_job *oj = NULL;
    struct file f = {{NULL, 0}, 0, 0, 0};
    make_volumes();
    a = signature_of(replica_data, VOLUME_LEN, BLOCK);
    b = signature_of(replica_data, VOLUME_LEN, 2 * BLOCK);
    CHECK_FAILS(rha_fixed_plan_new(a, b, &plan, &E), RHA_INVALID_ARGUMENT, "block lengths differ");
    CHECK_FAILS(rha_fixed_plan_new(NULL, b, &plan, &E), RHA_NULL_PARAMETER, "replica");
    CHECK_FAILS(rha_fixed_plan_new(a, NULL, &plan, &E), RHA_NULL_PARAMETER, "master");
    CHECK_FAILS(rha_fixed_plan_new(a, b, NULL, &E), RHA_NULL_PARAMETER, "plan_out");
    rha_signature_free(a);
    rha_signature_free(b);

    CHECK_FAILS(rha_fixed_plan_range(NULL, 0, &r, &E), RHA_NULL_PARAMETER, "plan");
    CHECK(rha_fixed_plan_needed_bytes(NULL) == 0 && rha_fixed_plan_same_bytes(NULL) == 0);
    CHECK(rha_fixed_plan_range_count(NULL) == 0 && rha_fixed_plan_block_count(NULL) == 0);
    CHECK(rha_fixed_plan_target_len(NULL) == 0 && rha_fixed_plan_block_len(NULL) == 0);
    CHECK_FAILS(rha_fixed_delta_job_new(NULL, file_read_at, &f, &fdj, &E), RHA_NULL_PARAMETER,
                "plan");
    CHECK_FAILS(rha_fixed_delta_job_run(NULL, NULL, &E), RHA_NULL_PARAMETER, "job");

    CHECK_FAILS(rha_signature_loader_new(0, NULL, &E), RHA_NULL_PARAMETER, "loader_out");
    CHECK_FAILS(rha_signature_loader_feed(NULL, NULL, &E), RHA_NULL_PARAMETER, "loader");
    CHECK_FAILS(rha_signature_loader_finish(NULL, NULL, &E), RHA_NULL_PARAMETER, "loader");
    /* A NULL sig_out still consumes the loader (valgrind checks no leak). */
    CHECK_OK(rha_signature_loader_new(0, &loader, &E));
    CHECK_FAILS(rha_signature_loader_finish(loader, NULL, &E), RHA_NULL_PARAMETER, "sig_out");

    CHECK_FAILS(rha_in_place_patch_job_new(NULL, file_write_at, file_set_len, &f, 0, &ipj, &E),
                RHA_NULL_PARAMETER, "read_at");
    CHECK_FAILS(rha_in_place_patch_job_new(file_read_at, NULL, file_set_len, &f, 0, &ipj, &E),
                RHA_NULL_PARAMETER, "write_at");
    CHECK_FAILS(rha_in_place_patch_job_new(file_read_at, file_write_at, NULL, &f, 0, &ipj, &E),
                RHA_NULL_PARAMETER, "set_len");
    CHECK_FAILS(rha_in_place_patch_job_run(NULL, NULL, true, &E), RHA_NULL_PARAMETER, "job");
    CHECK(rha_in_place_patch_job_written(NULL) == 0);

    CHECK_FAILS(rha_delta_ops_job_new((const uint8_t *)"a", 1, NULL, &f, &oj, &E),
                RHA_NULL_PARAMETER, "read_at");
    CHECK_FAILS(rha_delta_ops_job_new((const uint8_t *)"/abs", 4, file_read_at, &f, &oj, &E),
                RHA_INVALID_ARGUMENT, "path");
    CHECK_FAILS(rha_delta_ops_job_new(NULL, 3, file_read_at, &f, &oj, &E), RHA_NULL_PARAMETER,
                NULL);
    CHECK_OK(rha_delta_ops_job_new((const uint8_t *)"a", 1, file_read_at, &f, &oj, &E));
    CHECK_FAILS(rha_delta_ops_job_next(oj, NULL, false, NULL, &E), RHA_NULL_PARAMETER,
                "record_out");
    /* No input yet: blocked; the end without a delta: truncated. */
    CHECK(rha_delta_ops_job_next(oj, NULL, false, &rec, NULL) == RHA_BLOCKED);
    CHECK(!rha_delta_ops_job_hash(oj, hash));
    CHECK_FAILS(rha_delta_ops_job_next(oj, NULL, true, &rec, &E), RHA_DELTA_CORRUPT, "truncated");
    CHECK_FAILS(rha_delta_ops_job_next(oj, NULL, true, &rec, &E), RHA_INVALID_STATE, NULL);
    CHECK(!rha_delta_ops_job_hash(NULL, hash));
    rha_delta_ops_job_free(oj);

    rha_fixed_plan_free(NULL);
    rha_fixed_delta_job_free(NULL);
    rha_in_place_patch_job_free(NULL);
    rha_delta_ops_job_free(NULL);
    rha_signature_loader_free(NULL);
}

int main(void)
{
    static const struct test_case cases[] = {
        {"the plan lists exactly the changed blocks", test_plan_lists_exactly_the_changed_blocks},
        {"fixed delta patched in place, big buffers", test_in_place_big_buffers},
        {"fixed delta patched in place, small buffers", test_in_place_small_buffers},
        {"growing and shrinking volumes", test_growing_and_shrinking_volumes},
        {"delta to journal records", test_delta_to_records},
        {"signature loader fed one byte at a time", test_loader_one_byte_at_a_time},
        {"corrupt and truncated signatures", test_corrupt_and_truncated_signatures},
        {"corrupt, truncated and capped deltas", test_corrupt_truncated_and_capped_deltas},
        {"mismatched signatures and NULLs", test_mismatched_signatures_and_nulls},
    };
    return run_cases(cases, sizeof cases / sizeof cases[0]) == 0 ? 0 : 1;
}
