/*
 * worker_ffi.h - the worker's C API (LOCKED, FFI v1.0, spec M0-W-1052, CUDA-4030).
 *
 * Fourteen functions: context management (3), model loading (3), inference (3), health and
 * monitoring (4) and error handling (1, in worker_errors.h). The signatures are locked; the
 * additive extensions live in worker_ext.h.
 *
 * Rules at this boundary: C linkage; no exceptions, aborts or exits cross it; errors come back
 * through int *error_code (0 = success; the out-parameter itself may be NULL); every pointer
 * argument may be NULL and is handled; strings are NUL-terminated UTF-8; each handle is used by
 * one thread at a time; the caller releases each handle with its free function.
 */
#ifndef WORKER_FFI_H
#define WORKER_FFI_H

#include <stdint.h>
#include <stdbool.h>

#include "worker_types.h"
#include "worker_errors.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ========================================================================================
 * Context Management
 * ======================================================================================== */

/**
 * Initialize CUDA context for specified GPU device.
 * Same as worker_init("cuda:N"): selects the device, sets the device malloc heap to 0,
 * prefers L1 cache, creates the context's stream and cuBLAS handle.
 *
 * @param gpu_device GPU device ID (0, 1, 2, ...)
 * @param error_code Output parameter for error code
 * @return Opaque context handle, or NULL on failure
 *
 * Error codes:
 *   CUDA_ERROR_DEVICE_NOT_FOUND - No CUDA device (or no driver) on this machine
 *   CUDA_ERROR_INVALID_DEVICE - Invalid device ID
 *   CUDA_ERROR_UNKNOWN - CUDA initialization failed
 */
CudaContext* cuda_init(int gpu_device, int* error_code);

/**
 * Destroy CUDA context and free all resources.
 * A model still loaded on the context is unloaded first. NULL is ignored.
 *
 * @param ctx Context handle from cuda_init
 */
void cuda_destroy(CudaContext* ctx);

/**
 * Get number of available CUDA devices.
 *
 * @return Number of CUDA devices, or 0 on error (no driver, no device)
 */
int cuda_get_device_count(void);

/* ========================================================================================
 * Model Loading
 * ======================================================================================== */

/**
 * Load model from GGUF file to VRAM.
 * The architecture plugin is chosen by the file's general.architecture. One model per
 * context: a second load on a context that holds one is refused.
 *
 * @param ctx Context handle
 * @param model_path Absolute path to .gguf file (null-terminated)
 * @param vram_bytes_used Output parameter for VRAM bytes allocated
 * @param error_code Output parameter for error code
 * @return Opaque model handle, or NULL on failure
 *
 * Error codes:
 *   CUDA_ERROR_MODEL_LOAD_FAILED - File not found or invalid format
 *   CUDA_ERROR_OUT_OF_MEMORY - Insufficient VRAM
 *   CUDA_ERROR_INVALID_PARAMETER - Invalid model_path, or the context already holds a model
 */
CudaModel* cuda_load_model(
    CudaContext* ctx,
    const char* model_path,
    uint64_t* vram_bytes_used,
    int* error_code
);

/**
 * Unload model and free VRAM.
 * Every byte the model took returns to the device. NULL is ignored.
 *
 * @param model Model handle from cuda_load_model
 */
void cuda_unload_model(CudaModel* model);

/**
 * Get current VRAM usage for model.
 *
 * @param model Model handle
 * @return VRAM bytes used, or 0 if model is NULL
 */
uint64_t cuda_model_get_vram_usage(CudaModel* model);

/* ========================================================================================
 * Inference Execution
 * ======================================================================================== */

/**
 * Start inference job with given prompt and parameters.
 * Tokenizes the prompt, allocates the KV cache and runs the prefill.
 *
 * @param model Model handle
 * @param prompt Input prompt (null-terminated UTF-8, non-empty)
 * @param max_tokens Maximum tokens to generate (>= 1)
 * @param temperature Sampling temperature (0.0-2.0; 0 is greedy)
 * @param seed Random seed for reproducibility
 * @param error_code Output parameter for error code
 * @return Opaque inference result handle, or NULL on failure
 *
 * Error codes:
 *   CUDA_ERROR_OUT_OF_MEMORY - Insufficient VRAM for KV cache
 *   CUDA_ERROR_INVALID_PARAMETER - Invalid parameters
 *   CUDA_ERROR_INFERENCE_FAILED - Inference initialization failed
 */
InferenceResult* cuda_inference_start(
    CudaModel* model,
    const char* prompt,
    int max_tokens,
    float temperature,
    uint64_t seed,
    int* error_code
);

/**
 * Generate next token in inference sequence.
 * Writes one NUL-terminated piece of text made of whole UTF-8 characters. A piece that does
 * not fit is kept for the next call and CUDA_ERROR_INVALID_PARAMETER is returned; the detail
 * (worker_last_error_detail) names the size needed.
 *
 * @param result Inference result handle
 * @param token_out Output buffer for token text (UTF-8)
 * @param token_buffer_size Size of token_out buffer
 * @param token_index Output parameter for token index
 * @param error_code Output parameter for error code
 * @return true if token generated, false if sequence complete or error
 *
 * Error codes:
 *   CUDA_ERROR_INFERENCE_FAILED - Kernel execution failed
 *   CUDA_ERROR_OUT_OF_MEMORY - VRAM exhausted during generation
 *   CUDA_ERROR_INVALID_PARAMETER - NULL arguments or a buffer too small for the piece
 */
bool cuda_inference_next_token(
    InferenceResult* result,
    char* token_out,
    int token_buffer_size,
    int* token_index,
    int* error_code
);

/**
 * Free inference result and associated resources (KV cache, scratch). NULL is ignored.
 *
 * @param result Inference result handle
 */
void cuda_inference_free(InferenceResult* result);

/* ========================================================================================
 * Health & Monitoring
 * ======================================================================================== */

/**
 * Check VRAM residency for model weights.
 * Every tracked allocation must be device memory (never host or managed) and the
 * accountant's totals must match the allocations.
 *
 * @param model Model handle
 * @param error_code Output parameter for error code
 * @return true if all weights resident in VRAM, false otherwise
 *
 * Error codes:
 *   CUDA_ERROR_VRAM_RESIDENCY_FAILED - an allocation is not device memory, or totals differ
 *   CUDA_ERROR_INVALID_PARAMETER - model is NULL
 */
bool cuda_check_vram_residency(CudaModel* model, int* error_code);

/**
 * Get current VRAM usage for model.
 *
 * @param model Model handle
 * @return VRAM bytes used (weights), 0 if model is NULL
 */
uint64_t cuda_get_vram_usage(CudaModel* model);

/**
 * Get process-wide VRAM usage.
 *
 * @param ctx Context handle
 * @return Total VRAM bytes used by this process through the context's accountant
 *         (weights, KV caches, scratch); 0 if ctx is NULL
 */
uint64_t cuda_get_process_vram_usage(CudaContext* ctx);

/**
 * Check CUDA device health.
 * Probes for pending and sticky device errors and queries free memory.
 *
 * @param ctx Context handle
 * @param error_code Output parameter for error code
 * @return true if device is healthy, false otherwise
 */
bool cuda_check_device_health(CudaContext* ctx, int* error_code);

/* cuda_error_message() - the fourteenth function - is declared in worker_errors.h. */

#ifdef __cplusplus
}
#endif

#endif /* WORKER_FFI_H */
