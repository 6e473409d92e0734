/*
 * config.c - worker-orcd.ini on inih (see config.h and docs/worker-orcd.ini).
 *
 * inih does not tell the handler which line it is on (Debian's libinih is built without
 * INI_HANDLER_LINENO), so the file is fed through our own line reader that counts lines;
 * the handler then knows the exact line of every key. The same reader catches lines longer
 * than inih's fixed buffer (INI_MAX_LINE), which inih would otherwise silently split.
 *
 * Self-contained: no wrk_error/wrk_log calls, so the server can compile this file alone.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "worker_errors.h"
#include "core/wrk_log.h"      /* enum wrk_log_level (header only) */
#include "config/config.h"

#ifndef INI_MAX_LINE
#define INI_MAX_LINE 200
#endif

/* --- value parsers: each returns NULL on success or a static description of the fault --- */

/* Parse a decimal unsigned integer in [lo, hi] into *out. */
static const char *parse_ulong(const char *v, unsigned long lo, unsigned long hi,
                               unsigned long *out)
{
    static _Thread_local char msg[128];
    char *end = NULL;
    unsigned long x;

    if (!*v) return "empty value, expected a number";
    if (!isdigit((unsigned char)v[0])) return "expected a non-negative decimal number";
    errno = 0;
    x = strtoul(v, &end, 10);
    if (errno == ERANGE) return "number out of range";
    if (*end) return "expected a decimal number";
    if (x < lo || x > hi) {
        snprintf(msg, sizeof msg, "%lu is out of range %lu..%lu", x, lo, hi);
        return msg;
    }
    *out = x;
    return NULL;
}

static const char *parse_uint(const char *v, unsigned lo, unsigned hi, unsigned *out)
{
    unsigned long x = 0;
    const char *e = parse_ulong(v, lo, hi, &x);
    if (!e) *out = (unsigned)x;
    return e;
}

/* Copy a string value into a fixed field; empty values are allowed only when may_be_empty. */
static const char *parse_str(const char *v, char *dst, size_t cap, int may_be_empty)
{
    size_t n = strlen(v);
    if (!n && !may_be_empty) return "empty value";
    if (n >= cap) return "value too long";
    memcpy(dst, v, n + 1);
    return NULL;
}

/* "host", "cuda" or "cuda:N" with N a decimal ordinal < 1024 (as worker_init takes). */
static const char *parse_device(const char *v, char *dst, size_t cap)
{
    unsigned n = 0;
    if (strcmp(v, "host") != 0 && strcmp(v, "cuda") != 0) {
        if (strncmp(v, "cuda:", 5) != 0 || parse_uint(v + 5, 0, 1023, &n) != NULL)
            return "expected \"host\" or \"cuda:N\"";
    }
    return parse_str(v, dst, cap, 0);
}

/* "arch=plugin,arch=plugin": every item non-empty on both sides of exactly one '='. */
static const char *parse_prefer(const char *v, char *dst, size_t cap)
{
    const char *p = v;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        if (!eq || eq == p || eq == p + len - 1 || memchr(eq + 1, '=', len - (size_t)(eq - p) - 1))
            return "expected arch=plugin[,arch=plugin...]";
        p += len;
        if (*p == ',') {
            p++;
            if (!*p) return "expected arch=plugin[,arch=plugin...] (trailing comma)";
        }
    }
    return parse_str(v, dst, cap, 1);
}

/* ':'- or ','-separated names: no empty item. */
static const char *parse_list(const char *v, char sep, char *dst, size_t cap)
{
    size_t n = strlen(v);
    if (n && (v[0] == sep || v[n - 1] == sep)) return "empty item in list";
    for (size_t i = 1; i < n; i++)
        if (v[i] == sep && v[i - 1] == sep) return "empty item in list";
    return parse_str(v, dst, cap, 1);
}

static const char *parse_level(const char *v, int *out)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++)
        if (strcmp(v, names[i]) == 0) {
            *out = WRK_LOG_ERROR + i;
            return NULL;
        }
    return "expected error, warn, info or debug";
}

static const char *parse_format(const char *v, int *out)
{
    if (strcmp(v, "text") == 0) *out = 0;
    else if (strcmp(v, "json") == 0) *out = 1;
    else return "expected text or json";
    return NULL;
}

/* --- the key table --- */

static const char *const known_sections[] = {"runtime", "model", "plugins", "server",
                                             "limits", "logging"};

/* Apply one section/key/value to cfg. Returns NULL, or a message describing the fault
 * (written into msg when it needs formatting). */
static const char *apply(wrk_config *c, const char *s, const char *k, const char *v,
                         char *msg, size_t msg_len)
{
    const char *e;
    int section_known = 0;

#define KEY(sec, key) (strcmp(s, sec) == 0 && strcmp(k, key) == 0)
    if (KEY("runtime", "device")) e = parse_device(v, c->device, sizeof c->device);
    else if (KEY("model", "path")) e = parse_str(v, c->model_path, sizeof c->model_path, 1);
    else if (KEY("model", "context_length"))
        e = parse_uint(v, 0, 1u << 24, &c->context_length);
    else if (KEY("plugins", "path"))
        e = parse_list(v, ':', c->plugin_path, sizeof c->plugin_path);
    else if (KEY("plugins", "prefer"))
        e = parse_prefer(v, c->plugin_prefer, sizeof c->plugin_prefer);
    else if (KEY("plugins", "disable"))
        e = parse_list(v, ',', c->plugin_disable, sizeof c->plugin_disable);
    else if (KEY("server", "host")) e = parse_str(v, c->server_host, sizeof c->server_host, 0);
    else if (KEY("server", "port")) e = parse_uint(v, 1, 65535, &c->server_port);
    else if (KEY("server", "queue_size")) e = parse_uint(v, 1, 65536, &c->queue_size);
    else if (KEY("server", "max_body_bytes"))
        e = parse_ulong(v, 1024, 1ul << 30, &c->max_body_bytes);
    else if (KEY("server", "connection_timeout_s"))
        e = parse_uint(v, 1, 86400, &c->connection_timeout_s);
    else if (KEY("server", "max_connections"))
        e = parse_uint(v, 1, 65536, &c->max_connections);
    else if (KEY("server", "worker_id"))
        e = parse_str(v, c->worker_id, sizeof c->worker_id, 1);
    else if (KEY("limits", "max_tokens")) e = parse_uint(v, 1, 1u << 24, &c->max_tokens);
    else if (KEY("limits", "inference_timeout_s"))
        e = parse_uint(v, 1, 86400, &c->inference_timeout_s);
    else if (KEY("limits", "max_json_depth")) e = parse_uint(v, 1, 1024, &c->max_json_depth);
    else if (KEY("limits", "health_check_interval_s"))
        e = parse_uint(v, 0, 86400, &c->health_check_interval_s);
    else if (KEY("logging", "format")) e = parse_format(v, &c->log_json);
    else if (KEY("logging", "level")) e = parse_level(v, &c->log_level);
    else {
        for (size_t i = 0; i < sizeof known_sections / sizeof *known_sections; i++)
            if (strcmp(s, known_sections[i]) == 0) section_known = 1;
        if (!*s) snprintf(msg, msg_len, "key '%s' outside any [section]", k);
        else if (!section_known) snprintf(msg, msg_len, "unknown section [%s]", s);
        else snprintf(msg, msg_len, "unknown key '%s' in [%s]", k, s);
        return msg;
    }
#undef KEY
    if (e) {
        snprintf(msg, msg_len, "[%s] %s = '%.200s': %s", s, k, v, e);
        return msg;
    }
    return NULL;
}

/* --- parsing a file --- */

typedef struct cfg_reader {
    FILE *fp;
    int line;          /* number of the line last handed to inih */
    int err_line;      /* first line with an error we diagnosed, 0 if none */
    char err[512];
    wrk_config *cfg;
} cfg_reader;

static void note_error(cfg_reader *r, const char *msg)
{
    if (r->err_line) return;   /* keep the first */
    r->err_line = r->line;
    snprintf(r->err, sizeof r->err, "%s", msg);
}

/* ini_reader: one line per call, counting lines; a line longer than inih's buffer is an
 * error of ours (consumed and replaced by an empty line) instead of being split. */
static char *read_line(char *str, int num, void *stream)
{
    cfg_reader *r = stream;
    size_t n;

    if (!fgets(str, num, r->fp)) return NULL;
    r->line++;
    n = strlen(str);
    if (n && str[n - 1] != '\n' && !feof(r->fp)) {
        int ch;
        char msg[96];
        while ((ch = fgetc(r->fp)) != EOF && ch != '\n') {}
        snprintf(msg, sizeof msg, "line too long (at most %d characters)", num - 2);
        note_error(r, msg);
        str[0] = '\0';
    }
    return str;
}

static int on_key(void *user, const char *section, const char *name, const char *value)
{
    cfg_reader *r = user;
    char msg[512];
    const char *e = apply(r->cfg, section, name, value, msg, sizeof msg);
    if (e) {
        note_error(r, e);
        return 0;
    }
    return 1;
}

void wrk_config_defaults(wrk_config *cfg)
{
    if (!cfg) return;
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->device, sizeof cfg->device, "cuda:0");
    snprintf(cfg->server_host, sizeof cfg->server_host, "127.0.0.1");
    cfg->server_port = 8080;
    cfg->queue_size = 8;
    cfg->max_body_bytes = 1048576;
    cfg->connection_timeout_s = 30;
    cfg->max_connections = 64;
    cfg->max_tokens = 2048;
    cfg->inference_timeout_s = 300;
    cfg->max_json_depth = 32;
    cfg->health_check_interval_s = 60;
    cfg->log_json = 0;
    cfg->log_level = WRK_LOG_INFO;
}

int wrk_config_load(const char *path, wrk_config *cfg, char *err, size_t err_len)
{
    cfg_reader r;
    wrk_config work;
    int rc;

    if (err && err_len) err[0] = '\0';
    if (!path || !cfg) {
        if (err && err_len) snprintf(err, err_len, "config: NULL path or config");
        return CUDA_ERROR_INVALID_PARAMETER;
    }
    memset(&r, 0, sizeof r);
    r.fp = fopen(path, "r");
    if (!r.fp) {
        if (err && err_len) snprintf(err, err_len, "%s:0: cannot open: %s", path, strerror(errno));
        return CUDA_ERROR_INVALID_PARAMETER;
    }
    /* Parse into a copy so a failing file leaves cfg as it was. */
    work = *cfg;
    r.cfg = &work;
    rc = ini_parse_stream(read_line, &r, on_key, &r);
    if (ferror(r.fp) && !r.err_line && rc == 0) {
        r.err_line = r.line;
        snprintf(r.err, sizeof r.err, "read error");
    }
    fclose(r.fp);
    if (rc < 0) {
        if (err && err_len) snprintf(err, err_len, "%s:0: out of memory while parsing", path);
        return CUDA_ERROR_INVALID_PARAMETER;
    }
    if (rc > 0 && (!r.err_line || rc < r.err_line)) {
        r.err_line = rc;
        snprintf(r.err, sizeof r.err, "syntax error (expected [section] or key = value)");
    }
    if (r.err_line) {
        if (err && err_len) snprintf(err, err_len, "%s:%d: %s", path, r.err_line, r.err);
        return CUDA_ERROR_INVALID_PARAMETER;
    }
    *cfg = work;
    return 0;
}

int wrk_config_set(wrk_config *cfg, const char *section, const char *key, const char *value,
                   char *err, size_t err_len)
{
    char msg[512];
    const char *e;

    if (err && err_len) err[0] = '\0';
    if (!cfg || !section || !key || !value) {
        if (err && err_len) snprintf(err, err_len, "config: NULL argument");
        return CUDA_ERROR_INVALID_PARAMETER;
    }
    e = apply(cfg, section, key, value, msg, sizeof msg);
    if (e) {
        if (err && err_len) snprintf(err, err_len, "%s", e);
        return CUDA_ERROR_INVALID_PARAMETER;
    }
    return 0;
}
