/*
 * greedy_pipe.c - pipelined greedy decode of a job (see greedy_pipe.h for why and when).
 *
 * State in the job (session.h): n_queued steps are on the cache (0 before the first decode,
 * 1 between decodes when the step after the last collected one was queued ahead, at most 2
 * inside wrk_pipe_decode), queued_pos the position of the last one.
 */
#include <stdlib.h>
#include <string.h>

#include "core/wrk_env.h"
#include "core/wrk_error.h"
#include "plugin/registry.h"
#include "session/greedy_pipe.h"

int wrk_pipe_wanted(const CudaModel *model, int device_greedy)
{
    if (!device_greedy || !wrk_env_on("WORKER_GREEDY_PIPELINE"))
        return 0;
    return WRK_PLUGIN_HAS(model->plugin, greedy_queue) &&
           WRK_PLUGIN_HAS(model->plugin, greedy_collect);
}

/* 1 when the job will need the step after the one at r->pos unless the token that step
 * consumes ends it (end of generation, stop sequence): the same tests step() makes before
 * it feeds a token back, one token later. */
static int ahead_needed(const InferenceResult *r)
{
    return r->n_generated + 1 < r->max_tokens && (uint32_t)r->pos + 1 < r->n_ctx;
}

/* Queue the step at r->pos + 1 on the device's id of the step at r->pos. A failure is kept
 * for later (the job may never need the step) and the cache marked: the plugin may have
 * queued part of the step. */
static void queue_ahead(InferenceResult *r)
{
    const wp_plugin *pl = r->model->plugin;
    int rc = pl->greedy_queue(r->model->plugin_model, r->kv, WP_TOKEN_CHAINED, r->pos + 1);
    if (rc == 0) {
        r->n_queued++;
        r->queued_pos = r->pos + 1;
        r->n_ahead++;
        return;
    }
    r->ahead_failed = rc;
    free(r->ahead_detail);
    r->ahead_detail = strdup(wrk_error_detail());
    r->kv_tainted = 1;
}

int wrk_pipe_decode(InferenceResult *r, int32_t id)
{
    const wp_plugin *pl = r->model->plugin;
    void *pm = r->model->plugin_model;
    int rc;

    if (r->n_queued == 0) {
        if (r->ahead_failed)   /* this is the step whose queueing failed ahead of time */
            return wrk_error(r->ahead_failed, "%s",
                             r->ahead_detail ? r->ahead_detail : "greedy_queue failed");
        if ((rc = pl->greedy_queue(pm, r->kv, id, r->pos)) != 0)
            return rc;
        r->n_queued = 1;
        r->queued_pos = r->pos;
    } else if (r->queued_pos != r->pos) {
        /* cannot happen: each decode leaves the step of the next position queued or none */
        r->kv_tainted = 1;
        return wrk_error(CUDA_ERROR_INFERENCE_FAILED,
                         "pipelined decode out of step: the step at %d is queued, position "
                         "%d is next", r->queued_pos, r->pos);
    }
    /* the step of id is queued: queue the one after it before waiting for its id */
    if (ahead_needed(r))
        queue_ahead(r);
    rc = pl->greedy_collect(pm, r->kv, &r->next_id);
    r->n_queued--;   /* a failed step leaves the queue too (greedy_collect's contract) */
    return rc;
}

int wrk_pipe_drain(InferenceResult *r)
{
    const wp_plugin *pl = r->model->plugin;
    int rc = 0;
    while (r->n_queued > 0) {
        int32_t unused;
        const int rc_i = pl->greedy_collect(r->model->plugin_model, r->kv, &unused);
        r->n_queued--;
        r->n_dropped++;
        if (rc == 0)
            rc = rc_i;
    }
    return rc;
}
