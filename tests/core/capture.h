/*
 * capture.h - capture what the runtime logs to stderr during a test (header-only helper
 * for tests/core). Redirects fd 2 into a temporary file and reads it back.
 */
#ifndef TESTS_CORE_CAPTURE_H
#define TESTS_CORE_CAPTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct { int saved_fd; FILE *tmp; } stderr_capture;

/* Start capturing stderr; 0 on success. */
static inline int capture_begin(stderr_capture *c)
{
    fflush(stderr);
    c->tmp = tmpfile();
    if (!c->tmp) return -1;
    c->saved_fd = dup(2);
    if (c->saved_fd < 0 || dup2(fileno(c->tmp), 2) < 0) return -1;
    return 0;
}

/* Stop capturing; returns the captured text (malloc'd, caller frees). */
static inline char *capture_end(stderr_capture *c)
{
    long n;
    char *buf;
    fflush(stderr);
    dup2(c->saved_fd, 2);
    close(c->saved_fd);
    n = ftell(c->tmp);
    if (n < 0) n = 0;
    buf = calloc(1, (size_t)n + 1);
    if (buf) {
        rewind(c->tmp);
        if (fread(buf, 1, (size_t)n, c->tmp) != (size_t)n) buf[0] = '\0';
    }
    fclose(c->tmp);
    return buf;
}

/* Number of non-overlapping occurrences of needle in hay. */
static inline int count_occurrences(const char *hay, const char *needle)
{
    int k = 0;
    size_t len = strlen(needle);
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += len) k++;
    return k;
}

#endif
