/*
 * graph.cu - CUDA graphs for the shared kernel library: record the ops a plugin queues on
 * the context's stream (stream capture), instantiate them once, replay them with one launch.
 * A decode step is ~130 small kernels; launched one by one the host's launch latency, not
 * the GPU, sets the pace (issue 8, docs/performance.md).
 *
 * Also the switch of programmatic dependent launch (cuda_common.cuh).
 *
 * Capture mode is thread-local: a call that is illegal during capture (a synchronising copy,
 * an allocation) made by this thread fails the capture and graph_end reports it; other
 * threads of the process are not disturbed.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "ops/cuda/cuda_common.cuh"
#include "ops/cuda/cuda_ops.h"

/* Decided once per process from the current device (a worker drives one GPU); racing first
 * calls compute the same value. */
extern "C" int wrk_pdl_enabled(void)
{
    static volatile int state = -1;
    if (state < 0) {
        const char *env = getenv("WORKER_CUDA_PDL");
        int dev = 0, major = 0;
        int on = !(env && strcmp(env, "0") == 0) && cudaGetDevice(&dev) == cudaSuccess &&
                 cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev) ==
                     cudaSuccess &&
                 major >= 9;
        (void)cudaGetLastError();
        state = on;
    }
    return state;
}

extern "C" int wrk_cuda_graph_begin(const wp_host *host)
{
    return wrk_cuda_check(cudaStreamBeginCapture(wrk_stream(host),
                                                 cudaStreamCaptureModeThreadLocal),
                          "graph_begin: cudaStreamBeginCapture");
}

extern "C" int wrk_cuda_graph_end(const wp_host *host, void **graph)
{
    if (graph)
        *graph = NULL;
    cudaGraph_t g = NULL;
    cudaError_t e = cudaStreamEndCapture(wrk_stream(host), &g);
    int rc = 0;
    if (e != cudaSuccess) {
        /* an op failed or did something a capture cannot hold: nothing was recorded */
        (void)cudaGetLastError();
        rc = wrk_cuda_check(e, "graph_end: cudaStreamEndCapture");
    } else if (!graph) {
        rc = wrk_error(CUDA_ERROR_INVALID_PARAMETER, "graph_end: NULL graph");
    } else {
        cudaGraphExec_t exec = NULL;
        e = cudaGraphInstantiate(&exec, g, 0);
        if (e != cudaSuccess) {
            (void)cudaGetLastError();
            rc = wrk_cuda_check(e, "graph_end: cudaGraphInstantiate");
        } else {
            *graph = exec;
        }
    }
    if (g)
        cudaGraphDestroy(g);
    return rc;
}

extern "C" int wrk_cuda_graph_launch(const wp_host *host, void *graph)
{
    if (!graph)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "graph_launch: NULL graph");
    return wrk_cuda_check(cudaGraphLaunch((cudaGraphExec_t)graph, wrk_stream(host)),
                          "graph_launch: cudaGraphLaunch");
}

extern "C" void wrk_cuda_graph_free(const wp_host *host, void *graph)
{
    (void)host;
    if (graph)
        cudaGraphExecDestroy((cudaGraphExec_t)graph);
}
