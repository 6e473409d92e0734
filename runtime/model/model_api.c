/*
 * model_api.c - the model's public queries: VRAM usage, residency, WorkerModelInfo.
 * All NULL-safe; each clears the thread's error detail at entry.
 */
#include <string.h>

#include "config.h"
#include "core/wrk_error.h"
#include "core/wrk_vram.h"
#include "model/model_internal.h"

/* The bytes the model took at load: weights and the plugin's persistent buffers. */
WRK_API uint64_t cuda_model_get_vram_usage(CudaModel *model)
{
    wrk_error_clear();
    return model ? model->weight_bytes : 0;
}

WRK_API uint64_t cuda_get_vram_usage(CudaModel *model)
{
    wrk_error_clear();
    return model ? model->weight_bytes : 0;
}

/* The accountant's own check (every allocation device memory, tag totals consistent),
 * then the model's tensors: each one device memory (host backend: non-NULL), and together
 * no more than the accountant holds under WP_MEM_WEIGHTS. */
WRK_API bool cuda_check_vram_residency(CudaModel *model, int *error_code)
{
    uint64_t sum = 0, tagged;
    size_t n = 0;
    int rc;

    wrk_error_clear();
    if (!model || !model->ctx || !model->ctx->acc) {
        wrk_set_code(error_code, wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                                           "cuda_check_vram_residency: model is NULL"));
        return false;
    }
    if ((rc = wrk_vram_check_residency(model->ctx->acc)) != 0) {
        wrk_set_code(error_code, CUDA_ERROR_VRAM_RESIDENCY_FAILED);
        return false;
    }
    for (struct wrk_loaded_tensor *t = model->tensors; t; t = t->next) {
        if (!t->t.data) {
            wrk_set_code(error_code, wrk_error(CUDA_ERROR_VRAM_RESIDENCY_FAILED,
                                               "tensor '%s' has no memory", t->t.name));
            return false;
        }
#ifdef HAVE_CUDA
        if (model->ctx->backend == WP_BACKEND_CUDA && !wrk_ptr_is_device(t->t.data)) {
            wrk_error_prefix("tensor '%s': ", t->t.name);
            wrk_set_code(error_code, CUDA_ERROR_VRAM_RESIDENCY_FAILED);
            return false;
        }
#endif
        sum += t->t.nbytes;
        n++;
    }
    tagged = wrk_vram_tagged(model->ctx->acc, WP_MEM_WEIGHTS);
    if (sum > tagged || n > wrk_vram_count(model->ctx->acc)) {
        wrk_set_code(error_code,
                     wrk_error(CUDA_ERROR_VRAM_RESIDENCY_FAILED,
                               "the model's %zu tensors hold %llu bytes but the accountant "
                               "tracks %llu weight bytes", n, (unsigned long long)sum,
                               (unsigned long long)tagged));
        return false;
    }
    wrk_set_code(error_code, CUDA_SUCCESS);
    return true;
}

/* Copies as much of the info as the caller's struct_size covers (older, smaller structs
 * get the members they know), keeping the caller's struct_size. */
WRK_API int worker_model_info(const CudaModel *model, WorkerModelInfo *info)
{
    uint32_t n;
    wrk_error_clear();
    if (!model || !info)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "worker_model_info: NULL argument");
    n = info->struct_size;
    if (n < sizeof(uint32_t))
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                         "worker_model_info: struct_size %u too small (set it to sizeof)", n);
    if (n > sizeof *info) n = sizeof *info;
    memcpy((char *)info + sizeof(uint32_t), (const char *)&model->public_info + sizeof(uint32_t),
           n - sizeof(uint32_t));
    return 0;
}
