/*
 * srv_openai.c - OpenAI-compatible endpoints: GET /v1/models, POST /v1/completions and
 * POST /v1/chat/completions, streaming (SSE "data: {chunk}" ... "data: [DONE]") or not.
 * The request's "model" is informational: this worker serves exactly one model.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "srv_chat.h"
#include "srv_http.h"
#include "srv_metrics.h"

enum MHD_Result srv_handle_v1_models(struct MHD_Connection *c, srv_req *r)
{
    srv_server *s = r->srv;
    json_t *m = json_pack("{s:s, s:s, s:I, s:s, s:s, s:i}", "id", s->info.name ? s->info.name : "",
                          "object", "model", "created", (json_int_t)time(NULL), "owned_by",
                          "worker-orcd", "architecture",
                          s->info.architecture ? s->info.architecture : "", "context_length",
                          (int)s->info.context_length);
    return srv_respond_json(c, r, 200, json_pack("{s:s, s:[o]}", "object", "list", "data", m));
}

/* An id for an OpenAI job: "<prefix>-<request id>", unique while the process lives. */
static void openai_job_id(srv_gen_request *req, const char *prefix, const srv_req *r)
{
    snprintf(req->job_id, sizeof req->job_id, "%s-%s", prefix, r->id);
}

/* stream:false - wait for the terminal event and answer with one JSON object. */
static enum MHD_Result respond_collected(struct MHD_Connection *c, srv_req *r, srv_job *job,
                                         int chat)
{
    int rc = srv_engine_submit(r->srv->engine, job);
    char *text = calloc(1, 1);
    size_t len = 0;
    int prompt_tokens = 0, tokens_out = 0;
    const char *stop_reason = NULL;
    enum MHD_Result ret;

    snprintf(r->job_id, sizeof r->job_id, "%s", job->req.job_id);
    if (rc != SRV_SUBMIT_OK) {
        srv_metrics_outcome(SRV_OUT_BUSY);
        srv_job_unref(job);
        free(text);
        return srv_respond_openai_error(c, r, 503, rc == SRV_SUBMIT_BUSY ? "QUEUE_FULL"
                                        : "SHUTTING_DOWN", "%s", rc == SRV_SUBMIT_BUSY
                                        ? "the job queue is full; retry later"
                                        : "worker is shutting down");
    }
    srv_req_hold_live(r);
    for (;;) {
        srv_event *ev = srv_wait_event(r->srv, job);
        if (ev->type == SRV_EV_STARTED) {
            prompt_tokens = ev->prompt_tokens;
        } else if (ev->type == SRV_EV_TOKEN && ev->text && text) {
            size_t n = strlen(ev->text);
            char *grown = realloc(text, len + n + 1);
            if (!grown) {
                /* keep draining so the job ends normally; answer 500 at the end */
                free(text);
                text = NULL;
            } else {
                memcpy(grown + len, ev->text, n + 1);
                len += n;
                text = grown;
            }
        } else if (ev->type == SRV_EV_END) {
            tokens_out = ev->tokens_out;
            stop_reason = ev->stop_reason;
            srv_event_free(ev);
            break;
        } else if (ev->type == SRV_EV_ERROR || ev->type == SRV_EV_REJECTED) {
            unsigned status = ev->http_status ? (unsigned)ev->http_status : 500;
            ret = srv_respond_openai_error(c, r, status, ev->code, "%s", ev->text ? ev->text : "");
            srv_event_free(ev);
            srv_job_unref(job);
            free(text);
            return ret;
        }
        srv_event_free(ev);
    }
    if (!text) {
        srv_job_unref(job);
        return srv_respond_openai_error(c, r, 500, "INTERNAL", "out of memory collecting the text");
    }
    const char *finish = stop_reason && strcmp(stop_reason, "max_tokens") == 0 ? "length"
                                                                               : "stop";
    json_t *choice = chat
        ? json_pack("{s:i, s:{s:s, s:s}, s:n, s:s}", "index", 0, "message", "role", "assistant",
                    "content", text, "logprobs", "finish_reason", finish)
        : json_pack("{s:s, s:i, s:n, s:s}", "text", text, "index", 0, "logprobs",
                    "finish_reason", finish);
    json_t *o = json_pack("{s:s, s:s, s:I, s:s, s:[o], s:{s:i, s:i, s:i}}", "id",
                          job->req.job_id, "object", chat ? "chat.completion" : "text_completion",
                          "created", (json_int_t)time(NULL), "model",
                          r->srv->info.name ? r->srv->info.name : "", "choices", choice, "usage",
                          "prompt_tokens", prompt_tokens, "completion_tokens", tokens_out,
                          "total_tokens", prompt_tokens + tokens_out);
    free(text);
    srv_job_unref(job);
    return srv_respond_json(c, r, 200, o);
}

static enum MHD_Result run_openai(struct MHD_Connection *c, srv_req *r, srv_gen_request *req,
                                  int chat)
{
    srv_job *job;

    openai_job_id(req, chat ? "chatcmpl" : "cmpl", r);
    job = srv_job_new(chat ? SRV_JOB_CHAT : SRV_JOB_COMPLETION, req, r->id);
    if (!job) {
        srv_gen_request_free(req);
        return srv_respond_openai_error(c, r, 500, "INTERNAL", "out of memory");
    }
    if (job->req.stream)
        return srv_submit_and_stream(c, r, job, chat ? SRV_STREAM_OPENAI_CHAT
                                                     : SRV_STREAM_OPENAI_COMPLETION, 1);
    return respond_collected(c, r, job, chat);
}

enum MHD_Result srv_handle_v1_completions(struct MHD_Connection *c, srv_req *r)
{
    enum MHD_Result ret;
    srv_gen_request req;
    char msg[512];
    json_t *body = srv_req_json(c, r, &ret, 1);

    if (!body) {
        srv_metrics_outcome(SRV_OUT_INVALID);
        return ret;
    }
    if (srv_parse_openai_completion(body, &r->srv->limits, &req, msg, sizeof msg) != 0) {
        json_decref(body);
        srv_metrics_outcome(SRV_OUT_INVALID);
        return srv_respond_openai_error(c, r, 400, "INVALID_REQUEST", "%s", msg);
    }
    json_decref(body);
    return run_openai(c, r, &req, 0);
}

enum MHD_Result srv_handle_v1_chat(struct MHD_Connection *c, srv_req *r)
{
    enum MHD_Result ret;
    srv_gen_request req;
    char msg[512];
    json_t *body = srv_req_json(c, r, &ret, 1);

    if (!body) {
        srv_metrics_outcome(SRV_OUT_INVALID);
        return ret;
    }
    if (srv_parse_openai_chat(body, &r->srv->limits, &req, msg, sizeof msg) != 0) {
        json_decref(body);
        srv_metrics_outcome(SRV_OUT_INVALID);
        return srv_respond_openai_error(c, r, 400, "INVALID_REQUEST", "%s", msg);
    }
    req.prompt = srv_chat_render(r->srv->info.chat_template, json_object_get(body, "messages"),
                                 msg, sizeof msg);
    json_decref(body);
    if (!req.prompt) {
        srv_gen_request_free(&req);
        srv_metrics_outcome(SRV_OUT_INVALID);
        return srv_respond_openai_error(c, r, 400, "INVALID_REQUEST", "%s", msg);
    }
    return run_openai(c, r, &req, 1);
}
