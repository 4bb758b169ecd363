/*
 * C tests of the HA scenario API in include/rha.h: build a scenario from a
 * configuration, feed commands, observations and time, poll actions and
 * events; refusals, confirmations, an automatic switchover on a dead master,
 * switchback, save/restore, NULL handling. Run by tests/c/run.sh (shared,
 * static, ASan+UBSan, valgrind).
 *
 * Usage: test_ha [DATA_DIR]   (DATA_DIR: tests/data, for the saved state)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "rha.h"

#define SEC 1000000000ULL

static const char *data_dir = "tests/data";

#define TEXT(s) (const uint8_t *)(s), strlen(s)

static const char *MOVE_IP =
    "{\"method\":\"move_ip\",\"address\":\"10.0.0.100\",\"prefix_len\":24,"
    "\"master_interface\":\"eth0\",\"replica_interface\":\"eth1\"}";
static const char *SWITCH_NAME =
    "{\"method\":\"switch_name\",\"master_name\":\"alpha\",\"replica_name\":\"beta\","
    "\"suffix\":\"-RHA\"}";

/* A file-server scenario alpha -> beta; automatic or manual switchover,
 * one ping link, heartbeat 30 s, timeout 300 s, with move IP + switch name. */
static rha_ha_scenario *make(bool automatic)
{
    rha_ha_scenario *s = NULL;
    rha_ha_scenario_builder *b = rha_ha_scenario_builder_new();
    CHECK(b != NULL);
    CHECK_OK(rha_ha_scenario_builder_set_name(b, TEXT("files"), &E));
    CHECK_OK(rha_ha_scenario_builder_set_type(b, RHA_HA_FILE_SERVER, &E));
    CHECK_OK(rha_ha_scenario_builder_set_side_host(b, RHA_HA_MASTER, TEXT("alpha"), TEXT("10.0.0.1"), 24, &E));
    CHECK_OK(rha_ha_scenario_builder_set_side_host(b, RHA_HA_REPLICA, TEXT("beta"), TEXT("10.0.0.2"), 24, &E));
    CHECK_OK(rha_ha_scenario_builder_set_is_alive(b, 30 * SEC, 300 * SEC, automatic, &E));
    CHECK_OK(rha_ha_scenario_builder_add_link(b, TEXT("lan"), RHA_HA_CHECK_PING, 2 * SEC, NULL, 0, &E));
    CHECK_OK(rha_ha_scenario_builder_add_redirect_json(b, TEXT(MOVE_IP), &E));
    CHECK_OK(rha_ha_scenario_builder_add_redirect_json(b, TEXT(SWITCH_NAME), &E));
    CHECK_OK(rha_ha_scenario_build(b, &s, &E));
    CHECK(s != NULL);
    return s;
}

static uint32_t state_of(rha_ha_scenario *s)
{
    rha_ha_status st = {.struct_size = sizeof(rha_ha_status)};
    memset(&st, 0, sizeof st);
    st.struct_size = sizeof st;
    CHECK_OK(rha_ha_scenario_status(s, &st, &E));
    return st.state;
}

/* `word`: the typed confirmation of a destructive command, or NULL. */
static rha_result command(rha_ha_scenario *s, uint32_t kind, const char *word, uint64_t now,
                          rha_error **err)
{
    rha_ha_command c;
    memset(&c, 0, sizeof c);
    c.struct_size = sizeof c;
    c.kind = kind;
    if (word != NULL) {
        c.text.ptr = (const uint8_t *)word;
        c.text.len = strlen(word);
    }
    return rha_ha_scenario_command(s, &c, now, err);
}

struct drive_log {
    uint32_t kinds[256];
    uint32_t flags[256];
    uint64_t numbers[256];
    uint32_t hosts[256];
    char redirect_json[512];
    size_t n;
};

/* Executes every queued action: completes those awaiting a report (failing
 * the one of kind `fail_kind`, if any, once), answers Is Alive checks with
 * `alive`. Loops until the scenario has nothing left to do. */
static void drive(rha_ha_scenario *s, uint64_t now, bool alive, uint32_t fail_kind,
                  struct drive_log *log)
{
    int guard = 0;
    for (;;) {
        rha_ha_action a = {.struct_size = sizeof(rha_ha_action)};
        rha_result r = rha_ha_scenario_poll_action(s, &a, NULL);
        if (r == RHA_DONE) {
            return;
        }
        CHECK(r == RHA_OK);
        if (r != RHA_OK || ++guard > 1000) {
            return;
        }
        if (log != NULL && log->n < 256) {
            log->kinds[log->n] = a.kind;
            log->flags[log->n] = a.flag;
            log->numbers[log->n] = a.number;
            log->hosts[log->n] = a.host;
            log->n++;
            if (a.kind == RHA_HA_ACT_REDIRECT && !a.flag && log->redirect_json[0] == 0 &&
                a.json.len < sizeof log->redirect_json) {
                memcpy(log->redirect_json, a.json.ptr, a.json.len);
                log->redirect_json[a.json.len] = 0;
            }
        }
        rha_ha_observation o;
        memset(&o, 0, sizeof o);
        o.struct_size = sizeof o;
        if (a.kind == RHA_HA_ACT_CHECK_ALIVE) {
            o.kind = RHA_HA_OBS_HEARTBEAT;
            o.link = (uint32_t)a.number;
            o.alive = alive;
        } else if (!a.awaits_report) {
            continue;
        } else if (a.kind == fail_kind) {
            o.kind = RHA_HA_OBS_ACTION_FAILED;
            o.action_id = a.id;
            o.text.ptr = (const uint8_t *)"disk on fire";
            o.text.len = 12;
            fail_kind = 0;
        } else {
            o.kind = RHA_HA_OBS_ACTION_COMPLETED;
            o.action_id = a.id;
        }
        CHECK_OK(rha_ha_scenario_observe(s, &o, now, &E));
    }
}

/* Polls every event; returns how many had `kind`. */
static int count_events(rha_ha_scenario *s, uint32_t kind)
{
    int n = 0;
    rha_ha_event e = {.struct_size = sizeof(rha_ha_event)};
    while (rha_ha_scenario_poll_event(s, &e, NULL) == RHA_OK) {
        CHECK(e.json.ptr != NULL && e.json.len > 0);
        if (e.kind == kind) {
            n++;
        }
    }
    return n;
}

static rha_ha_scenario *replicating(bool automatic)
{
    rha_ha_scenario *s = make(automatic);
    CHECK_OK(command(s, RHA_HA_CMD_START, NULL, 0, &E));
    drive(s, 0, true, 0, NULL);
    CHECK(state_of(s) == RHA_HA_REPLICATING);
    return s;
}

/* ---- test cases --------------------------------------------------------- */

static void test_builder_validates(void)
{
    rha_ha_scenario *s = NULL;
    rha_ha_scenario_builder *b = rha_ha_scenario_builder_new();
    CHECK_FAILS(rha_ha_scenario_build(b, &s, &E), RHA_HA_INVALID_CONFIG, "master host is not set");
    CHECK(s == NULL);

    b = rha_ha_scenario_builder_new();
    CHECK_FAILS(rha_ha_scenario_builder_set_side_host(b, RHA_HA_MASTER, TEXT("alpha"), TEXT("10.0.0.300"), 24, &E),
                RHA_INVALID_ARGUMENT, "10.0.0.300");
    /* The side is an rha_ha_side value, checked. */
    CHECK_FAILS(rha_ha_scenario_builder_set_side_host(b, 2, TEXT("alpha"), TEXT("10.0.0.1"), 24, &E),
                RHA_INVALID_ARGUMENT, "rha_ha_side value 2");
    CHECK_FAILS(rha_ha_scenario_builder_set_type(b, 99, &E), RHA_INVALID_ARGUMENT, "99");
    CHECK_FAILS(rha_ha_scenario_builder_add_redirect_json(b, TEXT("{\"method\":\"teleport\"}"), &E),
                RHA_HA_INVALID_CONFIG, "redirection step");
    CHECK_OK(rha_ha_scenario_builder_set_type(b, RHA_HA_EXCHANGE, &E));
    CHECK_OK(rha_ha_scenario_builder_set_side_host(b, RHA_HA_MASTER, TEXT("alpha"), TEXT("10.0.0.1"), 24, &E));
    CHECK_OK(rha_ha_scenario_builder_set_side_host(b, RHA_HA_REPLICA, TEXT("beta"), TEXT("10.0.0.2"), 24, &E));
    CHECK_OK(rha_ha_scenario_builder_add_redirect_json(b, TEXT(SWITCH_NAME), &E));
    CHECK_FAILS(rha_ha_scenario_build(b, &s, &E), RHA_HA_INVALID_CONFIG,
                "switch computer name is not allowed for Exchange scenarios");

    b = rha_ha_scenario_builder_new();
    CHECK_OK(rha_ha_scenario_builder_set_side_host(b, RHA_HA_MASTER, TEXT("alpha"), TEXT("10.0.0.1"), 24, &E));
    CHECK_OK(rha_ha_scenario_builder_set_side_host(b, RHA_HA_REPLICA, TEXT("beta"), TEXT("10.9.0.2"), 24, &E));
    CHECK_OK(rha_ha_scenario_builder_add_redirect_json(b, TEXT(MOVE_IP), &E));
    CHECK_FAILS(rha_ha_scenario_build(b, &s, &E), RHA_HA_INVALID_CONFIG, "same network segment");
    rha_ha_scenario_builder_free(NULL);
}

static void test_lifecycle_and_refusals(void)
{
    rha_ha_scenario *s = make(false);
    struct drive_log log;
    rha_bytes before, after;
    char *copy;
    memset(&log, 0, sizeof log);
    CHECK(state_of(s) == RHA_HA_STOPPED);
    CHECK(strcmp(rha_ha_state_name(RHA_HA_SWITCHED_OVER), "switched over") == 0);
    CHECK(strcmp(rha_ha_state_name(12345), "unknown") == 0);
    CHECK_OK(command(s, RHA_HA_CMD_START, NULL, 0, &E));
    CHECK(state_of(s) == RHA_HA_VERIFYING);
    drive(s, 0, true, 0, &log);
    CHECK(log.n == 2 && log.kinds[0] == RHA_HA_ACT_VERIFY && log.kinds[1] == RHA_HA_ACT_BEGIN_SYNC);
    CHECK(state_of(s) == RHA_HA_REPLICATING);
    CHECK(count_events(s, RHA_HA_EV_STATE_CHANGED) == 3);

    /* A refused command names the state and changes nothing. */
    CHECK_OK(rha_ha_scenario_save(s, &before, &E));
    copy = malloc(before.len);
    CHECK(copy != NULL);
    if (copy == NULL) {
        rha_ha_scenario_free(s);
        return;
    }
    memcpy(copy, before.ptr, before.len);
    CHECK_FAILS(command(s, RHA_HA_CMD_RESUME, NULL, 5, &E), RHA_HA_REFUSED,
                "resume refused in state replicating");
    CHECK_FAILS(command(s, RHA_HA_CMD_FAILOVER, NULL, 5, &E), RHA_HA_CONFIRMATION_REQUIRED,
                "type FAILOVER to confirm");
    CHECK_FAILS(command(s, RHA_HA_CMD_FAILOVER, "failover", 5, &E), RHA_HA_CONFIRMATION_REQUIRED,
                "type FAILOVER to confirm");
    CHECK_FAILS(command(s, RHA_HA_CMD_ABANDON_STEP, NULL, 5, &E), RHA_HA_REFUSED,
                "no step is awaited");
    CHECK_FAILS(command(s, 999, NULL, 5, &E), RHA_INVALID_ARGUMENT, "unknown command kind 999");
    CHECK_OK(rha_ha_scenario_save(s, &after, &E));
    CHECK(after.len == before.len && memcmp(copy, after.ptr, after.len) == 0);
    free(copy);

    /* A bookmark needs its name; the action carries it. */
    {
        rha_ha_command c;
        rha_ha_action a = {.struct_size = sizeof(rha_ha_action)};
        memset(&c, 0, sizeof c);
        c.struct_size = sizeof c;
        c.kind = RHA_HA_CMD_BOOKMARK;
        c.text.ptr = (const uint8_t *)"nightly";
        c.text.len = 7;
        CHECK_OK(rha_ha_scenario_command(s, &c, 6, &E));
        CHECK_OK(rha_ha_scenario_poll_action(s, &a, &E));
        CHECK(a.kind == RHA_HA_ACT_SET_BOOKMARK && !a.awaits_report);
        CHECK(a.text.len == 7 && memcmp(a.text.ptr, "nightly", 7) == 0);
    }
    CHECK_OK(command(s, RHA_HA_CMD_STOP, NULL, 7, &E));
    CHECK(state_of(s) == RHA_HA_STOPPED);
    rha_ha_scenario_free(s);
}

static void test_automatic_switchover_and_switchback(void)
{
    rha_ha_scenario *s = replicating(true);
    struct drive_log log;
    uint64_t now = 0, deadline = 0;
    int rounds = 0;
    rha_ha_status st = {.struct_size = sizeof(rha_ha_status)};
    memset(&log, 0, sizeof log);
    count_events(s, 0);
    /* The master stops answering: follow the deadlines. */
    while (state_of(s) == RHA_HA_REPLICATING && rounds++ < 100) {
        CHECK(rha_ha_scenario_poll_timeout(s, &deadline));
        CHECK(deadline >= now);
        now = deadline;
        CHECK_OK(rha_ha_scenario_handle_timeout(s, now, &E));
        drive(s, now, false, 0, &log);
    }
    CHECK(state_of(s) == RHA_HA_SWITCHED_OVER);
    CHECK(now >= 300 * SEC && now <= 331 * SEC);
    CHECK(count_events(s, RHA_HA_EV_SWITCHOVER_STARTED) == 1);
    CHECK(strstr(log.redirect_json, "\"move_ip\"") != NULL);
    CHECK(strstr(log.redirect_json, "10.0.0.100") != NULL);
    memset(&st, 0, sizeof st);
    st.struct_size = sizeof st;
    CHECK_OK(rha_ha_scenario_status(s, &st, &E));
    CHECK(st.active == RHA_HA_REPLICA && st.config_locked);
    CHECK(!rha_ha_scenario_poll_timeout(s, &deadline));
    CHECK_FAILS(rha_ha_scenario_update_config_json(s, TEXT("{}"), now, &E), RHA_HA_INVALID_CONFIG,
                "configuration");

    /* Switchback: reverse sync, then the undo plan in reverse order. */
    memset(&log, 0, sizeof log);
    {
        rha_ha_command c;
        size_t i, undos = 0;
        memset(&c, 0, sizeof c);
        c.struct_size = sizeof c;
        c.kind = RHA_HA_CMD_SWITCHBACK;
        CHECK_OK(rha_ha_scenario_command(s, &c, now, &E));
        CHECK(state_of(s) == RHA_HA_REVERSE_REPLICATING);
        drive(s, now, true, 0, &log);
        CHECK(state_of(s) == RHA_HA_REPLICATING);
        for (i = 0; i < log.n; i++) {
            if (log.kinds[i] == RHA_HA_ACT_REDIRECT) {
                /* Switch name, then move IP; each in two halves: the
                 * replica releases, then the master takes back. */
                CHECK(log.flags[i] == 1); /* undo */
                CHECK(log.numbers[i] == (undos < 2 ? 1 : 0));
                CHECK(log.hosts[i] == (undos % 2 == 0 ? RHA_HA_REPLICA : RHA_HA_MASTER));
                undos++;
            }
        }
        CHECK(undos == 4);
    }
    rha_ha_scenario_free(s);
}

static void test_failed_step_rolls_back(void)
{
    rha_ha_scenario *s = replicating(false);
    struct drive_log log;
    size_t i, redirects = 0;
    memset(&log, 0, sizeof log);
    count_events(s, 0);
    CHECK_OK(command(s, RHA_HA_CMD_SWITCHOVER, "SWITCHOVER", 1, &E));
    /* Fail the replica's service start: every done step is undone. */
    drive(s, 1, true, RHA_HA_ACT_START_SERVICES, &log);
    CHECK(state_of(s) == RHA_HA_REPLICATING);
    for (i = 0; i < log.n; i++) {
        if (log.kinds[i] == RHA_HA_ACT_REDIRECT) {
            redirects++;
        }
    }
    CHECK(redirects == 8); /* each step in two halves: do 0, do 1, undo 1, undo 0 */
    CHECK(log.kinds[log.n - 1] == RHA_HA_ACT_START_SERVICES && log.flags[log.n - 1] == 0);
    CHECK(count_events(s, RHA_HA_EV_STEP_FAILED) == 1);
    rha_ha_scenario_free(s);
}

static void test_save_restore(void)
{
    rha_ha_scenario *s = replicating(false), *r = NULL;
    rha_bytes saved, again;
    char path[1024];
    FILE *f;
    static uint8_t buf[65536];
    size_t n;
    CHECK_OK(command(s, RHA_HA_CMD_SWITCHOVER, "SWITCHOVER", 1, &E));
    CHECK_OK(rha_ha_scenario_save(s, &saved, &E));
    CHECK_OK(rha_ha_scenario_restore(saved.ptr, saved.len, &r, &E));
    CHECK(r != NULL);
    if (r != NULL) {
        CHECK(state_of(r) == RHA_HA_SWITCHING_OVER);
        CHECK_OK(rha_ha_scenario_save(r, &again, &E));
        CHECK(again.len == saved.len && memcmp(again.ptr, saved.ptr, saved.len) == 0);
        drive(r, 2, true, 0, NULL);
        CHECK(state_of(r) == RHA_HA_SWITCHED_OVER);
        rha_ha_scenario_free(r);
        r = NULL;
    }
    CHECK_FAILS(rha_ha_scenario_restore(saved.ptr, saved.len / 2, &r, &E), RHA_HA_STATE_CORRUPT,
                "line 1");
    CHECK_FAILS(rha_ha_scenario_restore((const uint8_t *)"{\"version\":99}", 14, &r, &E),
                RHA_HA_STATE_UNSUPPORTED_VERSION, "version 99");
    CHECK(r == NULL);
    rha_ha_scenario_free(s);

    /* The committed version-1 state stays readable. */
    snprintf(path, sizeof path, "%s/ha-state-v1.json", data_dir);
    f = fopen(path, "rb");
    CHECK(f != NULL);
    if (f != NULL) {
        n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        CHECK_OK(rha_ha_scenario_restore(buf, n, &r, &E));
        if (r != NULL) {
            CHECK(state_of(r) == RHA_HA_SWITCHING_OVER);
            rha_ha_scenario_free(r);
        }
    }
}

/* An agent restart with a step in flight: the restored scenario asks for the
 * time at once, re-issues the step with its id, and the operator may abandon
 * it (the switchover rolls back). */
static void test_restart_reissues_then_abandon(void)
{
    rha_ha_scenario *s = replicating(false), *r = NULL;
    rha_ha_action a = {.struct_size = sizeof(rha_ha_action)};
    rha_ha_action again = {.struct_size = sizeof(rha_ha_action)};
    rha_ha_action intent = {.struct_size = sizeof(rha_ha_action)};
    rha_ha_status st;
    rha_bytes saved;
    uint64_t deadline = 99;
    CHECK_OK(command(s, RHA_HA_CMD_SWITCHOVER, "SWITCHOVER", 1, &E));
    CHECK_OK(rha_ha_scenario_poll_action(s, &a, &E)); /* handed out, never reported */
    CHECK(a.awaits_report);
    CHECK_OK(rha_ha_scenario_save(s, &saved, &E));
    CHECK_OK(rha_ha_scenario_restore(saved.ptr, saved.len, &r, &E));
    rha_ha_scenario_free(s);
    if (r == NULL) {
        return;
    }
    memset(&st, 0, sizeof st);
    st.struct_size = sizeof st;
    CHECK_OK(rha_ha_scenario_status(r, &st, &E));
    CHECK(st.awaiting_restart && st.replica_connected && !st.failure_pending);
    /* A caller of the first, 16-byte version still works; nothing past
     * its size is written. */
    memset(&st, 0xAA, sizeof st);
    st.struct_size = 16;
    CHECK_OK(rha_ha_scenario_status(r, &st, &E));
    CHECK(st.state == RHA_HA_SWITCHING_OVER && st.struct_size == 16);
    CHECK(*(const unsigned char *)&st.failure_pending == 0xAA);
    CHECK_OK(rha_ha_scenario_intent(r, &intent, &E));
    CHECK(intent.id == a.id && intent.kind == a.kind && intent.awaits_report);
    CHECK(rha_ha_scenario_poll_timeout(r, &deadline) && deadline == 0);
    CHECK_OK(rha_ha_scenario_handle_timeout(r, 5, &E));
    CHECK_OK(rha_ha_scenario_poll_action(r, &again, &E));
    CHECK(again.id == a.id && again.kind == a.kind);
    CHECK(count_events(r, RHA_HA_EV_RESTARTED) == 1);
    CHECK(rha_ha_scenario_poll_timeout(r, &deadline) && deadline > 5);
    CHECK_OK(command(r, RHA_HA_CMD_ABANDON_STEP, NULL, 6, &E));
    CHECK(count_events(r, RHA_HA_EV_STEP_ABANDONED) == 1);
    drive(r, 6, true, 0, NULL);
    CHECK(state_of(r) == RHA_HA_REPLICATING);
    CHECK(rha_ha_scenario_intent(r, &intent, NULL) == RHA_DONE);
    rha_ha_scenario_free(r);
}

static void test_null_handling(void)
{
    rha_ha_scenario *s = make(false);
    rha_ha_command c;
    rha_ha_observation o;
    uint64_t t = 7;
    memset(&c, 0, sizeof c);
    c.struct_size = sizeof c;
    memset(&o, 0, sizeof o);
    o.struct_size = sizeof o;
    c.kind = RHA_HA_CMD_START;
    CHECK_FAILS(rha_ha_scenario_command(NULL, &c, 0, &E), RHA_NULL_PARAMETER, "scenario");
    CHECK_FAILS(rha_ha_scenario_command(s, NULL, 0, &E), RHA_NULL_PARAMETER, "command");
    CHECK_FAILS(rha_ha_scenario_observe(s, &o, 0, &E), RHA_INVALID_ARGUMENT, "observation kind 0");
    CHECK_FAILS(rha_ha_scenario_poll_action(s, NULL, &E), RHA_NULL_PARAMETER, "action_out");
    CHECK_FAILS(rha_ha_scenario_build(NULL, NULL, &E), RHA_NULL_PARAMETER, "builder");
    CHECK(!rha_ha_scenario_poll_timeout(NULL, &t) && t == 7);
    /* A late report is ignored with an event. */
    o.kind = RHA_HA_OBS_ACTION_COMPLETED;
    o.action_id = 424242;
    CHECK_OK(rha_ha_scenario_observe(s, &o, 0, &E));
    CHECK(count_events(s, RHA_HA_EV_UNEXPECTED_REPORT) == 1);
    rha_ha_scenario_free(s);
    rha_ha_scenario_free(NULL);
}

/* An unknown struct_size (7, or sizeof + 8) of a command, an observation, an
 * action or an event is refused with RHA_INVALID_ARGUMENT before anything
 * happens: the scenario's state is unchanged and no action or event is
 * taken. */
static void test_unknown_struct_sizes(void)
{
    rha_ha_scenario *s = make(false);
    rha_ha_command c;
    rha_ha_observation o;
    rha_ha_action a = {.struct_size = sizeof(rha_ha_action)};
    rha_ha_event e = {.struct_size = sizeof(rha_ha_event)};
    uint32_t before = state_of(s);
    int i;

    memset(&c, 0, sizeof c);
    memset(&o, 0, sizeof o);
    c.kind = RHA_HA_CMD_START;
    o.kind = RHA_HA_OBS_ACTION_COMPLETED;
    o.action_id = 424242;
    for (i = 0; i < 2; i++) {
        c.struct_size = i == 0 ? 7 : (uint32_t)sizeof c + 8;
        CHECK_FAILS(rha_ha_scenario_command(s, &c, 0, &E), RHA_INVALID_ARGUMENT,
                    "rha_ha_command.struct_size");
        o.struct_size = i == 0 ? 7 : (uint32_t)sizeof o + 8;
        CHECK_FAILS(rha_ha_scenario_observe(s, &o, 0, &E), RHA_INVALID_ARGUMENT,
                    "rha_ha_observation.struct_size");
    }
    CHECK(state_of(s) == before);
    a.struct_size = sizeof a;
    CHECK(rha_ha_scenario_poll_action(s, &a, NULL) == RHA_DONE); /* the command did nothing */
    e.struct_size = sizeof e;
    CHECK(rha_ha_scenario_poll_event(s, &e, NULL) == RHA_DONE); /* nor the observation */

    /* Something to poll: a start queues actions, a late report an event. */
    c.struct_size = sizeof c;
    CHECK_OK(rha_ha_scenario_command(s, &c, 0, &E));
    o.struct_size = sizeof o;
    CHECK_OK(rha_ha_scenario_observe(s, &o, 0, &E));
    for (i = 0; i < 2; i++) {
        a.struct_size = i == 0 ? 7 : (uint32_t)sizeof a + 8;
        CHECK_FAILS(rha_ha_scenario_poll_action(s, &a, &E), RHA_INVALID_ARGUMENT,
                    "rha_ha_action.struct_size");
        CHECK(a.id == 0 && a.kind == 0); /* untouched */
        e.struct_size = i == 0 ? 7 : (uint32_t)sizeof e + 8;
        CHECK_FAILS(rha_ha_scenario_poll_event(s, &e, &E), RHA_INVALID_ARGUMENT,
                    "rha_ha_event.struct_size");
        CHECK(e.kind == 0 && e.json.ptr == NULL);
    }
    /* Nothing was taken: the first action and the events are still there. */
    a.struct_size = sizeof a;
    CHECK_OK(rha_ha_scenario_poll_action(s, &a, &E));
    CHECK(a.struct_size == sizeof a && a.kind == RHA_HA_ACT_VERIFY);
    CHECK(count_events(s, RHA_HA_EV_UNEXPECTED_REPORT) == 1);
    rha_ha_scenario_free(s);
}

int main(int argc, char **argv)
{
    static const struct test_case cases[] = {
        {"ha: the builder validates the configuration", test_builder_validates},
        {"ha: lifecycle, refusals change nothing", test_lifecycle_and_refusals},
        {"ha: automatic switchover on a dead master, then switchback",
         test_automatic_switchover_and_switchback},
        {"ha: a failed step rolls back in reverse", test_failed_step_rolls_back},
        {"ha: save and restore", test_save_restore},
        {"ha: a restart re-issues the awaited step; abandon it", test_restart_reissues_then_abandon},
        {"ha: NULL handling and late reports", test_null_handling},
        {"ha: unknown struct sizes", test_unknown_struct_sizes},
    };
    if (argc > 1) {
        data_dir = argv[1];
    }
    return run_cases(cases, sizeof cases / sizeof cases[0]) == 0 ? 0 : 1;
}
