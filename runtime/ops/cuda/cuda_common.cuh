/*
 * cuda_common.cuh - shared by the CUDA kernel set: turning CUDA failures into CudaErrorCode
 * plus a wrk_error detail (never exit/abort), warp reductions, and half/bfloat conversions.
 */
#ifndef WRK_OPS_CUDA_COMMON_CUH
#define WRK_OPS_CUDA_COMMON_CUH

#include <cuda_runtime.h>
#include <cuda_fp16.h>
#include <stddef.h>
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

/* An attribute of the current device (a worker drives one GPU), or 0 when it cannot be
 * read (the error is cleared). Callers that decide once per process cache the answer. */
static inline int wrk_cuda_device_attr(cudaDeviceAttr attr)
{
    int dev = 0, v = 0;
    if (cudaGetDevice(&dev) != cudaSuccess || cudaDeviceGetAttribute(&v, attr, dev) != cudaSuccess)
        v = 0;
    (void)cudaGetLastError();
    return v;
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

/* Programmatic dependent launch (sm_90; issue 8): a kernel started by wrk_launch may begin
 * while the kernel before it in the stream is still running, so a decode step's ~130 small
 * kernels overlap their launch and their first memory requests with their predecessor's
 * tail. Such a kernel calls wrk_pdl_wait() before it touches any memory an earlier kernel
 * writes or reads (the wait returns once the predecessor has completed and its writes are
 * visible); loads of immutable data (weights) may come before it. wrk_pdl_trigger() lets
 * the next kernel be scheduled early. Both are no-ops without the launch attribute and on
 * older GPUs. */
__device__ __forceinline__ void wrk_pdl_wait()
{
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}

__device__ __forceinline__ void wrk_pdl_trigger()
{
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}

/** 1 when kernels are launched with the programmatic-serialization attribute: a device of
 *  compute capability >= 9 and WORKER_CUDA_PDL not "0" (graph.cu). */
extern "C" int wrk_pdl_enabled(void);

/* Launch kernel<<<grid, block, smem, st>>>(args...) in thread block clusters of `cluster`
 * blocks (sm_90; a cluster of one block is a plain launch), with programmatic dependent
 * launch when enabled; every kernel launched through here calls wrk_pdl_wait() as described
 * above. A caller asking for clusters checks wrk_cuda_clusters_ok first. */
template <typename... KArgs, typename... Args>
static inline void wrk_launch_cluster(void (*kernel)(KArgs...), dim3 grid, dim3 block,
                                      size_t smem, dim3 cluster, cudaStream_t st, Args... args)
{
    cudaLaunchConfig_t cfg = {};
    cudaLaunchAttribute attr[2];
    unsigned n = 0;
    cfg.gridDim = grid;
    cfg.blockDim = block;
    cfg.dynamicSmemBytes = smem;
    cfg.stream = st;
    if (cluster.x * cluster.y * cluster.z > 1) {
        attr[n].id = cudaLaunchAttributeClusterDimension;
        attr[n].val.clusterDim.x = cluster.x;
        attr[n].val.clusterDim.y = cluster.y;
        attr[n].val.clusterDim.z = cluster.z;
        n++;
    }
    if (wrk_pdl_enabled()) {
        attr[n].id = cudaLaunchAttributeProgrammaticStreamSerialization;
        attr[n].val.programmaticStreamSerializationAllowed = 1;
        n++;
    }
    cfg.attrs = attr;
    cfg.numAttrs = n;
    (void)cudaLaunchKernelEx(&cfg, kernel, ((KArgs)args)...);
}

/* The same without clusters. */
template <typename... KArgs, typename... Args>
static inline void wrk_launch_smem(void (*kernel)(KArgs...), dim3 grid, dim3 block, size_t smem,
                                   cudaStream_t st, Args... args)
{
    wrk_launch_cluster(kernel, grid, block, smem, dim3(1), st, args...);
}

/* 1 when kernel may be launched in clusters: a device of compute capability >= 9 and sm_90
 * code for the kernel in this build (its binary version). Callers decide once and keep the
 * answer (the build's architectures are the same for every kernel of a file). */
static inline bool wrk_cuda_clusters_ok(const void *kernel)
{
    cudaFuncAttributes fa;
    const bool ok = wrk_cuda_device_attr(cudaDevAttrComputeCapabilityMajor) >= 9 &&
                    cudaFuncGetAttributes(&fa, kernel) == cudaSuccess && fa.binaryVersion >= 90;
    (void)cudaGetLastError();
    return ok;
}

/* The same without dynamic shared memory. */
template <typename... KArgs, typename... Args>
static inline void wrk_launch(void (*kernel)(KArgs...), dim3 grid, dim3 block, cudaStream_t st,
                              Args... args)
{
    wrk_launch_smem(kernel, grid, block, 0, st, args...);
}

/* 1 when the host table has a scratch member (ABI 1.1) and fills it; a 1.0 table ends
 * before the member, so the size is checked first. */
static inline bool wrk_host_has_scratch(const wp_host *host)
{
    return WP_STRUCT_HAS(host, wp_host, scratch) && host->scratch != NULL;
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

/* v = hi + lo in f16 to ~22 bits (hi = f16(v), lo = f16 of the rest), so tensor-core
 * products over hi and lo parts with fp32 accumulation give about fp32 accuracy. |v| beyond
 * the f16 range (65504) overflows. */
__device__ __forceinline__ void wrk_split_f16(float v, __half &hi, __half &lo)
{
    hi = __float2half_rn(v);
    lo = __float2half_rn(v - __half2float(hi));
}

#endif
