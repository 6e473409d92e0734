/*
 * llama.h - internal state of the llama plugin (architectures "llama" and "qwen2").
 *
 * The plugin reaches the runtime only through the wp_host table it is given at load
 * (abi/worker_plugin.h). Shared operations (matmul, get_rows, attention, add, rms_norm,
 * copies, the fused products) come from host->ops; the architecture-specific kernels (RoPE)
 * live here in two sets: plain C (llama_kernels_host.c) and CUDA (llama_kernels_cuda.cu),
 * picked by host->backend.
 */
#ifndef LLAMA_PLUGIN_H
#define LLAMA_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include "worker_plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Propagate a failing step; the op recorded the detail. */
#define LLAMA_TRY(expr)            \
    do {                           \
        int rc_ = (expr);          \
        if (rc_ != 0)              \
            return rc_;            \
    } while (0)

/** Most tokens one forward call accepts (prefill is split by the caller above this). */
#define LLAMA_MAX_BATCH 512
/** Context length assumed when <arch>.context_length is absent. */
#define LLAMA_DEFAULT_CTX 2048
/** Budget of the logits scratch; all-logits prefill is projected in chunks that fit. */
#define LLAMA_LOGITS_SCRATCH_BYTES (64u << 20)

/** RoPE pair layouts. */
enum llama_rope_layout {
    LLAMA_ROPE_NORM = 0,  /**< adjacent pairs (2i, 2i+1): llama.cpp's permuted q/k rows */
    LLAMA_ROPE_NEOX = 1   /**< pairs (i, i + rope_dim/2): qwen2, HF layout */
};

/** Rotary embedding parameters, shared by both kernel sets. */
typedef struct llama_rope {
    int layout;              /**< enum llama_rope_layout */
    int rope_dim;            /**< rotated dimensions per head (even, <= head_dim) */
    float freq_base;         /**< theta base, e.g. 10000 */
    float freq_scale;        /**< position scale (linear rope scaling: 1/factor), 1 = none */
    const float *freq_factors; /**< backend memory [rope_dim/2] dividing each frequency
                                    (llama3 rope_freqs.weight), or NULL */
} llama_rope;

/** The architecture-specific kernels of one backend. All pointers are backend memory. */
typedef struct llama_kernels {
    /** Rotate x[n][n_heads*head_dim] in place; row t is at position pos + t. */
    int (*rope)(const wp_host *host, float *x, int n, int n_heads, int head_dim, int pos,
                const llama_rope *r);
    /** The decode step's RoPE: one row of q (n_q heads) and one of k (n_k heads), rotated in
     *  place for the position *pos read from backend memory (a graph's input). */
    int (*rope_qk_dev)(const wp_host *host, float *q, int n_q, float *k, int n_k, int head_dim,
                       const int32_t *pos, const llama_rope *r);
} llama_kernels;

/** Plain-C kernels (host memory). */
const llama_kernels *llama_kernels_host(void);
/** CUDA kernels on (cudaStream_t)host->stream; NULL when built without CUDA. */
const llama_kernels *llama_kernels_cuda(void);

/** Hyper-parameters read from <arch>.* metadata and the tensor shapes. */
typedef struct llama_hparams {
    int is_qwen2;
    uint32_t n_embd;         /**< embedding_length */
    uint32_t n_layer;        /**< block_count */
    uint32_t n_head;         /**< attention.head_count */
    uint32_t n_head_kv;      /**< attention.head_count_kv (default n_head) */
    uint32_t head_dim;       /**< attention.key_length, else n_embd / n_head */
    uint32_t n_ff;           /**< feed_forward_length */
    uint32_t n_vocab;        /**< token_embd.weight ne[1] */
    uint32_t n_ctx_train;    /**< context_length */
    float rms_eps;           /**< attention.layer_norm_rms_epsilon */
    llama_rope rope;
} llama_hparams;

/** Weights of one transformer block (tensors owned by the runtime). */
typedef struct llama_layer {
    wp_tensor attn_norm, wq, wk, wv, wo, ffn_norm, w_gate, w_up, w_down;
    wp_tensor bq, bk, bv;    /**< qwen2 biases; data NULL when absent */
} llama_layer;

typedef struct llama_model {
    const wp_host *host;     /**< valid until unload returns */
    const llama_kernels *kern;
    llama_hparams hp;
    wp_tensor tok_embd, output_norm, output;  /**< output may alias tok_embd (tied) */
    wp_tensor rope_freqs;    /**< data NULL when absent */
    llama_layer *layers;     /**< n_layer entries (malloc'd) */
    uint64_t n_params;
} llama_model;

/** A KV cache and the activation scratch of one sequence. */
typedef struct llama_kv {
    uint32_t n_ctx;
    int max_batch;           /**< rows of the activation scratch (min(LLAMA_MAX_BATCH, n_ctx)) */
    int logits_rows;         /**< rows of the logits scratch */
    float **k_cache, **v_cache;  /**< per layer [n_ctx][n_head_kv*head_dim] */
    float *x, *xb, *xb2;     /**< [max_batch][n_embd] */
    float *q, *k, *v, *att;  /**< [max_batch][heads*head_dim] */
    float *hb, *hb2;         /**< [max_batch][n_ff] */
    float *logits;           /**< [logits_rows][n_vocab] */
    /* the decode step (llama_decode.c) */
    int32_t *step;           /**< backend [2]: token id and position of the step; a greedy
                                  step's argmax overwrites the id with the chosen one, which
                                  a chained step then reads as its token */
    void *attn_work;         /**< attention_decode's work buffer (NULL when it needs none) */
    void *graph;             /**< the step captured as a graph (CUDA), or NULL */
    int graph_off;           /**< 1: run the step op by op (host, disabled, or capture failed) */
    /* greedy steps (llama_greedy.c) */
    void *greedy_pending[WP_GREEDY_QUEUE_MAX]; /**< readbacks of the outstanding steps'
                                                    ids, oldest first */
    int n_greedy_pending;
    int chain_pos;           /**< position of the last greedy step queued, whose id
                                  c->step[0] holds (or will); -1: none, no chaining */
} llama_kv;

/* llama_load.c */
int llama_load(const wp_host *host, const char *architecture, void **model_out);
void llama_unload(void *model);
int llama_probe(const wp_host *host, const char *architecture);

/* llama_kv.c */
int llama_kv_size(void *model, uint32_t n_ctx, uint64_t *bytes);
int llama_kv_create(void *model, uint32_t n_ctx, void **kv_out);
void llama_kv_free(void *model, void *kv);
/** wp_plugin.kv_reset (ABI 1.2): drops outstanding greedy steps, nothing else to forget
 *  (see llama_kv.c). */
int llama_kv_reset(void *model, void *kv);

/* llama_forward.c */
int llama_forward(void *model, void *kv, const int32_t *tokens, int n, int pos,
                  float *logits, int all_logits);
/** The model and cache of a call, or CUDA_ERROR_INVALID_PARAMETER (with a detail when the
 *  model is there to record it). */
int llama_check_handles(const llama_model *m, const llama_kv *c);
/** Tokens (each in the vocabulary), count (1..max_batch), positions (inside the cache) and
 *  output pointer of a forward call, checked before any kernel runs. */
int llama_check_args(const llama_model *m, const llama_kv *c, const int32_t *tokens, int n,
                     int pos, const void *out);

/* llama_greedy.c */
/** wp_plugin.forward_greedy (ABI 1.2): greedy_queue + greedy_collect of one step, refused
 *  while steps of greedy_queue are outstanding. */
int llama_forward_greedy(void *model, void *kv, int32_t token, int pos, int32_t *next_token);
/** wp_plugin.greedy_queue (ABI 1.3): the decode step, ops->argmax into c->step[0] and
 *  ops->readback_start of it, nothing waited for. */
int llama_greedy_queue(void *model, void *kv, int32_t token, int pos);
/** wp_plugin.greedy_collect (ABI 1.3): readback_finish of the oldest outstanding step. */
int llama_greedy_collect(void *model, void *kv, int32_t *next_token);
/** Wait for and discard every outstanding greedy step of c and forget the chain (kv_reset,
 *  kv_free); the first error, the queue emptied regardless. */
int llama_greedy_drop(const llama_model *m, llama_kv *c);
/** One transformer block over n rows of c->x; dev_pos non-NULL: the decode step (n = 1)
 *  with its position in backend memory. */
int llama_block(const llama_model *m, llama_kv *c, uint32_t il, int n, int pos,
                const int32_t *dev_pos);

/* llama_decode.c */
/** Queue the decode step of token at pos (position and token checked by the caller;
 *  WP_TOKEN_CHAINED: the id already in c->step[0]), recording it as a graph on the first
 *  call: when the queued work completes, c->logits holds the token's logits. */
int llama_decode_step(llama_model *m, llama_kv *c, int32_t token, int pos);
/** The decode step of one token, then its logits to host memory. */
int llama_decode(llama_model *m, llama_kv *c, int32_t token, int pos, float *logits);

#ifdef __cplusplus
}
#endif
#endif
