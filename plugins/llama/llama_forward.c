/*
 * llama_forward.c - one forward pass of the Llama/Qwen2 decoder over a batch of tokens
 * (one token: llama_decode.c, the same blocks with the position in backend memory):
 *   x = embd[tokens]
 *   per layer: h = rms_norm(x) ; q,k,v = h Wq,Wk,Wv (+ biases) ; rope(q), rope(k)
 *              x += attention(q, k, v over the cache) Wo
 *              h = rms_norm(x) ; x += (silu(h Wgate) * (h Wup)) Wdown
 *   logits = rms_norm(x) Wout   (last row only, or every row)
 * Shared operations come from host->ops (SwiGLU is matmul_glu), RoPE from the plugin's
 * kernel set.
 */
#include <math.h>
#include <string.h>

#include "llama.h"

/* Arguments the caller controls are checked here, before any kernel runs, so a bad token
 * id or a full cache is an error and never an out-of-bounds access. */
int llama_check_args(const llama_model *m, const llama_kv *c, const int32_t *tokens,
                     int n, int pos, const void *out)
{
    const wp_host *h = m->host;
    if (!tokens || !out || n <= 0)
        return h->set_error(h, CUDA_ERROR_INVALID_PARAMETER,
                            "llama forward: %s", n <= 0 ? "no tokens" : "NULL tokens/output");
    if (n > c->max_batch)
        return h->set_error(h, CUDA_ERROR_INVALID_PARAMETER,
                            "llama forward: %d tokens exceed the batch limit %d", n,
                            c->max_batch);
    if (pos < 0 || (uint64_t)pos + (uint64_t)n > c->n_ctx)
        return h->set_error(h, CUDA_ERROR_INVALID_PARAMETER,
                            "llama forward: positions %d..%lld exceed the cache of %u", pos,
                            (long long)pos + n - 1, c->n_ctx);
    for (int i = 0; i < n; i++)
        if (tokens[i] < 0 || (uint32_t)tokens[i] >= m->hp.n_vocab)
            return h->set_error(h, CUDA_ERROR_INVALID_PARAMETER,
                                "llama forward: token %d at index %d is outside the "
                                "vocabulary of %u", tokens[i], i, m->hp.n_vocab);
    return CUDA_SUCCESS;
}

/* One transformer block over n rows of c->x (see llama.h). The residual adds ride on the
 * output projections (WP_MATMUL_ACCUMULATE), q/k/v are one fused product, gate/up/SwiGLU
 * another. */
int llama_block(const llama_model *m, llama_kv *c, uint32_t il, int n, int pos,
                const int32_t *dev_pos)
{
    const wp_host *h = m->host;
    const wp_ops *ops = h->ops;
    const llama_hparams *hp = &m->hp;
    const llama_layer *L = &m->layers[il];
    const int d = (int)hp->n_embd, hd = (int)hp->head_dim;

    LLAMA_TRY(ops->rms_norm(h, c->x, L->attn_norm.data, c->xb, n, d, hp->rms_eps));
    const wp_matmul_part qkv[3] = {
        { &L->wq, c->q, L->bq.data }, { &L->wk, c->k, L->bk.data }, { &L->wv, c->v, L->bv.data },
    };
    LLAMA_TRY(ops->matmul_multi(h, qkv, 3, c->xb, n, 0));

    wp_attention_params ap = {
        .n_tokens = n,
        .pos = pos,
        .n_heads = (int)hp->n_head,
        .n_kv_heads = (int)hp->n_head_kv,
        .head_dim = hd,
        .n_ctx = (int)c->n_ctx,
        .scale = 1.0f / sqrtf((float)hp->head_dim),
    };
    if (dev_pos) {
        LLAMA_TRY(m->kern->rope_qk_dev(h, c->q, (int)hp->n_head, c->k, (int)hp->n_head_kv, hd,
                                       dev_pos, &hp->rope));
        LLAMA_TRY(ops->attention_decode(h, &ap, dev_pos, c->q, c->k, c->v, c->k_cache[il],
                                        c->v_cache[il], c->att, c->attn_work));
    } else {
        LLAMA_TRY(m->kern->rope(h, c->q, n, (int)hp->n_head, hd, pos, &hp->rope));
        LLAMA_TRY(m->kern->rope(h, c->k, n, (int)hp->n_head_kv, hd, pos, &hp->rope));
        LLAMA_TRY(ops->attention(h, &ap, c->q, c->k, c->v, c->k_cache[il], c->v_cache[il],
                                 c->att));
    }
    const wp_matmul_part o = { &L->wo, c->x, NULL };
    LLAMA_TRY(ops->matmul_multi(h, &o, 1, c->att, n, WP_MATMUL_ACCUMULATE));

    LLAMA_TRY(ops->rms_norm(h, c->x, L->ffn_norm.data, c->xb, n, d, hp->rms_eps));
    LLAMA_TRY(ops->matmul_glu(h, WP_GLU_SILU, &L->w_gate, &L->w_up, c->xb, c->hb, c->hb2, n));
    const wp_matmul_part down = { &L->w_down, c->x, NULL };
    return ops->matmul_multi(h, &down, 1, c->hb, n, WP_MATMUL_ACCUMULATE);
}

/* Project rows [first, first+count) of the final normed activations to logits, in chunks
 * that fit the logits scratch, copying each chunk to host memory. */
static int llama_project(const llama_model *m, llama_kv *c, int first, int count,
                         float *logits)
{
    const wp_host *h = m->host;
    size_t vocab = m->hp.n_vocab, d = m->hp.n_embd;
    for (int done = 0; done < count;) {
        int rows = count - done < c->logits_rows ? count - done : c->logits_rows;
        LLAMA_TRY(h->ops->matmul(h, &m->output, c->xb + (size_t)(first + done) * d,
                                 c->logits, rows, NULL));
        LLAMA_TRY(h->ops->to_host(h, logits + (size_t)done * vocab, c->logits,
                                  (size_t)rows * vocab * sizeof(float)));
        done += rows;
    }
    return CUDA_SUCCESS;
}

/* The model and cache of a forward call, or an error (a NULL model has no host to record
 * a detail through). */
int llama_check_handles(const llama_model *m, const llama_kv *c)
{
    if (!m)
        return CUDA_ERROR_INVALID_PARAMETER;
    if (!c)
        return m->host->set_error(m->host, CUDA_ERROR_INVALID_PARAMETER,
                                  "llama forward: no KV cache");
    return CUDA_SUCCESS;
}

/* wp_plugin.forward: run tokens[0..n) at positions pos.. and write the logits. */
int llama_forward(void *model, void *kv, const int32_t *tokens, int n, int pos,
                  float *logits, int all_logits)
{
    llama_model *m = model;
    llama_kv *c = kv;
    LLAMA_TRY(llama_check_handles(m, c));
    const wp_host *h = m->host;
    const int d = (int)m->hp.n_embd;

    LLAMA_TRY(llama_check_args(m, c, tokens, n, pos, logits));
    /* this call rewrites c->step (one token) or leaves it stale: no greedy step may chain
     * onto what it leaves there */
    c->chain_pos = -1;
    if (n == 1)
        return llama_decode(m, c, tokens[0], pos, logits);
    LLAMA_TRY(h->ops->get_rows(h, &m->tok_embd, tokens, n, c->x));
    for (uint32_t il = 0; il < m->hp.n_layer; il++)
        LLAMA_TRY(llama_block(m, c, il, n, pos, NULL));

    /* Only the rows whose logits are wanted need the final norm. */
    int first = all_logits ? 0 : n - 1, count = all_logits ? n : 1;
    LLAMA_TRY(h->ops->rms_norm(h, c->x + (size_t)first * d, m->output_norm.data,
                               c->xb + (size_t)first * d, count, d, m->hp.rms_eps));
    return llama_project(m, c, first, count, logits);
}
