/*
 * quant.c - GGUF/ggml tensor element types: the type table, fp16/bf16 conversions, and the
 * reference conversion of rows for the block types of 32 elements (Q8_0, Q4_0).
 * The 256-element "k-quants" (Q4_K, Q6_K) live in quant_k.c.
 *
 * Layouts follow ggml exactly (little-endian, packed, no padding):
 *   Q8_0: { f16 d; int8 qs[32]; }            x[j] = qs[j] * d
 *   Q4_0: { f16 d; uint8 qs[16]; }           x[j] = ((qs[j] & 15) - 8) * d,
 *                                            x[j + 16] = ((qs[j] >> 4) - 8) * d
 */
#include <math.h>
#include <string.h>

#include "gguf/quant.h"
#include "gguf/quant_internal.h"
#include "worker_plugin.h"

/* One row of the type table: name for messages, block geometry for supported types. */
typedef struct dtype_desc {
    const char *name;
    uint32_t block_elems;   /* 0 = not supported by worker-orcd */
    uint32_t block_bytes;
} dtype_desc;

/* Indexed by the ggml type id. Ids 4, 5 (Q4_2, Q4_3) and 31..33, 36..38 were removed from
 * ggml; they keep a name so a message can still say what the file asked for. */
static const dtype_desc dtype_table[] = {
    [0] = {"F32", 1, 4},        [1] = {"F16", 1, 2},        [2] = {"Q4_0", 32, 18},
    [3] = {"Q4_1", 0, 0},       [4] = {"Q4_2", 0, 0},       [5] = {"Q4_3", 0, 0},
    [6] = {"Q5_0", 0, 0},       [7] = {"Q5_1", 0, 0},       [8] = {"Q8_0", 32, 34},
    [9] = {"Q8_1", 0, 0},       [10] = {"Q2_K", 0, 0},      [11] = {"Q3_K", 0, 0},
    [12] = {"Q4_K", 256, 144},  [13] = {"Q5_K", 0, 0},      [14] = {"Q6_K", 256, 210},
    [15] = {"Q8_K", 0, 0},      [16] = {"IQ2_XXS", 0, 0},   [17] = {"IQ2_XS", 0, 0},
    [18] = {"IQ3_XXS", 0, 0},   [19] = {"IQ1_S", 0, 0},     [20] = {"IQ4_NL", 0, 0},
    [21] = {"IQ3_S", 0, 0},     [22] = {"IQ2_S", 0, 0},     [23] = {"IQ4_XS", 0, 0},
    [24] = {"I8", 0, 0},        [25] = {"I16", 0, 0},       [26] = {"I32", 0, 0},
    [27] = {"I64", 0, 0},       [28] = {"F64", 0, 0},       [29] = {"IQ1_M", 0, 0},
    [30] = {"BF16", 1, 2},      [31] = {"Q4_0_4_4", 0, 0},  [32] = {"Q4_0_4_8", 0, 0},
    [33] = {"Q4_0_8_8", 0, 0},  [34] = {"TQ1_0", 0, 0},     [35] = {"TQ2_0", 0, 0},
    [36] = {"IQ4_NL_4_4", 0, 0}, [37] = {"IQ4_NL_4_8", 0, 0}, [38] = {"IQ4_NL_8_8", 0, 0},
    [39] = {"MXFP4", 0, 0},
};
#define DTYPE_TABLE_LEN (sizeof dtype_table / sizeof dtype_table[0])

int wrk_dtype_supported(uint32_t type)
{
    return type < DTYPE_TABLE_LEN && dtype_table[type].block_elems != 0;
}

const char *wrk_dtype_name(uint32_t type)
{
    if (type < DTYPE_TABLE_LEN && dtype_table[type].name) return dtype_table[type].name;
    return "unknown";
}

uint32_t wrk_dtype_block_elems(uint32_t type)
{
    return wrk_dtype_supported(type) ? dtype_table[type].block_elems : 0;
}

uint32_t wrk_dtype_block_bytes(uint32_t type)
{
    return wrk_dtype_supported(type) ? dtype_table[type].block_bytes : 0;
}

/* n / block * block_bytes; 0 when unsupported, n is not a whole number of blocks, or the
 * size does not fit 64 bits. */
uint64_t wrk_dtype_row_bytes(uint32_t type, uint64_t n)
{
    uint32_t be = wrk_dtype_block_elems(type);
    uint64_t bytes;
    if (be == 0 || n % be != 0) return 0;
    if (__builtin_mul_overflow(n / be, (uint64_t)dtype_table[type].block_bytes, &bytes)) return 0;
    return bytes;
}

/* ---- half precision ------------------------------------------------------------------ */

static uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float bits_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

float wrk_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t e = (h >> 10) & 0x1f;
    uint32_t m = h & 0x3ff;

    if (e == 0) {
        /* zero or subnormal: m * 2^-24 is exact in fp32 */
        float v = ldexpf((float)m, -24);
        return sign ? -v : v;
    }
    if (e == 31) return bits_f32(sign | 0x7f800000u | (m << 13));
    return bits_f32(sign | ((e + 112) << 23) | (m << 13));
}

uint16_t wrk_f32_to_f16(float f)
{
    uint32_t x = f32_bits(f);
    uint32_t sign = (x >> 16) & 0x8000u;
    x &= 0x7fffffffu;

    if (x >= 0x7f800000u) /* inf, or NaN kept quiet */
        return (uint16_t)(sign | (x > 0x7f800000u ? 0x7e00u : 0x7c00u));
    if (x >= 0x477ff000u) /* >= 65520 rounds to infinity */
        return (uint16_t)(sign | 0x7c00u);
    if (x < 0x38800000u) {
        /* below the smallest normal half (2^-14): a subnormal in units of 2^-24 */
        uint32_t e = x >> 23;
        uint32_t m = (x & 0x7fffffu) | (e ? 0x800000u : 0);
        uint32_t shift = 126 - (e ? e : 1);
        if (shift > 24) return (uint16_t)sign; /* < 2^-25: rounds to zero */
        uint32_t q = m >> shift;
        uint32_t rem = m & ((1u << shift) - 1);
        uint32_t half = 1u << (shift - 1);
        if (rem > half || (rem == half && (q & 1))) q++;
        return (uint16_t)(sign | q);
    }
    uint32_t h = (x >> 13) - (112u << 10);
    uint32_t rem = x & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1))) h++;
    return (uint16_t)(sign | h);
}

float wrk_bf16_to_f32(uint16_t h)
{
    return bits_f32((uint32_t)h << 16);
}

uint16_t wrk_f32_to_bf16(float f)
{
    uint32_t u = f32_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) /* NaN: keep it a (quiet) NaN */
        return (uint16_t)((u >> 16) | 64);
    return (uint16_t)((u + (0x7fffu + ((u >> 16) & 1))) >> 16);
}

/* ---- little-endian helpers for block fields (blocks are byte-packed, unaligned) ------ */

uint16_t wrk_q_rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

void wrk_q_wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

int wrk_q_nearest_int(float f)
{
    return (int)lrintf(f);
}

/* ---- Q8_0 ---------------------------------------------------------------------------- */

static void dequant_q8_0(const uint8_t *b, float *y, uint64_t nb)
{
    for (uint64_t i = 0; i < nb; i++, b += 34, y += 32) {
        float d = wrk_f16_to_f32(wrk_q_rd16(b));
        for (int j = 0; j < 32; j++) y[j] = (float)(int8_t)b[2 + j] * d;
    }
}

/* ggml's reference: d = absmax / 127, q = round(x / d). */
static void quant_q8_0(const float *x, uint8_t *b, uint64_t nb)
{
    for (uint64_t i = 0; i < nb; i++, b += 34, x += 32) {
        float amax = 0.0f;
        for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[j]));
        float d = amax / 127.0f;
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        wrk_q_wr16(b, wrk_f32_to_f16(d));
        for (int j = 0; j < 32; j++) b[2 + j] = (uint8_t)(int8_t)roundf(x[j] * id);
    }
}

/* ---- Q4_0 ---------------------------------------------------------------------------- */

static void dequant_q4_0(const uint8_t *b, float *y, uint64_t nb)
{
    for (uint64_t i = 0; i < nb; i++, b += 18, y += 32) {
        float d = wrk_f16_to_f32(wrk_q_rd16(b));
        const uint8_t *qs = b + 2;
        for (int j = 0; j < 16; j++) {
            y[j] = (float)((qs[j] & 0x0f) - 8) * d;
            y[j + 16] = (float)((qs[j] >> 4) - 8) * d;
        }
    }
}

/* ggml's reference: the value of largest magnitude maps to -8 exactly (d = max / -8), so
 * the full range [-8, 7] is used on the side of the extreme. */
static void quant_q4_0(const float *x, uint8_t *b, uint64_t nb)
{
    for (uint64_t i = 0; i < nb; i++, b += 18, x += 32) {
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < 32; j++) {
            if (fabsf(x[j]) > amax) {
                amax = fabsf(x[j]);
                max = x[j];
            }
        }
        float d = max / -8.0f;
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        wrk_q_wr16(b, wrk_f32_to_f16(d));
        for (int j = 0; j < 16; j++) {
            int q0 = (int)(int8_t)(x[j] * id + 8.5f);
            int q1 = (int)(int8_t)(x[j + 16] * id + 8.5f);
            q0 = q0 < 0 ? 0 : q0 > 15 ? 15 : q0;
            q1 = q1 < 0 ? 0 : q1 > 15 ? 15 : q1;
            b[2 + j] = (uint8_t)(q0 | (q1 << 4));
        }
    }
}

/* ---- dispatch ------------------------------------------------------------------------ */

void wrk_dequantize_row(uint32_t type, const void *src, float *dst, uint64_t n)
{
    const uint8_t *s = src;
    uint32_t be = wrk_dtype_block_elems(type);
    if (be == 0 || n % be != 0) return; /* contract: callers validated type and n */
    switch (type) {
    case WP_DTYPE_F32:
        memcpy(dst, src, n * sizeof(float));
        break;
    case WP_DTYPE_F16:
        for (uint64_t i = 0; i < n; i++) dst[i] = wrk_f16_to_f32(wrk_q_rd16(s + 2 * i));
        break;
    case WP_DTYPE_BF16:
        for (uint64_t i = 0; i < n; i++) dst[i] = wrk_bf16_to_f32(wrk_q_rd16(s + 2 * i));
        break;
    case WP_DTYPE_Q8_0: dequant_q8_0(s, dst, n / 32); break;
    case WP_DTYPE_Q4_0: dequant_q4_0(s, dst, n / 32); break;
    case WP_DTYPE_Q4_K: wrk_dequant_q4_k(s, dst, n / 256); break;
    case WP_DTYPE_Q6_K: wrk_dequant_q6_k(s, dst, n / 256); break;
    default: break;
    }
}

void wrk_quantize_row(uint32_t type, const float *src, void *dst, uint64_t n)
{
    uint8_t *d = dst;
    uint32_t be = wrk_dtype_block_elems(type);
    if (be == 0 || n % be != 0) return;
    switch (type) {
    case WP_DTYPE_F32:
        memcpy(dst, src, n * sizeof(float));
        break;
    case WP_DTYPE_F16:
        for (uint64_t i = 0; i < n; i++) wrk_q_wr16(d + 2 * i, wrk_f32_to_f16(src[i]));
        break;
    case WP_DTYPE_BF16:
        for (uint64_t i = 0; i < n; i++) wrk_q_wr16(d + 2 * i, wrk_f32_to_bf16(src[i]));
        break;
    case WP_DTYPE_Q8_0: quant_q8_0(src, d, n / 32); break;
    case WP_DTYPE_Q4_0: quant_q4_0(src, d, n / 32); break;
    case WP_DTYPE_Q4_K: wrk_quant_q4_k(src, d, n / 256); break;
    case WP_DTYPE_Q6_K: wrk_quant_q6_k(src, d, n / 256); break;
    default: break;
    }
}
