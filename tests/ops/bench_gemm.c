/*
 * bench_gemm.c - prefill matmul timings of the CUDA kernel set (wp_ops.matmul at n = 512
 * columns: cuBLAS on tensor cores, quantized weights through an f16 copy) on the shapes of
 * Llama-3.2-1B (q/o 2048x2048, k/v 512x2048, gate/up 8192x2048, down 2048x8192) and
 * Llama-3-8B (4096x4096, 1024x4096, 14336x4096, 4096x14336), for F16, Q8_0, Q4_K, Q6_K.
 *
 * Per shape (out x in): the median and minimum time per call over back-to-back calls queued
 * without waiting and without a graph, as in a prefill forward, each call between two CUDA
 * events, after warm-up calls (which also let the scratch reach its size); and TFLOP/s =
 * 2 n in out / median, the useful work (the hi/lo pair of products and the dequantization
 * are costs of it). Then per type the sum over one layer's seven products and the tokens/s
 * that the matmuls alone would allow (n tokens / (layers x sum)). Several copies of each
 * weight are cycled so that weights come from HBM, as in a forward.
 *
 * Usage: bench_gemm [repetitions=50] [n=512]   (run on the device; not part of TESTS)
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include <cuda_runtime_api.h>

#include "core/wrk_error.h"
#include "gguf/quant.h"
#include "ops/ops.h"
#include "ops_cudahost.h"

#define MIN_SET_BYTES (256ull << 20) /* cycle copies until >= 256 MiB (L2 is 50 MiB) */
#define MAX_COPIES 32

typedef struct {
    int out, in;
} shape_t;

static const shape_t shapes[] = {{2048, 2048},  {512, 2048},  {8192, 2048},  {2048, 8192},
                                 {4096, 4096},  {1024, 4096}, {14336, 4096}, {4096, 14336}};
#define N_SHAPES (int)(sizeof(shapes) / sizeof(shapes[0]))

/* One layer's products (q, k, v, o, gate, up, down) as indices into shapes. */
static const int layer_1b[7] = {0, 1, 1, 0, 2, 2, 3};
static const int layer_8b[7] = {4, 5, 5, 4, 6, 6, 7};

static int cmp_float(const void *a, const void *b)
{
    const float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* ms[i] = time of call i of reps back-to-back calls cycling the copies; 0 or the failing
 * call's code (detail in wrk_error). */
static int time_calls(const wp_host *host, const wp_tensor *w, int copies, const float *x,
                      float *y, int n, int reps, float *ms)
{
    cudaStream_t st = (cudaStream_t)host->stream;
    cudaEvent_t *ev = malloc(sizeof(cudaEvent_t) * (reps + 1));
    int rc = 0, made = 0;
    if (!ev)
        return wrk_error(CUDA_ERROR_OUT_OF_MEMORY, "bench: out of host memory");
    while (made <= reps && !rc) {
        if (cudaEventCreate(&ev[made]) == cudaSuccess)
            made++;
        else
            rc = wrk_error(CUDA_ERROR_UNKNOWN, "bench: cudaEventCreate failed");
    }
    if (!rc && cudaEventRecord(ev[0], st) != cudaSuccess)
        rc = wrk_error(CUDA_ERROR_UNKNOWN, "bench: cudaEventRecord failed");
    for (int i = 0; i < reps && !rc; i++) {
        rc = host->ops->matmul(host, &w[i % copies], x, y, n, NULL);
        if (!rc && cudaEventRecord(ev[i + 1], st) != cudaSuccess)
            rc = wrk_error(CUDA_ERROR_UNKNOWN, "bench: cudaEventRecord failed");
    }
    if (!rc)
        rc = host->ops->synchronize(host);
    for (int i = 0; i < reps && !rc; i++)
        if (cudaEventElapsedTime(&ms[i], ev[i], ev[i + 1]) != cudaSuccess)
            rc = wrk_error(CUDA_ERROR_UNKNOWN, "bench: cudaEventElapsedTime failed");
    for (int i = 0; i < made; i++)
        cudaEventDestroy(ev[i]);
    free(ev);
    return rc;
}

/* Time one shape and print its row; the median in µs, or -1 when it failed. */
static double bench(const wp_host *host, uint32_t type, shape_t s, int n, int reps)
{
    const uint64_t bytes = wrk_dtype_row_bytes(type, (uint64_t)s.in) * (uint64_t)s.out;
    int copies = (int)((MIN_SET_BYTES + bytes - 1) / bytes);
    copies = copies < 1 ? 1 : copies > MAX_COPIES ? MAX_COPIES : copies;
    wp_tensor w[MAX_COPIES];
    for (int c = 0; c < copies; c++) {
        w[c] = (wp_tensor){"bench", type, 2, {(uint64_t)s.in, (uint64_t)s.out, 1, 1}, bytes, NULL};
        w[c].data = tu_dalloc(bytes);
        tu_upload_random(w[c].data, bytes, 1 + c);
    }
    const size_t nx = (size_t)s.in * n, ny = (size_t)s.out * n;
    float *x = tu_dalloc(sizeof(float) * nx), *y = tu_dalloc(sizeof(float) * ny);
    float *hx = malloc(sizeof(float) * nx), *ms = malloc(sizeof(float) * reps);
    if (!hx || !ms) {
        fprintf(stderr, "out of host memory\n");
        exit(1);
    }
    for (size_t i = 0; i < nx; i++)
        hx[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
    tu_upload(x, hx, sizeof(float) * nx);

    int rc = 0;
    for (int i = 0; i < 5 && !rc; i++) /* warm up: cuBLAS heuristics, scratch size, clocks */
        rc = host->ops->matmul(host, &w[i % copies], x, y, n, NULL);
    if (!rc)
        rc = host->ops->synchronize(host);
    if (!rc)
        rc = time_calls(host, w, copies, x, y, n, reps, ms);
    double us = -1.0;
    if (rc) {
        printf("%-5s %5d x %5d  FAILED: %s\n", wrk_dtype_name(type), s.out, s.in,
               wrk_error_detail());
    } else {
        qsort(ms, reps, sizeof(float), cmp_float);
        us = ms[reps / 2] * 1000.0;
        const double tflops = 2.0 * n * s.in * (double)s.out / (us * 1e-6) / 1e12;
        printf("%-5s %5d x %5d %8.1f %10.1f %10.1f %9.1f\n", wrk_dtype_name(type), s.out, s.in,
               bytes / 1e6, us, ms[0] * 1000.0, tflops);
    }
    fflush(stdout);
    free(hx);
    free(ms);
    tu_dfree(x);
    tu_dfree(y);
    for (int c = 0; c < copies; c++)
        tu_dfree(w[c].data);
    return us;
}

/* Sum of one layer's products (-1 when one of them failed). */
static double layer_us(const double *us, const int *layer)
{
    double sum = 0.0;
    for (int i = 0; i < 7; i++) {
        if (us[layer[i]] < 0)
            return -1.0;
        sum += us[layer[i]];
    }
    return sum;
}

int main(int argc, char **argv)
{
    const int reps = argc > 1 ? atoi(argv[1]) : 50;
    const int n = argc > 2 ? atoi(argv[2]) : 512;
    if (reps < 1 || n < 1) {
        fprintf(stderr, "usage: bench_gemm [repetitions] [n]\n");
        return 2;
    }
    wp_host host;
    int rc = tu_cuda_host_init(&host);
    if (rc)
        return rc;
    static const uint32_t types[] = {WP_DTYPE_F16, WP_DTYPE_Q8_0, WP_DTYPE_Q4_K, WP_DTYPE_Q6_K};
    printf("prefill matmul, n = %d: per call over %d back-to-back calls (CUDA events)\n", n,
           reps);
    printf("type   out x in     W MB  median us     min us   TFLOP/s\n");
    for (int t = 0; t < 4; t++) {
        double us[N_SHAPES];
        for (int s = 0; s < N_SHAPES; s++)
            us[s] = bench(&host, types[t], shapes[s], n, reps);
        const double l1 = layer_us(us, layer_1b), l8 = layer_us(us, layer_8b);
        printf("%-5s layer: 1B %.0f us (matmuls alone: %.0f tok/s over 16 layers), "
               "8B %.0f us (%.0f tok/s over 32)\n",
               wrk_dtype_name(types[t]), l1, l1 > 0 ? n / (16 * l1 * 1e-6) : 0.0, l8,
               l8 > 0 ? n / (32 * l8 * 1e-6) : 0.0);
    }
    tu_cuda_host_fini(&host);
    return 0;
}
