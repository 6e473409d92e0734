/*
 * ffi_info.c - the static facts of the public API: error texts, versions, and the
 * thread-local error detail.
 */
#include "config.h"
#include "core/wrk_api.h"
#include "core/wrk_error.h"
#include "worker_ext.h"

/* One entry per CudaErrorCode, the texts of FFI_INTERFACE_LOCKED.md; they are API (callers
 * show them), keep them stable. */
static const char *const error_texts[] = {
    [CUDA_SUCCESS] = "Operation succeeded",
    [CUDA_ERROR_INVALID_DEVICE] = "Invalid GPU device ID",
    [CUDA_ERROR_OUT_OF_MEMORY] = "Insufficient VRAM",
    [CUDA_ERROR_MODEL_LOAD_FAILED] = "Model loading failed",
    [CUDA_ERROR_INFERENCE_FAILED] = "Inference execution failed",
    [CUDA_ERROR_INVALID_PARAMETER] = "Invalid function parameter",
    [CUDA_ERROR_KERNEL_LAUNCH_FAILED] = "CUDA kernel launch failed",
    [CUDA_ERROR_VRAM_RESIDENCY_FAILED] = "VRAM residency check failed",
    [CUDA_ERROR_DEVICE_NOT_FOUND] = "No CUDA devices found",
};

WRK_API const char *cuda_error_message(int error_code)
{
    if (error_code == CUDA_ERROR_UNKNOWN) return "Unknown error";
    if (error_code >= 0 && error_code < (int)(sizeof error_texts / sizeof error_texts[0]) &&
        error_texts[error_code])
        return error_texts[error_code];
    return "Unrecognized error code";
}

WRK_API uint32_t worker_abi_version(void)
{
    return ((uint32_t)WORKER_ABI_VERSION_MAJOR << 16) | (uint32_t)WORKER_ABI_VERSION_MINOR;
}

WRK_API const char *worker_version_string(void)
{
    return PACKAGE_VERSION;
}

/* Not cleared at entry: reading the detail must not erase it. */
WRK_API const char *worker_last_error_detail(void)
{
    return wrk_error_detail();
}
