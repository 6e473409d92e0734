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
 * Quantized types at n = 1 are timed twice: "int8" (the int8-dot path, matmul_int8.cu; Q8_0
 * rows marked "[staged Q8_0]" went through its shared-memory staged kernel) and "fp32x"
 * (the fp32 GEMV, as with WORKER_CUDA_INT8_DOT=0), switched by wrk_cuda_set_int8_dot.
 * Then the 1B layer's fused decode calls the same way: q/k/v as one matmul_multi of
 * 2048 + 512 + 512 rows, gate/up as one matmul_glu of 2 x 8192 rows (weights of all parts
 * counted in GB/s).
 * Several copies of each weight are cycled so that the working set exceeds the L2 cache and
 * every call reads from HBM. Weights are random bytes: timing does not depend on the values.
 *
 * With the argument "8b" it times the Llama-3-8B layer's decode calls instead: q/k/v
 * (4096 + 1024 + 1024 rows), wo 4096x4096, gate/up 2 x 14336x4096, down 4096x14336 and the
 * 128256x4096 output, for F16 (all four types with "8b all").
 *
 * Usage: bench_gemv [repetitions=50] [8b [all]]   (run on the device; not part of TESTS)
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

/* What one timed call computes: matmul of one weight, matmul_multi over `count` weights of
 * outs[i] rows (the q/k/v of a layer), or matmul_glu of two weights of outs[0] rows. */
enum { OP_MATMUL, OP_MULTI, OP_GLU };

typedef struct bench_case {
    int op;
    int count; /* weights per call */
    int outs[3];
    int in;
} bench_case;

/* The buffers of a case: `copies` sets of its weights, cycled call by call. */
typedef struct bench_set {
    const bench_case *c;
    int copies, n;
    wp_tensor w[MAX_COPIES][3];
    float *x, *y[3];
} bench_set;

static int bench_call(const wp_host *host, const bench_set *s, int copy)
{
    const wp_tensor *w = s->w[copy];
    switch (s->c->op) {
    case OP_MULTI: {
        wp_matmul_part parts[3];
        for (int i = 0; i < s->c->count; i++)
            parts[i] = (wp_matmul_part){&w[i], s->y[i], NULL};
        return host->ops->matmul_multi(host, parts, s->c->count, s->x, s->n, 0);
    }
    case OP_GLU:
        return host->ops->matmul_glu(host, WP_GLU_SILU, &w[0], &w[1], s->x, s->y[0], s->y[1],
                                     s->n);
    default: return host->ops->matmul(host, &w[0], s->x, s->y[0], s->n, NULL);
    }
}

/* Median µs per call of a graph of `calls` back-to-back calls cycling the copies;
 * < 0 when capture or replay failed (detail in wrk_error or printed). */
static double graph_us(const wp_host *host, const bench_set *s, int reps)
{
    const int calls = s->copies < 16 ? 16 : s->copies;
    cudaStream_t st = (cudaStream_t)host->stream;
    cudaGraph_t g = NULL;
    cudaGraphExec_t ge = NULL;
    int rc = 0;
    if (cudaStreamBeginCapture(st, cudaStreamCaptureModeThreadLocal) != cudaSuccess)
        return -1.0;
    for (int i = 0; i < calls && !rc; i++)
        rc = bench_call(host, s, i % s->copies);
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

/* "out x in" for a matmul (the format of the earlier runs), else the parts. */
static void case_label(const bench_case *c, char *buf, size_t size)
{
    switch (c->op) {
    case OP_MULTI:
        snprintf(buf, size, "qkv %d+%d+%d x %d", c->outs[0], c->outs[1], c->outs[2], c->in);
        break;
    case OP_GLU: snprintf(buf, size, "glu 2x%d x %d", c->outs[0], c->in); break;
    default: snprintf(buf, size, "%6d x %5d", c->outs[0], c->in); break;
    }
}

/* path: the label of the matmul path timed ("" when there is one). */
static void bench(const wp_host *host, uint32_t type, const bench_case *c, int n, int reps,
                  const char *path)
{
    bench_set s = {.c = c, .n = n};
    uint64_t bytes = 0;
    for (int i = 0; i < c->count; i++)
        bytes += wrk_dtype_row_bytes(type, c->in) * (uint64_t)c->outs[i];
    int copies = (int)((MIN_SET_BYTES + bytes - 1) / bytes);
    if (copies > MAX_COPIES)
        copies = MAX_COPIES;
    if (copies < 1)
        copies = 1;
    s.copies = copies;
    for (int k = 0; k < copies; k++)
        for (int i = 0; i < c->count; i++) {
            const uint64_t wb = wrk_dtype_row_bytes(type, c->in) * (uint64_t)c->outs[i];
            s.w[k][i] = (wp_tensor){"bench", type, 2, {(uint64_t)c->in, (uint64_t)c->outs[i], 1, 1},
                                    wb, NULL};
            s.w[k][i].data = tu_dalloc(wb);
            tu_upload_random(s.w[k][i].data, wb, 1 + k * 3 + i);
        }
    s.x = tu_dalloc(sizeof(float) * c->in * n);
    for (int i = 0; i < c->count; i++)
        s.y[i] = tu_dalloc(sizeof(float) * c->outs[i] * n);
    float *hx = malloc(sizeof(float) * c->in * n);
    for (int i = 0; i < c->in * n; i++)
        hx[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
    tu_upload(s.x, hx, sizeof(float) * c->in * n);
    free(hx);

    cudaStream_t st = (cudaStream_t)host->stream;
    cudaEvent_t ev[2];
    cudaEventCreate(&ev[0]);
    cudaEventCreate(&ev[1]);
    float *ms = malloc(sizeof(float) * reps);
    int rc = 0;
    for (int i = 0; i < 5 && !rc; i++) /* warm up */
        rc = bench_call(host, &s, i % copies);
    for (int i = 0; i < reps && !rc; i++) {
        cudaEventRecord(ev[0], st);
        rc = bench_call(host, &s, i % copies);
        cudaEventRecord(ev[1], st);
        cudaEventSynchronize(ev[1]);
        cudaEventElapsedTime(&ms[i], ev[0], ev[1]);
    }
    if (!rc)
        rc = host->ops->synchronize(host);
    char shape[48];
    case_label(c, shape, sizeof shape);
    if (rc) {
        printf("%-5s %-5s %s n %d: FAILED: %s\n", wrk_dtype_name(type), path, shape, n,
               wrk_error_detail());
    } else {
        qsort(ms, reps, sizeof(float), cmp_float);
        const double us = ms[reps / 2] * 1000.0, gbs = bytes / (us * 1e3);
        const double gus = graph_us(host, &s, reps);
        const double ggbs = gus > 0 ? bytes / (gus * 1e3) : 0.0;
        /* which int8 kernel read a Q8_0 weight (the others have one) */
        const int staged = n == 1 && wrk_cuda_int8_takes(&s.w[0][0], s.x, n) &&
                           wrk_cuda_int8_staged(&s.w[0][0]);
        printf("%-5s %-5s %s n %d  call %7.1f us %6.0f GB/s %5.1f %%  graph %7.1f us "
               "%6.0f GB/s %5.1f %%  (call min %.1f us, weights %.1f MB)%s\n",
               wrk_dtype_name(type), path, shape, n, us, gbs, 100.0 * gbs / PEAK_GBS, gus, ggbs,
               100.0 * ggbs / PEAK_GBS, ms[0] * 1000.0, bytes / 1e6,
               staged ? " [staged Q8_0]" : "");
    }
    fflush(stdout);
    free(ms);
    cudaEventDestroy(ev[0]);
    cudaEventDestroy(ev[1]);
    tu_dfree(s.x);
    for (int i = 0; i < c->count; i++)
        tu_dfree(s.y[i]);
    for (int k = 0; k < copies; k++)
        for (int i = 0; i < c->count; i++)
            tu_dfree(s.w[k][i].data);
}

/* Each case at n = 1: once for F16, twice (int8 path forced on, then off) for the quantized
 * types. */
static void bench_decode(const wp_host *host, const uint32_t *types, int n_types,
                         const bench_case *cases, int n_cases, int reps)
{
    for (int t = 0; t < n_types; t++)
        for (int k = 0; k < n_cases; k++) {
            if (types[t] == WP_DTYPE_F16) {
                bench(host, types[t], &cases[k], 1, reps, "");
                continue;
            }
            wrk_cuda_set_int8_dot(1);
            bench(host, types[t], &cases[k], 1, reps, "int8");
            wrk_cuda_set_int8_dot(0);
            bench(host, types[t], &cases[k], 1, reps, "fp32x");
        }
    wrk_cuda_set_int8_dot(1);
}

int main(int argc, char **argv)
{
    const int reps = argc > 1 ? atoi(argv[1]) : 50;
    if (reps < 1) {
        fprintf(stderr, "usage: bench_gemv [repetitions] [8b]\n");
        return 2;
    }
    wp_host host;
    int rc = tu_cuda_host_init(&host);
    if (rc)
        return rc;
    static const bench_case shapes[] = {
        {OP_MATMUL, 1, {2048}, 2048},   {OP_MATMUL, 1, {8192}, 2048},
        {OP_MATMUL, 1, {2048}, 8192},   {OP_MATMUL, 1, {128256}, 2048},
        {OP_MATMUL, 1, {4096}, 14336},  {OP_MATMUL, 1, {512}, 2048}};
    /* the 1B layer's fused calls: q/k/v (one launch of 3072 rows), gate/up + SiLU */
    static const bench_case fused[] = {{OP_MULTI, 3, {2048, 512, 512}, 2048},
                                       {OP_GLU, 2, {8192, 8192}, 2048}};
    const int n_shapes = (int)(sizeof(shapes) / sizeof(shapes[0]));
    static const uint32_t types[] = {WP_DTYPE_F16, WP_DTYPE_Q8_0, WP_DTYPE_Q4_K, WP_DTYPE_Q6_K};
    if (argc > 2 && strcmp(argv[2], "8b") == 0) {
        static const bench_case layer8b[] = {{OP_MULTI, 3, {4096, 1024, 1024}, 4096},
                                             {OP_MATMUL, 1, {4096}, 4096},
                                             {OP_GLU, 2, {14336, 14336}, 4096},
                                             {OP_MATMUL, 1, {4096}, 14336},
                                             {OP_MATMUL, 1, {128256}, 4096}};
        /* F16 only unless "all" follows */
        const int n_types = argc > 3 && strcmp(argv[3], "all") == 0 ? 4 : 1;
        printf("8B layer calls (n = 1), median of %d calls; %% of %.0f GB/s\n", reps, PEAK_GBS);
        bench_decode(&host, types, n_types, layer8b, 5, reps);
        tu_cuda_host_fini(&host);
        return 0;
    }
    printf("decode GEMV (out x in), median of %d calls; %% of %.0f GB/s\n", reps, PEAK_GBS);
    bench_decode(&host, types, 4, shapes, n_shapes, reps);
    printf("\n1B layer calls: matmul_multi q/k/v, matmul_glu gate/up (n = 1)\n");
    bench_decode(&host, types, 4, fused, 2, reps);
    printf("\nsame with n = 8 columns (weights read once for all 8)\n");
    for (int t = 0; t < 4; t++)
        for (int k = 0; k < n_shapes; k++)
            bench(&host, types[t], &shapes[k], 8, reps, "");
    tu_cuda_host_fini(&host);
    return 0;
}
