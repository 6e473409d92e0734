/*
 * attention_decode.cu - attention of one new token over the fp32 KV cache, split over the
 * cache (split-K), with the position read from device memory so that one captured launch
 * serves every decode step of a CUDA graph.
 *
 * Grid (n_heads / GH, S): block (b, s) serves the GH query heads b*GH.. (which share one KV
 * head) over the s-th of S equal chunks of the positions 0..pos. Each of its AD_WARPS warps
 * takes every AD_WARPS-th position of the chunk: it loads the key and value rows once (lanes
 * split head_dim, DPL dims each; a ring of rows in flight, the first round requested before
 * the wait for the q/k/v kernel, since the cache rows before pos are older) and updates an
 * online softmax (running max m, sum l, rescaled accumulator) for each of the GH heads.
 * The warps merge through shared memory and the block writes its partial (m, l,
 * unnormalised accumulator) per head to the work buffer;
 * the last block of the S to finish (a ticket from atomicInc, which wraps back to 0 by
 * itself for the next launch) merges the partials into out. S depends on n_ctx only, so the
 * grid is the same at every position; chunks past pos are empty and only take a ticket.
 *
 * The new token's key and value are read from k/v (not the cache) and stored at cache row
 * pos by split 0 of the first block of each KV head: no block of this launch reads that row
 * from the cache. Reference: the host set's attention (tests/ops/test_ops_cuda).
 */
#include "config.h"

#include <math.h>

#include "ops/cuda/cuda_common.cuh"
#include "ops/cuda/cuda_ops.h"
#include "ops/ops_internal.h"

/* Warps per block. 8 rather than 4 halves each warp's serial walk over its positions:
 * 1B decode on the H100 827 -> 837 tok/s (F16 at ~560 positions), 826 -> 846 (at ~4000). */
#define AD_WARPS 8
#define AD_MAX_SPLITS 16  /* chunks of the cache per head group */
#define AD_SPLIT_MIN 16   /* positions of capacity per split: fewer splits for small caches */
#define AD_MAX_DPL 8      /* dims per lane: head_dim <= 256 */
#define AD_REGS 16        /* GH * DPL: q and accumulator registers per head group and lane */

/* Splits for a cache of n_ctx positions: enough blocks to spread over the GPU at long
 * contexts, few at short ones (each split costs a partial write and a merge term). */
static int ad_splits(int n_ctx)
{
    int s = (n_ctx + AD_SPLIT_MIN - 1) / AD_SPLIT_MIN;
    return s < 1 ? 1 : s > AD_MAX_SPLITS ? AD_MAX_SPLITS : s;
}

/* Heads per block: the largest of 8, 4, 2, 1 that divides the group and keeps the q and
 * accumulator registers (GH * DPL per lane) within AD_REGS. */
static int ad_heads_per_block(int group, int dpl)
{
    for (int gh = 8; gh > 1; gh /= 2)
        if (group % gh == 0 && gh * dpl <= AD_REGS)
            return gh;
    return 1;
}

/* Work layout: acc [n_heads][S][hd], ml [n_heads][S][2], tickets [n_heads / GH]. */
static size_t ad_work_bytes(int n_heads, int hd, int splits)
{
    return (size_t)n_heads * splits * ((size_t)hd + 2) * sizeof(float) +
           (size_t)n_heads * sizeof(unsigned);
}

// ----------------------------------------------------------------------------------------
// GPU kernel

/* Key/value rows each warp keeps in flight: 8 up to head_dim 128 (16-64 registers),
 * 4 above (64 registers at head_dim 256). */
template <int DPL> struct AdRing { static constexpr int value = DPL <= 4 ? 8 : 4; };

template <int DPL, int GH>
__global__ void __launch_bounds__(AD_WARPS * 32)
attention_decode_kernel(const float *__restrict__ q, const float *__restrict__ k,
                        const float *__restrict__ v, float *k_cache, float *v_cache,
                        float *__restrict__ out, float *acc_work, float *ml_work,
                        unsigned *tickets, const int32_t *__restrict__ pos_p, int n_heads,
                        int group, int hd, float scale)
{
    __shared__ float sm_m[AD_WARPS][GH], sm_l[AD_WARPS][GH];
    __shared__ float sm_acc[AD_WARPS][GH][DPL * 32];
    __shared__ int sm_last;
    constexpr int RING = AdRing<DPL>::value;
    wrk_pdl_trigger();
    const int S = gridDim.y, s = blockIdx.y;
    const int h0 = blockIdx.x * GH;        /* first query head of the block */
    const int g = h0 / group;              /* its KV head */
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const size_t kv_width = (size_t)(n_heads / group) * hd;
    /* The position was copied in before the step's first kernel, and the cache rows before
     * it were written by earlier steps: neither comes from the kernel this one may overlap
     * (programmatic dependent launch), so both are read before wrk_pdl_wait(). */
    const int pos = *pos_p, len = pos + 1;
    /* positions per split: at least AD_SPLIT_MIN, so a short context uses few of the S
     * splits (the rest only take a ticket) and the merge has few partials; split 0 is never
     * empty */
    const int per = max((len + S - 1) / S, AD_SPLIT_MIN);
    const int t0 = s * per, t1 = min(len, t0 + per);
    const float *kn = k + (size_t)g * hd, *vn = v + (size_t)g * hd;

    /* Each warp walks positions t0 + warp, + AD_WARPS, ... through a ring of RING key/value
     * rows in registers: the rows of RING positions are requested before the first is used
     * and each used slot is refilled at once, so a warp waits for memory about once, not
     * once per position. The cache rows of the first round are requested before the wait;
     * the new token's row (t == pos) comes from k/v after it. */
    float kr[RING][DPL], vr[RING][DPL];
    auto load_rows = [&](int u, int t) {
        const float *kt = t == pos ? kn : k_cache + (size_t)t * kv_width + (size_t)g * hd;
        const float *vt = t == pos ? vn : v_cache + (size_t)t * kv_width + (size_t)g * hd;
#pragma unroll
        for (int e = 0; e < DPL; e++) {
            const int d = lane + 32 * e;
            kr[u][e] = d < hd ? kt[d] : 0.0f;
            vr[u][e] = d < hd ? vt[d] : 0.0f;
        }
    };
#pragma unroll
    for (int u = 0; u < RING; u++) {
        const int t = t0 + warp + u * AD_WARPS;
        if (t < t1 && t < pos)
            load_rows(u, t);
    }
    wrk_pdl_wait();

    /* store the new row once per KV head */
    if (s == 0 && h0 % group == 0)
        for (int d = threadIdx.x; d < hd; d += blockDim.x) {
            k_cache[(size_t)pos * kv_width + (size_t)g * hd + d] = kn[d];
            v_cache[(size_t)pos * kv_width + (size_t)g * hd + d] = vn[d];
        }

    if (t0 < t1) {
        float qr[GH][DPL], acc[GH][DPL], m[GH], l[GH];
#pragma unroll
        for (int j = 0; j < GH; j++) {
            m[j] = -INFINITY;
            l[j] = 0.0f;
#pragma unroll
            for (int e = 0; e < DPL; e++) {
                const int d = lane + 32 * e;
                qr[j][e] = d < hd ? q[(size_t)(h0 + j) * hd + d] : 0.0f;
                acc[j][e] = 0.0f;
            }
        }
#pragma unroll
        for (int u = 0; u < RING; u++)
            if (t0 + warp + u * AD_WARPS == pos)
                load_rows(u, pos);
        for (int base = t0 + warp; base < t1; base += RING * AD_WARPS) {
#pragma unroll
            for (int u = 0; u < RING; u++) {
                const int t = base + u * AD_WARPS;
                if (t >= t1)
                    break;
#pragma unroll
                for (int j = 0; j < GH; j++) {
                    float sc = 0.0f;
#pragma unroll
                    for (int e = 0; e < DPL; e++)
                        sc = fmaf(qr[j][e], kr[u][e], sc);
                    sc = warp_sum(sc) * scale;
                    const float m_new = fmaxf(m[j], sc);
                    const float corr = expf(m[j] - m_new); /* 0 on the first position */
                    const float p = expf(sc - m_new);
                    l[j] = l[j] * corr + p;
#pragma unroll
                    for (int e = 0; e < DPL; e++)
                        acc[j][e] = fmaf(p, vr[u][e], acc[j][e] * corr);
                    m[j] = m_new;
                }
                if (t + RING * AD_WARPS < t1)
                    load_rows(u, t + RING * AD_WARPS);
            }
        }
#pragma unroll
        for (int j = 0; j < GH; j++) {
            if (lane == 0) {
                sm_m[warp][j] = m[j];
                sm_l[warp][j] = l[j];
            }
#pragma unroll
            for (int e = 0; e < DPL; e++)
                sm_acc[warp][j][lane + 32 * e] = acc[j][e];
        }
        __syncthreads();
        /* merge the warps (a warp without a position has m = -inf and weighs 0; warp 0
         * always has t0) and write this split's partial */
        for (int j = 0; j < GH; j++) {
            float M = sm_m[0][j];
#pragma unroll
            for (int w = 1; w < AD_WARPS; w++)
                M = fmaxf(M, sm_m[w][j]);
            float e[AD_WARPS], L = 0.0f;
#pragma unroll
            for (int w = 0; w < AD_WARPS; w++) {
                e[w] = expf(sm_m[w][j] - M);
                L += e[w] * sm_l[w][j];
            }
            const size_t ps = (size_t)(h0 + j) * S + s;
            for (int d = threadIdx.x; d < hd; d += blockDim.x) {
                float o = 0.0f;
#pragma unroll
                for (int w = 0; w < AD_WARPS; w++)
                    o = fmaf(e[w], sm_acc[w][j][d], o);
                acc_work[ps * hd + d] = o;
            }
            if (threadIdx.x == 0) {
                ml_work[ps * 2] = M;
                ml_work[ps * 2 + 1] = L;
            }
        }
    }

    /* the last split of this head group to finish merges them all */
    __threadfence();
    __syncthreads();
    if (threadIdx.x == 0)
        sm_last = atomicInc(&tickets[blockIdx.x], (unsigned)S - 1u) == (unsigned)S - 1u;
    __syncthreads();
    if (!sm_last)
        return;
    __threadfence();
    /* The merge, in one round of loads: each thread first requests the split partials of
     * its (head, dim) items, then lane i of warp j reads split i's (m, l) of head j, and the
     * weights e^(m_i - M) / L go through shared memory. (Head by head, this was five
     * dependent round trips to L2: ~3 us of a 1B layer's ~10 us, ncu on the H100.) */
    constexpr int MI = (GH * DPL * 32 + AD_WARPS * 32 - 1) / (AD_WARPS * 32); /* items */
    __shared__ float sm_w[GH][AD_MAX_SPLITS];
    const int used = (len + per - 1) / per; /* splits that had positions, <= S <= 32 */
    float part[MI][AD_MAX_SPLITS];
#pragma unroll
    for (int it = 0; it < MI; it++) {
        const int item = threadIdx.x + it * AD_WARPS * 32, j = item / hd, d = item % hd;
#pragma unroll
        for (int i = 0; i < AD_MAX_SPLITS; i++)
            part[it][i] = j < GH && i < used
                              ? __ldcg(acc_work + ((size_t)(h0 + j) * S + i) * hd + d)
                              : 0.0f;
    }
    if (warp < GH)
        for (int j = warp; j < GH; j += AD_WARPS) {
            const size_t p0 = (size_t)(h0 + j) * S;
            const float mi = lane < used ? __ldcg(ml_work + (p0 + lane) * 2) : -INFINITY;
            const float li = lane < used ? __ldcg(ml_work + (p0 + lane) * 2 + 1) : 0.0f;
            const float M = warp_max(mi);
            const float wi = lane < used ? expf(mi - M) : 0.0f;
            const float L = warp_sum(wi * li);
            if (lane < AD_MAX_SPLITS)
                sm_w[j][lane] = wi / L;
        }
    __syncthreads();
#pragma unroll
    for (int it = 0; it < MI; it++) {
        const int item = threadIdx.x + it * AD_WARPS * 32, j = item / hd, d = item % hd;
        if (j >= GH)
            continue;
        float o = 0.0f;
#pragma unroll
        for (int i = 0; i < AD_MAX_SPLITS; i++)
            if (i < used)
                o = fmaf(sm_w[j][i], part[it][i], o);
        out[(size_t)(h0 + j) * hd + d] = o;
    }
}

// ----------------------------------------------------------------------------------------
// Launchers

extern "C" int wrk_cuda_attention_decode_work(const wp_host *host, const wp_attention_params *p,
                                              size_t *bytes)
{
    (void)host;
    int rc = wrk_ops_check_attention_decode_work(p, bytes);
    if (rc)
        return rc;
    *bytes = ad_work_bytes(p->n_heads, p->head_dim, ad_splits(p->n_ctx));
    return 0;
}

/* Launch with GH = gh heads per block (ad_heads_per_block picked it, so gh * DPL fits). */
template <int DPL>
static void ad_launch(cudaStream_t st, int gh, dim3 grid, const float *q, const float *k,
                      const float *v, float *kc, float *vc, float *out, float *accw, float *mlw,
                      unsigned *tickets, const int32_t *pos, int n_heads, int group, int hd,
                      float scale)
{
#define AD_LAUNCH(GH_)                                                                        \
    wrk_launch(attention_decode_kernel<DPL, GH_>, grid, AD_WARPS * 32, st, q, k, v, kc, vc, out, \
               accw, mlw, tickets, pos, n_heads, group, hd, scale)
    if constexpr (8 * DPL <= AD_REGS)
        if (gh == 8) {
            AD_LAUNCH(8);
            return;
        }
    if constexpr (4 * DPL <= AD_REGS)
        if (gh == 4) {
            AD_LAUNCH(4);
            return;
        }
    if (gh == 2) {
        AD_LAUNCH(2);
        return;
    }
    AD_LAUNCH(1);
#undef AD_LAUNCH
}

extern "C" int wrk_cuda_attention_decode(const wp_host *host, const wp_attention_params *p,
                                         const int32_t *pos, const float *q, const float *k,
                                         const float *v, float *k_cache, float *v_cache,
                                         float *out, void *work)
{
    /* the work size only matters once the shape has passed the check */
    const size_t need = p ? ad_work_bytes(p->n_heads, p->head_dim, ad_splits(p->n_ctx)) : 0;
    int rc = wrk_ops_check_attention_decode(p, pos, q, k, v, k_cache, v_cache, out, work, need);
    if (rc)
        return rc;
    if (p->head_dim > 32 * AD_MAX_DPL)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                         "attention_decode: head_dim %d above the CUDA kernel's limit %d",
                         p->head_dim, 32 * AD_MAX_DPL);
    const int splits = ad_splits(p->n_ctx);
    const int group = p->n_heads / p->n_kv_heads;
    const int dpl = (p->head_dim + 31) / 32;
    const int dpl_t = dpl <= 1 ? 1 : dpl <= 2 ? 2 : dpl <= 4 ? 4 : 8;
    const int gh = ad_heads_per_block(group, dpl_t);
    float *accw = (float *)work;
    float *mlw = accw + (size_t)p->n_heads * splits * p->head_dim;
    unsigned *tickets = (unsigned *)(mlw + (size_t)p->n_heads * splits * 2);
    const dim3 grid((unsigned)(p->n_heads / gh), (unsigned)splits);
    const cudaStream_t st = wrk_stream(host);
#define AD_DPL(D)                                                                             \
    ad_launch<D>(st, gh, grid, q, k, v, k_cache, v_cache, out, accw, mlw, tickets, pos,       \
                 p->n_heads, group, p->head_dim, p->scale)
    switch (dpl_t) {
    case 1: AD_DPL(1); break;
    case 2: AD_DPL(2); break;
    case 4: AD_DPL(4); break;
    default: AD_DPL(8); break;
    }
#undef AD_DPL
    return wrk_cuda_launch_check("attention_decode");
}
