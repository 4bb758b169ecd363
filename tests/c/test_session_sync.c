/*
 * C tests of a sync over the sans-IO replication session in include/rha.h:
 * a master that can sync and an empty replica wired together in memory
 * (the test is their transport). The master syncs the replica (begin, a
 * batch of journal frames made by the journal writer, a check, the end),
 * the replica answers (its tree, progress, done), and both go on to the
 * journal; block requests and mismatches; the older struct sizes; and
 * refused sync messages. Run by tests/c/run.sh (shared, static,
 * ASan+UBSan, valgrind).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "journal_util.h"
#include "rha.h"

#define MS 1000000ULL

#define TEXT(s) (const uint8_t *)(s), strlen(s)

/* A session of `role` serving the test scenario: a master of generation 1
 * holding records up to 10 of epoch 1, able to sync (`can_sync`); or an
 * empty replica (no data, nothing stored), which needs a sync. */
static rha_session *make(uint32_t role, uint8_t can_sync, uint64_t max_body)
{
    rha_session_config c;
    rha_session_config_init(&c);
    CHECK(c.struct_size == sizeof c);
    CHECK(c.can_sync == 0 && c.resync == 0 && c.first_held == 0);
    c.role = role;
    memset(c.node, (int)role, sizeof c.node);
    memset(c.scenario, 7, sizeof c.scenario);
    if (role == RHA_SESSION_MASTER) {
        c.generations.current = 1;
        c.stored.epoch = 1;
        c.stored.seq = 10;
        c.can_sync = can_sync;
        c.first_held = 1;
    }
    if (max_body) {
        c.max_body = max_body;
    }
    rha_session *s = NULL;
    CHECK_OK(rha_session_new(&c, 0, &s, &E));
    CHECK(s != NULL);
    return s;
}

/* Takes everything `s` has to send into `out` (appended). */
static void take_all(rha_session *s, struct buf *out)
{
    uint8_t room[4096];
    for (;;) {
        rha_out_buffer o = {room, sizeof room, 0};
        rha_result rc = rha_session_take_output(s, &o, NULL);
        CHECK(rc == RHA_OK || rc == RHA_BLOCKED);
        buf_append(out, room, o.pos);
        if (rc != RHA_BLOCKED) {
            return;
        }
    }
}

/* Delivers what `from` has to send to `to` in 5-byte pieces; returns the
 * bytes moved. */
static size_t pump(rha_session *from, rha_session *to, uint64_t now)
{
    struct buf b = {NULL, 0};
    take_all(from, &b);
    for (size_t at = 0; at < b.len; at += 5) {
        size_t n = b.len - at < 5 ? b.len - at : 5;
        CHECK_OK(rha_session_receive(to, b.p + at, n, now, &E));
    }
    size_t moved = b.len;
    buf_free(&b);
    return moved;
}

/* Pumps both ways until neither side has anything to send. */
static void exchange(rha_session *a, rha_session *b, uint64_t now)
{
    while (pump(a, b, now) + pump(b, a, now) > 0) {
    }
}

/* The next event of `s` (kind 0 if there is none). */
static rha_session_event next_event(rha_session *s)
{
    rha_session_event e;
    memset(&e, 0, sizeof e);
    e.struct_size = sizeof e;
    rha_result rc = rha_session_poll_event(s, &e, NULL);
    CHECK(rc == RHA_OK || rc == RHA_DONE);
    if (rc == RHA_DONE) {
        memset(&e, 0, sizeof e);
    }
    return e;
}

static int bytes_are(rha_bytes b, const uint8_t *p, size_t n)
{
    return b.len == n && (n == 0 || (b.ptr != NULL && memcmp(b.ptr, p, n) == 0));
}

/* A message of `kind` for run `id`, the rest zero. */
static rha_session_sync_message message(uint32_t kind, uint64_t id)
{
    rha_session_sync_message m;
    rha_session_sync_message_init(&m);
    CHECK(m.struct_size == sizeof m);
    m.sync_kind = kind;
    m.id = id;
    return m;
}

/* A connected pair: a master that can sync and an empty replica, which it
 * syncs first; the journal resumes after the master's record 10. */
static void connect_for_sync(rha_session **m, rha_session **r, uint64_t max_body)
{
    *m = make(RHA_SESSION_MASTER, 1, max_body);
    *r = make(RHA_SESSION_REPLICA, 0, max_body);
    exchange(*m, *r, 1 * MS);
    rha_session *sides[2] = {*m, *r};
    for (int i = 0; i < 2; i++) {
        rha_session_event e = next_event(sides[i]);
        CHECK(e.kind == RHA_SESSION_EVENT_CONNECTED);
        CHECK(e.sync_needed && e.sync);
        CHECK(e.resume_after.epoch == 1 && e.resume_after.seq == 10);
    }
}

static void test_a_master_syncs_a_replica_then_the_journal_follows(void)
{
    rha_session *m, *r;
    connect_for_sync(&m, &r, 0);

    /* The master begins run 42; the replica hears it. */
    rha_session_sync_message msg = message(RHA_SESSION_SYNC_BEGIN, 42);
    msg.mode = RHA_SYNC_FILE;
    msg.ignore_same = 1;
    CHECK_OK(rha_session_send_sync(m, &msg, &E));
    exchange(m, r, 2 * MS);
    rha_session_event e = next_event(r);
    CHECK(e.kind == RHA_SESSION_EVENT_SYNC && e.sync_kind == RHA_SESSION_SYNC_BEGIN);
    CHECK(e.sync_id == 42 && e.sync_mode == RHA_SYNC_FILE && e.sync_ignore_same);
    CHECK(e.sync_block_size == 65536); /* 0 asked for the default */
    CHECK(e.sync_data.len == 0 && e.sync_path.len == 0);
    CHECK(next_event(r).kind == 0);

    /* The replica answers with its tree signature, in two pieces. */
    static const uint8_t sig1[] = "tree signature, first piece";
    static const uint8_t sig2[] = "and the last";
    msg = message(RHA_SESSION_SYNC_REPLY_TREE, 42);
    msg.data = BN(sig1, sizeof sig1);
    CHECK_OK(rha_session_send_sync_reply(r, &msg, &E));
    msg.data = BN(sig2, sizeof sig2);
    msg.last = 1;
    CHECK_OK(rha_session_send_sync_reply(r, &msg, &E));
    exchange(m, r, 3 * MS);
    e = next_event(m);
    CHECK(e.kind == RHA_SESSION_EVENT_SYNC_REPLY && e.sync_kind == RHA_SESSION_SYNC_REPLY_TREE);
    CHECK(e.sync_id == 42 && !e.sync_last && bytes_are(e.sync_data, sig1, sizeof sig1));
    e = next_event(m);
    CHECK(e.kind == RHA_SESSION_EVENT_SYNC_REPLY && e.sync_kind == RHA_SESSION_SYNC_REPLY_TREE);
    CHECK(e.sync_last && bytes_are(e.sync_data, sig2, sizeof sig2));

    /* What the replica lacks, as journal frames numbered from 1 within the
     * run (the journal writer's, without its 16-byte stream header). */
    rha_record recs[3];
    for (int i = 0; i < 3; i++) {
        rha_record_init(&recs[i]);
        recs[i].timestamp_ns = UINT64_C(1700000000000000000) + (uint64_t)i;
    }
    recs[0].op = RHA_OP_MKDIR, recs[0].path = S("dir"), recs[0].mode = 0755;
    recs[1].op = RHA_OP_CREATE, recs[1].path = S("dir/file.txt"), recs[1].mode = 0644;
    recs[2].op = RHA_OP_WRITE, recs[2].path = S("dir/file.txt"), recs[2].data = S("hello");
    struct writer_opts o = {0, 0, 1, 4096};
    struct buf journal = {NULL, 0};
    encode(recs, 3, o, &journal);
    CHECK(journal.len > 16);
    msg = message(RHA_SESSION_SYNC_RECORDS, 42);
    msg.data = BN(journal.p + 16, journal.len - 16);
    CHECK_OK(rha_session_send_sync(m, &msg, &E));

    /* Then the check of the file those records wrote. */
    msg = message(RHA_SESSION_SYNC_CHECK, 42);
    msg.path = S("dir/file.txt");
    msg.len = 5;
    memset(msg.hash, 0x5a, sizeof msg.hash);
    CHECK_OK(rha_session_send_sync(m, &msg, &E));
    exchange(m, r, 4 * MS);

    e = next_event(r);
    CHECK(e.kind == RHA_SESSION_EVENT_SYNC && e.sync_kind == RHA_SESSION_SYNC_RECORDS);
    CHECK(e.sync_id == 42 && bytes_are(e.sync_data, journal.p + 16, journal.len - 16));
    /* The frames decode as the records sent, numbered from 1. */
    struct buf again = {NULL, 0};
    buf_append(&again, journal.p, 16);
    buf_append(&again, e.sync_data.ptr, e.sync_data.len);
    struct decoded d;
    decode(again.p, again.len, 4096, recs, 3, 1, &d);
    CHECK(decoded_all(&d, 3, again.len));
    buf_free(&again);

    e = next_event(r);
    CHECK(e.kind == RHA_SESSION_EVENT_SYNC && e.sync_kind == RHA_SESSION_SYNC_CHECK);
    CHECK(bytes_are(e.sync_path, (const uint8_t *)"dir/file.txt", 12));
    CHECK(e.sync_len == 5 && !e.sync_by_blocks);
    CHECK(e.sync_hash[0] == 0x5a && e.sync_hash[31] == 0x5a);

    /* The end; the replica reports progress, then done. */
    msg = message(RHA_SESSION_SYNC_END, 42);
    msg.replay_to = 10;
    msg.entries = 2;
    msg.bytes = 5;
    CHECK_OK(rha_session_send_sync(m, &msg, &E));
    exchange(m, r, 5 * MS);
    e = next_event(r);
    CHECK(e.kind == RHA_SESSION_EVENT_SYNC && e.sync_kind == RHA_SESSION_SYNC_END);
    CHECK(e.sync_replay_to == 10 && e.sync_entries == 2 && e.sync_bytes == 5);
    CHECK(next_event(r).kind == 0);

    msg = message(RHA_SESSION_SYNC_REPLY_PROGRESS, 42);
    msg.records = 3;
    msg.bytes = 5;
    CHECK_OK(rha_session_send_sync_reply(r, &msg, &E));
    msg = message(RHA_SESSION_SYNC_REPLY_DONE, 42);
    CHECK_OK(rha_session_send_sync_reply(r, &msg, &E));
    exchange(m, r, 6 * MS);
    e = next_event(m);
    CHECK(e.kind == RHA_SESSION_EVENT_SYNC_REPLY &&
          e.sync_kind == RHA_SESSION_SYNC_REPLY_PROGRESS);
    CHECK(e.sync_records == 3 && e.sync_bytes == 5);
    e = next_event(m);
    CHECK(e.kind == RHA_SESSION_EVENT_SYNC_REPLY && e.sync_kind == RHA_SESSION_SYNC_REPLY_DONE);
    CHECK(e.sync_id == 42);
    CHECK(next_event(m).kind == 0);

    /* The journal follows the master's point: record 11 on. */
    CHECK(rha_session_last_seq(m) == 10 && rha_session_last_seq(r) == 10);
    CHECK_OK(rha_session_send_journal(m, 11, 11, TEXT("a journal frame"), &E));
    exchange(m, r, 7 * MS);
    e = next_event(r);
    CHECK(e.kind == RHA_SESSION_EVENT_JOURNAL && e.epoch == 1 && e.first == 11 && e.last == 11);
    CHECK_OK(rha_session_ack(r, RHA_SESSION_ACK_STORED, 1, 11, &E));
    exchange(m, r, 8 * MS);
    e = next_event(m);
    CHECK(e.kind == RHA_SESSION_EVENT_ACKED && e.at.seq == 11);
    CHECK(rha_session_is_connected(m) && rha_session_is_connected(r));

    buf_free(&journal);
    rha_session_free(m);
    rha_session_free(r);
}

static void test_block_requests_and_mismatches(void)
{
    rha_session *m, *r;
    connect_for_sync(&m, &r, 0);

    rha_session_sync_message msg = message(RHA_SESSION_SYNC_BEGIN, 5);
    msg.mode = RHA_SYNC_BLOCK;
    msg.block_size = 4096;
    /* A run narrowed to two paths (a degraded spool's dirty ones). */
    static const uint8_t scope[] = "\x07\x00" "big.img" "\x04\x00" "logs";
    msg.data = BN(scope, sizeof scope - 1);
    CHECK_OK(rha_session_send_sync(m, &msg, &E));
    msg = message(RHA_SESSION_SYNC_BLOCKS, 5);
    msg.file = 9;
    msg.path = S("big.img");
    CHECK_OK(rha_session_send_sync(m, &msg, &E));
    msg = message(RHA_SESSION_SYNC_CHECK, 5);
    msg.path = S("big.img");
    msg.len = 8192;
    msg.by_blocks = 1;
    CHECK_OK(rha_session_send_sync(m, &msg, &E));
    exchange(m, r, 2 * MS);

    rha_session_event e = next_event(r);
    CHECK(e.kind == RHA_SESSION_EVENT_SYNC && e.sync_kind == RHA_SESSION_SYNC_BEGIN);
    CHECK(e.sync_mode == RHA_SYNC_BLOCK && e.sync_block_size == 4096 && !e.sync_ignore_same);
    CHECK(bytes_are(e.sync_data, scope, sizeof scope - 1));
    e = next_event(r);
    CHECK(e.kind == RHA_SESSION_EVENT_SYNC && e.sync_kind == RHA_SESSION_SYNC_BLOCKS);
    CHECK(e.sync_file == 9 && bytes_are(e.sync_path, (const uint8_t *)"big.img", 7));
    e = next_event(r);
    CHECK(e.kind == RHA_SESSION_EVENT_SYNC && e.sync_kind == RHA_SESSION_SYNC_CHECK);
    CHECK(e.sync_by_blocks && e.sync_len == 8192);

    uint8_t hashes[32];
    memset(hashes, 3, sizeof hashes);
    msg = message(RHA_SESSION_SYNC_REPLY_BLOCKS, 5);
    msg.file = 9;
    msg.last = 1;
    msg.data = BN(hashes, sizeof hashes);
    CHECK_OK(rha_session_send_sync_reply(r, &msg, &E));
    msg = message(RHA_SESSION_SYNC_REPLY_MISMATCH, 5);
    msg.path = S("big.img");
    CHECK_OK(rha_session_send_sync_reply(r, &msg, &E));
    exchange(m, r, 3 * MS);
    e = next_event(m);
    CHECK(e.kind == RHA_SESSION_EVENT_SYNC_REPLY && e.sync_kind == RHA_SESSION_SYNC_REPLY_BLOCKS);
    CHECK(e.sync_file == 9 && e.sync_last && bytes_are(e.sync_data, hashes, sizeof hashes));
    e = next_event(m);
    CHECK(e.kind == RHA_SESSION_EVENT_SYNC_REPLY &&
          e.sync_kind == RHA_SESSION_SYNC_REPLY_MISMATCH);
    CHECK(bytes_are(e.sync_path, (const uint8_t *)"big.img", 7));

    rha_session_free(m);
    rha_session_free(r);
}

static void test_without_can_sync_no_sync_comes_first(void)
{
    rha_session *m = make(RHA_SESSION_MASTER, 0, 0);
    rha_session *r = make(RHA_SESSION_REPLICA, 0, 0);
    exchange(m, r, 1 * MS);
    rha_session_event e = next_event(r);
    CHECK(e.kind == RHA_SESSION_EVENT_CONNECTED && e.sync_needed && !e.sync);
    CHECK(e.resume_after.seq == 0);
    rha_session_free(m);
    rha_session_free(r);

    /* A caller built with the first version of rha_session_config: its
     * size is accepted and the fields it lacks keep their defaults (no
     * sync), whatever lies past it. */
    rha_session_config c;
    rha_session_config_init(&c);
    c.role = RHA_SESSION_MASTER;
    memset(c.scenario, 7, sizeof c.scenario);
    c.generations.current = 1;
    c.stored.epoch = 1;
    c.stored.seq = 10;
    c.can_sync = 1;
    c.struct_size = (uint32_t)offsetof(rha_session_config, can_sync);
    m = NULL;
    CHECK_OK(rha_session_new(&c, 0, &m, &E));
    r = make(RHA_SESSION_REPLICA, 0, 0);
    exchange(m, r, 1 * MS);
    e = next_event(m);
    CHECK(e.kind == RHA_SESSION_EVENT_CONNECTED && e.sync_needed && !e.sync);
    rha_session_free(m);
    rha_session_free(r);
}

static void test_an_older_event_struct_gets_the_kind_only(void)
{
    rha_session *m, *r;
    connect_for_sync(&m, &r, 0);
    rha_session_sync_message msg = message(RHA_SESSION_SYNC_END, 1);
    msg.entries = 3;
    CHECK_OK(rha_session_send_sync(m, &msg, &E));
    exchange(m, r, 2 * MS);

    /* The first version of rha_session_event ended where sync_id starts:
     * rha writes that much and nothing past it. */
    size_t old = offsetof(rha_session_event, sync_id);
    CHECK(old == 152);
    union {
        rha_session_event e;
        uint8_t bytes[sizeof(rha_session_event)];
    } u;
    memset(u.bytes, 0xAA, sizeof u.bytes);
    u.e.struct_size = (uint32_t)old;
    CHECK_OK(rha_session_poll_event(r, &u.e, &E));
    CHECK(u.e.kind == RHA_SESSION_EVENT_SYNC && u.e.struct_size == old);
    size_t untouched = 0;
    for (size_t i = old; i < sizeof u.bytes; i++) {
        untouched += u.bytes[i] == 0xAA;
    }
    CHECK(untouched == sizeof u.bytes - old);

    rha_session_free(m);
    rha_session_free(r);
}

static void test_invalid_sync_messages_are_refused(void)
{
    rha_session *m, *r;
    connect_for_sync(&m, &r, 4096);
    size_t before = rha_session_pending(m);

    /* Kinds outside the sets, both ways. */
    rha_session_sync_message msg = message(0, 1);
    CHECK_FAILS(rha_session_send_sync(m, &msg, &E), RHA_INVALID_ARGUMENT, "unknown sync kind 0");
    msg.sync_kind = 6;
    CHECK_FAILS(rha_session_send_sync(m, &msg, &E), RHA_INVALID_ARGUMENT, "unknown sync kind 6");
    msg.sync_kind = 99;
    CHECK_FAILS(rha_session_send_sync_reply(r, &msg, &E), RHA_INVALID_ARGUMENT,
                "unknown sync reply kind 99");

    /* The fields of a kind, checked. */
    msg = message(RHA_SESSION_SYNC_BEGIN, 1);
    msg.mode = 7;
    CHECK_FAILS(rha_session_send_sync(m, &msg, &E), RHA_INVALID_ARGUMENT, "unknown sync mode 7");
    msg.mode = RHA_SYNC_BLOCK;
    msg.block_size = 5000;
    CHECK_FAILS(rha_session_send_sync(m, &msg, &E), RHA_INVALID_ARGUMENT, "block_size` is 5000");
    msg.block_size = 4096;
    msg.ignore_same = 2;
    CHECK_FAILS(rha_session_send_sync(m, &msg, &E), RHA_INVALID_ARGUMENT, "ignore_same` is 2");
    msg.ignore_same = 0;
    msg.data = BN((const uint8_t *)"\x05\x00" "a/../b", 7); /* not a relative path */
    CHECK_FAILS(rha_session_send_sync(m, &msg, &E), RHA_INVALID_ARGUMENT,
                "rha_session_sync_message.data: sync scope");
    msg.data = BN((const uint8_t *)"\x09\x00short", 7); /* cut */
    CHECK_FAILS(rha_session_send_sync(m, &msg, &E), RHA_INVALID_ARGUMENT, "a short path");
    msg = message(RHA_SESSION_SYNC_RECORDS, 1);
    CHECK_FAILS(rha_session_send_sync(m, &msg, &E), RHA_INVALID_ARGUMENT, "at least one frame");
    msg = message(RHA_SESSION_SYNC_CHECK, 1);
    msg.path = S("a/../b");
    CHECK_FAILS(rha_session_send_sync(m, &msg, &E), RHA_INVALID_ARGUMENT,
                "rha_session_sync_message.path");
    msg = message(RHA_SESSION_SYNC_REPLY_BLOCKS, 1);
    msg.data = BN((const uint8_t *)"fifteen bytes..", 15);
    CHECK_FAILS(rha_session_send_sync_reply(r, &msg, &E), RHA_INVALID_ARGUMENT, "16 bytes each");
    msg.data = BN(NULL, 0);
    msg.path.len = 3; /* a NULL view with a length, in a field this kind ignores */
    CHECK_OK(rha_session_send_sync_reply(r, &msg, &E));
    msg = message(RHA_SESSION_SYNC_REPLY_MISMATCH, 1);
    msg.path.len = 3;
    CHECK_FAILS(rha_session_send_sync_reply(r, &msg, &E), RHA_NULL_PARAMETER, "path");

    /* The wrong side, the struct's size, NULL. */
    msg = message(RHA_SESSION_SYNC_END, 1);
    CHECK_FAILS(rha_session_send_sync(r, &msg, &E), RHA_SESSION_WRONG_ROLE, "only a master");
    msg = message(RHA_SESSION_SYNC_REPLY_DONE, 1);
    CHECK_FAILS(rha_session_send_sync_reply(m, &msg, &E), RHA_SESSION_WRONG_ROLE,
                "only a replica");
    msg.struct_size = 7;
    CHECK_FAILS(rha_session_send_sync_reply(r, &msg, &E), RHA_INVALID_ARGUMENT,
                "rha_session_sync_message.struct_size is 7");
    CHECK_FAILS(rha_session_send_sync(m, NULL, &E), RHA_NULL_PARAMETER, "message");
    CHECK_FAILS(rha_session_send_sync(NULL, &msg, &E), RHA_NULL_PARAMETER, "session");
    rha_session_sync_message_init(NULL);

    /* Larger than a message may be (both sides take 4096-byte bodies): the
     * data of each kind fits within rha_session_max_body less its fields. */
    CHECK(rha_session_max_body(m) == 4096 && rha_session_max_body(r) == 4096);
    CHECK(rha_session_max_body(NULL) == 0);
    static uint8_t frames[4096];
    memset(frames, 1, sizeof frames);
    size_t room = 4096 - RHA_SESSION_SYNC_RECORDS_FIELDS;
    msg = message(RHA_SESSION_SYNC_RECORDS, 1);
    msg.data = BN(frames, room + 1);
    CHECK_FAILS(rha_session_send_sync(m, &msg, &E), RHA_SESSION_TOO_LARGE, "4097 bytes");
    CHECK(rha_session_pending(m) == before); /* nothing was sent so far */
    msg.data = BN(frames, room);
    CHECK_OK(rha_session_send_sync(m, &msg, &E));
    room = 4096 - RHA_SESSION_SYNC_TREE_FIELDS;
    msg = message(RHA_SESSION_SYNC_REPLY_TREE, 1);
    msg.data = BN(frames, room + 1);
    CHECK_FAILS(rha_session_send_sync_reply(r, &msg, &E), RHA_SESSION_TOO_LARGE, NULL);
    msg.data = BN(frames, room);
    CHECK_OK(rha_session_send_sync_reply(r, &msg, &E));
    room = (4096 - RHA_SESSION_SYNC_BLOCKS_FIELDS) / 16 * 16;
    msg = message(RHA_SESSION_SYNC_REPLY_BLOCKS, 1);
    msg.data = BN(frames, room + 16);
    CHECK_FAILS(rha_session_send_sync_reply(r, &msg, &E), RHA_SESSION_TOO_LARGE, NULL);
    msg.data = BN(frames, room);
    CHECK_OK(rha_session_send_sync_reply(r, &msg, &E));

    /* Before the handshake and after the close. */
    rha_session *fresh = make(RHA_SESSION_MASTER, 1, 0);
    CHECK(rha_session_max_body(fresh) == 16u << 20); /* its own, until the peer's hello */
    msg = message(RHA_SESSION_SYNC_END, 1);
    CHECK_FAILS(rha_session_send_sync(fresh, &msg, &E), RHA_SESSION_NOT_CONNECTED, NULL);
    rha_session_free(fresh);
    CHECK_OK(rha_session_close(m, RHA_SESSION_REASON_DONE, NULL, 0, &E));
    CHECK_FAILS(rha_session_send_sync(m, &msg, &E), RHA_SESSION_NOT_CONNECTED, NULL);

    rha_session_free(m);
    rha_session_free(r);
}

int main(void)
{
    static const struct test_case cases[] = {
        {"session sync: a master syncs a replica, then the journal follows",
         test_a_master_syncs_a_replica_then_the_journal_follows},
        {"session sync: block requests, block hashes, mismatches",
         test_block_requests_and_mismatches},
        {"session sync: without can_sync (or an older config) no sync comes first",
         test_without_can_sync_no_sync_comes_first},
        {"session sync: an older event struct gets the kind only",
         test_an_older_event_struct_gets_the_kind_only},
        {"session sync: invalid sync messages are refused", test_invalid_sync_messages_are_refused},
    };
    return run_cases(cases, sizeof cases / sizeof cases[0]) == 0 ? 0 : 1;
}
