/*
 * C tests of the calling conventions that every function shares (the
 * conventions block at the top of include/rha.h): the error slot rule
 * (`*error_out` must be NULL on entry; an earlier error still there is kept,
 * the new one dropped: nothing leaks, nothing is freed twice) and handle
 * outputs (NULL after any failure, so freeing them is always safe). Run by
 * tests/c/run.sh; the valgrind and ASan phases are what prove "no leak, no
 * double free".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "rha.h"
#include "signature_util.h"

static const uint8_t GARBAGE[] = "this is not a signature, a plan or a scenario";

/* A real, tiny block signature (owned by the caller). */
static struct rha_signature *small_signature(void)
{
    uint8_t bytes[1024];
    struct rha_signature *sig = NULL;
    size_t n = tiny_signature(bytes, sizeof bytes);
    CHECK_OK(rha_signature_new(bytes, n, &sig, &E));
    return sig;
}

/* The first error stays in the slot; later failures return their own code
 * but neither overwrite (leaking the first) nor free it. */
static void test_an_earlier_error_is_kept(void)
{
    rha_error *err = NULL;
    struct rha_signature *sig = NULL;
    CHECK(rha_signature_new(GARBAGE, sizeof GARBAGE, &sig, &err) == RHA_SIGNATURE_CORRUPT);
    CHECK(err != NULL);
    rha_error *first = err;

    /* A second failure of another kind, with the slot still full. */
    CHECK(rha_signature_job_new(10, 3, 0, NULL, &err) == RHA_NULL_PARAMETER);
    CHECK(err == first);
    CHECK(rha_error_code(err) == RHA_SIGNATURE_CORRUPT);
    /* And a panic-free failure from a builder that is consumed anyway. */
    struct rha_journal_writer *w = NULL;
    CHECK(rha_journal_writer_build(NULL, &w, &err) == RHA_NULL_PARAMETER);
    CHECK(err == first && w == NULL);

    rha_error_free(err); /* exactly once: valgrind and ASan watch */
    err = NULL;

    /* Emptied, the slot takes the next error again. */
    CHECK(rha_signature_job_new(10, 3, 0, NULL, &err) == RHA_NULL_PARAMETER);
    CHECK(err != NULL && rha_error_code(err) == RHA_NULL_PARAMETER);
    rha_error_free(err);

    /* A success leaves a full slot alone. */
    err = NULL;
    CHECK(rha_signature_new(GARBAGE, 3, &sig, &err) != RHA_OK);
    first = err;
    struct rha_signature_job *job = NULL;
    CHECK(rha_signature_job_new(10, 0, 0, &job, &err) == RHA_OK);
    CHECK(err == first && job != NULL);
    rha_signature_job_free(job);
    rha_error_free(err);
}

/* Each constructor below fails with a handle output that holds a stale,
 * still-live handle: afterwards it holds NULL, so "free on every path"
 * code frees NULL (a no-op) rather than the stale handle a second time. */
static void test_handle_outputs_are_null_after_failure(void)
{
    struct rha_signature *sig = small_signature();
    struct rha_signature *live = NULL;
    rha_error *err = NULL;

    /* rha_signature_new: corrupt bytes. */
    struct rha_signature *s_out = sig;
    CHECK(rha_signature_new(GARBAGE, sizeof GARBAGE, &s_out, &err) == RHA_SIGNATURE_CORRUPT);
    CHECK(s_out == NULL);
    rha_signature_free(s_out);
    rha_error_free(err);
    err = NULL;

    /* rha_signature_job_new: a block length out of range. */
    struct rha_signature_job *job = NULL;
    CHECK_OK(rha_signature_job_new(100, 0, 0, &job, &E));
    struct rha_signature_job *j_out = job;
    CHECK(rha_signature_job_new(100, 3, 0, &j_out, &err) == RHA_INVALID_ARGUMENT);
    CHECK(j_out == NULL);
    rha_signature_job_free(j_out);
    rha_signature_job_free(job);
    rha_error_free(err);
    err = NULL;

    /* rha_delta_job_new: an unknown format (a uint32_t checked on entry). */
    struct rha_delta_job *delta = NULL;
    CHECK_OK(rha_delta_job_new(sig, RHA_DELTA_FORMAT_RHA, &delta, &E));
    struct rha_delta_job *d_out = delta;
    CHECK(rha_delta_job_new(sig, 77, &d_out, &err) == RHA_INVALID_ARGUMENT);
    CHECK(d_out == NULL);
    rha_delta_job_free(d_out);
    rha_delta_job_free(delta);
    rha_error_free(err);
    err = NULL;

    /* rha_journal_reader_build: a NULL builder, with no error slot at all. */
    struct rha_journal_reader *reader = NULL;
    CHECK_OK(rha_journal_reader_build(rha_journal_reader_builder_new(), &reader, &E));
    struct rha_journal_reader *r_out = reader;
    CHECK(rha_journal_reader_build(NULL, &r_out, NULL) == RHA_NULL_PARAMETER);
    CHECK(r_out == NULL);
    rha_journal_reader_free(reader);

    /* rha_signature_loader_finish: a truncated signature (the loader is
     * consumed). */
    uint8_t bytes[1024];
    size_t n = tiny_signature(bytes, sizeof bytes);
    struct rha_signature_loader *loader = NULL;
    CHECK_OK(rha_signature_loader_new(0, &loader, &E));
    struct rha_in_buffer in = {bytes, n - 1, 0};
    CHECK_OK(rha_signature_loader_feed(loader, &in, &E));
    live = sig;
    CHECK(rha_signature_loader_finish(loader, &live, &err) != RHA_OK);
    CHECK(live == NULL && err != NULL);
    rha_error_free(err);
    err = NULL;

    /* rha_plan_new_buffers: a NULL buffer with a length. */
    struct rha_plan *p_out = (struct rha_plan *)sig; /* any stale pointer */
    CHECK(rha_plan_new_buffers(NULL, NULL, 5, GARBAGE, sizeof GARBAGE, &p_out, &err) != RHA_OK);
    CHECK(p_out == NULL);
    rha_plan_free(p_out);
    rha_error_free(err);
    err = NULL;

    /* rha_ha_scenario_restore: saved state that does not parse. */
    struct rha_ha_scenario *sc_out = (struct rha_ha_scenario *)sig;
    CHECK(rha_ha_scenario_restore(GARBAGE, sizeof GARBAGE, &sc_out, &err) == RHA_HA_STATE_CORRUPT);
    CHECK(sc_out == NULL);
    rha_ha_scenario_free(sc_out);
    rha_error_free(err);

    rha_signature_free(sig);
}

/* A non-handle output is still untouched by a failing call. */
static void test_other_outputs_are_untouched_on_failure(void)
{
    struct rha_signature *sig = small_signature();
    uint64_t literal = 41, matched = 42;
    rha_delta_job_stats(NULL, &literal, &matched);
    CHECK(literal == 41 && matched == 42);
    struct rha_fixed_plan *plan = NULL;
    rha_error *err = NULL;
    /* Comparing a signature with itself works; with NULL it fails, plan NULL. */
    CHECK(rha_fixed_plan_new(sig, NULL, &plan, &err) == RHA_NULL_PARAMETER);
    CHECK(plan == NULL);
    rha_error_free(err);
    rha_signature_free(sig);
}

int main(void)
{
    static const struct test_case cases[] = {
        {"an earlier error in the slot is kept", test_an_earlier_error_is_kept},
        {"handle outputs are NULL after a failure", test_handle_outputs_are_null_after_failure},
        {"other outputs are untouched by a failure", test_other_outputs_are_untouched_on_failure},
    };
    return run_cases(cases, sizeof cases / sizeof cases[0]) == 0 ? 0 : 1;
}
