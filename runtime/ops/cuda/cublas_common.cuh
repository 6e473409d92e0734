/*
 * cublas_common.cuh - what the cuBLAS users of the CUDA kernel set share (matmul_gemm.cu,
 * attention_gemm.cu): status names for error details, and binding the context's one shared
 * handle before each use.
 */
#ifndef WRK_OPS_CUBLAS_COMMON_CUH
#define WRK_OPS_CUBLAS_COMMON_CUH

#include <cublas_v2.h>

static inline const char *wrk_cublas_status_name(cublasStatus_t s)
{
    switch (s) {
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    default: return "cuBLAS error";
    }
}

/* The shared handle may have been left on another stream, math or pointer mode by anyone:
 * set all three before each product (cheap host-side calls). Default math: SGEMM stays fp32
 * (no TF32); alpha and beta are host values. */
static inline cublasStatus_t wrk_cublas_bind(cublasHandle_t h, cudaStream_t st)
{
    cublasStatus_t s = cublasSetStream(h, st);
    if (s == CUBLAS_STATUS_SUCCESS)
        s = cublasSetMathMode(h, CUBLAS_DEFAULT_MATH);
    if (s == CUBLAS_STATUS_SUCCESS)
        s = cublasSetPointerMode(h, CUBLAS_POINTER_MODE_HOST);
    return s;
}

#endif
