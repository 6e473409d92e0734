/*
 * bench_gemv.c - decode GEMV timings of the CUDA kernel set (wp_ops.matmul with n = 1, and
 * n = 8 for reference) on real model shapes, for weight types F16, Q8_0, Q4_K, Q6_K.
 *
 * For each shape out x in (Llama-3.2-1B: 2048x2048 q/o, 8192x2048 up/gate, 2048x8192 down,
 * 128256x2048 output, 512x2048 k/v; Llama-3-8B: 4096x14336 down) it prints two medians over the
 * repetitions, each with the GB/s of weight bytes read and the percentage of 3000 GB/s (the
 * H100's device-to-device copy rate, issue 8):
 *   "call":  CUDA events around each single call on an idle stream. This includes the
 *            launch latency (the GPU waits for the launch to arrive), a few µs that no
 *            kernel change removes; it is the number issue 8 was first measured with.
 *   "graph": a CUDA graph of back-to-back calls (as in a decode step, where launches queue
 *            ahead of the GPU), replayed and timed as a whole, divided by the calls: the
 *            kernel's own time plus the small gap between graph nodes.
 * Quantized types at n = 1 are timed twice: "int8" (the int8-dot path, matmul_int8.cu) and
 * "fp32x" (the fp32 GEMV, as with WORKER_CUDA_INT8_DOT=0), switched by wrk_cuda_set_int8_dot.
 * Several copies of each weight are cycled so that the working set exceeds the L2 cache and
 * every call reads from HBM. Weights are random bytes: timing does not depend on the values.
 *
 * Usage: bench_gemv [repetitions=50]   (run on the device; not part of TESTS)
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime_api.h>

#include "core/wrk_error.h"
#include "gguf/quant.h"
#include "ops/cuda/cuda_ops.h"
#include "ops/ops.h"
#include "ops_cudahost.h"

#define PEAK_GBS 3000.0
#define MIN_SET_BYTES (256ull << 20) /* cycle copies until >= 256 MiB (L2 is 50 MiB) */
#define MAX_COPIES 32

static int cmp_float(const void *a, const void *b)
{
    const float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Median µs per call of a graph of `calls` back-to-back matmuls cycling the copies;
 * < 0 when capture or replay failed (detail in wrk_error or printed). */
static double graph_us(const wp_host *host, const wp_tensor *w, int copies, const float *x,
                       float *y, int n, int reps)
{
    const int calls = copies < 16 ? 16 : copies;
    cudaStream_t st = (cudaStream_t)host->stream;
    cudaGraph_t g = NULL;
    cudaGraphExec_t ge = NULL;
    int rc = 0;
    if (cudaStreamBeginCapture(st, cudaStreamCaptureModeThreadLocal) != cudaSuccess)
        return -1.0;
    for (int i = 0; i < calls && !rc; i++)
        rc = host->ops->matmul(host, &w[i % copies], x, y, n, NULL);
    cudaError_t e = cudaStreamEndCapture(st, &g);
    if (rc || e != cudaSuccess || cudaGraphInstantiate(&ge, g, 0) != cudaSuccess) {
        if (g)
            cudaGraphDestroy(g);
        cudaGetLastError();
        return -1.0;
    }
    cudaEvent_t ev[2];
    cudaEventCreate(&ev[0]);
    cudaEventCreate(&ev[1]);
    float *ms = malloc(sizeof(float) * reps);
    double us = -1.0;
    int ok = 1;
    for (int i = 0; i < 3 && ok; i++) /* warm up */
        ok = cudaGraphLaunch(ge, st) == cudaSuccess;
    for (int i = 0; i < reps && ok; i++) {
        ok = cudaEventRecord(ev[0], st) == cudaSuccess && cudaGraphLaunch(ge, st) == cudaSuccess &&
             cudaEventRecord(ev[1], st) == cudaSuccess &&
             cudaEventSynchronize(ev[1]) == cudaSuccess &&
             cudaEventElapsedTime(&ms[i], ev[0], ev[1]) == cudaSuccess;
    }
    if (ok && cudaStreamSynchronize(st) == cudaSuccess) {
        qsort(ms, reps, sizeof(float), cmp_float);
        us = ms[reps / 2] * 1000.0 / calls;
    }
    free(ms);
    cudaEventDestroy(ev[0]);
    cudaEventDestroy(ev[1]);
    cudaGraphExecDestroy(ge);
    cudaGraphDestroy(g);
    return us;
}

/* path: the label of the matmul path timed ("" when there is one). */
static void bench(const wp_host *host, uint32_t type, int out, int in, int n, int reps,
                  const char *path)
{
    const uint64_t bytes = wrk_dtype_row_bytes(type, in) * (uint64_t)out;
    int copies = (int)((MIN_SET_BYTES + bytes - 1) / bytes);
    if (copies > MAX_COPIES)
        copies = MAX_COPIES;
    if (copies < 1)
        copies = 1;
    wp_tensor w[MAX_COPIES];
    for (int c = 0; c < copies; c++) {
        w[c] = (wp_tensor){"bench", type, 2, {(uint64_t)in, (uint64_t)out, 1, 1}, bytes, NULL};
        w[c].data = tu_dalloc(bytes);
        tu_upload_random(w[c].data, bytes, 1 + c);
    }
    float *x = tu_dalloc(sizeof(float) * in * n), *y = tu_dalloc(sizeof(float) * out * n);
    float *hx = malloc(sizeof(float) * in * n);
    for (int i = 0; i < in * n; i++)
        hx[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
    tu_upload(x, hx, sizeof(float) * in * n);
    free(hx);

    cudaStream_t st = (cudaStream_t)host->stream;
    cudaEvent_t ev[2];
    cudaEventCreate(&ev[0]);
    cudaEventCreate(&ev[1]);
    float *ms = malloc(sizeof(float) * reps);
    int rc = 0;
    for (int i = 0; i < 5 && !rc; i++) /* warm up */
        rc = host->ops->matmul(host, &w[i % copies], x, y, n, NULL);
    for (int i = 0; i < reps && !rc; i++) {
        cudaEventRecord(ev[0], st);
        rc = host->ops->matmul(host, &w[i % copies], x, y, n, NULL);
        cudaEventRecord(ev[1], st);
        cudaEventSynchronize(ev[1]);
        cudaEventElapsedTime(&ms[i], ev[0], ev[1]);
    }
    if (!rc)
        rc = host->ops->synchronize(host);
    if (rc) {
        printf("%-5s %-5s %6d x %5d n %d: FAILED: %s\n", wrk_dtype_name(type), path, out, in, n,
               wrk_error_detail());
    } else {
        qsort(ms, reps, sizeof(float), cmp_float);
        const double us = ms[reps / 2] * 1000.0, gbs = bytes / (us * 1e3);
        const double gus = graph_us(host, w, copies, x, y, n, reps);
        const double ggbs = gus > 0 ? bytes / (gus * 1e3) : 0.0;
        printf("%-5s %-5s %6d x %5d n %d  call %7.1f us %6.0f GB/s %5.1f %%  graph %7.1f us "
               "%6.0f GB/s %5.1f %%  (call min %.1f us, weights %.1f MB)\n",
               wrk_dtype_name(type), path, out, in, n, us, gbs, 100.0 * gbs / PEAK_GBS, gus, ggbs,
               100.0 * ggbs / PEAK_GBS, ms[0] * 1000.0, bytes / 1e6);
    }
    fflush(stdout);
    free(ms);
    cudaEventDestroy(ev[0]);
    cudaEventDestroy(ev[1]);
    tu_dfree(x);
    tu_dfree(y);
    for (int c = 0; c < copies; c++)
        tu_dfree(w[c].data);
}

int main(int argc, char **argv)
{
    const int reps = argc > 1 ? atoi(argv[1]) : 50;
    if (reps < 1) {
        fprintf(stderr, "usage: bench_gemv [repetitions]\n");
        return 2;
    }
    wp_host host;
    int rc = tu_cuda_host_init(&host);
    if (rc)
        return rc;
    static const int shapes[][2] = {{2048, 2048}, {8192, 2048}, {2048, 8192}, {128256, 2048},
                                    {4096, 14336}, {512, 2048}};
    const int n_shapes = (int)(sizeof(shapes) / sizeof(shapes[0]));
    static const uint32_t types[] = {WP_DTYPE_F16, WP_DTYPE_Q8_0, WP_DTYPE_Q4_K, WP_DTYPE_Q6_K};
    printf("decode GEMV (out x in), median of %d calls; %% of %.0f GB/s\n", reps, PEAK_GBS);
    for (int t = 0; t < 4; t++)
        for (int s = 0; s < n_shapes; s++) {
            if (types[t] == WP_DTYPE_F16) {
                bench(&host, types[t], shapes[s][0], shapes[s][1], 1, reps, "");
                continue;
            }
            wrk_cuda_set_int8_dot(1);
            bench(&host, types[t], shapes[s][0], shapes[s][1], 1, reps, "int8");
            wrk_cuda_set_int8_dot(0);
            bench(&host, types[t], shapes[s][0], shapes[s][1], 1, reps, "fp32x");
        }
    wrk_cuda_set_int8_dot(1);
    printf("\nsame with n = 8 columns (weights read once for all 8)\n");
    for (int t = 0; t < 4; t++)
        for (int s = 0; s < n_shapes; s++)
            bench(&host, types[t], shapes[s][0], shapes[s][1], 8, reps, "");
    tu_cuda_host_fini(&host);
    return 0;
}
