/*
 * matmul_int8.cu - decode (n = 1) products of quantized weights (Q8_0, Q4_0, Q4_K, Q6_K)
 * with x quantized to int8: the int8-dot path of matmul, matmul_multi and matmul_glu.
 *
 * Why: the fp32 GEMV of matmul.cu turns every weight into an fp32 value and does one FMA
 * per weight with 4 bytes of x from L1; on the H100 that is issue- and L1-bound at 25-60% of
 * the memory bandwidth (docs/performance.md, "GEMV kernels"). Here, as in llama.cpp's MMVQ,
 * x is quantized once per 32-element block b to int8,
 *     d_b = amax_b / 127 (fp32, correctly rounded),  q_j = roundf(x_j / d_b)
 * (division correctly rounded, then round half away from zero; amax_b = 0 gives d_b = 0 and
 * q_j = 0), and each lane multiplies the integer weight quants by the x quants with __dp4a
 * (4 products per instruction), applying the weight and x scales per block in fp32. About
 * 2-3 instructions per weight instead of ~5, and 1 byte of x per weight from shared memory.
 *
 * Accuracy: the result is the product of the weights with x'_j = q_j d_b (exact integer sums,
 * fp32 scale arithmetic). |x_j - x'_j| <= d_b / 2 (+ the division's rounding, < 2e-5 d_b), so
 * against the host set's exact-x product
 *     |y - y_host| <= sum_b d_b / 2 * sum_{j in b} |w_j|  + fp32 rounding,
 * the bound the tests check (tests/ops/ops_int8ref.c); the fp32 path keeps its 1e-4.
 * Q4_K's min term uses the same x' (the sum of q over the 32-block times d_b, staged once),
 * so the bound holds for the dequantized w_j = d sc q - dmin m as a whole.
 *
 * Shape: blocks of I8_WARPS warps, at most a few per SM; each warp takes rows gw,
 * gw + all warps, ... over the launch's parts (persistent). A block first stages all of x in
 * shared memory as int8 quants plus per-32-block floats, so x is read from L2 and quantized
 * once per block, not once per row. The weight loads of a warp's first row are issued before
 * the programmatic-dependent-launch wait (weights do not depend on the previous kernel), the
 * next row's first round before the current row's reduction; launches without GLU walk their
 * rows in half-rounds (i8_pipe: the next half always in flight).
 *
 * Weight reads: Q4_K blocks are 16-byte aligned (144 bytes): 16-byte loads. Q8_0, Q4_0 and
 * Q6_K blocks are only 2-byte aligned (34, 18, 210 bytes): each run of 8 quant bytes is read
 * as two aligned words from its address rounded down to 4 plus, when it was 2 mod 4, its
 * last 2 bytes by a 16-bit load, and realigned with one byte_perm per word (fetch8). Every
 * read stays inside the run or the 2 bytes before it. That bounds Q8_0 by load
 * instructions (35-60% of the bandwidth on the H100), so Q8_0 rows of in % 256 == 0 with
 * 16-byte aligned data take a second kernel, matmul_q8s_kernel: each warp copies its rows
 * in 16-byte pieces into shared memory (cp.async, two chunks of up to 2176 bytes in
 * flight per warp, the first two before the PDL wait) and reads them from there without
 * bank conflicts (section "Q8_0 rows staged through shared memory"). The same arithmetic
 * per block as I8Q8_0, so the same accuracy bound.
 *
 * Selected by matmul.cu for n == 1 when wrk_cuda_int8_takes() says so: by default only for
 * the types and shapes where it measured faster than the fp32 path on the H100
 * (i8_auto_prefers: Q4_K; Q6_K from 8192 rows; Q8_0 where the staged kernel reads it and
 * rows are >= 1024 wide: bench_gemv graph 2048x2048 4.1 us, 8192x2048 8.4, 2048x8192 11.8,
 * 128256x2048 109, 4096x14336 30.9, against the fp32 path's 5.1, 12.5, 12.2, 160, 48.7;
 * 1B Q8_0 decode 865 -> 1149 tok/s); WORKER_CUDA_INT8_DOT=0 keeps the fp32
 * path everywhere, =1 takes this one wherever it can run (read once per process);
 * WORKER_CUDA_Q8_STAGED=0 turns the staged Q8_0 kernel off (an A/B aid). Test:
 * tests/ops/test_ops_int8_cuda (every type, forced on, staged and unstaged Q8_0; and the
 * decode cases of test_ops_cuda / test_ops_fused_cuda); time: tests/ops/bench_gemv.
 */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_pipeline_primitives.h>

#include "core/wrk_env.h"
#include "ops/cuda/cuda_ops.h"
#include "ops/cuda/quant_traits.cuh"
#include "ops/ops_internal.h"

#define I8_WARPS 16                 /* warps per CUDA block */
#define I8_THREADS (I8_WARPS * 32)
/* x is staged in 80 bytes per 64 elements (below): up to 40 KiB, under the 48 KiB that
 * needs no opt-in. Wider products keep the fp32 path. */
#define I8_MAX_IN 32768
#define I8_SMEM_BYTES(in) ((size_t)80 * (((size_t)(in) / 32 + 1) / 2))

// ----------------------------------------------------------------------------------------
// x in shared memory
//
// Pairs of 32-element x blocks, 80 bytes each: quants of the even block [0, 32), of the odd
// block [32, 64), then the floats d_even, d_odd, s_even, s_odd (s = d * sum of the block's
// quants, Q4_K's min term). The 80-byte stride (not 64) spreads the lanes of the Q4_K and
// Q6_K patterns over all banks: a quarter warp of Q4_K lanes (two weight blocks, four
// chunks each) reads 16 bytes at 320 blk + 80 c, distinct modulo 128; with a 64-byte
// stride they would hit two 16-byte bank groups (8-way conflicts).

__device__ __forceinline__ int i8_q_off(int xb)
{
    return 80 * (xb >> 1) + 32 * (xb & 1);
}

__device__ __forceinline__ int i8_d_off(int xb)
{
    return 80 * (xb >> 1) + 64 + 4 * (xb & 1);
}

__device__ __forceinline__ int warp_sum_int(int v)
{
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    return __reduce_add_sync(0xffffffffu, v);
#else
#pragma unroll
    for (int o = 16; o > 0; o >>= 1)
        v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
#endif
}

/* Quantize x (in elements, a multiple of 32) into xs: warp w takes blocks w, w + I8_WARPS,
 * ..., LOADS at a time so that many loads are in flight; lane j holds element j
 * of a block. The staging comes after the wait for the kernel that produced x, so each
 * round of loads is on the launch's critical path: the half-round launches (no GLU) stage
 * 8 at a time (a 14336-wide x: 4 rounds instead of 7; measured on an H200, bench_gemv graph:
 * Q4_K 4096x14336 21.3 -> 18.7 us, Q6_K 32.9 -> 31.0, 4096x4096 6.9 -> 6.6; 8B Q4_K_M
 * decode 360.0 -> 372.7 tok/s there), the others 4, which keeps the GLU instances within
 * the 64 registers of two blocks per SM (8 took them to 71-80). */
template <int LOADS>
__device__ __forceinline__ void i8_stage_x(const float *__restrict__ x, int in, uint8_t *xs,
                                           int warp, int lane)
{
    const int nxb = in / 32;
    for (int xb0 = warp; xb0 < nxb; xb0 += LOADS * I8_WARPS) {
        float v[LOADS];
#pragma unroll
        for (int k = 0; k < LOADS; k++) {
            const int xb = xb0 + k * I8_WARPS;
            v[k] = xb < nxb ? x[32 * xb + lane] : 0.0f;
        }
#pragma unroll
        for (int k = 0; k < LOADS; k++) {
            const int xb = xb0 + k * I8_WARPS;
            if (xb >= nxb) /* uniform over the warp */
                break;
            const float amax = warp_max(fabsf(v[k]));
            const float d = __fdiv_rn(amax, 127.0f);
            const int q = amax == 0.0f ? 0 : (int)roundf(__fdiv_rn(v[k], d));
            xs[i8_q_off(xb) + lane] = (uint8_t)(int8_t)q;
            const int sq = warp_sum_int(q);
            if (lane == 0) {
                *(float *)(xs + i8_d_off(xb)) = d;
                *(float *)(xs + i8_d_off(xb) + 8) = d * (float)sq;
            }
        }
    }
}

// ----------------------------------------------------------------------------------------
// Weight reads and the per-item dot products, one struct per layout
//
// A row is nblk blocks of BYTES bytes (QK elements); each block is split into TPB items, one
// per lane (TPB divides 32, so a lane always sees the same sub-index). fetch() issues an
// item's loads into a compact Raw; dot() returns the item's contribution to the row's
// product in fp32. U items per lane are loaded per round before any is used.

/* 8 quant bytes at the 2-byte aligned o: words a, b from o rounded down to 4; c = the last
 * 2 bytes (16-bit load) when o is 2 mod 4, else unused. */
struct W8 {
    uint32_t a, b, c;
};

__device__ __forceinline__ W8 fetch8(const uint8_t *o)
{
    const unsigned int *base = (const unsigned int *)((uintptr_t)o & ~(uintptr_t)3);
    W8 r;
    r.a = __ldg(base);
    r.b = __ldg(base + 1);
    r.c = ((uintptr_t)o & 2u) ? ld_u16(o + 6) : 0u;
    return r;
}

/* The 8 bytes as two words; sel = 0x3210 when o was 4-byte aligned (a, b are the bytes),
 * 0x5432 when it was 2 mod 4 (bytes 2-3 of a and 0-1 of b, then of b and c). */
__device__ __forceinline__ uint2 align8(const W8 &r, uint32_t sel)
{
    return make_uint2(__byte_perm(r.a, r.b, sel), __byte_perm(r.b, r.c, sel));
}

/* sel from the flag fetch() stores in bit 16 of a block's f16 scale word */
__device__ __forceinline__ uint32_t sel_of(uint32_t dm)
{
    return (dm >> 16) ? 0x5432u : 0x3210u;
}

__device__ __forceinline__ int dp4a(uint32_t a, uint32_t b, int c)
{
    return __dp4a((int)a, (int)b, c);
}

/* ---- Q8_0: f16 d, int8 qs[32]. Item = 8 quants (TPB 4), x block = the weight block. ---- */
struct I8Q8_0 {
    static constexpr int QK = 32, BYTES = 34, TPB = 4, U = 8;
    struct Raw {
        W8 q;
        uint32_t dm; /* f16 d | quants 2 mod 4 << 16 */
    };
    __device__ static Raw fetch(const uint8_t *b, int sub)
    {
        const uint8_t *o = b + 2 + 8 * sub;
        return Raw{fetch8(o), ld_u16(b) | (((uint32_t)(uintptr_t)o & 2u) << 15)};
    }
    __device__ static float dot(const Raw &r, int sub, const uint8_t *xs, int blk)
    {
        const uint2 q = align8(r.q, sel_of(r.dm));
        const uint2 xq = *(const uint2 *)(xs + i8_q_off(blk) + 8 * sub);
        const int s = dp4a(q.y, xq.y, dp4a(q.x, xq.x, 0));
        const float dx = *(const float *)(xs + i8_d_off(blk));
        return f16_bits_to_f32(r.dm & 0xffffu) * dx * (float)s;
    }
};

/* ---- Q4_0: f16 d, uint8 qs[16]; element j = (qs[j] & 15) - 8, j + 16 = (qs[j] >> 4) - 8.
 * Item = 8 bytes (TPB 2): elements 8 sub.. (low nibbles) and 16 + 8 sub.. (high). ------- */
struct I8Q4_0 {
    static constexpr int QK = 32, BYTES = 18, TPB = 2, U = 4;
    typedef I8Q8_0::Raw Raw;
    __device__ static Raw fetch(const uint8_t *b, int sub)
    {
        const uint8_t *o = b + 2 + 8 * sub;
        return Raw{fetch8(o), ld_u16(b) | (((uint32_t)(uintptr_t)o & 2u) << 15)};
    }
    __device__ static float dot(const Raw &r, int sub, const uint8_t *xs, int blk)
    {
        const uint2 q = align8(r.q, sel_of(r.dm));
        const uint8_t *xp = xs + i8_q_off(blk) + 8 * sub;
        const uint2 xl = *(const uint2 *)xp, xh = *(const uint2 *)(xp + 16);
        const uint32_t m = 0x0f0f0f0fu;
        int s = dp4a(q.x & m, xl.x, 0);
        s = dp4a(q.y & m, xl.y, s);
        s = dp4a((q.x >> 4) & m, xh.x, s);
        s = dp4a((q.y >> 4) & m, xh.y, s);
        /* the -8 of every quant: 8 * the sum of the x quants */
        int o = dp4a(0x08080808u, xl.x, 0);
        o = dp4a(0x08080808u, xl.y, o);
        o = dp4a(0x08080808u, xh.x, o);
        o = dp4a(0x08080808u, xh.y, o);
        const float dx = *(const float *)(xs + i8_d_off(blk));
        return f16_bits_to_f32(r.dm & 0xffffu) * dx * (float)(s - o);
    }
};

/* ---- Q4_K: f16 d, f16 dmin, 12 bytes of 6-bit scales/mins, qs[128]. Item = chunk c of 64
 * elements (TPB 4): qs[32c..32c+31] by two 16-byte loads plus the 16-byte header; low
 * nibbles are sub-block 2c (x block 8 blk + 2c), high nibbles sub-block 2c + 1 (the next x
 * block): both halves of x pair 4 blk + c. w = d sc q - dmin m. ---------------------------*/
struct I8Q4_K {
    static constexpr int QK = 256, BYTES = 144, TPB = 4, U = 2;
    struct Raw {
        uint4 h, q0, q1;
    };
    __device__ static Raw fetch(const uint8_t *b, int c)
    {
        return Raw{ld_u128(b), ld_u128(b + 16 + 32 * c), ld_u128(b + 32 + 32 * c)};
    }
    __device__ static float dot(const Raw &r, int c, const uint8_t *xs, int blk)
    {
        /* scale and min of sub-blocks 2c and 2c + 1 as byte pairs, ggml's get_scale_min_k4
         * for two at once: header words y, z, w are scales[0..3], [4..7], [8..11] */
        const int sh = 16 * (c & 1);
        const uint32_t s0 = r.h.y >> sh, s1 = r.h.z >> sh, s2 = r.h.w >> sh;
        uint32_t sc, mn;
        if (c < 2) {
            sc = s0 & 0x3f3fu;
            mn = s1 & 0x3f3fu;
        } else {
            sc = (s2 & 0x0f0fu) | ((s0 >> 2) & 0x3030u);
            mn = ((s2 >> 4) & 0x0f0fu) | ((s1 >> 2) & 0x3030u);
        }
        const uint8_t *xp = xs + 80 * (4 * blk + c);
        const uint4 xa0 = *(const uint4 *)xp, xa1 = *(const uint4 *)(xp + 16);
        const uint4 xb0 = *(const uint4 *)(xp + 32), xb1 = *(const uint4 *)(xp + 48);
        const float4 f = *(const float4 *)(xp + 64); /* d_a, d_b, s_a, s_b */
        const uint32_t m = 0x0f0f0f0fu;
        int sa = dp4a(r.q0.x & m, xa0.x, 0);
        sa = dp4a(r.q0.y & m, xa0.y, sa);
        sa = dp4a(r.q0.z & m, xa0.z, sa);
        sa = dp4a(r.q0.w & m, xa0.w, sa);
        sa = dp4a(r.q1.x & m, xa1.x, sa);
        sa = dp4a(r.q1.y & m, xa1.y, sa);
        sa = dp4a(r.q1.z & m, xa1.z, sa);
        sa = dp4a(r.q1.w & m, xa1.w, sa);
        int sb = dp4a((r.q0.x >> 4) & m, xb0.x, 0);
        sb = dp4a((r.q0.y >> 4) & m, xb0.y, sb);
        sb = dp4a((r.q0.z >> 4) & m, xb0.z, sb);
        sb = dp4a((r.q0.w >> 4) & m, xb0.w, sb);
        sb = dp4a((r.q1.x >> 4) & m, xb1.x, sb);
        sb = dp4a((r.q1.y >> 4) & m, xb1.y, sb);
        sb = dp4a((r.q1.z >> 4) & m, xb1.z, sb);
        sb = dp4a((r.q1.w >> 4) & m, xb1.w, sb);
        /* |sc * sum| <= 63 * 32 * 15 * 127: exact in int */
        const int ia = (int)(sc & 0xffu) * sa, ib = (int)(sc >> 8) * sb;
        const float d = f16_bits_to_f32(r.h.x & 0xffffu), dmin = f16_bits_to_f32(r.h.x >> 16);
        return d * (f.x * (float)ia + f.y * (float)ib) -
               dmin * ((float)(mn & 0xffu) * f.z + (float)(mn >> 8) * f.w);
    }
};

/* ---- Q6_K: ql[128], qh[64], int8 scales[16], f16 d. Item (TPB 8): half h = sub / 4, 8
 * consecutive l from l0 = 8 (sub % 4): element 128h + 32k + l (k = 0..3) is x block
 * 8 blk + 4h + k at offset l, with scale scales[8h + l0/16 + 2k] (see quant_traits.cuh for
 * the bit layout). Four 8-byte runs: ql at 64h + l0 and 64h + 32 + l0, qh at 128 + 32h + l0,
 * scales[8h..8h+7]; all at block offsets 0 mod 4, so one alignment flag per block. ------ */
struct I8Q6_K {
    static constexpr int QK = 256, BYTES = 210, TPB = 8, U = 2;
    struct Raw {
        W8 a, b, h, s;
        uint32_t dm; /* f16 d | block 2 mod 4 << 16 */
    };
    __device__ static Raw fetch(const uint8_t *blk, int sub)
    {
        const int hh = sub >> 2, l0 = 8 * (sub & 3);
        return Raw{fetch8(blk + 64 * hh + l0), fetch8(blk + 64 * hh + 32 + l0),
                   fetch8(blk + 128 + 32 * hh + l0), fetch8(blk + 192 + 8 * hh),
                   ld_u16(blk + 208) | (((uint32_t)(uintptr_t)blk & 2u) << 15)};
    }
    __device__ static int dot6(uint32_t v0, uint32_t v1, uint2 x)
    {
        /* (v - 32) . x = v . x - 32 * sum x, all exact */
        return dp4a(v1, x.y, dp4a(v0, x.x, 0)) -
               dp4a(0x20202020u, x.y, dp4a(0x20202020u, x.x, 0));
    }
    __device__ static float dot(const Raw &r, int sub, const uint8_t *xs, int blk)
    {
        const uint32_t sel = sel_of(r.dm);
        const uint2 la = align8(r.a, sel), lb = align8(r.b, sel);
        const uint2 qh = align8(r.h, sel), scw = align8(r.s, sel);
        const int hh = sub >> 2, l0 = 8 * (sub & 3), sh = 8 * ((sub & 3) >> 1);
        const int sc0 = (int)(int8_t)(scw.x >> sh), sc1 = (int)(int8_t)(scw.x >> (sh + 16));
        const int sc2 = (int)(int8_t)(scw.y >> sh), sc3 = (int)(int8_t)(scw.y >> (sh + 16));
        const uint32_t m4 = 0x0f0f0f0fu, m2 = 0x30303030u;
        /* x blocks 8 blk + 4h + k: k = 0, 1 are pair 4 blk + 2h, k = 2, 3 the next pair */
        const uint8_t *xp = xs + 80 * (4 * blk + 2 * hh) + l0;
        const uint2 x0 = *(const uint2 *)xp, x1 = *(const uint2 *)(xp + 32);
        const uint2 x2 = *(const uint2 *)(xp + 80), x3 = *(const uint2 *)(xp + 112);
        const float2 d01 = *(const float2 *)(xp - l0 + 64);
        const float2 d23 = *(const float2 *)(xp - l0 + 144);
        const int s0 = dot6((la.x & m4) | ((qh.x << 4) & m2), (la.y & m4) | ((qh.y << 4) & m2), x0);
        const int s1 = dot6((lb.x & m4) | ((qh.x << 2) & m2), (lb.y & m4) | ((qh.y << 2) & m2), x1);
        const int s2 = dot6(((la.x >> 4) & m4) | (qh.x & m2), ((la.y >> 4) & m4) | (qh.y & m2), x2);
        const int s3 = dot6(((lb.x >> 4) & m4) | ((qh.x >> 2) & m2),
                            ((lb.y >> 4) & m4) | ((qh.y >> 2) & m2), x3);
        /* |sc * s| <= 128 * 8 * 32 * 127: exact in int */
        return f16_bits_to_f32(r.dm & 0xffffu) *
               (d01.x * (float)(sc0 * s0) + d01.y * (float)(sc1 * s1) +
                d23.x * (float)(sc2 * s2) + d23.y * (float)(sc3 * s3));
    }
};

// ----------------------------------------------------------------------------------------
// GPU kernel

/* One weight of a launch: rows [row0, next part's row0) of the launch are its rows. */
struct I8Part {
    const uint8_t *W;
    float *y;
    const float *bias;
    int row0;
};

struct I8Args {
    I8Part p[WP_MATMUL_MAX_PARTS];
    int count;
    int rows;            /* all parts */
    int accumulate;      /* y += result */
    int in;
    const uint8_t *up_W; /* GLU only: rows pair with the gate's (part 0) */
    size_t row_bytes;
};

/* A warp's current row: its weight row(s) (GLU: gate and up), output, bias, index. */
template <int R>
struct I8Row {
    const uint8_t *w[R];
    float *y;
    const float *bias;
    int r;
};

/* The part of launch row rw, picked with constant indices (a run-time index into the
 * parameter struct would copy it to local memory). */
template <int R>
__device__ __forceinline__ I8Row<R> i8_locate(const I8Args &a, int rw)
{
    I8Row<R> f;
    const uint8_t *W = a.p[0].W;
    f.y = a.p[0].y;
    f.bias = a.p[0].bias;
    int r0 = 0;
#pragma unroll
    for (int i = 1; i < WP_MATMUL_MAX_PARTS; i++)
        if (i < a.count && rw >= a.p[i].row0) {
            W = a.p[i].W;
            f.y = a.p[i].y;
            f.bias = a.p[i].bias;
            r0 = a.p[i].row0;
        }
    f.r = rw - r0;
    f.w[0] = W + (size_t)f.r * a.row_bytes;
    if constexpr (R == 2)
        f.w[1] = a.up_W + (size_t)f.r * a.row_bytes;
    return f;
}

/* A finished row: the warp's sums of its lanes' parts acc[R], lane 0 writes (GLU:
 * silu(gate) * up; else + bias, into or onto y). All lanes call it. */
template <bool GLU>
__device__ __forceinline__ void i8_store(const I8Args &a, const I8Row<GLU ? 2 : 1> &f,
                                         const float *acc, int lane)
{
    if constexpr (GLU) {
        const float g = warp_sum(acc[0]), u = warp_sum(acc[1]);
        if (lane == 0)
            f.y[f.r] = g / (1.0f + expf(-g)) * u;
    } else {
        const float s = warp_sum(acc[0]);
        if (lane == 0) {
            const float v = f.bias ? s + __ldg(f.bias + f.r) : s;
            float *dst = f.y + f.r;
            *dst = a.accumulate ? *dst + v : v;
        }
    }
}

/* K items of a lane, from item `base` (items base + 32 u + lane, u < K, those < n_items): the
 * weights of rows w[R] into raw (i8_fetch_items), or their dot products with the staged x
 * added into acc (i8_dot_items). Shared by the whole-round and the half-round walks. */
template <class T, int K, int R>
__device__ __forceinline__ void i8_fetch_items(typename T::Raw (&raw)[K][R],
                                               const uint8_t *const (&w)[R], int base,
                                               int n_items, int lane, int sub)
{
#pragma unroll
    for (int u = 0; u < K; u++) {
        const int it = base + u * 32 + lane;
        if (it < n_items)
#pragma unroll
            for (int q = 0; q < R; q++)
                raw[u][q] = T::fetch(w[q] + (size_t)(it / T::TPB) * T::BYTES, sub);
    }
}

template <class T, int K, int R>
__device__ __forceinline__ void i8_dot_items(const typename T::Raw (&raw)[K][R],
                                             float (&acc)[R], int base, int n_items, int lane,
                                             int sub, const uint8_t *xs)
{
#pragma unroll
    for (int u = 0; u < K; u++) {
        const int it = base + u * 32 + lane;
        if (it < n_items)
#pragma unroll
            for (int q = 0; q < R; q++)
                acc[q] += T::dot(raw[u][q], sub, xs, it / T::TPB);
    }
}

/* XL: x blocks staged per round of loads (i8_stage_x). */
template <class T, bool GLU, bool PIPE = false, int XL = 4>
__global__ void __launch_bounds__(I8_THREADS)
    matmul_int8_kernel(const I8Args a, const float *__restrict__ x)
{
    extern __shared__ __align__(16) uint8_t xs[];
    constexpr int R = GLU ? 2 : 1;
    /* GLU loads two rows: half the items per round, the same registers */
    constexpr int U = GLU ? (T::U / 2 > 0 ? T::U / 2 : 1) : T::U;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int n_items = (a.in / T::QK) * T::TPB;
    const int sub = lane % T::TPB;
    const int n_warps = (int)gridDim.x * I8_WARPS;
    int row = (int)blockIdx.x * I8_WARPS + warp;

    if constexpr (PIPE) {
        /* Half-rounds (i8_pipe): a warp's rows as one sequence of halves of UH items per
         * lane, loaded into raw_a and raw_b in turn; the half after next is requested as
         * soon as a half has been used, across row ends too, so a warp always has loads in
         * flight. Without it a round's loads are all requested, then all used, and the warps
         * of a launch run in step, the memory pipe draining between rounds. */
        constexpr int UH = U / 2 > 0 ? U / 2 : 1, STEP = 32 * UH;
        typedef typename T::Raw RawSet[UH][R];
        RawSet raw_a, raw_b;
        /* load cursor: row lrw (weight rows lw), items from lbase */
        int lrw = row, lbase = 0;
        const uint8_t *lw[R] = {};
        auto load_row = [&]() {
            if (lrw < a.rows) {
                const I8Row<R> f = i8_locate<R>(a, lrw);
#pragma unroll
                for (int q = 0; q < R; q++)
                    lw[q] = f.w[q];
            }
        };
        auto load_next = [&](RawSet &raw) {
            if (lrw >= a.rows)
                return;
            i8_fetch_items<T, UH, R>(raw, lw, lbase, n_items, lane, sub);
            lbase += STEP;
            if (lbase >= n_items) {
                lbase = 0;
                lrw += n_warps;
                load_row();
            }
        };
        /* use cursor: row `row`, items from ubase; true when the half ended the row */
        int ubase = 0;
        float acc[R];
#pragma unroll
        for (int q = 0; q < R; q++)
            acc[q] = 0.0f;
        auto use = [&](const RawSet &raw) {
            i8_dot_items<T, UH, R>(raw, acc, ubase, n_items, lane, sub, xs);
            ubase += STEP;
            return ubase >= n_items;
        };
        auto finish_row = [&]() {
            i8_store<GLU>(a, i8_locate<R>(a, row), acc, lane);
#pragma unroll
            for (int q = 0; q < R; q++)
                acc[q] = 0.0f;
            ubase = 0;
            row += n_warps;
        };

        wrk_pdl_trigger();
        load_row();
        load_next(raw_a); /* weights: before the wait for the kernel that produces x */
        load_next(raw_b);
        wrk_pdl_wait();
        i8_stage_x<XL>(x, a.in, xs, warp, lane);
        __syncthreads(); /* the only barrier: warps without rows leave after it */
#pragma unroll 1
        while (row < a.rows) {
            bool done = use(raw_a);
            load_next(raw_a);
            if (done)
                finish_row();
            if (row >= a.rows)
                break;
            done = use(raw_b);
            load_next(raw_b);
            if (done)
                finish_row();
        }
        return;
    }

    typename T::Raw raw[U][R];
    auto load_round = [&](const I8Row<R> &f, int base) {
        i8_fetch_items<T, U, R>(raw, f.w, base, n_items, lane, sub);
    };

    wrk_pdl_trigger();
    I8Row<R> cur = {};
    if (row < a.rows) {
        cur = i8_locate<R>(a, row);
        load_round(cur, 0); /* weights: before the wait for the kernel that produces x */
    }
    wrk_pdl_wait();
    i8_stage_x<XL>(x, a.in, xs, warp, lane);
    __syncthreads(); /* the only barrier: warps without rows leave after it */

    for (; row < a.rows; row += n_warps) {
        float acc[R];
#pragma unroll
        for (int q = 0; q < R; q++)
            acc[q] = 0.0f;
#pragma unroll 1
        for (int base = 0; base < n_items; base += 32 * U) {
            if (base > 0)
                load_round(cur, base);
            i8_dot_items<T, U, R>(raw, acc, base, n_items, lane, sub, xs);
        }
        /* the next row's first round is in flight during this row's reduction */
        const int next = row + n_warps;
        I8Row<R> nref = cur;
        if (next < a.rows) {
            nref = i8_locate<R>(a, next);
            load_round(nref, 0);
        }
        i8_store<GLU>(a, cur, acc, lane);
        cur = nref;
    }
}

// ----------------------------------------------------------------------------------------
// Q8_0 rows staged through shared memory (the default for Q8_0 rows of in % 256 == 0)
//
// Why: the kernel above reads Q8_0's 2-byte aligned blocks with ~3 load instructions per 8
// quants and is bound by them (L1 wavefronts), not by HBM (35-60% of the bandwidth). But a
// Q8_0 row of in % 256 == 0 elements is in / 256 runs of 272 bytes: with 16-byte aligned
// data every row starts 16-byte aligned, so a warp copies its row to shared memory in
// 16-byte pieces (cp.async, global to shared without registers: 136 per 2048 elements,
// ~4 per lane, all in flight at once) and computes from there.
//
// Reads from shared memory: lane p takes blocks 2p and 2p + 1 of a chunk (68 bytes from
// 68 p, 4-byte aligned) as 17 aligned words; word j of the 32 lanes is at word 17 p + j, 32
// different banks, so no conflicts. The even block is d (bytes 0-1) and quants at bytes
// 2..33 (one byte_perm per word of 4); the odd block's d is the upper half of word 8 and
// its quants are words 9..16 as they are. x is i8_stage_x's pair p: 4 conflict-free
// 16-byte reads at 80 p (bank group 5 p mod 8, distinct within each quarter warp) and the
// two d floats. Per 64 weights: 17 + 16 + ~2 wavefronts of reads, ~17 of cp.async writes.
//
// Pipeline: a warp walks its rows (gw, gw + all warps, ...) in chunks of up to Q8S_CB
// blocks (one chunk for a 2048-element row, seven for 14336), Q8S_STAGES chunks in flight:
// the chunk after next is requested into a buffer as soon as the warp has read it. The
// first Q8S_STAGES chunks are requested before the programmatic-dependent-launch wait.

#define Q8S_CB 64                        /* Q8_0 blocks per chunk: one pair per lane */
#define Q8S_CHUNK (Q8S_CB * 34)          /* 2176 bytes, a multiple of 16 */
#define Q8S_STAGES 2                     /* chunks in flight per warp */
/* shared memory: per warp Q8S_STAGES chunk buffers per weight row (R), then x */
#define Q8S_WARP_BYTES(R) ((size_t)Q8S_STAGES * (R) * Q8S_CHUNK)
#define Q8S_SMEM_BYTES(R, in) ((size_t)I8_WARPS * Q8S_WARP_BYTES(R) + I8_SMEM_BYTES(in))

/* Copy n16 16-byte pieces from global src to shared dst (both 16-byte aligned), the lanes
 * of a warp taking every 32nd; asynchronous (cp.async) from sm_80, plain loads before. */
__device__ __forceinline__ void q8s_copy(uint8_t *dst, const uint8_t *src, int n16, int lane)
{
#pragma unroll
    for (int k = 0; k < (Q8S_CHUNK / 16 + 31) / 32; k++) {
        const int i = lane + 32 * k;
        if (i < n16)
            __pipeline_memcpy_async(dst + 16 * i, src + 16 * i, 16);
    }
}

/* Dot of the Q8_0 block pair at wp (68 bytes, 4-byte aligned in shared memory) with x pair
 * xp (80 bytes: 64 quants, d_even, d_odd). As I8Q8_0::dot per block: d_w * d_x * exact
 * integer sum. */
__device__ __forceinline__ float q8s_pair_dot(const uint8_t *wp, const uint8_t *xp)
{
    const uint32_t *w = (const uint32_t *)wp;
    const uint4 *xq = (const uint4 *)xp;
    const uint4 x0 = xq[0], x1 = xq[1], x2 = xq[2], x3 = xq[3];
    const float2 dx = *(const float2 *)(xp + 64);
    uint32_t v[17];
#pragma unroll
    for (int j = 0; j < 17; j++)
        v[j] = w[j];
    const uint32_t xe[8] = {x0.x, x0.y, x0.z, x0.w, x1.x, x1.y, x1.z, x1.w};
    const uint32_t xo[8] = {x2.x, x2.y, x2.z, x2.w, x3.x, x3.y, x3.z, x3.w};
    int se = 0, so = 0;
#pragma unroll
    for (int j = 0; j < 8; j++) {
        se = dp4a(__byte_perm(v[j], v[j + 1], 0x5432u), xe[j], se);
        so = dp4a(v[9 + j], xo[j], so);
    }
    return f16_bits_to_f32(v[0] & 0xffffu) * dx.x * (float)se +
           f16_bits_to_f32(v[8] >> 16) * dx.y * (float)so;
}

template <bool GLU>
__global__ void __launch_bounds__(I8_THREADS) matmul_q8s_kernel(const I8Args a,
                                                                const float *__restrict__ x)
{
    extern __shared__ __align__(16) uint8_t smem[];
    constexpr int R = GLU ? 2 : 1;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    uint8_t *wb = smem + (size_t)warp * Q8S_WARP_BYTES(R);
    uint8_t *xs = smem + (size_t)I8_WARPS * Q8S_WARP_BYTES(R);
    const int nblk = a.in / 32, nch = (nblk + Q8S_CB - 1) / Q8S_CB;
    const int n_warps = (int)gridDim.x * I8_WARPS;
    const int row0 = (int)blockIdx.x * I8_WARPS + warp;

    /* Request the next chunk (irow, ich) of the warp's walk into buffer `stage`; one
     * commit group per call, empty past the last row, so that wait_prior counts chunks. */
    int irow = row0, ich = 0;
    auto request = [&](int stage) {
        if (irow < a.rows) {
            const I8Row<R> f = i8_locate<R>(a, irow);
            const int nb = min(Q8S_CB, nblk - ich * Q8S_CB); /* a multiple of 8 */
#pragma unroll
            for (int q = 0; q < R; q++)
                q8s_copy(wb + (size_t)(stage * R + q) * Q8S_CHUNK,
                         f.w[q] + (size_t)ich * Q8S_CHUNK, nb * 34 / 16, lane);
            if (++ich == nch) {
                ich = 0;
                irow += n_warps;
            }
        }
        __pipeline_commit();
    };

    wrk_pdl_trigger();
#pragma unroll
    for (int s = 0; s < Q8S_STAGES; s++)
        request(s); /* weights: before the wait for the kernel that produces x */
    wrk_pdl_wait();
    i8_stage_x<4>(x, a.in, xs, warp, lane);
    __syncthreads(); /* the only block-wide barrier */

    float acc[R];
#pragma unroll
    for (int q = 0; q < R; q++)
        acc[q] = 0.0f;
    int row = row0, ch = 0;
#pragma unroll 1
    for (int t = 0; row < a.rows; t++) {
        const int stage = t % Q8S_STAGES;
        __pipeline_wait_prior(Q8S_STAGES - 1); /* this lane's copies of chunk t are done */
        __syncwarp();                          /* and those of the other lanes visible */
        const int nb = min(Q8S_CB, nblk - ch * Q8S_CB);
        if (2 * lane < nb) {
            const uint8_t *xp = xs + 80 * (Q8S_CB / 2 * ch + lane);
#pragma unroll
            for (int q = 0; q < R; q++)
                acc[q] += q8s_pair_dot(wb + (size_t)(stage * R + q) * Q8S_CHUNK + 68 * lane, xp);
        }
        __syncwarp(); /* every lane is done with the buffer before it is refilled */
        request(stage);
        if (++ch == nch) {
            i8_store<GLU>(a, i8_locate<R>(a, row), acc, lane);
#pragma unroll
            for (int q = 0; q < R; q++)
                acc[q] = 0.0f;
            ch = 0;
            row += n_warps;
        }
    }
}

// ----------------------------------------------------------------------------------------
// Launchers

/* The switch (WRK_INT8_*): WORKER_CUDA_INT8_DOT=0 selects the fp32 path everywhere, =1 the
 * int8 path wherever it can run, unset the measured choice (i8_auto_prefers); decided at
 * the first call (racing first calls compute the same value) unless set by
 * wrk_cuda_set_int8_dot. */
static volatile int int8_state = -1;

extern "C" int wrk_cuda_int8_dot_enabled(void)
{
    if (int8_state < 0) {
        const char *env = getenv("WORKER_CUDA_INT8_DOT");
        int8_state = env && strcmp(env, "0") == 0   ? WRK_INT8_OFF
                     : env && strcmp(env, "1") == 0 ? WRK_INT8_ALL
                                                    : WRK_INT8_AUTO;
    }
    return int8_state;
}

extern "C" void wrk_cuda_set_int8_dot(int mode)
{
    int8_state = mode == WRK_INT8_ALL || mode == WRK_INT8_AUTO ? mode : WRK_INT8_OFF;
}

/* The device's shared memory per block with the opt-in, once per process (a worker drives
 * one GPU): 227 KiB on the H100. */
static size_t i8_smem_optin(void)
{
    static volatile int v = -1;
    if (v < 0)
        v = wrk_cuda_device_attr(cudaDevAttrMaxSharedMemoryPerBlockOptin);
    return (size_t)v;
}

/* Whether the staged Q8_0 kernel can read rows of `in` elements from data: whole 272-byte
 * runs (in % 256 == 0) from a 16-byte aligned start, so every row and chunk is 16-byte
 * aligned for cp.async. */
static bool q8s_aligned(const void *data, uint64_t in)
{
    return in % 256 == 0 && ((uintptr_t)data & 15u) == 0;
}

/* WORKER_CUDA_Q8_STAGED=0 turns the staged kernel off (read once; an A/B aid for
 * bench_gemv and worker-bench): Q8_0 then takes the unstaged int8 kernel where the switch
 * sends it there, and by default the fp32 path, as before the staged kernel. */
static bool q8s_enabled(void)
{
    static volatile int v = -1;
    return wrk_env_on_once("WORKER_CUDA_Q8_STAGED", &v);
}

/* The staged kernel reads Q8_0 weight w in a plain (non-GLU) launch: enabled, aligned, and
 * the buffers of a block fit the device (110.6 KiB at the widest rows). */
static bool q8s_reads(const wp_tensor *w)
{
    return w->type == WP_DTYPE_Q8_0 && q8s_enabled() && q8s_aligned(w->data, w->ne[0]) &&
           Q8S_SMEM_BYTES(1, w->ne[0]) <= i8_smem_optin();
}

extern "C" int wrk_cuda_int8_staged(const wp_tensor *w)
{
    return w && q8s_reads(w);
}

/* Where the int8 path is the faster one, measured on the H100 against the fp32 path
 * (bench_gemv graph times, docs/performance.md step 13): Q4_K everywhere (128256x2048 107
 * -> 53 us, 8192x2048 9.3 -> 5.9, 4096x14336 27.9 -> 25.1) except few long rows, where the
 * fp32 path's split-K wins (2048x8192 9.7 vs 11.3); Q6_K from 8192 rows (128256x2048 124 ->
 * 88, 8192x2048 9.8 -> 8.3; 2048-row shapes 10-25% slower). Q8_0 where the staged kernel
 * reads it (q8s_reads) and rows are >= 1024 wide (bench_gemv graph, H100, fp32 path ->
 * staged int8, step 20): 2048x2048 5.1 -> 4.1 us, 8192x2048 12.5 -> 8.4, 2048x8192 12.2 ->
 * 11.8, 128256x2048 160 -> 109 (call 101: 92% of bandwidth), 4096x14336 48.7 -> 30.9,
 * 512x2048 2.9 -> 2.6, the 1B q/k/v call 8.5 -> 4.2 and gate/up GLU 21.9 -> 12.9; the load
 * instructions that bound the unstaged int8 kernel (155 us at 128256x2048, 67 at
 * 4096x14336) are gone. Narrower rows spend more per byte on the per-row wait, reduction
 * and store (a 256-element row is 272 bytes for ~100 instructions of a warp), so they keep
 * the fp32 path; so do unaligned Q8_0 data and in % 256 != 0 (the unstaged int8 kernel
 * measured no faster than the fp32 path), and Q4_0 (not measured). */
static bool i8_auto_prefers(const wp_tensor *w)
{
    const uint64_t in = w->ne[0], rows = w->ne[1];
    switch (w->type) {
    case WP_DTYPE_Q4_K: return !(rows <= 2048 && in >= 8192);
    case WP_DTYPE_Q6_K: return rows >= 8192;
    case WP_DTYPE_Q8_0: return in >= 1024 && q8s_reads(w);
    default: return false;
    }
}

extern "C" int wrk_cuda_int8_takes(const wp_tensor *w, const float *x, int n)
{
    const int mode = wrk_cuda_int8_dot_enabled();
    if (n != 1 || !w || !x || mode == WRK_INT8_OFF || w->ne[0] > I8_MAX_IN ||
        w->ne[1] > (uint64_t)INT_MAX || ((uintptr_t)x & 3u) ||
        (mode == WRK_INT8_AUTO && !i8_auto_prefers(w)))
        return 0;
    const uintptr_t p = (uintptr_t)w->data;
    switch (w->type) {
    case WP_DTYPE_Q8_0:
    case WP_DTYPE_Q4_0: return (p & 1u) == 0;
    case WP_DTYPE_Q4_K: return (p & 15u) == 0;
    /* the run at a block's offset 0 may read the 2 bytes before it: only inside the
     * tensor when the data is 4-byte aligned */
    case WP_DTYPE_Q6_K: return (p & 3u) == 0;
    default: return 0;
    }
}

/* SMs of the current device, once per process (a worker drives one GPU). */
static int i8_sm_count(void)
{
    static volatile int sms = 0;
    if (sms <= 0) {
        const int n = wrk_cuda_device_attr(cudaDevAttrMultiProcessorCount);
        sms = n < 1 ? 1 : n;
    }
    return sms;
}

/* Blocks per SM: WORKER_CUDA_INT8_BLOCKS_PER_SM (1..8, read once; a tuning aid for
 * bench_gemv), else 0 = the rule in i8_blocks. */
static int i8_env_per_sm(void)
{
    static volatile int v = -1;
    if (v < 0) {
        const char *env = getenv("WORKER_CUDA_INT8_BLOCKS_PER_SM");
        const int n = env ? atoi(env) : 0;
        v = n >= 1 && n <= 8 ? n : 0;
    }
    return v;
}

typedef void (*I8Kernel)(const I8Args, const float *);

/* Grid: enough blocks for one row per warp, at most the blocks resident at once
 * (registers, and shared memory at smem_max bytes per block; *occ caches that count per
 * kernel), and at most 2 per SM (1 for x of >= 8192 elements): every block reads and
 * quantizes all of x, 4 bytes per element from L2, so more blocks than needed for the
 * bandwidth only add L2 traffic (8192 x 4 bytes x 264 blocks = 8.6 MB, as much as a
 * 2048x8192 Q4_K weight). A guess to be settled by bench_gemv on the device: 16 warps per
 * SM keep ~25-35 KB of weights in flight per SM, about what 3 TB/s needs at ~1 us of
 * latency (the staged Q8_0 kernel: up to 2 chunks of 2176 bytes per warp, 4 with GLU). */
static int i8_blocks(I8Kernel kernel, size_t smem_max, volatile int *occ, const I8Args &a)
{
    if (*occ <= 0) {
        int n = 0;
        if (cudaOccupancyMaxActiveBlocksPerMultiprocessor(&n, kernel, I8_THREADS, smem_max) !=
                cudaSuccess ||
            n < 1)
            n = 1;
        (void)cudaGetLastError();
        *occ = n;
    }
    int per_sm = i8_env_per_sm();
    if (per_sm == 0)
        per_sm = a.in >= 8192 ? 1 : 2;
    if (per_sm > *occ)
        per_sm = *occ;
    const int want = (a.rows + I8_WARPS - 1) / I8_WARPS, cap = i8_sm_count() * per_sm;
    return want < cap ? want : cap;
}

/* Half-rounds (PIPE) for the launches without GLU. Measured on the H100 (bench_gemv graph,
 * every int8 launch in half-rounds against none): Q4_K 4096x14336 25.3 -> 23.4 us,
 * 4096x4096 8.1 -> 7.4, 2048x8192 11.3 -> 10.5, 2048x2048 3.7 -> 3.3, 1B q/k/v 3.9 -> 3.6,
 * 8B q/k/v 9.1 -> 8.5; Q6_K 128256x2048 89.3 -> 85.1, 2048x8192 15.9 -> 14.8; a few lost
 * (Q4_K 8192x2048 5.9 -> 6.4, 128256x2048 53.5 -> 55.7); Q8_0 goes to the staged kernel.
 * The GLU instances need ~95 registers in half-rounds, so one block per SM, and the 1B
 * gate/up lost (Q4_K 9.1 -> 9.7 us): not for GLU. Decode, GLU excluded: 1B Q4_K_M 1169 ->
 * 1198 tok/s, 8B Q4_K_M 328.5 -> 333.0 (docs/performance.md, step 27).
 * WORKER_CUDA_INT8_PIPE=0 turns it off (read once). */
static volatile int i8_pipe_state = -1;

static bool i8_pipe(void)
{
    return wrk_env_on_once("WORKER_CUDA_INT8_PIPE", &i8_pipe_state);
}

extern "C" void wrk_cuda_set_int8_pipe(int on)
{
    i8_pipe_state = on != 0;
}

template <class T, bool GLU, bool PIPE, int XL = 4>
static void i8_launch_kernel(cudaStream_t st, const I8Args &a, const float *x)
{
    static volatile int occ = 0; /* per instantiation */
    const int blocks =
        i8_blocks(matmul_int8_kernel<T, GLU, PIPE, XL>, I8_SMEM_BYTES(I8_MAX_IN), &occ, a);
    wrk_launch_smem(matmul_int8_kernel<T, GLU, PIPE, XL>, dim3((unsigned)blocks),
                    dim3(I8_THREADS), I8_SMEM_BYTES(a.in), st, a, x);
}

template <class T, bool GLU>
static int i8_launch(cudaStream_t st, const I8Args &a, const float *x)
{
    if (!GLU && i8_pipe())
        i8_launch_kernel<T, false, true, 8>(st, a, x);
    else
        i8_launch_kernel<T, GLU, false>(st, a, x);
    return wrk_cuda_launch_check(GLU ? "matmul glu (int8)" : "matmul (int8)");
}

/* The staged kernel's shared-memory limit (over 48 KiB: opt-in), set once per
 * instantiation to what its widest rows need or the device allows; 0 when it could not be
 * set (the unstaged kernel serves every launch then). Also asks for the largest shared
 * memory carveout, so that two blocks of a launch (and a block of the next launch, under
 * programmatic dependent launch) fit on an SM: the kernel does not use L1 for weights. */
template <bool GLU>
static size_t q8s_smem_limit(void)
{
    static volatile long long set = -1;
    if (set < 0) {
        size_t cap = Q8S_SMEM_BYTES(GLU ? 2 : 1, I8_MAX_IN);
        if (cap > i8_smem_optin())
            cap = i8_smem_optin();
        const bool ok = cudaFuncSetAttribute(matmul_q8s_kernel<GLU>,
                                             cudaFuncAttributeMaxDynamicSharedMemorySize,
                                             (int)cap) == cudaSuccess;
        (void)cudaFuncSetAttribute(matmul_q8s_kernel<GLU>,
                                   cudaFuncAttributePreferredSharedMemoryCarveout,
                                   (int)cudaSharedmemCarveoutMaxShared);
        (void)cudaGetLastError();
        set = ok ? (long long)cap : 0;
    }
    return (size_t)set;
}

/* Q8_0: the staged kernel when it is enabled, every weight of the launch is aligned for it
 * and its buffers fit, else the unstaged one. */
template <bool GLU>
static int q8_launch(cudaStream_t st, const I8Args &a, const float *x)
{
    if (!q8s_enabled())
        return i8_launch<I8Q8_0, GLU>(st, a, x);
    const size_t smem = Q8S_SMEM_BYTES(GLU ? 2 : 1, a.in), limit = q8s_smem_limit<GLU>();
    bool staged = smem <= limit && (!GLU || q8s_aligned(a.up_W, a.in));
    for (int i = 0; i < a.count; i++)
        staged = staged && q8s_aligned(a.p[i].W, a.in);
    if (!staged)
        return i8_launch<I8Q8_0, GLU>(st, a, x);
    static volatile int occ = 0; /* per instantiation */
    const int blocks = i8_blocks(matmul_q8s_kernel<GLU>, limit, &occ, a);
    wrk_launch_smem(matmul_q8s_kernel<GLU>, dim3((unsigned)blocks), dim3(I8_THREADS), smem, st,
                    a, x);
    return wrk_cuda_launch_check(GLU ? "matmul glu (int8, staged Q8_0)"
                                     : "matmul (int8, staged Q8_0)");
}

template <bool GLU>
static int i8_dispatch(uint32_t type, cudaStream_t st, const I8Args &a, const float *x)
{
    switch (type) {
    case WP_DTYPE_Q8_0: return q8_launch<GLU>(st, a, x);
    case WP_DTYPE_Q4_0: return i8_launch<I8Q4_0, GLU>(st, a, x);
    case WP_DTYPE_Q4_K: return i8_launch<I8Q4_K, GLU>(st, a, x);
    case WP_DTYPE_Q6_K: return i8_launch<I8Q6_K, GLU>(st, a, x);
    default: return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "int8 matmul: type %u", type);
    }
}

extern "C" int wrk_cuda_int8_matmul(const wp_host *host, const wp_matmul_part *parts, int count,
                                    const float *x, int accumulate)
{
    if (count < 1 || count > WP_MATMUL_MAX_PARTS)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "int8 matmul: %d parts", count);
    I8Args a = {};
    const wp_tensor *w = parts[0].w;
    a.count = count;
    a.accumulate = accumulate;
    a.in = (int)w->ne[0];
    a.row_bytes = (size_t)wrk_ops_row_bytes(w);
    long long rows = 0;
    for (int i = 0; i < count; i++) {
        const wp_tensor *wi = parts[i].w;
        if (wi->type != w->type || wi->ne[0] != w->ne[0] || !wrk_cuda_int8_takes(wi, x, 1))
            return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "int8 matmul: part %d differs", i);
        a.p[i] = I8Part{(const uint8_t *)wi->data, parts[i].y, parts[i].bias, (int)rows};
        rows += (long long)wi->ne[1];
    }
    if (rows > INT_MAX)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "int8 matmul: %lld rows", rows);
    a.rows = (int)rows;
    if (a.rows == 0)
        return 0;
    return i8_dispatch<false>(w->type, wrk_stream(host), a, x);
}

extern "C" int wrk_cuda_int8_glu(const wp_host *host, const wp_tensor *w_gate,
                                 const wp_tensor *w_up, const float *x, float *out)
{
    if (w_gate->type != w_up->type || w_gate->ne[0] != w_up->ne[0] ||
        w_gate->ne[1] != w_up->ne[1] || !wrk_cuda_int8_takes(w_gate, x, 1) ||
        !wrk_cuda_int8_takes(w_up, x, 1))
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "int8 glu: gate and up differ");
    I8Args a = {};
    a.p[0] = I8Part{(const uint8_t *)w_gate->data, out, NULL, 0};
    a.count = 1;
    a.rows = (int)w_gate->ne[1];
    a.in = (int)w_gate->ne[0];
    a.up_W = (const uint8_t *)w_up->data;
    a.row_bytes = (size_t)wrk_ops_row_bytes(w_gate);
    if (a.rows == 0)
        return 0;
    return i8_dispatch<true>(w_gate->type, wrk_stream(host), a, x);
}
