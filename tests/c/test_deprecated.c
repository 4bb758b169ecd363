/*
 * C tests of the deprecated names: each function renamed or re-typed by the
 * header's naming rules stays exported under its old name and signature and
 * behaves as before, by calling its replacement. tests/c/run.sh compiles
 * this file (only) with -Wno-deprecated-declarations, since every call here
 * is to a deprecated function on purpose.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "rha.h"
#include "signature_util.h"
#include "tempdir_util.h"

static const uint8_t GARBAGE[] = "not a signature";

/* rha_signature_load and rha_fixed_compare: old names of rha_signature_new
 * and rha_fixed_plan_new. */
static void test_signature_load_and_fixed_compare(void)
{
    uint8_t bytes[1024];
    size_t n = tiny_signature(bytes, sizeof bytes);
    struct rha_signature *a = NULL, *b = NULL;
    struct rha_fixed_plan *plan = (struct rha_fixed_plan *)&n; /* stale: must become NULL */

    CHECK_OK(rha_signature_load(bytes, n, &a, &E));
    CHECK(a != NULL && rha_signature_block_count(a) == 4);
    CHECK_FAILS(rha_signature_load(GARBAGE, sizeof GARBAGE, &b, &E), RHA_SIGNATURE_CORRUPT, "");
    CHECK(b == NULL);
    CHECK_FAILS(rha_signature_load(NULL, 5, &b, &E), RHA_NULL_PARAMETER, "argument `data`");
    CHECK_OK(rha_signature_new(bytes, n, &b, &E));

    CHECK_OK(rha_fixed_compare(a, b, &plan, &E));
    CHECK(plan != NULL && rha_fixed_plan_needed_bytes(plan) == 0);
    rha_fixed_plan_free(plan);
    plan = (struct rha_fixed_plan *)&n;
    CHECK_FAILS(rha_fixed_compare(a, NULL, &plan, &E), RHA_NULL_PARAMETER, "master");
    CHECK(plan == NULL);
    rha_signature_free(a);
    rha_signature_free(b);
}

/* rha_spool_dirty_regions: old name of rha_spool_dirty_new. */
static void test_spool_dirty_regions(void)
{
    char dir[256];
    struct rha_spool *spool = NULL;
    struct rha_spool_dirty *dirty = NULL;
    temp_dir_new(dir, sizeof dir, "deprecated-spool");
    CHECK_OK(rha_spool_build(rha_spool_builder_new(dir), &spool, NULL, &E));
    CHECK_OK(rha_spool_dirty_regions(spool, &dirty, &E));
    CHECK(dirty != NULL && rha_spool_dirty_target_count(dirty) == 0);
    rha_spool_dirty_free(dirty);
    CHECK_FAILS(rha_spool_dirty_regions(NULL, &dirty, &E), RHA_NULL_PARAMETER, "spool");
    CHECK(dirty == NULL);
    rha_spool_free(spool);
    temp_dir_remove(dir);
}

/* rha_ha_scenario_builder_set_host: the bool form of
 * rha_ha_scenario_builder_set_side_host. */
static void test_set_host(void)
{
    struct rha_ha_scenario_builder *b = rha_ha_scenario_builder_new();
    struct rha_ha_scenario *s = NULL;
    CHECK_OK(rha_ha_scenario_builder_set_host(b, false, (const uint8_t *)"alpha", 5,
                                              (const uint8_t *)"10.0.0.1", 8, 24, &E));
    CHECK_OK(rha_ha_scenario_builder_set_host(b, true, (const uint8_t *)"beta", 4,
                                              (const uint8_t *)"10.0.0.2", 8, 24, &E));
    CHECK_FAILS(rha_ha_scenario_builder_set_host(b, true, (const uint8_t *)"beta", 4,
                                                 (const uint8_t *)"10.0.0.300", 10, 24, &E),
                RHA_INVALID_ARGUMENT, "10.0.0.300");
    CHECK_OK(rha_ha_scenario_build(b, &s, &E));
    CHECK(s != NULL);
    rha_ha_scenario_free(s);
}

/* rha_replica_set_bookmark and rha_replica_rewind: the NUL-terminated,
 * int32_t forms of rha_replica_add_bookmark and rha_replica_rewind_to. */
static void test_bookmark_and_rewind(void)
{
    char dir[256];
    struct rha_replica *rep = NULL;
    struct rha_rewind_plan plan = {.struct_size = sizeof(struct rha_rewind_plan)};
    struct rha_rewind_info info = {.struct_size = sizeof(struct rha_rewind_info)};
    struct rha_bookmark mark = {.struct_size = sizeof(struct rha_bookmark)};
    struct rha_record rec;
    rha_record_init(&rec);
    temp_dir_new(dir, sizeof dir, "deprecated-replica");
    {
        /* The old open creates a missing root, as it always did. */
        char missing[300];
        snprintf(missing, sizeof missing, "%s/made", dir);
        CHECK_OK(rha_replica_open(missing, NULL, 0, &rep, &E));
        rha_replica_free(rep);
        rep = NULL;
    }
    CHECK_OK(rha_replica_open(dir, NULL, 1, &rep, &E));
    if (rep == NULL) {
        temp_dir_remove(dir);
        return;
    }
    rha_record_init(&rec);
    rec.seq = 1;
    rec.timestamp_ns = 500;
    rec.op = RHA_OP_MKDIR;
    rec.path.ptr = (const uint8_t *)"d";
    rec.path.len = 1;
    rec.mode = 0755;
    CHECK_OK(rha_replica_apply(rep, &rec, &E));
    CHECK_OK(rha_replica_sync(rep, &E));
    CHECK_OK(rha_replica_set_bookmark(rep, "start", 1000, 1, &E));
    CHECK_FAILS(rha_replica_set_bookmark(rep, NULL, 1000, 1, &E), RHA_NULL_PARAMETER, "name");
    CHECK_FAILS(rha_replica_set_bookmark(rep, "", 1000, 1, &E), RHA_INVALID_ARGUMENT, "bookmark name");
    CHECK_OK(rha_replica_info(rep, &info, &E));
    CHECK(info.bookmarks == 1);
    CHECK_OK(rha_replica_bookmark(rep, 0, &mark, &E));
    CHECK(strcmp(mark.name, "start") == 0 && mark.app_consistent);
    CHECK_OK(rha_replica_rewind(rep, RHA_REWIND_BY_BOOKMARK, 0, "start", 0, 1, &plan, &E));
    CHECK(plan.records == 0);
    CHECK_FAILS(rha_replica_rewind(rep, RHA_REWIND_BY_BOOKMARK, 0, "nope", 0, 1, &plan, &E),
                RHA_REWIND_UNKNOWN_BOOKMARK, "nope");
    CHECK_FAILS(rha_replica_rewind(rep, RHA_REWIND_BY_BOOKMARK, 0, NULL, 0, 1, &plan, &E),
                RHA_NULL_PARAMETER, "name");
    rha_replica_free(rep);
    temp_dir_remove(dir);
}

/* rha_tree_scan_job_stats: the by-value form of
 * rha_tree_scan_job_get_stats, in the frozen rha_tree_scan_totals. */
static void test_tree_scan_job_stats(void)
{
    char dir[256];
    uint8_t room[4096];
    struct rha_tree_scan_job *job = NULL;
    struct rha_tree_scan_totals totals;
    struct rha_tree_scan_stats stats = {.struct_size = sizeof(struct rha_tree_scan_stats)};
    rha_out_buffer out;
    rha_result rc;
    temp_dir_new(dir, sizeof dir, "deprecated-scan");
    CHECK_OK(rha_tree_scan_job_new(dir, 0, &job, &E));
    do {
        out.dst = room;
        out.size = sizeof room;
        out.pos = 0;
        rc = rha_tree_scan_job_read(job, &out, NULL);
    } while (rc == RHA_BLOCKED);
    CHECK(rc == RHA_DONE);
    totals = rha_tree_scan_job_stats(job);
    CHECK_OK(rha_tree_scan_job_get_stats(job, &stats, &E));
    CHECK(totals.entries == stats.entries && totals.files == stats.files &&
          totals.bytes == stats.bytes);
    totals = rha_tree_scan_job_stats(NULL);
    CHECK(totals.entries == 0 && totals.files == 0 && totals.bytes == 0);
    rha_tree_scan_job_free(job);
    temp_dir_remove(dir);
}

int main(void)
{
    static const struct test_case cases[] = {
        {"rha_signature_load, rha_fixed_compare", test_signature_load_and_fixed_compare},
        {"rha_spool_dirty_regions", test_spool_dirty_regions},
        {"rha_ha_scenario_builder_set_host", test_set_host},
        {"rha_replica_set_bookmark, rha_replica_rewind", test_bookmark_and_rewind},
        {"rha_tree_scan_job_stats", test_tree_scan_job_stats},
    };
    return run_cases(cases, sizeof cases / sizeof cases[0]) == 0 ? 0 : 1;
}
