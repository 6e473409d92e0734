/*
 * attention.cu - causal grouped-query attention over the fp32 KV cache on the GPU.
 *
 * The new keys/values are first copied into cache rows pos..pos+n-1 (rows are contiguous, so
 * one device-to-device copy each). Then one CUDA block per (head h, new token i) attends to
 * cache rows 0..pos+i of KV head h / (n_heads / n_kv_heads): each of the W warps takes every
 * W-th position, computes the score with its lanes splitting head_dim (each lane holds DPL
 * dims of q and of the output accumulator), and keeps an online softmax (running max m, sum
 * l, rescaled accumulator); the warps' partial states are merged through shared memory.
 * Long contexts (>= ATTN_LONG positions) use 16 warps per block instead of 4, since decode
 * has only n_heads blocks to spread over the GPU. Any n_ctx; head_dim <= 256. A split-K
 * decode variant (several blocks per head) is later work (issue 8).
 *
 * From WRK_ATTN_GEMM_MIN_TOKENS new tokens on (prefill) the attention itself goes through
 * cuBLAS instead (attention_gemm.cu); this kernel stays for short calls and as its fallback.
 */
#include "config.h"

#include <math.h>

#include "ops/cuda/cuda_common.cuh"
#include "ops/cuda/cuda_ops.h"
#include "ops/ops_internal.h"

#define ATTN_MAX_DPL 8   /* dims per lane: head_dim <= 256 */
#define ATTN_LONG 128    /* from this many positions on, blocks of 16 warps instead of 4 */

// ----------------------------------------------------------------------------------------
// GPU kernel

template <int DPL, int NW>
__global__ void __launch_bounds__(NW * 32)
attention_kernel(const float *__restrict__ q, const float *__restrict__ k_cache,
                 const float *__restrict__ v_cache, float *__restrict__ out, int n_heads,
                 int group, int hd, int pos, float scale)
{
    __shared__ float sm_m[NW], sm_l[NW];
    __shared__ float sm_acc[NW][DPL * 32];
    const int h = blockIdx.x, i = blockIdx.y;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const size_t kv_width = (size_t)(n_heads / group) * hd;
    const size_t q_width = (size_t)n_heads * hd;
    const int len = pos + i + 1;
    const float *qh = q + (size_t)i * q_width + (size_t)h * hd;
    const size_t kv_off = (size_t)(h / group) * hd;

    float qr[DPL], acc[DPL];
#pragma unroll
    for (int j = 0; j < DPL; j++) {
        const int d = lane + 32 * j;
        qr[j] = d < hd ? qh[d] : 0.0f;
        acc[j] = 0.0f;
    }
    float m = -INFINITY, l = 0.0f;
    for (int t = warp; t < len; t += NW) {
        const float *kt = k_cache + (size_t)t * kv_width + kv_off;
        const float *vt = v_cache + (size_t)t * kv_width + kv_off;
        float s = 0.0f, vr[DPL];
#pragma unroll
        for (int j = 0; j < DPL; j++) {
            const int d = lane + 32 * j;
            const bool ok = d < hd;
            s = fmaf(qr[j], ok ? kt[d] : 0.0f, s);
            vr[j] = ok ? vt[d] : 0.0f;
        }
        s = warp_sum(s) * scale;
        const float m_new = fmaxf(m, s);
        const float corr = expf(m - m_new); /* 0 on the first position (m = -inf) */
        const float p = expf(s - m_new);
        l = l * corr + p;
#pragma unroll
        for (int j = 0; j < DPL; j++)
            acc[j] = fmaf(p, vr[j], acc[j] * corr);
        m = m_new;
    }
    if (lane == 0) {
        sm_m[warp] = m;
        sm_l[warp] = l;
    }
#pragma unroll
    for (int j = 0; j < DPL; j++)
        sm_acc[warp][lane + 32 * j] = acc[j];
    __syncthreads();

    /* merge: warps without a position have m = -inf and weigh 0 (warp 0 always has t = 0) */
    float M = sm_m[0];
#pragma unroll
    for (int w = 1; w < NW; w++)
        M = fmaxf(M, sm_m[w]);
    float e[NW], L = 0.0f;
#pragma unroll
    for (int w = 0; w < NW; w++) {
        e[w] = expf(sm_m[w] - M);
        L += e[w] * sm_l[w];
    }
    const float inv = 1.0f / L;
    float *oh = out + (size_t)i * q_width + (size_t)h * hd;
    for (int d = threadIdx.x; d < hd; d += blockDim.x) {
        float o = 0.0f;
#pragma unroll
        for (int w = 0; w < NW; w++)
            o = fmaf(e[w], sm_acc[w][d], o);
        oh[d] = o * inv;
    }
}

// ----------------------------------------------------------------------------------------
// Launcher

extern "C" int wrk_cuda_attention(const wp_host *host, const wp_attention_params *p,
                                  const float *q, const float *k, const float *v,
                                  float *k_cache, float *v_cache, float *out)
{
    int rc = wrk_ops_check_attention(p, q, k, v, k_cache, v_cache, out);
    if (rc)
        return rc;
    if (p->head_dim > 32 * ATTN_MAX_DPL)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                         "attention: head_dim %d above the CUDA kernel's limit %d", p->head_dim,
                         32 * ATTN_MAX_DPL);
    const cudaStream_t st = wrk_stream(host);
    const size_t kv_width = (size_t)p->n_kv_heads * p->head_dim;
    const size_t bytes = (size_t)p->n_tokens * kv_width * sizeof(float);
    float *kd = k_cache + (size_t)p->pos * kv_width, *vd = v_cache + (size_t)p->pos * kv_width;
    /* a plugin may have written k/v straight into the cache rows: nothing to copy then */
    if (kd != k && (rc = wrk_cuda_check(cudaMemcpyAsync(kd, k, bytes, cudaMemcpyDeviceToDevice, st),
                                        "attention: store k in cache")))
        return rc;
    if (vd != v && (rc = wrk_cuda_check(cudaMemcpyAsync(vd, v, bytes, cudaMemcpyDeviceToDevice, st),
                                        "attention: store v in cache")))
        return rc;
    /* prefill sizes through cuBLAS (attention_gemm.cu); it declines below its threshold or
     * without a scratch, and the kernel below serves those calls */
    int done = 0;
    rc = wrk_cuda_attention_gemm(host, p, q, k_cache, v_cache, out, &done);
    if (rc || done)
        return rc;
    const int group = p->n_heads / p->n_kv_heads;
    const dim3 grid((unsigned)p->n_heads, (unsigned)p->n_tokens);
    const int dpl = (p->head_dim + 31) / 32;
#define ATTN_LAUNCH(D, W)                                                                      \
    attention_kernel<D, W><<<grid, W * 32, 0, st>>>(q, k_cache, v_cache, out, p->n_heads, group, \
                                                    p->head_dim, p->pos, p->scale)
#define ATTN_LAUNCH_W(D)                                                                        \
    do {                                                                                        \
        if (p->pos + p->n_tokens >= ATTN_LONG)                                                  \
            ATTN_LAUNCH(D, 16);                                                                 \
        else                                                                                    \
            ATTN_LAUNCH(D, 4);                                                                  \
    } while (0)
    if (dpl <= 1)
        ATTN_LAUNCH_W(1);
    else if (dpl <= 2)
        ATTN_LAUNCH_W(2);
    else if (dpl <= 4)
        ATTN_LAUNCH_W(4);
    else
        ATTN_LAUNCH_W(8);
#undef ATTN_LAUNCH_W
#undef ATTN_LAUNCH
    return wrk_cuda_launch_check("attention");
}
