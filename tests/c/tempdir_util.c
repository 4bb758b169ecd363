/* Helpers of the C tests: temporary directories (see tempdir_util.h). */
#define _XOPEN_SOURCE 700

#include "tempdir_util.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

void temp_dir_new(char *out, size_t size, const char *name)
{
    const char *base = getenv("TMPDIR");
    snprintf(out, size, "%s/%s-XXXXXX", base ? base : "/tmp", name);
    if (mkdtemp(out) == NULL) {
        perror("mkdtemp");
        exit(2);
    }
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void temp_dir_remove(const char *dir)
{
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}
