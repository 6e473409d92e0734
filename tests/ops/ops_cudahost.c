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
    *host = (wp_host){0};
    host->abi_major = WORKER_PLUGIN_ABI_MAJOR;
    host->abi_minor = WORKER_PLUGIN_ABI_MINOR;
    host->struct_size = sizeof(wp_host);
    host->backend = WP_BACKEND_CUDA;
    host->device = 0;
    host->stream = st;
    host->cublas = cb;
    host->log = th_log;
    host->set_error = th_set_error;
    host->alloc = th_alloc;
    host->free = th_free;
    host->ops = wrk_ops_cuda();
    return host->ops ? 0 : 1;
}

void tu_cuda_host_fini(wp_host *host)
{
    if (host->cublas)
        cublasDestroy((cublasHandle_t)host->cublas);
    if (host->stream)
        cudaStreamDestroy((cudaStream_t)host->stream);
    host->cublas = host->stream = NULL;
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

void tu_poison(void *p, size_t bytes)
{
    cudaError_t e = cudaMemset(p, 0xff, bytes);
    if (e == cudaSuccess)
        e = cudaDeviceSynchronize();
    if (e != cudaSuccess)
        die_cuda(e, "poison");
}
