/*
 * ops.h - the shared kernel library (wp_ops of worker_plugin.h) for each backend.
 * Plugins reach it through wp_host.ops; the runtime picks the table for the context.
 */
#ifndef WRK_OPS_H
#define WRK_OPS_H

#include "worker_plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The plain-C reference kernels (host memory). */
const wp_ops *wrk_ops_host(void);
/** The CUDA kernels (device memory, host->stream, host->cublas); NULL when built without
 *  CUDA. */
const wp_ops *wrk_ops_cuda(void);
/** Free what the CUDA set keeps per device across calls (the idle slots of the readback
 *  pool, readback.cu) once a context of device is closed; slots still handed out stay until
 *  they are finished. A no-op without CUDA. */
void wrk_ops_cuda_release(int device);
/** wp_host.launch_flags of a CUDA context (WP_LAUNCH_PDL when the CUDA set launches with
 *  programmatic dependent launch: compute capability >= 9, WORKER_CUDA_PDL not "0"); 0
 *  without CUDA. */
uint32_t wrk_ops_cuda_launch_flags(void);

#ifdef __cplusplus
}
#endif
#endif
