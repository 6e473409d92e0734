/*
 * cuda_common.cuh - shared by the CUDA kernel set: turning CUDA failures into CudaErrorCode
 * plus a wrk_error detail (never exit/abort), warp reductions, and half/bfloat conversions.
 */
#ifndef WRK_OPS_CUDA_COMMON_CUH
#define WRK_OPS_CUDA_COMMON_CUH

#include <cuda_runtime.h>
#include <cuda_fp16.h>
#include <stdint.h>

#include "core/wrk_error.h"
#include "worker_plugin.h"

/* Map a CUDA error to our code: allocation failures are OUT_OF_MEMORY, launch problems
 * KERNEL_LAUNCH_FAILED, everything else (asynchronous faults) INFERENCE_FAILED. */
static inline int wrk_cuda_code(cudaError_t e)
{
    switch (e) {
    case cudaErrorMemoryAllocation: return CUDA_ERROR_OUT_OF_MEMORY;
    case cudaErrorInvalidConfiguration:
    case cudaErrorLaunchOutOfResources:
    case cudaErrorInvalidDeviceFunction:
    case cudaErrorNoKernelImageForDevice:
    case cudaErrorInvalidValue: return CUDA_ERROR_KERNEL_LAUNCH_FAILED;
    default: return CUDA_ERROR_INFERENCE_FAILED;
    }
}

/* 0 when e is cudaSuccess, else the mapped code with "what: <cuda message>" as detail. */
static inline int wrk_cuda_check(cudaError_t e, const char *what)
{
    if (e == cudaSuccess)
        return 0;
    return wrk_error(wrk_cuda_code(e), "%s: %s (%s)", what, cudaGetErrorString(e),
                     cudaGetErrorName(e));
}

/* After every launch: configuration errors appear here synchronously. */
static inline int wrk_cuda_launch_check(const char *what)
{
    cudaError_t e = cudaGetLastError();
    if (e == cudaSuccess)
        return 0;
    return wrk_error(CUDA_ERROR_KERNEL_LAUNCH_FAILED, "%s: kernel launch failed: %s (%s)", what,
                     cudaGetErrorString(e), cudaGetErrorName(e));
}

static inline cudaStream_t wrk_stream(const wp_host *host)
{
    return host ? (cudaStream_t)host->stream : (cudaStream_t)0;
}

/* Sum over the 32 lanes; every lane gets the result. */
__device__ __forceinline__ float warp_sum(float v)
{
#pragma unroll
    for (int o = 16; o > 0; o >>= 1)
        v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float warp_max(float v)
{
#pragma unroll
    for (int o = 16; o > 0; o >>= 1)
        v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

__device__ __forceinline__ float f16_bits_to_f32(uint32_t h)
{
    return __half2float(__ushort_as_half((unsigned short)h));
}

/* bf16 is the upper half of an f32: exact by a shift. */
__device__ __forceinline__ float bf16_bits_to_f32(uint32_t h)
{
    return __uint_as_float(h << 16);
}

#endif
