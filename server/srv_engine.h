/*
 * srv_engine.h - the inference thread. The FFI is single-threaded per context, so ONE thread
 * makes every call on the context and model: it runs queued jobs one at a time (batch 1),
 * runs short synchronous calls (tokenize, detokenize) between tokens or while idle, and runs
 * the periodic residency / device health check between jobs. HTTP threads talk to it only
 * through this interface.
 */
#ifndef SRV_ENGINE_H
#define SRV_ENGINE_H

#include <stdint.h>

#include "worker_ext.h"
#include "srv_job.h"

typedef struct srv_engine srv_engine;

typedef struct srv_engine_config {
    unsigned queue_size;           /* waiting jobs beyond the running one */
    unsigned inference_timeout_s;  /* 0: none */
    unsigned health_interval_s;    /* residency check period (>= 1) */
    unsigned debug_token_delay_ms; /* test hook: pause after each token (cancel-aware) */
} srv_engine_config;

/** Health facts published by the inference thread. */
typedef struct srv_engine_health {
    int healthy;          /* device healthy and weights resident at the last check */
    int resident;
    uint64_t vram_bytes;  /* process VRAM at the last update */
    int queued;
    int active;
} srv_engine_health;

enum { SRV_SUBMIT_OK = 0, SRV_SUBMIT_BUSY = 1, SRV_SUBMIT_SHUTDOWN = 2, SRV_SUBMIT_DUP = 3 };

/** Run a first residency check (on the caller's thread), then start the inference thread.
 *  NULL on failure. */
srv_engine *srv_engine_start(CudaContext *ctx, CudaModel *model, const srv_engine_config *cfg);

/** Queue a job (the engine takes its own reference). SRV_SUBMIT_*. */
int srv_engine_submit(srv_engine *e, srv_job *job);

/** Cancel a queued or running job by id. Returns 1 when a job was found. Idempotent. */
int srv_engine_cancel(srv_engine *e, const char *job_id);

/**
 * Run fn(model, arg) on the inference thread and wait for it (between tokens of a running
 * job at the latest). Returns fn's result, or -1 when the engine is stopping.
 */
int srv_engine_call(srv_engine *e, int (*fn)(CudaModel *model, void *arg), void *arg);

void srv_engine_health_get(srv_engine *e, srv_engine_health *out);

/**
 * Refuse new jobs and calls, cancel the queued and the running job, join the thread. The
 * engine stays valid (submit answers SRV_SUBMIT_SHUTDOWN) until srv_engine_free, so HTTP
 * threads still running may keep using it.
 */
void srv_engine_stop(srv_engine *e);
/** Free a stopped engine (after the HTTP daemon has joined its threads). */
void srv_engine_free(srv_engine *e);

#endif
