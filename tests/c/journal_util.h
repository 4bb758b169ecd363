/* Helpers of the C tests: sample records, encoding and decoding loops. */
#ifndef RHA_TEST_JOURNAL_UTIL_H
#define RHA_TEST_JOURNAL_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "rha.h"

#define MAX_RECORDS 32
#define BIG_LEN 70000 /* larger than the writer's 64 KiB direct-write threshold */

/* A growable byte buffer. */
struct buf {
    uint8_t *p;
    size_t len;
};

void buf_append(struct buf *b, const uint8_t *data, size_t n);
void buf_free(struct buf *b);

/* A view of a NUL-terminated string (without the NUL). */
rha_bytes S(const char *s);
/* A view of n bytes at p (NULL when n is 0). */
rha_bytes BN(const uint8_t *p, size_t n);

/* Fills `recs` (MAX_RECORDS entries) with at least one record of every
 * operation (and, if `with_big`, a BIG_LEN-byte block write); returns how
 * many. */
size_t sample_records(rha_record *recs, int with_big);

/* Whether `got` is `want` with sequence number `seq` (every field, so the
 * fields an operation does not use must be zero). */
int record_equal(const rha_record *want, const rha_record *got, uint64_t seq);

struct writer_opts {
    int32_t zstd_level; /* 0: off */
    size_t batch_bytes; /* 0: default */
    uint64_t first_seq; /* 0: default (1) */
    size_t drain_chunk; /* output room per drain call */
};

/* Encodes `recs` into `out`; checks the sequence numbers assigned. */
void encode(const rha_record *recs, size_t n, struct writer_opts o, struct buf *out);

struct decoded {
    size_t n;             /* records returned */
    size_t mismatches;    /* records that differ from the expected ones */
    rha_result rc;        /* RHA_OK: finish succeeded; else the error code */
    rha_journal_end end;  /* when rc == RHA_OK */
    int has_offset;       /* error details */
    uint64_t err_offset;
    int has_seq;
    uint64_t err_seq;
    uint64_t frame_end[MAX_RECORDS]; /* rha_journal_reader_offset after each record */
};

/* Decodes `len` bytes fed `chunk` bytes at a time, comparing the records with
 * `want` (numbered from `first_seq`), then finishes. */
void decode(const uint8_t *bytes, size_t len, size_t chunk, const rha_record *want,
            size_t n_want, uint64_t first_seq, struct decoded *d);

/* Whether a decode returned exactly `n` expected records and ended cleanly
 * at `len`. */
int decoded_all(const struct decoded *d, size_t n, size_t len);

#endif /* RHA_TEST_JOURNAL_UTIL_H */
