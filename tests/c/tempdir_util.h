/* Helpers of the C tests: a fresh temporary directory, removed with all it holds. */
#ifndef RHA_TEST_TEMPDIR_UTIL_H
#define RHA_TEST_TEMPDIR_UTIL_H

#include <stddef.h>

/* Makes a new directory under $TMPDIR (or /tmp) named `name`-XXXXXX and
 * stores its path in `out` (`size` bytes); exits with 2 if it cannot. */
void temp_dir_new(char *out, size_t size, const char *name);

/* Removes `dir` and everything below it; a missing `dir` is no error. */
void temp_dir_remove(const char *dir);

#endif
