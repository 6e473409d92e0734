/*
 * ops_cudahost.c - see ops_cudahost.h.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include "core/wrk_error.h"
#include "ops/ops.h"
#include "ops_cudahost.h"

static void die_cuda(cudaError_t e, const char *what)
{
    fprintf(stderr, "%s: %s\n", what, cudaGetErrorString(e));
    exit(99); /* automake hard error */
}

static void th_log(const wp_host *host, int level, const char *fmt, ...)
{
    (void)host;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "[%d] ", level);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static int th_set_error(const wp_host *host, int code, const char *fmt, ...)
{
    (void)host;
    va_list ap;
    va_start(ap, fmt);
    int rc = wrk_verror(code, fmt, ap);
    va_end(ap);
    return rc;
}

static void *th_alloc(const wp_host *host, size_t bytes, int tag, const char *what)
{
    (void)host;
    (void)tag;
    void *p = NULL;
    if (cudaMalloc(&p, bytes) != cudaSuccess) {
        wrk_error(CUDA_ERROR_OUT_OF_MEMORY, "cudaMalloc of %zu bytes for %s failed", bytes, what);
        return NULL;
    }
    return p;
}

static void th_free(const wp_host *host, void *p)
{
    (void)host;
    cudaFree(p);
}

/* The scratch (ABI 1.1) as the runtime keeps it: one buffer, reused while big enough, else
 * replaced once the stream has drained. Sizes are exact (the runtime rounds up), so the
 * tests grow it often; a new buffer is filled with 0xff (f16 NaN) on the stream, so a
 * product reading a region it did not write shows up as NaN in y. */
typedef struct {
    void *p;
    size_t bytes;
    unsigned grows;
} th_scratch_state;

static void *th_scratch(const wp_host *host, size_t bytes)
{
    th_scratch_state *s = host->runtime;
    cudaStream_t st = (cudaStream_t)host->stream;
    cudaError_t e;
    if (bytes == 0)
        bytes = 1;
    if (s->p && s->bytes >= bytes)
        return s->p;
    if (s->p) {
        if ((e = cudaStreamSynchronize(st)) != cudaSuccess) {
            wrk_error(CUDA_ERROR_INFERENCE_FAILED, "test scratch: cudaStreamSynchronize: %s",
                      cudaGetErrorString(e));
            return NULL;
        }
        cudaFree(s->p);
        s->p = NULL;
        s->bytes = 0;
    }
    if ((e = cudaMalloc(&s->p, bytes)) != cudaSuccess) {
        cudaGetLastError();
        s->p = NULL;
        wrk_error(CUDA_ERROR_OUT_OF_MEMORY, "test scratch: cudaMalloc of %zu bytes: %s", bytes,
                  cudaGetErrorString(e));
        return NULL;
    }
    if ((e = cudaMemsetAsync(s->p, 0xff, bytes, st)) != cudaSuccess) {
        wrk_error(CUDA_ERROR_INFERENCE_FAILED, "test scratch: cudaMemsetAsync: %s",
                  cudaGetErrorString(e));
        return NULL; /* s->p stays for tu_cuda_host_fini */
    }
    s->bytes = bytes;
    s->grows++;
    return s->p;
}

unsigned tu_scratch_grows(const wp_host *host)
{
    const th_scratch_state *s = host->runtime;
    return s ? s->grows : 0;
}

void tu_scratch_release(wp_host *host)
{
    th_scratch_state *s = host->runtime;
    if (!s || !s->p)
        return;
    cudaError_t e = cudaStreamSynchronize((cudaStream_t)host->stream);
    if (e != cudaSuccess)
        die_cuda(e, "scratch release: cudaStreamSynchronize");
    cudaFree(s->p);
    s->p = NULL;
    s->bytes = 0;
}

int tu_cuda_host_init(wp_host *host)
{
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess || n == 0) {
        fprintf(stderr, "no CUDA device: skipped\n");
        return 77;
    }
    cudaStream_t st;
    cublasHandle_t cb;
    if (cudaSetDevice(0) != cudaSuccess || cudaStreamCreate(&st) != cudaSuccess) {
        fprintf(stderr, "cannot set up device 0\n");
        return 1;
    }
    if (cublasCreate(&cb) != CUBLAS_STATUS_SUCCESS) {
        fprintf(stderr, "cublasCreate failed\n");
        return 1;
    }
    th_scratch_state *scratch = calloc(1, sizeof *scratch);
    if (!scratch) {
        fprintf(stderr, "out of host memory\n");
        return 1;
    }
    *host = (wp_host){0};
    host->abi_major = WORKER_PLUGIN_ABI_MAJOR;
    host->abi_minor = WORKER_PLUGIN_ABI_MINOR;
    host->struct_size = sizeof(wp_host);
    host->backend = WP_BACKEND_CUDA;
    host->device = 0;
    host->stream = st;
    host->cublas = cb;
    host->runtime = scratch;
    host->log = th_log;
    host->set_error = th_set_error;
    host->alloc = th_alloc;
    host->free = th_free;
    host->ops = wrk_ops_cuda();
    host->scratch = th_scratch;
    return host->ops ? 0 : 1;
}

void tu_cuda_host_fini(wp_host *host)
{
    if (host->runtime) {
        tu_scratch_release(host);
        free(host->runtime);
        host->runtime = NULL;
    }
    if (host->cublas)
        cublasDestroy((cublasHandle_t)host->cublas);
    if (host->stream)
        cudaStreamDestroy((cudaStream_t)host->stream);
    host->cublas = host->stream = NULL;
    wrk_ops_cuda_release(0);   /* the readback pool, as a context's close does */
}

void *tu_dalloc(size_t bytes)
{
    void *p = NULL;
    cudaError_t e = cudaMalloc(&p, bytes ? bytes : 1);
    if (e != cudaSuccess)
        die_cuda(e, "cudaMalloc");
    return p;
}

void tu_dfree(void *p)
{
    cudaFree(p);
}

void tu_upload(void *dst, const void *src, size_t bytes)
{
    cudaError_t e = cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice);
    if (e != cudaSuccess)
        die_cuda(e, "upload");
}

void tu_download(void *dst, const void *src, size_t bytes)
{
    cudaError_t e = cudaDeviceSynchronize();
    if (e == cudaSuccess)
        e = cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost);
    if (e != cudaSuccess)
        die_cuda(e, "download");
}

void tu_upload_random(void *d, size_t bytes, uint64_t seed)
{
    uint64_t *h = malloc(bytes + 8);
    if (!h) {
        fprintf(stderr, "out of host memory\n");
        exit(99);
    }
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < bytes / 8 + 1; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        /* keep f16 exponents away from Inf/NaN so F16 rows stay finite (0x3bff mask) */
        h[i] = s & 0xbbffbbffbbffbbffull;
    }
    tu_upload(d, h, bytes);
    free(h);
}

void tu_poison(void *p, size_t bytes)
{
    cudaError_t e = cudaMemset(p, 0xff, bytes);
    if (e == cudaSuccess)
        e = cudaDeviceSynchronize();
    if (e != cudaSuccess)
        die_cuda(e, "poison");
}
