/*
 * ops_cudahost.h - a minimal wp_host for driving the CUDA kernel set outside the runtime:
 * device memory from cudaMalloc, one stream, one cuBLAS handle, a grow-on-demand scratch
 * (host->runtime holds its state), errors into wrk_error.
 */
#ifndef OPS_CUDAHOST_H
#define OPS_CUDAHOST_H

#include <stddef.h>
#include <stdint.h>

#include "worker_plugin.h"

/** Fill *host for device 0. Returns 0, 77 when there is no CUDA device (automake SKIP), or
 *  1 on another failure (printed). */
int tu_cuda_host_init(wp_host *host);
void tu_cuda_host_fini(wp_host *host);

/** How many times host->scratch has allocated a buffer (first use and each growth). */
unsigned tu_scratch_grows(const wp_host *host);
/** Free the scratch after the queued work, so the next scratch call allocates afresh. */
void tu_scratch_release(wp_host *host);

/** Device buffer helpers (abort the test with a message on failure). */
void *tu_dalloc(size_t bytes);
void tu_dfree(void *p);
void tu_upload(void *dst, const void *src, size_t bytes);
void tu_download(void *dst, const void *src, size_t bytes);
/** Random bytes into device memory (xorshift from seed), every 16-bit word a finite f16 of
 *  magnitude below 1: weights for timing, where values do not matter but Inf/NaN might. */
void tu_upload_random(void *d, size_t bytes, uint64_t seed);
/** Fill bytes of device memory with 0xff: every fp32 becomes NaN, so values a kernel fails
 *  to write are caught. */
void tu_poison(void *p, size_t bytes);

#endif
