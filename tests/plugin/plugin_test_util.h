/*
 * plugin_test_util.h - helpers shared by the tests of tests/plugin: temporary directories,
 * the built test-plugin directories, capturing stderr (where wrk_log writes).
 */
#ifndef PLUGIN_TEST_UTIL_H
#define PLUGIN_TEST_UTIL_H

#include <stddef.h>

/** $top_builddir/tests/plugin/<name> (the directory of one test module) into buf. */
const char *ptu_module_dir(const char *name, char *buf, size_t cap);
/** The built .so of a test module: $top_builddir/tests/plugin/<dir>/.libs/<module>.so */
const char *ptu_module_so(const char *dir, const char *module, char *buf, size_t cap);

/** Make a fresh temporary directory (path into buf); remove it with ptu_rmdir. */
const char *ptu_mkdtemp(char *buf, size_t cap);
void ptu_rmdir(const char *dir);
/** Copy a file; 0 on success. */
int ptu_copy(const char *from, const char *to);
/** Write text to path; 0 on success. */
int ptu_write(const char *path, const char *text);

/** Send stderr to a temporary file until ptu_capture_end, which returns what was written
 *  (malloc'd, NUL-terminated; the caller frees) and restores stderr. */
void ptu_capture_begin(void);
char *ptu_capture_end(void);

/** Number of open file descriptors of this process. */
int ptu_count_fds(void);

#endif
