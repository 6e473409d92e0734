/*
 * quant_traits.cuh - how the CUDA kernels read each weight type, one trait per layout.
 *
 * A row of a weight is a sequence of blocks (BYTES bytes holding QK elements). Each block is
 * split into TPB "items", one per thread: an item is read with few wide loads (fetch, into a
 * compact Raw of still-quantized words, so many items can be in flight in few registers)
 * and dequantized in registers (dequant) into NRUN runs of RUNLEN consecutive elements, run r starting at
 * element start(sub) + r * RUNSTRIDE of the block. GEMV and get_rows share this so there is
 * one dequantization per layout; the layouts are those of runtime/gguf/quant.h (ggml's), and
 * the value formulas follow its reference code operation for operation.
 *
 * TPB divides 32, so a lane of a warp walking items lane, lane + 32, ... always sees the same
 * sub-index: per-lane constants (scale indices) stay in registers.
 *
 * GEMV tuning per layout (matmul.cu): UNROLL items are loaded per lane before the first use,
 * sized so a 2048-wide row is one round (all of a warp's loads in flight at once); ROWS rows
 * share each load of x (Q4_K needs 4 bytes of x per 0.56 byte of weight, so with one row x
 * alone would take ~3/4 of the L1 bandwidth at 3 TB/s of weights).
 *
 * Small integers become floats through the exponent of 2^23 (magic_u8), not I2F: Hopper
 * converts only 16 int->float per SM and clock, fewer than the 24 Q4_K elements per clock
 * that 3 TB/s needs; PRMT + FADD run at full rate and give the same exact value.
 *
 * The vector variants of the float types (…V) need 16-byte aligned rows; the launchers pick
 * the scalar variants (…S) otherwise.
 */
#ifndef WRK_OPS_QUANT_TRAITS_CUH
#define WRK_OPS_QUANT_TRAITS_CUH

#include "ops/cuda/cuda_common.cuh"
#include "worker_plugin.h"

/* Four bytes from a 2-byte aligned address (Q8_0, Q4_0 and Q6_K blocks are only 2-byte
 * aligned), through the read-only path. */
__device__ __forceinline__ uint32_t ld_u32_a2(const uint8_t *p)
{
    const unsigned short *q = (const unsigned short *)p;
    return (uint32_t)__ldg(q) | ((uint32_t)__ldg(q + 1) << 16);
}

__device__ __forceinline__ uint32_t ld_u16(const uint8_t *p)
{
    return (uint32_t)__ldg((const unsigned short *)p);
}

__device__ __forceinline__ uint4 ld_u128(const uint8_t *p)
{
    return __ldg((const uint4 *)p);
}

/* Byte k (0..15) of a 16-byte value with a run-time k, by selects rather than an indexed
 * register array (which would go to local memory). */
__device__ __forceinline__ uint32_t byte_of(uint4 h, int k)
{
    uint32_t w = (k & 8) ? ((k & 4) ? h.w : h.z) : ((k & 4) ? h.y : h.x);
    return (w >> ((k & 3) * 8)) & 0xffu;
}

/* 2^23 + byte k (0..3) of w, as a float: byte_perm puts the byte under the exponent bits
 * 0x4B (2^23), so subtracting 2^23 (+ an offset) gives the integer exactly. */
__device__ __forceinline__ float magic_u8(uint32_t w, int k)
{
    return __int_as_float((int)__byte_perm(w, 0x4B000000u, 0x7540u | (uint32_t)k));
}
#define MAGIC_2P23 8388608.0f

__device__ __forceinline__ void words_to_f16x2(uint32_t w, float *v)
{
    v[0] = f16_bits_to_f32(w & 0xffffu);
    v[1] = f16_bits_to_f32(w >> 16);
}

__device__ __forceinline__ void words_to_bf16x2(uint32_t w, float *v)
{
    v[0] = bf16_bits_to_f32(w & 0xffffu);
    v[1] = __uint_as_float(w & 0xffff0000u);
}

/* ---- float types ---------------------------------------------------------------------- */

struct TraitF32V {
    static constexpr int QK = 4, BYTES = 16, TPB = 1, NRUN = 1, RUNLEN = 4, RUNSTRIDE = 0,
                         UNROLL = 8, ROWS = 1;
    typedef float4 Raw;
    __device__ static int start(int) { return 0; }
    __device__ static Raw fetch(const uint8_t *b, int) { return __ldg((const float4 *)b); }
    __device__ static void dequant(const Raw &f, int, float *v)
    {
        v[0] = f.x; v[1] = f.y; v[2] = f.z; v[3] = f.w;
    }
};

struct TraitF32S {
    static constexpr int QK = 1, BYTES = 4, TPB = 1, NRUN = 1, RUNLEN = 1, RUNSTRIDE = 0,
                         UNROLL = 4, ROWS = 1;
    typedef float Raw;
    __device__ static int start(int) { return 0; }
    __device__ static Raw fetch(const uint8_t *b, int) { return __ldg((const float *)b); }
    __device__ static void dequant(const Raw &f, int, float *v) { v[0] = f; }
};

/* The 16-bit float types differ only in how a half-word becomes a float: one template
 * each for the 16-byte (V) and the 2-byte (S) reads, BF = bfloat16 over IEEE half. */
template <bool BF>
__device__ __forceinline__ void h16x2_to_f32(uint32_t w, float *v)
{
    if constexpr (BF)
        words_to_bf16x2(w, v);
    else
        words_to_f16x2(w, v);
}

template <bool BF>
struct TraitH16V {
    static constexpr int QK = 8, BYTES = 16, TPB = 1, NRUN = 1, RUNLEN = 8, RUNSTRIDE = 0,
                         UNROLL = 8, ROWS = 1;
    typedef uint4 Raw;
    __device__ static int start(int) { return 0; }
    __device__ static Raw fetch(const uint8_t *b, int) { return ld_u128(b); }
    __device__ static void dequant(const Raw &q, int, float *v)
    {
        h16x2_to_f32<BF>(q.x, v); h16x2_to_f32<BF>(q.y, v + 2);
        h16x2_to_f32<BF>(q.z, v + 4); h16x2_to_f32<BF>(q.w, v + 6);
    }
};

template <bool BF>
struct TraitH16S {
    static constexpr int QK = 1, BYTES = 2, TPB = 1, NRUN = 1, RUNLEN = 1, RUNSTRIDE = 0,
                         UNROLL = 4, ROWS = 1;
    typedef uint32_t Raw;
    __device__ static int start(int) { return 0; }
    __device__ static Raw fetch(const uint8_t *b, int) { return ld_u16(b); }
    __device__ static void dequant(const Raw &q, int, float *v)
    {
        v[0] = BF ? bf16_bits_to_f32(q) : f16_bits_to_f32(q);
    }
};

typedef TraitH16V<false> TraitF16V;
typedef TraitH16S<false> TraitF16S;
typedef TraitH16V<true> TraitBF16V;
typedef TraitH16S<true> TraitBF16S;

/* ---- Q8_0: f16 d, int8 qs[32]; x = qs * d. Item = 8 quants. --------------------------- */

struct TraitQ8_0 {
    static constexpr int QK = 32, BYTES = 34, TPB = 4, NRUN = 1, RUNLEN = 8, RUNSTRIDE = 0,
                         UNROLL = 8, ROWS = 1;
    struct Raw { uint32_t d, lo, hi; };
    __device__ static int start(int sub) { return 8 * sub; }
    __device__ static Raw fetch(const uint8_t *b, int sub)
    {
        return Raw{ld_u16(b), ld_u32_a2(b + 2 + 8 * sub), ld_u32_a2(b + 6 + 8 * sub)};
    }
    __device__ static void dequant(const Raw &r, int, float *v)
    {
        const float d = f16_bits_to_f32(r.d);
        /* int8 q + 128 = byte ^ 0x80, in 0..255 */
        const uint32_t lo = r.lo ^ 0x80808080u, hi = r.hi ^ 0x80808080u;
#pragma unroll
        for (int j = 0; j < 4; j++) {
            v[j] = (magic_u8(lo, j) - (MAGIC_2P23 + 128.0f)) * d;
            v[4 + j] = (magic_u8(hi, j) - (MAGIC_2P23 + 128.0f)) * d;
        }
    }
};

/* ---- Q4_0: f16 d, uint8 qs[16]; element j = (qs[j] & 15) - 8, element j + 16 = (qs[j] >> 4)
 * - 8, times d. Item = 8 bytes = two runs of 8 (low nibbles at 8 sub, high at 8 sub + 16). */

struct TraitQ4_0 {
    static constexpr int QK = 32, BYTES = 18, TPB = 2, NRUN = 2, RUNLEN = 8, RUNSTRIDE = 16,
                         UNROLL = 4, ROWS = 1;
    struct Raw { uint32_t d, w0, w1; };
    __device__ static int start(int sub) { return 8 * sub; }
    __device__ static Raw fetch(const uint8_t *b, int sub)
    {
        return Raw{ld_u16(b), ld_u32_a2(b + 2 + 8 * sub), ld_u32_a2(b + 6 + 8 * sub)};
    }
    __device__ static void dequant(const Raw &r, int, float *v)
    {
        const float d = f16_bits_to_f32(r.d);
        const uint32_t l0 = r.w0 & 0x0f0f0f0fu, l1 = r.w1 & 0x0f0f0f0fu;
        const uint32_t h0 = (r.w0 >> 4) & 0x0f0f0f0fu, h1 = (r.w1 >> 4) & 0x0f0f0f0fu;
#pragma unroll
        for (int j = 0; j < 4; j++) {
            v[j] = (magic_u8(l0, j) - (MAGIC_2P23 + 8.0f)) * d;
            v[4 + j] = (magic_u8(l1, j) - (MAGIC_2P23 + 8.0f)) * d;
            v[8 + j] = (magic_u8(h0, j) - (MAGIC_2P23 + 8.0f)) * d;
            v[12 + j] = (magic_u8(h1, j) - (MAGIC_2P23 + 8.0f)) * d;
        }
    }
};

/* ---- Q4_K: f16 d, f16 dmin, 6-bit scales/mins packed in 12 bytes, qs[128]. Each 64-element
 * chunk c uses qs[32c..32c+31]: low nibbles are elements 64c.., scale/min 2c; high nibbles
 * elements 64c+32.., scale/min 2c+1. x = d*sc*q - dmin*m. Item = 16 bytes of qs (one aligned
 * 16-byte load) plus the 16-byte header (one load, shared in L1 by the block's 8 lanes). ---*/

__device__ __forceinline__ void q4k_scale_min(uint4 h, int j, float d, float dmin, float *dj,
                                              float *mj)
{
    /* scales[k] is header byte 4 + k; see ggml get_scale_min_k4 */
    uint32_t sc, m;
    if (j < 4) {
        sc = byte_of(h, 4 + j) & 63u;
        m = byte_of(h, 8 + j) & 63u;
    } else {
        sc = (byte_of(h, 8 + j) & 15u) | ((byte_of(h, j) >> 6) << 4);
        m = (byte_of(h, 8 + j) >> 4) | ((byte_of(h, 4 + j) >> 6) << 4);
    }
    /* sc, m < 64: exact through the 2^23 exponent as for the quants (no I2F) */
    *dj = d * (__int_as_float(0x4B000000 | (int)sc) - MAGIC_2P23);
    *mj = dmin * (__int_as_float(0x4B000000 | (int)m) - MAGIC_2P23);
}

struct TraitQ4_K {
    static constexpr int QK = 256, BYTES = 144, TPB = 8, NRUN = 2, RUNLEN = 16, RUNSTRIDE = 32,
                         UNROLL = 2, ROWS = 2;
    struct Raw { uint4 h, q; };
    __device__ static int start(int sub) { return 64 * (sub >> 1) + 16 * (sub & 1); }
    __device__ static Raw fetch(const uint8_t *b, int sub)
    {
        return Raw{ld_u128(b), ld_u128(b + 16 + 16 * sub)};
    }
    __device__ static void dequant(const Raw &r, int sub, float *v)
    {
        const float d = f16_bits_to_f32(r.h.x & 0xffffu), dmin = f16_bits_to_f32(r.h.x >> 16);
        const int c = sub >> 1;
        float d1, m1, d2, m2;
        q4k_scale_min(r.h, 2 * c, d, dmin, &d1, &m1);
        q4k_scale_min(r.h, 2 * c + 1, d, dmin, &d2, &m2);
        const uint32_t w[4] = {r.q.x, r.q.y, r.q.z, r.q.w};
#pragma unroll
        for (int k = 0; k < 4; k++) {
            const uint32_t lo = w[k] & 0x0f0f0f0fu, hi = (w[k] >> 4) & 0x0f0f0f0fu;
#pragma unroll
            for (int j = 0; j < 4; j++) {
                v[4 * k + j] = d1 * (magic_u8(lo, j) - MAGIC_2P23) - m1;
                v[16 + 4 * k + j] = d2 * (magic_u8(hi, j) - MAGIC_2P23) - m2;
            }
        }
    }
};

/* ---- Q6_K: ql[128], qh[64], int8 scales[16], f16 d. Half h (128 elements) uses ql[64h..],
 * qh[32h..], scales[8h..]; for l < 32, is = l / 16:
 *   e[l]    = d*sc[is]  *((ql[l]    & 15) | ((qh[l] >> 0 & 3) << 4)) - 32)
 *   e[l+32] = d*sc[is+2]*((ql[l+32] & 15) | ((qh[l] >> 2 & 3) << 4)) - 32)
 *   e[l+64] = d*sc[is+4]*((ql[l]    >> 4) | ((qh[l] >> 4 & 3) << 4)) - 32)
 *   e[l+96] = d*sc[is+6]*((ql[l+32] >> 4) | ((qh[l] >> 6 & 3) << 4)) - 32)
 * Item = 4 consecutive l: four runs of 4, 32 apart. --------------------------------------*/

struct TraitQ6_K {
    static constexpr int QK = 256, BYTES = 210, TPB = 16, NRUN = 4, RUNLEN = 4, RUNSTRIDE = 32,
                         UNROLL = 4, ROWS = 1;
    struct Raw { uint32_t qa, qb, qh, d; int sc0, sc1, sc2, sc3; };
    __device__ static int start(int sub) { return 128 * (sub >> 3) + 4 * (sub & 7); }
    __device__ static Raw fetch(const uint8_t *b, int sub)
    {
        const int h = sub >> 3, l0 = 4 * (sub & 7), is = l0 >> 4;
        /* scales are single bytes at odd offsets too: byte loads, L1-resident */
        const signed char *sc = (const signed char *)(b + 192 + 8 * h + is);
        return Raw{ld_u32_a2(b + 64 * h + l0), ld_u32_a2(b + 64 * h + 32 + l0),
                   ld_u32_a2(b + 128 + 32 * h + l0), ld_u16(b + 208),
                   __ldg(sc), __ldg(sc + 2), __ldg(sc + 4), __ldg(sc + 6)};
    }
    __device__ static void dequant(const Raw &r, int, float *v)
    {
        const float d = f16_bits_to_f32(r.d);
        const float ds0 = d * (float)r.sc0, ds1 = d * (float)r.sc1;
        const float ds2 = d * (float)r.sc2, ds3 = d * (float)r.sc3;
        /* the four 6-bit values of each run, packed one per byte (bit ops on 4 at once) */
        const uint32_t q0 = (r.qa & 0x0f0f0f0fu) | ((r.qh << 4) & 0x30303030u);
        const uint32_t q1 = (r.qb & 0x0f0f0f0fu) | ((r.qh << 2) & 0x30303030u);
        const uint32_t q2 = ((r.qa >> 4) & 0x0f0f0f0fu) | (r.qh & 0x30303030u);
        const uint32_t q3 = ((r.qb >> 4) & 0x0f0f0f0fu) | ((r.qh >> 2) & 0x30303030u);
#pragma unroll
        for (int i = 0; i < 4; i++) {
            v[i] = ds0 * (magic_u8(q0, i) - (MAGIC_2P23 + 32.0f));
            v[4 + i] = ds1 * (magic_u8(q1, i) - (MAGIC_2P23 + 32.0f));
            v[8 + i] = ds2 * (magic_u8(q2, i) - (MAGIC_2P23 + 32.0f));
            v[12 + i] = ds3 * (magic_u8(q3, i) - (MAGIC_2P23 + 32.0f));
        }
    }
};

/* The alignment the traits' loads need: 4 bytes for F32 rows, 2 for the f16 fields of the
 * other layouts, 16 for Q4_K; 4 for the fp32 buffer buf beside the weight (x, out). *wv:
 * the data allows 16-byte loads. op, what and buf_name name them in the detail. */
static inline int wrk_check_weight_align(const char *op, const wp_tensor *w, const char *what,
                                         const char *buf_name, const void *buf, bool *wv)
{
    const char *name = w->name ? w->name : "(unnamed)";
    if (((uintptr_t)w->data & (w->type == WP_DTYPE_F32 ? 3u : 1u)) != 0 || ((uintptr_t)buf & 3u))
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "%s %s: misaligned %s %p or %s %p", op,
                         name, what, w->data, buf_name, buf);
    *wv = ((uintptr_t)w->data & 15u) == 0;
    if (w->type == WP_DTYPE_Q4_K && !*wv)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                         "%s %s: Q4_K data must be 16-byte aligned in device memory", op, name);
    return 0;
}

/* Call fn with (a value of) the trait that reads weights of this type: 16-byte loads for
 * the float types when the rows allow them (wv: data 16-byte aligned; Q4_K needs it:
 * wrk_check_weight_align first). The one switch over types of the GEMV and the gathers. */
template <class Fn>
static inline int wrk_with_trait(uint32_t type, bool wv, uint64_t in, Fn &&fn)
{
    switch (type) {
    case WP_DTYPE_F32: return (wv && in % 4 == 0) ? fn(TraitF32V{}) : fn(TraitF32S{});
    case WP_DTYPE_F16: return (wv && in % 8 == 0) ? fn(TraitF16V{}) : fn(TraitF16S{});
    case WP_DTYPE_BF16: return (wv && in % 8 == 0) ? fn(TraitBF16V{}) : fn(TraitBF16S{});
    case WP_DTYPE_Q8_0: return fn(TraitQ8_0{});
    case WP_DTYPE_Q4_0: return fn(TraitQ4_0{});
    case WP_DTYPE_Q4_K: return fn(TraitQ4_K{});
    case WP_DTYPE_Q6_K: return fn(TraitQ6_K{});
    default: return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "unsupported type %u", type);
    }
}

#endif
