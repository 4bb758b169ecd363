/*
 * C tests of the ready agents in include/rha.h: node identities
 * (rha_identity_*), a replica agent listening on 127.0.0.1 (any free port)
 * and a master agent replicating a journal made with rha_journal_writer to
 * it over TLS, until the replica applied it; a master with a root
 * directory syncing a fresh replica over the session before the journal; a
 * master pinned to the wrong fingerprint that never gets through; bad
 * configurations; and callers built with the first, smaller versions of the
 * configuration and status structs. Run by
 * tests/c/run.sh (shared, static, ASan+UBSan, valgrind): the data is a few
 * records, the waits bounded.
 */
#define _XOPEN_SOURCE 700
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "check.h"
#include "rha.h"
#include "tempdir_util.h"

/* The longest wait for replication (valgrind is slow). */
#define WAIT_MS 60000

static rha_bytes str(const char *s)
{
    rha_bytes b;
    b.ptr = (const uint8_t *)s;
    b.len = strlen(s);
    return b;
}

static void sleep_ms(long ms)
{
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}

static char base[128];
static char master_id[192], replica_id[192], stranger_id[192];
static char master_fp[RHA_FINGERPRINT_SIZE], replica_fp[RHA_FINGERPRINT_SIZE],
    stranger_fp[RHA_FINGERPRINT_SIZE];

static void setup(void)
{
    temp_dir_new(base, sizeof base, "rha-c-agents");
    snprintf(master_id, sizeof master_id, "%s/master-id", base);
    snprintf(replica_id, sizeof replica_id, "%s/replica-id", base);
    snprintf(stranger_id, sizeof stranger_id, "%s/stranger-id", base);
    CHECK_OK(rha_identity_generate(master_id, false, master_fp, sizeof master_fp, &E));
    CHECK_OK(rha_identity_generate(replica_id, false, replica_fp, sizeof replica_fp, &E));
    CHECK_OK(rha_identity_generate(stranger_id, false, stranger_fp, sizeof stranger_fp, &E));
}

/* A journal of records first..: create `name`, write `text` to it. */
static size_t make_journal(uint64_t first, const char *name, const char *text, uint8_t *buf,
                           size_t size)
{
    rha_journal_writer_builder *b = rha_journal_writer_builder_new();
    rha_journal_writer *w = NULL;
    rha_out_buffer out;
    rha_record r;
    uint64_t seq = 0;
    CHECK_OK(rha_journal_writer_builder_set_first_seq(b, first, &E));
    CHECK_OK(rha_journal_writer_build(b, &w, &E));
    rha_record_init(&r);
    r.op = RHA_OP_CREATE;
    r.path = str(name);
    r.mode = 0644;
    r.timestamp_ns = 1;
    CHECK_OK(rha_journal_writer_append(w, &r, &seq, &E));
    rha_record_init(&r);
    r.op = RHA_OP_WRITE;
    r.path = str(name);
    r.data = str(text);
    r.timestamp_ns = 2;
    CHECK_OK(rha_journal_writer_append(w, &r, &seq, &E));
    CHECK(seq == first + 1);
    CHECK_OK(rha_journal_writer_flush(w, &E));
    out.dst = buf;
    out.size = size;
    out.pos = 0;
    CHECK_OK(rha_journal_writer_drain(w, &out, &E));
    rha_journal_writer_free(w);
    return out.pos;
}

static int file_is(const char *root, const char *rel, const char *want)
{
    char path[320], got[256];
    size_t n;
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", root, rel);
    f = fopen(path, "rb");
    if (f == NULL) {
        return 0;
    }
    n = fread(got, 1, sizeof got - 1, f);
    fclose(f);
    got[n] = '\0';
    return strcmp(got, want) == 0;
}

static int exists(const char *root, const char *rel)
{
    char path[320];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", root, rel);
    return stat(path, &st) == 0;
}

/* A replica agent on 127.0.0.1, any port, for the one master `allowed`. */
static rha_replica_agent *start_replica(const char *root, const char *allowed)
{
    rha_replica_agent_config c;
    rha_replica_agent *agent = NULL;
    rha_bytes allow = str(allowed);
    rha_replica_agent_config_init(&c);
    CHECK(c.struct_size == sizeof c && c.window == 8u << 20 && c.heartbeat_ms == 3000);
    CHECK(mkdir(root, 0755) == 0);
    c.root = root;
    c.identity_dir = replica_id;
    c.listen_address = str("127.0.0.1:0");
    c.allowed = &allow;
    c.allowed_count = 1;
    c.heartbeat_ms = 200;
    c.timeout_ms = 10000;
    CHECK_OK(rha_replica_agent_start(&c, &agent, &E));
    CHECK(agent != NULL);
    CHECK(rha_replica_agent_local_port(agent) != 0);
    return agent;
}

/* A master agent in `state`, to the replica on `port`, pinned to `peer`;
 * syncing from `root` unless it is NULL. */
static rha_master_agent *start_master_from(const char *state, uint16_t port, const char *peer,
                                           const char *root)
{
    rha_master_agent_config c;
    rha_master_agent *agent = NULL;
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", (unsigned)port);
    rha_master_agent_config_init(&c);
    CHECK(c.struct_size == sizeof c && c.batch_bytes == 1u << 20 && c.retry_max_ms == 30000);
    CHECK(c.root_dir == NULL && c.sync_mode == RHA_SYNC_FILE && c.ignore_same == 1 &&
          c.sync_block_size == 0);
    c.root_dir = root;
    c.state_dir = state;
    c.identity_dir = master_id;
    c.replica_address = str(addr);
    c.peer_fingerprint = str(peer);
    c.heartbeat_ms = 200;
    c.timeout_ms = 10000;
    c.retry_min_ms = 50;
    c.retry_max_ms = 300;
    c.zstd = 1;
    CHECK_OK(rha_master_agent_start(&c, &agent, &E));
    CHECK(agent != NULL);
    return agent;
}

static rha_master_agent *start_master(const char *state, uint16_t port, const char *peer)
{
    return start_master_from(state, port, peer, NULL);
}

/* Writes `len` bytes of `data` to root/rel. */
static void put_file(const char *root, const char *rel, const uint8_t *data, size_t len)
{
    char path[320];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", root, rel);
    f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f != NULL) {
        CHECK(fwrite(data, 1, len, f) == len);
        fclose(f);
    }
}

/* Reads root/rel into a new buffer (free it) and its length into *len; NULL
 * if it cannot be read. */
static uint8_t *read_file(const char *root, const char *rel, size_t *len)
{
    char path[320];
    FILE *f;
    uint8_t *buf;
    long size;
    snprintf(path, sizeof path, "%s/%s", root, rel);
    f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return NULL;
    }
    buf = malloc((size_t)size + 1);
    if (buf != NULL && fread(buf, 1, (size_t)size, f) != (size_t)size) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = (size_t)size;
    return buf;
}

/* Whether a/rel and b/rel hold the same bytes. */
static int same_file(const char *a, const char *b, const char *rel)
{
    size_t la = 0, lb = 0;
    uint8_t *da = read_file(a, rel, &la), *db = read_file(b, rel, &lb);
    int same = da != NULL && db != NULL && la == lb && memcmp(da, db, la) == 0;
    free(da);
    free(db);
    return same;
}

static void test_identities(void)
{
    char fp[RHA_FINGERPRINT_SIZE], again[RHA_FINGERPRINT_SIZE], dir[192];
    snprintf(dir, sizeof dir, "%s/fresh-id", base);
    CHECK_OK(rha_identity_generate(dir, false, fp, sizeof fp, &E));
    CHECK(strlen(fp) == RHA_FINGERPRINT_SIZE - 1 && strncmp(fp, "sha256:", 7) == 0);
    CHECK_OK(rha_identity_fingerprint(dir, again, sizeof again, &E));
    CHECK(strcmp(fp, again) == 0);
    /* An identity is never overwritten unless asked. */
    CHECK_FAILS(rha_identity_generate(dir, false, NULL, 0, &E), RHA_IDENTITY_EXISTS,
                "refusing to overwrite");
    CHECK_OK(rha_identity_fingerprint(dir, again, sizeof again, &E));
    CHECK(strcmp(fp, again) == 0);
    CHECK_OK(rha_identity_generate(dir, true, again, sizeof again, &E));
    CHECK(strcmp(fp, again) != 0);
    /* Too small a buffer: nothing made, nothing written. */
    memset(again, 'x', sizeof again);
    CHECK_FAILS(rha_identity_fingerprint(dir, again, RHA_FINGERPRINT_SIZE - 1, &E),
                RHA_INVALID_ARGUMENT, "RHA_FINGERPRINT_SIZE");
    CHECK(again[0] == 'x');
    CHECK_FAILS(rha_identity_fingerprint(base, fp, sizeof fp, &E), RHA_IDENTITY_MISSING,
                "rha keygen");
    CHECK_FAILS(rha_identity_fingerprint(NULL, fp, sizeof fp, &E), RHA_NULL_PARAMETER, "dir");
    CHECK_FAILS(rha_identity_fingerprint(dir, NULL, 0, &E), RHA_NULL_PARAMETER, NULL);
    CHECK_FAILS(rha_identity_generate(NULL, false, NULL, 0, &E), RHA_NULL_PARAMETER, "dir");
}

static void test_replicates_a_journal(void)
{
    char root[192], state[192];
    uint8_t journal[4096];
    size_t len;
    uint64_t last = 0;
    long waited;
    rha_agent_status st;
    rha_replica_agent *replica;
    rha_master_agent *master;
    snprintf(root, sizeof root, "%s/replica", base);
    snprintf(state, sizeof state, "%s/master-state", base);
    replica = start_replica(root, master_fp);
    master = start_master(state, rha_replica_agent_local_port(replica), replica_fp);

    len = make_journal(1, "a.txt", "hello from the master agent", journal, sizeof journal);
    CHECK_OK(rha_master_agent_append_journal(master, journal, len, &last, &E));
    CHECK(last == 2);
    /* Records must continue the spool. */
    CHECK_FAILS(rha_master_agent_append_journal(master, journal, len, NULL, &E),
                RHA_JOURNAL_SEQUENCE, NULL);

    memset(&st, 0, sizeof st);
    st.struct_size = sizeof st;
    for (waited = 0; waited < WAIT_MS; waited += 20) {
        CHECK_OK(rha_master_agent_status(master, &st, &E));
        if (st.acked_applied >= last) {
            break;
        }
        sleep_ms(20);
    }
    CHECK(st.acked_applied == 2 && st.acked_stored == 2);
    CHECK(st.role == RHA_AGENT_MASTER && st.link == RHA_AGENT_LINK_CONNECTED);
    CHECK(st.sessions == 1 && st.epoch != 0);
    CHECK(file_is(root, "a.txt", "hello from the master agent"));

    /* Controls are checked on entry; a bookmark is queued. */
    CHECK_FAILS(rha_master_agent_control(master, 99, NULL, 0, &E), RHA_INVALID_ARGUMENT,
                "control kind 99");
    CHECK_FAILS(rha_master_agent_control(master, RHA_SESSION_CONTROL_BOOKMARK, NULL, 0, &E),
                RHA_INVALID_ARGUMENT, "1 to");
    CHECK_OK(rha_master_agent_control(master, RHA_SESSION_CONTROL_BOOKMARK,
                                      (const uint8_t *)"after-a", 7, &E));

    /* The replica refreshes its snapshot every half second or so. */
    for (waited = 0; waited < WAIT_MS; waited += 20) {
        CHECK_OK(rha_replica_agent_status(replica, &st, &E));
        if (st.acked_applied >= last) {
            break;
        }
        sleep_ms(20);
    }
    CHECK(st.role == RHA_AGENT_REPLICA && st.last_seq == 2 && st.acked_applied == 2);
    CHECK(!st.apply_failed && !st.paused);

    memset(&st, 0, sizeof st);
    st.struct_size = sizeof st;
    CHECK_OK(rha_master_agent_stop(master, &st, &E));
    CHECK(st.link == RHA_AGENT_LINK_STOPPED && st.last_seq == 2);
    memset(&st, 0, sizeof st);
    st.struct_size = sizeof st;
    CHECK_OK(rha_replica_agent_stop(replica, &st, &E));
    CHECK(st.acked_applied == 2);
    CHECK(file_is(root, "a.txt", "hello from the master agent"));
}

/* The size of a 1.5 MiB file the sync sends. */
#define BIG_LEN ((size_t)3 << 19)

static void test_syncs_a_tree_before_the_journal(void)
{
    char master_root[192], root[192], state[192], sub[224], why[64];
    uint8_t journal[4096], *big;
    size_t len, i, why_len = 99;
    uint64_t last = 0;
    long waited;
    rha_agent_status st;
    rha_replica_agent *replica;
    rha_master_agent *master;
    snprintf(master_root, sizeof master_root, "%s/master-root", base);
    snprintf(root, sizeof root, "%s/replica-sync", base);
    snprintf(state, sizeof state, "%s/master-sync", base);
    snprintf(sub, sizeof sub, "%s/sub", master_root);
    CHECK(mkdir(master_root, 0755) == 0 && mkdir(sub, 0755) == 0);
    big = malloc(BIG_LEN);
    CHECK(big != NULL);
    if (big == NULL) {
        return;
    }
    for (i = 0; i < BIG_LEN; i++) {
        big[i] = (uint8_t)((i * 7919u) ^ (i >> 13));
    }
    put_file(master_root, "big.bin", big, BIG_LEN);
    put_file(master_root, "small.txt", (const uint8_t *)"small", 5);
    put_file(master_root, "sub/inner.txt", (const uint8_t *)"inside", 6);
    put_file(master_root, "empty", (const uint8_t *)"", 0);
    free(big);

    replica = start_replica(root, master_fp);
    master = start_master_from(state, rha_replica_agent_local_port(replica), replica_fp,
                               master_root);
    memset(&st, 0, sizeof st);
    st.struct_size = sizeof st;
    for (waited = 0; waited < WAIT_MS; waited += 20) {
        CHECK_OK(rha_master_agent_status(master, &st, &E));
        if (st.sync_phase == RHA_AGENT_SYNC_DONE || st.sync_phase == RHA_AGENT_SYNC_FAILED) {
            break;
        }
        sleep_ms(20);
    }
    CHECK(st.sync_phase == RHA_AGENT_SYNC_DONE);
    CHECK(st.sync_id != 0 && st.sync_mode == RHA_SYNC_FILE);
    CHECK(st.sync_scanned_entries >= 4 && st.sync_scanned_bytes >= BIG_LEN + 11);
    CHECK(st.sync_sent_entries >= 5 && st.sync_sent_bytes >= BIG_LEN + 11);
    CHECK(st.sync_resent == 0 && st.sync_skipped == 0 && st.sync_matched_bytes == 0);
    CHECK(st.sync_started_unix_ms != 0 && st.sync_finished_unix_ms >= st.sync_started_unix_ms);
    CHECK_OK(rha_master_agent_sync_error(master, why, sizeof why, &why_len, &E));
    CHECK(why_len == 0 && why[0] == '\0');
    CHECK(same_file(master_root, root, "big.bin"));
    CHECK(same_file(master_root, root, "small.txt"));
    CHECK(same_file(master_root, root, "sub/inner.txt"));
    CHECK(same_file(master_root, root, "empty"));

    /* Then the journal follows the sync. */
    len = make_journal(1, "after.txt", "after the sync", journal, sizeof journal);
    CHECK_OK(rha_master_agent_append_journal(master, journal, len, &last, &E));
    for (waited = 0; waited < WAIT_MS; waited += 20) {
        CHECK_OK(rha_master_agent_status(master, &st, &E));
        if (st.acked_applied >= last) {
            break;
        }
        sleep_ms(20);
    }
    CHECK(last == 2 && st.acked_applied == 2);
    CHECK(file_is(root, "after.txt", "after the sync"));

    /* The replica reports the same sync, from its side. */
    for (waited = 0; waited < WAIT_MS; waited += 20) {
        CHECK_OK(rha_replica_agent_status(replica, &st, &E));
        if (st.sync_phase == RHA_AGENT_SYNC_DONE && st.acked_applied >= last) {
            break;
        }
        sleep_ms(20);
    }
    CHECK(st.sync_phase == RHA_AGENT_SYNC_DONE && st.sync_id != 0);
    CHECK(st.sync_applied_records > 0 && st.sync_applied_bytes >= BIG_LEN + 11);
    CHECK_OK(rha_replica_agent_sync_error(replica, NULL, 0, &why_len, &E));
    CHECK(why_len == 0);
    CHECK_FAILS(rha_replica_agent_sync_error(replica, NULL, 4, NULL, &E), RHA_NULL_PARAMETER,
                "text_out");
    CHECK_FAILS(rha_master_agent_sync_error(NULL, why, sizeof why, NULL, &E), RHA_NULL_PARAMETER,
                "agent");

    memset(&st, 0, sizeof st);
    st.struct_size = sizeof st;
    CHECK_OK(rha_master_agent_stop(master, &st, &E));
    CHECK(st.sync_phase == RHA_AGENT_SYNC_DONE && !st.resync_needed);
    CHECK_OK(rha_replica_agent_stop(replica, NULL, &E));
    CHECK(same_file(master_root, root, "big.bin"));
}

/* A caller built with the first versions of the configuration and the
 * status (before the sync fields) still works: rha reads and writes only
 * those bytes, so the garbage after them means nothing. */
static void test_first_struct_versions(void)
{
    struct {
        rha_master_agent_config c;
        uint8_t guard[8];
    } m;
    struct {
        rha_agent_status st;
        uint8_t guard[8];
    } s;
    rha_master_agent *master = NULL;
    char state[192];
    const size_t old_config = offsetof(rha_master_agent_config, root_dir);
    const size_t old_status = offsetof(rha_agent_status, sync_id);
    size_t i;
    snprintf(state, sizeof state, "%s/master-old", base);
    if (sizeof(void *) == 8) {
        CHECK(old_config == 128 && old_status == 104); /* the first versions' sizes */
    }
    memset(&m, 0xA5, sizeof m);
    rha_master_agent_config_init(&m.c);
    /* Past the old size: what an old caller's memory might hold. */
    memset((uint8_t *)&m.c + old_config, 0xA5, sizeof m.c - old_config);
    m.c.struct_size = (uint32_t)old_config;
    m.c.state_dir = state;
    m.c.identity_dir = master_id;
    m.c.replica_address = str("127.0.0.1:1");
    m.c.peer_fingerprint = str(replica_fp);
    CHECK_OK(rha_master_agent_start(&m.c, &master, &E));
    CHECK(master != NULL);
    memset(&s, 0xA5, sizeof s);
    s.st.struct_size = (uint32_t)old_status;
    CHECK_OK(rha_master_agent_status(master, &s.st, &E));
    CHECK(s.st.struct_size == old_status && s.st.role == RHA_AGENT_MASTER);
    for (i = old_status; i < sizeof s; i++) {
        CHECK(((const uint8_t *)&s)[i] == 0xA5);
    }
    /* A size between the two versions is none of them. */
    s.st.struct_size = (uint32_t)old_status + 8;
    CHECK_FAILS(rha_master_agent_status(master, &s.st, &E), RHA_INVALID_ARGUMENT,
                "struct_size");
    s.st.struct_size = sizeof s.st;
    CHECK_OK(rha_master_agent_status(master, &s.st, &E));
    CHECK(s.st.sync_phase == RHA_AGENT_SYNC_NONE && s.st.sync_id == 0);
    CHECK_OK(rha_master_agent_stop(master, NULL, &E));
    m.c.struct_size = (uint32_t)old_config + 8;
    master = NULL;
    CHECK_FAILS(rha_master_agent_start(&m.c, &master, &E), RHA_INVALID_ARGUMENT, "struct_size");
    CHECK(master == NULL);
}

static void test_wrong_fingerprint_gets_nothing_through(void)
{
    char root[192], state[192];
    uint8_t journal[4096];
    size_t len;
    rha_agent_status st;
    rha_replica_agent *replica;
    rha_master_agent *master;
    snprintf(root, sizeof root, "%s/replica-wrong", base);
    snprintf(state, sizeof state, "%s/master-wrong", base);
    /* The replica allows the master, but the master pins a stranger. */
    replica = start_replica(root, master_fp);
    master = start_master(state, rha_replica_agent_local_port(replica), stranger_fp);
    len = make_journal(1, "b.txt", "must not arrive", journal, sizeof journal);
    CHECK_OK(rha_master_agent_append_journal(master, journal, len, NULL, &E));
    sleep_ms(1500);
    memset(&st, 0, sizeof st);
    st.struct_size = sizeof st;
    CHECK_OK(rha_master_agent_status(master, &st, &E));
    CHECK(st.link != RHA_AGENT_LINK_CONNECTED);
    CHECK(st.sessions == 0 && st.acked_stored == 0 && st.acked_applied == 0);
    {
        char why[512], small[8];
        size_t len = 0, small_len = 0;
        long waited;
        /* The first refused attempt may take a while under valgrind. */
        for (waited = 0; waited < WAIT_MS; waited += 20) {
            CHECK_OK(rha_master_agent_last_end(master, why, sizeof why, &len, &E));
            if (len > 0) {
                break;
            }
            sleep_ms(20);
        }
        CHECK(strstr(why, "not among the allowed fingerprints") != NULL);
        CHECK(strstr(why, replica_fp) != NULL && strlen(why) == len);
        CHECK_OK(rha_master_agent_last_end(master, small, sizeof small, &small_len, &E));
        CHECK(strlen(small) == 7 && small_len >= len && strncmp(small, why, 7) == 0);
        CHECK_OK(rha_master_agent_last_end(master, NULL, 0, &small_len, &E));
        CHECK_FAILS(rha_master_agent_last_end(master, NULL, 4, NULL, &E), RHA_NULL_PARAMETER,
                    "text_out");
        CHECK_OK(rha_replica_agent_last_end(replica, why, sizeof why, &len, &E));
        CHECK(len == 0 && why[0] == '\0');
    }
    CHECK_OK(rha_replica_agent_status(replica, &st, &E));
    CHECK(st.sessions == 0 && st.last_seq == 0);
    CHECK(!exists(root, "b.txt"));
    rha_master_agent_free(master);
    CHECK_OK(rha_replica_agent_stop(replica, NULL, &E));
    CHECK(!exists(root, "b.txt"));
}

static void test_bad_configurations(void)
{
    rha_master_agent_config m;
    rha_replica_agent_config r;
    rha_master_agent *master = (rha_master_agent *)&m; /* stale: must become NULL */
    rha_replica_agent *replica = (rha_replica_agent *)&r;
    rha_agent_status st;
    char state[192], root[192];
    rha_bytes two[2];
    snprintf(state, sizeof state, "%s/master-bad", base);
    snprintf(root, sizeof root, "%s/replica-bad", base);
    CHECK(mkdir(root, 0755) == 0);

    CHECK_FAILS(rha_master_agent_start(NULL, &master, &E), RHA_NULL_PARAMETER, "config");
    CHECK(master == NULL);
    rha_master_agent_config_init(&m);
    CHECK_FAILS(rha_master_agent_start(&m, &master, &E), RHA_NULL_PARAMETER, "state_dir");
    m.state_dir = state;
    m.identity_dir = master_id;
    m.replica_address = str("127.0.0.1:1");
    m.peer_fingerprint = str("sha256:1234");
    CHECK_FAILS(rha_master_agent_start(&m, &master, &E), RHA_TRANSPORT_BAD_FINGERPRINT,
                "peer_fingerprint");
    m.peer_fingerprint = str(replica_fp);
    m.struct_size = 12;
    CHECK_FAILS(rha_master_agent_start(&m, &master, &E), RHA_INVALID_ARGUMENT, "struct_size");
    m.struct_size = sizeof m;
    m.zstd = 2;
    CHECK_FAILS(rha_master_agent_start(&m, &master, &E), RHA_INVALID_ARGUMENT, "zstd");
    m.zstd = 0;
    m.retry_min_ms = 5000;
    m.retry_max_ms = 100;
    CHECK_FAILS(rha_master_agent_start(&m, &master, &E), RHA_INVALID_ARGUMENT, "retry_min_ms");
    m.retry_min_ms = 50;
    m.heartbeat_ms = 0;
    CHECK_FAILS(rha_master_agent_start(&m, &master, &E), RHA_INVALID_ARGUMENT, "heartbeat_ms");
    m.heartbeat_ms = 200;
    /* The sync fields are checked even without a root directory; each
     * failure leaves the output NULL. */
    m.sync_mode = 2;
    master = (rha_master_agent *)&m;
    CHECK_FAILS(rha_master_agent_start(&m, &master, &E), RHA_INVALID_ARGUMENT,
                "sync_mode is 2, not RHA_SYNC_FILE (0) or RHA_SYNC_BLOCK (1)");
    CHECK(master == NULL);
    m.sync_mode = RHA_SYNC_BLOCK;
    m.root_dir = base;
    m.sync_block_size = 3000;
    master = (rha_master_agent *)&m;
    CHECK_FAILS(rha_master_agent_start(&m, &master, &E), RHA_INVALID_ARGUMENT,
                "sync_block_size` is 3000: a block size is a power of two from 4096");
    CHECK(master == NULL);
    m.sync_block_size = 32u << 20;
    master = (rha_master_agent *)&m;
    CHECK_FAILS(rha_master_agent_start(&m, &master, &E), RHA_INVALID_ARGUMENT,
                "sync_block_size");
    CHECK(master == NULL);
    m.sync_block_size = 12288;
    CHECK_FAILS(rha_master_agent_start(&m, &master, &E), RHA_INVALID_ARGUMENT,
                "sync_block_size");
    m.sync_block_size = 4096;
    m.ignore_same = 2;
    master = (rha_master_agent *)&m;
    CHECK_FAILS(rha_master_agent_start(&m, &master, &E), RHA_INVALID_ARGUMENT, "ignore_same");
    CHECK(master == NULL);
    m.ignore_same = 1;
    m.root_dir = NULL;
    m.sync_mode = RHA_SYNC_FILE;
    m.sync_block_size = 0;
    m.identity_dir = base;
    CHECK_FAILS(rha_master_agent_start(&m, &master, &E), RHA_IDENTITY_MISSING, NULL);
    CHECK(master == NULL);

    /* A master that cannot reach its replica starts, and says so. */
    m.identity_dir = master_id;
    CHECK_OK(rha_master_agent_start(&m, &master, &E));
    CHECK_FAILS(rha_master_agent_status(master, NULL, &E), RHA_NULL_PARAMETER, "status_out");
    memset(&st, 0, sizeof st);
    st.struct_size = 3;
    CHECK_FAILS(rha_master_agent_status(master, &st, &E), RHA_INVALID_ARGUMENT, "struct_size");
    CHECK_FAILS(rha_master_agent_append_journal(master, NULL, 5, NULL, &E), RHA_NULL_PARAMETER,
                "journal");
    CHECK_FAILS(rha_master_agent_append_journal(master, (const uint8_t *)"garbage!", 8, NULL, &E),
                RHA_JOURNAL_CORRUPT, NULL);
    /* One agent per state directory. */
    {
        rha_master_agent *second = NULL;
        CHECK_FAILS(rha_master_agent_start(&m, &second, &E), RHA_SPOOL_LOCKED, "in use");
        CHECK(second == NULL);
    }
    /* A bad status size still stops and releases the agent. */
    CHECK_FAILS(rha_master_agent_stop(master, &st, &E), RHA_INVALID_ARGUMENT, "struct_size");
    CHECK_FAILS(rha_master_agent_stop(NULL, NULL, &E), RHA_NULL_PARAMETER, "agent");
    rha_master_agent_free(NULL);

    rha_replica_agent_config_init(&r);
    CHECK_FAILS(rha_replica_agent_start(&r, &replica, &E), RHA_NULL_PARAMETER, "root");
    CHECK(replica == NULL);
    r.root = root;
    r.identity_dir = replica_id;
    r.listen_address = str("127.0.0.1:0");
    CHECK_FAILS(rha_replica_agent_start(&r, &replica, &E), RHA_INVALID_ARGUMENT, "allowed");
    two[0] = str(master_fp);
    two[1] = str("not a fingerprint");
    r.allowed = two;
    r.allowed_count = 2;
    CHECK_FAILS(rha_replica_agent_start(&r, &replica, &E), RHA_TRANSPORT_BAD_FINGERPRINT,
                "allowed[1]");
    two[1] = str(stranger_fp);
    CHECK_FAILS(rha_replica_agent_start(&r, &replica, &E), RHA_INVALID_ARGUMENT,
                "scenario_name");
    r.allowed_count = 1;
    r.rewind = 7;
    CHECK_FAILS(rha_replica_agent_start(&r, &replica, &E), RHA_INVALID_ARGUMENT, "rewind");
    r.rewind = 0;
    r.struct_size = 0;
    CHECK_FAILS(rha_replica_agent_start(&r, &replica, &E), RHA_INVALID_ARGUMENT, "struct_size");
    r.struct_size = sizeof r;
    r.listen_address = str("192.0.2.1:0");
    CHECK_FAILS(rha_replica_agent_start(&r, &replica, &E), RHA_TRANSPORT_LISTEN, "listen");
    CHECK(replica == NULL);
    CHECK(rha_replica_agent_local_port(NULL) == 0);
    CHECK_FAILS(rha_replica_agent_stop(NULL, NULL, &E), RHA_NULL_PARAMETER, "agent");
    rha_replica_agent_free(NULL);
}

int main(void)
{
    static const struct test_case cases[] = {
        {"agents: identities, fingerprints, no overwrite", test_identities},
        {"agents: a master replicates a journal to a replica over TLS",
         test_replicates_a_journal},
        {"agents: a master with a root syncs a fresh replica, then the journal",
         test_syncs_a_tree_before_the_journal},
        {"agents: callers built with the first struct versions", test_first_struct_versions},
        {"agents: a master pinned to another fingerprint gets nothing through",
         test_wrong_fingerprint_gets_nothing_through},
        {"agents: bad configurations and arguments", test_bad_configurations},
    };
    int failed;
    setup();
    failed = run_cases(cases, sizeof cases / sizeof cases[0]);
    temp_dir_remove(base);
    return failed == 0 ? 0 : 1;
}
