/*
 * session.h - one inference job (the definition behind the opaque InferenceResult).
 */
#ifndef WRK_SESSION_H
#define WRK_SESSION_H

#include <stdint.h>

#include "worker_ffi.h"
#include "worker_ext.h"
#include "session/textout.h"
#include "text/sampler.h"

#ifdef __cplusplus
extern "C" {
#endif

struct InferenceResult {
    CudaModel *model;
    void *kv;                  /* the plugin's KV cache */
    uint32_t kv_n_ctx;         /* its positions (>= n_ctx when a spare was reused) */
    uint32_t n_ctx;            /* positions this job may fill */
    uint32_t n_vocab;
    int32_t *prompt;           /* prompt token ids */
    int n_prompt;
    int pos;                   /* positions in the cache so far */
    float *logits;             /* logits for the next token (host, n_vocab) */
    int logits_pinned;         /* logits is page-locked (wrk_host_buffer_alloc) */
    wrk_sampler *sampler;
    wrk_textout out;
    int max_tokens;
    int ignore_eos;            /* benchmarks: never stop on EOS/EOG */
    int n_generated;           /* tokens sampled */
    int n_pieces;              /* pieces handed out (the next token_index) */
    int done;                  /* no more tokens will be sampled */
    int failed;                /* a forward failed: the code to repeat */
    int started;               /* the prompt went through: its KV cache may be reused */
    WorkerStopReason stop_reason;
    char *pending;             /* a piece that did not fit the caller's buffer */
    size_t pending_len;
    /* greedy sampling on the device (wp_plugin.forward_greedy, ABI 1.2) */
    int device_greedy;         /* decode steps return the next id instead of logits */
    int has_next_id;           /* next_id, not logits, holds the next token */
    int32_t next_id;           /* the id forward_greedy chose */
    int n_device_greedy;       /* tokens that came from forward_greedy (tests, debugging) */
    /* the same one step ahead (wp_plugin.greedy_queue/greedy_collect, ABI 1.3;
     * session/greedy_pipe.h) */
    int pipelined;             /* decode steps go through greedy_queue/greedy_collect */
    int n_queued;              /* steps queued on the cache and not collected (0..2) */
    int queued_pos;            /* position of the last step queued */
    int ahead_failed;          /* the code of a step queued ahead that failed (0: none) */
    char *ahead_detail;        /* its detail, reported if the job comes to need the step */
    int n_ahead;               /* steps queued ahead of need (tests, debugging) */
    int n_dropped;             /* of them, collected and discarded at the job's end */
    int kv_tainted;            /* the cache may hold a half-queued step: never reuse it */
};

#ifdef __cplusplus
}
#endif
#endif
