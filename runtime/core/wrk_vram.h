/*
 * wrk_vram.h - the VRAM accountant: every byte of backend memory the runtime or a plugin
 * takes goes through here, tagged (weights, KV cache, scratch).
 *
 * On the CUDA backend allocations are cudaMalloc'd device memory; on the reference host
 * backend they are 64-byte-aligned host memory, accounted the same way so tests of the
 * accounting run everywhere. Thread-safe (a mutex guards the table).
 */
#ifndef WRK_VRAM_H
#define WRK_VRAM_H

#include <stddef.h>
#include <stdint.h>
#include "worker_plugin.h"   /* enum wp_mem_tag, enum wp_backend */

#ifdef __cplusplus
extern "C" {
#endif

typedef struct wrk_accountant wrk_accountant;

/** backend: enum wp_backend; device: CUDA ordinal (ignored on host). NULL on OOM. */
wrk_accountant *wrk_accountant_new(int backend, int device);
/** Frees every allocation still outstanding (logging each as a leak) and the accountant. */
void wrk_accountant_free(wrk_accountant *acc);

/** Allocate under tag; NULL with wrk_error(CUDA_ERROR_OUT_OF_MEMORY, ...) naming what,
 *  the size, and the free memory. bytes == 0 is an INVALID_PARAMETER error. */
void *wrk_vram_alloc(wrk_accountant *acc, size_t bytes, int tag, const char *what);
/** Free an allocation of this accountant; NULL is ignored; unknown pointers are logged. */
void wrk_vram_free(wrk_accountant *acc, void *ptr);

/** Bytes outstanding in total / under one tag. */
uint64_t wrk_vram_total(const wrk_accountant *acc);
uint64_t wrk_vram_tagged(const wrk_accountant *acc, int tag);
/** Number of outstanding allocations. */
size_t wrk_vram_count(const wrk_accountant *acc);

/** Verify every allocation is device memory (cudaPointerGetAttributes type == device; on
 *  the host backend: a live host block) and the per-tag totals sum to the total.
 *  Returns 0 or CUDA_ERROR_VRAM_RESIDENCY_FAILED with the offending allocation named. */
int wrk_vram_check_residency(const wrk_accountant *acc);

/** Test hook: make allocations fail once the total would exceed limit (0 = no limit).
 *  Also set by the environment variable WORKER_VRAM_LIMIT_BYTES at creation. */
void wrk_vram_set_limit(wrk_accountant *acc, uint64_t limit);

#ifdef __cplusplus
}
#endif
#endif
