/*
 * model_internal.h - pieces of the model loader shared by the files of runtime/model.
 *
 * A loaded CudaModel (core/wrk_context.h) carries the wp_host services table given to its
 * plugin; host.runtime points to a wrk_model_rt, the loader's private state behind those
 * callbacks (it lives as long as the model, since a plugin may call the host later, e.g.
 * to allocate a KV cache).
 */
#ifndef WRK_MODEL_INTERNAL_H
#define WRK_MODEL_INTERNAL_H

#include <stdint.h>

#include "core/wrk_context.h"

#ifdef __cplusplus
extern "C" {
#endif

struct wrk_uploader;   /* upload_cuda.cu */

/* Public FFI functions are exported from libworker.so; engineer A's core/wrk_api.h defines
 * WRK_API, this fallback keeps the model files building before it exists. */
#if defined(__has_include)
#if __has_include("core/wrk_api.h")
#include "core/wrk_api.h"
#endif
#endif
#ifndef WRK_API
#define WRK_API __attribute__((visibility("default")))
#endif

typedef struct wrk_model_rt {
    CudaModel *model;
    struct wrk_uploader *up;     /* CUDA staging buffers during load, else NULL */
    int progress;                /* 1: print a progress line (stderr is a terminal) */
    uint64_t baseline;           /* accountant total before the load (leak reports) */
    uint64_t bytes_total;        /* tensor bytes in the file, for the progress line */
    uint64_t bytes_done;
    int last_percent;
    char component[80];          /* "plugin:<name>" for log lines */
    void *scratch;               /* host->scratch's buffer (WP_MEM_SCRATCH), NULL until used */
    size_t scratch_bytes;        /* its size */
} wrk_model_rt;

/** Fill m->host for m->ctx (callbacks of model_host.c, ops for the backend). */
int wrk_model_host_init(CudaModel *m, wrk_model_rt *rt);

/** Free every tensor recorded in m->tensors (and the records). */
void wrk_model_free_tensors(CudaModel *m);

/** Free the kernel library's scratch (host->scratch) once queued work is done; a no-op when
 *  none was taken. Before the unload's accounting check, so it does not count as a leak. */
void wrk_model_free_scratch(CudaModel *m);

/* --- weight upload: copy n bytes of the mapping into backend memory --- */

/** Host backend: plain memcpy. */
int wrk_upload_host(void *dst, const void *src, uint64_t n);

/** CUDA backend (upload_cuda.cu): two pinned staging buffers of chunk bytes each; copies
 *  from the mapping into one overlap the asynchronous H2D copy from the other. begin
 *  falls back to synchronous cudaMemcpy when pinned memory cannot be had. */
int wrk_upload_cuda_begin(void *stream, uint64_t chunk, struct wrk_uploader **out);
int wrk_upload_cuda(struct wrk_uploader *u, void *dst, const void *src, uint64_t n);
/** Wait for every queued copy, report an asynchronous failure, free the staging buffers.
 *  NULL is a no-op returning 0. */
int wrk_upload_cuda_end(struct wrk_uploader *u);

/** 1 when ptr is device memory (cudaPointerGetAttributes type == cudaMemoryTypeDevice),
 *  0 when it is host, managed or unknown memory (the detail says which). */
int wrk_ptr_is_device(const void *ptr);

#ifdef __cplusplus
}
#endif
#endif
