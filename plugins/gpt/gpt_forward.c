/*
 * gpt_forward.c - the GPT-2 forward pass over a batch of tokens.
 *
 *   x = tok_embd[tokens] + pos[pos..pos+n)
 *   per block:  h = LN1(x); q,k,v = h Wqkv^T + b; a = attention(q, k, v | cache)
 *               x += a Wo^T + bo;  h = LN2(x);  x += gelu(h Wup^T + bup) Wdown^T + bdown
 *   logits = LN_f(x) Wout^T     (Wout = token_embd when tied)
 * Shared operations come from host->ops; LayerNorm, GELU and positions from m->k.
 */
#include <math.h>

#include "gpt.h"

/* Project rows [first, first + n) of the final activations to logits in host memory. */
static int gpt_logits(gpt_model *m, gpt_kv *c, const float *x, int n, float *logits)
{
    const wp_host *h = m->host;
    const size_t V = m->hp.n_vocab;
    for (int r = 0; r < n; r += c->logits_rows) {
        int rows = n - r < c->logits_rows ? n - r : c->logits_rows;
        int rc = h->ops->matmul(h, &m->output, x + (size_t)r * m->hp.n_embd, c->logits, rows,
                                NULL);
        if (rc) return rc;
        rc = h->ops->to_host(h, logits + (size_t)r * V, c->logits,
                             (size_t)rows * V * sizeof(float));
        if (rc) return rc;
    }
    return CUDA_SUCCESS;
}

/* One batch of at most c->rows tokens. */
static int gpt_forward_batch(gpt_model *m, gpt_kv *c, const int32_t *tokens, int n, int pos,
                             float *logits, int all_logits)
{
    const wp_host *h = m->host;
    const wp_ops *ops = h->ops;
    const gpt_kernels *k = m->k;
    const int d = (int)m->hp.n_embd;
    const float eps = m->hp.eps;
    wp_attention_params ap;
    int rc;

    ap.n_tokens = n;
    ap.pos = pos;
    ap.n_heads = (int)m->hp.n_head;
    ap.n_kv_heads = (int)m->hp.n_head;
    ap.head_dim = (int)m->hp.head_dim;
    ap.n_ctx = (int)c->n_ctx;
    ap.scale = 1.0f / sqrtf((float)m->hp.head_dim);

    if ((rc = ops->get_rows(h, &m->tok_embd, tokens, n, c->x)) != 0) return rc;
    if ((rc = k->add_positions(h, c->x, m->pos, n, pos, d)) != 0) return rc;
    for (uint32_t il = 0; il < m->hp.n_layer; il++) {
        const gpt_layer *L = &m->layers[il];
        if ((rc = k->layer_norm(h, c->x, L->ln1_w, L->ln1_b, c->h, n, d, eps)) != 0 ||
            (rc = ops->matmul(h, &L->wq, c->h, c->q, n, L->bq)) != 0 ||
            (rc = ops->matmul(h, &L->wk, c->h, c->k, n, L->bk)) != 0 ||
            (rc = ops->matmul(h, &L->wv, c->h, c->v, n, L->bv)) != 0 ||
            (rc = ops->attention(h, &ap, c->q, c->k, c->v, c->k_cache[il], c->v_cache[il],
                                 c->att)) != 0 ||
            (rc = ops->matmul(h, &L->wo, c->att, c->o, n, L->bo)) != 0 ||
            (rc = ops->add(h, c->x, c->o, (size_t)n * d)) != 0 ||
            (rc = k->layer_norm(h, c->x, L->ln2_w, L->ln2_b, c->h, n, d, eps)) != 0 ||
            (rc = ops->matmul(h, &L->w_up, c->h, c->ff, n, L->b_up)) != 0 ||
            (rc = k->gelu(h, c->ff, (size_t)n * m->hp.n_ff)) != 0 ||
            (rc = ops->matmul(h, &L->w_down, c->ff, c->o, n, L->b_down)) != 0 ||
            (rc = ops->add(h, c->x, c->o, (size_t)n * d)) != 0)
            return rc;
    }
    if (!logits) return CUDA_SUCCESS;
    if (all_logits) {
        if ((rc = k->layer_norm(h, c->x, m->out_norm_w, m->out_norm_b, c->h, n, d, eps)) != 0)
            return rc;
        return gpt_logits(m, c, c->h, n, logits);
    }
    /* Only the last token's logits: normalise that row alone. */
    if ((rc = k->layer_norm(h, c->x + (size_t)(n - 1) * d, m->out_norm_w, m->out_norm_b,
                            c->h, 1, d, eps)) != 0)
        return rc;
    return gpt_logits(m, c, c->h, 1, logits);
}

int gpt_forward(void *model, void *kv, const int32_t *tokens, int n, int pos, float *logits,
                int all_logits)
{
    gpt_model *m = model;
    gpt_kv *c = kv;
    const wp_host *h;

    if (!m || !c || !tokens || n <= 0 || pos < 0) return CUDA_ERROR_INVALID_PARAMETER;
    h = m->host;
    if (n > GPT_MAX_BATCH)
        return h->set_error(h, CUDA_ERROR_INVALID_PARAMETER,
                            "gpt2: batch of %d tokens exceeds max_batch %d", n, GPT_MAX_BATCH);
    if ((uint64_t)pos + (uint64_t)n > c->n_ctx)
        return h->set_error(h, CUDA_ERROR_INVALID_PARAMETER,
                            "gpt2: positions %d..%d exceed the cache of %u", pos, pos + n - 1,
                            c->n_ctx);
    for (int i = 0; i < n; i++)
        if (tokens[i] < 0 || (uint32_t)tokens[i] >= m->hp.n_vocab)
            return h->set_error(h, CUDA_ERROR_INVALID_PARAMETER,
                                "gpt2: token %d at index %d is outside the vocabulary of %u",
                                tokens[i], i, m->hp.n_vocab);
    /* The cache may hold fewer rows of scratch than max_batch (small n_ctx). */
    for (int done = 0; done < n;) {
        int b = n - done < c->rows ? n - done : c->rows;
        int last = done + b == n;
        float *out = NULL;
        int rc;
        if (logits && all_logits) out = logits + (size_t)done * m->hp.n_vocab;
        else if (logits && last) out = logits;
        rc = gpt_forward_batch(m, c, tokens + done, b, pos + done, out, all_logits);
        if (rc) return rc;
        done += b;
    }
    return CUDA_SUCCESS;
}
