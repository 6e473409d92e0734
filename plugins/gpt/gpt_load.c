/*
 * gpt_load.c - read the gpt2 hyper-parameters, check and upload the tensors.
 *
 * Every shape is checked by host->tensor_load against what the hyper-parameters imply, so a
 * malformed file fails here with a detail naming the tensor, never later in a kernel.
 * Vectors (norms, biases) and the position table are turned into fp32 backend buffers once
 * at load (through the shared get_rows), so the forward pass needs no per-type code.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpt.h"

/* Weight matrices: every type the shared matmul knows. */
#define GPT_MATRIX_TYPES                                                                   \
    (WP_DTYPE_BIT(WP_DTYPE_F32) | WP_DTYPE_BIT(WP_DTYPE_F16) | WP_DTYPE_BIT(WP_DTYPE_BF16) | \
     WP_DTYPE_BIT(WP_DTYPE_Q8_0) | WP_DTYPE_BIT(WP_DTYPE_Q4_0) |                          \
     WP_DTYPE_BIT(WP_DTYPE_Q4_K) | WP_DTYPE_BIT(WP_DTYPE_Q6_K))
/* Vectors and the position table: plain float types. */
#define GPT_VECTOR_TYPES \
    (WP_DTYPE_BIT(WP_DTYPE_F32) | WP_DTYPE_BIT(WP_DTYPE_F16) | WP_DTYPE_BIT(WP_DTYPE_BF16))

/* Remember a buffer we allocated, to free at unload. */
static int gpt_own(gpt_model *m, void *p)
{
    if (m->n_owned == m->cap_owned) {
        int cap = m->cap_owned ? 2 * m->cap_owned : 64;
        void **n = realloc(m->owned, (size_t)cap * sizeof *n);
        if (!n) {
            m->host->free(m->host, p);
            return m->host->set_error(m->host, CUDA_ERROR_OUT_OF_MEMORY,
                                      "gpt: out of host memory");
        }
        m->owned = n;
        m->cap_owned = cap;
    }
    m->owned[m->n_owned++] = p;
    return CUDA_SUCCESS;
}

/* Rows [first, first + n) of table as a new fp32 backend buffer [n][ne0], via get_rows. */
static int gpt_rows_f32(gpt_model *m, const wp_tensor *t, uint32_t first, uint32_t n,
                        float **out)
{
    const wp_host *h = m->host;
    int32_t *ids = malloc((size_t)n * sizeof *ids);
    float *buf;
    int rc;

    if (!ids)
        return h->set_error(h, CUDA_ERROR_OUT_OF_MEMORY, "gpt: out of host memory");
    for (uint32_t i = 0; i < n; i++) ids[i] = (int32_t)(first + i);
    buf = h->alloc(h, (size_t)n * t->ne[0] * sizeof(float), WP_MEM_WEIGHTS, t->name);
    if (!buf) {
        free(ids);
        return CUDA_ERROR_OUT_OF_MEMORY;   /* detail set by alloc */
    }
    rc = h->ops->get_rows(h, t, ids, (int)n, buf);
    free(ids);
    if (rc) {
        h->free(h, buf);
        return rc;
    }
    if ((rc = gpt_own(m, buf)) != 0) return rc;
    *out = buf;
    return CUDA_SUCCESS;
}

/* Load a vector of n elements as fp32 backend memory. */
static int gpt_vector(gpt_model *m, const char *name, uint32_t n, const float **out)
{
    uint64_t ne[1] = { n };
    wp_tensor t;
    float *f;
    int rc = m->host->tensor_load(m->host, name, 1, ne, GPT_VECTOR_TYPES, &t);
    if (rc) return rc;
    m->n_params += n;
    if (t.type == WP_DTYPE_F32) {
        *out = t.data;
        return CUDA_SUCCESS;
    }
    /* A 1-D tensor is a table of one row for get_rows. */
    t.ne[1] = 1;
    if ((rc = gpt_rows_f32(m, &t, 0, 1, &f)) != 0) return rc;
    *out = f;
    return CUDA_SUCCESS;
}

/* Load a matrix with ne0 = in, ne1 = out. */
static int gpt_matrix(gpt_model *m, const char *name, uint32_t in, uint32_t out_f,
                      wp_tensor *t)
{
    uint64_t ne[2] = { in, out_f };
    int rc = m->host->tensor_load(m->host, name, 2, ne, GPT_MATRIX_TYPES, t);
    if (rc == 0) m->n_params += (uint64_t)in * out_f;
    return rc;
}

/* Rows [first, first + n) of a loaded matrix, as a tensor that shares its memory. */
static wp_tensor gpt_row_view(const wp_tensor *t, uint64_t first, uint64_t n)
{
    wp_tensor v = *t;
    uint64_t row_bytes = t->nbytes / t->ne[1];
    v.ne[1] = n;
    v.nbytes = row_bytes * n;
    v.data = (char *)t->data + row_bytes * first;
    return v;
}

static int gpt_read_hparams(const wp_host *h, gpt_hparams *hp)
{
    wp_tensor te;
    int rc;

    if ((rc = h->meta_u32(h, "gpt2.embedding_length", &hp->n_embd)) != 0 ||
        (rc = h->meta_u32(h, "gpt2.block_count", &hp->n_layer)) != 0 ||
        (rc = h->meta_u32(h, "gpt2.attention.head_count", &hp->n_head)) != 0 ||
        (rc = h->meta_u32(h, "gpt2.context_length", &hp->n_ctx_train)) != 0)
        return rc;
    hp->n_ff = 4 * hp->n_embd;
    if (h->meta_has(h, "gpt2.feed_forward_length") &&
        (rc = h->meta_u32(h, "gpt2.feed_forward_length", &hp->n_ff)) != 0)
        return rc;
    hp->eps = GPT_DEFAULT_EPS;
    if (h->meta_has(h, "gpt2.attention.layer_norm_epsilon") &&
        (rc = h->meta_f32(h, "gpt2.attention.layer_norm_epsilon", &hp->eps)) != 0)
        return rc;

    if (hp->n_embd == 0 || hp->n_embd > (1u << 16) || hp->n_layer == 0 ||
        hp->n_layer > 1024 || hp->n_head == 0 || hp->n_embd % hp->n_head != 0 ||
        hp->n_ff == 0 || hp->n_ff > (1u << 18) || hp->n_ctx_train == 0 ||
        hp->n_ctx_train > (1u << 20) || !(hp->eps > 0.0f && hp->eps < 1.0f))
        return h->set_error(h, CUDA_ERROR_MODEL_LOAD_FAILED,
                            "gpt2: bad hyper-parameters: embedding_length %u, block_count %u, "
                            "head_count %u, feed_forward_length %u, context_length %u, "
                            "layer_norm_epsilon %g", hp->n_embd, hp->n_layer, hp->n_head,
                            hp->n_ff, hp->n_ctx_train, (double)hp->eps);
    hp->head_dim = hp->n_embd / hp->n_head;

    /* The vocabulary size is the embedding's row count. */
    if ((rc = h->tensor_info(h, "token_embd.weight", &te)) != 0) return rc;
    if (te.n_dims != 2 || te.ne[0] != hp->n_embd || te.ne[1] == 0 || te.ne[1] > (1u << 24))
        return h->set_error(h, CUDA_ERROR_MODEL_LOAD_FAILED,
                            "gpt2: token_embd.weight has shape [%llu, %llu], expected "
                            "[%u, n_vocab]", (unsigned long long)te.ne[0],
                            (unsigned long long)te.ne[1], hp->n_embd);
    hp->n_vocab = (uint32_t)te.ne[1];
    return CUDA_SUCCESS;
}

static int gpt_load_layer(gpt_model *m, uint32_t il, gpt_layer *L)
{
    const uint32_t d = m->hp.n_embd, ff = m->hp.n_ff;
    char name[96];
    wp_tensor qkv;
    const float *bqkv;
    int rc;

#define GPT_NAME(suffix) (snprintf(name, sizeof name, "blk.%u." suffix, il), name)
    if ((rc = gpt_vector(m, GPT_NAME("attn_norm.weight"), d, &L->ln1_w)) != 0 ||
        (rc = gpt_vector(m, GPT_NAME("attn_norm.bias"), d, &L->ln1_b)) != 0 ||
        (rc = gpt_matrix(m, GPT_NAME("attn_qkv.weight"), d, 3 * d, &qkv)) != 0 ||
        (rc = gpt_vector(m, GPT_NAME("attn_qkv.bias"), 3 * d, &bqkv)) != 0 ||
        (rc = gpt_matrix(m, GPT_NAME("attn_output.weight"), d, d, &L->wo)) != 0 ||
        (rc = gpt_vector(m, GPT_NAME("attn_output.bias"), d, &L->bo)) != 0 ||
        (rc = gpt_vector(m, GPT_NAME("ffn_norm.weight"), d, &L->ln2_w)) != 0 ||
        (rc = gpt_vector(m, GPT_NAME("ffn_norm.bias"), d, &L->ln2_b)) != 0 ||
        (rc = gpt_matrix(m, GPT_NAME("ffn_up.weight"), d, ff, &L->w_up)) != 0 ||
        (rc = gpt_vector(m, GPT_NAME("ffn_up.bias"), ff, &L->b_up)) != 0 ||
        (rc = gpt_matrix(m, GPT_NAME("ffn_down.weight"), ff, d, &L->w_down)) != 0 ||
        (rc = gpt_vector(m, GPT_NAME("ffn_down.bias"), d, &L->b_down)) != 0)
        return rc;
#undef GPT_NAME
    /* The fused projection's rows are Q (0..d), K (d..2d), V (2d..3d), as GPT-2's c_attn
     * splits its output; views let the shared matmul write each one contiguously. */
    L->wq = gpt_row_view(&qkv, 0, d);
    L->wk = gpt_row_view(&qkv, d, d);
    L->wv = gpt_row_view(&qkv, 2 * (uint64_t)d, d);
    L->bq = bqkv;
    L->bk = bqkv + d;
    L->bv = bqkv + 2 * (size_t)d;
    return CUDA_SUCCESS;
}

int gpt_load(const wp_host *host, const char *architecture, void **model_out)
{
    gpt_model *m;
    wp_tensor pos;
    int rc;

    if (!host || !model_out) return CUDA_ERROR_INVALID_PARAMETER;
    *model_out = NULL;
    if (!host->ops)
        return host->set_error(host, CUDA_ERROR_MODEL_LOAD_FAILED, "gpt: no kernel library");
    m = calloc(1, sizeof *m);
    if (!m) return host->set_error(host, CUDA_ERROR_OUT_OF_MEMORY, "gpt: out of host memory");
    m->host = host;
    m->k = host->backend == WP_BACKEND_CUDA ? gpt_kernels_cuda() : gpt_kernels_host();
    if (!m->k) {
        rc = host->set_error(host, CUDA_ERROR_MODEL_LOAD_FAILED,
                             "gpt: this build of the plugin has no CUDA kernels");
        goto fail;
    }
    if ((rc = gpt_read_hparams(host, &m->hp)) != 0) goto fail;

    if ((rc = gpt_matrix(m, "token_embd.weight", m->hp.n_embd, m->hp.n_vocab,
                         &m->tok_embd)) != 0)
        goto fail;
    {
        uint64_t ne[2] = { m->hp.n_embd, m->hp.n_ctx_train };
        if ((rc = host->tensor_load(host, "position_embd.weight", 2, ne, GPT_MATRIX_TYPES,
                                    &pos)) != 0)
            goto fail;
        m->n_params += ne[0] * ne[1];
        if ((rc = gpt_rows_f32(m, &pos, 0, m->hp.n_ctx_train, &m->pos)) != 0) goto fail;
    }
    m->layers = calloc(m->hp.n_layer, sizeof *m->layers);
    if (!m->layers) {
        rc = host->set_error(host, CUDA_ERROR_OUT_OF_MEMORY, "gpt: out of host memory");
        goto fail;
    }
    for (uint32_t il = 0; il < m->hp.n_layer; il++)
        if ((rc = gpt_load_layer(m, il, &m->layers[il])) != 0) goto fail;
    if ((rc = gpt_vector(m, "output_norm.weight", m->hp.n_embd, &m->out_norm_w)) != 0 ||
        (rc = gpt_vector(m, "output_norm.bias", m->hp.n_embd, &m->out_norm_b)) != 0)
        goto fail;
    if (host->tensor_exists(host, "output.weight")) {
        if ((rc = gpt_matrix(m, "output.weight", m->hp.n_embd, m->hp.n_vocab,
                             &m->output)) != 0)
            goto fail;
    } else {
        m->output = m->tok_embd;   /* tied, as GPT-2's lm_head */
        m->tied = 1;
    }
    host->log(host, WP_LOG_INFO,
              "gpt2: %u layers, embedding %u, %u heads, ffn %u, vocab %u, context %u, %s output",
              m->hp.n_layer, m->hp.n_embd, m->hp.n_head, m->hp.n_ff, m->hp.n_vocab,
              m->hp.n_ctx_train, m->tied ? "tied" : "separate");
    (void)architecture;
    *model_out = m;
    return CUDA_SUCCESS;
fail:
    gpt_unload(m);
    return rc;
}

/* Free what the plugin allocated; tensors from tensor_load are the runtime's to free. */
void gpt_unload(void *model)
{
    gpt_model *m = model;
    if (!m) return;
    for (int i = m->n_owned - 1; i >= 0; i--)
        m->host->free(m->host, m->owned[i]);
    free(m->owned);
    free(m->layers);
    free(m);
}
