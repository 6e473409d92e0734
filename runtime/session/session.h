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
    uint32_t n_ctx;
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
    WorkerStopReason stop_reason;
    char *pending;             /* a piece that did not fit the caller's buffer */
    size_t pending_len;
};

#ifdef __cplusplus
}
#endif
#endif
