/*
 * srv_http.c - the libmicrohttpd daemon, request bodies, routing and JSON responses.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "srv_http.h"
#include "srv_json.h"
#include "srv_log.h"

/* ---- responses ---- */

static enum MHD_Result queue_owned(struct MHD_Connection *c, srv_req *r, unsigned status,
                                   const char *ctype, char *text)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;

    if (!text) return MHD_NO;
    resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    MHD_add_response_header(resp, "X-Request-Id", r->id);
    if (status == MHD_HTTP_SERVICE_UNAVAILABLE) MHD_add_response_header(resp, "Retry-After", "1");
    r->status = status;
    ret = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

enum MHD_Result srv_respond_text(struct MHD_Connection *c, srv_req *r, unsigned status,
                                 const char *content_type, char *text)
{
    return queue_owned(c, r, status, content_type, text);
}

enum MHD_Result srv_respond_json(struct MHD_Connection *c, srv_req *r, unsigned status,
                                 json_t *obj)
{
    char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
    json_decref(obj);
    if (text) {
        /* a trailing newline keeps curl output readable */
        size_t n = strlen(text);
        char *t2 = realloc(text, n + 2);
        if (t2) {
            text = t2;
            text[n] = '\n';
            text[n + 1] = '\0';
        }
    }
    return queue_owned(c, r, status, "application/json", text);
}

enum MHD_Result srv_respond_error(struct MHD_Connection *c, srv_req *r, unsigned status,
                                  const char *code, int retriable, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return srv_respond_json(c, r, status, json_pack("{s:s, s:s, s:b}", "code", code, "message",
                                                    msg, "retriable", retriable));
}

enum MHD_Result srv_respond_openai_error(struct MHD_Connection *c, srv_req *r, unsigned status,
                                         const char *code, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    const char *type = status == 400 ? "invalid_request_error"
                     : status == 503 ? "server_busy" : "server_error";

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return srv_respond_json(c, r, status,
                            json_pack("{s:{s:s, s:s, s:n, s:s}}", "error", "message", msg, "type",
                                      type, "param", "code", code));
}

void srv_req_hold_live(srv_req *r)
{
    if (!r->holds_live) {
        r->holds_live = 1;
        atomic_fetch_add(&r->srv->live_jobs, 1);
    }
}

json_t *srv_req_json(struct MHD_Connection *c, srv_req *r, enum MHD_Result *ret, int openai)
{
    char msg[512];
    json_t *o = srv_body_parse_object(r->body ? r->body : "", r->len, r->srv->max_depth, msg,
                                      sizeof msg);
    if (!o) {
        *ret = openai ? srv_respond_openai_error(c, r, 400, "INVALID_REQUEST", "%s", msg)
                      : srv_respond_error(c, r, 400, "INVALID_REQUEST", 0, "%s", msg);
    }
    return o;
}

/* ---- routing ---- */

typedef enum MHD_Result (*handler_fn)(struct MHD_Connection *, srv_req *);

static const struct route {
    const char *method;
    const char *path;
    handler_fn fn;
} routes[] = {
    {"POST", "/execute", srv_handle_execute},
    {"POST", "/cancel", srv_handle_cancel},
    {"GET", "/health", srv_handle_health},
    {"GET", "/metrics", srv_handle_metrics},
    {"POST", "/shutdown", srv_handle_shutdown},
    {"POST", "/tokenize", srv_handle_tokenize},
    {"POST", "/detokenize", srv_handle_detokenize},
    {"GET", "/v1/models", srv_handle_v1_models},
    {"POST", "/v1/completions", srv_handle_v1_completions},
    {"POST", "/v1/chat/completions", srv_handle_v1_chat},
};

static enum MHD_Result dispatch(struct MHD_Connection *c, srv_req *r)
{
    int path_known = 0;

    if (atomic_load(&r->srv->shutting_down))
        return srv_respond_error(c, r, 503, "SHUTTING_DOWN", 1, "worker is shutting down");
    if (r->too_large)
        return srv_respond_error(c, r, 413, "INVALID_REQUEST", 0,
                                 "request body exceeds the limit of %lu bytes", r->srv->max_body);
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (strcmp(routes[i].path, r->path) != 0) continue;
        path_known = 1;
        if (strcmp(routes[i].method, r->method) == 0) return routes[i].fn(c, r);
    }
    if (path_known)
        return srv_respond_error(c, r, 405, "INVALID_REQUEST", 0, "method %s not allowed on %s",
                                 r->method, r->path);
    return srv_respond_error(c, r, 404, "INVALID_REQUEST", 0, "no such endpoint: %s %s",
                             r->method, r->path);
}

static void set_request_id(srv_req *r, struct MHD_Connection *c)
{
    const char *given = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Request-Id");
    if (given && *given && strlen(given) < 64) {
        int ok = 1;
        for (const char *p = given; *p; p++)
            if (*p <= ' ' || *p > '~' || *p == '"' || *p == '\\') ok = 0;
        if (ok) {
            snprintf(r->id, sizeof r->id, "%s", given);
            return;
        }
    }
    snprintf(r->id, sizeof r->id, "req-%lu", atomic_fetch_add(&r->srv->next_request, 1) + 1);
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *version,
                                 const char *upload_data, size_t *upload_size, void **con_cls)
{
    srv_server *srv = cls;
    srv_req *r = *con_cls;

    if (!r) {
        const char *cl;
        r = calloc(1, sizeof *r);
        if (!r) return MHD_NO;
        r->srv = srv;
        r->t0 = srv_now_ms();
        snprintf(r->method, sizeof r->method, "%s", method);
        snprintf(r->path, sizeof r->path, "%s", url);
        set_request_id(r, c);
        *con_cls = r;
        /* refuse an announced oversize body before reading any of it */
        cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > srv->max_body) r->too_large = 1;
        return MHD_YES;
    }
    if (*upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (r->too_large) {
            /* drain a modest excess so the client can read our 413; beyond that, hang up */
            r->discarded += n;
            return r->discarded > 16 * (uint64_t)srv->max_body ? MHD_NO : MHD_YES;
        }
        if (r->len + n > srv->max_body) {
            r->too_large = 1;
            free(r->body);
            r->body = NULL;
            r->len = r->cap = 0;
            return MHD_YES;
        }
        if (r->len + n + 1 > r->cap) {
            size_t cap = r->cap ? r->cap : 1024;
            while (cap < r->len + n + 1) cap *= 2;
            char *grown = realloc(r->body, cap);
            if (!grown) return MHD_NO;
            r->body = grown;
            r->cap = cap;
        }
        memcpy(r->body + r->len, upload_data, n);
        r->len += n;
        r->body[r->len] = '\0';
        return MHD_YES;
    }
    return dispatch(c, r);
}

/* One structured line per request, when MHD is done with it (streams included). */
static void completed_cb(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    srv_req *r = *con_cls;

    if (!r) return;
    json_t *f = json_pack("{s:s, s:s, s:s, s:i, s:f}", "request_id", r->id, "method", r->method,
                          "path", r->path, "status", (int)r->status, "duration_ms",
                          srv_now_ms() - r->t0);
    if (f && r->job_id[0]) json_object_set_new(f, "job_id", json_string(r->job_id));
    if (f && toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
        json_object_set_new(f, "terminated",
                            json_string(toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED ? "timeout"
                                        : toe == MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN
                                            ? "shutdown" : "client_gone_or_error"));
    srv_log_event(SRV_LOG_INFO, "request", f);
    if (r->holds_live) atomic_fetch_sub(&r->srv->live_jobs, 1);
    if (r->shutdown_after && r->srv->request_shutdown) r->srv->request_shutdown();
    free(r->body);
    free(r);
    *con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    srv_log_event(SRV_LOG_DEBUG, "http", json_pack("{s:s}", "msg", msg));
}

int srv_http_start(srv_server *srv, unsigned max_connections, unsigned timeout_s,
                   char *msg, size_t cap)
{
    struct addrinfo hints = {0}, *ai = NULL;
    char port_s[16];
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_ERROR_LOG | MHD_USE_ITC;
    const union MHD_DaemonInfo *di;
    int rc;

    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(port_s, sizeof port_s, "%u", srv->port);
    rc = getaddrinfo(srv->host, port_s, &hints, &ai);
    if (rc != 0 || !ai) {
        snprintf(msg, cap, "cannot resolve listen host '%s': %s", srv->host, gai_strerror(rc));
        return -1;
    }
    if (ai->ai_family == AF_INET6) flags |= MHD_USE_IPv6;
    srv->daemon = MHD_start_daemon(
        flags, (uint16_t)srv->port, NULL, NULL, access_cb, srv,
        MHD_OPTION_SOCK_ADDR, ai->ai_addr,
        MHD_OPTION_CONNECTION_LIMIT, max_connections,
        MHD_OPTION_CONNECTION_TIMEOUT, timeout_s,
        MHD_OPTION_NOTIFY_COMPLETED, completed_cb, srv,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, srv,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, 1,
        MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!srv->daemon) {
        snprintf(msg, cap, "cannot listen on %s:%u (address in use or not permitted)",
                 srv->host, srv->port);
        return -1;
    }
    di = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    if (di && di->port) srv->port = di->port;
    return 0;
}

void srv_http_quiesce(srv_server *srv)
{
    if (srv->daemon) {
        MHD_socket s = MHD_quiesce_daemon(srv->daemon);
        if (s != MHD_INVALID_SOCKET) close(s);
    }
}

void srv_http_drain(srv_server *srv, int timeout_ms)
{
    double until = srv_now_ms() + timeout_ms;
    while (atomic_load(&srv->live_jobs) > 0 && srv_now_ms() < until) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

void srv_http_stop(srv_server *srv)
{
    if (srv->daemon) MHD_stop_daemon(srv->daemon);
    srv->daemon = NULL;
}
