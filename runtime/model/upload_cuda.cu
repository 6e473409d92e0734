/*
 * upload_cuda.cu - weight upload into device memory through pinned staging buffers.
 *
 * A GGUF tensor lives in a read-only mmap of the file. Copying from pageable memory with
 * cudaMemcpy makes the driver stage it through its own small pinned buffer, serially. Here
 * two large pinned buffers alternate: while the DMA engine copies buffer A to the device
 * (cudaMemcpyAsync on the context's stream), the CPU reads the next chunk of the mapping
 * (page faults, page cache) into buffer B. An event per buffer says when it is free again.
 *
 * Build/test: part of libwrk (HAVE_CUDA); exercised by tests/plugin/check_model on a GPU.
 */
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include <cuda_runtime.h>

#include "core/wrk_error.h"
#include "model/model_internal.h"

struct wrk_uploader {
    cudaStream_t stream;
    uint64_t chunk;
    void *pinned[2];
    cudaEvent_t done[2];
    int next;          /* buffer the next chunk goes into */
    int pinned_ok;     /* 0: fall back to synchronous cudaMemcpy */
};

// ----------------------------------------------------------------------------------------
// helpers

static int cuda_fail(cudaError_t e, const char *what)
{
    return wrk_error(e == cudaErrorMemoryAllocation ? CUDA_ERROR_OUT_OF_MEMORY
                                                    : CUDA_ERROR_MODEL_LOAD_FAILED,
                     "weight upload: %s: %s (%s)", what, cudaGetErrorString(e),
                     cudaGetErrorName(e));
}

static void release(wrk_uploader *u)
{
    for (int i = 0; i < 2; i++) {
        if (u->done[i]) cudaEventDestroy(u->done[i]);
        if (u->pinned[i]) cudaFreeHost(u->pinned[i]);
    }
    free(u);
}

// ----------------------------------------------------------------------------------------
// entry points

extern "C" int wrk_upload_cuda_begin(void *stream, uint64_t chunk, wrk_uploader **out)
{
    wrk_uploader *u;
    if (!out) return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "weight upload: out is NULL");
    *out = NULL;
    if (chunk < 4096) chunk = 4096;
    u = (wrk_uploader *)calloc(1, sizeof *u);
    if (!u) return wrk_error(CUDA_ERROR_OUT_OF_MEMORY, "weight upload: out of host memory");
    u->stream = (cudaStream_t)stream;
    u->chunk = chunk;
    u->pinned_ok = 1;
    for (int i = 0; i < 2 && u->pinned_ok; i++) {
        if (cudaHostAlloc(&u->pinned[i], chunk, cudaHostAllocDefault) != cudaSuccess ||
            cudaEventCreateWithFlags(&u->done[i], cudaEventDisableTiming) != cudaSuccess) {
            u->pinned_ok = 0;
        }
    }
    if (!u->pinned_ok) {
        /* Not fatal: pinned memory can be limited (containers, ulimit -l). Clear the
         * sticky-free error state and copy synchronously instead. */
        cudaGetLastError();
        for (int i = 0; i < 2; i++) {
            if (u->done[i]) cudaEventDestroy(u->done[i]);
            if (u->pinned[i]) cudaFreeHost(u->pinned[i]);
            u->done[i] = NULL;
            u->pinned[i] = NULL;
        }
    }
    *out = u;
    return 0;
}

extern "C" int wrk_upload_cuda(wrk_uploader *u, void *dst, const void *src, uint64_t n)
{
    cudaError_t e;
    if (!u || (!dst && n) || (!src && n))
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "weight upload: NULL argument");
    if (!u->pinned_ok) {
        e = cudaMemcpy(dst, src, n, cudaMemcpyHostToDevice);
        return e == cudaSuccess ? 0 : cuda_fail(e, "cudaMemcpy");
    }
    for (uint64_t off = 0; off < n;) {
        uint64_t len = n - off < u->chunk ? n - off : u->chunk;
        int b = u->next;
        /* The buffer is free once the copy queued from it last time has completed. */
        if ((e = cudaEventSynchronize(u->done[b])) != cudaSuccess)
            return cuda_fail(e, "cudaEventSynchronize");
        memcpy(u->pinned[b], (const char *)src + off, len);
        e = cudaMemcpyAsync((char *)dst + off, u->pinned[b], len, cudaMemcpyHostToDevice,
                            u->stream);
        if (e != cudaSuccess) return cuda_fail(e, "cudaMemcpyAsync");
        if ((e = cudaEventRecord(u->done[b], u->stream)) != cudaSuccess)
            return cuda_fail(e, "cudaEventRecord");
        u->next ^= 1;
        off += len;
    }
    return 0;
}

extern "C" int wrk_upload_cuda_end(wrk_uploader *u)
{
    int rc = 0;
    cudaError_t e;
    if (!u) return 0;
    if ((e = cudaStreamSynchronize(u->stream)) != cudaSuccess)
        rc = cuda_fail(e, "cudaStreamSynchronize");
    release(u);
    return rc;
}

extern "C" int wrk_ptr_is_device(const void *ptr)
{
    cudaPointerAttributes a;
    cudaError_t e = cudaPointerGetAttributes(&a, ptr);
    if (e != cudaSuccess) {
        cudaGetLastError();   /* not sticky; do not let it leak into the next call */
        wrk_error(CUDA_ERROR_VRAM_RESIDENCY_FAILED, "%p: cudaPointerGetAttributes: %s", ptr,
                  cudaGetErrorString(e));
        return 0;
    }
    if (a.type != cudaMemoryTypeDevice) {
        wrk_error(CUDA_ERROR_VRAM_RESIDENCY_FAILED, "%p is %s memory, not device memory", ptr,
                  a.type == cudaMemoryTypeHost      ? "pinned host"
                  : a.type == cudaMemoryTypeManaged ? "managed"
                                                    : "unregistered host");
        return 0;
    }
    return 1;
}
