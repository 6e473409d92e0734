/*
 * srv_routes.c - the worker's own endpoints: /execute, /cancel, /health, /metrics,
 * /shutdown, /tokenize, /detokenize (worker HTTP spec; tokenize as llama.cpp's server).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "srv_http.h"
#include "srv_json.h"
#include "srv_log.h"
#include "srv_metrics.h"

enum MHD_Result srv_submit_and_stream(struct MHD_Connection *c, srv_req *r, srv_job *job,
                                      srv_stream_kind kind, int openai)
{
    int rc = srv_engine_submit(r->srv->engine, job);
    srv_event *ev;
    enum MHD_Result ret;

    snprintf(r->job_id, sizeof r->job_id, "%s", job->req.job_id);
    if (rc != SRV_SUBMIT_OK) {
        const char *code = rc == SRV_SUBMIT_BUSY ? "QUEUE_FULL"
                         : rc == SRV_SUBMIT_SHUTDOWN ? "SHUTTING_DOWN" : "INVALID_REQUEST";
        unsigned status = rc == SRV_SUBMIT_DUP ? 400 : 503;
        const char *msg = rc == SRV_SUBMIT_BUSY ? "the job queue is full; retry later"
                        : rc == SRV_SUBMIT_SHUTDOWN ? "worker is shutting down"
                        : "a job with this job_id is already queued or running";
        srv_metrics_outcome(rc == SRV_SUBMIT_DUP ? SRV_OUT_INVALID : SRV_OUT_BUSY);
        srv_job_unref(job);
        if (openai) return srv_respond_openai_error(c, r, status, code, "%s", msg);
        return srv_respond_error(c, r, status, code, status == 503, "%s", msg);
    }
    srv_req_hold_live(r);
    ev = srv_wait_event(r->srv, job);
    if (ev->type == SRV_EV_REJECTED) {
        unsigned status = ev->http_status ? (unsigned)ev->http_status : 400;
        ret = openai ? srv_respond_openai_error(c, r, status, ev->code, "%s", ev->text)
                     : srv_respond_error(c, r, status, ev->code, 0, "%s", ev->text);
        srv_event_free(ev);
    } else {
        ret = srv_stream_job(c, r, job, ev, kind);
    }
    srv_job_unref(job);
    return ret;
}

enum MHD_Result srv_handle_execute(struct MHD_Connection *c, srv_req *r)
{
    enum MHD_Result ret;
    srv_gen_request req;
    char msg[512];
    json_t *body = srv_req_json(c, r, &ret, 0);
    srv_job *job;

    if (!body) {
        srv_metrics_outcome(SRV_OUT_INVALID);
        return ret;
    }
    if (srv_parse_execute(body, &r->srv->limits, &req, msg, sizeof msg) != 0) {
        json_decref(body);
        srv_metrics_outcome(SRV_OUT_INVALID);
        return srv_respond_error(c, r, 400, "INVALID_REQUEST", 0, "%s", msg);
    }
    json_decref(body);
    job = srv_job_new(SRV_JOB_EXECUTE, &req, r->id);
    if (!job) {
        srv_gen_request_free(&req);
        return srv_respond_error(c, r, 500, "INTERNAL", 0, "out of memory");
    }
    return srv_submit_and_stream(c, r, job, SRV_STREAM_EXECUTE, 0);
}

enum MHD_Result srv_handle_cancel(struct MHD_Connection *c, srv_req *r)
{
    enum MHD_Result ret;
    char msg[512];
    const char *job_id;
    json_t *body = srv_req_json(c, r, &ret, 0);
    int found;

    if (!body) return ret;
    if (srv_json_string(body, "job_id", 1, 1, 0, &job_id, msg, sizeof msg) != 0) {
        json_decref(body);
        return srv_respond_error(c, r, 400, "INVALID_REQUEST", 0, "%s", msg);
    }
    snprintf(r->job_id, sizeof r->job_id, "%s", job_id);
    found = srv_engine_cancel(r->srv->engine, job_id);
    json_decref(body);
    /* 202 whether or not the job exists: cancel is idempotent (M0-W-1330) */
    return srv_respond_json(c, r, 202, json_pack("{s:s, s:b}", "job_id", r->job_id, "found",
                                                 found));
}

enum MHD_Result srv_handle_health(struct MHD_Connection *c, srv_req *r)
{
    srv_server *s = r->srv;
    srv_engine_health h;
    json_t *o;

    srv_engine_health_get(s->engine, &h);
    o = json_pack("{s:s, s:s, s:b, s:s, s:I, s:s, s:i, s:i, s:f}",
                  "status", h.healthy ? "healthy" : "unhealthy",
                  "model", s->info.name ? s->info.name : "",
                  "resident", h.resident,
                  "quant_kind", s->info.quant_kind ? s->info.quant_kind : "",
                  "vram_bytes_used", (json_int_t)h.vram_bytes,
                  "tokenizer_kind", s->info.tokenizer_kind ? s->info.tokenizer_kind : "",
                  "vocab_size", (int)s->info.vocab_size,
                  "context_length", (int)s->info.context_length,
                  "uptime_seconds", srv_metrics_uptime_s());
    if (!o) return srv_respond_error(c, r, 500, "INTERNAL", 0, "out of memory");
    /* sm and cuda_runtime_version are null on the host backend (no GPU) */
    json_object_set_new(o, "sm", s->sm_major >= 0 ? json_integer(s->sm_major * 10 + s->sm_minor)
                                                  : json_null());
    json_object_set_new(o, "cuda_runtime_version", s->cuda_runtime_version > 0
                        ? json_integer(s->cuda_runtime_version) : json_null());
    json_object_set_new(o, "device", s->is_host ? json_string("host")
                        : json_sprintf("cuda:%d", s->gpu));
    json_object_set_new(o, "architecture", json_string(s->info.architecture ? s->info.architecture
                                                                            : ""));
    json_object_set_new(o, "plugin", json_string(s->info.plugin ? s->info.plugin : ""));
    json_object_set_new(o, "queue_depth", json_integer(h.queued));
    json_object_set_new(o, "busy", json_boolean(h.active));
    return srv_respond_json(c, r, h.healthy ? 200 : 503, o);
}

enum MHD_Result srv_handle_metrics(struct MHD_Connection *c, srv_req *r)
{
    char *text = srv_metrics_render();
    if (!text) return srv_respond_error(c, r, 500, "INTERNAL", 0, "out of memory");
    return srv_respond_text(c, r, 200, "text/plain; version=0.0.4; charset=utf-8", text);
}

enum MHD_Result srv_handle_shutdown(struct MHD_Connection *c, srv_req *r)
{
    enum MHD_Result ret;

    atomic_store(&r->srv->shutting_down, 1);
    ret = srv_respond_json(c, r, 202, json_pack("{s:s}", "status", "shutting_down"));
    /* main is woken when this response has been sent (completed_cb), not now: stopping the
     * daemon first would cut the 202 off */
    r->shutdown_after = 1;
    return ret;
}

/* ---- tokenizer calls, run on the inference thread ---- */

typedef struct tok_call {
    const char *text;
    int add_special;
    int32_t *ids;
    size_t n;
    const int32_t *in;
    size_t n_in;
    char *out;
    char detail[512];
} tok_call;

static int tokenize_fn(CudaModel *model, void *arg)
{
    tok_call *t = arg;
    size_t cap = strlen(t->text) + 16, need = 0;
    int rc;

    for (int attempt = 0; attempt < 2; attempt++) {
        t->ids = malloc(cap * sizeof *t->ids);
        if (!t->ids) return CUDA_ERROR_UNKNOWN;
        rc = worker_tokenize(model, t->text, t->add_special, t->ids, cap, &need);
        if (rc == 0 && need <= cap) {
            t->n = need;
            return 0;
        }
        free(t->ids);
        t->ids = NULL;
        if (need <= cap) break;
        cap = need;
    }
    snprintf(t->detail, sizeof t->detail, "%s", worker_last_error_detail());
    return rc ? rc : CUDA_ERROR_UNKNOWN;
}

static int detokenize_fn(CudaModel *model, void *arg)
{
    tok_call *t = arg;
    size_t cap = t->n_in * 8 + 16, need = 0;
    int rc;

    for (int attempt = 0; attempt < 2; attempt++) {
        t->out = malloc(cap);
        if (!t->out) return CUDA_ERROR_UNKNOWN;
        rc = worker_detokenize(model, t->in, t->n_in, t->out, cap, &need);
        if (rc == 0 && need < cap) return 0;
        free(t->out);
        t->out = NULL;
        if (need < cap) break;
        cap = need + 1;
    }
    snprintf(t->detail, sizeof t->detail, "%s", worker_last_error_detail());
    return rc ? rc : CUDA_ERROR_UNKNOWN;
}

enum MHD_Result srv_handle_tokenize(struct MHD_Connection *c, srv_req *r)
{
    enum MHD_Result ret;
    char msg[512];
    tok_call t = {0};
    json_t *body = srv_req_json(c, r, &ret, 0), *arr;
    int rc;

    if (!body) return ret;
    if (srv_json_string(body, "content", 1, 0, 0, &t.text, msg, sizeof msg) ||
        srv_json_bool(body, "add_special", 0, &t.add_special, msg, sizeof msg)) {
        json_decref(body);
        return srv_respond_error(c, r, 400, "INVALID_REQUEST", 0, "%s", msg);
    }
    rc = srv_engine_call(r->srv->engine, tokenize_fn, &t);
    json_decref(body);
    if (rc != 0) {
        free(t.ids);
        if (rc < 0) return srv_respond_error(c, r, 503, "SHUTTING_DOWN", 1, "worker is stopping");
        return srv_respond_error(c, r, 400, "INVALID_REQUEST", 0, "cannot tokenize: %s",
                                 t.detail);
    }
    arr = json_array();
    for (size_t i = 0; arr && i < t.n; i++) json_array_append_new(arr, json_integer(t.ids[i]));
    free(t.ids);
    return srv_respond_json(c, r, 200, json_pack("{s:o}", "tokens", arr));
}

enum MHD_Result srv_handle_detokenize(struct MHD_Connection *c, srv_req *r)
{
    enum MHD_Result ret;
    tok_call t = {0};
    json_t *body = srv_req_json(c, r, &ret, 0), *arr, *e;
    int32_t *ids;
    size_t i;
    int rc;

    if (!body) return ret;
    arr = json_object_get(body, "tokens");
    if (!json_is_array(arr)) {
        json_decref(body);
        return srv_respond_error(c, r, 400, "INVALID_REQUEST", 0,
                                 arr ? "field 'tokens' must be an array of integers"
                                     : "missing required field 'tokens'");
    }
    ids = malloc((json_array_size(arr) + 1) * sizeof *ids);
    if (!ids) {
        json_decref(body);
        return srv_respond_error(c, r, 500, "INTERNAL", 0, "out of memory");
    }
    json_array_foreach(arr, i, e) {
        if (!json_is_integer(e) || json_integer_value(e) < 0 ||
            json_integer_value(e) >= (json_int_t)r->srv->info.vocab_size) {
            free(ids);
            json_decref(body);
            return srv_respond_error(c, r, 400, "INVALID_REQUEST", 0,
                                     "tokens[%zu] must be an integer in [0, %u)", i,
                                     r->srv->info.vocab_size);
        }
        ids[i] = (int32_t)json_integer_value(e);
    }
    t.in = ids;
    t.n_in = json_array_size(arr);
    json_decref(body);
    rc = srv_engine_call(r->srv->engine, detokenize_fn, &t);
    free(ids);
    if (rc != 0) {
        free(t.out);
        if (rc < 0) return srv_respond_error(c, r, 503, "SHUTTING_DOWN", 1, "worker is stopping");
        return srv_respond_error(c, r, 400, "INVALID_REQUEST", 0, "cannot detokenize: %s",
                                 t.detail);
    }
    ret = srv_respond_json(c, r, 200, json_pack("{s:s}", "content", t.out));
    free(t.out);
    return ret;
}
