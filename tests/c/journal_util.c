/* Helpers of the C tests: sample records, encoding and decoding loops. */
#include "journal_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

void buf_append(struct buf *b, const uint8_t *data, size_t n)
{
    uint8_t *p = (uint8_t *)realloc(b->p, b->len + n + 1);
    if (p == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    memcpy(p + b->len, data, n);
    b->p = p;
    b->len += n;
}

void buf_free(struct buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = 0;
}

rha_bytes S(const char *s)
{
    rha_bytes b;
    b.ptr = (const uint8_t *)s;
    b.len = strlen(s);
    return b;
}

rha_bytes BN(const uint8_t *p, size_t n)
{
    rha_bytes b;
    b.ptr = n ? p : NULL;
    b.len = n;
    return b;
}

static uint8_t block[512];
static uint8_t big[BIG_LEN];
static const uint8_t xattr_value[3] = {'v', 0, 'v'};

/* Fills `recs` with at least one record of every operation (and, if
 * `with_big`, a 70000-byte block write); returns how many. */
size_t sample_records(rha_record *recs, int with_big)
{
    size_t n = 0;
    size_t i;
    for (i = 0; i < sizeof block; i++) {
        block[i] = (uint8_t)(i * 7 + 3);
    }
    for (i = 0; i < sizeof big; i++) {
        big[i] = (uint8_t)(i ^ (i >> 8));
    }
    for (i = 0; i < MAX_RECORDS; i++) {
        rha_record_init(&recs[i]);
        recs[i].timestamp_ns = UINT64_C(1700000000000000000) + i * 1000;
    }
    recs[n].op = RHA_OP_CREATE, recs[n].path = S("dir/file.txt"), recs[n].mode = 0644, n++;
    recs[n].op = RHA_OP_WRITE, recs[n].path = S("dir/file.txt"), recs[n].offset = 4096,
    recs[n].data = S("hello, journal"), n++;
    recs[n].op = RHA_OP_SET_LEN, recs[n].path = S("dir/file.txt"),
    recs[n].length = UINT64_C(1) << 33, n++;
    recs[n].op = RHA_OP_DELETE, recs[n].path = S("old.log"), n++;
    recs[n].op = RHA_OP_RENAME, recs[n].path = S("a"), recs[n].path2 = S("b/c"), n++;
    recs[n].op = RHA_OP_MKDIR, recs[n].path = S("newdir"), recs[n].mode = 0755, n++;
    recs[n].op = RHA_OP_RMDIR, recs[n].path = S("newdir"), n++;
    recs[n].op = RHA_OP_SYMLINK, recs[n].path = S("link"), recs[n].data = S("../target"), n++;
    recs[n].op = RHA_OP_HARD_LINK, recs[n].path = S("dir/file.txt"),
    recs[n].path2 = S("dir/hard"), n++;
    recs[n].op = RHA_OP_SET_ATTR, recs[n].path = S("dir/file.txt"),
    recs[n].attr_mask = RHA_ATTR_MODE | RHA_ATTR_GID | RHA_ATTR_ATIME | RHA_ATTR_MTIME,
    recs[n].mode = 0100600, recs[n].gid = 100, recs[n].atime_ns = -1,
    recs[n].mtime_ns = INT64_C(1700000000123456789), n++;
    recs[n].op = RHA_OP_SET_ATTR, recs[n].path = S("dir"), recs[n].attr_mask = RHA_ATTR_UID,
    recs[n].uid = 1000, n++;
    recs[n].op = RHA_OP_SET_XATTR, recs[n].path = S("dir/file.txt"), recs[n].name = S("user.k"),
    recs[n].data = BN(xattr_value, sizeof xattr_value), n++;
    recs[n].op = RHA_OP_REMOVE_XATTR, recs[n].path = S("dir/file.txt"),
    recs[n].name = S("user.k"), n++;
    recs[n].op = RHA_OP_MKNOD, recs[n].path = S("dev/null"), recs[n].mode = 020666,
    recs[n].rdev = 0x0103, n++;
    recs[n].op = RHA_OP_MKNOD, recs[n].path = S("dir/fifo"), recs[n].mode = 010640, n++;
    recs[n].op = RHA_OP_CLEAR_XATTRS, recs[n].path = S("dir/file.txt"), n++;
    recs[n].op = RHA_OP_BLOCK_WRITE, recs[n].volume = 2, recs[n].offset = 512,
    recs[n].data = BN(block, sizeof block), n++;
    recs[n].op = RHA_OP_DISCARD, recs[n].volume = 2, recs[n].offset = UINT64_C(1) << 20,
    recs[n].length = 4096, n++;
    recs[n].op = RHA_OP_BOOKMARK, recs[n].name = S("nightly \xe2\x9c\x93"),
    recs[n].app_consistent = 1, n++;
    recs[n].op = RHA_OP_BOOKMARK, recs[n].name = S("ad hoc"), n++;
    recs[n].op = RHA_OP_TX_BEGIN, recs[n].id = 7, n++;
    recs[n].op = RHA_OP_WRITE, recs[n].path = S("dir/empty-write"), recs[n].offset = 1, n++;
    recs[n].op = RHA_OP_TX_COMMIT, recs[n].id = 7, n++;
    recs[n].op = RHA_OP_SYNC_START, recs[n].id = UINT64_MAX, n++;
    recs[n].op = RHA_OP_SYNC_END, recs[n].id = UINT64_MAX, n++;
    recs[n].op = RHA_OP_EPOCH, recs[n].id = 5, recs[n].epoch = 2, n++;
    if (with_big) {
        recs[n].op = RHA_OP_BLOCK_WRITE, recs[n].volume = 1, recs[n].offset = 0,
        recs[n].data = BN(big, sizeof big), n++;
    }
    return n;
}

static int bytes_equal(rha_bytes want, rha_bytes got)
{
    if (want.len != got.len) {
        return 0;
    }
    if (got.len == 0) {
        return got.ptr == NULL; /* empty views the library hands out are NULL */
    }
    return memcmp(want.ptr, got.ptr, got.len) == 0;
}

/* Whether `got` is `want` with sequence number `seq` (every field, so the
 * fields an operation does not use must be zero). */
int record_equal(const rha_record *want, const rha_record *got, uint64_t seq)
{
    return got->seq == seq && got->timestamp_ns == want->timestamp_ns && got->op == want->op &&
           got->attr_mask == want->attr_mask && bytes_equal(want->path, got->path) &&
           bytes_equal(want->path2, got->path2) && bytes_equal(want->data, got->data) &&
           bytes_equal(want->name, got->name) && got->offset == want->offset &&
           got->length == want->length && got->id == want->id && got->epoch == want->epoch &&
           got->atime_ns == want->atime_ns && got->mtime_ns == want->mtime_ns &&
           got->volume == want->volume && got->mode == want->mode && got->uid == want->uid &&
           got->gid == want->gid && got->app_consistent == want->app_consistent &&
           got->rdev == want->rdev;
}

/* Encodes `recs` into `out`; checks the sequence numbers assigned. */
void encode(const rha_record *recs, size_t n, struct writer_opts o, struct buf *out)
{
    rha_journal_writer_builder *b = rha_journal_writer_builder_new();
    rha_journal_writer *w = NULL;
    uint64_t first = o.first_seq ? o.first_seq : 1;
    uint8_t *room = (uint8_t *)malloc(o.drain_chunk);
    size_t i;
    rha_result rc;

    CHECK(b != NULL && room != NULL);
    if (o.zstd_level) {
        CHECK_OK(rha_journal_writer_builder_set_zstd(b, o.zstd_level, &E));
    }
    if (o.batch_bytes) {
        CHECK_OK(rha_journal_writer_builder_set_batch_bytes(b, o.batch_bytes, &E));
    }
    if (o.first_seq) {
        CHECK_OK(rha_journal_writer_builder_set_first_seq(b, o.first_seq, &E));
    }
    CHECK_OK(rha_journal_writer_build(b, &w, &E));
    for (i = 0; i < n; i++) {
        uint64_t seq = 0;
        CHECK_OK(rha_journal_writer_append(w, &recs[i], &seq, &E));
        CHECK(seq == first + i);
    }
    CHECK(rha_journal_writer_next_seq(w) == first + n);
    CHECK_OK(rha_journal_writer_flush(w, &E));
    do {
        rha_out_buffer ob;
        size_t before = rha_journal_writer_pending(w);
        ob.dst = room;
        ob.size = o.drain_chunk;
        ob.pos = 0;
        rc = rha_journal_writer_drain(w, &ob, NULL);
        CHECK(rc == RHA_OK || rc == RHA_BLOCKED);
        CHECK(ob.pos <= ob.size);
        CHECK(rha_journal_writer_pending(w) == before - ob.pos);
        buf_append(out, room, ob.pos);
        if (rc == RHA_BLOCKED) {
            CHECK(ob.pos == ob.size);
        }
    } while (rc == RHA_BLOCKED);
    CHECK(rc == RHA_OK);
    CHECK(rha_journal_writer_pending(w) == 0);
    rha_journal_writer_free(w);
    free(room);
}

/* Decodes `len` bytes fed `chunk` bytes at a time, comparing the records with
 * `want` (numbered from `first_seq`), then finishes. */
void decode(const uint8_t *bytes, size_t len, size_t chunk, const rha_record *want,
                   size_t n_want, uint64_t first_seq, struct decoded *d)
{
    rha_journal_reader_builder *b = rha_journal_reader_builder_new();
    rha_journal_reader *r = NULL;
    size_t fed = 0;

    memset(d, 0, sizeof *d);
    d->end.struct_size = sizeof d->end;
    CHECK_OK(rha_journal_reader_build(b, &r, &E));
    for (;;) {
        size_t take = len - fed < chunk ? len - fed : chunk;
        rha_in_buffer in;
        in.src = bytes + fed;
        in.size = take;
        in.pos = 0;
        for (;;) {
            rha_record rec;
            rha_record_init(&rec);
            rha_error *err = NULL;
            rha_result rc = rha_journal_reader_next(r, &in, &rec, &err);
            CHECK(in.pos <= in.size);
            if (rc == RHA_OK) {
                CHECK(err == NULL);
                if (d->n < n_want && record_equal(&want[d->n], &rec, first_seq + d->n)) {
                    /* matched */
                } else {
                    d->mismatches++;
                }
                if (d->n < MAX_RECORDS) {
                    d->frame_end[d->n] = rha_journal_reader_offset(r);
                }
                d->n++;
                continue;
            }
            if (rc == RHA_BLOCKED) {
                CHECK(err == NULL);
                CHECK(in.pos == in.size);
                break;
            }
            d->rc = rc;
            CHECK(err != NULL && rha_error_code(err) == rc);
            CHECK(strlen(rha_error_message(err)) > 0);
            d->has_offset = rha_error_offset(err, &d->err_offset);
            d->has_seq = rha_error_last_seq(err, &d->err_seq);
            rha_error_free(err);
            {
                /* The reader stays failed: same error, no input consumed. */
                size_t pos = in.pos;
                rha_record rec2;
                rha_record_init(&rec2);
                CHECK(rha_journal_reader_next(r, &in, &rec2, NULL) == rc);
                CHECK(in.pos == pos);
                CHECK(rha_journal_reader_finish(r, &d->end, NULL) == rc);
            }
            rha_journal_reader_free(r);
            return;
        }
        fed += take;
        if (fed == len) {
            break;
        }
    }
    {
        rha_record rec;
        rha_record_init(&rec);
        CHECK(rha_journal_reader_next(r, NULL, &rec, NULL) == RHA_BLOCKED);
    }
    {
        rha_error *err = NULL;
        d->rc = rha_journal_reader_finish(r, &d->end, &err);
        if (d->rc != RHA_OK) {
            d->has_offset = rha_error_offset(err, &d->err_offset);
            d->has_seq = rha_error_last_seq(err, &d->err_seq);
        }
        rha_error_free(err);
    }
    rha_journal_reader_free(r);
}

/* Whether a decode returned exactly `n` expected records and ended cleanly
 * at `len`. */
int decoded_all(const struct decoded *d, size_t n, size_t len)
{
    return d->rc == RHA_OK && d->n == n && d->mismatches == 0 && d->end.torn == 0 &&
           d->end.offset == len && d->end.tail_len == 0;
}
