/*
 * device_host.h - the reference host backend's half of the device layer (device_host.c).
 * Internal to runtime/core: the wrk_device_* functions of wrk_context.h dispatch here when
 * ctx->backend is WP_BACKEND_HOST.
 */
#ifndef WRK_DEVICE_HOST_H
#define WRK_DEVICE_HOST_H

#include <stdint.h>
#include "core/wrk_context.h"

/** Fill ctx's device facts for the host backend (no stream, no cuBLAS). Never fails. */
int wrk_host_device_open(CudaContext *ctx);
void wrk_host_device_close(CudaContext *ctx);
/** Always healthy: host memory has no sticky error state. */
int wrk_host_device_health(CudaContext *ctx);
/** Free and total system RAM. */
int wrk_host_device_mem_info(CudaContext *ctx, uint64_t *free_b, uint64_t *total_b);

#endif
