/*
 * ops_cudahost.h - a minimal wp_host for driving the CUDA kernel set outside the runtime:
 * device memory from cudaMalloc, one stream, one cuBLAS handle, errors into wrk_error.
 */
#ifndef OPS_CUDAHOST_H
#define OPS_CUDAHOST_H

#include "worker_plugin.h"

/** Fill *host for device 0. Returns 0, 77 when there is no CUDA device (automake SKIP), or
 *  1 on another failure (printed). */
int tu_cuda_host_init(wp_host *host);
void tu_cuda_host_fini(wp_host *host);

/** Device buffer helpers (abort the test with a message on failure). */
void *tu_dalloc(size_t bytes);
void tu_dfree(void *p);
void tu_upload(void *dst, const void *src, size_t bytes);
void tu_download(void *dst, const void *src, size_t bytes);
/** Fill bytes of device memory with 0xff: every fp32 becomes NaN, so values a kernel fails
 *  to write are caught. */
void tu_poison(void *p, size_t bytes);

#endif
