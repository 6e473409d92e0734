/*
 * greedy_pipe.h - pipelined greedy decode (wp_plugin.greedy_queue/greedy_collect, ABI 1.3):
 * a job's decode steps run one step ahead of the host, so the GPU never waits for it.
 *
 * Synchronously (forward_greedy), the host waits for token k, hands it out, and only then
 * queues the step that consumes it: between two steps the GPU idles for the host's share
 * (tens of microseconds per token on an H100: the wake-up, the session and the caller, the
 * copy in and the graph launch). Here the step that consumes token k is queued, chained on
 * the device to the step that chooses it, before the host waits for token k; the host's
 * share then runs while the GPU computes.
 *
 * A step is queued ahead only when the job will need it unless the token is an end of
 * generation or completes a stop sequence (neither is known before the token is): never
 * beyond max_tokens or the job's n_ctx. A step so queued and then not needed is collected
 * and discarded at the job's end, before its cache is handed to the next job or freed. If
 * queueing a step ahead fails, the token before it is still delivered and the failure is
 * reported (with its position) only when the job comes to need that step, as the
 * synchronous path would; the cache is then never reused. Tokens, text, counts and stop
 * reasons are those of the synchronous path. WORKER_GREEDY_PIPELINE=0 turns it off (per
 * job).
 */
#ifndef WRK_GREEDY_PIPE_H
#define WRK_GREEDY_PIPE_H

#include <stdint.h>

#include "core/wrk_context.h"
#include "session/session.h"

#ifdef __cplusplus
extern "C" {
#endif

/** 1 when a greedy job on the device (device_greedy) of model should decode through the
 *  pipeline: the plugin has greedy_queue and greedy_collect (within its struct_size) and
 *  WORKER_GREEDY_PIPELINE is not "0". */
int wrk_pipe_wanted(const CudaModel *model, int device_greedy);

/** The decode step of id at r->pos: queued unless it already was (chained), the step after
 *  it queued ahead when the job may need it, then the id of the step of id collected into
 *  r->next_id. Returns the plugin's code, or the saved code of a step queued ahead that
 *  failed (the detail restored); the caller adds the position and maps the code. */
int wrk_pipe_decode(InferenceResult *r, int32_t id);

/** Collect and discard every step still queued for r (r->n_dropped counts them). 0, or the
 *  first error: the cache must then not be reused. */
int wrk_pipe_drain(InferenceResult *r);

#ifdef __cplusplus
}
#endif
#endif
