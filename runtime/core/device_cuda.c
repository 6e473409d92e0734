/*
 * device_cuda.c - the device layer of wrk_context.h on CUDA, and the dispatch to the host
 * backend (device_host.c) for contexts opened with "host".
 *
 * Plain C against the CUDA runtime API and cuBLAS (no kernels here). Built without CUDA,
 * the CUDA half reports CUDA_ERROR_DEVICE_NOT_FOUND and the device count is 0.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#ifdef HAVE_CUDA
#include <cuda_runtime_api.h>
#include <cublas_v2.h>
#endif

#include "core/device_host.h"
#include "core/wrk_context.h"
#include "core/wrk_error.h"
#include "core/wrk_log.h"
#include "ops/ops.h"

#define NO_DEVICE_HINT "; use --device host (device = host in the ini) for the slow " \
                       "reference backend"

#ifdef HAVE_CUDA
/* Record a failed CUDA call as code with the call's name and the CUDA error text. */
static int cuda_fail(int code, const char *call, cudaError_t e)
{
    return wrk_error(code, "%s failed: %s (%s)", call, cudaGetErrorString(e),
                     cudaGetErrorName(e));
}
#endif

int wrk_device_count(void)
{
#ifdef HAVE_CUDA
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        cudaGetLastError();   /* no driver / no device: not an error worth keeping */
        return 0;
    }
    return n < 0 ? 0 : n;
#else
    return 0;
#endif
}

#ifdef HAVE_CUDA
/* Log what we opened: name, compute capability, memory, versions. */
static void log_properties(CudaContext *ctx, const struct cudaDeviceProp *p)
{
    int driver = 0;
    cudaDriverGetVersion(&driver);
    wrk_log(WRK_LOG_INFO, "device",
            "cuda:%d %s, sm_%d%d, %d SMs, %.1f GiB, ECC %s, driver %d.%d, runtime %d.%d",
            ctx->device, p->name, p->major, p->minor, p->multiProcessorCount,
            (double)p->totalGlobalMem / (1024.0 * 1024.0 * 1024.0), p->ECCEnabled ? "on" : "off",
            driver / 1000, (driver % 1000) / 10, ctx->cuda_runtime_version / 1000,
            (ctx->cuda_runtime_version % 1000) / 10);
}

/* Open the CUDA device: the M0-W-1010 settings, a stream, a cuBLAS handle on it. */
static int cuda_device_open(CudaContext *ctx, int device)
{
    struct cudaDeviceProp prop;
    cudaStream_t stream = NULL;
    cublasHandle_t blas = NULL;
    cublasStatus_t bs;
    cudaError_t e;
    size_t heap = 1;
    int n = 0, rc;

    e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess || n <= 0) {
        cudaGetLastError();
        if (e != cudaSuccess)
            return wrk_error(CUDA_ERROR_DEVICE_NOT_FOUND,
                            "no CUDA device found (cudaGetDeviceCount: %s)" NO_DEVICE_HINT,
                            cudaGetErrorString(e));
        return wrk_error(CUDA_ERROR_DEVICE_NOT_FOUND, "no CUDA device found" NO_DEVICE_HINT);
    }
    if (device < 0 || device >= n)
        return wrk_error(CUDA_ERROR_INVALID_DEVICE,
                         "invalid device cuda:%d: this machine has %d CUDA device%s (0..%d)",
                         device, n, n == 1 ? "" : "s", n - 1);

    if ((e = cudaSetDevice(device)) != cudaSuccess)
        return cuda_fail(CUDA_ERROR_UNKNOWN, "cudaSetDevice", e);
    if ((e = cudaGetDeviceProperties(&prop, device)) != cudaSuccess)
        return cuda_fail(CUDA_ERROR_UNKNOWN, "cudaGetDeviceProperties", e);
    /* No device-side malloc heap: every byte must come through the accountant (M0-W-1010). */
    /* A second context in the same process may find the limit already fixed at 0 (CUDA
     * refuses changes once device code ran): that is the state we want, so accept it. */
    e = cudaDeviceSetLimit(cudaLimitMallocHeapSize, 0);
    if (e != cudaSuccess) cudaGetLastError();
    if (cudaDeviceGetLimit(&heap, cudaLimitMallocHeapSize) != cudaSuccess) {
        cudaGetLastError();
        heap = 1;
    }
    /* M0-W-1010 asks for no device-side malloc heap. The driver clamps the request to its
     * minimum (4 MiB seen on an H100 with driver 580), so a non-zero read-back is logged,
     * not fatal; only a failing call is an error. */
    if (e != cudaSuccess)
        return cuda_fail(CUDA_ERROR_UNKNOWN, "cudaDeviceSetLimit(cudaLimitMallocHeapSize, 0)", e);
    if (heap != 0)
        wrk_log(WRK_LOG_INFO, "device", "device malloc heap set to the driver minimum: %zu bytes",
                heap);
    /* Some devices do not support a cache preference; that is not fatal. */
    if ((e = cudaDeviceSetCacheConfig(cudaFuncCachePreferL1)) != cudaSuccess) {
        cudaGetLastError();
        wrk_log(WRK_LOG_WARN, "device", "cudaDeviceSetCacheConfig(PreferL1) not applied: %s",
                cudaGetErrorString(e));
    }
    if ((e = cudaStreamCreate(&stream)) != cudaSuccess)
        return cuda_fail(CUDA_ERROR_UNKNOWN, "cudaStreamCreate", e);
    bs = cublasCreate(&blas);
    if (bs != CUBLAS_STATUS_SUCCESS) {
        rc = wrk_error(bs == CUBLAS_STATUS_ALLOC_FAILED ? CUDA_ERROR_OUT_OF_MEMORY
                                                        : CUDA_ERROR_UNKNOWN,
                       "cublasCreate failed: status %d", (int)bs);
        cudaStreamDestroy(stream);
        return rc;
    }
    bs = cublasSetStream(blas, stream);
    if (bs != CUBLAS_STATUS_SUCCESS) {
        rc = wrk_error(CUDA_ERROR_UNKNOWN, "cublasSetStream failed: status %d", (int)bs);
        cublasDestroy(blas);
        cudaStreamDestroy(stream);
        return rc;
    }

    ctx->backend = WP_BACKEND_CUDA;
    ctx->device = device;
    ctx->stream = stream;
    ctx->cublas = blas;
    snprintf(ctx->device_name, sizeof ctx->device_name, "%s", prop.name);
    ctx->sm_major = prop.major;
    ctx->sm_minor = prop.minor;
    cudaRuntimeGetVersion(&ctx->cuda_runtime_version);
    log_properties(ctx, &prop);
    return CUDA_SUCCESS;
}
#endif

int wrk_device_open(CudaContext *ctx, int device)
{
    if (!ctx) return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "device open: no context");
    if (ctx->backend == WP_BACKEND_HOST) return wrk_host_device_open(ctx);
#ifdef HAVE_CUDA
    return cuda_device_open(ctx, device);
#else
    (void)device;
    return wrk_error(CUDA_ERROR_DEVICE_NOT_FOUND,
                     "no CUDA device: this build has no CUDA support" NO_DEVICE_HINT);
#endif
}

void wrk_device_close(CudaContext *ctx)
{
    if (!ctx) return;
    if (ctx->backend == WP_BACKEND_HOST) {
        wrk_host_device_close(ctx);
        return;
    }
#ifdef HAVE_CUDA
    if (ctx->device >= 0) cudaSetDevice(ctx->device);
    if (ctx->stream) {
        cudaError_t e = cudaStreamSynchronize((cudaStream_t)ctx->stream);
        if (e != cudaSuccess)
            wrk_log(WRK_LOG_WARN, "device", "stream synchronize at close: %s",
                    cudaGetErrorString(e));
    }
    if (ctx->cublas) cublasDestroy((cublasHandle_t)ctx->cublas);
    if (ctx->stream) cudaStreamDestroy((cudaStream_t)ctx->stream);
    /* the kernel library's readback slots of this device (its plugins finished theirs) */
    if (ctx->device >= 0) wrk_ops_cuda_release(ctx->device);
    cudaGetLastError();
#endif
    ctx->cublas = NULL;
    ctx->stream = NULL;
}

int wrk_device_health(CudaContext *ctx)
{
    if (!ctx) return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "health: no context");
    if (ctx->backend == WP_BACKEND_HOST) return wrk_host_device_health(ctx);
#ifdef HAVE_CUDA
    {
        cudaError_t e;
        size_t f = 0, t = 0;
        if ((e = cudaSetDevice(ctx->device)) != cudaSuccess)
            return cuda_fail(CUDA_ERROR_UNKNOWN, "health: cudaSetDevice", e);
        /* A pending error from an earlier launch (cleared by reading it). */
        if ((e = cudaGetLastError()) != cudaSuccess)
            return cuda_fail(CUDA_ERROR_KERNEL_LAUNCH_FAILED, "health: pending error; "
                             "cudaGetLastError", e);
        /* Sticky errors (illegal address, ECC/Xid faults) surface on a synchronize and stay. */
        if ((e = cudaDeviceSynchronize()) != cudaSuccess)
            return cuda_fail(CUDA_ERROR_UNKNOWN, "health: cudaDeviceSynchronize", e);
        if ((e = cudaMemGetInfo(&f, &t)) != cudaSuccess)
            return cuda_fail(CUDA_ERROR_UNKNOWN, "health: cudaMemGetInfo", e);
        wrk_log(WRK_LOG_DEBUG, "device", "health ok: %zu of %zu bytes free", f, t);
        return CUDA_SUCCESS;
    }
#else
    return wrk_error(CUDA_ERROR_DEVICE_NOT_FOUND, "health: this build has no CUDA support");
#endif
}

int wrk_device_mem_info(CudaContext *ctx, uint64_t *free_b, uint64_t *total_b)
{
    if (!ctx) return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "memory info: no context");
    if (ctx->backend == WP_BACKEND_HOST) return wrk_host_device_mem_info(ctx, free_b, total_b);
#ifdef HAVE_CUDA
    {
        size_t f = 0, t = 0;
        cudaError_t e;
        if ((e = cudaSetDevice(ctx->device)) != cudaSuccess)
            return cuda_fail(CUDA_ERROR_UNKNOWN, "memory info: cudaSetDevice", e);
        if ((e = cudaMemGetInfo(&f, &t)) != cudaSuccess)
            return cuda_fail(CUDA_ERROR_UNKNOWN, "memory info: cudaMemGetInfo", e);
        if (free_b) *free_b = f;
        if (total_b) *total_b = t;
        return CUDA_SUCCESS;
    }
#else
    return wrk_error(CUDA_ERROR_DEVICE_NOT_FOUND, "memory info: this build has no CUDA support");
#endif
}

/* Page-locked when the driver gives it, else pageable (and said so at debug level). */
void *wrk_pinned_buffer_alloc(size_t bytes, int *pinned)
{
    *pinned = 0;
#ifdef HAVE_CUDA
    void *p = NULL;
    if (cudaMallocHost(&p, bytes ? bytes : 1) == cudaSuccess) {
        *pinned = 1;
        return p;
    }
    (void)cudaGetLastError();
    wrk_log(WRK_LOG_DEBUG, "device", "pinned host buffer of %zu bytes refused: pageable",
            bytes);
#endif
    return malloc(bytes ? bytes : 1);
}

/* Page-locked on CUDA, so the per-token logits copy is one DMA at full PCIe speed instead
 * of a staged copy; plain malloc on the host backend, or when pinned memory is refused. */
void *wrk_host_buffer_alloc(CudaContext *ctx, size_t bytes, int *pinned)
{
    *pinned = 0;
#ifdef HAVE_CUDA
    if (ctx && ctx->backend == WP_BACKEND_CUDA) {
        if (cudaSetDevice(ctx->device) == cudaSuccess)
            return wrk_pinned_buffer_alloc(bytes, pinned);
        (void)cudaGetLastError();
        wrk_log(WRK_LOG_DEBUG, "device", "pinned host buffer of %zu bytes refused: pageable",
                bytes);
    }
#else
    (void)ctx;
#endif
    return malloc(bytes ? bytes : 1);
}

void wrk_host_buffer_free(void *p, int pinned)
{
#ifdef HAVE_CUDA
    if (pinned) {
        cudaFreeHost(p);
        return;
    }
#else
    (void)pinned;
#endif
    free(p);
}
