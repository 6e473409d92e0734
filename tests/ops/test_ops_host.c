/*
 * test_ops_host.c - the reference kernel set (wrk_ops_host) against an independent naive
 * double-precision computation on random data: matmul for every weight type (quantized
 * from random values and raw random blocks), odd shapes, bias; get_rows; rms_norm; add;
 * attention (MHA and GQA, prefill then decode steps) against a direct softmax over the
 * k/v history kept by the test itself; and rejection of bad arguments.
 */
#include "config.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/wrk_error.h"
#include "gguf/quant.h"
#include "ops/ops.h"
#include "ops_testutil.h"

static const wp_ops *ops;

/* y_ref[c][r] = sum_i deq(W)[r][i] * x[c][i] (+ bias[r]) in double. */
static void ref_matmul(const wp_tensor *w, const float *x, double *y, int n, const float *bias)
{
    const uint64_t in = w->ne[0], out = w->ne[1];
    const uint64_t rb = wrk_dtype_row_bytes(w->type, in);
    float *row = malloc(in * sizeof(float));
    ck_assert_ptr_nonnull(row);
    for (uint64_t r = 0; r < out; r++) {
        wrk_dequantize_row(w->type, (const uint8_t *)w->data + r * rb, row, in);
        for (int c = 0; c < n; c++) {
            double acc = bias ? (double)bias[r] : 0.0;
            for (uint64_t i = 0; i < in; i++)
                acc += (double)row[i] * (double)x[(uint64_t)c * in + i];
            y[(uint64_t)c * out + r] = acc;
        }
    }
    free(row);
}

static double rel_err_d(const float *a, const double *ref, size_t n)
{
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < n; i++) {
        num += ((double)a[i] - ref[i]) * ((double)a[i] - ref[i]);
        den += ref[i] * ref[i];
    }
    return den > 0.0 ? sqrt(num / den) : sqrt(num);
}

static void check_matmul(uint32_t type, int in, int out, int n, int with_bias, int raw,
                         uint64_t seed)
{
    tu_rng r;
    tu_seed(&r, seed);
    wp_tensor w;
    ck_assert_int_eq(tu_make_weight(&r, type, in, out, raw, &w), 0);
    float *x = malloc(sizeof(float) * in * n), *y = malloc(sizeof(float) * out * n);
    float *bias = with_bias ? malloc(sizeof(float) * out) : NULL;
    double *ref = malloc(sizeof(double) * out * n);
    ck_assert(x && y && ref);
    tu_fill(&r, x, (size_t)in * n, -1.0f, 1.0f);
    if (bias)
        tu_fill(&r, bias, out, -0.5f, 0.5f);
    for (size_t i = 0; i < (size_t)out * n; i++)
        y[i] = NAN;
    ck_assert_int_eq(ops->matmul(NULL, &w, x, y, n, bias), 0);
    ref_matmul(&w, x, ref, n, bias);
    ck_assert_msg(tu_all_finite(y, (size_t)out * n), "matmul %s wrote non-finite values",
                  wrk_dtype_name(type));
    const double e = rel_err_d(y, ref, (size_t)out * n);
    ck_assert_msg(e < 1e-5, "matmul %s in %d out %d n %d bias %d raw %d: rel err %g",
                  wrk_dtype_name(type), in, out, n, with_bias, raw, e);
    free(w.data);
    free(x);
    free(y);
    free(bias);
    free(ref);
}

START_TEST(test_matmul_float_types)
{
    /* in = 172 is no multiple of 8 or 32: only the element types take it */
    static const int shapes[][3] = {{64, 37, 1}, {172, 19, 3}, {172, 5, 8}, {256, 33, 37},
                                    {7, 3, 2}};
    const uint32_t types[] = {WP_DTYPE_F32, WP_DTYPE_F16, WP_DTYPE_BF16};
    for (int t = 0; t < 3; t++)
        for (int s = 0; s < 5; s++)
            check_matmul(types[t], shapes[s][0], shapes[s][1], shapes[s][2], s & 1, 0,
                         100 + 10 * t + s);
}
END_TEST

START_TEST(test_matmul_block32_types)
{
    static const int shapes[][3] = {{64, 37, 1}, {96, 19, 3}, {2048, 5, 8}, {128, 13, 37}};
    const uint32_t types[] = {WP_DTYPE_Q8_0, WP_DTYPE_Q4_0};
    for (int t = 0; t < 2; t++)
        for (int s = 0; s < 4; s++)
            for (int raw = 0; raw < 2; raw++)
                check_matmul(types[t], shapes[s][0], shapes[s][1], shapes[s][2], s & 1, raw,
                             200 + 10 * t + 2 * s + raw);
}
END_TEST

START_TEST(test_matmul_k_types)
{
    static const int shapes[][3] = {{256, 37, 1}, {512, 19, 3}, {2048, 5, 8}, {768, 11, 37}};
    const uint32_t types[] = {WP_DTYPE_Q4_K, WP_DTYPE_Q6_K};
    for (int t = 0; t < 2; t++)
        for (int s = 0; s < 4; s++)
            for (int raw = 0; raw < 2; raw++)
                check_matmul(types[t], shapes[s][0], shapes[s][1], shapes[s][2], !(s & 1), raw,
                             300 + 10 * t + 2 * s + raw);
}
END_TEST

START_TEST(test_get_rows)
{
    tu_rng r;
    tu_seed(&r, 7);
    for (int t = 0; t < TU_N_TYPES; t++) {
        const uint32_t type = tu_types[t];
        const int in = wrk_dtype_block_elems(type) > 32 ? 512 : 96, rows = 29, n = 11;
        wp_tensor w;
        ck_assert_int_eq(tu_make_weight(&r, type, in, rows, 1, &w), 0);
        int32_t ids[11];
        for (int i = 0; i < n; i++)
            ids[i] = (int32_t)(tu_u64(&r) % rows);
        ids[3] = ids[7]; /* a repeated id */
        ids[5] = rows - 1;
        float *out = malloc(sizeof(float) * in * n), *ref = malloc(sizeof(float) * in);
        for (int i = 0; i < in * n; i++)
            out[i] = NAN;
        ck_assert_int_eq(ops->get_rows(NULL, &w, ids, n, out), 0);
        const uint64_t rb = wrk_dtype_row_bytes(type, in);
        for (int i = 0; i < n; i++) {
            wrk_dequantize_row(type, (const uint8_t *)w.data + rb * ids[i], ref, in);
            ck_assert_msg(memcmp(ref, out + (size_t)i * in, sizeof(float) * in) == 0,
                          "get_rows %s row %d differs", wrk_dtype_name(type), i);
            ck_assert(tu_all_finite(ref, in));
        }
        /* an id out of range is refused before anything is written */
        for (int i = 0; i < in * n; i++)
            out[i] = NAN;
        ids[4] = rows;
        ck_assert_int_eq(ops->get_rows(NULL, &w, ids, n, out), CUDA_ERROR_INVALID_PARAMETER);
        ck_assert_ptr_nonnull(strstr(wrk_error_detail(), "outside"));
        ck_assert(isnan(out[0]));
        ids[4] = -1;
        ck_assert_int_eq(ops->get_rows(NULL, &w, ids, n, out), CUDA_ERROR_INVALID_PARAMETER);
        free(out);
        free(ref);
        free(w.data);
    }
}
END_TEST

START_TEST(test_rms_norm_add)
{
    tu_rng r;
    tu_seed(&r, 11);
    static const int shapes[][2] = {{1, 2048}, {3, 172}, {37, 64}, {2, 1}};
    for (int s = 0; s < 4; s++) {
        const int rows = shapes[s][0], width = shapes[s][1];
        const size_t n = (size_t)rows * width;
        float *x = malloc(n * sizeof(float)), *w = malloc(width * sizeof(float));
        float *out = malloc(n * sizeof(float));
        double *ref = malloc(n * sizeof(double));
        tu_fill(&r, x, n, -3.0f, 3.0f);
        tu_fill(&r, w, width, 0.5f, 1.5f);
        const float eps = 1e-5f;
        for (int i = 0; i < rows; i++) {
            double ss = 0.0;
            for (int j = 0; j < width; j++)
                ss += (double)x[i * width + j] * x[i * width + j];
            const double inv = 1.0 / sqrt(ss / width + eps);
            for (int j = 0; j < width; j++)
                ref[i * width + j] = x[i * width + j] * inv * w[j];
        }
        ck_assert_int_eq(ops->rms_norm(NULL, x, w, out, rows, width, eps), 0);
        ck_assert_msg(rel_err_d(out, ref, n) < 1e-6, "rms_norm %dx%d: %g", rows, width,
                      rel_err_d(out, ref, n));
        /* in place gives the same */
        ck_assert_int_eq(ops->rms_norm(NULL, x, w, x, rows, width, eps), 0);
        ck_assert(memcmp(x, out, n * sizeof(float)) == 0);

        /* add: y += x element by element */
        float *y = malloc(n * sizeof(float)), *y0 = malloc(n * sizeof(float));
        tu_fill(&r, y, n, -1.0f, 1.0f);
        memcpy(y0, y, n * sizeof(float));
        ck_assert_int_eq(ops->add(NULL, y, out, n), 0);
        for (size_t i = 0; i < n; i++)
            ck_assert(y[i] == y0[i] + out[i]);
        free(y);
        free(y0);
        free(x);
        free(w);
        free(out);
        free(ref);
    }
    float v = 1.0f;
    ck_assert_int_eq(ops->rms_norm(NULL, &v, &v, &v, 1, 0, 1e-5f), CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_int_eq(ops->rms_norm(NULL, &v, &v, &v, 1, 1, NAN), CUDA_ERROR_INVALID_PARAMETER);
}
END_TEST

/* One attention configuration: calls of n_tokens at increasing pos (a prefill, then decode
 * steps and a chunk) against a direct double softmax over the k/v history the test keeps. */
static void check_attention(int n_heads, int n_kv, int hd, int n_ctx, const int *steps,
                            int n_steps, uint64_t seed)
{
    tu_rng r;
    tu_seed(&r, seed);
    const size_t kvw = (size_t)n_kv * hd, qw = (size_t)n_heads * hd;
    float *kc = malloc(sizeof(float) * n_ctx * kvw), *vc = malloc(sizeof(float) * n_ctx * kvw);
    float *kh = malloc(sizeof(float) * n_ctx * kvw), *vh = malloc(sizeof(float) * n_ctx * kvw);
    double *sc = malloc(sizeof(double) * n_ctx);
    int pos = 0;
    for (int s = 0; s < n_steps; s++) {
        const int n = steps[s];
        float *q = malloc(sizeof(float) * n * qw), *k = malloc(sizeof(float) * n * kvw);
        float *v = malloc(sizeof(float) * n * kvw), *out = malloc(sizeof(float) * n * qw);
        double *ref = malloc(sizeof(double) * n * qw);
        tu_fill(&r, q, n * qw, -1.0f, 1.0f);
        tu_fill(&r, k, n * kvw, -1.0f, 1.0f);
        tu_fill(&r, v, n * kvw, -1.0f, 1.0f);
        memcpy(kh + pos * kvw, k, sizeof(float) * n * kvw);
        memcpy(vh + pos * kvw, v, sizeof(float) * n * kvw);
        const wp_attention_params p = {n, pos, n_heads, n_kv, hd, n_ctx, 1.0f / sqrtf((float)hd)};
        ck_assert_int_eq(ops->attention(NULL, &p, q, k, v, kc, vc, out), 0);
        for (int i = 0; i < n; i++)
            for (int h = 0; h < n_heads; h++) {
                const int g = h / (n_heads / n_kv), len = pos + i + 1;
                double m = -INFINITY, sum = 0.0;
                for (int t = 0; t < len; t++) {
                    double d = 0.0;
                    for (int e = 0; e < hd; e++)
                        d += (double)q[i * qw + h * hd + e] * kh[t * kvw + g * hd + e];
                    sc[t] = d * p.scale;
                    m = fmax(m, sc[t]);
                }
                for (int t = 0; t < len; t++)
                    sum += (sc[t] = exp(sc[t] - m));
                for (int e = 0; e < hd; e++) {
                    double o = 0.0;
                    for (int t = 0; t < len; t++)
                        o += sc[t] * vh[t * kvw + g * hd + e];
                    ref[i * qw + h * hd + e] = o / sum;
                }
            }
        const double e = rel_err_d(out, ref, n * qw);
        ck_assert_msg(e < 1e-5, "attention heads %d/%d hd %d step %d (n %d pos %d): rel err %g",
                      n_heads, n_kv, hd, s, n, pos, e);
        pos += n;
        ck_assert(memcmp(kc, kh, sizeof(float) * pos * kvw) == 0);
        ck_assert(memcmp(vc, vh, sizeof(float) * pos * kvw) == 0);
        free(q);
        free(k);
        free(v);
        free(out);
        free(ref);
    }
    free(kc);
    free(vc);
    free(kh);
    free(vh);
    free(sc);
}

START_TEST(test_attention)
{
    static const int steps[] = {5, 1, 1, 3, 1, 8};
    check_attention(4, 4, 16, 40, steps, 6, 21);  /* MHA */
    check_attention(8, 2, 32, 19, steps, 6, 22);  /* GQA 4:1, cache filled to its end */
    check_attention(6, 3, 20, 64, steps, 6, 23);  /* odd head_dim */
    static const int one[] = {1, 1, 1};
    check_attention(2, 1, 64, 3, one, 3, 24);     /* decode only from pos 0 */
}
END_TEST

START_TEST(test_bad_arguments)
{
    float buf[64] = {0};
    wp_attention_params p = {2, 3, 4, 2, 4, 4, 0.5f}; /* pos + n > n_ctx */
    ck_assert_int_eq(ops->attention(NULL, &p, buf, buf, buf, buf, buf, buf),
                     CUDA_ERROR_INVALID_PARAMETER);
    p.n_ctx = 8;
    p.n_kv_heads = 3; /* 4 % 3 != 0 */
    ck_assert_int_eq(ops->attention(NULL, &p, buf, buf, buf, buf, buf, buf),
                     CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_int_eq(ops->attention(NULL, NULL, buf, buf, buf, buf, buf, buf),
                     CUDA_ERROR_INVALID_PARAMETER);

    uint8_t data[256] = {0};
    wp_tensor w = {"bad", WP_DTYPE_Q8_0, 2, {48, 2, 1, 1}, sizeof(data), data};
    ck_assert_int_eq(ops->matmul(NULL, &w, buf, buf, 1, NULL), CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_ptr_nonnull(strstr(wrk_error_detail(), "bad"));
    w.type = 3; /* Q4_1: known to ggml, not supported */
    w.ne[0] = 32;
    ck_assert_int_eq(ops->matmul(NULL, &w, buf, buf, 1, NULL), CUDA_ERROR_INVALID_PARAMETER);
    w.type = WP_DTYPE_Q8_0;
    w.nbytes = 40; /* two rows need 68 */
    ck_assert_int_eq(ops->matmul(NULL, &w, buf, buf, 1, NULL), CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_int_eq(ops->matmul(NULL, NULL, buf, buf, 1, NULL), CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_int_eq(ops->add(NULL, NULL, buf, 4), CUDA_ERROR_INVALID_PARAMETER);
}
END_TEST

START_TEST(test_table)
{
    ck_assert_uint_eq(ops->abi_major, WORKER_PLUGIN_ABI_MAJOR);
    ck_assert_uint_eq(ops->struct_size, sizeof(wp_ops));
    ck_assert(ops->matmul && ops->get_rows && ops->attention && ops->add && ops->rms_norm &&
              ops->to_host && ops->from_host && ops->synchronize);
    char a[16] = "hello, world!!!", b[16];
    ck_assert_int_eq(ops->from_host(NULL, b, a, sizeof(a)), 0);
    ck_assert_int_eq(ops->to_host(NULL, a, b, sizeof(a)), 0);
    ck_assert_str_eq(b, "hello, world!!!");
    ck_assert_int_eq(ops->synchronize(NULL), 0);
#ifndef HAVE_CUDA
    ck_assert_ptr_null(wrk_ops_cuda());
#else
    ck_assert_ptr_nonnull(wrk_ops_cuda());
#endif
}
END_TEST

int main(void)
{
    ops = wrk_ops_host();
    Suite *s = suite_create("ops_host");
    TCase *tc = tcase_create("host");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_table);
    tcase_add_test(tc, test_matmul_float_types);
    tcase_add_test(tc, test_matmul_block32_types);
    tcase_add_test(tc, test_matmul_k_types);
    tcase_add_test(tc, test_get_rows);
    tcase_add_test(tc, test_rms_norm_add);
    tcase_add_test(tc, test_attention);
    tcase_add_test(tc, test_bad_arguments);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    const int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
