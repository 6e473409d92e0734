/*
 * log.c - structured logging to stderr (see wrk_log.h).
 *
 * Each line is formatted into one buffer and written with a single fputs under a mutex, so
 * lines of concurrent threads never interleave. The environment (WORKER_LOG_FORMAT,
 * WORKER_LOG_LEVEL) is read once, before the first line; explicit setters win afterwards.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/wrk_log.h"

#define LOG_LINE_MAX 4096

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t log_once = PTHREAD_ONCE_INIT;
static int log_json = 0;
static int log_level = WRK_LOG_INFO;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

/* Parse a level name; -1 when unknown. */
static int parse_level(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (strcasecmp(s, level_names[i]) == 0) return i;
    if (strcasecmp(s, "warning") == 0) return WRK_LOG_WARN;
    return -1;
}

/* Read the environment once; unknown values keep the defaults (text, info). */
static void log_init_env(void)
{
    const char *fmt = getenv("WORKER_LOG_FORMAT");
    const char *lvl = getenv("WORKER_LOG_LEVEL");
    if (fmt && strcasecmp(fmt, "json") == 0) log_json = 1;
    if (lvl) {
        int l = parse_level(lvl);
        if (l >= 0) log_level = l;
    }
}

void wrk_log_set_json(int json)
{
    pthread_once(&log_once, log_init_env);
    pthread_mutex_lock(&log_mu);
    log_json = json ? 1 : 0;
    pthread_mutex_unlock(&log_mu);
}

void wrk_log_set_level(int level)
{
    pthread_once(&log_once, log_init_env);
    if (level < WRK_LOG_ERROR) level = WRK_LOG_ERROR;
    if (level > WRK_LOG_DEBUG) level = WRK_LOG_DEBUG;
    pthread_mutex_lock(&log_mu);
    log_level = level;
    pthread_mutex_unlock(&log_mu);
}

/* Append s to out (capacity cap, length *n) as JSON string content; truncates safely. */
static void json_escape(char *out, size_t cap, size_t *n, const char *s)
{
    for (; *s && *n + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') { out[(*n)++] = '\\'; out[(*n)++] = (char)c; }
        else if (c == '\n') { out[(*n)++] = '\\'; out[(*n)++] = 'n'; }
        else if (c == '\r') { out[(*n)++] = '\\'; out[(*n)++] = 'r'; }
        else if (c == '\t') { out[(*n)++] = '\\'; out[(*n)++] = 't'; }
        else if (c < 0x20) *n += (size_t)snprintf(out + *n, cap - *n, "\\u%04x", c);
        else out[(*n)++] = (char)c;
    }
    out[*n] = '\0';
}

void wrk_vlog(int level, const char *component, const char *fmt, va_list ap)
{
    char msg[LOG_LINE_MAX];
    char line[LOG_LINE_MAX * 2];
    char ts[96];
    struct timespec now;
    struct tm tm;
    int json, max;

    pthread_once(&log_once, log_init_env);
    pthread_mutex_lock(&log_mu);
    json = log_json;
    max = log_level;
    pthread_mutex_unlock(&log_mu);
    if (level > max) return;
    if (level < WRK_LOG_ERROR) level = WRK_LOG_ERROR;
    if (level > WRK_LOG_DEBUG) level = WRK_LOG_DEBUG;
    if (!component) component = "worker";
    if (!fmt) fmt = "";

    vsnprintf(msg, sizeof msg, fmt, ap);
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             now.tv_nsec / 1000000L);

    if (json) {
        size_t n = (size_t)snprintf(line, sizeof line, "{\"ts\":\"%s\",\"level\":\"%s\",\"component\":\"",
                                    ts, level_names[level]);
        json_escape(line, sizeof line - 4, &n, component);
        n += (size_t)snprintf(line + n, sizeof line - n, "\",\"msg\":\"");
        json_escape(line, sizeof line - 4, &n, msg);
        snprintf(line + n, sizeof line - n, "\"}\n");
    } else {
        snprintf(line, sizeof line, "%s %-5s [%s] %s\n", ts, level_names[level], component, msg);
    }
    pthread_mutex_lock(&log_mu);
    fputs(line, stderr);
    fflush(stderr);
    pthread_mutex_unlock(&log_mu);
}

void wrk_log(int level, const char *component, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    wrk_vlog(level, component, fmt, ap);
    va_end(ap);
}
