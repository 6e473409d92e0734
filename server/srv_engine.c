/*
 * srv_engine.c - the one thread that calls the FFI (see srv_engine.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "srv_engine.h"
#include "srv_json.h"
#include "srv_log.h"
#include "srv_metrics.h"

typedef struct srv_call {
    struct srv_call *next;
    int (*fn)(CudaModel *, void *);
    void *arg;
    int result;
    int done;
} srv_call;

struct srv_engine {
    CudaContext *ctx;
    CudaModel *model;
    srv_engine_config cfg;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;        /* work for the inference thread */
    pthread_cond_t call_done;   /* a synchronous call finished */
    srv_job *qhead, *qtail;
    unsigned qlen;
    srv_job *active;
    srv_call *calls;
    int stopping;
    double next_check_ms;
    srv_engine_health health;
};

/* ---- helpers run on the inference thread ---- */

/* Run every pending synchronous call. Called with e->lock held; drops it around fn. */
static void run_calls_locked(srv_engine *e)
{
    while (e->calls) {
        srv_call *c = e->calls;
        e->calls = c->next;
        pthread_mutex_unlock(&e->lock);
        c->result = c->fn(e->model, c->arg);
        pthread_mutex_lock(&e->lock);
        c->done = 1;
        pthread_cond_broadcast(&e->call_done);
    }
}

static void service_calls(srv_engine *e)
{
    pthread_mutex_lock(&e->lock);
    run_calls_locked(e);
    pthread_mutex_unlock(&e->lock);
}

static void publish_vram(srv_engine *e)
{
    uint64_t v = cuda_get_process_vram_usage(e->ctx);
    srv_metrics_set_vram(v);
    pthread_mutex_lock(&e->lock);
    e->health.vram_bytes = v;
    pthread_mutex_unlock(&e->lock);
}

/* M0-W-1012: weights must stay resident; a failure marks the worker unhealthy. */
static void health_check(srv_engine *e)
{
    int err = 0, derr = 0;
    bool resident = cuda_check_vram_residency(e->model, &err);
    const char *detail = resident ? "" : worker_last_error_detail();
    bool device_ok = cuda_check_device_health(e->ctx, &derr);

    if (!resident)
        srv_log_event(SRV_LOG_CRITICAL, "residency_check_failed",
                      json_pack("{s:i, s:s, s:s}", "code", err, "message",
                                cuda_error_message(err), "detail", detail));
    if (!device_ok)
        srv_log_event(SRV_LOG_CRITICAL, "device_health_failed",
                      json_pack("{s:i, s:s, s:s}", "code", derr, "message",
                                cuda_error_message(derr), "detail", worker_last_error_detail()));
    pthread_mutex_lock(&e->lock);
    e->health.resident = resident;
    e->health.healthy = resident && device_ok;
    pthread_mutex_unlock(&e->lock);
    publish_vram(e);
}

static const char *stop_reason_name(WorkerStopReason r)
{
    switch (r) {
    case WORKER_STOP_EOS: return "eos";
    case WORKER_STOP_STOP_SEQUENCE: return "stop_sequence";
    /* The spec names three reasons; a full context is a length limit like max_tokens. */
    default: return "max_tokens";
    }
}

/* Map a failing FFI code to the HTTP error contract: the terminal event to send. */
static srv_event *error_event(int code, const char *what, srv_outcome *outcome)
{
    const char *detail = worker_last_error_detail();
    if (code == CUDA_ERROR_OUT_OF_MEMORY) {
        *outcome = SRV_OUT_VRAM_OOM;
        return srv_event_error(SRV_EV_ERROR, "VRAM_OOM", 503, 1, "%s: out of VRAM: %s", what,
                               *detail ? detail : cuda_error_message(code));
    }
    *outcome = SRV_OUT_ERROR;
    return srv_event_error(SRV_EV_ERROR,
                           code == CUDA_ERROR_INVALID_PARAMETER ? "INTERNAL" : "CUDA_ERROR", 500,
                           0, "%s: %s (%s)", what, cuda_error_message(code),
                           *detail ? detail : "-");
}

/* Stop sequences may hold at most SRV_STOP_MAX_TOKENS tokens each (needs the tokenizer).
 * NULL when they fit, else the REJECTED event. */
static srv_event *check_stop_tokens(srv_engine *e, srv_job *job)
{
    for (int i = 0; i < job->req.sp.n_stop; i++) {
        size_t n = 0;
        int32_t ids[SRV_STOP_MAX_TOKENS];
        int rc = worker_tokenize(e->model, job->req.stop[i], 0, ids, SRV_STOP_MAX_TOKENS, &n);
        if (n > SRV_STOP_MAX_TOKENS)
            return srv_event_error(SRV_EV_REJECTED, "INVALID_REQUEST", 400, 0,
                                   "stop[%d] is %zu tokens long; at most %d are allowed", i, n,
                                   SRV_STOP_MAX_TOKENS);
        if (rc != 0)
            return srv_event_error(SRV_EV_REJECTED, "INVALID_REQUEST", 400, 0,
                                   "stop[%d] cannot be tokenized: %s", i,
                                   worker_last_error_detail());
    }
    return NULL;
}

static const char *cancel_message(int reason)
{
    switch (reason) {
    case SRV_CANCEL_DISCONNECT: return "client disconnected";
    case SRV_CANCEL_SHUTDOWN: return "worker is shutting down";
    default: return "cancelled by request";
    }
}

static void push_started(srv_job *job, InferenceResult *res)
{
    srv_event *ev = srv_event_new(SRV_EV_STARTED);
    if (ev) {
        srv_rfc3339_now(ev->started_at, sizeof ev->started_at);
        ev->prompt_tokens = res ? worker_inference_prompt_tokens(res) : 0;
    }
    srv_job_push(job, ev);
}

/* Pause after a token (test hook), waking early when the job is cancelled. */
static void debug_delay(const srv_engine *e, srv_job *job)
{
    for (unsigned w = 0; w < e->cfg.debug_token_delay_ms && !atomic_load(&job->cancel); w += 5) {
        struct timespec ts = {0, 5 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/*
 * Run one job to its terminal event. Every FFI call of a job happens here. The terminal
 * event is pushed last, after the KV cache is freed and the metrics are counted, so a client
 * that reads it and then asks /metrics or sends the next job sees the job finished.
 */
static void run_job(srv_engine *e, srv_job *job)
{
    double t0 = srv_now_ms(), t_first = 0, t_last, t_metrics, t_decode;
    double deadline = e->cfg.inference_timeout_s ? t0 + e->cfg.inference_timeout_s * 1000.0 : 0;
    srv_outcome outcome = SRV_OUT_SUCCESS;
    InferenceResult *res = NULL;
    int err = 0, n = 0, idx = 0, cap = 256, reason;
    char *piece = malloc((size_t)cap);
    srv_event *ev, *term = NULL;

    if (!piece) {
        outcome = SRV_OUT_ERROR;
        term = srv_event_error(SRV_EV_ERROR, "INTERNAL", 500, 0, "out of host memory");
        goto done;
    }
    if ((reason = atomic_load(&job->cancel)) != 0) {
        outcome = SRV_OUT_CANCELLED;
        term = srv_event_error(SRV_EV_ERROR, "CANCELLED", 500, 0, "%s", cancel_message(reason));
        goto done;
    }
    if ((term = check_stop_tokens(e, job)) != NULL) {
        outcome = SRV_OUT_INVALID;
        goto done;
    }
    res = worker_inference_start_ex(e->model, job->req.prompt, &job->req.sp, &err);
    if (!res) {
        if (err == CUDA_ERROR_INVALID_PARAMETER) {
            /* e.g. the prompt does not fit the context: still a 400, nothing streamed yet */
            outcome = SRV_OUT_INVALID;
            term = srv_event_error(SRV_EV_REJECTED, "INVALID_REQUEST", 400, 0, "%s",
                                   *worker_last_error_detail() ? worker_last_error_detail()
                                                               : cuda_error_message(err));
        } else {
            push_started(job, NULL);
            term = error_event(err, "inference start failed", &outcome);
        }
        goto done;
    }
    push_started(job, res);
    publish_vram(e);
    t_metrics = t_decode = t_last = srv_now_ms();  /* decode time excludes the prefill */
    for (;;) {
        if ((reason = atomic_load(&job->cancel)) != 0) {
            outcome = SRV_OUT_CANCELLED;
            term = srv_event_error(SRV_EV_ERROR, "CANCELLED", 500, 0, "%s",
                                   cancel_message(reason));
            break;
        }
        if (deadline && srv_now_ms() > deadline) {
            outcome = SRV_OUT_TIMEOUT;
            term = srv_event_error(SRV_EV_ERROR, "INFERENCE_TIMEOUT", 500, 0,
                                   "inference exceeded the %u s timeout",
                                   e->cfg.inference_timeout_s);
            break;
        }
        service_calls(e);
        err = 0;
        if (!cuda_inference_next_token(res, piece, cap, &idx, &err)) {
            if (err == CUDA_ERROR_INVALID_PARAMETER && cap < (1 << 20)) {
                /* the piece did not fit: it is kept for the next call; grow and retry */
                char *bigger = realloc(piece, (size_t)cap * 4);
                if (bigger) {
                    piece = bigger;
                    cap *= 4;
                    continue;
                }
            }
            if (err) {
                term = error_event(err, "token generation failed", &outcome);
                break;
            }
            term = srv_event_new(SRV_EV_END);
            if (term) {
                term->tokens_out = n;
                term->decode_ms = srv_now_ms() - t_decode;
                term->stop_reason = stop_reason_name(worker_inference_stop_reason(res));
            }
            break;
        }
        double now = srv_now_ms();
        if (n == 0) {
            t_first = now;
            srv_metrics_ttft_ms(now - t0);
        } else {
            srv_metrics_token_ms(now - t_last);
        }
        t_last = now;
        n++;
        ev = srv_event_new(SRV_EV_TOKEN);
        if (ev) {
            ev->index = n - 1;
            /* the FFI promises whole UTF-8 characters; a bad byte must not drop the
             * token from the JSON stream, so it becomes U+FFFD */
            ev->text = srv_utf8_valid_prefix(piece, strlen(piece)) == strlen(piece)
                           ? strdup(piece) : srv_utf8_sanitize(piece);
        }
        srv_job_push(job, ev);
        debug_delay(e, job);
        if (n % 32 == 0 || now - t_metrics >= 1000.0) {
            t_metrics = now;
            ev = srv_event_new(SRV_EV_METRICS);
            if (ev) {
                ev->tokens_out = n;
                ev->tokens_per_sec = n > 1 ? (n - 1) * 1000.0 / (now - t_first) : 0.0;
                ev->vram_bytes = cuda_get_process_vram_usage(e->ctx);
            }
            srv_job_push(job, ev);
        }
    }
done:
    cuda_inference_free(res);
    free(piece);
    srv_metrics_tokens((uint64_t)n);
    srv_metrics_inference_ms(srv_now_ms() - t0);
    srv_metrics_outcome(outcome);
    publish_vram(e);
    srv_log_event(outcome == SRV_OUT_SUCCESS ? SRV_LOG_INFO : SRV_LOG_WARN, "job_finished",
                  json_pack("{s:s, s:s, s:s, s:i, s:f}", "request_id", job->request_id,
                            "job_id", job->req.job_id, "outcome", srv_outcome_name(outcome),
                            "tokens_out", n, "duration_ms", srv_now_ms() - t0));
    if (!term) {
        /* out of memory for the terminal event: a static-text one keeps the contract */
        term = srv_event_new(SRV_EV_ERROR);
        if (term) {
            term->code = "INTERNAL";
            term->http_status = 500;
        }
    }
    srv_job_push(job, term);
}

static void *engine_main(void *arg)
{
    srv_engine *e = arg;

    pthread_mutex_lock(&e->lock);
    for (;;) {
        run_calls_locked(e);
        if (e->stopping && !e->qhead) break;
        if (e->qhead) {
            srv_job *job = e->qhead;
            e->qhead = job->qnext;
            if (!e->qhead) e->qtail = NULL;
            e->qlen--;
            e->active = job;
            srv_metrics_set_queue((int)e->qlen, 1);
            pthread_mutex_unlock(&e->lock);
            srv_log_event(SRV_LOG_INFO, "job_started",
                          json_pack("{s:s, s:s, s:f}", "request_id", job->request_id, "job_id",
                                    job->req.job_id, "queued_ms",
                                    srv_now_ms() - job->enqueued_ms));
            run_job(e, job);
            pthread_mutex_lock(&e->lock);
            e->active = NULL;
            srv_metrics_set_queue((int)e->qlen, 0);
            pthread_mutex_unlock(&e->lock);
            srv_job_unref(job);
            pthread_mutex_lock(&e->lock);
            continue;
        }
        double now = srv_now_ms();
        if (now >= e->next_check_ms) {
            e->next_check_ms = now + e->cfg.health_interval_s * 1000.0;
            pthread_mutex_unlock(&e->lock);
            health_check(e);
            pthread_mutex_lock(&e->lock);
            continue;
        }
        if (e->stopping) break;
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        double wait_ms = e->next_check_ms - now;
        if (wait_ms > 1000) wait_ms = 1000;
        until.tv_nsec += (long)(wait_ms * 1e6);
        until.tv_sec += until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&e->wake, &e->lock, &until);
    }
    pthread_mutex_unlock(&e->lock);
    return NULL;
}

srv_engine *srv_engine_start(CudaContext *ctx, CudaModel *model, const srv_engine_config *cfg)
{
    srv_engine *e = calloc(1, sizeof *e);
    pthread_condattr_t ca;

    if (!e) return NULL;
    e->ctx = ctx;
    e->model = model;
    e->cfg = *cfg;
    if (e->cfg.health_interval_s == 0) e->cfg.health_interval_s = 60;
    pthread_mutex_init(&e->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&e->wake, &ca);
    pthread_cond_init(&e->call_done, &ca);
    pthread_condattr_destroy(&ca);
    /* the first check runs here, on the caller's thread, so /health is exact from the
     * first request; from now on only the inference thread touches the FFI */
    health_check(e);
    e->next_check_ms = srv_now_ms() + e->cfg.health_interval_s * 1000.0;
    if (pthread_create(&e->thread, NULL, engine_main, e) != 0) {
        pthread_cond_destroy(&e->wake);
        pthread_cond_destroy(&e->call_done);
        pthread_mutex_destroy(&e->lock);
        free(e);
        return NULL;
    }
    return e;
}

int srv_engine_submit(srv_engine *e, srv_job *job)
{
    pthread_mutex_lock(&e->lock);
    if (e->stopping) {
        pthread_mutex_unlock(&e->lock);
        return SRV_SUBMIT_SHUTDOWN;
    }
    /* job ids must be unique among live jobs so /cancel is unambiguous */
    if (e->active && strcmp(e->active->req.job_id, job->req.job_id) == 0) goto dup;
    for (srv_job *q = e->qhead; q; q = q->qnext)
        if (strcmp(q->req.job_id, job->req.job_id) == 0) goto dup;
    /* queue_size counts waiting jobs; with an idle thread the job starts at once */
    if (e->qlen >= e->cfg.queue_size && (e->active || e->qlen > 0)) {
        pthread_mutex_unlock(&e->lock);
        return SRV_SUBMIT_BUSY;
    }
    srv_job_ref(job);
    job->enqueued_ms = srv_now_ms();
    job->qnext = NULL;
    if (e->qtail) e->qtail->qnext = job;
    else e->qhead = job;
    e->qtail = job;
    e->qlen++;
    srv_metrics_set_queue((int)e->qlen, e->active != NULL);
    pthread_cond_broadcast(&e->wake);
    pthread_mutex_unlock(&e->lock);
    return SRV_SUBMIT_OK;
dup:
    pthread_mutex_unlock(&e->lock);
    return SRV_SUBMIT_DUP;
}

int srv_engine_cancel(srv_engine *e, const char *job_id)
{
    int found = 0;
    srv_job *removed = NULL;

    pthread_mutex_lock(&e->lock);
    if (e->active && strcmp(e->active->req.job_id, job_id) == 0) {
        srv_job_request_cancel(e->active, SRV_CANCEL_REQUEST);
        found = 1;
    }
    /* a queued job leaves the queue at once and its stream ends now */
    for (srv_job **pp = &e->qhead; *pp; pp = &(*pp)->qnext) {
        if (strcmp((*pp)->req.job_id, job_id) == 0) {
            removed = *pp;
            *pp = removed->qnext;
            if (e->qtail == removed) {
                e->qtail = NULL;
                for (srv_job *q = e->qhead; q; q = q->qnext) e->qtail = q;
            }
            e->qlen--;
            found = 1;
            break;
        }
    }
    srv_metrics_set_queue((int)e->qlen, e->active != NULL);
    pthread_mutex_unlock(&e->lock);
    if (removed) {
        srv_job_request_cancel(removed, SRV_CANCEL_REQUEST);
        srv_metrics_outcome(SRV_OUT_CANCELLED);
        srv_job_fail(removed, SRV_EV_ERROR, "CANCELLED", 500, 0, "cancelled while queued");
        srv_job_unref(removed);
    }
    return found;
}

int srv_engine_call(srv_engine *e, int (*fn)(CudaModel *, void *), void *arg)
{
    srv_call c = {NULL, fn, arg, -1, 0};
    srv_call **pp;

    pthread_mutex_lock(&e->lock);
    if (e->stopping) {
        pthread_mutex_unlock(&e->lock);
        return -1;
    }
    for (pp = &e->calls; *pp; pp = &(*pp)->next) {}
    *pp = &c;
    pthread_cond_broadcast(&e->wake);
    while (!c.done) pthread_cond_wait(&e->call_done, &e->lock);
    pthread_mutex_unlock(&e->lock);
    return c.result;
}

void srv_engine_health_get(srv_engine *e, srv_engine_health *out)
{
    pthread_mutex_lock(&e->lock);
    *out = e->health;
    out->queued = (int)e->qlen;
    out->active = e->active != NULL;
    pthread_mutex_unlock(&e->lock);
}

void srv_engine_stop(srv_engine *e)
{
    srv_job *q;

    if (!e) return;
    pthread_mutex_lock(&e->lock);
    if (e->stopping) {
        pthread_mutex_unlock(&e->lock);
        return;
    }
    e->stopping = 1;
    if (e->active) srv_job_request_cancel(e->active, SRV_CANCEL_SHUTDOWN);
    q = e->qhead;
    e->qhead = e->qtail = NULL;
    e->qlen = 0;
    pthread_cond_broadcast(&e->wake);
    pthread_mutex_unlock(&e->lock);
    while (q) {
        srv_job *next = q->qnext;
        srv_job_request_cancel(q, SRV_CANCEL_SHUTDOWN);
        srv_metrics_outcome(SRV_OUT_CANCELLED);
        srv_job_fail(q, SRV_EV_ERROR, "CANCELLED", 500, 0, "worker is shutting down");
        srv_job_unref(q);
        q = next;
    }
    pthread_join(e->thread, NULL);
}

void srv_engine_free(srv_engine *e)
{
    if (!e) return;
    pthread_cond_destroy(&e->wake);
    pthread_cond_destroy(&e->call_done);
    pthread_mutex_destroy(&e->lock);
    free(e);
}
