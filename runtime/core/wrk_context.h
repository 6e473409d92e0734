/*
 * wrk_context.h - the definitions behind the opaque FFI handles CudaContext and CudaModel,
 * and the device layer (CUDA or reference host) under them.
 */
#ifndef WRK_CONTEXT_H
#define WRK_CONTEXT_H

#include <stdint.h>
#include "worker_ffi.h"
#include "worker_ext.h"
#include "worker_plugin.h"
#include "core/wrk_vram.h"

#ifdef __cplusplus
extern "C" {
#endif

struct wrk_plugin_registry;   /* runtime/plugin/registry.h */
struct gguf_file;             /* runtime/gguf/gguf.h */
struct wrk_tokenizer;         /* runtime/text/tokenizer.h */

struct CudaContext {
    int backend;                   /* enum wp_backend */
    int device;                    /* CUDA ordinal, -1 on host */
    void *stream;                  /* cudaStream_t */
    void *cublas;                  /* cublasHandle_t */
    wrk_accountant *acc;
    struct wrk_plugin_registry *plugins;
    CudaModel *model;              /* the one model (M0-W-1001), or NULL */
    char device_name[256];
    int sm_major, sm_minor;
    int cuda_runtime_version;
};

/** One uploaded tensor the runtime frees at unload. */
struct wrk_loaded_tensor {
    wp_tensor t;
    struct wrk_loaded_tensor *next;
};

struct CudaModel {
    CudaContext *ctx;
    struct gguf_file *gguf;        /* kept open (mmap) while the model lives */
    char *path;
    const wp_plugin *plugin;       /* descriptor of the serving plugin */
    void *plugin_model;            /* the plugin's model state */
    wp_host host;                  /* services table given to the plugin */
    wp_model_info info;
    struct wrk_tokenizer *tokenizer;
    struct wrk_loaded_tensor *tensors;
    uint64_t weight_bytes;         /* bytes under WP_MEM_WEIGHTS for this model */
    WorkerModelInfo public_info;
    char arch[64];
    char quant_kind[16];
    char name[256];
    struct {                       /* a finished job's buffers for the next (job_spare.h) */
        void *kv;                  /* plugin KV cache, or NULL */
        uint32_t kv_n_ctx;         /* positions it was made for */
        float *logits;             /* host logits buffer, or NULL */
        size_t logits_bytes;
        int logits_pinned;
    } spare;
};

/* --- device layer (runtime/core/device_cuda.cu|device_host.c) --- */

/** Number of CUDA devices; 0 without a driver or device (never fails). */
int wrk_device_count(void);
/** Open device ordinal for ctx: set device, heap limit 0, prefer L1, stream, cuBLAS. */
int wrk_device_open(CudaContext *ctx, int device);
void wrk_device_close(CudaContext *ctx);
/** Health probe: pending/sticky errors, synchronize, free-memory query. */
int wrk_device_health(CudaContext *ctx);
/** Free and total device memory in bytes. */
int wrk_device_mem_info(CudaContext *ctx, uint64_t *free_b, uint64_t *total_b);
/** A host buffer the device copies into fast: page-locked on CUDA (*pinned = 1), else
 *  malloc (*pinned = 0). NULL when out of memory. Free with wrk_host_buffer_free. */
void *wrk_host_buffer_alloc(CudaContext *ctx, size_t bytes, int *pinned);
/** The same for the current CUDA device, without a context (the kernel library's readback
 *  pool): page-locked in a CUDA build when the driver gives it, else malloc. */
void *wrk_pinned_buffer_alloc(size_t bytes, int *pinned);
void wrk_host_buffer_free(void *p, int pinned);

#ifdef __cplusplus
}
#endif
#endif
