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

#include "core/wrk_env.h"
#include "ops/cuda/cuda_common.cuh"
#include "ops/cuda/cuda_ops.h"
#include "ops/ops.h"

/* Decided once per process from the current device (a worker drives one GPU); racing first
 * calls compute the same value. */
extern "C" int wrk_pdl_enabled(void)
{
    static volatile int state = -1;
    if (state < 0)
        state = wrk_env_on("WORKER_CUDA_PDL") &&
                wrk_cuda_device_attr(cudaDevAttrComputeCapabilityMajor) >= 9;
    return state;
}

extern "C" uint32_t wrk_ops_cuda_launch_flags(void)
{
    return wrk_pdl_enabled() ? WP_LAUNCH_PDL : 0u;
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

/* WORKER_GRAPH_TIMING=1: time every replay on the GPU (events around the launch, waited
 * for at once) and log the count and mean at graph_free. A measurement aid for issue 8: the
 * difference to the caller's time per step is the host's share (the copy of the results,
 * sampling, the API). It serialises host and GPU per replay, which a decode step does anyway
 * (its logits are copied back right after). Process-wide totals: one worker, one stream. */
static struct {
    int state; /* -1 undecided, 0 off, 1 on */
    cudaEvent_t start, stop;
    double total_ms;
    long replays;
} graph_timing = { -1, NULL, NULL, 0.0, 0 };

static int graph_timing_on(void)
{
    if (graph_timing.state < 0) {
        const char *env = getenv("WORKER_GRAPH_TIMING");
        int on = env && strcmp(env, "0") != 0 &&
                 cudaEventCreate(&graph_timing.start) == cudaSuccess &&
                 cudaEventCreate(&graph_timing.stop) == cudaSuccess;
        (void)cudaGetLastError();
        graph_timing.state = on;
    }
    return graph_timing.state;
}

extern "C" int wrk_cuda_graph_launch(const wp_host *host, void *graph)
{
    if (!graph)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "graph_launch: NULL graph");
    cudaStream_t s = wrk_stream(host);
    const int timed = graph_timing_on();
    if (timed)
        cudaEventRecord(graph_timing.start, s);
    int rc = wrk_cuda_check(cudaGraphLaunch((cudaGraphExec_t)graph, s),
                            "graph_launch: cudaGraphLaunch");
    if (timed && rc == 0 && cudaEventRecord(graph_timing.stop, s) == cudaSuccess &&
        cudaEventSynchronize(graph_timing.stop) == cudaSuccess) {
        float ms = 0.0f;
        if (cudaEventElapsedTime(&ms, graph_timing.start, graph_timing.stop) == cudaSuccess) {
            graph_timing.total_ms += ms;
            graph_timing.replays++;
        }
    }
    (void)cudaGetLastError();
    return rc;
}

extern "C" void wrk_cuda_graph_free(const wp_host *host, void *graph)
{
    if (!graph)
        return;
    cudaGraphExecDestroy((cudaGraphExec_t)graph);
    if (graph_timing.state == 1 && graph_timing.replays > 0 && host && host->log)
        host->log(host, WP_LOG_INFO, "graph timing: %ld replays, %.1f us on the GPU each",
                  graph_timing.replays, 1000.0 * graph_timing.total_ms / graph_timing.replays);
    graph_timing.total_ms = 0.0;
    graph_timing.replays = 0;
}
