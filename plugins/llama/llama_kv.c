/*
 * llama_kv.c - the KV cache (fp32, per layer [n_ctx][n_head_kv*head_dim]) and the
 * activation scratch of one sequence, all through the accountant (host->alloc).
 */
#include <stdlib.h>
#include <string.h>

#include "llama.h"

/* Geometry of a cache for n_ctx positions: activation rows, logits rows, and the byte
 * sizes of each buffer. One function so kv_size and kv_create cannot disagree. */
typedef struct llama_kv_plan {
    int rows, logits_rows;
    uint64_t cache_bytes;   /* one layer's K (or V) */
    uint64_t embd_bytes, q_bytes, kvrow_bytes, ff_bytes, logits_bytes;
    uint64_t attn_work_bytes; /* attention_decode's work buffer */
} llama_kv_plan;

/* Bytes of the decode step's token/position buffer (two int32, padded for alignment); a
 * greedy step's argmax writes its id into the token slot (llama_greedy.c). */
#define LLAMA_STEP_BYTES 64

static int llama_kv_plan_for(const llama_model *m, uint32_t n_ctx, llama_kv_plan *p)
{
    const llama_hparams *hp = &m->hp;
    uint64_t kv_dim = (uint64_t)hp->n_head_kv * hp->head_dim;
    uint64_t q_dim = (uint64_t)hp->n_head * hp->head_dim;
    uint64_t row_bytes = (uint64_t)hp->n_vocab * sizeof(float);
    uint64_t lr = LLAMA_LOGITS_SCRATCH_BYTES / row_bytes;

    p->rows = n_ctx < LLAMA_MAX_BATCH ? (int)n_ctx : LLAMA_MAX_BATCH;
    p->logits_rows = lr < 1 ? 1 : lr > (uint64_t)p->rows ? p->rows : (int)lr;
    p->cache_bytes = (uint64_t)n_ctx * kv_dim * sizeof(float);
    p->embd_bytes = (uint64_t)p->rows * hp->n_embd * sizeof(float);
    p->q_bytes = (uint64_t)p->rows * q_dim * sizeof(float);
    p->kvrow_bytes = (uint64_t)p->rows * kv_dim * sizeof(float);
    p->ff_bytes = (uint64_t)p->rows * hp->n_ff * sizeof(float);
    p->logits_bytes = (uint64_t)p->logits_rows * row_bytes;
    const wp_attention_params ap = {
        .n_tokens = 1, .pos = 0, .n_heads = (int)hp->n_head, .n_kv_heads = (int)hp->n_head_kv,
        .head_dim = (int)hp->head_dim, .n_ctx = (int)n_ctx, .scale = 1.0f,
    };
    size_t work = 0;
    int rc = m->host->ops->attention_decode_work(m->host, &ap, &work);
    p->attn_work_bytes = work;
    return rc;
}

/* Bytes of backend memory kv_create(n_ctx) takes: caches plus scratch. */
int llama_kv_size(void *model, uint32_t n_ctx, uint64_t *bytes)
{
    llama_model *m = model;
    llama_kv_plan p;
    if (!m)
        return CUDA_ERROR_INVALID_PARAMETER;
    if (!bytes || n_ctx == 0)
        return m->host->set_error(m->host, CUDA_ERROR_INVALID_PARAMETER,
                                  "llama kv_size: %s", bytes ? "n_ctx is 0" : "bytes is NULL");
    int rc = llama_kv_plan_for(m, n_ctx, &p);
    if (rc)
        return rc;
    *bytes = 2 * (uint64_t)m->hp.n_layer * p.cache_bytes + 3 * p.embd_bytes +
             2 * p.q_bytes + 2 * p.kvrow_bytes + 2 * p.ff_bytes + p.logits_bytes +
             LLAMA_STEP_BYTES + p.attn_work_bytes;
    return CUDA_SUCCESS;
}

/* host->free of a buffer that may not have been allocated yet. */
static void llama_free_opt(const wp_host *h, void *ptr)
{
    if (ptr)
        h->free(h, ptr);
}

/* Free everything a (possibly partly built) cache holds, once its outstanding greedy steps
 * are done (a failed wait is logged: a broken context runs nothing any more). */
void llama_kv_free(void *model, void *kv)
{
    llama_model *m = model;
    llama_kv *c = kv;
    if (!m || !c)
        return;
    const wp_host *h = m->host;
    if (llama_greedy_drop(m, c) != CUDA_SUCCESS)
        h->log(h, WP_LOG_WARN, "llama: freeing a KV cache whose greedy steps failed");
    h->ops->graph_free(h, c->graph);
    llama_free_opt(h, c->step);
    llama_free_opt(h, c->attn_work);
    for (uint32_t il = 0; il < m->hp.n_layer; il++) {
        if (c->k_cache)
            llama_free_opt(h, c->k_cache[il]);
        if (c->v_cache)
            llama_free_opt(h, c->v_cache[il]);
    }
    float *scratch[] = { c->x, c->xb, c->xb2, c->q, c->k, c->v, c->att, c->hb, c->hb2,
                         c->logits };
    for (size_t i = 0; i < sizeof(scratch) / sizeof(scratch[0]); i++)
        llama_free_opt(h, scratch[i]);
    free(c->k_cache);
    free(c->v_cache);
    free(c);
}

/* Allocate caches and scratch for n_ctx positions; on any failure nothing stays allocated
 * and CUDA_ERROR_OUT_OF_MEMORY (detail from the accountant) is returned. */
int llama_kv_create(void *model, uint32_t n_ctx, void **kv_out)
{
    llama_model *m = model;
    llama_kv_plan p;
    llama_kv *c;

    if (!m)
        return CUDA_ERROR_INVALID_PARAMETER;
    const wp_host *h = m->host;
    if (!kv_out || n_ctx == 0)
        return h->set_error(h, CUDA_ERROR_INVALID_PARAMETER, "llama kv_create: %s",
                            kv_out ? "n_ctx is 0" : "kv_out is NULL");
    *kv_out = NULL;
    if (n_ctx > (1u << 24))
        return h->set_error(h, CUDA_ERROR_INVALID_PARAMETER,
                            "llama: n_ctx %u is above the supported 2^24", n_ctx);
    int rc = llama_kv_plan_for(m, n_ctx, &p);
    if (rc)
        return rc;
    c = calloc(1, sizeof(*c));
    if (!c)
        return h->set_error(h, CUDA_ERROR_OUT_OF_MEMORY, "llama: kv cache record");
    c->n_ctx = n_ctx;
    c->chain_pos = -1;
    c->max_batch = p.rows;
    c->logits_rows = p.logits_rows;
    c->k_cache = calloc(m->hp.n_layer, sizeof(float *));
    c->v_cache = calloc(m->hp.n_layer, sizeof(float *));
    if (!c->k_cache || !c->v_cache) {
        llama_kv_free(m, c);
        return h->set_error(h, CUDA_ERROR_OUT_OF_MEMORY, "llama: kv cache tables");
    }
    for (uint32_t il = 0; il < m->hp.n_layer; il++) {
        c->k_cache[il] = h->alloc(h, p.cache_bytes, WP_MEM_KV_CACHE, "llama K cache");
        c->v_cache[il] = h->alloc(h, p.cache_bytes, WP_MEM_KV_CACHE, "llama V cache");
        if (!c->k_cache[il] || !c->v_cache[il])
            goto oom;
    }
    struct { float **dst; uint64_t bytes; const char *what; } bufs[] = {
        { &c->x, p.embd_bytes, "llama residual" },
        { &c->xb, p.embd_bytes, "llama normed" },
        { &c->xb2, p.embd_bytes, "llama projection" },
        { &c->q, p.q_bytes, "llama q" },
        { &c->k, p.kvrow_bytes, "llama k" },
        { &c->v, p.kvrow_bytes, "llama v" },
        { &c->att, p.q_bytes, "llama attention out" },
        { &c->hb, p.ff_bytes, "llama ffn gate" },
        { &c->hb2, p.ff_bytes, "llama ffn up" },
        { &c->logits, p.logits_bytes, "llama logits" },
    };
    for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++) {
        *bufs[i].dst = h->alloc(h, bufs[i].bytes, WP_MEM_SCRATCH, bufs[i].what);
        if (!*bufs[i].dst)
            goto oom;
    }
    c->step = h->alloc(h, LLAMA_STEP_BYTES, WP_MEM_SCRATCH, "llama decode step");
    if (!c->step)
        goto oom;
    if (p.attn_work_bytes) {
        c->attn_work = h->alloc(h, p.attn_work_bytes, WP_MEM_SCRATCH, "llama attention work");
        if (!c->attn_work)
            goto oom;
        /* attention_decode wants its work zero-filled before the first use */
        void *zeros = calloc(1, p.attn_work_bytes);
        if (!zeros) {
            llama_kv_free(m, c);
            return h->set_error(h, CUDA_ERROR_OUT_OF_MEMORY, "llama: zeros for attention work");
        }
        rc = h->ops->from_host(h, c->attn_work, zeros, p.attn_work_bytes);
        free(zeros);
        if (rc) {
            llama_kv_free(m, c);
            return rc;
        }
    }
    /* graphs are a CUDA feature; WORKER_CUDA_GRAPH=0 runs the decode step op by op (to
     * compare or to debug) */
    const char *env = getenv("WORKER_CUDA_GRAPH");
    c->graph_off = h->backend != WP_BACKEND_CUDA || (env && strcmp(env, "0") == 0);
    *kv_out = c;
    return CUDA_SUCCESS;
oom:
    /* The accountant recorded the detail (what, size, free memory). */
    llama_kv_free(m, c);
    return CUDA_ERROR_OUT_OF_MEMORY;
}

/* Greedy steps still outstanding (queued ahead and never collected) are waited for and
 * dropped, so none runs into the next sequence; a failed wait fails the reset (the runtime
 * then frees the cache). Nothing else to forget: every forward names its positions (host
 * argument or c->step) and attention reads only the cache rows before them; the decode
 * graph depends on the cache's buffers, not on what is in them; and the split attention's
 * work area resets its tickets at the end of every step that ran to completion (a job whose
 * step failed is never reused: see wp_plugin.kv_reset's caller, runtime/session/
 * job_spare.c). So a used cache serves a new sequence from pos 0 as it is, graph included. */
int llama_kv_reset(void *model, void *kv)
{
    if (!model || !kv)
        return CUDA_ERROR_INVALID_PARAMETER;
    return llama_greedy_drop(model, kv);
}
