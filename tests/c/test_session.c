/*
 * C tests of the sans-IO replication session in include/rha.h: a master and
 * a replica wired together in memory (the test is their transport): the
 * handshake, journal frames delivered byte-exact, the window (RHA_BLOCKED,
 * then a grant), acknowledgements, control requests, heartbeats and
 * silence, close, garbage from the peer, and bad arguments. Run by
 * tests/c/run.sh (shared, static, ASan+UBSan, valgrind).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "journal_util.h"
#include "rha.h"

#define MS 1000000ULL
#define SEC (1000 * MS)

#define TEXT(s) (const uint8_t *)(s), strlen(s)

/* A session of `role` serving the test scenario at `now`: generation 1,
 * stored up to record `stored` of epoch 1, heartbeat 1 s, timeout 5 s, a
 * replica window of `window` bytes. */
static rha_session *make(uint32_t role, uint64_t stored, uint64_t window, uint64_t now)
{
    rha_session_config c;
    rha_session_config_init(&c);
    CHECK(c.struct_size == sizeof c);
    CHECK(c.heartbeat_ms == 3000 && c.timeout_ms == 30000 && c.window == 8u << 20);
    c.role = role;
    memset(c.node, (int)role, sizeof c.node);
    memset(c.scenario, 7, sizeof c.scenario);
    c.generations.current = 1;
    c.stored.epoch = 1;
    c.stored.seq = stored;
    c.heartbeat_ms = 1000;
    c.timeout_ms = 5000;
    c.window = window;
    c.name = S(role == RHA_SESSION_MASTER ? "alpha" : "beta");
    rha_session *s = NULL;
    CHECK_OK(rha_session_new(&c, now, &s, &E));
    CHECK(s != NULL);
    return s;
}

/* Takes everything `s` has to send, `chunk` bytes per call, into `out`
 * (appended). */
static void take_all(rha_session *s, size_t chunk, struct buf *out)
{
    uint8_t room[4096];
    if (chunk > sizeof room) {
        chunk = sizeof room;
    }
    for (;;) {
        rha_out_buffer o = {room, chunk, 0};
        rha_error *err = NULL;
        rha_result rc = rha_session_take_output(s, &o, &err);
        CHECK(rc == RHA_OK || rc == RHA_BLOCKED);
        CHECK(err == NULL);
        rha_error_free(err);
        buf_append(out, room, o.pos);
        if (rc != RHA_BLOCKED) {
            return;
        }
    }
}

/* Delivers what `from` has to send to `to` at `now`, fed in `chunk`-byte
 * pieces; returns the bytes moved. */
static size_t pump(rha_session *from, rha_session *to, uint64_t now, size_t chunk)
{
    struct buf b = {NULL, 0};
    take_all(from, 4096, &b);
    for (size_t at = 0; at < b.len; at += chunk) {
        size_t n = b.len - at < chunk ? b.len - at : chunk;
        CHECK_OK(rha_session_receive(to, b.p + at, n, now, &E));
    }
    size_t moved = b.len;
    buf_free(&b);
    return moved;
}

/* Pumps both ways until neither side has anything to send. */
static void exchange(rha_session *a, rha_session *b, uint64_t now)
{
    while (pump(a, b, now, 7) + pump(b, a, now, 4096) > 0) {
    }
}

/* The next event of `s` (kind 0 if there is none). */
static rha_session_event next_event(rha_session *s)
{
    rha_session_event e;
    memset(&e, 0, sizeof e);
    e.struct_size = sizeof e;
    rha_error *err = NULL;
    rha_result rc = rha_session_poll_event(s, &e, &err);
    CHECK(rc == RHA_OK || rc == RHA_DONE);
    rha_error_free(err);
    if (rc == RHA_DONE) {
        memset(&e, 0, sizeof e);
    }
    return e;
}

static int bytes_are(rha_bytes b, const char *s)
{
    return b.len == strlen(s) && (b.len == 0 || memcmp(b.ptr, s, b.len) == 0);
}

/* A connected pair: the master holds up to record 10, the replica stored up
 * to 4, so the journal resumes after 4. */
static void connect_pair(rha_session **m, rha_session **r, uint64_t window)
{
    *m = make(RHA_SESSION_MASTER, 10, 0, 0);
    *r = make(RHA_SESSION_REPLICA, 4, window, 0);
    exchange(*m, *r, 1 * MS);
    rha_session_event e = next_event(*m);
    CHECK(e.kind == RHA_SESSION_EVENT_CONNECTED);
    e = next_event(*r);
    CHECK(e.kind == RHA_SESSION_EVENT_CONNECTED);
}

static void test_handshake(void)
{
    rha_session *m = make(RHA_SESSION_MASTER, 10, 0, 0);
    rha_session *r = make(RHA_SESSION_REPLICA, 4, 1000, 0);
    CHECK(!rha_session_is_connected(m) && !rha_session_is_closed(m));
    CHECK(rha_session_pending(m) > 8); /* preface and hello wait */

    rha_session_hello h;
    memset(&h, 0, sizeof h);
    h.struct_size = sizeof h;
    rha_error *err = NULL;
    CHECK(rha_session_peer(m, &h, &err) == RHA_BLOCKED && err == NULL);
    CHECK(h.role == 0); /* untouched */

    rha_session_event e = next_event(m);
    CHECK(e.kind == 0);

    exchange(m, r, 1 * MS);
    rha_session *sides[2] = {m, r};
    for (int i = 0; i < 2; i++) {
        e = next_event(sides[i]);
        CHECK(e.kind == RHA_SESSION_EVENT_CONNECTED);
        CHECK(e.struct_size == sizeof e);
        CHECK(e.version == 1);
        CHECK(e.resume_after.epoch == 1 && e.resume_after.seq == 4);
        CHECK(!e.sync_needed);
        CHECK(rha_session_is_connected(sides[i]));
        CHECK(rha_session_last_seq(sides[i]) == 4);
        CHECK(next_event(sides[i]).kind == 0);
    }
    CHECK(rha_session_window(m) == 1000);

    CHECK_OK(rha_session_peer(m, &h, &E));
    CHECK(h.role == RHA_SESSION_REPLICA);
    CHECK(bytes_are(h.name, "beta"));
    CHECK(h.window == 1000 && h.stored.seq == 4 && h.generations.current == 1);
    CHECK(h.node[0] == RHA_SESSION_REPLICA && h.scenario[15] == 7);
    CHECK(h.version_min == 1 && h.version_max == 1 && h.heartbeat_ms == 1000);
    CHECK_OK(rha_session_peer(r, &h, &E));
    CHECK(h.role == RHA_SESSION_MASTER && bytes_are(h.name, "alpha") && h.window == 0);

    rha_session_free(m);
    rha_session_free(r);
}

static void test_sync_needed_for_an_empty_replica(void)
{
    rha_session *m = make(RHA_SESSION_MASTER, 10, 0, 0);
    rha_session_config c;
    rha_session_config_init(&c);
    c.role = RHA_SESSION_REPLICA;
    memset(c.scenario, 7, sizeof c.scenario);
    rha_session *r = NULL;
    CHECK_OK(rha_session_new(&c, 0, &r, &E));
    exchange(m, r, 0);
    rha_session_event e = next_event(r);
    CHECK(e.kind == RHA_SESSION_EVENT_CONNECTED && e.sync_needed);
    CHECK(e.resume_after.epoch == 1 && e.resume_after.seq == 0);
    rha_session_free(m);
    rha_session_free(r);
}

static void test_journal_frames_arrive_byte_exact(void)
{
    rha_session *m, *r;
    connect_pair(&m, &r, 8u << 20);

    /* Real journal frames: records 5.. as the journal writer frames them,
     * without the 16-byte stream header. */
    rha_record recs[MAX_RECORDS];
    size_t n = sample_records(recs, 1);
    struct writer_opts o = {0, 0, 5, 4096};
    struct buf journal = {NULL, 0};
    encode(recs, n, o, &journal);
    CHECK(journal.len > 16 + BIG_LEN);
    const uint8_t *frames = journal.p + 16;
    size_t frames_len = journal.len - 16;

    CHECK_OK(rha_session_send_journal(m, 5, 4 + n, frames, frames_len, &E));
    CHECK(rha_session_last_seq(m) == 4 + n);
    CHECK(rha_session_window(m) == (8u << 20) - frames_len);
    exchange(m, r, 2 * MS);

    rha_session_event e = next_event(r);
    CHECK(e.kind == RHA_SESSION_EVENT_JOURNAL);
    CHECK(e.epoch == 1 && e.first == 5 && e.last == 4 + n);
    CHECK(e.frames.len == frames_len);
    CHECK(e.frames.ptr != NULL && memcmp(e.frames.ptr, frames, frames_len) == 0);
    CHECK(rha_session_last_seq(r) == 4 + n);

    /* The frames decode as the records sent: the view is the journal. */
    struct buf again = {NULL, 0};
    buf_append(&again, journal.p, 16);
    buf_append(&again, e.frames.ptr, e.frames.len);
    struct decoded d;
    decode(again.p, again.len, 4096, recs, n, 5, &d);
    CHECK(decoded_all(&d, n, again.len));
    buf_free(&again);

    /* Out of order: a gap, a repeat, last below first. */
    CHECK_FAILS(rha_session_send_journal(m, 7 + n, 7 + n, TEXT("x"), &E),
                RHA_SESSION_OUT_OF_ORDER, "continue at sequence number");
    CHECK_FAILS(rha_session_send_journal(m, 5, 5, TEXT("x"), &E), RHA_SESSION_OUT_OF_ORDER, NULL);
    CHECK_FAILS(rha_session_send_journal(m, 5 + n, 4 + n, TEXT("x"), &E),
                RHA_SESSION_OUT_OF_ORDER, NULL);
    CHECK_FAILS(rha_session_send_journal(m, 5 + n, 5 + n, NULL, 0, &E), RHA_INVALID_ARGUMENT,
                "empty");
    CHECK_FAILS(rha_session_send_journal(m, 5 + n, 5 + n, NULL, 3, &E), RHA_NULL_PARAMETER,
                "frames");
    /* The wrong role. */
    CHECK_FAILS(rha_session_send_journal(r, 5 + n, 5 + n, TEXT("x"), &E), RHA_SESSION_WRONG_ROLE,
                NULL);
    CHECK(rha_session_pending(m) == 0 && rha_session_pending(r) == 0);

    buf_free(&journal);
    rha_session_free(m);
    rha_session_free(r);
}

static void test_window_blocks_until_a_grant(void)
{
    rha_session *m, *r;
    connect_pair(&m, &r, 100);
    uint8_t frames[60];
    memset(frames, 0xAB, sizeof frames);

    CHECK(rha_session_window(m) == 100);
    CHECK_OK(rha_session_send_journal(m, 5, 5, frames, sizeof frames, &E));
    CHECK(rha_session_window(m) == 40);
    size_t before = rha_session_pending(m);
    rha_error *err = NULL;
    CHECK(rha_session_send_journal(m, 6, 6, frames, sizeof frames, &err) == RHA_BLOCKED);
    CHECK(err == NULL); /* a status, not an error */
    CHECK(rha_session_pending(m) == before && rha_session_last_seq(m) == 5);
    exchange(m, r, 2 * MS);
    CHECK(next_event(r).kind == RHA_SESSION_EVENT_JOURNAL);

    /* The master may not grant; the replica grants, the master hears it. */
    CHECK_FAILS(rha_session_grant(m, 100, &E), RHA_SESSION_WRONG_ROLE, "may do this");
    CHECK_OK(rha_session_grant(r, 100, &E));
    exchange(m, r, 3 * MS);
    CHECK(rha_session_window(m) == 140);
    CHECK_OK(rha_session_send_journal(m, 6, 6, frames, sizeof frames, &E));
    exchange(m, r, 4 * MS);
    rha_session_event e = next_event(r);
    CHECK(e.kind == RHA_SESSION_EVENT_JOURNAL && e.first == 6 && e.frames.len == 60);

    rha_session_free(m);
    rha_session_free(r);
}

static void test_frames_larger_than_a_message_are_refused(void)
{
    rha_session_config c;
    rha_session_config_init(&c);
    c.role = RHA_SESSION_MASTER;
    memset(c.scenario, 7, sizeof c.scenario);
    c.generations.current = 1;
    c.stored.epoch = 1;
    c.stored.seq = 10;
    c.max_body = 4096; /* the least a hello may announce; 4072 bytes of frames */
    rha_session *m = NULL;
    CHECK_OK(rha_session_new(&c, 0, &m, &E));
    rha_session *r = make(RHA_SESSION_REPLICA, 4, 1 << 20, 0);
    exchange(m, r, 1 * MS);
    CHECK(rha_session_is_connected(m));
    static uint8_t frames[4073];
    memset(frames, 1, sizeof frames);
    CHECK_FAILS(rha_session_send_journal(m, 5, 5, frames, sizeof frames, &E),
                RHA_SESSION_TOO_LARGE, "4073 bytes");
    CHECK_OK(rha_session_send_journal(m, 5, 5, frames, sizeof frames - 1, &E));
    rha_session_free(m);
    rha_session_free(r);
}

static void test_acknowledgements(void)
{
    rha_session *m, *r;
    connect_pair(&m, &r, 1000);
    CHECK_OK(rha_session_send_journal(m, 5, 8, TEXT("frames"), &E));
    exchange(m, r, 2 * MS);
    CHECK(next_event(r).kind == RHA_SESSION_EVENT_JOURNAL);

    CHECK_OK(rha_session_ack(r, RHA_SESSION_ACK_STORED, 1, 8, &E));
    CHECK_FAILS(rha_session_ack(r, RHA_SESSION_ACK_STORED, 1, 9, &E), RHA_SESSION_BAD_ACK,
                "beyond the last record received");
    CHECK_FAILS(rha_session_ack(r, RHA_SESSION_ACK_STORED, 1, 7, &E), RHA_SESSION_BAD_ACK,
                "behind");
    CHECK_FAILS(rha_session_ack(r, RHA_SESSION_ACK_STORED, 2, 8, &E), RHA_SESSION_BAD_ACK,
                "epoch");
    CHECK_OK(rha_session_ack(r, RHA_SESSION_ACK_APPLIED, 1, 6, &E));
    CHECK_FAILS(rha_session_ack(r, 9, 1, 6, &E), RHA_INVALID_ARGUMENT, "acknowledgement kind 9");
    CHECK_FAILS(rha_session_ack(m, RHA_SESSION_ACK_STORED, 1, 8, &E), RHA_SESSION_WRONG_ROLE,
                NULL);
    exchange(m, r, 3 * MS);

    rha_session_event e = next_event(m);
    CHECK(e.kind == RHA_SESSION_EVENT_ACKED && e.ack_kind == RHA_SESSION_ACK_STORED);
    CHECK(e.at.epoch == 1 && e.at.seq == 8);
    e = next_event(m);
    CHECK(e.kind == RHA_SESSION_EVENT_ACKED && e.ack_kind == RHA_SESSION_ACK_APPLIED);
    CHECK(e.at.seq == 6);
    CHECK(next_event(m).kind == 0);

    rha_session_free(m);
    rha_session_free(r);
}

static void test_control_requests(void)
{
    rha_session *m, *r;
    connect_pair(&m, &r, 1000);
    CHECK_OK(rha_session_control(m, RHA_SESSION_CONTROL_PAUSE, 0, 0, NULL, 0, &E));
    CHECK_OK(rha_session_control(m, RHA_SESSION_CONTROL_BOOKMARK, 1, 4, TEXT("before upgrade"), &E));
    CHECK_OK(rha_session_control(m, RHA_SESSION_CONTROL_RESUME, 0, 0, NULL, 0, &E));
    CHECK_FAILS(rha_session_control(m, 0, 0, 0, NULL, 0, &E), RHA_INVALID_ARGUMENT,
                "control kind 0");
    CHECK_FAILS(rha_session_control(m, RHA_SESSION_CONTROL_BOOKMARK, 1, 4, TEXT("\xff"), &E),
                RHA_INVALID_ARGUMENT, "UTF-8");
    CHECK_FAILS(rha_session_control(r, RHA_SESSION_CONTROL_PAUSE, 0, 0, NULL, 0, &E),
                RHA_SESSION_WRONG_ROLE, NULL);
    exchange(m, r, 2 * MS);

    rha_session_event e = next_event(r);
    CHECK(e.kind == RHA_SESSION_EVENT_CONTROL && e.control == RHA_SESSION_CONTROL_PAUSE);
    CHECK(e.name.len == 0 && e.name.ptr == NULL);
    e = next_event(r);
    CHECK(e.kind == RHA_SESSION_EVENT_CONTROL && e.control == RHA_SESSION_CONTROL_BOOKMARK);
    CHECK(e.at.epoch == 1 && e.at.seq == 4 && bytes_are(e.name, "before upgrade"));
    e = next_event(r);
    CHECK(e.kind == RHA_SESSION_EVENT_CONTROL && e.control == RHA_SESSION_CONTROL_RESUME);
    CHECK(next_event(r).kind == 0);

    rha_session_free(m);
    rha_session_free(r);
}

static void test_silence_ends_the_session(void)
{
    rha_session *m, *r;
    connect_pair(&m, &r, 1000);
    uint64_t deadline = 0;
    CHECK(rha_session_poll_timeout(m, &deadline));
    CHECK(deadline == 1 * SEC); /* the first heartbeat */
    CHECK_OK(rha_session_handle_timeout(m, deadline, &E));
    CHECK(rha_session_pending(m) > 0); /* a heartbeat, never delivered */
    CHECK(next_event(m).kind == 0);

    /* The replica hears nothing after 1 ms: driven by its deadlines
     * (heartbeats every second), it is silent at exactly 5.001 s. */
    uint64_t last = 0;
    int rounds = 0;
    while (rha_session_poll_timeout(r, &deadline) && rounds++ < 100) {
        CHECK(deadline > last);
        CHECK(!rha_session_is_closed(r));
        CHECK_OK(rha_session_handle_timeout(r, deadline, &E));
        last = deadline;
    }
    CHECK(last == 5 * SEC + 1 * MS);
    rha_session_event e = next_event(r);
    CHECK(e.kind == RHA_SESSION_EVENT_SILENT);
    e = next_event(r);
    CHECK(e.kind == RHA_SESSION_EVENT_CLOSED && e.reason == RHA_SESSION_REASON_TIMEOUT);
    CHECK(!e.by_peer && e.text.len > 0);
    CHECK(rha_session_is_closed(r) && !rha_session_is_connected(r));
    deadline = 42;
    CHECK(!rha_session_poll_timeout(r, &deadline) && deadline == 42);
    CHECK_FAILS(rha_session_grant(r, 1, &E), RHA_SESSION_NOT_CONNECTED, "not connected");

    /* The master hears the close (the heartbeat it queued is dropped). */
    struct buf junk = {NULL, 0};
    take_all(m, 4096, &junk);
    buf_free(&junk);
    pump(r, m, 6 * SEC, 3);
    e = next_event(m);
    CHECK(e.kind == RHA_SESSION_EVENT_CLOSED && e.reason == RHA_SESSION_REASON_TIMEOUT);
    CHECK(e.by_peer);

    rha_session_free(m);
    rha_session_free(r);
}

static void test_close_with_reason_and_text(void)
{
    rha_session *m, *r;
    connect_pair(&m, &r, 1000);
    CHECK_FAILS(rha_session_close(m, 99, TEXT("x"), &E), RHA_INVALID_ARGUMENT, "close reason 99");
    CHECK(!rha_session_is_closed(m));
    CHECK_OK(rha_session_close(m, RHA_SESSION_REASON_DONE, TEXT("operator shutdown"), &E));
    CHECK(rha_session_is_closed(m));
    rha_session_event e = next_event(m);
    CHECK(e.kind == RHA_SESSION_EVENT_CLOSED && !e.by_peer);
    CHECK(e.reason == RHA_SESSION_REASON_DONE && bytes_are(e.text, "operator shutdown"));
    /* A second close does nothing. */
    CHECK_OK(rha_session_close(m, RHA_SESSION_REASON_FAILURE, NULL, 0, &E));
    CHECK(next_event(m).kind == 0);
    CHECK_FAILS(rha_session_send_journal(m, 5, 5, TEXT("x"), &E), RHA_SESSION_NOT_CONNECTED,
                NULL);

    pump(m, r, 2 * MS, 1);
    e = next_event(r);
    CHECK(e.kind == RHA_SESSION_EVENT_CLOSED && e.by_peer);
    CHECK(e.reason == RHA_SESSION_REASON_DONE && bytes_are(e.text, "operator shutdown"));
    CHECK(rha_session_is_closed(r) && rha_session_pending(r) == 0);

    rha_session_free(m);
    rha_session_free(r);
}

/* Whether the view `b` holds `needle`. */
static int bytes_contain(rha_bytes b, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= b.len; i++) {
        if (memcmp(b.ptr + i, needle, n) == 0) {
            return 1;
        }
    }
    return 0;
}

static void test_garbage_from_the_peer_closes(void)
{
    rha_session *m = make(RHA_SESSION_MASTER, 10, 0, 0);
    rha_session *r = make(RHA_SESSION_REPLICA, 4, 1000, 0);
    CHECK_OK(rha_session_receive(r, TEXT("GET / HTTP/1.1\r\n\r\n"), 1 * MS, &E));
    rha_session_event e = next_event(r);
    CHECK(e.kind == RHA_SESSION_EVENT_CLOSED);
    CHECK(e.reason == RHA_SESSION_REASON_PROTOCOL && !e.by_peer);
    CHECK(bytes_contain(e.text, "preface"));

    /* After a good preface and hello, a damaged message: the same. */
    rha_session *r2 = make(RHA_SESSION_REPLICA, 4, 1000, 0);
    struct buf b = {NULL, 0};
    take_all(m, 4096, &b);
    b.p[b.len - 1] ^= 0x01; /* the hello's last byte: its checksum fails */
    CHECK_OK(rha_session_receive(r2, b.p, b.len, 1 * MS, &E));
    buf_free(&b);
    e = next_event(r2);
    CHECK(e.kind == RHA_SESSION_EVENT_CLOSED && e.reason == RHA_SESSION_REASON_PROTOCOL);
    CHECK(bytes_contain(e.text, "checksum"));
    rha_session_free(r2);
    /* Once closed, bytes are ignored. */
    CHECK_OK(rha_session_receive(r, TEXT("more"), 2 * MS, &E));
    CHECK(next_event(r).kind == 0);

    /* The master hears why (after the replica's hello). */
    pump(r, m, 3 * MS, 5);
    e = next_event(m);
    while (e.kind == RHA_SESSION_EVENT_CONNECTED) {
        e = next_event(m);
    }
    CHECK(e.kind == RHA_SESSION_EVENT_CLOSED && e.by_peer);
    CHECK(e.reason == RHA_SESSION_REASON_PROTOCOL);

    rha_session_free(m);
    rha_session_free(r);
}

static void test_output_in_small_pieces(void)
{
    rha_session *m = make(RHA_SESSION_MASTER, 10, 0, 0);
    size_t want = rha_session_pending(m);
    struct buf b = {NULL, 0};
    int blocked = 0;
    uint8_t room[3];
    for (;;) {
        rha_out_buffer o = {room, sizeof room, 0};
        rha_result rc = rha_session_take_output(m, &o, NULL);
        buf_append(&b, room, o.pos);
        if (rc == RHA_BLOCKED) {
            blocked++;
            continue;
        }
        CHECK(rc == RHA_OK);
        break;
    }
    CHECK(b.len == want && blocked > 0);
    CHECK(memcmp(b.p, "\x89RHAS\r\n\x1a", 8) == 0);
    CHECK(rha_session_pending(m) == 0);
    rha_out_buffer o = {room, sizeof room, 0};
    CHECK_OK(rha_session_take_output(m, &o, &E));
    CHECK(o.pos == 0);
    o.pos = 4;
    CHECK_FAILS(rha_session_take_output(m, &o, &E), RHA_INVALID_ARGUMENT, NULL);
    o.dst = NULL;
    o.size = 0;
    o.pos = 0;
    CHECK_OK(rha_session_take_output(m, &o, &E)); /* nothing to write: fine */
    buf_free(&b);
    rha_session_free(m);
}

static void test_bad_arguments(void)
{
    rha_session_config c;
    rha_session_config_init(&c);
    rha_session *s = (rha_session *)&c; /* a stale value: must become NULL */
    CHECK_FAILS(rha_session_new(&c, 0, &s, &E), RHA_INVALID_ARGUMENT, "role 0");
    CHECK(s == NULL);
    c.role = 3;
    CHECK_FAILS(rha_session_new(&c, 0, &s, &E), RHA_INVALID_ARGUMENT, "role 3");
    c.role = RHA_SESSION_MASTER;
    c.struct_size = 7;
    CHECK_FAILS(rha_session_new(&c, 0, &s, &E), RHA_INVALID_ARGUMENT, "struct_size is 7");
    c.struct_size = sizeof c;
    c.timeout_ms = 0;
    CHECK_FAILS(rha_session_new(&c, 0, &s, &E), RHA_INVALID_ARGUMENT, "timeout_ms");
    c.timeout_ms = 1000;
    c.name = BN((const uint8_t *)"\xc3", 1);
    CHECK_FAILS(rha_session_new(&c, 0, &s, &E), RHA_INVALID_ARGUMENT, "UTF-8");
    c.name = S("alpha");
    CHECK_FAILS(rha_session_new(NULL, 0, &s, &E), RHA_NULL_PARAMETER, "config");
    CHECK_FAILS(rha_session_new(&c, 0, NULL, &E), RHA_NULL_PARAMETER, "session_out");
    CHECK(s == NULL);

    CHECK_FAILS(rha_session_receive(NULL, NULL, 0, 0, &E), RHA_NULL_PARAMETER, "session");
    CHECK_FAILS(rha_session_handle_timeout(NULL, 0, &E), RHA_NULL_PARAMETER, NULL);
    CHECK_FAILS(rha_session_grant(NULL, 1, &E), RHA_NULL_PARAMETER, NULL);
    CHECK_FAILS(rha_session_ack(NULL, RHA_SESSION_ACK_STORED, 0, 0, &E), RHA_NULL_PARAMETER, NULL);
    CHECK_FAILS(rha_session_close(NULL, RHA_SESSION_REASON_DONE, NULL, 0, &E), RHA_NULL_PARAMETER,
                NULL);
    CHECK(rha_session_pending(NULL) == 0 && rha_session_window(NULL) == 0);
    CHECK(rha_session_last_seq(NULL) == 0);
    CHECK(!rha_session_is_connected(NULL) && rha_session_is_closed(NULL));
    uint64_t t = 0;
    CHECK(!rha_session_poll_timeout(NULL, &t));
    rha_session_free(NULL);
    rha_session_config_init(NULL);

    CHECK_OK(rha_session_new(&c, 0, &s, &E));
    CHECK_FAILS(rha_session_receive(s, NULL, 5, 0, &E), RHA_NULL_PARAMETER, "bytes");
    CHECK_FAILS(rha_session_take_output(s, NULL, &E), RHA_NULL_PARAMETER, "output");
    CHECK_FAILS(rha_session_poll_event(s, NULL, &E), RHA_NULL_PARAMETER, "event_out");
    rha_session_event e;
    memset(&e, 0, sizeof e);
    e.struct_size = 3;
    CHECK_FAILS(rha_session_poll_event(s, &e, &E), RHA_INVALID_ARGUMENT, "rha_session_event");
    rha_session_hello h;
    memset(&h, 0, sizeof h);
    CHECK_FAILS(rha_session_peer(s, &h, &E), RHA_INVALID_ARGUMENT, "rha_session_hello");
    /* Requests before the handshake. */
    CHECK_FAILS(rha_session_send_journal(s, 1, 1, TEXT("x"), &E), RHA_SESSION_NOT_CONNECTED, NULL);
    CHECK_FAILS(rha_session_control(s, RHA_SESSION_CONTROL_PAUSE, 0, 0, NULL, 0, &E),
                RHA_SESSION_NOT_CONNECTED, NULL);
    rha_session_free(s);
}

int main(void)
{
    static const struct test_case cases[] = {
        {"session: handshake, connected events, the peer's hello", test_handshake},
        {"session: an empty replica needs a sync", test_sync_needed_for_an_empty_replica},
        {"session: journal frames arrive byte-exact, in order",
         test_journal_frames_arrive_byte_exact},
        {"session: a full window blocks until a grant", test_window_blocks_until_a_grant},
        {"session: frames larger than a message are refused",
         test_frames_larger_than_a_message_are_refused},
        {"session: stored and applied acknowledgements", test_acknowledgements},
        {"session: pause, bookmark, resume", test_control_requests},
        {"session: silence ends the session on both sides", test_silence_ends_the_session},
        {"session: close with a reason and text", test_close_with_reason_and_text},
        {"session: garbage from the peer closes with protocol",
         test_garbage_from_the_peer_closes},
        {"session: output taken in small pieces", test_output_in_small_pieces},
        {"session: bad arguments", test_bad_arguments},
    };
    return run_cases(cases, sizeof cases / sizeof cases[0]) == 0 ? 0 : 1;
}
