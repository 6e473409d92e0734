/*
 * srv_http.h - the HTTP side of worker-orcd: a libmicrohttpd daemon (internal polling thread,
 * one thread per connection, so handlers may block on a job) that routes requests to the
 * handlers in srv_routes.c and srv_openai.c. Handlers never call the FFI: generation goes
 * through the engine's queue, tokenizer calls through srv_engine_call.
 */
#ifndef SRV_HTTP_H
#define SRV_HTTP_H

#include <stdatomic.h>
#include <stdint.h>
#include <microhttpd.h>
#include <jansson.h>

#include "worker_ext.h"
#include "srv_engine.h"
#include "srv_params.h"

typedef struct srv_server {
    struct MHD_Daemon *daemon;
    srv_engine *engine;
    WorkerModelInfo info;          /* filled at start-up; strings owned by the model */
    int is_host;
    int gpu;                       /* CUDA ordinal, -1 on host */
    int sm_major, sm_minor;        /* -1 when unknown */
    int cuda_runtime_version;      /* 0 when unknown (or host) */
    srv_limits limits;
    unsigned long max_body;
    unsigned max_depth;
    unsigned inference_timeout_s;
    char host[256];
    unsigned port;                 /* the bound port (after --port 0) */
    atomic_int shutting_down;
    atomic_ulong next_request;
    atomic_int live_jobs;          /* generation requests not yet completed (answer sent) */
    void (*request_shutdown)(void);  /* wakes main; async-signal-safe */
} srv_server;

/** Per-request state (MHD's con_cls): the body read so far and what the log line needs. */
typedef struct srv_req {
    srv_server *srv;
    char id[72];
    double t0;
    char *body;
    size_t len, cap;
    int too_large;
    uint64_t discarded;            /* body bytes dropped after the cap */
    unsigned status;
    int streamed;
    int shutdown_after;            /* POST /shutdown: wake main once the 202 is sent */
    int holds_live;                /* counted in srv->live_jobs until completed_cb */
    char method[16];
    char path[160];
    char job_id[SRV_JOB_ID_MAX + 1];
} srv_req;

/**
 * Bind and start serving: host (IPv4/IPv6 literal or name) and port (0: any free port; the
 * bound port is written back to srv->port). 0, or -1 with msg.
 */
int srv_http_start(srv_server *srv, unsigned max_connections, unsigned timeout_s,
                   char *msg, size_t cap);
/** Stop listening at once (new connections are refused), keep serving open ones. */
void srv_http_quiesce(srv_server *srv);
/**
 * Wait (at most timeout_ms) until every generation request has been answered completely
 * (streams included: their terminal events sent), so stopping the daemon cuts nothing off.
 */
void srv_http_drain(srv_server *srv, int timeout_ms);
/** Close everything and join the connection threads. */
void srv_http_stop(srv_server *srv);

/* ---- response helpers (queue the response; return MHD_YES/MHD_NO) ---- */
enum MHD_Result srv_respond_json(struct MHD_Connection *c, srv_req *r, unsigned status,
                                 json_t *obj);
enum MHD_Result srv_respond_text(struct MHD_Connection *c, srv_req *r, unsigned status,
                                 const char *content_type, char *text /* freed */);
/** The spec's error body {"code","message","retriable"}. */
enum MHD_Result srv_respond_error(struct MHD_Connection *c, srv_req *r, unsigned status,
                                  const char *code, int retriable, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/** OpenAI's error body {"error": {"message","type","code"}}. */
enum MHD_Result srv_respond_openai_error(struct MHD_Connection *c, srv_req *r, unsigned status,
                                         const char *code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* ---- streaming (srv_stream.c) ---- */
typedef enum { SRV_STREAM_EXECUTE, SRV_STREAM_OPENAI_COMPLETION, SRV_STREAM_OPENAI_CHAT }
    srv_stream_kind;
/**
 * Queue a 200 text/event-stream response that formats the job's events; first (the event the
 * handler already popped, may be NULL) is written first. A connection that goes away cancels
 * the job (SRV_CANCEL_DISCONNECT).
 */
enum MHD_Result srv_stream_job(struct MHD_Connection *c, srv_req *r, srv_job *job,
                               srv_event *first, srv_stream_kind kind);
/**
 * Submit a validated job (the caller's reference is consumed) and answer: 503 when the queue
 * is full, 400 when the job is rejected at start (e.g. the prompt does not fit the context),
 * else the event stream. openai selects OpenAI's error body.
 */
enum MHD_Result srv_submit_and_stream(struct MHD_Connection *c, srv_req *r, srv_job *job,
                                      srv_stream_kind kind, int openai);
/** Wait for the first event of a queued job (blocks this connection's thread). */
srv_event *srv_wait_event(srv_server *srv, srv_job *job);

/* ---- handlers ---- */
enum MHD_Result srv_handle_execute(struct MHD_Connection *c, srv_req *r);
enum MHD_Result srv_handle_cancel(struct MHD_Connection *c, srv_req *r);
enum MHD_Result srv_handle_health(struct MHD_Connection *c, srv_req *r);
enum MHD_Result srv_handle_metrics(struct MHD_Connection *c, srv_req *r);
enum MHD_Result srv_handle_shutdown(struct MHD_Connection *c, srv_req *r);
enum MHD_Result srv_handle_tokenize(struct MHD_Connection *c, srv_req *r);
enum MHD_Result srv_handle_detokenize(struct MHD_Connection *c, srv_req *r);
enum MHD_Result srv_handle_v1_models(struct MHD_Connection *c, srv_req *r);
enum MHD_Result srv_handle_v1_completions(struct MHD_Connection *c, srv_req *r);
enum MHD_Result srv_handle_v1_chat(struct MHD_Connection *c, srv_req *r);

/** Count r as a live generation request until MHD reports it completed. */
void srv_req_hold_live(srv_req *r);

/** Parse r's body as a JSON object (400 already queued and NULL returned on failure). */
json_t *srv_req_json(struct MHD_Connection *c, srv_req *r, enum MHD_Result *ret, int openai);

#endif
