/*
 * gpt.h - internal state of the gpt plugin (GGUF architecture "gpt2").
 *
 * GPT-2: token + learned position embeddings, pre-LayerNorm blocks (LayerNorm with bias,
 * fused QKV projection with bias, causal multi-head attention, output projection with bias,
 * MLP up -> GELU (tanh approximation) -> down, both with bias), a final LayerNorm and the
 * output projection (tied to token_embd, or a separate output.weight).
 *
 * The plugin reaches the runtime only through the wp_host table (abi/worker_plugin.h):
 * matmul (with bias), get_rows, attention, add and copies come from host->ops, shared with
 * every other architecture. The GPT-specific kernels (LayerNorm, GELU, adding learned
 * positions) are this plugin's own, in a plain-C set (gpt_kernels_host.c) and a CUDA set
 * (gpt_kernels_cuda.cu), chosen by host->backend. Nothing is shared with plugins/llama.
 */
#ifndef GPT_PLUGIN_H
#define GPT_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include "worker_plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Most tokens one forward call accepts. */
#define GPT_MAX_BATCH 512
/** Budget of the logits scratch; all-logits prefill is projected in chunks that fit. */
#define GPT_LOGITS_SCRATCH_BYTES (64u << 20)
/** GPT-2's LayerNorm epsilon when the key is absent. */
#define GPT_DEFAULT_EPS 1e-5f

/** The architecture-specific kernels of one backend; pointers are backend memory. */
typedef struct gpt_kernels {
    /** out[r] = (x[r] - mean) / sqrt(var + eps) * w + b for rows r < n_rows of width;
     *  out may equal x. */
    int (*layer_norm)(const wp_host *host, const float *x, const float *w, const float *b,
                      float *out, int n_rows, int width, float eps);
    /** x[i] = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), i < count, in place. */
    int (*gelu)(const wp_host *host, float *x, size_t count);
    /** x[t][i] += pos_table[pos + t][i] for t < n, i < width (learned positions). */
    int (*add_positions)(const wp_host *host, float *x, const float *pos_table, int n,
                         int pos, int width);
} gpt_kernels;

/** Plain-C kernels (host memory). */
const gpt_kernels *gpt_kernels_host(void);
/** CUDA kernels on (cudaStream_t)host->stream; NULL when built without CUDA. */
const gpt_kernels *gpt_kernels_cuda(void);

/** Hyper-parameters from gpt2.* metadata and the tensor shapes. */
typedef struct gpt_hparams {
    uint32_t n_embd;       /**< gpt2.embedding_length */
    uint32_t n_layer;      /**< gpt2.block_count */
    uint32_t n_head;       /**< gpt2.attention.head_count */
    uint32_t head_dim;     /**< n_embd / n_head */
    uint32_t n_ff;         /**< gpt2.feed_forward_length (default 4 n_embd) */
    uint32_t n_vocab;      /**< token_embd.weight ne[1] */
    uint32_t n_ctx_train;  /**< gpt2.context_length = rows of position_embd */
    float eps;             /**< gpt2.attention.layer_norm_epsilon */
} gpt_hparams;

/** One transformer block. Matrices are runtime-owned tensors (q, k, v are row views into
 *  attn_qkv); vectors are fp32 backend memory (maybe converted copies, see owned). */
typedef struct gpt_layer {
    const float *ln1_w, *ln1_b, *ln2_w, *ln2_b;
    wp_tensor wq, wk, wv, wo, w_up, w_down;
    const float *bq, *bk, *bv, *bo, *b_up, *b_down;
} gpt_layer;

typedef struct gpt_model {
    const wp_host *host;           /**< valid until unload returns */
    const gpt_kernels *k;
    gpt_hparams hp;
    wp_tensor tok_embd;
    wp_tensor output;              /**< output.weight, or a copy of tok_embd when tied */
    int tied;
    float *pos;                    /**< [n_ctx_train][n_embd] fp32 (owned) */
    const float *out_norm_w, *out_norm_b;
    gpt_layer *layers;
    void **owned;                  /**< buffers this plugin allocated (host->free at unload) */
    int n_owned, cap_owned;
    uint64_t n_params;
} gpt_model;

/** One sequence: per-layer K/V caches and activation scratch. */
typedef struct gpt_kv {
    uint32_t n_ctx;
    int rows, logits_rows;         /**< activation rows (<= GPT_MAX_BATCH), logits rows */
    float **k_cache, **v_cache;    /**< [n_layer] of [n_ctx][n_embd] */
    float *x, *h, *q, *k, *v, *att, *o, *ff, *logits;
} gpt_kv;

/* gpt_load.c */
int gpt_load(const wp_host *host, const char *architecture, void **model_out);
void gpt_unload(void *model);
/* gpt_kv.c */
int gpt_kv_size(void *model, uint32_t n_ctx, uint64_t *bytes);
int gpt_kv_create(void *model, uint32_t n_ctx, void **kv_out);
void gpt_kv_free(void *model, void *kv);
/** wp_plugin.kv_reset (ABI 1.2): nothing to forget (see gpt_kv.c). */
int gpt_kv_reset(void *model, void *kv);
/* gpt_forward.c */
int gpt_forward(void *model, void *kv, const int32_t *tokens, int n, int pos, float *logits,
                int all_logits);

#ifdef __cplusplus
}
#endif
#endif
