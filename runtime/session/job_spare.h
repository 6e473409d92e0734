/*
 * job_spare.h - the buffers of a finished job, kept for the model's next job: its KV cache
 * (with what the plugin keeps in it, such as the recorded decode step) and its page-locked
 * logits buffer. Making them costs milliseconds per job - on the H100 a 1B Llama's cache is
 * ~45 device allocations (2-2.7 ms), the pinned 513 KB logits buffer ~0.8 ms, and a fresh
 * cache records its decode graph again - as much as the whole prefill of a short prompt.
 *
 * One spare of each per model. The FFI makes a model single-threaded, so there is no lock.
 * A cache is kept only when the plugin can reset it (wp_plugin.kv_reset, ABI 1.2: a plugin
 * may keep per-cache state that a new job must not inherit), reset when a job takes it, and
 * only from a job that did not fail (a failed forward may leave the
 * plugin's per-cache state half-updated). The spare is memory the accountant still counts
 * (cuda_get_vram_usage shows it) until the next job takes it or the model is unloaded;
 * WORKER_KV_REUSE=0 frees every job's buffers at its end, as before.
 */
#ifndef WRK_JOB_SPARE_H
#define WRK_JOB_SPARE_H

#include <stddef.h>
#include <stdint.h>

#include "core/wrk_context.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A KV cache for at least n_ctx positions in *kv, its size in *kv_n_ctx: the spare when it
 *  is large enough, else a new one from the plugin (a spare too small is freed first, so
 *  its memory is there for the new one). Returns the plugin's code (*kv NULL on failure). */
int wrk_spare_kv_take(CudaModel *m, uint32_t n_ctx, void **kv, uint32_t *kv_n_ctx);
/** The cache of a finished job (made for n_ctx positions): kept as the spare when reuse is
 *  on and it is larger than the spare, else freed. kv may be NULL. */
void wrk_spare_kv_give(CudaModel *m, void *kv, uint32_t n_ctx);
/** bytes of host memory for logits (page-locked when the backend has it; *pinned says). */
float *wrk_spare_logits_take(CudaModel *m, size_t bytes, int *pinned);
void wrk_spare_logits_give(CudaModel *m, float *logits, size_t bytes, int pinned);
/** Free both spares (model unload). */
void wrk_spare_release(CudaModel *m);

#ifdef __cplusplus
}
#endif
#endif
