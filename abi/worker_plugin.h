/*
 * worker_plugin.h - the architecture plugin ABI of worker-orcd (ABI 1.3).
 *
 * A plugin is a loadable module (libtool -module) that exports one symbol,
 * WORKER_PLUGIN_ENTRY_SYMBOL ("worker_plugin_entry"), returning a static wp_plugin
 * descriptor. The runtime passes a wp_host services table to every callback that needs it;
 * a plugin reaches the runtime (memory accountant, GGUF metadata, the shared kernel library,
 * logging, error detail) only through that table, never through linked symbols.
 *
 * Version policy (abi/README.md): a minor bump only appends members at the end of a struct;
 * a plugin is accepted when abi_major == the runtime's major, abi_minor <= the runtime's
 * minor and struct_size >= the size of ABI 1.0's descriptor. Every shared struct starts with
 * {abi_major, abi_minor, struct_size}; each side reads only what struct_size covers.
 *
 * Status: every callback returns an int CudaErrorCode (worker_errors.h); 0 is success. On
 * failure the plugin calls host->set_error() with a detail (which tensor, expected and actual
 * shape) and returns the code.
 *
 * Memory: "backend memory" is device memory on the CUDA backend and host memory on the
 * reference host backend. All of it is allocated through host->alloc (accounted, tagged) and
 * released through host->free.
 */
#ifndef WORKER_PLUGIN_H
#define WORKER_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include "worker_errors.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WORKER_PLUGIN_ABI_MAJOR 1
#define WORKER_PLUGIN_ABI_MINOR 3
#define WORKER_PLUGIN_ENTRY_SYMBOL "worker_plugin_entry"

/** 1 when the table at p (a wp_host, wp_ops or wp_plugin; type names it) as its maker
 *  sized it (struct_size) reaches member: the only test to make before reading a member
 *  appended after ABI 1.0, since a table built for an older minor ends before it. */
#define WP_STRUCT_HAS(p, type, member) \
    ((p)->struct_size >= offsetof(type, member) + sizeof((p)->member))

#if defined(__GNUC__)
#define WP_EXPORT __attribute__((visibility("default")))
#define WP_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define WP_EXPORT
#define WP_PRINTF(f, a)
#endif

/* ---------------------------------------------------------------------------------------
 * Shared enums
 * ------------------------------------------------------------------------------------- */

/** Backends a plugin can run on (bit i of wp_plugin.backends = backend i supported). */
enum wp_backend { WP_BACKEND_HOST = 0, WP_BACKEND_CUDA = 1 };

/** Allocation tags of the accountant. */
enum wp_mem_tag { WP_MEM_WEIGHTS = 0, WP_MEM_KV_CACHE = 1, WP_MEM_SCRATCH = 2, WP_MEM_TAG_COUNT = 3 };

/** Log levels. */
enum wp_log_level { WP_LOG_ERROR = 0, WP_LOG_WARN = 1, WP_LOG_INFO = 2, WP_LOG_DEBUG = 3 };

/** Tensor element types, numbered as in GGUF/ggml. Only these are supported. */
enum wp_dtype {
    WP_DTYPE_F32 = 0,
    WP_DTYPE_F16 = 1,
    WP_DTYPE_Q4_0 = 2,
    WP_DTYPE_Q8_0 = 8,
    WP_DTYPE_Q4_K = 12,
    WP_DTYPE_Q6_K = 14,
    WP_DTYPE_BF16 = 30
};

/** Bitmask of the weight types a matmul accepts, for wp_plugin probes. */
#define WP_DTYPE_BIT(t) (1ull << (t))

/* ---------------------------------------------------------------------------------------
 * Tensors
 * ------------------------------------------------------------------------------------- */

/**
 * A tensor in backend memory. Dimensions as in GGUF: ne[0] is the innermost (contiguous)
 * dimension, so a weight matrix of a linear layer y = W x with in features and out features
 * has ne[0] = in, ne[1] = out (rows of W are contiguous, one row per output).
 */
typedef struct wp_tensor {
    const char *name;  /**< GGUF name (owned by the runtime, valid while the model lives) */
    uint32_t type;     /**< enum wp_dtype */
    uint32_t n_dims;   /**< 1..4 */
    uint64_t ne[4];    /**< unused dimensions are 1 */
    uint64_t nbytes;
    void *data;        /**< backend memory */
} wp_tensor;

/* ---------------------------------------------------------------------------------------
 * The shared kernel library: operations every architecture needs, implemented once by the
 * runtime for each backend (CUDA kernels and the plain-C reference). Pointers are backend
 * memory unless stated. Activations are fp32 row-major [n][width].
 * ------------------------------------------------------------------------------------- */

typedef struct wp_host wp_host;

/** Parameters of causal attention over the KV cache. */
typedef struct wp_attention_params {
    int n_tokens;     /**< new tokens in this call (1 for decode) */
    int pos;          /**< position of the first new token; cache holds positions < pos */
    int n_heads;      /**< query heads */
    int n_kv_heads;   /**< key/value heads (n_heads % n_kv_heads == 0: grouped-query) */
    int head_dim;
    int n_ctx;        /**< capacity of the cache in positions */
    float scale;      /**< usually 1/sqrt(head_dim) */
} wp_attention_params;

/** Flags of wp_ops.matmul_multi (ABI 1.1 and later). */
#define WP_MATMUL_ACCUMULATE 1u  /**< y += x W^T (+ bias) instead of y = ...: a residual add */

/** One weight of a fused product over a shared input (wp_ops.matmul_multi, ABI 1.1). */
typedef struct wp_matmul_part {
    const wp_tensor *w;   /**< weight, ne[0] = in (the same for every part), ne[1] = out */
    float *y;             /**< [n][w->ne[1]] backend memory */
    const float *bias;    /**< [w->ne[1]] fp32 backend memory, or NULL */
} wp_matmul_part;

/** Activations of wp_ops.matmul_glu (ABI 1.1). */
enum wp_glu_act { WP_GLU_SILU = 0 /**< SwiGLU: silu(g) * u */ };

typedef struct wp_ops {
    uint32_t abi_major, abi_minor, struct_size;

    /** y[n][out] = x[n][in] * W^T (+ bias[out] when bias != NULL); W is a weight tensor of
     *  any supported type with ne[0] = in, ne[1] = out; bias is fp32 backend memory. */
    int (*matmul)(const wp_host *host, const wp_tensor *w, const float *x, float *y, int n,
                  const float *bias);

    /** out[n][ne0] = rows ids[i] of the table (any supported type), dequantized to fp32.
     *  ids are host memory; each must be < table->ne[1] (checked). */
    int (*get_rows)(const wp_host *host, const wp_tensor *table, const int32_t *ids, int n,
                    float *out);

    /** Causal attention with grouped-query heads. q: [n][n_heads*head_dim]; k, v: the new
     *  keys and values [n][n_kv_heads*head_dim], first stored into the caches at rows
     *  pos..pos+n-1 (cache layout [n_ctx][n_kv_heads*head_dim], fp32); out: [n][n_heads*hd].
     *  Token i attends to cache rows 0..pos+i. */
    int (*attention)(const wp_host *host, const wp_attention_params *p, const float *q,
                     const float *k, const float *v, float *k_cache, float *v_cache,
                     float *out);

    /** y[i] += x[i], i < n. */
    int (*add)(const wp_host *host, float *y, const float *x, size_t n);

    /** out[r][i] = x[r][i] / rms(x[r]) * weight[i] (+ 0); rows r < n_rows of width w.
     *  weight is an fp32 tensor in backend memory. out may equal x. */
    int (*rms_norm)(const wp_host *host, const float *x, const float *weight, float *out,
                    int n_rows, int width, float eps);

    /** Copy n bytes backend -> host memory (synchronises). */
    int (*to_host)(const wp_host *host, void *dst, const void *src, size_t n);

    /** Copy n bytes host -> backend memory. */
    int (*from_host)(const wp_host *host, void *dst, const void *src, size_t n);

    /** Wait for all queued work of the backend; reports asynchronous kernel errors. */
    int (*synchronize)(const wp_host *host);

    /* --- ABI 1.1 and later: fused products and a decode step that can be replayed as a
     *     graph. Check ops->struct_size (or host->abi_minor >= 1) before use. --- */

    /** For each of count parts (1..WP_MATMUL_MAX_PARTS): part.y = x part.w^T (+ part.bias),
     *  or += with WP_MATMUL_ACCUMULATE in flags. Every weight has the same ne[0]; the CUDA
     *  set runs parts of one type in one launch (e.g. q, k and v of a layer). */
    int (*matmul_multi)(const wp_host *host, const wp_matmul_part *parts, int count,
                        const float *x, int n, unsigned flags);

    /** Gated linear unit: out[n][ne1] = act(x w_gate^T) * (x w_up^T), both weights of the same
     *  shape. tmp is [n][ne1] backend scratch the op may overwrite (the fused path leaves it
     *  alone). act: enum wp_glu_act. */
    int (*matmul_glu)(const wp_host *host, int act, const wp_tensor *w_gate,
                      const wp_tensor *w_up, const float *x, float *out, float *tmp, int n);

    /** get_rows with ids in backend memory, so the gather can be part of a graph. The ids
     *  cannot be checked before the kernel runs: the caller validates them; a device kernel
     *  writes NaN for an id out of range instead of reading outside the table. */
    int (*get_rows_dev)(const wp_host *host, const wp_tensor *table, const int32_t *ids, int n,
                        float *out);

    /** Bytes of the work buffer attention_decode needs for these parameters (n_ctx, heads,
     *  head_dim matter; pos and n_tokens do not). */
    int (*attention_decode_work)(const wp_host *host, const wp_attention_params *p,
                                 size_t *bytes);

    /** attention for one new token whose position is read from backend memory (*pos; p->pos
     *  and p->n_tokens are ignored), so one captured launch serves every position: stores
     *  k/v at cache row *pos and attends to rows 0..*pos. work: attention_decode_work bytes of
     *  backend memory, zero-filled before its first use and then left to the op. The position
     *  is not checked on the device (the caller checks it against n_ctx). */
    int (*attention_decode)(const wp_host *host, const wp_attention_params *p,
                            const int32_t *pos, const float *q, const float *k, const float *v,
                            float *k_cache, float *v_cache, float *out, void *work);

    /** Graphs: between graph_begin and graph_end the ops queued on the context's stream are
     *  recorded instead of run; graph_launch replays them (same pointers and arguments; read
     *  what changes per step, such as the position, from backend memory). Only ops without
     *  host synchronisation may be recorded (decode-size matmuls, norms, the _dev ops, the
     *  plugin's own kernels); the host backend has no graphs and fails graph_begin with
     *  CUDA_ERROR_INVALID_PARAMETER. graph_end always ends the recording; on failure *graph is
     *  NULL and nothing recorded runs. */
    int (*graph_begin)(const wp_host *host);
    int (*graph_end)(const wp_host *host, void **graph);
    int (*graph_launch)(const wp_host *host, void *graph);
    void (*graph_free)(const wp_host *host, void *graph);

    /* --- ABI 1.2 and later: greedy sampling on the device. Check ops->struct_size (or
     *     host->abi_minor >= 2) before use. --- */

    /** out[0] = the index of the largest of x[0..n) with the host sampler's greedy rule
     *  (runtime/text/sampler.c): NaN is ignored, the lowest index wins among equal values
     *  (-0 == +0), +inf beats every finite value, and 0 is the answer when no value is above
     *  -inf (all NaN or -inf). x and out are backend memory; n >= 1. Queued without
     *  synchronisation or allocation, so it may also be recorded in a graph; read out with
     *  to_host. */
    int (*argmax)(const wp_host *host, const float *x, int n, int32_t *out);

    /* --- ABI 1.3 and later: small copies to the host that do not wait for the whole
     *     stream, so the host can queue the next step before it waits for this one's
     *     result. Check ops->struct_size (or host->abi_minor >= 3) before use. --- */

    /** Queue a copy of n bytes (n <= WP_READBACK_MAX_BYTES, else
     *  CUDA_ERROR_INVALID_PARAMETER) of backend memory src, ordered after the work already
     *  queued, and return at once with an opaque handle in *pending (NULL on failure). The
     *  bytes are taken when the queued work reaches the copy, so src may be overwritten by
     *  work queued after this call. Every handle is given back by exactly one
     *  readback_finish; the CUDA set keeps a pinned slot and an event per handle from a
     *  small pool of the runtime. Not for recording in a graph. */
    int (*readback_start)(const wp_host *host, const void *src, size_t n, void **pending);

    /** Wait for the copy of pending only (not for work queued after it), write its n bytes
     *  (n as given to readback_start) to dst (host memory; NULL: discard them) and release
     *  the handle. The handle is released whatever the outcome, a failed wait or a wrong n
     *  included, so it is never used again. */
    int (*readback_finish)(const wp_host *host, void *pending, void *dst, size_t n);
} wp_ops;

/** Most parts one matmul_multi call takes. */
#define WP_MATMUL_MAX_PARTS 4
/** Most bytes one readback_start copies (ABI 1.3). */
#define WP_READBACK_MAX_BYTES 64

/* ---------------------------------------------------------------------------------------
 * Host services table (the runtime's side), passed to every callback
 * ------------------------------------------------------------------------------------- */

struct wp_host {
    uint32_t abi_major, abi_minor, struct_size;

    uint32_t backend;   /**< enum wp_backend of this context */
    int device;         /**< CUDA device ordinal, -1 on the host backend */
    void *stream;       /**< cudaStream_t on the CUDA backend, NULL on host */
    void *cublas;       /**< cublasHandle_t on the CUDA backend, NULL on host */
    void *runtime;      /**< opaque; the runtime's own state behind these callbacks */

    /* --- logging and errors --- */
    void (*log)(const wp_host *host, int level, const char *fmt, ...) WP_PRINTF(3, 4);
    /** Record a failure detail for worker_last_error_detail(); returns code. */
    int (*set_error)(const wp_host *host, int code, const char *fmt, ...) WP_PRINTF(3, 4);

    /* --- memory, through the accountant --- */
    /** Allocate bytes of backend memory under tag (enum wp_mem_tag); NULL and an error
     *  detail when the device is out of memory. what names the buffer in messages. */
    void *(*alloc)(const wp_host *host, size_t bytes, int tag, const char *what);
    void (*free)(const wp_host *host, void *ptr);

    /* --- GGUF metadata of the model being loaded (keys are full, e.g. "llama.block_count").
     *     Each getter returns 0 on success, CUDA_ERROR_MODEL_LOAD_FAILED with a detail when
     *     the key is missing or of another type. Integer getters accept any integer type
     *     whose value fits. --- */
    int (*meta_u32)(const wp_host *host, const char *key, uint32_t *out);
    int (*meta_f32)(const wp_host *host, const char *key, float *out);
    int (*meta_bool)(const wp_host *host, const char *key, int *out);
    /** String value; *out is owned by the runtime (valid while the model lives). */
    int (*meta_str)(const wp_host *host, const char *key, const char **out);
    /** 1 when the key exists, 0 otherwise (no error recorded). */
    int (*meta_has)(const wp_host *host, const char *key);

    /* --- tensors of the GGUF being loaded --- */
    /** Describe a tensor without loading it (data = NULL); CUDA_ERROR_MODEL_LOAD_FAILED
     *  with a detail when absent. Use tensor_exists to test without an error. */
    int (*tensor_info)(const wp_host *host, const char *name, wp_tensor *out);
    int (*tensor_exists)(const wp_host *host, const char *name);
    /** Upload a tensor to backend memory (tag WP_MEM_WEIGHTS) after checking its shape:
     *  n_dims dimensions equal to ne (unused trailing entries ignored), any of the types in
     *  type_mask (WP_DTYPE_BIT). A mismatch is an error naming the tensor, the expected and
     *  the actual shape or type. The runtime frees loaded tensors when the model unloads. */
    int (*tensor_load)(const wp_host *host, const char *name, uint32_t n_dims,
                       const uint64_t *ne, uint64_t type_mask, wp_tensor *out);

    /** The shared kernel library for this backend. */
    const wp_ops *ops;

    /* --- ABI 1.1 and later --- */
    /** Working memory of the shared kernel library (e.g. the 16-bit copies of x a tensor-core
     *  product needs): a backend buffer of at least bytes, owned by the runtime and reused by
     *  the next call, so valid only for work queued before the next scratch call. Plugins
     *  allocate their own buffers with alloc. NULL with a detail when out of memory. */
    void *(*scratch)(const wp_host *host, size_t bytes);

    /* --- ABI 1.3 and later. Check host->struct_size before reading. --- */
    /** How the shared kernel library launches on this context (WP_LAUNCH_*; 0 on the host
     *  backend). With WP_LAUNCH_PDL its kernels use programmatic dependent launch (sm_90):
     *  each may start while the kernel before it runs, and waits (griddepcontrol.wait)
     *  before it reads what an earlier kernel writes. A plugin kernel queued between two of
     *  them should be launched the same way (and wait likewise), or the kernel after it
     *  cannot start early. */
    uint32_t launch_flags;
};

/** wp_host.launch_flags: kernels use programmatic dependent launch (ABI 1.3). */
#define WP_LAUNCH_PDL (1u << 0)

/* ---------------------------------------------------------------------------------------
 * The plugin descriptor (the plugin's side)
 * ------------------------------------------------------------------------------------- */

/** What a loaded model tells the runtime. */
typedef struct wp_model_info {
    uint32_t struct_size;
    uint32_t vocab_size;      /**< rows of the logits */
    uint32_t context_length;  /**< trained context (n_ctx upper bound) */
    uint32_t max_batch;       /**< most tokens one forward call accepts (>= 1) */
    uint64_t n_params;
} wp_model_info;

typedef struct wp_plugin {
    uint32_t abi_major;       /**< WORKER_PLUGIN_ABI_MAJOR the plugin was built with */
    uint32_t abi_minor;
    uint32_t struct_size;     /**< sizeof(wp_plugin) as the plugin was built */
    const char *name;         /**< short name, e.g. "llama" (matches the module file name) */
    const char *version;
    const char *description;
    const char *const *architectures; /**< NULL-terminated general.architecture values */
    uint32_t backends;        /**< bitmask: 1u << WP_BACKEND_HOST | 1u << WP_BACKEND_CUDA */

    /** Optional: 0 when the GGUF (metadata reachable through host) can be served, else an
     *  error with detail (e.g. an unsupported rope type). NULL means "always". */
    int (*probe)(const wp_host *host, const char *architecture);

    /** Map and validate the tensors, read the hyper-parameters, upload the weights through
     *  host->tensor_load. On failure free what was taken (the runtime frees loaded tensors)
     *  and return an error. The host table stays valid until unload returns. */
    int (*load)(const wp_host *host, const char *architecture, void **model_out);
    void (*unload)(void *model);
    int (*model_info)(void *model, wp_model_info *info);

    /** Bytes of backend memory a KV cache (with its scratch buffers) for n_ctx positions
     *  takes. */
    int (*kv_size)(void *model, uint32_t n_ctx, uint64_t *bytes);
    /** Allocate a KV cache and scratch for n_ctx positions; CUDA_ERROR_OUT_OF_MEMORY leaves
     *  nothing allocated. */
    int (*kv_create)(void *model, uint32_t n_ctx, void **kv_out);
    void (*kv_free)(void *model, void *kv);

    /** Run tokens[0..n) (host memory, n <= max_batch) at positions pos..pos+n-1, appending to
     *  the cache. logits (host memory) receives vocab_size fp32 values for the last token, or
     *  for every token (n * vocab_size, row-major) when all_logits is non-zero. */
    int (*forward)(void *model, void *kv, const int32_t *tokens, int n, int pos,
                   float *logits, int all_logits);

    /* --- ABI 1.2 and later. The runtime reads a member only when struct_size covers it. --- */

    /** Optional (NULL: not provided): run one token at pos like forward with n = 1 and write
     *  the greedy choice over its logits (wp_ops.argmax: the host sampler's rule at
     *  temperature 0) to *next_token (host memory), without copying the logits to the
     *  host. The runtime calls it instead of forward + host sampling when the job samples
     *  greedily without a repetition penalty (and the plugin has no greedy_queue, ABI 1.3,
     *  or WORKER_GREEDY_PIPELINE=0). */
    int (*forward_greedy)(void *model, void *kv, int32_t token, int pos, int32_t *next_token);

    /** Optional (NULL: caches are never reused): forget every position of kv, so that its
     *  next forward may start at pos 0, keeping its memory and whatever the plugin recorded
     *  for it (a decode graph). The runtime keeps a finished job's cache and hands it to the
     *  next job of at most its size after this call, instead of freeing it and asking
     *  kv_create for another (milliseconds of allocations per job). 0, or an error: the
     *  runtime then frees the cache. */
    int (*kv_reset)(void *model, void *kv);

    /* --- ABI 1.3 and later: pipelined greedy decode. The runtime reads a member only when
     *     struct_size covers it. Both optional (NULL: not provided), both or neither. --- */

    /** Queue the decode step of token at pos and the copy of its greedy id (as
     *  forward_greedy chooses it) without waiting for either. token >= 0 comes from the host;
     *  token == WP_TOKEN_CHAINED is the id chosen by the greedy step queued just before on
     *  this kv (pos then follows that step's position), taken on the backend, so the step
     *  can be queued before the host has seen that id. At most WP_GREEDY_QUEUE_MAX steps may
     *  be outstanding (queued and not collected) per kv; one more, or a chained step with no
     *  greedy step before it, fails with CUDA_ERROR_INVALID_PARAMETER. The runtime queues
     *  the step of token k+1 before it waits for token k, so the backend never waits for the
     *  host; it calls forward and forward_greedy on a kv only when nothing is outstanding.
     *  kv_reset and kv_free drop outstanding steps (waiting for them), so nothing in flight
     *  touches a cache that is reused or freed. */
    int (*greedy_queue)(void *model, void *kv, int32_t token, int pos);

    /** Wait for the oldest outstanding step of kv (first queued, first collected) and
     *  write its greedy id to *next_token (host memory). No outstanding step:
     *  CUDA_ERROR_INVALID_PARAMETER. A failed step is still removed from the queue. */
    int (*greedy_collect)(void *model, void *kv, int32_t *next_token);
} wp_plugin;

/** greedy_queue's token for "the id the step queued before chose" (ABI 1.3). */
#define WP_TOKEN_CHAINED (-1)
/** Most steps greedy_queue keeps outstanding per KV cache (ABI 1.3). */
#define WP_GREEDY_QUEUE_MAX 2

typedef const wp_plugin *(*wp_entry_fn)(void);

/**
 * Define the plugin's entry symbol. Use once per module:
 *   WORKER_PLUGIN_DEFINE(my_descriptor)
 * where my_descriptor is a static const wp_plugin with abi_major/abi_minor/struct_size
 * filled by WP_PLUGIN_HEADER.
 */
#define WP_PLUGIN_HEADER WORKER_PLUGIN_ABI_MAJOR, WORKER_PLUGIN_ABI_MINOR, sizeof(wp_plugin)
#ifdef __cplusplus
#define WORKER_PLUGIN_DEFINE(desc) \
    extern "C" WP_EXPORT const wp_plugin *worker_plugin_entry(void); \
    extern "C" WP_EXPORT const wp_plugin *worker_plugin_entry(void) { return &(desc); }
#else
#define WORKER_PLUGIN_DEFINE(desc) \
    WP_EXPORT const wp_plugin *worker_plugin_entry(void); \
    WP_EXPORT const wp_plugin *worker_plugin_entry(void) { return &(desc); }
#endif

#ifdef __cplusplus
}
#endif

#endif /* WORKER_PLUGIN_H */
