/*
 * gpt_kernels_cuda.cu - the GPT-specific kernels on CUDA: LayerNorm with bias, GELU (tanh
 * approximation), learned position embeddings. The oracle is gpt_kernels_host.c; the
 * comparison runs in tests/gpt/test_gpt_kernels (GPU only).
 *
 *   layer_norm: y = (x - mean(x)) / sqrt(var(x) + eps) * w + b, per row, fp32 accumulation
 *   gelu:       y = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
 *   positions:  x[t][i] += table[pos + t][i]
 * All launches are on (cudaStream_t)host->stream; every launch is checked and a failure is
 * returned as CUDA_ERROR_KERNEL_LAUNCH_FAILED with a detail, never an exit.
 */
#include <cuda_runtime.h>
#include <math.h>

#include "gpt.h"

// ----------------------------------------------------------------------------------------
// GPU kernels

#define GPT_LN_THREADS 256

// Sum over the block; every thread gets the result. shared holds one float per warp.
__device__ static float gpt_block_sum(float v, float *shared)
{
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    __syncthreads();   // shared may still be read from the previous reduction
    if (lane == 0) shared[warp] = v;
    __syncthreads();
    v = 0.0f;
    for (int i = 0; i < (int)(blockDim.x >> 5); i++) v += shared[i];
    return v;
}

// One block per row; two passes over the row (mean, then centred variance).
__global__ static void gpt_layer_norm_kernel1(const float *x, const float *w, const float *b,
                                              float *out, int width, float eps)
{
    __shared__ float shared[GPT_LN_THREADS / 32];
    const float *xr = x + (size_t)blockIdx.x * width;
    float *yr = out + (size_t)blockIdx.x * width;
    float s = 0.0f, mean, var, inv;

    for (int i = threadIdx.x; i < width; i += blockDim.x) s += xr[i];
    mean = gpt_block_sum(s, shared) / (float)width;
    s = 0.0f;
    for (int i = threadIdx.x; i < width; i += blockDim.x) {
        float c = xr[i] - mean;
        s += c * c;
    }
    var = gpt_block_sum(s, shared) / (float)width;
    inv = rsqrtf(var + eps);
    // out may equal x: every read of this row happened before the reductions returned.
    for (int i = threadIdx.x; i < width; i += blockDim.x)
        yr[i] = (xr[i] - mean) * inv * w[i] + b[i];
}

__global__ static void gpt_gelu_kernel1(float *x, size_t count)
{
    const float k = 0.7978845608028654f;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < count;
         i += (size_t)gridDim.x * blockDim.x) {
        float v = x[i];
        x[i] = 0.5f * v * (1.0f + tanhf(k * (v + 0.044715f * v * v * v)));
    }
}

__global__ static void gpt_add_positions_kernel1(float *x, const float *table, int n, int pos,
                                                 int width)
{
    size_t total = (size_t)n * width;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < total;
         i += (size_t)gridDim.x * blockDim.x)
        x[i] += table[(size_t)pos * width + i];
}

// ----------------------------------------------------------------------------------------
// launchers

static int gpt_check_launch(const wp_host *host, const char *what)
{
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess)
        return host->set_error(host, CUDA_ERROR_KERNEL_LAUNCH_FAILED, "gpt2: %s launch: %s",
                               what, cudaGetErrorString(e));
    return CUDA_SUCCESS;
}

static unsigned gpt_grid(size_t count)
{
    size_t g = (count + 255) / 256;
    return (unsigned)(g < 1 ? 1 : g > 65535 ? 65535 : g);
}

static int gpt_layer_norm_cuda(const wp_host *host, const float *x, const float *w,
                               const float *b, float *out, int n_rows, int width, float eps)
{
    if (n_rows <= 0 || width <= 0) return CUDA_SUCCESS;
    gpt_layer_norm_kernel1<<<n_rows, GPT_LN_THREADS, 0, (cudaStream_t)host->stream>>>(
        x, w, b, out, width, eps);
    return gpt_check_launch(host, "layer_norm");
}

static int gpt_gelu_cuda(const wp_host *host, float *x, size_t count)
{
    if (count == 0) return CUDA_SUCCESS;
    gpt_gelu_kernel1<<<gpt_grid(count), 256, 0, (cudaStream_t)host->stream>>>(x, count);
    return gpt_check_launch(host, "gelu");
}

static int gpt_add_positions_cuda(const wp_host *host, float *x, const float *pos_table,
                                  int n, int pos, int width)
{
    size_t total = (size_t)n * width;
    if (total == 0) return CUDA_SUCCESS;
    gpt_add_positions_kernel1<<<gpt_grid(total), 256, 0, (cudaStream_t)host->stream>>>(
        x, pos_table, n, pos, width);
    return gpt_check_launch(host, "add_positions");
}

static const gpt_kernels k_cuda = { gpt_layer_norm_cuda, gpt_gelu_cuda,
                                    gpt_add_positions_cuda };

extern "C" const gpt_kernels *gpt_kernels_cuda(void)
{
    return &k_cuda;
}
