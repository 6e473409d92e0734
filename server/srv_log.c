/*
 * srv_log.c - structured log lines for worker-orcd (see srv_log.h).
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "srv_log.h"

static int log_json;
static int log_level = SRV_LOG_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *level_name(int level)
{
    switch (level) {
    case SRV_LOG_CRITICAL: return "critical";
    case SRV_LOG_ERROR: return "error";
    case SRV_LOG_WARN: return "warn";
    case SRV_LOG_INFO: return "info";
    default: return "debug";
    }
}

void srv_log_setup(int json, int level)
{
    log_json = json;
    log_level = level;
}

void srv_rfc3339_now(char *buf, size_t cap)
{
    struct timespec ts;
    struct tm tm;
    char base[32];

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, cap, "%s.%03ldZ", base, ts.tv_nsec / 1000000L);
}

double srv_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Text format: strings are printed bare unless they contain spaces, quotes or '=', in which
 * case their JSON encoding (quoted, escaped) is printed, so a line always splits cleanly. */
static void append_text_value(FILE *f, json_t *v)
{
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (*s && !strpbrk(s, " \t\r\n\"=\\")) {
            fputs(s, f);
            return;
        }
    }
    char *enc = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    if (enc) {
        fputs(enc, f);
        free(enc);
    }
}

void srv_log_event(int level, const char *event, json_t *fields)
{
    char ts[48];
    char *line = NULL;
    size_t len = 0;
    FILE *f;

    if (level > log_level) {
        json_decref(fields);
        return;
    }
    srv_rfc3339_now(ts, sizeof ts);
    f = open_memstream(&line, &len);
    if (!f) {
        json_decref(fields);
        return;
    }
    if (log_json) {
        json_t *o = json_pack("{s:s, s:s, s:s}", "ts", ts, "level", level_name(level),
                              "event", event);
        if (o && fields) json_object_update(o, fields);
        char *enc = o ? json_dumps(o, JSON_COMPACT) : NULL;
        if (enc) {
            fputs(enc, f);
            free(enc);
        }
        json_decref(o);
    } else {
        const char *key;
        json_t *v;
        fprintf(f, "%s %s %s", ts, level_name(level), event);
        if (fields) {
            json_object_foreach(fields, key, v) {
                fprintf(f, " %s=", key);
                append_text_value(f, v);
            }
        }
    }
    fputc('\n', f);
    fclose(f);
    json_decref(fields);
    pthread_mutex_lock(&log_lock);
    fwrite(line, 1, len, stderr);
    fflush(stderr);
    pthread_mutex_unlock(&log_lock);
    free(line);
}

void srv_log_msg(int level, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    srv_log_event(level, "message", json_pack("{s:s}", "msg", msg));
}
