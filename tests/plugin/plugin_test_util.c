/*
 * plugin_test_util.c - see plugin_test_util.h.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plugin_test_util.h"

static const char *builddir(void)
{
    const char *b = getenv("top_builddir");
    return b && *b ? b : ".";
}

const char *ptu_module_dir(const char *name, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/tests/plugin/%s", builddir(), name);
    return buf;
}

const char *ptu_module_so(const char *dir, const char *module, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/tests/plugin/%s/.libs/%s.so", builddir(), dir, module);
    return buf;
}

const char *ptu_mkdtemp(char *buf, size_t cap)
{
    snprintf(buf, cap, "/tmp/check_plugin.XXXXXX");
    return mkdtemp(buf);
}

void ptu_rmdir(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

int ptu_copy(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = in ? fopen(to, "wb") : NULL;
    char buf[65536];
    size_t n;
    int rc = 0;
    if (!in || !out) rc = -1;
    while (!rc && (n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n) rc = -1;
    if (in) fclose(in);
    if (out && fclose(out) != 0) rc = -1;
    return rc;
}

int ptu_write(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    if (!fp) return -1;
    fputs(text, fp);
    return fclose(fp);
}

static int saved_fd = -1;
static FILE *capture;

void ptu_capture_begin(void)
{
    fflush(stderr);
    capture = tmpfile();
    if (!capture) return;
    saved_fd = dup(2);
    dup2(fileno(capture), 2);
}

char *ptu_capture_end(void)
{
    char *text;
    long n;
    fflush(stderr);
    if (!capture) return strdup("");
    dup2(saved_fd, 2);
    close(saved_fd);
    saved_fd = -1;
    fseek(capture, 0, SEEK_END);
    n = ftell(capture);
    if (n < 0) n = 0;
    text = calloc(1, (size_t)n + 1);
    rewind(capture);
    if (text && n) n = (long)fread(text, 1, (size_t)n, capture);
    fclose(capture);
    capture = NULL;
    if (text) fputs(text, stderr);   /* keep it visible in the test log */
    return text;
}

int ptu_count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;
    int n = 0;
    if (!d) return -1;
    while ((de = readdir(d)) != NULL)
        if (de->d_name[0] != '.') n++;
    closedir(d);
    return n;
}
