/*
 * srv_stream.c - Server-Sent Events for a job: the worker's own /execute events
 * (event: started|token|metrics|end|error) and OpenAI's "data: {chunk}" / "data: [DONE]".
 * The content reader runs in the connection's own thread and may block on the job; every
 * second without an event it writes an SSE comment, which keeps proxies from timing out and
 * lets a vanished client be noticed (the write fails, MHD frees the stream, the job is
 * cancelled).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "srv_http.h"
#include "srv_log.h"

typedef struct srv_stream {
    srv_job *job;
    srv_stream_kind kind;
    srv_event *first;
    char *out;
    size_t out_len, out_pos;
    int done;            /* the terminal event has been formatted */
    int started;         /* a started event (or OpenAI role chunk) has been written */
    int oom;             /* output could not be buffered: end the response with an error */
    char model[256];
    char oa_id[300];
    long long created;
} srv_stream;

static void out_append(srv_stream *s, const char *text)
{
    size_t n = strlen(text);
    char *grown = realloc(s->out, s->out_len + n + 1);
    if (!grown) {
        s->oom = 1;
        return;
    }
    s->out = grown;
    memcpy(s->out + s->out_len, text, n + 1);
    s->out_len += n;
}

/* "event: NAME\ndata: JSON\n\n" (obj is stolen). */
static void sse_event(srv_stream *s, const char *name, json_t *obj)
{
    char *data = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
    json_decref(obj);
    if (!data) return;
    out_append(s, "event: ");
    out_append(s, name);
    out_append(s, "\ndata: ");
    out_append(s, data);
    out_append(s, "\n\n");
    free(data);
}

/* "data: JSON\n\n" (obj is stolen). */
static void sse_data(srv_stream *s, json_t *obj)
{
    char *data = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
    json_decref(obj);
    if (!data) return;
    out_append(s, "data: ");
    out_append(s, data);
    out_append(s, "\n\n");
    free(data);
}

static json_t *seed_json(const srv_job *job)
{
    uint64_t seed = job->req.sp.seed;
    if (seed <= (uint64_t)INT64_MAX) return json_integer((json_int_t)seed);
    char buf[32];
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)seed);
    return json_string(buf);
}

static void format_execute(srv_stream *s, const srv_event *ev)
{
    char now[40];

    if (!s->started && ev->type != SRV_EV_STARTED) {
        /* e.g. a job cancelled while queued: keep the order started -> ... -> terminal */
        srv_rfc3339_now(now, sizeof now);
        sse_event(s, "started", json_pack("{s:s, s:s, s:s}", "job_id", s->job->req.job_id,
                                          "model", s->model, "started_at", now));
        s->started = 1;
    }
    switch (ev->type) {
    case SRV_EV_STARTED:
        sse_event(s, "started", json_pack("{s:s, s:s, s:s, s:i}", "job_id", s->job->req.job_id,
                                          "model", s->model, "started_at", ev->started_at,
                                          "prompt_tokens", ev->prompt_tokens));
        s->started = 1;
        break;
    case SRV_EV_TOKEN:
        sse_event(s, "token", json_pack("{s:s, s:i}", "t", ev->text ? ev->text : "", "i",
                                        ev->index));
        break;
    case SRV_EV_METRICS:
        sse_event(s, "metrics", json_pack("{s:i, s:f, s:I}", "tokens_out", ev->tokens_out,
                                          "tokens_per_sec", ev->tokens_per_sec, "vram_bytes",
                                          (json_int_t)ev->vram_bytes));
        break;
    case SRV_EV_END: {
        json_t *o = json_pack("{s:i, s:f, s:s}", "tokens_out", ev->tokens_out, "decode_time_ms",
                              ev->decode_ms, "stop_reason", ev->stop_reason);
        if (o) json_object_set_new(o, "seed", seed_json(s->job));
        sse_event(s, "end", o);
        s->done = 1;
        break;
    }
    case SRV_EV_ERROR:
    case SRV_EV_REJECTED:
        sse_event(s, "error", json_pack("{s:s, s:s, s:b}", "code", ev->code, "message",
                                        ev->text ? ev->text : "", "retriable", ev->retriable));
        s->done = 1;
        break;
    }
}

/* OpenAI finish_reason for our stop reasons. */
static const char *finish_reason(const char *stop_reason)
{
    return stop_reason && strcmp(stop_reason, "max_tokens") == 0 ? "length" : "stop";
}

static json_t *oa_chunk(srv_stream *s, const char *text, int is_role, const char *finish)
{
    int chat = s->kind == SRV_STREAM_OPENAI_CHAT;
    json_t *choice;

    if (chat) {
        json_t *delta = json_object();
        if (is_role) json_object_set_new(delta, "role", json_string("assistant"));
        if (text) json_object_set_new(delta, "content", json_string(text));
        choice = json_pack("{s:i, s:o, s:n}", "index", 0, "delta", delta, "logprobs");
    } else {
        choice = json_pack("{s:s, s:i, s:n}", "text", text ? text : "", "index", 0, "logprobs");
    }
    if (!choice) return NULL;
    json_object_set_new(choice, "finish_reason", finish ? json_string(finish) : json_null());
    return json_pack("{s:s, s:s, s:I, s:s, s:[o]}", "id", s->oa_id, "object",
                     chat ? "chat.completion.chunk" : "text_completion", "created",
                     (json_int_t)s->created, "model", s->model, "choices", choice);
}

static void format_openai(srv_stream *s, const srv_event *ev)
{
    switch (ev->type) {
    case SRV_EV_STARTED:
        if (s->kind == SRV_STREAM_OPENAI_CHAT) sse_data(s, oa_chunk(s, "", 1, NULL));
        s->started = 1;
        break;
    case SRV_EV_TOKEN:
        sse_data(s, oa_chunk(s, ev->text ? ev->text : "", 0, NULL));
        break;
    case SRV_EV_METRICS:
        break;
    case SRV_EV_END:
        sse_data(s, oa_chunk(s, NULL, 0, finish_reason(ev->stop_reason)));
        out_append(s, "data: [DONE]\n\n");
        s->done = 1;
        break;
    case SRV_EV_ERROR:
    case SRV_EV_REJECTED:
        /* OpenAI clients raise an APIError for a chunk that carries "error" */
        sse_data(s, json_pack("{s:{s:s, s:s, s:s, s:b}}", "error", "message",
                              ev->text ? ev->text : "", "type",
                              ev->retriable ? "server_busy" : "server_error", "code", ev->code,
                              "retriable", ev->retriable));
        s->done = 1;
        break;
    }
}

static void format_event(srv_stream *s, srv_event *ev)
{
    if (s->kind == SRV_STREAM_EXECUTE) format_execute(s, ev);
    else format_openai(s, ev);
    srv_event_free(ev);
}

static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    srv_stream *s = cls;

    for (;;) {
        if (s->oom) return MHD_CONTENT_READER_END_WITH_ERROR;
        if (s->out_pos < s->out_len) {
            size_t n = s->out_len - s->out_pos;
            if (n > max) n = max;
            memcpy(buf, s->out + s->out_pos, n);
            s->out_pos += n;
            return (ssize_t)n;
        }
        s->out_len = s->out_pos = 0;
        if (s->done) return MHD_CONTENT_READER_END_OF_STREAM;
        if (s->first) {
            srv_event *ev = s->first;
            s->first = NULL;
            format_event(s, ev);
            continue;
        }
        srv_event *ev = srv_job_pop(s->job, 1000);
        if (!ev) {
            out_append(s, ": keep-alive\n\n");
            continue;
        }
        format_event(s, ev);
    }
}

static void stream_free(void *cls)
{
    srv_stream *s = cls;
    if (!s->done) {
        /* the client went away (or the server is closing) before the terminal event */
        srv_job_request_cancel(s->job, SRV_CANCEL_DISCONNECT);
        srv_log_event(SRV_LOG_INFO, "client_disconnected",
                      json_pack("{s:s, s:s}", "request_id", s->job->request_id, "job_id",
                                s->job->req.job_id));
    }
    srv_event_free(s->first);
    srv_job_unref(s->job);
    free(s->out);
    free(s);
}

enum MHD_Result srv_stream_job(struct MHD_Connection *c, srv_req *r, srv_job *job,
                               srv_event *first, srv_stream_kind kind)
{
    srv_stream *s = calloc(1, sizeof *s);
    struct MHD_Response *resp;
    enum MHD_Result ret;

    if (!s) {
        srv_event_free(first);
        return MHD_NO;
    }
    srv_job_ref(job);
    s->job = job;
    s->kind = kind;
    s->first = first;
    s->created = (long long)time(NULL);
    snprintf(s->model, sizeof s->model, "%s", r->srv->info.name ? r->srv->info.name : "");
    snprintf(s->oa_id, sizeof s->oa_id, "%s", job->req.job_id);
    resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_reader, s,
                                              stream_free);
    if (!resp) {
        stream_free(s);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(resp, "X-Accel-Buffering", "no");
    MHD_add_response_header(resp, "X-Request-Id", r->id);
    r->status = 200;
    r->streamed = 1;
    ret = MHD_queue_response(c, 200, resp);
    MHD_destroy_response(resp);
    return ret;
}

srv_event *srv_wait_event(srv_server *srv, srv_job *job)
{
    (void)srv;
    for (;;) {
        /* bounded: the engine always ends a queued job (it runs, is cancelled, or the
         * engine stops and fails it) */
        srv_event *ev = srv_job_pop(job, 1000);
        if (ev) return ev;
    }
}
