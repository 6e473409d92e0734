/*
 * worker_errors.h - error codes of the worker FFI (LOCKED, FFI v1.0).
 *
 * Every fallible FFI function reports one of these through its int *error_code
 * out-parameter (0 = success). The values are stable API: never renumber, only append.
 * worker_last_error_detail() (worker_ext.h) gives the detail of the calling thread's
 * last failure; cuda_error_message() gives the static text of a code.
 */
#ifndef WORKER_ERRORS_H
#define WORKER_ERRORS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    CUDA_SUCCESS = 0,                     /**< Operation succeeded */
    CUDA_ERROR_INVALID_DEVICE = 1,        /**< Invalid GPU device ID */
    CUDA_ERROR_OUT_OF_MEMORY = 2,         /**< Insufficient VRAM */
    CUDA_ERROR_MODEL_LOAD_FAILED = 3,     /**< Model loading failed */
    CUDA_ERROR_INFERENCE_FAILED = 4,      /**< Inference execution failed */
    CUDA_ERROR_INVALID_PARAMETER = 5,     /**< Invalid function parameter */
    CUDA_ERROR_KERNEL_LAUNCH_FAILED = 6,  /**< CUDA kernel launch failed */
    CUDA_ERROR_VRAM_RESIDENCY_FAILED = 7, /**< VRAM residency check failed */
    CUDA_ERROR_DEVICE_NOT_FOUND = 8,      /**< No CUDA devices found */
    CUDA_ERROR_UNKNOWN = 99               /**< Unknown error */
} CudaErrorCode;

/**
 * Get human-readable error message for error code.
 *
 * @param error_code Error code from any FFI function (any int is accepted)
 * @return Null-terminated message in static storage; never NULL, never to be freed.
 *         Codes outside the enum give "Unrecognized error code".
 */
const char* cuda_error_message(int error_code);

#ifdef __cplusplus
}
#endif

#endif /* WORKER_ERRORS_H */
