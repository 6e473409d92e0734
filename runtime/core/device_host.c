/*
 * device_host.c - the reference host backend's device layer: plain C, no accelerator.
 * It exists so the whole product runs and is tested on machines without a GPU; it is slow,
 * and the context layer logs it as such when it is opened.
 */
#include <stdio.h>
#include <string.h>
#include <sys/sysinfo.h>

#include "core/device_host.h"
#include "core/wrk_error.h"

int wrk_host_device_open(CudaContext *ctx)
{
    ctx->backend = WP_BACKEND_HOST;
    ctx->device = -1;
    ctx->stream = NULL;
    ctx->cublas = NULL;
    snprintf(ctx->device_name, sizeof ctx->device_name, "host (reference backend)");
    ctx->sm_major = ctx->sm_minor = 0;
    ctx->cuda_runtime_version = 0;
    return CUDA_SUCCESS;
}

void wrk_host_device_close(CudaContext *ctx)
{
    (void)ctx;
}

int wrk_host_device_health(CudaContext *ctx)
{
    (void)ctx;
    return CUDA_SUCCESS;
}

int wrk_host_device_mem_info(CudaContext *ctx, uint64_t *free_b, uint64_t *total_b)
{
    struct sysinfo si;
    (void)ctx;
    if (sysinfo(&si) != 0)
        return wrk_error(CUDA_ERROR_UNKNOWN, "host memory query (sysinfo) failed");
    if (free_b) *free_b = (uint64_t)si.freeram * si.mem_unit;
    if (total_b) *total_b = (uint64_t)si.totalram * si.mem_unit;
    return CUDA_SUCCESS;
}
