/*
 * cuda_ops.cu - the CUDA kernel set's element-wise ops (add, rms_norm), copies, synchronize,
 * and the wp_ops table gathering them with matmul.cu, get_rows.cu, attention.cu,
 * attention_decode.cu, graph.cu, argmax.cu and readback.cu.
 * All work is queued on (cudaStream_t)host->stream.
 */
#include "config.h"

#include <string.h>

#include "ops/cuda/cuda_common.cuh"
#include "ops/cuda/cuda_ops.h"
#include "ops/ops.h"
#include "ops/ops_internal.h"

#define NORM_THREADS 256

// ----------------------------------------------------------------------------------------
// GPU kernels

__global__ void add_kernel(float *__restrict__ y, const float *__restrict__ x, size_t n)
{
    wrk_pdl_trigger();
    wrk_pdl_wait();
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        y[i] += x[i];
}

/* 1 / rms of a row from each thread's partial sum of squares ss: warp shuffles, then the
 * warps' sums through shared memory; every thread gets the result. */
__device__ __forceinline__ float rms_inv(float ss, int width, float eps)
{
    __shared__ float partial[NORM_THREADS / 32];
    ss = warp_sum(ss);
    if ((threadIdx.x & 31) == 0)
        partial[threadIdx.x >> 5] = ss;
    __syncthreads();
    float total = 0.0f;
#pragma unroll
    for (int w = 0; w < NORM_THREADS / 32; w++)
        total += partial[w];
    return 1.0f / sqrtf(total / (float)width + eps);
}

/* One block per row: fp32 sum of squares reduced through warp shuffles and shared memory,
 * then out = x * rsqrt(mean + eps) * weight. out may alias x: each thread rewrites only the
 * elements it read, after the reduction. */
__global__ void __launch_bounds__(NORM_THREADS)
rms_norm_kernel(const float *x, const float *__restrict__ weight, float *out, int width,
                float eps)
{
    wrk_pdl_trigger();
    wrk_pdl_wait();
    const float *xr = x + (size_t)blockIdx.x * width;
    float *orow = out + (size_t)blockIdx.x * width;
    float ss = 0.0f;
    for (int i = threadIdx.x; i < width; i += NORM_THREADS)
        ss = fmaf(xr[i], xr[i], ss);
    const float inv = rms_inv(ss, width, eps);
    for (int i = threadIdx.x; i < width; i += NORM_THREADS)
        orow[i] = xr[i] * inv * weight[i];
}

/* The same for rows of width % 4 == 0 up to NORM_THREADS * 4 * V floats with 16-byte
 * aligned buffers: each thread's float4s of x and of the weight are all requested at once
 * (the weight, immutable, before waiting for the kernel that wrote x) and kept in registers
 * for the second pass, so a decode-size row costs one memory round trip, not width/256. */
template <int V>
__global__ void __launch_bounds__(NORM_THREADS)
rms_norm_vec_kernel(const float *x, const float *__restrict__ weight, float *out, int width,
                    float eps)
{
    wrk_pdl_trigger();
    const int n4 = width / 4;
    float4 wv[V], xv[V];
#pragma unroll
    for (int v = 0; v < V; v++) {
        const int i = threadIdx.x + v * NORM_THREADS;
        if (i < n4)
            wv[v] = __ldg((const float4 *)weight + i);
    }
    wrk_pdl_wait();
    const float4 *xr = (const float4 *)(x + (size_t)blockIdx.x * width);
    float4 *orow = (float4 *)(out + (size_t)blockIdx.x * width);
    float ss = 0.0f;
#pragma unroll
    for (int v = 0; v < V; v++) {
        const int i = threadIdx.x + v * NORM_THREADS;
        if (i < n4) {
            xv[v] = xr[i];
            ss = fmaf(xv[v].x, xv[v].x, ss);
            ss = fmaf(xv[v].y, xv[v].y, ss);
            ss = fmaf(xv[v].z, xv[v].z, ss);
            ss = fmaf(xv[v].w, xv[v].w, ss);
        }
    }
    const float inv = rms_inv(ss, width, eps);
#pragma unroll
    for (int v = 0; v < V; v++) {
        const int i = threadIdx.x + v * NORM_THREADS;
        if (i < n4)
            orow[i] = make_float4(xv[v].x * inv * wv[v].x, xv[v].y * inv * wv[v].y,
                                  xv[v].z * inv * wv[v].z, xv[v].w * inv * wv[v].w);
    }
}

// ----------------------------------------------------------------------------------------
// Launchers

static int cuda_add(const wp_host *host, float *y, const float *x, size_t n)
{
    if (n == 0)
        return 0;
    if (!y || !x)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "add: NULL buffer");
    const size_t blocks = (n + 255) / 256;
    wrk_launch(add_kernel, dim3((unsigned)(blocks < 8192 ? blocks : 8192)), 256, wrk_stream(host), y,
               x, n);
    return wrk_cuda_launch_check("add");
}

static int cuda_rms_norm(const wp_host *host, const float *x, const float *weight, float *out,
                         int n_rows, int width, float eps)
{
    int rc = wrk_ops_check_rms_norm(x, weight, out, n_rows, width, eps);
    if (rc || n_rows == 0)
        return rc;
    const cudaStream_t st = wrk_stream(host);
    const dim3 grid((unsigned)n_rows);
    const bool vec =
        width % 4 == 0 && (((uintptr_t)x | (uintptr_t)weight | (uintptr_t)out) & 15u) == 0;
    const int per = (width / 4 + NORM_THREADS - 1) / NORM_THREADS; /* float4s per thread */
    if (vec && per <= 1)
        wrk_launch(rms_norm_vec_kernel<1>, grid, NORM_THREADS, st, x, weight, out, width, eps);
    else if (vec && per <= 2)
        wrk_launch(rms_norm_vec_kernel<2>, grid, NORM_THREADS, st, x, weight, out, width, eps);
    else if (vec && per <= 4)
        wrk_launch(rms_norm_vec_kernel<4>, grid, NORM_THREADS, st, x, weight, out, width, eps);
    else if (vec && per <= 8)
        wrk_launch(rms_norm_vec_kernel<8>, grid, NORM_THREADS, st, x, weight, out, width, eps);
    else
        wrk_launch(rms_norm_kernel, grid, NORM_THREADS, st, x, weight, out, width, eps);
    return wrk_cuda_launch_check("rms_norm");
}

/* Device -> host: queued on the stream, then the stream is waited for so dst is ready. */
static int cuda_to_host(const wp_host *host, void *dst, const void *src, size_t n)
{
    if (n == 0)
        return 0;
    if (!dst || !src)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "to_host: NULL buffer");
    cudaStream_t st = wrk_stream(host);
    int rc = wrk_cuda_check(cudaMemcpyAsync(dst, src, n, cudaMemcpyDeviceToHost, st),
                            "to_host: cudaMemcpyAsync");
    if (!rc)
        rc = wrk_cuda_check(cudaStreamSynchronize(st), "to_host: cudaStreamSynchronize");
    return rc;
}

/* Up to SMALL_COPY_WORDS 4-byte words carried to the device as a kernel argument. */
#define SMALL_COPY_WORDS 16
struct SmallWords {
    uint32_t w[SMALL_COPY_WORDS];
};

__global__ void small_copy_kernel(uint32_t *dst, SmallWords v, int n_words)
{
    if ((int)threadIdx.x < n_words)
        dst[threadIdx.x] = v.w[threadIdx.x];
}

/* Host -> device, ordered on the stream; the caller may reuse src at once. src is pageable
 * memory in general, and a copy from pageable memory may wait for the stream to drain
 * before it stages the bytes (CUDA's "API synchronization behavior"): the host would then
 * wait for the queued work, as the pipelined greedy decode must not (a decode step's
 * position is 4 bytes). So copies of up to 64 bytes in whole words to an aligned dst travel
 * as the argument of a one-thread-per-word kernel instead, which never waits; larger ones
 * go through cudaMemcpyAsync. */
static int cuda_from_host(const wp_host *host, void *dst, const void *src, size_t n)
{
    if (n == 0)
        return 0;
    if (!dst || !src)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "from_host: NULL buffer");
    const cudaStream_t st = wrk_stream(host);
    if (n <= sizeof(SmallWords) && n % 4 == 0 && ((uintptr_t)dst & 3u) == 0) {
        SmallWords v;
        memcpy(v.w, src, n);
        small_copy_kernel<<<1, SMALL_COPY_WORDS, 0, st>>>((uint32_t *)dst, v, (int)(n / 4));
        return wrk_cuda_launch_check("from_host (small copy)");
    }
    return wrk_cuda_check(cudaMemcpyAsync(dst, src, n, cudaMemcpyHostToDevice, st),
                          "from_host: cudaMemcpyAsync");
}

static int cuda_synchronize(const wp_host *host)
{
    int rc = wrk_cuda_check(cudaStreamSynchronize(wrk_stream(host)), "synchronize");
    if (!rc)
        rc = wrk_cuda_check(cudaGetLastError(), "synchronize: pending error");
    return rc;
}

static const wp_ops cuda_ops = {
    WORKER_PLUGIN_ABI_MAJOR, WORKER_PLUGIN_ABI_MINOR, sizeof(wp_ops),
    wrk_cuda_matmul, wrk_cuda_get_rows, wrk_cuda_attention, cuda_add, cuda_rms_norm,
    cuda_to_host, cuda_from_host, cuda_synchronize,
    /* ABI 1.1 */
    wrk_cuda_matmul_multi, wrk_cuda_matmul_glu, wrk_cuda_get_rows_dev,
    wrk_cuda_attention_decode_work, wrk_cuda_attention_decode,
    wrk_cuda_graph_begin, wrk_cuda_graph_end, wrk_cuda_graph_launch, wrk_cuda_graph_free,
    /* ABI 1.2 */
    wrk_cuda_argmax,
    /* ABI 1.3 */
    wrk_cuda_readback_start, wrk_cuda_readback_finish,
};

extern "C" const wp_ops *wrk_ops_cuda(void)
{
    return &cuda_ops;
}
