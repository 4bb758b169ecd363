/*
 * A minimal test harness for the C tests: CHECK-style assertions that record
 * failures in the current test case, and a runner that prints one TAP-like
 * line per case ("ok - name" / "not ok - name") that tests/c/run.sh counts.
 */
#ifndef RHA_TEST_CHECK_H
#define RHA_TEST_CHECK_H

#include <stddef.h>
#include <string.h>

#include "rha.h"

/* Failed checks in the running test case. */
extern int check_failures;

/* Reports a failed check at file:line and counts it. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
void check_fail(const char *file, int line, const char *fmt, ...);

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            check_fail(__FILE__, __LINE__, "check failed: %s", #cond);       \
        }                                                                    \
    } while (0)

/* CHECK_OK(call): `call` uses `&E` as its error_out; it must return RHA_OK. */
#define CHECK_OK(call)                                                       \
    do {                                                                     \
        rha_error *E = NULL;                                                 \
        rha_result rc_ = (call);                                             \
        if (rc_ != RHA_OK) {                                                 \
            check_fail(__FILE__, __LINE__, "%s returned %s: %s", #call,      \
                       rha_result_name(rc_), rha_error_message(E));          \
        }                                                                    \
        rha_error_free(E);                                                   \
    } while (0)

/* CHECK_FAILS(call, code, needle): `call` uses `&E`; it must return `code`
 * and produce an error object with that code whose message contains
 * `needle` (unless `needle` is NULL). */
#define CHECK_FAILS(call, code, needle)                                      \
    do {                                                                     \
        rha_error *E = NULL;                                                 \
        rha_result rc_ = (call);                                             \
        const char *needle_ = (needle);                                      \
        if (rc_ != (code)) {                                                 \
            check_fail(__FILE__, __LINE__, "%s returned %s, expected %s: %s", \
                       #call, rha_result_name(rc_), rha_result_name(code),   \
                       rha_error_message(E));                                \
        } else if (E == NULL) {                                              \
            check_fail(__FILE__, __LINE__, "%s gave no error object", #call); \
        } else if (rha_error_code(E) != (code)) {                            \
            check_fail(__FILE__, __LINE__, "%s: error object has code %s",   \
                       #call, rha_result_name(rha_error_code(E)));           \
        } else if (needle_ != NULL &&                                        \
                   strstr(rha_error_message(E), needle_) == NULL) {          \
            check_fail(__FILE__, __LINE__, "%s: message \"%s\" lacks \"%s\"", \
                       #call, rha_error_message(E), needle_);                \
        }                                                                    \
        rha_error_free(E);                                                   \
    } while (0)

struct test_case {
    const char *name;
    void (*run)(void);
};

/* Runs every case, prints one line each and a summary; returns the number of
 * failed cases. */
int run_cases(const struct test_case *cases, size_t n);

#endif /* RHA_TEST_CHECK_H */
