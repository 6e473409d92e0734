/*
 * llama_kernels_cuda.cu - the CUDA kernel set of the llama plugin: RoPE (normal and NeoX
 * pair layouts; prefill rows, and the decode step with its position in device memory),
 * launched on the context's stream (host->stream).
 *
 * Math as in llama_kernels_host.c (the oracle, checked against it by tests/llama):
 *   theta = (pos * freq_scale) * base^(-2i/rope_dim) / freq_factor[i]
 *   (a, b) -> (a cos theta - b sin theta, a sin theta + b cos theta)
 * Build: part of plugins/llama.la when configured with CUDA; test: tests/llama/llama_cuda.
 */
#include <cuda_runtime.h>

#include "llama.h"

// ----------------------------------------------------------------------------------------
// GPU kernels

// The rotation of pair i at position pos as (cos, sin). The angle is computed in double: a
// rotation of a large position in float loses the low bits of theta, and the kernel is far
// from the bottleneck.
__device__ __forceinline__ float2 rope_angle(int i, int pos, int rope_dim, float freq_base,
                                             float freq_scale, const float *freq_factors)
{
    double theta = (double)pos * (double)freq_scale * pow((double)freq_base, -2.0 * i / rope_dim);
    if (freq_factors)
        theta /= (double)freq_factors[i];
    double sd, cd;
    sincos(theta, &sd, &cd);
    return make_float2((float)cd, (float)sd);
}

// Rotate pair i of the head at v by cs = (cos, sin).
__device__ __forceinline__ void rope_rotate(float *v, int i, float2 cs, int rope_dim, int neox)
{
    const int stride = neox ? rope_dim / 2 : 1;
    v += neox ? i : 2 * i;
    const float a = v[0], b = v[stride];
    v[0] = a * cs.x - b * cs.y;
    v[stride] = a * cs.y + b * cs.x;
}

// Rotate pair i of the head at v (pos: the row's position).
__device__ __forceinline__ void rope_pair(float *v, int i, int pos, int rope_dim, int neox,
                                          float freq_base, float freq_scale,
                                          const float *freq_factors)
{
    rope_rotate(v, i, rope_angle(i, pos, rope_dim, freq_base, freq_scale, freq_factors),
                rope_dim, neox);
}

// One thread per (row, head, pair).
__global__ void rope_forward_kernel1(float *x, int n, int n_heads, int head_dim, int pos,
                                     int rope_dim, int neox, float freq_base,
                                     float freq_scale, const float *freq_factors)
{
    const int half = rope_dim / 2;
    const long long total = (long long)n * n_heads * half;
    long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= total)
        return;
    const int i = (int)(idx % half);
    const long long row_head = idx / half;          /* t * n_heads + head */
    const int t = (int)(row_head / n_heads);
    rope_pair(x + row_head * head_dim, i, pos + t, rope_dim, neox, freq_base, freq_scale,
              freq_factors);
}

// The decode step: one thread per (head of q then of k, pair); the position from memory.
// Launched with programmatic dependent launch where enabled: it lets the attention kernel
// after it be scheduled at once, and computes the angle (double pow and sincos, ~1 us of
// latency) before it waits for the q/k/v product - the position was copied in before the
// step's first kernel and the frequency factors are weights, so neither comes from the
// kernel it may overlap. (Both instructions are no-ops for a plain launch.)
__global__ void rope_qk_dev_kernel1(float *q, int n_q, float *k, int n_k, int head_dim,
                                    const int32_t *pos, int rope_dim, int neox,
                                    float freq_base, float freq_scale,
                                    const float *freq_factors)
{
    const int half = rope_dim / 2;
    const int idx = blockIdx.x * blockDim.x + threadIdx.x;
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
    if (idx >= (n_q + n_k) * half)
        return;
    const int i = idx % half, head = idx / half;
    const float2 cs = rope_angle(i, *pos, rope_dim, freq_base, freq_scale, freq_factors);
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
    float *v = head < n_q ? q + (size_t)head * head_dim : k + (size_t)(head - n_q) * head_dim;
    rope_rotate(v, i, cs, rope_dim, neox);
}

// ----------------------------------------------------------------------------------------
// Launchers

// Turn the launch status into our error code with a detail naming the kernel.
static int llama_cuda_check(const wp_host *host, const char *what)
{
    cudaError_t err = cudaGetLastError();
    if (err != cudaSuccess)
        return host->set_error(host, CUDA_ERROR_KERNEL_LAUNCH_FAILED, "llama %s: %s", what,
                               cudaGetErrorString(err));
    return CUDA_SUCCESS;
}

/* Programmatic dependent launch for the decode step's RoPE when the runtime's kernels use
 * it (wp_host.launch_flags, ABI 1.3): a plain launch between two PDL kernels makes the
 * attention after it wait for the whole q/k/v product to drain and for RoPE to start from
 * nothing (measured on the H100: 1B F16 decode 795 -> 800 tok/s with it). */
static int llama_cuda_pdl(const wp_host *host)
{
    return WP_STRUCT_HAS(host, wp_host, launch_flags) && (host->launch_flags & WP_LAUNCH_PDL) != 0;
}

static int llama_rope_cuda(const wp_host *host, float *x, int n, int n_heads, int head_dim,
                           int pos, const llama_rope *r)
{
    const long long total = (long long)n * n_heads * (r->rope_dim / 2);
    if (total <= 0)
        return CUDA_SUCCESS;
    const int block = 256;
    const unsigned grid = (unsigned)((total + block - 1) / block);
    rope_forward_kernel1<<<grid, block, 0, (cudaStream_t)host->stream>>>(
        x, n, n_heads, head_dim, pos, r->rope_dim, r->layout == LLAMA_ROPE_NEOX,
        r->freq_base, r->freq_scale, r->freq_factors);
    return llama_cuda_check(host, "rope_forward_kernel1");
}

static int llama_rope_qk_dev_cuda(const wp_host *host, float *q, int n_q, float *k, int n_k,
                                  int head_dim, const int32_t *pos, const llama_rope *r)
{
    const int total = (n_q + n_k) * (r->rope_dim / 2);
    if (total <= 0)
        return CUDA_SUCCESS;
    const int block = 128;
    cudaLaunchConfig_t cfg = {};
    cudaLaunchAttribute attr[1];
    cfg.gridDim = dim3((unsigned)((total + block - 1) / block));
    cfg.blockDim = dim3(block);
    cfg.stream = (cudaStream_t)host->stream;
    attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attr[0].val.programmaticStreamSerializationAllowed = 1;
    cfg.attrs = attr;
    cfg.numAttrs = llama_cuda_pdl(host) ? 1 : 0;
    (void)cudaLaunchKernelEx(&cfg, rope_qk_dev_kernel1, q, n_q, k, n_k, head_dim, pos,
                             r->rope_dim, (int)(r->layout == LLAMA_ROPE_NEOX), r->freq_base,
                             r->freq_scale, r->freq_factors);
    return llama_cuda_check(host, "rope_qk_dev_kernel1");
}

static const llama_kernels llama_cuda_set = { llama_rope_cuda, llama_rope_qk_dev_cuda };

extern "C" const llama_kernels *llama_kernels_cuda(void)
{
    return &llama_cuda_set;
}
