/* test_util.h: small helpers shared by the Criterion tests.
 * Part of tests/; temporary folders, files, and running the dolen binary. */
#ifndef DL_TEST_UTIL_H
#define DL_TEST_UTIL_H

#include <stddef.h>

/* A fresh empty folder under $TMPDIR (or /tmp), removed by tu_rmtree().
 * Returns a malloc'd path; aborts the test on failure. */
char *tu_tmpdir(void);
/* Remove PATH and everything below it. */
void tu_rmtree(const char *path);
/* malloc'd "A/B". */
char *tu_join(const char *a, const char *b);
/* Write LEN bytes to PATH (created 0644, truncated). */
void tu_write(const char *path, const void *data, size_t len);
void tu_write_str(const char *path, const char *s);
/* The whole file, NUL-terminated, malloc'd; *len (if not NULL) gets its size.
 * NULL when it cannot be read. */
char *tu_read(const char *path, size_t *len);
/* $DL_TEST_DATA/NAME (tests/data in the source tree), malloc'd. */
char *tu_data(const char *name);
/* $DL_SOURCE_ROOT/NAME, malloc'd. */
char *tu_source(const char *name);

/* Run the dolen binary ($DOLEN) with ARGV (NULL-terminated, without argv[0]),
 * stdin from /dev/null. Returns the exit status (128+signal if killed);
 * stdout and stderr are captured into malloc'd strings when the pointers
 * are not NULL. */
int tu_dolen(const char *const *argv, char **out, char **err);

#endif
