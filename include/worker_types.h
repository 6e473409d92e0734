/*
 * worker_types.h - opaque handle types of the worker FFI (LOCKED, FFI v1.0).
 *
 * The three handles are declared, never defined, here: callers hold pointers only and
 * release them with the matching free function of worker_ffi.h.
 */
#ifndef WORKER_TYPES_H
#define WORKER_TYPES_H

#ifdef __cplusplus
extern "C" {
#endif

/** A device context (one GPU, or the reference host backend). Not thread-safe. */
typedef struct CudaContext CudaContext;

/** A model loaded into the memory of a context's device. Not thread-safe. */
typedef struct CudaModel CudaModel;

/** One running inference job (prompt, KV cache, sampler state). Not thread-safe. */
typedef struct InferenceResult InferenceResult;

#ifdef __cplusplus
}
#endif

#endif /* WORKER_TYPES_H */
