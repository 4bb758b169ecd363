/* The test harness declared in check.h. */
#include "check.h"

#include <stdarg.h>
#include <stdio.h>

int check_failures;

void check_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    check_failures++;
}

int run_cases(const struct test_case *cases, size_t n)
{
    size_t i;
    int failed = 0;
    for (i = 0; i < n; i++) {
        check_failures = 0;
        cases[i].run();
        if (check_failures == 0) {
            printf("ok - %s\n", cases[i].name);
        } else {
            printf("not ok - %s (%d failed checks)\n", cases[i].name, check_failures);
            failed++;
        }
        fflush(stdout);
    }
    printf("# %d passed, %d failed\n", (int)n - failed, failed);
    return failed;
}
