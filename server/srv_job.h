/*
 * srv_job.h - one generation job shared by an HTTP connection (the consumer) and the
 * inference thread (the producer). The producer appends events to the job's list under its
 * mutex and signals the condvar; the consumer pops them with a timeout. Exactly one terminal
 * event (END, ERROR or REJECTED) is ever pushed. Reference counted: the connection and the
 * engine each hold one.
 */
#ifndef SRV_JOB_H
#define SRV_JOB_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "srv_params.h"

typedef enum {
    SRV_EV_STARTED,   /* job began: started_at, prompt_tokens */
    SRV_EV_TOKEN,     /* text, index */
    SRV_EV_METRICS,   /* tokens_out, tokens_per_sec, vram_bytes */
    SRV_EV_END,       /* tokens_out, decode_ms, stop_reason, seed */
    SRV_EV_ERROR,     /* code, text (message), retriable, http_status */
    SRV_EV_REJECTED   /* refused before it started (a 400): code, text, http_status */
} srv_event_type;

typedef struct srv_event {
    struct srv_event *next;
    srv_event_type type;
    int index;
    char *text;                 /* token text or error message (owned) */
    const char *code;           /* static error code string */
    int retriable;
    int http_status;
    int tokens_out;
    int prompt_tokens;
    double decode_ms;
    double tokens_per_sec;
    uint64_t vram_bytes;
    const char *stop_reason;    /* static: "max_tokens" | "eos" | "stop_sequence" */
    char started_at[40];
} srv_event;

typedef enum { SRV_JOB_EXECUTE, SRV_JOB_COMPLETION, SRV_JOB_CHAT } srv_job_kind;

typedef struct srv_job {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int refs;
    srv_job_kind kind;
    srv_gen_request req;
    char request_id[32];
    atomic_int cancel;          /* 0, or why: SRV_CANCEL_* */
    int terminal;               /* a terminal event was pushed */
    srv_event *head, *tail;
    struct srv_job *qnext;      /* engine queue link */
    double enqueued_ms;
} srv_job;

enum { SRV_CANCEL_NONE = 0, SRV_CANCEL_REQUEST = 1, SRV_CANCEL_DISCONNECT = 2,
       SRV_CANCEL_SHUTDOWN = 3 };

/** New job owning req (moved in: the caller's copy is cleared). One reference. */
srv_job *srv_job_new(srv_job_kind kind, srv_gen_request *req, const char *request_id);
void srv_job_ref(srv_job *job);
void srv_job_unref(srv_job *job);

/** New zeroed event of a type (NULL on out of memory). */
srv_event *srv_event_new(srv_event_type type);
void srv_event_free(srv_event *ev);

/** Append ev (ownership moves to the job). Events after the terminal one are dropped. */
void srv_job_push(srv_job *job, srv_event *ev);

/** New ERROR (or REJECTED) event with a formatted message (NULL on out of memory). */
srv_event *srv_event_error(srv_event_type type, const char *code, int http_status,
                           int retriable, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/** Push an ERROR (or REJECTED) event with a formatted message. */
void srv_job_fail(srv_job *job, srv_event_type type, const char *code, int http_status,
                  int retriable, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/** Pop the next event, waiting up to timeout_ms. NULL on timeout. Caller frees the event. */
srv_event *srv_job_pop(srv_job *job, int timeout_ms);

/** Ask the job to stop (the first reason wins). */
void srv_job_request_cancel(srv_job *job, int reason);

#endif
