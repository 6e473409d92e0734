/*
 * quant_k.c - ggml's 256-element "k-quant" super-blocks Q4_K and Q6_K: reference
 * dequantization (the oracle of the CUDA kernels) and reference quantizers that follow
 * ggml's quantize_row_*_ref (the search for the best scale per sub-block).
 *
 * Q4_K (144 bytes): f16 d @0, f16 dmin @2, uint8 scales[12] @4, uint8 qs[128] @16.
 *   8 sub-blocks of 32 with a 6-bit scale sc and a 6-bit min m each, packed in scales[]:
 *   j < 4:  sc = scales[j] & 63,                 m = scales[j+4] & 63
 *   j >= 4: sc = (scales[j+4] & 15) | (scales[j-4] >> 6) << 4,
 *           m  = (scales[j+4] >> 4) | (scales[j]   >> 6) << 4
 *   element 64p + l (l < 32) is the low nibble of qs[32p + l] (sub-block 2p), element
 *   64p + 32 + l its high nibble (sub-block 2p+1); x = d * sc * q - dmin * m.
 * Q6_K (210 bytes): uint8 ql[128] @0, uint8 qh[64] @128, int8 scales[16] @192, f16 d @208.
 *   For half h (128 elements) and l < 32, quarter k = 0..3 holds element 128h + 32k + l:
 *   low 4 bits from ql[64h + l + 32*(k&1)] (low nibble for k < 2, high nibble for k >= 2),
 *   high 2 bits from (qh[32h + l] >> 2k) & 3; q = value - 32; scale scales[8h + l/16 + 2k];
 *   x = d * scale * q.
 */
#include <math.h>
#include <string.h>

#include "gguf/quant.h"
#include "gguf/quant_internal.h"

#define QK_K 256
#define GROUP_MAX_EPS 1e-15f

/* ---- Q4_K ---------------------------------------------------------------------------- */

/* The 6-bit scale and min of sub-block j (see the layout above). */
static void q4k_scale_min(int j, const uint8_t *q, uint8_t *sc, uint8_t *m)
{
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (uint8_t)((q[j + 4] & 0x0f) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

void wrk_dequant_q4_k(const uint8_t *b, float *y, uint64_t nb)
{
    for (uint64_t i = 0; i < nb; i++, b += 144) {
        float d = wrk_f16_to_f32(wrk_q_rd16(b));
        float dmin = wrk_f16_to_f32(wrk_q_rd16(b + 2));
        const uint8_t *scales = b + 4;
        const uint8_t *q = b + 16;
        for (int p = 0; p < 4; p++, q += 32) {
            uint8_t sc, m;
            q4k_scale_min(2 * p, scales, &sc, &m);
            float d1 = d * sc, m1 = dmin * m;
            q4k_scale_min(2 * p + 1, scales, &sc, &m);
            float d2 = d * sc, m2 = dmin * m;
            for (int l = 0; l < 32; l++) *y++ = d1 * (float)(q[l] & 0x0f) - m1;
            for (int l = 0; l < 32; l++) *y++ = d2 * (float)(q[l] >> 4) - m2;
        }
    }
}

/*
 * Fit x[i] ~ scale * L[i] - min with L in [0, nmax] minimising the weighted squared error:
 * start from the plain min/max grid, then try nstep+1 slightly different grids and solve
 * the 2x2 least-squares problem for (scale, min) on each (ggml's make_qkx2_quants).
 * Returns scale; *the_min receives min (>= 0, subtracted).
 */
static float fit_scale_min(int n, int nmax, const float *x, const float *w, uint8_t *L,
                           float *the_min, float rmin, float rdelta, int nstep)
{
    uint8_t Laux[32];
    float min = x[0], max = x[0];
    float sum_w = w[0], sum_x = w[0] * x[0];
    for (int i = 1; i < n; i++) {
        if (x[i] < min) min = x[i];
        if (x[i] > max) max = x[i];
        sum_w += w[i];
        sum_x += w[i] * x[i];
    }
    if (min > 0) min = 0;
    if (max == min) {
        memset(L, 0, (size_t)n);
        *the_min = -min;
        return 0.0f;
    }
    float iscale = (float)nmax / (max - min);
    float scale = 1.0f / iscale;
    float best_err = 0.0f;
    for (int i = 0; i < n; i++) {
        int l = wrk_q_nearest_int(iscale * (x[i] - min));
        l = l < 0 ? 0 : l > nmax ? nmax : l;
        L[i] = (uint8_t)l;
        float diff = scale * (float)l + min - x[i];
        best_err += w[i] * diff * diff;
    }
    for (int is = 0; is <= nstep; is++) {
        iscale = (rmin + rdelta * (float)is + (float)nmax) / (max - min);
        float sum_l = 0, sum_l2 = 0, sum_xl = 0;
        for (int i = 0; i < n; i++) {
            int l = wrk_q_nearest_int(iscale * (x[i] - min));
            l = l < 0 ? 0 : l > nmax ? nmax : l;
            Laux[i] = (uint8_t)l;
            sum_l += w[i] * (float)l;
            sum_l2 += w[i] * (float)(l * l);
            sum_xl += w[i] * (float)l * x[i];
        }
        float det = sum_w * sum_l2 - sum_l * sum_l;
        if (det <= 0) continue;
        float this_scale = (sum_w * sum_xl - sum_x * sum_l) / det;
        float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / det;
        if (this_min > 0) {
            this_min = 0;
            this_scale = sum_xl / sum_l2;
        }
        float err = 0;
        for (int i = 0; i < n; i++) {
            float diff = this_scale * (float)Laux[i] + this_min - x[i];
            err += w[i] * diff * diff;
        }
        if (err < best_err) {
            memcpy(L, Laux, (size_t)n);
            best_err = err;
            scale = this_scale;
            min = this_min;
        }
    }
    *the_min = -min;
    return scale;
}

void wrk_quant_q4_k(const float *x, uint8_t *b, uint64_t nb)
{
    uint8_t L[QK_K];
    float w[32], mins[8], scales[8];

    for (uint64_t i = 0; i < nb; i++, b += 144, x += QK_K) {
        float max_scale = 0, max_min = 0;
        for (int j = 0; j < 8; j++) {
            float sum_x2 = 0;
            for (int l = 0; l < 32; l++) sum_x2 += x[32 * j + l] * x[32 * j + l];
            float av_x = sqrtf(sum_x2 / 32);
            for (int l = 0; l < 32; l++) w[l] = av_x + fabsf(x[32 * j + l]);
            scales[j] = fit_scale_min(32, 15, x + 32 * j, w, L + 32 * j, &mins[j], -1.0f,
                                      0.1f, 20);
            if (scales[j] > max_scale) max_scale = scales[j];
            if (mins[j] > max_min) max_min = mins[j];
        }

        /* 6-bit sub-block scales and mins relative to the block's d and dmin */
        uint8_t *sc6 = b + 4;
        memset(sc6, 0, 12);
        float inv_scale = max_scale > 0 ? 63.0f / max_scale : 0.0f;
        float inv_min = max_min > 0 ? 63.0f / max_min : 0.0f;
        for (int j = 0; j < 8; j++) {
            int ls = wrk_q_nearest_int(inv_scale * scales[j]);
            int lm = wrk_q_nearest_int(inv_min * mins[j]);
            ls = ls < 0 ? 0 : ls > 63 ? 63 : ls;
            lm = lm < 0 ? 0 : lm > 63 ? 63 : lm;
            if (j < 4) {
                sc6[j] = (uint8_t)ls;
                sc6[j + 4] = (uint8_t)lm;
            } else {
                sc6[j + 4] = (uint8_t)((ls & 0x0f) | ((lm & 0x0f) << 4));
                sc6[j - 4] |= (uint8_t)((ls >> 4) << 6);
                sc6[j] |= (uint8_t)((lm >> 4) << 6);
            }
        }
        wrk_q_wr16(b, wrk_f32_to_f16(max_scale / 63.0f));
        wrk_q_wr16(b + 2, wrk_f32_to_f16(max_min / 63.0f));

        /* requantize against the scales as they will be decoded */
        float d = wrk_f16_to_f32(wrk_q_rd16(b));
        float dmin = wrk_f16_to_f32(wrk_q_rd16(b + 2));
        for (int j = 0; j < 8; j++) {
            uint8_t sc, m;
            q4k_scale_min(j, sc6, &sc, &m);
            float dj = d * sc;
            if (dj == 0.0f) continue;
            float dm = dmin * m;
            for (int l = 0; l < 32; l++) {
                int q = wrk_q_nearest_int((x[32 * j + l] + dm) / dj);
                L[32 * j + l] = (uint8_t)(q < 0 ? 0 : q > 15 ? 15 : q);
            }
        }
        uint8_t *qs = b + 16;
        for (int p = 0; p < 4; p++)
            for (int l = 0; l < 32; l++)
                qs[32 * p + l] = (uint8_t)(L[64 * p + l] | (L[64 * p + 32 + l] << 4));
    }
}

/* ---- Q6_K ---------------------------------------------------------------------------- */

void wrk_dequant_q6_k(const uint8_t *b, float *y, uint64_t nb)
{
    for (uint64_t i = 0; i < nb; i++, b += 210) {
        float d = wrk_f16_to_f32(wrk_q_rd16(b + 208));
        const uint8_t *ql = b, *qh = b + 128;
        const int8_t *sc = (const int8_t *)(b + 192);
        for (int h = 0; h < 2; h++, y += 128, ql += 64, qh += 32, sc += 8) {
            for (int l = 0; l < 32; l++) {
                int is = l / 16;
                int q1 = ((ql[l] & 0x0f) | (((qh[l] >> 0) & 3) << 4)) - 32;
                int q2 = ((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) - 32;
                int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                y[l] = d * (float)sc[is] * (float)q1;
                y[l + 32] = d * (float)sc[is + 2] * (float)q2;
                y[l + 64] = d * (float)sc[is + 4] * (float)q3;
                y[l + 96] = d * (float)sc[is + 6] * (float)q4;
            }
        }
    }
}

/*
 * Symmetric fit x[i] ~ scale * (L[i] - nmax), L - nmax in [-nmax, nmax-1], weights x^2:
 * the extreme maps to -nmax, then 18 nearby grids are tried keeping the one with the best
 * least-squares fit (ggml's make_qx_quants with rmse_type 1).
 */
static float fit_scale_sym(int n, int nmax, const float *x, int8_t *L)
{
    float max = 0, amax = 0;
    for (int i = 0; i < n; i++) {
        if (fabsf(x[i]) > amax) {
            amax = fabsf(x[i]);
            max = x[i];
        }
    }
    if (amax < GROUP_MAX_EPS) {
        memset(L, 0, (size_t)n);
        return 0.0f;
    }
    float iscale = -(float)nmax / max;
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; i++) {
        int l = wrk_q_nearest_int(iscale * x[i]);
        l = l < -nmax ? -nmax : l > nmax - 1 ? nmax - 1 : l;
        L[i] = (int8_t)(l + nmax);
        float w = x[i] * x[i];
        sumlx += w * x[i] * (float)l;
        suml2 += w * (float)(l * l);
    }
    float scale = suml2 != 0 ? sumlx / suml2 : 0.0f;
    float best = scale * sumlx;
    for (int is = -9; is <= 9; is++) {
        if (is == 0) continue;
        iscale = -((float)nmax + 0.1f * (float)is) / max;
        sumlx = suml2 = 0;
        for (int i = 0; i < n; i++) {
            int l = wrk_q_nearest_int(iscale * x[i]);
            l = l < -nmax ? -nmax : l > nmax - 1 ? nmax - 1 : l;
            float w = x[i] * x[i];
            sumlx += w * x[i] * (float)l;
            suml2 += w * (float)(l * l);
        }
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            for (int i = 0; i < n; i++) {
                int l = wrk_q_nearest_int(iscale * x[i]);
                l = l < -nmax ? -nmax : l > nmax - 1 ? nmax - 1 : l;
                L[i] = (int8_t)(l + nmax);
            }
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

void wrk_quant_q6_k(const float *x, uint8_t *b, uint64_t nb)
{
    int8_t L[QK_K];
    float scales[16];

    for (uint64_t i = 0; i < nb; i++, b += 210, x += QK_K) {
        float max_scale = 0, max_abs = 0;
        for (int ib = 0; ib < 16; ib++) {
            scales[ib] = fit_scale_sym(16, 32, x + 16 * ib, L + 16 * ib);
            if (fabsf(scales[ib]) > max_abs) {
                max_abs = fabsf(scales[ib]);
                max_scale = scales[ib];
            }
        }
        memset(b, 0, 210);
        if (max_abs < GROUP_MAX_EPS) continue; /* all zero: d = 0 */

        /* 8-bit signed sub-block scales; the largest maps to -128 */
        float iscale = -128.0f / max_scale;
        int8_t *sc = (int8_t *)(b + 192);
        wrk_q_wr16(b + 208, wrk_f32_to_f16(1.0f / iscale));
        for (int ib = 0; ib < 16; ib++) {
            int s = wrk_q_nearest_int(iscale * scales[ib]);
            sc[ib] = (int8_t)(s > 127 ? 127 : s < -128 ? -128 : s);
        }
        float d = wrk_f16_to_f32(wrk_q_rd16(b + 208));
        for (int j = 0; j < 16; j++) {
            float dj = d * (float)sc[j];
            if (dj == 0.0f) continue;
            for (int l = 0; l < 16; l++) {
                int q = wrk_q_nearest_int(x[16 * j + l] / dj);
                q = q < -32 ? -32 : q > 31 ? 31 : q;
                L[16 * j + l] = (int8_t)(q + 32);
            }
        }
        uint8_t *ql = b, *qh = b + 128;
        for (int h = 0; h < 2; h++, ql += 64, qh += 32) {
            const int8_t *Lh = L + 128 * h;
            for (int l = 0; l < 32; l++) {
                int q1 = Lh[l], q2 = Lh[l + 32], q3 = Lh[l + 64], q4 = Lh[l + 96];
                ql[l] = (uint8_t)((q1 & 0x0f) | ((q3 & 0x0f) << 4));
                ql[l + 32] = (uint8_t)((q2 & 0x0f) | ((q4 & 0x0f) << 4));
                qh[l] = (uint8_t)((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) |
                                  ((q4 >> 4) << 6));
            }
        }
    }
}
