/*
 * llama_greedy.c - greedy decode steps that return only the chosen id: forward_greedy
 * (ABI 1.2) and the pipelined greedy_queue / greedy_collect (ABI 1.3).
 *
 * A greedy step is the decode step (llama_decode.c), ops->argmax over its logits written
 * straight into the step's token slot c->step[0], and ops->readback_start of those 4 bytes.
 * Nothing is waited for when it is queued, so the runtime can queue the step of token k+1
 * before it waits for token k: with token WP_TOKEN_CHAINED the next step reads its token
 * from c->step[0], where the argmax before it left it, and only its position is copied in.
 * On CUDA the stream orders it all: the readback of step k's id is queued before step k+1's
 * argmax overwrites the slot. The host backend runs every op at once, so there the same
 * calls give the same ids with no overlap.
 *
 * The readback handles of the outstanding steps are a FIFO of at most WP_GREEDY_QUEUE_MAX
 * per cache; greedy_collect finishes the oldest. kv_reset and kv_free drop what is left
 * (llama_greedy_drop), waiting for each copy, so nothing in flight outlives the cache.
 */
#include <string.h>

#include "llama.h"

/* The position of a chained step: it must follow the greedy step it chains onto, and lie
 * inside the cache (the device reads it unchecked). */
static int llama_check_chain(const llama_model *m, const llama_kv *c, int pos)
{
    const wp_host *h = m->host;
    if (c->chain_pos < 0)
        return h->set_error(h, CUDA_ERROR_INVALID_PARAMETER,
                            "llama greedy_queue: a chained step at position %d needs a greedy "
                            "step queued before it on this cache", pos);
    if (pos != c->chain_pos + 1)
        return h->set_error(h, CUDA_ERROR_INVALID_PARAMETER,
                            "llama greedy_queue: a chained step at position %d does not follow "
                            "the greedy step at %d", pos, c->chain_pos);
    if (pos < 0 || (uint32_t)pos >= c->n_ctx)
        return h->set_error(h, CUDA_ERROR_INVALID_PARAMETER,
                            "llama greedy_queue: position %d exceeds the cache of %u", pos,
                            c->n_ctx);
    return CUDA_SUCCESS;
}

int llama_greedy_queue(void *model, void *kv, int32_t token, int pos)
{
    llama_model *m = model;
    llama_kv *c = kv;
    LLAMA_TRY(llama_check_handles(m, c));
    const wp_host *h = m->host;
    if (c->n_greedy_pending >= WP_GREEDY_QUEUE_MAX)
        return h->set_error(h, CUDA_ERROR_INVALID_PARAMETER,
                            "llama greedy_queue: %d steps are outstanding on this cache (at "
                            "most %d): collect one first", c->n_greedy_pending,
                            WP_GREEDY_QUEUE_MAX);
    if (token == WP_TOKEN_CHAINED)
        LLAMA_TRY(llama_check_chain(m, c, pos));
    else   /* no output pointer to check: the token's own address stands in */
        LLAMA_TRY(llama_check_args(m, c, &token, 1, pos, &token));

    /* until the step is queued whole, c->step[0] holds no id a later step may chain onto */
    c->chain_pos = -1;
    void *pending = NULL;
    LLAMA_TRY(llama_decode_step(m, c, token, pos));
    LLAMA_TRY(h->ops->argmax(h, c->logits, (int)m->hp.n_vocab, c->step));
    LLAMA_TRY(h->ops->readback_start(h, c->step, sizeof(int32_t), &pending));
    c->greedy_pending[c->n_greedy_pending++] = pending;
    c->chain_pos = pos;
    return CUDA_SUCCESS;
}

int llama_greedy_collect(void *model, void *kv, int32_t *next_token)
{
    llama_model *m = model;
    llama_kv *c = kv;
    LLAMA_TRY(llama_check_handles(m, c));
    const wp_host *h = m->host;
    if (!next_token)
        return h->set_error(h, CUDA_ERROR_INVALID_PARAMETER,
                            "llama greedy_collect: next_token is NULL");
    if (c->n_greedy_pending == 0)
        return h->set_error(h, CUDA_ERROR_INVALID_PARAMETER,
                            "llama greedy_collect: no greedy step is outstanding on this cache");
    void *oldest = c->greedy_pending[0];
    c->n_greedy_pending--;
    memmove(c->greedy_pending, c->greedy_pending + 1,
            (size_t)c->n_greedy_pending * sizeof c->greedy_pending[0]);
    return h->ops->readback_finish(h, oldest, next_token, sizeof *next_token);
}

int llama_greedy_drop(const llama_model *m, llama_kv *c)
{
    const wp_host *h = m->host;
    int rc = CUDA_SUCCESS;
    for (int i = 0; i < c->n_greedy_pending; i++) {
        const int rc_i = h->ops->readback_finish(h, c->greedy_pending[i], NULL, sizeof(int32_t));
        if (rc == CUDA_SUCCESS)
            rc = rc_i;
    }
    c->n_greedy_pending = 0;
    c->chain_pos = -1;
    return rc;
}

/* One step queued and collected at once; mixing it into a pipeline would hand back the
 * oldest step's id instead of this one's, so it waits for none and refuses instead. */
int llama_forward_greedy(void *model, void *kv, int32_t token, int pos, int32_t *next_token)
{
    llama_model *m = model;
    llama_kv *c = kv;
    LLAMA_TRY(llama_check_handles(m, c));
    LLAMA_TRY(llama_check_args(m, c, &token, 1, pos, next_token));
    if (c->n_greedy_pending)
        return m->host->set_error(m->host, CUDA_ERROR_INVALID_PARAMETER,
                                  "llama forward_greedy: %d steps of greedy_queue are "
                                  "outstanding on this cache: collect them first",
                                  c->n_greedy_pending);
    LLAMA_TRY(llama_greedy_queue(m, c, token, pos));
    return llama_greedy_collect(m, c, next_token);
}
