/*
 * test_quant.c - tensor element types: the type table, fp16/bf16 conversions (exhaustive
 * and at rounding ties), hand-built blocks of each quantized type decoded against values
 * worked out from the ggml layout, and quantize -> dequantize error bounds on random data.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf/quant.h"
#include "gguf_test_util.h"
#include "worker_plugin.h"

static uint32_t bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

START_TEST(type_table)
{
    ck_assert(wrk_dtype_supported(WP_DTYPE_F32) && wrk_dtype_supported(WP_DTYPE_Q6_K));
    ck_assert(!wrk_dtype_supported(13) && !wrk_dtype_supported(3) && !wrk_dtype_supported(999));
    ck_assert_str_eq(wrk_dtype_name(13), "Q5_K");
    ck_assert_str_eq(wrk_dtype_name(WP_DTYPE_BF16), "BF16");
    ck_assert_str_eq(wrk_dtype_name(39), "MXFP4");
    ck_assert_str_eq(wrk_dtype_name(1000), "unknown");
    static const struct { uint32_t t, be, bb; } geo[] = {
        {WP_DTYPE_F32, 1, 4}, {WP_DTYPE_F16, 1, 2}, {WP_DTYPE_BF16, 1, 2},
        {WP_DTYPE_Q8_0, 32, 34}, {WP_DTYPE_Q4_0, 32, 18}, {WP_DTYPE_Q4_K, 256, 144},
        {WP_DTYPE_Q6_K, 256, 210},
    };
    for (size_t i = 0; i < sizeof geo / sizeof geo[0]; i++) {
        ck_assert_uint_eq(wrk_dtype_block_elems(geo[i].t), geo[i].be);
        ck_assert_uint_eq(wrk_dtype_block_bytes(geo[i].t), geo[i].bb);
        uint64_t nb = tu_range(1, 1000);
        ck_assert_uint_eq(wrk_dtype_row_bytes(geo[i].t, nb * geo[i].be), nb * geo[i].bb);
        if (geo[i].be > 1) ck_assert_uint_eq(wrk_dtype_row_bytes(geo[i].t, nb * geo[i].be + 1), 0);
    }
    ck_assert_uint_eq(wrk_dtype_block_elems(13), 0);
    ck_assert_uint_eq(wrk_dtype_row_bytes(WP_DTYPE_F32, 1ull << 62), 0); /* 2^64 bytes */
}
END_TEST

/* Every half survives f16 -> f32 -> f16; NaNs stay NaN. */
START_TEST(f16_exhaustive)
{
    for (uint32_t h = 0; h < 65536; h++) {
        float f = wrk_f16_to_f32((uint16_t)h);
        int nan = (h & 0x7c00) == 0x7c00 && (h & 0x3ff);
        if (nan) {
            ck_assert(isnan(f));
            ck_assert(isnan(wrk_f16_to_f32(wrk_f32_to_f16(f))));
        } else {
            ck_assert_uint_eq(wrk_f32_to_f16(f), h);
        }
    }
    ck_assert_float_eq(wrk_f16_to_f32(0x3c00), 1.0f);
    ck_assert_float_eq(wrk_f16_to_f32(0xc000), -2.0f);
    ck_assert_float_eq(wrk_f16_to_f32(0x0001), ldexpf(1.0f, -24));
    ck_assert_float_eq(wrk_f16_to_f32(0x7bff), 65504.0f);
    ck_assert_uint_eq(wrk_f32_to_f16(1e6f), 0x7c00);
    ck_assert_uint_eq(wrk_f32_to_f16(-65520.0f), 0xfc00);
    ck_assert_uint_eq(wrk_f32_to_f16(65519.0f), 0x7bff);
}
END_TEST

/* Midpoints between consecutive finite halves round to the even one; points just off the
 * midpoint round to the nearer one. */
START_TEST(f16_rounding)
{
    for (uint32_t h = 0; h < 0x7bff; h++) {
        float a = wrk_f16_to_f32((uint16_t)h), b = wrk_f16_to_f32((uint16_t)(h + 1));
        float mid = a + (b - a) / 2; /* exact in fp32 */
        uint32_t even = (h & 1) ? h + 1 : h;
        ck_assert_uint_eq(wrk_f32_to_f16(mid), even);
        ck_assert_uint_eq(wrk_f32_to_f16(-mid), even | 0x8000);
        ck_assert_uint_eq(wrk_f32_to_f16(nextafterf(mid, 0.0f)), h);
        ck_assert_uint_eq(wrk_f32_to_f16(nextafterf(mid, 1e9f)), h + 1);
    }
    ck_assert_uint_eq(wrk_f32_to_f16(ldexpf(1.0f, -25)), 0); /* tie to even: 0 */
    ck_assert_uint_eq(wrk_f32_to_f16(ldexpf(1.5f, -25)), 1);
}
END_TEST

START_TEST(bf16_rounding)
{
    for (int i = 0; i < 200000; i++) {
        uint32_t u = (uint32_t)tu_rand();
        float f = from_bits(u);
        uint16_t h = wrk_f32_to_bf16(f);
        if (isnan(f)) {
            ck_assert(isnan(wrk_bf16_to_f32(h)));
            continue;
        }
        uint32_t lo = u & 0xffff0000u, hi = lo + 0x10000u, r = (uint32_t)h << 16;
        uint32_t low16 = u & 0xffff;
        uint32_t want = low16 < 0x8000 ? lo : low16 > 0x8000 ? hi : ((lo >> 16) & 1 ? hi : lo);
        ck_assert_uint_eq(r, want);
        ck_assert_uint_eq(bits(wrk_bf16_to_f32(h)), r);
    }
}
END_TEST

/* Q8_0: d = 0.5 (f16 0x3800), qs = -128, -120, ..., 120: x = q * 0.5. */
START_TEST(hand_q8_0)
{
    uint8_t blk[34];
    float y[32];
    blk[0] = 0x00;
    blk[1] = 0x38;
    for (int j = 0; j < 32; j++) blk[2 + j] = (uint8_t)(int8_t)(j * 8 - 128);
    wrk_dequantize_row(WP_DTYPE_Q8_0, blk, y, 32);
    for (int j = 0; j < 32; j++) ck_assert_float_eq(y[j], (float)(j * 8 - 128) * 0.5f);
}
END_TEST

/* Q4_0: d = -2 (f16 0xc000); byte j holds element j (low nibble) and j+16 (high nibble);
 * x = (nibble - 8) * d. */
START_TEST(hand_q4_0)
{
    uint8_t blk[18];
    float y[32];
    blk[0] = 0x00;
    blk[1] = 0xc0;
    for (int j = 0; j < 16; j++) blk[2 + j] = (uint8_t)(j | ((15 - j) << 4));
    wrk_dequantize_row(WP_DTYPE_Q4_0, blk, y, 32);
    for (int j = 0; j < 16; j++) {
        ck_assert_float_eq(y[j], (float)(j - 8) * -2.0f);
        ck_assert_float_eq(y[j + 16], (float)(7 - j) * -2.0f);
    }
    ck_assert_float_eq(y[0], 16.0f);   /* nibble 0 -> -8 * -2 */
    ck_assert_float_eq(y[16], -14.0f); /* nibble 15 -> 7 * -2 */
}
END_TEST

/*
 * Q4_K with d = 1 (0x3c00), dmin = 0.5 (0x3800) and sub-block scales / mins
 *   sc = {1, 2, 3, 4, 17, 33, 50, 63}, m = {0, 5, 10, 20, 40, 63, 1, 7},
 * packed by hand into the 12 scale bytes (low 6 bits of bytes 0..3 = sc0..3, of 4..7 =
 * m0..3; bytes 8..11 = low nibbles of sc4..7 | low nibbles of m4..7 << 4; the top 2 bits
 * of bytes 0..3 = sc4..7 >> 4, of bytes 4..7 = m4..7 >> 4):
 */
static const uint8_t q4k_scales[12] = {0x41, 0x82, 0xc3, 0xc4, 0x80, 0xc5, 0x0a, 0x14,
                                       0x81, 0xf1, 0x12, 0x7f};
static const int q4k_sc[8] = {1, 2, 3, 4, 17, 33, 50, 63};
static const int q4k_m[8] = {0, 5, 10, 20, 40, 63, 1, 7};

START_TEST(hand_q4_k)
{
    uint8_t blk[144];
    float y[256];
    blk[0] = 0x00; blk[1] = 0x3c; /* d = 1 */
    blk[2] = 0x00; blk[3] = 0x38; /* dmin = 0.5 */
    memcpy(blk + 4, q4k_scales, 12);
    for (int i = 0; i < 128; i++) blk[16 + i] = (uint8_t)(i * 7 + 3);
    wrk_dequantize_row(WP_DTYPE_Q4_K, blk, y, 256);
    for (int e = 0; e < 256; e++) {
        int p = e / 64, r = e % 64, sub = e / 32;
        uint8_t byte = (uint8_t)((32 * p + r % 32) * 7 + 3);
        int q = r < 32 ? (byte & 15) : (byte >> 4);
        float want = 1.0f * (float)q4k_sc[sub] * (float)q - 0.5f * (float)q4k_m[sub];
        ck_assert_msg(y[e] == want, "element %d: %g != %g", e, y[e], want);
    }
    /* a few by hand: element 0 = byte 3 low nibble 3 -> 1*1*3 - 0 = 3;
     * element 32 = byte 3 high nibble 0 -> 2*0 - 0.5*5 = -2.5;
     * element 255 = byte 127 (0x7c = 127*7+3 mod 256) high nibble 7 -> 63*7 - 3.5 */
    ck_assert_float_eq(y[0], 3.0f);
    ck_assert_float_eq(y[32], -2.5f);
    ck_assert_float_eq(y[255], 63.0f * 7.0f - 3.5f);
}
END_TEST

/*
 * Q6_K with d = 0.25 (0x3400), scales[16] = {1, -2, 3, ...}: element 128h + 32k + l has
 * low bits in ql[64h + l + 32*(k & 1)] (nibble k >> 1), high bits (qh[32h + l] >> 2k) & 3,
 * q = value - 32, scale index 8h + l/16 + 2k.
 */
START_TEST(hand_q6_k)
{
    uint8_t blk[210];
    float y[256];
    int8_t sc[16];
    for (int i = 0; i < 128; i++) blk[i] = (uint8_t)(i * 13 + 5);       /* ql */
    for (int i = 0; i < 64; i++) blk[128 + i] = (uint8_t)(i * 37 + 11); /* qh */
    for (int i = 0; i < 16; i++) sc[i] = (int8_t)((i % 2 ? -1 : 1) * (i * 8 + 1));
    memcpy(blk + 192, sc, 16);
    blk[208] = 0x00;
    blk[209] = 0x34;
    wrk_dequantize_row(WP_DTYPE_Q6_K, blk, y, 256);
    for (int e = 0; e < 256; e++) {
        int h = e / 128, k = (e % 128) / 32, l = e % 32;
        uint8_t ql = blk[64 * h + l + 32 * (k & 1)];
        int lo = (k >> 1) ? ql >> 4 : ql & 15;
        int hi = (blk[128 + 32 * h + l] >> (2 * k)) & 3;
        int q = (lo | hi << 4) - 32;
        float want = 0.25f * (float)sc[8 * h + l / 16 + 2 * k] * (float)q;
        ck_assert_msg(y[e] == want, "element %d: %g != %g", e, y[e], want);
    }
    /* element 0 by hand: ql[0] = 5 -> low 5; qh[0] = 11 = 0b1011 -> bits 0..1 = 3;
     * q = 5 | 3 << 4 = 53 - 32 = 21; 0.25 * 1 * 21 */
    ck_assert_float_eq(y[0], 5.25f);
}
END_TEST

/* Values already on a Q8_0 / Q4_0 grid (the extreme on the grid's end) quantize exactly:
 * the quantizers pick d = amax / 127 and d = max / -8 as ggml's do. */
START_TEST(quant_exact_grids)
{
    float x[32], y[32];
    uint8_t q[34];
    float d = 0.5f * (float)tu_range(1, 8); /* exact in f16 */
    for (int j = 0; j < 32; j++) x[j] = d * (float)((int)tu_range(0, 254) - 127);
    x[tu_range(0, 31)] = 127 * d;
    wrk_quantize_row(WP_DTYPE_Q8_0, x, q, 32);
    ck_assert_float_eq(wrk_f16_to_f32((uint16_t)(q[0] | q[1] << 8)), d);
    wrk_dequantize_row(WP_DTYPE_Q8_0, q, y, 32);
    for (int j = 0; j < 32; j++) ck_assert_float_eq(y[j], x[j]);

    for (int j = 0; j < 32; j++) x[j] = d * (float)((int)tu_range(0, 15) - 8);
    x[tu_range(0, 31)] = -8 * d; /* the extreme is negative: d stays positive */
    wrk_quantize_row(WP_DTYPE_Q4_0, x, q, 32);
    ck_assert_float_eq(wrk_f16_to_f32((uint16_t)(q[0] | q[1] << 8)), d);
    wrk_dequantize_row(WP_DTYPE_Q4_0, q, y, 32);
    for (int j = 0; j < 32; j++) ck_assert_float_eq(y[j], x[j]);
}
END_TEST

/* Quantize random rows (varied magnitude per block), dequantize, and bound the error. */
static void roundtrip(uint32_t type, double max_rel_block, double max_rel_rms)
{
    uint32_t be = wrk_dtype_block_elems(type);
    uint64_t n = (uint64_t)be * tu_range(4, 24);
    if (be == 1) n = 1024;
    float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    uint8_t *q = malloc(wrk_dtype_row_bytes(type, n));
    double worst_block = 0, err2 = 0, sig2 = 0;
    for (int iter = 0; iter < 20; iter++) {
        uint64_t blk = be < 32 ? 32 : be;
        for (uint64_t b = 0; b < n; b += blk) {
            float a = tu_uniform(0.01f, 10.0f), off = tu_uniform(-0.5f, 0.5f) * a;
            for (uint64_t i = b; i < b + blk && i < n; i++) x[i] = off + tu_uniform(-a, a);
        }
        wrk_quantize_row(type, x, q, n);
        wrk_dequantize_row(type, q, y, n);
        for (uint64_t b = 0; b < n; b += blk) {
            double amax = 0, emax = 0;
            for (uint64_t i = b; i < b + blk && i < n; i++) {
                amax = fmax(amax, fabs(x[i]));
                emax = fmax(emax, fabs((double)x[i] - y[i]));
                err2 += ((double)x[i] - y[i]) * ((double)x[i] - y[i]);
                sig2 += (double)x[i] * x[i];
            }
            worst_block = fmax(worst_block, emax / amax);
        }
    }
    double rel_rms = sqrt(err2 / sig2);
    fprintf(stderr, "%s: worst block max|err|/max|x| = %.5f, rms err / rms x = %.5f\n",
            wrk_dtype_name(type), worst_block, rel_rms);
    ck_assert_msg(worst_block <= max_rel_block, "%s: block error %g > %g",
                  wrk_dtype_name(type), worst_block, max_rel_block);
    ck_assert_msg(rel_rms <= max_rel_rms, "%s: rms error %g > %g", wrk_dtype_name(type),
                  rel_rms, max_rel_rms);
    ck_assert(rel_rms > 0 || type == WP_DTYPE_F32); /* lossy types did lose something */
    free(x);
    free(y);
    free(q);
}

START_TEST(roundtrip_f32) { roundtrip(WP_DTYPE_F32, 0.0, 0.0); }
END_TEST
/* half: relative error <= 2^-11; bf16: <= 2^-8 */
START_TEST(roundtrip_f16) { roundtrip(WP_DTYPE_F16, 1.0 / 2048, 1.0 / 2048); }
END_TEST
START_TEST(roundtrip_bf16) { roundtrip(WP_DTYPE_BF16, 1.0 / 256, 1.0 / 256); }
END_TEST
/* Q8_0: half a step of amax/127, plus the f16 rounding of d */
START_TEST(roundtrip_q8_0) { roundtrip(WP_DTYPE_Q8_0, 0.5 / 127 * 1.01 + 1.0 / 2048, 0.006); }
END_TEST
/* Q4_0: one step (amax/8) on the side opposite the extreme, half a step elsewhere */
START_TEST(roundtrip_q4_0) { roundtrip(WP_DTYPE_Q4_0, 1.0 / 8 * 1.01, 0.10); }
END_TEST
/* Q4_K: 16 levels over each sub-block's range, with 6-bit scales and mins */
START_TEST(roundtrip_q4_k) { roundtrip(WP_DTYPE_Q4_K, 0.15, 0.09); }
END_TEST
/* Q6_K: 64 levels, 8-bit scales */
START_TEST(roundtrip_q6_k) { roundtrip(WP_DTYPE_Q6_K, 0.04, 0.02); }
END_TEST

/* A Q4_K super-block mixing signs and a Q6_K one of near-zero values still decode close. */
START_TEST(quant_edge_blocks)
{
    float x[256], y[256];
    uint8_t q[210];
    for (int i = 0; i < 256; i++) x[i] = tu_uniform(1e-4f, 2e-4f) * (i % 3 ? 1.0f : -1.0f);
    wrk_quantize_row(WP_DTYPE_Q6_K, x, q, 256);
    wrk_dequantize_row(WP_DTYPE_Q6_K, q, y, 256);
    for (int i = 0; i < 256; i++) ck_assert(fabsf(x[i] - y[i]) < 2e-5f);
    for (int i = 0; i < 256; i++) x[i] = tu_uniform(3.0f, 5.0f); /* all positive: min 0 */
    wrk_quantize_row(WP_DTYPE_Q4_K, x, q, 256);
    wrk_dequantize_row(WP_DTYPE_Q4_K, q, y, 256);
    for (int i = 0; i < 256; i++) ck_assert(fabsf(x[i] - y[i]) < 0.4f);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("gguf_quant");
    TCase *tc = tcase_create("quant");
    tcase_add_test(tc, type_table);
    tcase_add_test(tc, f16_exhaustive);
    tcase_add_test(tc, f16_rounding);
    tcase_add_test(tc, bf16_rounding);
    tcase_add_test(tc, hand_q8_0);
    tcase_add_test(tc, hand_q4_0);
    tcase_add_test(tc, hand_q4_k);
    tcase_add_test(tc, hand_q6_k);
    tcase_add_test(tc, quant_exact_grids);
    tcase_add_test(tc, roundtrip_f32);
    tcase_add_test(tc, roundtrip_f16);
    tcase_add_test(tc, roundtrip_bf16);
    tcase_add_test(tc, roundtrip_q8_0);
    tcase_add_test(tc, roundtrip_q4_0);
    tcase_add_test(tc, roundtrip_q4_k);
    tcase_add_test(tc, roundtrip_q6_k);
    tcase_add_test(tc, quant_edge_blocks);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    tu_seed();
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
