/*
 * gpt_kv.c - the KV cache of one sequence (fp32, per layer [n_ctx][n_embd] for K and V)
 * and its activation scratch, all through the accountant (host->alloc).
 */
#include <stdlib.h>
#include <string.h>

#include "gpt.h"

/* Sizes of a cache for n_ctx positions; one function so kv_size and kv_create agree. */
typedef struct gpt_kv_plan {
    int rows, logits_rows;
    uint64_t cache_bytes, embd_bytes, ff_bytes, logits_bytes;
} gpt_kv_plan;

static void gpt_kv_plan_for(const gpt_model *m, uint32_t n_ctx, gpt_kv_plan *p)
{
    uint64_t row_bytes = (uint64_t)m->hp.n_vocab * sizeof(float);
    uint64_t lr = GPT_LOGITS_SCRATCH_BYTES / row_bytes;
    p->rows = n_ctx < GPT_MAX_BATCH ? (int)n_ctx : GPT_MAX_BATCH;
    p->logits_rows = lr < 1 ? 1 : lr > (uint64_t)p->rows ? p->rows : (int)lr;
    p->cache_bytes = (uint64_t)n_ctx * m->hp.n_embd * sizeof(float);
    p->embd_bytes = (uint64_t)p->rows * m->hp.n_embd * sizeof(float);
    p->ff_bytes = (uint64_t)p->rows * m->hp.n_ff * sizeof(float);
    p->logits_bytes = (uint64_t)p->logits_rows * row_bytes;
}

/* x, h, q, k, v, att, o: seven activation buffers of [rows][n_embd]. */
#define GPT_EMBD_BUFFERS 7

int gpt_kv_size(void *model, uint32_t n_ctx, uint64_t *bytes)
{
    gpt_model *m = model;
    gpt_kv_plan p;
    if (!m || !bytes || n_ctx == 0) return CUDA_ERROR_INVALID_PARAMETER;
    gpt_kv_plan_for(m, n_ctx, &p);
    *bytes = 2 * (uint64_t)m->hp.n_layer * p.cache_bytes + GPT_EMBD_BUFFERS * p.embd_bytes +
             p.ff_bytes + p.logits_bytes;
    return CUDA_SUCCESS;
}

void gpt_kv_free(void *model, void *kv)
{
    gpt_model *m = model;
    gpt_kv *c = kv;
    const wp_host *h;
    float *bufs[9];
    if (!m || !c) return;
    h = m->host;
    bufs[0] = c->x; bufs[1] = c->h; bufs[2] = c->q; bufs[3] = c->k; bufs[4] = c->v;
    bufs[5] = c->att; bufs[6] = c->o; bufs[7] = c->ff; bufs[8] = c->logits;
    for (int i = 8; i >= 0; i--)
        if (bufs[i]) h->free(h, bufs[i]);
    for (uint32_t l = 0; l < m->hp.n_layer; l++) {
        if (c->v_cache && c->v_cache[l]) h->free(h, c->v_cache[l]);
        if (c->k_cache && c->k_cache[l]) h->free(h, c->k_cache[l]);
    }
    free(c->k_cache);
    free(c->v_cache);
    free(c);
}

int gpt_kv_create(void *model, uint32_t n_ctx, void **kv_out)
{
    gpt_model *m = model;
    const wp_host *h;
    gpt_kv_plan p;
    gpt_kv *c;

    if (!m || !kv_out || n_ctx == 0) return CUDA_ERROR_INVALID_PARAMETER;
    h = m->host;
    *kv_out = NULL;
    if (n_ctx > m->hp.n_ctx_train)
        return h->set_error(h, CUDA_ERROR_INVALID_PARAMETER,
                            "gpt2: context %u exceeds the %u learned positions", n_ctx,
                            m->hp.n_ctx_train);
    gpt_kv_plan_for(m, n_ctx, &p);
    c = calloc(1, sizeof *c);
    if (!c) return h->set_error(h, CUDA_ERROR_OUT_OF_MEMORY, "gpt: out of host memory");
    c->n_ctx = n_ctx;
    c->rows = p.rows;
    c->logits_rows = p.logits_rows;
    c->k_cache = calloc(m->hp.n_layer, sizeof *c->k_cache);
    c->v_cache = calloc(m->hp.n_layer, sizeof *c->v_cache);
    if (!c->k_cache || !c->v_cache) {
        gpt_kv_free(m, c);
        return h->set_error(h, CUDA_ERROR_OUT_OF_MEMORY, "gpt: out of host memory");
    }
    for (uint32_t l = 0; l < m->hp.n_layer; l++) {
        c->k_cache[l] = h->alloc(h, p.cache_bytes, WP_MEM_KV_CACHE, "gpt2 K cache");
        c->v_cache[l] = h->alloc(h, p.cache_bytes, WP_MEM_KV_CACHE, "gpt2 V cache");
        if (!c->k_cache[l] || !c->v_cache[l]) goto oom;
    }
#define GPT_SCRATCH(field, bytes) \
    if (!(c->field = h->alloc(h, (bytes), WP_MEM_SCRATCH, "gpt2 " #field))) goto oom
    GPT_SCRATCH(x, p.embd_bytes);
    GPT_SCRATCH(h, p.embd_bytes);
    GPT_SCRATCH(q, p.embd_bytes);
    GPT_SCRATCH(k, p.embd_bytes);
    GPT_SCRATCH(v, p.embd_bytes);
    GPT_SCRATCH(att, p.embd_bytes);
    GPT_SCRATCH(o, p.embd_bytes);
    GPT_SCRATCH(ff, p.ff_bytes);
    GPT_SCRATCH(logits, p.logits_bytes);
#undef GPT_SCRATCH
    *kv_out = c;
    return CUDA_SUCCESS;
oom:
    gpt_kv_free(m, c);   /* the alloc that failed set the detail */
    return CUDA_ERROR_OUT_OF_MEMORY;
}

/* A cache holds no count of its filled positions: every forward names its positions and
 * attention reads only those before them, so a used cache serves a new sequence from pos 0
 * as it is. */
int gpt_kv_reset(void *model, void *kv)
{
    return model && kv ? CUDA_SUCCESS : CUDA_ERROR_INVALID_PARAMETER;
}
