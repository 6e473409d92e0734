/*
 * worker_ext.h - additive extensions to the locked worker FFI (worker_ffi.h).
 *
 * Conventions (adopted from the C-ABI contract in shared/spec): C linkage; status returned as
 * a CudaErrorCode (directly, or through int *error_code like the locked API); nothing unwinds;
 * the thread-local worker_last_error_detail() describes the last failure. Every struct passed
 * in starts with uint32_t struct_size so it can grow by appending (fill it with sizeof).
 * Nothing here changes a locked signature.
 */
#ifndef WORKER_EXT_H
#define WORKER_EXT_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "worker_ffi.h"

#ifdef __cplusplus
extern "C" {
#endif

/** ABI version of libworker's public API: (major << 16) | minor. */
#define WORKER_ABI_VERSION_MAJOR 1
#define WORKER_ABI_VERSION_MINOR 0

/** @return (major << 16) | minor of the library actually loaded. */
uint32_t worker_abi_version(void);

/** @return the package version, e.g. "0.1.0" (static storage). */
const char *worker_version_string(void);

/**
 * Detail of the calling thread's last failure: which file, tensor, byte offset or CUDA call.
 * Set by every failing call of this library; "" when the thread has seen no failure.
 *
 * @return thread-local NUL-terminated text, valid until the thread's next call into the library
 */
const char *worker_last_error_detail(void);

/** Options for worker_init_ex(). Zero-initialise, then set struct_size = sizeof. */
typedef struct WorkerInitOptions {
    uint32_t struct_size;
    const char *device;      /**< "cuda:N" (default "cuda:0") or "host" (reference backend) */
    const char *config_path; /**< ini file (see docs/worker-orcd.ini), or NULL */
    const char *plugin_path; /**< extra plugin directories, ':'-separated, searched first; or NULL */
} WorkerInitOptions;

/**
 * Open a context on a device named by string: "cuda:N" is cuda_init(N); "host" opens the
 * reference host backend (plain C, slow, logged as such; never chosen silently).
 *
 * @return context or NULL; error codes as cuda_init, and CUDA_ERROR_INVALID_PARAMETER for an
 *         unknown device string
 */
CudaContext *worker_init(const char *device, int *error_code);

/** worker_init() with a config file and plugin search path. */
CudaContext *worker_init_ex(const WorkerInitOptions *options, int *error_code);

/** @return 1 when the context runs on the reference host backend, 0 on CUDA, -1 if NULL. */
int worker_context_is_host(const CudaContext *ctx);

/** Stop reasons of a finished job. */
typedef enum {
    WORKER_STOP_NONE = 0,          /**< still running (or failed) */
    WORKER_STOP_MAX_TOKENS = 1,
    WORKER_STOP_EOS = 2,
    WORKER_STOP_STOP_SEQUENCE = 3,
    WORKER_STOP_CONTEXT_FULL = 4
} WorkerStopReason;

#define WORKER_MAX_STOP_SEQUENCES 4

/** Full sampling parameters for worker_inference_start_ex(). Fill with worker_sampling_defaults(). */
typedef struct WorkerSamplingParams {
    uint32_t struct_size;
    int max_tokens;             /**< >= 1 */
    float temperature;          /**< 0..2, 0 = greedy */
    int top_k;                  /**< 0 disables */
    float top_p;                /**< 0..1, 1 disables */
    float min_p;                /**< 0..1, 0 disables */
    float repetition_penalty;   /**< 0..2, 1 disables */
    uint64_t seed;
    int n_stop;                 /**< 0..WORKER_MAX_STOP_SEQUENCES */
    const char *const *stop;    /**< n_stop NUL-terminated UTF-8 strings */
    int add_special;            /**< 1: add BOS/EOS as the model's tokenizer says (default) */
    /* ---- added by the benchmark (engineer I) ---- */
    int ignore_eos;             /**< 1: never stop on EOS/EOG tokens (they are sampled and fed
                                 *   back like any other token; benchmarks); default 0 */
} WorkerSamplingParams;

/** Defaults: max_tokens 2048, temperature 1, top_k 0, top_p 1, min_p 0, penalty 1, seed 0. */
void worker_sampling_defaults(WorkerSamplingParams *params);

/** cuda_inference_start() with the full parameter set. */
InferenceResult *worker_inference_start_ex(CudaModel *model, const char *prompt,
                                           const WorkerSamplingParams *params, int *error_code);

/** @return why the job stopped (WORKER_STOP_NONE while it still runs); NONE for NULL. */
WorkerStopReason worker_inference_stop_reason(const InferenceResult *result);

/** @return number of prompt tokens of the job (after tokenization), 0 for NULL. */
int worker_inference_prompt_tokens(const InferenceResult *result);

/** Facts about a loaded model, for health reports and the OpenAI model list. */
typedef struct WorkerModelInfo {
    uint32_t struct_size;
    const char *architecture;   /**< general.architecture, e.g. "llama" */
    const char *name;           /**< general.name, or the file's base name */
    const char *plugin;         /**< name of the plugin that serves it */
    const char *plugin_version;
    const char *quant_kind;     /**< dominant weight type, e.g. "F16", "Q4_K" */
    const char *tokenizer_kind; /**< tokenizer.ggml.model, e.g. "llama", "gpt2" */
    const char *chat_template;  /**< tokenizer.chat_template, or NULL */
    uint32_t vocab_size;
    uint32_t context_length;
    uint64_t n_params;
    uint64_t weight_bytes;
    /* ---- added by the benchmark (engineer I); 0 when the runtime does not know ---- */
    uint32_t n_layers;          /**< transformer blocks (<arch>.block_count) */
    uint32_t n_kv_heads;        /**< KV heads (<arch>.attention.head_count_kv) */
    uint32_t head_dim;          /**< dimension of one K/V head */
    uint64_t kv_bytes_per_token; /**< bytes of K+V, all layers, one cached position, in the
                                  *   cache's own element type (what attention reads per
                                  *   position of context) */
} WorkerModelInfo;

/** Fill info (strings owned by the model, valid until it is unloaded). */
int worker_model_info(const CudaModel *model, WorkerModelInfo *info);

/**
 * Tokenize text with the model's tokenizer. add_special adds BOS/EOS as the tokenizer's
 * metadata says; special tokens written in the text are matched.
 * Writes up to cap ids; *n_tokens receives the count needed (call again with more room when
 * it exceeds cap; that returns CUDA_ERROR_INVALID_PARAMETER).
 */
int worker_tokenize(const CudaModel *model, const char *text, int add_special,
                    int32_t *tokens, size_t cap, size_t *n_tokens);

/**
 * Turn token ids back into text (byte tokens reassembled into UTF-8; invalid sequences
 * become U+FFFD). *needed receives the byte length without the NUL; returns
 * CUDA_ERROR_INVALID_PARAMETER for an id out of range or when out (cap bytes) is too small.
 */
int worker_detokenize(const CudaModel *model, const int32_t *tokens, size_t n_tokens,
                      char *out, size_t cap, size_t *needed);

/* ---- added by the server (engineer H): device facts for GET /health ---- */

/** Facts about a context's device. Zero-initialise, then set struct_size = sizeof. */
typedef struct WorkerDeviceInfo {
    uint32_t struct_size;
    int is_host;               /**< 1 on the reference host backend */
    int device;                /**< CUDA ordinal, -1 on host */
    const char *name;          /**< device name (owned by the context) */
    int sm_major, sm_minor;    /**< compute capability; 0 on host */
    int cuda_runtime_version;  /**< cudaRuntimeGetVersion(), e.g. 12040; 0 on host */
} WorkerDeviceInfo;

/** Fill info for ctx (reads what cuda_init recorded). 0, or CUDA_ERROR_INVALID_PARAMETER. */
int worker_device_info(const CudaContext *ctx, WorkerDeviceInfo *info);

#ifdef __cplusplus
}
#endif

#endif /* WORKER_EXT_H */
