/*
 * srv_job.c - job event lists between the inference thread and HTTP connections.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "srv_job.h"

srv_job *srv_job_new(srv_job_kind kind, srv_gen_request *req, const char *request_id)
{
    srv_job *job = calloc(1, sizeof *job);
    pthread_condattr_t ca;

    if (!job) return NULL;
    pthread_mutex_init(&job->lock, NULL);
    /* CLOCK_MONOTONIC so waits are immune to wall-clock jumps. */
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&job->cond, &ca);
    pthread_condattr_destroy(&ca);
    job->refs = 1;
    job->kind = kind;
    job->req = *req;
    job->req.sp.stop = job->req.stop_view;  /* re-point into our copy */
    memset(req, 0, sizeof *req);
    snprintf(job->request_id, sizeof job->request_id, "%s", request_id ? request_id : "");
    atomic_init(&job->cancel, SRV_CANCEL_NONE);
    return job;
}

void srv_job_ref(srv_job *job)
{
    pthread_mutex_lock(&job->lock);
    job->refs++;
    pthread_mutex_unlock(&job->lock);
}

void srv_job_unref(srv_job *job)
{
    int left;

    if (!job) return;
    pthread_mutex_lock(&job->lock);
    left = --job->refs;
    pthread_mutex_unlock(&job->lock);
    if (left > 0) return;
    while (job->head) {
        srv_event *ev = job->head;
        job->head = ev->next;
        srv_event_free(ev);
    }
    srv_gen_request_free(&job->req);
    pthread_cond_destroy(&job->cond);
    pthread_mutex_destroy(&job->lock);
    free(job);
}

srv_event *srv_event_new(srv_event_type type)
{
    srv_event *ev = calloc(1, sizeof *ev);
    if (ev) ev->type = type;
    return ev;
}

void srv_event_free(srv_event *ev)
{
    if (!ev) return;
    free(ev->text);
    free(ev);
}

static int is_terminal(srv_event_type t)
{
    return t == SRV_EV_END || t == SRV_EV_ERROR || t == SRV_EV_REJECTED;
}

void srv_job_push(srv_job *job, srv_event *ev)
{
    if (!ev) return;
    pthread_mutex_lock(&job->lock);
    if (job->terminal) {
        pthread_mutex_unlock(&job->lock);
        srv_event_free(ev);
        return;
    }
    if (is_terminal(ev->type)) job->terminal = 1;
    if (job->tail) job->tail->next = ev;
    else job->head = ev;
    job->tail = ev;
    pthread_cond_broadcast(&job->cond);
    pthread_mutex_unlock(&job->lock);
}

static srv_event *event_verror(srv_event_type type, const char *code, int http_status,
                               int retriable, const char *fmt, va_list ap)
{
    srv_event *ev = srv_event_new(type);
    char msg[1024];

    vsnprintf(msg, sizeof msg, fmt, ap);
    if (!ev) return NULL;
    ev->code = code;
    ev->http_status = http_status;
    ev->retriable = retriable;
    ev->text = strdup(msg);
    return ev;
}

srv_event *srv_event_error(srv_event_type type, const char *code, int http_status,
                           int retriable, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    srv_event *ev = event_verror(type, code, http_status, retriable, fmt, ap);
    va_end(ap);
    return ev;
}

void srv_job_fail(srv_job *job, srv_event_type type, const char *code, int http_status,
                  int retriable, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    srv_event *ev = event_verror(type, code, http_status, retriable, fmt, ap);
    va_end(ap);
    srv_job_push(job, ev);
}

srv_event *srv_job_pop(srv_job *job, int timeout_ms)
{
    struct timespec until;
    srv_event *ev;

    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&job->lock);
    while (!job->head) {
        if (pthread_cond_timedwait(&job->cond, &job->lock, &until) == ETIMEDOUT) break;
    }
    ev = job->head;
    if (ev) {
        job->head = ev->next;
        if (!job->head) job->tail = NULL;
        ev->next = NULL;
    }
    pthread_mutex_unlock(&job->lock);
    return ev;
}

void srv_job_request_cancel(srv_job *job, int reason)
{
    int expected = SRV_CANCEL_NONE;
    atomic_compare_exchange_strong(&job->cancel, &expected, reason);
}
