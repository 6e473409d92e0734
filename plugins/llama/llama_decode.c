/*
 * llama_decode.c - the decode step (one token): the same blocks as prefill, with the token
 * id and the position read from backend memory (c->step) by get_rows_dev, rope_qk_dev and
 * attention_decode, so that on CUDA the whole step (~8 launches per layer) is recorded once
 * per cache as a graph and replayed with one launch per token. The host backend, and CUDA
 * with WORKER_CUDA_GRAPH=0 or after a failed capture, run the same ops one by one.
 * The step leaves its logits in c->logits; llama_decode copies them to the host, and the
 * greedy steps (llama_greedy.c) reduce them to the greedy id on the backend, as a launch of
 * its own after the graph, so the recording is the same for both.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "llama.h"

/* The step's ops; nothing here depends on the token or the position except through
 * c->step, so a recording of them is valid for every step of this cache. */
static int llama_decode_ops(const llama_model *m, llama_kv *c)
{
    const wp_host *h = m->host;
    const int d = (int)m->hp.n_embd;
    LLAMA_TRY(h->ops->get_rows_dev(h, &m->tok_embd, c->step, 1, c->x));
    for (uint32_t il = 0; il < m->hp.n_layer; il++)
        LLAMA_TRY(llama_block(m, c, il, 1, 0, c->step + 1));
    LLAMA_TRY(h->ops->rms_norm(h, c->x, m->output_norm.data, c->xb, 1, d, m->hp.rms_eps));
    return h->ops->matmul(h, &m->output, c->xb, c->logits, 1, NULL);
}

/* Record the step. A failure (an op that cannot be recorded, or one that failed) leaves
 * nothing run and switches this cache to op by op for good: the next call runs the ops
 * directly, where a real error is reported as such. */
static void llama_decode_capture(const llama_model *m, llama_kv *c)
{
    const wp_host *h = m->host;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = h->ops->graph_begin(h);
    if (rc == 0) {
        const int rc_ops = llama_decode_ops(m, c);
        rc = h->ops->graph_end(h, &c->graph);
        if (rc_ops)
            rc = rc_ops;
    }
    if (rc || !c->graph) {
        h->ops->graph_free(h, c->graph);
        c->graph = NULL;
        c->graph_off = 1;
        h->log(h, WP_LOG_WARN,
               "llama: the decode step could not be captured as a graph (code %d); running "
               "it op by op", rc);
        return;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    h->log(h, WP_LOG_DEBUG, "llama: decode step captured in %.3f ms",
           (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
}

int llama_decode_step(llama_model *m, llama_kv *c, int32_t token, int pos)
{
    const wp_host *h = m->host;
    const int32_t step[2] = { token, pos };
    /* a chained token is already in c->step[0] (the argmax of the step before wrote it):
     * only the position crosses */
    if (token == WP_TOKEN_CHAINED)
        LLAMA_TRY(h->ops->from_host(h, c->step + 1, &step[1], sizeof step[1]));
    else
        LLAMA_TRY(h->ops->from_host(h, c->step, step, sizeof step));
    if (!c->graph && !c->graph_off)
        llama_decode_capture(m, c);
    if (c->graph)
        return h->ops->graph_launch(h, c->graph);
    return llama_decode_ops(m, c);
}

int llama_decode(llama_model *m, llama_kv *c, int32_t token, int pos, float *logits)
{
    const wp_host *h = m->host;
    LLAMA_TRY(llama_decode_step(m, c, token, pos));
    return h->ops->to_host(h, logits, c->logits, (size_t)m->hp.n_vocab * sizeof(float));
}
