/*
 * C tests of the journal API in include/rha.h: encode records of every
 * operation, decode them fed one byte at a time and in large chunks, with and
 * without zstd; detect flipped bits and truncation; version macros; NULL
 * handling. Run by tests/c/run.sh (shared, static, ASan+UBSan, valgrind).
 *
 * Usage: test_journal [DATA_DIR]   (DATA_DIR: tests/data, for golden files)
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "journal_util.h"
#include "rha.h"

/* ---- test cases --------------------------------------------------------- */

static void test_version_macros_match_runtime(void)
{
    char expect[64];
    CHECK(rha_version_number() == RHA_VERSION_NUMBER);
    CHECK(RHA_VERSION_NUMBER ==
          RHA_VERSION_MAJOR * 10000 + RHA_VERSION_MINOR * 100 + RHA_VERSION_PATCH);
    CHECK(rha_version_number() / 10000 == RHA_VERSION_MAJOR);
    CHECK(rha_version_number() / 100 % 100 == RHA_VERSION_MINOR);
    CHECK(rha_version_number() % 100 == RHA_VERSION_PATCH);
    sprintf(expect, "%d.%d.%d", RHA_VERSION_MAJOR, RHA_VERSION_MINOR, RHA_VERSION_PATCH);
    CHECK(rha_version_string() != NULL && strcmp(rha_version_string(), expect) == 0);
}

static void test_result_names_and_families(void)
{
    CHECK(strcmp(rha_result_name(RHA_OK), "RHA_OK") == 0);
    CHECK(strcmp(rha_result_name(RHA_BLOCKED), "RHA_BLOCKED") == 0);
    CHECK(strcmp(rha_result_name(RHA_DONE), "RHA_DONE") == 0);
    CHECK(strcmp(rha_result_name(RHA_PANIC), "RHA_PANIC") == 0);
    CHECK(strcmp(rha_result_name(RHA_NULL_PARAMETER), "RHA_NULL_PARAMETER") == 0);
    CHECK(strcmp(rha_result_name(RHA_INVALID_ARGUMENT), "RHA_INVALID_ARGUMENT") == 0);
    CHECK(strcmp(rha_result_name(RHA_INVALID_STATE), "RHA_INVALID_STATE") == 0);
    CHECK(strcmp(rha_result_name(RHA_IO), "RHA_IO") == 0);
    CHECK(strcmp(rha_result_name(RHA_JOURNAL_CORRUPT), "RHA_JOURNAL_CORRUPT") == 0);
    CHECK(strcmp(rha_result_name(RHA_JOURNAL_UNSUPPORTED_VERSION),
                 "RHA_JOURNAL_UNSUPPORTED_VERSION") == 0);
    CHECK(strcmp(rha_result_name(RHA_JOURNAL_TOO_LARGE), "RHA_JOURNAL_TOO_LARGE") == 0);
    CHECK(strcmp(rha_result_name(RHA_JOURNAL_SEQUENCE), "RHA_JOURNAL_SEQUENCE") == 0);
    CHECK(strcmp(rha_result_name((rha_result)12345), "RHA_UNKNOWN") == 0);
    CHECK(strcmp(rha_result_name((rha_result)3), "RHA_UNKNOWN") == 0);
    CHECK(RHA_OK == 0 && RHA_BLOCKED == 1 && RHA_DONE == 2);
    CHECK(RHA_PANIC / 100 == 1 && RHA_IO / 100 == 2 && RHA_JOURNAL_SEQUENCE / 100 == 3);
}

static void roundtrip(int zstd_level, size_t batch_bytes, int with_big)
{
    static const size_t chunks[] = {1, 3, 32, 4096, 65536, (size_t)-1};
    rha_record recs[MAX_RECORDS];
    size_t n = sample_records(recs, with_big);
    struct writer_opts o = {0, 0, 0, 1 << 20};
    struct buf enc = {NULL, 0};
    struct buf enc_small = {NULL, 0};
    struct decoded d;
    size_t c;

    o.zstd_level = zstd_level;
    o.batch_bytes = batch_bytes;
    encode(recs, n, o, &enc);
    /* Draining through a 1-byte window gives the same bytes. */
    o.drain_chunk = 1;
    encode(recs, n, o, &enc_small);
    CHECK(enc.len == enc_small.len && memcmp(enc.p, enc_small.p, enc.len) == 0);
    CHECK(enc.len > 16);

    for (c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
        decode(enc.p, enc.len, chunks[c], recs, n, 1, &d);
        if (!decoded_all(&d, n, enc.len)) {
            check_fail(__FILE__, __LINE__,
                       "chunk %zu: %zu records (%zu mismatched) of %zu, rc %s, torn %d",
                       chunks[c], d.n, d.mismatches, n, rha_result_name(d.rc), d.end.torn);
        }
    }
    buf_free(&enc);
    buf_free(&enc_small);
}

static void test_roundtrip_plain(void)
{
    roundtrip(0, 0, 1);
}

static void test_roundtrip_plain_small_batches(void)
{
    roundtrip(0, 64, 1);
}

static void test_roundtrip_zstd(void)
{
    roundtrip(3, 0, 1);
}

static void test_roundtrip_zstd_small_batches(void)
{
    roundtrip(1, 256, 1);
}

static void test_reader_consumes_only_what_it_needs(void)
{
    rha_record recs[MAX_RECORDS];
    size_t n = sample_records(recs, 0);
    struct writer_opts o = {0, 0, 0, 1 << 20};
    struct buf enc = {NULL, 0};
    rha_journal_reader_builder *b = rha_journal_reader_builder_new();
    rha_journal_reader *r = NULL;
    rha_in_buffer in;
    rha_record rec;
    rha_record_init(&rec);
    rha_journal_end end = {.struct_size = sizeof(rha_journal_end)};
    size_t i;

    encode(recs, n, o, &enc);
    CHECK_OK(rha_journal_reader_build(b, &r, &E));
    in.src = enc.p;
    in.size = enc.len;
    in.pos = 0;
    CHECK(rha_journal_reader_offset(r) == 0);
    for (i = 0; i < n; i++) {
        CHECK_OK(rha_journal_reader_next(r, &in, &rec, &E));
        CHECK(record_equal(&recs[i], &rec, 1 + i));
        /* Plain records are one frame each: exactly that frame was taken. */
        CHECK(in.pos == rha_journal_reader_offset(r));
        CHECK(i + 1 == n || in.pos < in.size);
    }
    CHECK(rha_journal_reader_next(r, &in, &rec, NULL) == RHA_BLOCKED);
    CHECK(in.pos == in.size);
    CHECK_OK(rha_journal_reader_finish(r, &end, &E));
    CHECK(end.torn == 0 && end.offset == enc.len && end.tail_len == 0);
    rha_journal_reader_free(r);
    buf_free(&enc);
}

/* Flips one bit in every byte of `enc` in turn: never silently accepted;
 * before the last frame always an error. */
static void flip_every_byte(const struct buf *enc, const rha_record *recs, size_t n,
                            uint64_t last_frame_start)
{
    size_t p;
    size_t errors = 0, torn = 0;
    uint8_t *copy = (uint8_t *)malloc(enc->len);
    CHECK(copy != NULL);
    for (p = 0; p < enc->len; p++) {
        struct decoded d;
        memcpy(copy, enc->p, enc->len);
        copy[p] ^= (uint8_t)(1u << (p % 8));
        decode(copy, enc->len, (size_t)-1, recs, n, 1, &d);
        if (d.rc != RHA_OK) {
            errors++;
            CHECK(d.rc / 100 == 3); /* a journal error */
            CHECK(d.has_offset && d.err_offset <= p);
        } else if (d.end.torn) {
            torn++;
            CHECK(p >= last_frame_start);
            CHECK(d.end.offset == last_frame_start);
        } else {
            check_fail(__FILE__, __LINE__, "flipped bit at byte %zu was not detected", p);
        }
        if (p < last_frame_start && d.rc == RHA_OK) {
            check_fail(__FILE__, __LINE__, "flip at byte %zu (before the last frame at %" PRIu64
                       ") is not an error", p, last_frame_start);
        }
        CHECK(d.mismatches == 0); /* whatever came out before the damage is intact */
    }
    CHECK(errors + torn == enc->len);
    CHECK(errors > 0);
    free(copy);
}

static void test_flipped_bit_plain(void)
{
    rha_record recs[MAX_RECORDS];
    size_t n = sample_records(recs, 0);
    struct writer_opts o = {0, 0, 0, 1 << 20};
    struct buf enc = {NULL, 0};
    struct decoded good, d;
    uint64_t frame5;
    uint8_t *copy;

    encode(recs, n, o, &enc);
    decode(enc.p, enc.len, (size_t)-1, recs, n, 1, &good);
    CHECK(decoded_all(&good, n, enc.len));

    /* A bit in the body of the 6th record: corrupt at that frame's offset,
     * the 5th record being the last good one. */
    frame5 = good.frame_end[4];
    copy = (uint8_t *)malloc(enc.len);
    CHECK(copy != NULL);
    memcpy(copy, enc.p, enc.len);
    copy[frame5 + 32 + 3] ^= 0x20;
    decode(copy, enc.len, 7, recs, n, 1, &d);
    CHECK(d.rc == RHA_JOURNAL_CORRUPT);
    CHECK(d.n == 5 && d.mismatches == 0);
    CHECK(d.has_offset && d.err_offset == frame5);
    CHECK(d.has_seq && d.err_seq == 5);
    /* A bit in the first frame's header: no good record yet. */
    memcpy(copy, enc.p, enc.len);
    copy[16 + 9] ^= 0x01;
    decode(copy, enc.len, (size_t)-1, recs, n, 1, &d);
    CHECK(d.rc == RHA_JOURNAL_CORRUPT && d.n == 0);
    CHECK(d.has_offset && d.err_offset == 16);
    CHECK(!d.has_seq);
    free(copy);

    flip_every_byte(&enc, recs, n, good.frame_end[n - 2]);
    buf_free(&enc);
}

static void test_flipped_bit_zstd(void)
{
    rha_record recs[MAX_RECORDS];
    size_t n = sample_records(recs, 0);
    struct writer_opts o = {3, 256, 0, 1 << 20};
    struct buf enc = {NULL, 0};
    struct decoded good;
    uint64_t last_start = 16;
    size_t i;

    encode(recs, n, o, &enc);
    decode(enc.p, enc.len, (size_t)-1, recs, n, 1, &good);
    CHECK(decoded_all(&good, n, enc.len));
    for (i = 0; i < n; i++) {
        if (good.frame_end[i] < enc.len && good.frame_end[i] > last_start) {
            last_start = good.frame_end[i];
        }
    }
    CHECK(last_start > 16); /* several batches */
    flip_every_byte(&enc, recs, n, last_start);
    buf_free(&enc);
}

static void truncate_everywhere(int zstd_level)
{
    rha_record recs[MAX_RECORDS];
    size_t n = sample_records(recs, 0);
    struct writer_opts o = {0, 300, 0, 1 << 20};
    struct buf enc = {NULL, 0};
    struct decoded good;
    size_t cut, torn = 0;

    o.zstd_level = zstd_level;
    encode(recs, n, o, &enc);
    decode(enc.p, enc.len, (size_t)-1, recs, n, 1, &good);
    CHECK(decoded_all(&good, n, enc.len));

    for (cut = 0; cut < enc.len; cut++) {
        struct decoded d;
        uint64_t intact = cut >= 16 ? 16 : 0; /* the last frame boundary <= cut */
        size_t complete = 0;                   /* records in frames ending <= cut */
        size_t i;
        for (i = 0; i < n; i++) {
            if (good.frame_end[i] <= cut) {
                intact = good.frame_end[i];
                complete = i + 1;
            }
        }
        decode(enc.p, cut, cut % 2 ? 1 : 4096, recs, n, 1, &d);
        CHECK(d.rc == RHA_OK);
        CHECK(d.mismatches == 0);
        CHECK(d.n == complete);
        CHECK(d.end.offset == intact);
        CHECK(d.end.offset + d.end.tail_len == cut);
        CHECK(d.end.torn == (intact != cut));
        torn += d.end.torn;
    }
    CHECK(torn > enc.len / 2);
    buf_free(&enc);
}

static void test_truncation_plain(void)
{
    truncate_everywhere(0);
}

static void test_truncation_zstd(void)
{
    truncate_everywhere(3);
}

static void test_empty_journals(void)
{
    struct buf enc = {NULL, 0};
    struct writer_opts o = {0, 0, 0, 64};
    struct decoded d;

    decode((const uint8_t *)"", 0, 1, NULL, 0, 1, &d);
    CHECK(decoded_all(&d, 0, 0));

    /* A flushed writer with no records emits just the stream header. */
    encode(NULL, 0, o, &enc);
    CHECK(enc.len == 16);
    decode(enc.p, enc.len, 1, NULL, 0, 1, &d);
    CHECK(decoded_all(&d, 0, 16));
    buf_free(&enc);
}

static void test_sequence_numbers(void)
{
    rha_record recs[MAX_RECORDS];
    size_t n = sample_records(recs, 0);
    struct writer_opts o = {0, 0, 1000, 1 << 20};
    struct buf enc = {NULL, 0};
    struct decoded d;
    rha_journal_reader_builder *b;
    rha_journal_reader *r = NULL;
    rha_in_buffer in;
    rha_record rec;
    rha_record_init(&rec);

    encode(recs, n, o, &enc);
    decode(enc.p, enc.len, 5, recs, n, 1000, &d);
    CHECK(decoded_all(&d, n, enc.len));

    /* A reader that expects another first sequence number. */
    b = rha_journal_reader_builder_new();
    CHECK_OK(rha_journal_reader_builder_set_first_seq(b, 1, &E));
    CHECK_OK(rha_journal_reader_build(b, &r, &E));
    in.src = enc.p;
    in.size = enc.len;
    in.pos = 0;
    CHECK_FAILS(rha_journal_reader_next(r, &in, &rec, &E), RHA_JOURNAL_SEQUENCE, "1000");
    rha_journal_reader_free(r);

    /* ... and one that expects the right one. */
    b = rha_journal_reader_builder_new();
    CHECK_OK(rha_journal_reader_builder_set_first_seq(b, 1000, &E));
    CHECK_OK(rha_journal_reader_build(b, &r, &E));
    in.pos = 0;
    CHECK_OK(rha_journal_reader_next(r, &in, &rec, &E));
    CHECK(rec.seq == 1000);
    rha_journal_reader_free(r);
    buf_free(&enc);
}

static void test_stream_header_off(void)
{
    rha_record recs[MAX_RECORDS];
    size_t n = sample_records(recs, 0);
    struct writer_opts o = {0, 0, 0, 1 << 20};
    struct buf enc = {NULL, 0};
    rha_journal_reader_builder *b = rha_journal_reader_builder_new();
    rha_journal_reader *r = NULL;
    rha_in_buffer in;
    rha_record rec;
    rha_record_init(&rec);
    rha_journal_end end = {.struct_size = sizeof(rha_journal_end)};
    size_t i;

    encode(recs, n, o, &enc);
    CHECK_OK(rha_journal_reader_builder_set_stream_header(b, false, &E));
    CHECK_OK(rha_journal_reader_build(b, &r, &E));
    in.src = enc.p + 16;
    in.size = enc.len - 16;
    in.pos = 0;
    for (i = 0; i < n; i++) {
        CHECK_OK(rha_journal_reader_next(r, &in, &rec, &E));
        CHECK(record_equal(&recs[i], &rec, 1 + i));
    }
    CHECK(rha_journal_reader_next(r, &in, &rec, NULL) == RHA_BLOCKED);
    CHECK_OK(rha_journal_reader_finish(r, &end, &E));
    CHECK(end.torn == 0 && end.offset == enc.len - 16);
    rha_journal_reader_free(r);

    /* The header where none is expected is damage. */
    b = rha_journal_reader_builder_new();
    CHECK_OK(rha_journal_reader_builder_set_stream_header(b, false, &E));
    CHECK_OK(rha_journal_reader_build(b, &r, &E));
    in.src = enc.p;
    in.size = enc.len;
    in.pos = 0;
    CHECK_FAILS(rha_journal_reader_next(r, &in, &rec, &E), RHA_JOURNAL_CORRUPT, "offset 0");
    rha_journal_reader_free(r);
    buf_free(&enc);
}

static void test_finish_with_a_record_waiting(void)
{
    rha_record recs[MAX_RECORDS];
    size_t n = sample_records(recs, 0);
    struct writer_opts o = {3, 0, 0, 1 << 20}; /* one compressed batch */
    struct buf enc = {NULL, 0};
    rha_journal_reader_builder *b = rha_journal_reader_builder_new();
    rha_journal_reader *r = NULL;
    rha_in_buffer in;
    rha_record rec;
    rha_record_init(&rec);
    rha_journal_end end = {.struct_size = sizeof(rha_journal_end)};
    size_t i;

    encode(recs, n, o, &enc);
    CHECK_OK(rha_journal_reader_build(b, &r, &E));
    in.src = enc.p;
    in.size = enc.len;
    in.pos = 0;
    CHECK_OK(rha_journal_reader_next(r, &in, &rec, &E));
    CHECK(in.pos == in.size); /* the whole batch was needed */
    CHECK_FAILS(rha_journal_reader_finish(r, &end, &E), RHA_INVALID_STATE, "finish");
    /* Not a failure of the reader: the other records still come out. */
    for (i = 1; i < n; i++) {
        CHECK_OK(rha_journal_reader_next(r, NULL, &rec, &E));
        CHECK(record_equal(&recs[i], &rec, 1 + i));
    }
    CHECK(rha_journal_reader_next(r, NULL, &rec, NULL) == RHA_BLOCKED);
    CHECK_OK(rha_journal_reader_finish(r, &end, &E));
    CHECK(end.torn == 0 && end.offset == enc.len);
    rha_journal_reader_free(r);
    buf_free(&enc);
}

static void test_record_size_limits(void)
{
    rha_record recs[MAX_RECORDS];
    size_t n = sample_records(recs, 1);
    struct writer_opts o = {0, 0, 0, 1 << 20};
    struct buf enc = {NULL, 0};
    rha_journal_writer_builder *wb = rha_journal_writer_builder_new();
    rha_journal_writer *w = NULL;
    rha_journal_reader_builder *rb = rha_journal_reader_builder_new();
    rha_journal_reader *r = NULL;
    rha_in_buffer in;
    rha_record rec;
    rha_record_init(&rec);
    uint64_t seq = 0;
    size_t i;

    /* The writer refuses a record over its limit and goes on. */
    CHECK_OK(rha_journal_writer_builder_set_max_record_size(wb, 1024, &E));
    CHECK_OK(rha_journal_writer_build(wb, &w, &E));
    CHECK_FAILS(rha_journal_writer_append(w, &recs[n - 1], &seq, &E), RHA_JOURNAL_TOO_LARGE,
                "limit is 1024");
    CHECK(seq == 0 && rha_journal_writer_next_seq(w) == 1);
    CHECK_OK(rha_journal_writer_append(w, &recs[0], &seq, &E));
    CHECK(seq == 1);
    rha_journal_writer_free(w);

    /* The reader refuses a frame over its limit, after the records before it. */
    encode(recs, n, o, &enc);
    CHECK_OK(rha_journal_reader_builder_set_max_record_size(rb, 4096, &E));
    CHECK_OK(rha_journal_reader_build(rb, &r, &E));
    in.src = enc.p;
    in.size = enc.len;
    in.pos = 0;
    for (i = 0; i + 1 < n; i++) {
        CHECK_OK(rha_journal_reader_next(r, &in, &rec, &E));
    }
    CHECK_FAILS(rha_journal_reader_next(r, &in, &rec, &E), RHA_JOURNAL_TOO_LARGE, "4096");
    rha_journal_reader_free(r);
    buf_free(&enc);
}

static void test_invalid_arguments(void)
{
    rha_journal_writer_builder *b = rha_journal_writer_builder_new();
    rha_journal_writer *w = NULL;
    rha_record rec;
    rha_record_init(&rec);
    uint64_t seq = 0;
    rha_out_buffer ob;
    uint8_t room[4];

    CHECK_FAILS(rha_journal_writer_builder_set_zstd(b, 0, &E), RHA_INVALID_ARGUMENT, "zstd");
    CHECK_FAILS(rha_journal_writer_builder_set_zstd(b, 23, &E), RHA_INVALID_ARGUMENT, "23");
    CHECK_FAILS(rha_journal_writer_builder_set_batch_bytes(b, 0, &E), RHA_INVALID_ARGUMENT, NULL);
    CHECK_FAILS(rha_journal_writer_builder_set_max_record_size(b, 0, &E), RHA_INVALID_ARGUMENT,
                NULL);
    CHECK_OK(rha_journal_writer_build(b, &w, &E));

    rha_record_init(&rec);
    rec.op = RHA_OP_DELETE;
    rec.path = S("/etc/passwd");
    CHECK_FAILS(rha_journal_writer_append(w, &rec, &seq, &E), RHA_INVALID_ARGUMENT, "absolute");
    rec.path = S("a/../../b");
    CHECK_FAILS(rha_journal_writer_append(w, &rec, &seq, &E), RHA_INVALID_ARGUMENT, "..");
    rec.path = S("");
    CHECK_FAILS(rha_journal_writer_append(w, &rec, &seq, &E), RHA_INVALID_ARGUMENT, "empty");
    rec.op = 0x99;
    rec.path = S("ok");
    CHECK_FAILS(rha_journal_writer_append(w, &rec, &seq, &E), RHA_INVALID_ARGUMENT, "0x99");
    rec.op = RHA_OP_SET_XATTR;
    rec.name = S("");
    CHECK_FAILS(rha_journal_writer_append(w, &rec, &seq, &E), RHA_INVALID_ARGUMENT, "xattr name");
    rec.op = RHA_OP_SET_ATTR;
    rec.attr_mask = 64;
    CHECK_FAILS(rha_journal_writer_append(w, &rec, &seq, &E), RHA_INVALID_ARGUMENT, "attr_mask");
    rec.op = RHA_OP_WRITE;
    rec.data.ptr = NULL;
    rec.data.len = 5;
    CHECK_FAILS(rha_journal_writer_append(w, &rec, &seq, &E), RHA_NULL_PARAMETER, "data");
    rha_record_init(&rec);
    rec.op = RHA_OP_BOOKMARK;
    rec.name = S("\xff\xfe");
    CHECK_FAILS(rha_journal_writer_append(w, &rec, &seq, &E), RHA_INVALID_ARGUMENT, "UTF-8");
    rec.name = S("fine");
    rec.app_consistent = 2;
    CHECK_FAILS(rha_journal_writer_append(w, &rec, &seq, &E), RHA_INVALID_ARGUMENT,
                "app_consistent");
    /* A valid record with a struct_size rha does not know. */
    rec.app_consistent = 1;
    rec.struct_size = 7;
    CHECK_FAILS(rha_journal_writer_append(w, &rec, &seq, &E), RHA_INVALID_ARGUMENT,
                "rha_record.struct_size is 7");
    rec.struct_size = sizeof rec + 8;
    CHECK_FAILS(rha_journal_writer_append(w, &rec, &seq, &E), RHA_INVALID_ARGUMENT,
                "sizeof(struct rha_record)");
    /* Nothing was appended, no output parameter was written. */
    CHECK(seq == 0 && rha_journal_writer_next_seq(w) == 1);
    CHECK(rha_journal_writer_pending(w) == 0);

    /* Malformed output buffers. */
    ob.dst = room;
    ob.size = sizeof room;
    ob.pos = 5;
    CHECK_FAILS(rha_journal_writer_drain(w, &ob, &E), RHA_INVALID_ARGUMENT, "pos");
    CHECK_OK(rha_journal_writer_flush(w, &E));
    ob.dst = NULL;
    ob.size = 4;
    ob.pos = 0;
    CHECK_FAILS(rha_journal_writer_drain(w, &ob, &E), RHA_NULL_PARAMETER, "dst");
    ob.size = 0;
    CHECK(rha_journal_writer_drain(w, &ob, NULL) == RHA_BLOCKED); /* no room, header waiting */
    rha_journal_writer_free(w);
}

/* A caller built against the record layout before `rdev`: its records are
 * accepted (a MKNOD of it is a FIFO: the missing device number is 0), and
 * the reader writes nothing past its size. */
static void test_records_of_the_first_layout(void)
{
    const uint32_t old_size = (uint32_t)offsetof(rha_record, rdev);
    rha_record recs[2];
    rha_record got;
    struct writer_opts o = {0, 0, 0, 1 << 20};
    struct buf enc = {NULL, 0};
    rha_journal_reader *r = NULL;
    rha_in_buffer in;
    size_t i;

    CHECK(old_size < sizeof(rha_record));
    for (i = 0; i < 2; i++) {
        rha_record_init(&recs[i]);
        recs[i].struct_size = old_size;
        recs[i].rdev = UINT64_C(0xdeadbeef); /* past the caller's size: never read */
    }
    recs[0].op = RHA_OP_MKNOD, recs[0].path = S("fifo"), recs[0].mode = 010600;
    recs[1].op = RHA_OP_CLEAR_XATTRS, recs[1].path = S("fifo");
    encode(recs, 2, o, &enc);

    CHECK_OK(rha_journal_reader_build(rha_journal_reader_builder_new(), &r, &E));
    in.src = enc.p, in.size = enc.len, in.pos = 0;
    for (i = 0; i < 2; i++) {
        rha_record_init(&got);
        got.struct_size = old_size;
        got.rdev = UINT64_C(77);
        CHECK_OK(rha_journal_reader_next(r, &in, &got, &E));
        CHECK(got.op == recs[i].op && got.mode == recs[i].mode);
        CHECK(got.rdev == 77);
        CHECK(got.struct_size == old_size);
    }
    rha_journal_reader_free(r);
    /* Read with today's layout, the FIFO's device number is 0. */
    recs[0].rdev = 0, recs[1].rdev = 0;
    recs[0].struct_size = recs[1].struct_size = sizeof(rha_record);
    {
        struct decoded d;
        decode(enc.p, enc.len, (size_t)-1, recs, 2, 1, &d);
        CHECK(decoded_all(&d, 2, enc.len));
    }
    buf_free(&enc);
}

static void test_invalid_input_buffers(void)
{
    rha_journal_reader_builder *b = rha_journal_reader_builder_new();
    rha_journal_reader *r = NULL;
    rha_in_buffer in;
    rha_record rec;
    rha_record_init(&rec);
    uint8_t bytes[4] = {0, 0, 0, 0};

    CHECK_FAILS(rha_journal_reader_builder_set_max_record_size(b, 0, &E), RHA_INVALID_ARGUMENT,
                NULL);
    CHECK_OK(rha_journal_reader_build(b, &r, &E));
    in.src = bytes;
    in.size = 4;
    in.pos = 5;
    CHECK_FAILS(rha_journal_reader_next(r, &in, &rec, &E), RHA_INVALID_ARGUMENT, "pos");
    in.src = NULL;
    in.size = 4;
    in.pos = 0;
    CHECK_FAILS(rha_journal_reader_next(r, &in, &rec, &E), RHA_NULL_PARAMETER, "src");
    in.size = 0;
    CHECK(rha_journal_reader_next(r, &in, &rec, NULL) == RHA_BLOCKED);
    rha_journal_reader_free(r);
}

static void test_null_handling(void)
{
    rha_journal_writer_builder *wb;
    rha_journal_reader_builder *rb;
    rha_journal_writer *w = NULL;
    rha_journal_reader *r = NULL;
    rha_record rec;
    rha_record_init(&rec);
    rha_journal_end end = {.struct_size = sizeof(rha_journal_end)};
    rha_in_buffer in = {NULL, 0, 0};
    rha_out_buffer out = {NULL, 0, 0};
    uint64_t x = 42;

    /* _free(NULL) is a no-op. */
    rha_error_free(NULL);
    rha_journal_writer_builder_free(NULL);
    rha_journal_writer_free(NULL);
    rha_journal_reader_builder_free(NULL);
    rha_journal_reader_free(NULL);
    rha_record_init(NULL);

    /* Accessors with NULL give their documented defaults. */
    CHECK(rha_error_code(NULL) == RHA_NULL_PARAMETER);
    CHECK(rha_error_message(NULL) != NULL && rha_error_message(NULL)[0] == '\0');
    CHECK(!rha_error_offset(NULL, &x) && x == 42);
    CHECK(!rha_error_last_seq(NULL, &x) && x == 42);
    CHECK(rha_journal_writer_pending(NULL) == 0);
    CHECK(rha_journal_writer_next_seq(NULL) == 0);
    CHECK(rha_journal_reader_offset(NULL) == 0);

    /* Required pointers: RHA_NULL_PARAMETER, naming the parameter. */
    CHECK_FAILS(rha_journal_writer_builder_set_zstd(NULL, 3, &E), RHA_NULL_PARAMETER, "builder");
    CHECK_FAILS(rha_journal_writer_builder_set_batch_bytes(NULL, 3, &E), RHA_NULL_PARAMETER,
                "builder");
    CHECK_FAILS(rha_journal_writer_builder_set_first_seq(NULL, 3, &E), RHA_NULL_PARAMETER,
                "builder");
    CHECK_FAILS(rha_journal_writer_builder_set_max_record_size(NULL, 3, &E), RHA_NULL_PARAMETER,
                "builder");
    CHECK_FAILS(rha_journal_writer_build(NULL, &w, &E), RHA_NULL_PARAMETER, "builder");
    CHECK(w == NULL);
    CHECK_FAILS(rha_journal_reader_builder_set_max_record_size(NULL, 3, &E), RHA_NULL_PARAMETER,
                "builder");
    CHECK_FAILS(rha_journal_reader_builder_set_first_seq(NULL, 3, &E), RHA_NULL_PARAMETER,
                "builder");
    CHECK_FAILS(rha_journal_reader_builder_set_stream_header(NULL, true, &E), RHA_NULL_PARAMETER,
                "builder");
    CHECK_FAILS(rha_journal_reader_build(NULL, &r, &E), RHA_NULL_PARAMETER, "builder");
    CHECK(r == NULL);

    /* _build consumes the builder even when writer_out is NULL (valgrind and
     * LeakSanitizer check that it is freed). */
    wb = rha_journal_writer_builder_new();
    CHECK_FAILS(rha_journal_writer_build(wb, NULL, &E), RHA_NULL_PARAMETER, "writer_out");
    rb = rha_journal_reader_builder_new();
    CHECK_FAILS(rha_journal_reader_build(rb, NULL, &E), RHA_NULL_PARAMETER, "reader_out");

    rha_record_init(&rec);
    rec.op = RHA_OP_TX_BEGIN;
    CHECK_FAILS(rha_journal_writer_append(NULL, &rec, NULL, &E), RHA_NULL_PARAMETER, "writer");
    CHECK_FAILS(rha_journal_writer_flush(NULL, &E), RHA_NULL_PARAMETER, "writer");
    CHECK_FAILS(rha_journal_writer_drain(NULL, &out, &E), RHA_NULL_PARAMETER, "writer");
    CHECK_FAILS(rha_journal_reader_next(NULL, &in, &rec, &E), RHA_NULL_PARAMETER, "reader");
    CHECK_FAILS(rha_journal_reader_finish(NULL, &end, &E), RHA_NULL_PARAMETER, "reader");

    wb = rha_journal_writer_builder_new();
    CHECK_OK(rha_journal_writer_build(wb, &w, &E));
    CHECK_FAILS(rha_journal_writer_append(w, NULL, NULL, &E), RHA_NULL_PARAMETER, "record");
    CHECK_FAILS(rha_journal_writer_drain(w, NULL, &E), RHA_NULL_PARAMETER, "output");
    /* seq_out and error_out may be NULL. */
    CHECK(rha_journal_writer_append(w, &rec, NULL, NULL) == RHA_OK);
    CHECK(rha_journal_writer_append(w, NULL, NULL, NULL) == RHA_NULL_PARAMETER);
    rha_journal_writer_free(w);

    rb = rha_journal_reader_builder_new();
    CHECK_OK(rha_journal_reader_build(rb, &r, &E));
    CHECK_FAILS(rha_journal_reader_next(r, &in, NULL, &E), RHA_NULL_PARAMETER, "record_out");
    CHECK_FAILS(rha_journal_reader_finish(r, NULL, &E), RHA_NULL_PARAMETER, "end_out");
    CHECK(rha_journal_reader_next(r, NULL, &rec, NULL) == RHA_BLOCKED); /* NULL input is fine */
    rha_journal_reader_free(r);
}

static void test_error_accessors(void)
{
    /* A decoding error has an offset; an argument error has neither. */
    static const uint8_t junk[32] = "definitely not a journal stream";
    rha_journal_reader_builder *b = rha_journal_reader_builder_new();
    rha_journal_reader *r = NULL;
    rha_in_buffer in;
    rha_record rec;
    rha_record_init(&rec);
    rha_error *err = NULL;
    uint64_t off = 99, seq = 99;

    CHECK_OK(rha_journal_reader_build(b, &r, &E));
    in.src = junk;
    in.size = sizeof junk;
    in.pos = 0;
    CHECK(rha_journal_reader_next(r, &in, &rec, &err) == RHA_JOURNAL_CORRUPT);
    CHECK(err != NULL);
    CHECK(rha_error_code(err) == RHA_JOURNAL_CORRUPT);
    CHECK(strstr(rha_error_message(err), "magic") != NULL);
    CHECK(rha_error_offset(err, &off) && off == 0);
    CHECK(!rha_error_last_seq(err, &seq) && seq == 99);
    CHECK(!rha_error_offset(err, NULL));
    rha_error_free(err);
    rha_journal_reader_free(r);

    err = NULL;
    CHECK(rha_journal_writer_flush(NULL, &err) == RHA_NULL_PARAMETER);
    CHECK(!rha_error_offset(err, &off) && off == 0);
    rha_error_free(err);
}

/* ---- golden files (tests/data) ------------------------------------------ */

static const char *data_dir;

static int read_file(const char *name, struct buf *out)
{
    char path[4096];
    uint8_t chunk[4096];
    size_t n;
    FILE *f;
    sprintf(path, "%.4000s/%s", data_dir, name);
    f = fopen(path, "rb");
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

/* Decodes a golden file 3 bytes at a time, returning the record count, first
 * seq, and the end. */
static rha_result decode_golden(const struct buf *b, size_t *count, uint64_t *first,
                                rha_journal_end *end, uint64_t *err_offset, uint64_t *err_seq)
{
    rha_journal_reader_builder *rb = rha_journal_reader_builder_new();
    rha_journal_reader *r = NULL;
    rha_result rc = RHA_OK;
    size_t fed = 0;
    rha_error *err = NULL;

    *count = 0;
    CHECK_OK(rha_journal_reader_build(rb, &r, &E));
    while (rc == RHA_OK && fed < b->len) {
        rha_in_buffer in;
        rha_record rec;
        rha_record_init(&rec);
        in.src = b->p + fed;
        in.size = b->len - fed < 3 ? b->len - fed : 3;
        in.pos = 0;
        while ((rc = rha_journal_reader_next(r, &in, &rec, &err)) == RHA_OK) {
            if (*count == 0) {
                *first = rec.seq;
            }
            ++*count;
        }
        fed += in.size;
        if (rc == RHA_BLOCKED) {
            rc = RHA_OK;
        }
    }
    if (rc == RHA_OK) {
        rc = rha_journal_reader_finish(r, end, &err);
    }
    if (rc != RHA_OK) {
        CHECK(rha_error_offset(err, err_offset));
        CHECK(rha_error_last_seq(err, err_seq));
    }
    rha_error_free(err);
    rha_journal_reader_free(r);
    return rc;
}

static void test_golden_files(void)
{
    struct buf plain = {NULL, 0}, zstd = {NULL, 0}, torn = {NULL, 0}, corrupt = {NULL, 0};
    size_t n_plain = 0, n_zstd = 0, n;
    uint64_t first = 0, off = 0, seq = 0;
    rha_journal_end end = {.struct_size = sizeof(rha_journal_end)};

    if (data_dir == NULL) {
        check_fail(__FILE__, __LINE__, "no data directory given (tests/data)");
        return;
    }
    if (!read_file("journal-v1-plain.rhaj", &plain) || !read_file("journal-v1-zstd.rhaj", &zstd) ||
        !read_file("journal-v1-torn.rhaj", &torn) ||
        !read_file("journal-v1-corrupt.rhaj", &corrupt)) {
        goto out;
    }
    CHECK(decode_golden(&plain, &n_plain, &first, &end, &off, &seq) == RHA_OK);
    CHECK(n_plain > 0 && first == 100 && end.torn == 0 && end.offset == plain.len);
    CHECK(decode_golden(&zstd, &n_zstd, &first, &end, &off, &seq) == RHA_OK);
    CHECK(n_zstd == n_plain && first == 100 && end.torn == 0 && end.offset == zstd.len);
    CHECK(decode_golden(&torn, &n, &first, &end, &off, &seq) == RHA_OK);
    CHECK(n == n_plain - 1 && end.torn == 1 && end.offset + end.tail_len == torn.len);
    CHECK(decode_golden(&corrupt, &n, &first, &end, &off, &seq) == RHA_JOURNAL_CORRUPT);
    CHECK(off <= 200 && seq >= 100 && seq == 100 + n - 1);
out:
    buf_free(&plain);
    buf_free(&zstd);
    buf_free(&torn);
    buf_free(&corrupt);
}

/* ------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    static const struct test_case cases[] = {
        {"version macros match rha_version_number()", test_version_macros_match_runtime},
        {"result names and families", test_result_names_and_families},
        {"round trip, all ops, plain", test_roundtrip_plain},
        {"round trip, all ops, plain, small batches", test_roundtrip_plain_small_batches},
        {"round trip, all ops, zstd", test_roundtrip_zstd},
        {"round trip, all ops, zstd, small batches", test_roundtrip_zstd_small_batches},
        {"reader consumes only what it needs", test_reader_consumes_only_what_it_needs},
        {"flipped bit detected, plain", test_flipped_bit_plain},
        {"flipped bit detected, zstd", test_flipped_bit_zstd},
        {"truncation is a torn tail, plain", test_truncation_plain},
        {"truncation is a torn tail, zstd", test_truncation_zstd},
        {"empty journals", test_empty_journals},
        {"sequence numbers", test_sequence_numbers},
        {"stream header off", test_stream_header_off},
        {"finish with a record waiting", test_finish_with_a_record_waiting},
        {"record size limits", test_record_size_limits},
        {"invalid arguments", test_invalid_arguments},
        {"records of the first layout", test_records_of_the_first_layout},
        {"invalid input buffers", test_invalid_input_buffers},
        {"NULL handling and _free(NULL)", test_null_handling},
        {"error accessors", test_error_accessors},
        {"golden files", test_golden_files},
    };
    data_dir = argc > 1 ? argv[1] : NULL;
    return run_cases(cases, sizeof cases / sizeof cases[0]) == 0 ? 0 : 1;
}
