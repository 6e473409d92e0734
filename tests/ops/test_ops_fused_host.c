/*
 * test_ops_fused_host.c - the ABI 1.1 ops of the reference set against the 1.0 ops they
 * stand for, on random data: matmul_multi = one matmul per part (+= with
 * WP_MATMUL_ACCUMULATE), matmul_glu = two matmuls and silu(g) * u, get_rows_dev = get_rows,
 * attention_decode = attention of one token at *pos; graphs refused; bad arguments refused.
 * The host set is the oracle of the CUDA set (test_ops_fused_cuda), so the composition must
 * hold exactly (bit for bit) here.
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

static float *rand_buf(tu_rng *r, size_t n, float lo, float hi)
{
    float *p = malloc(n * sizeof(float));
    ck_assert_ptr_nonnull(p);
    tu_fill(r, p, n, lo, hi);
    return p;
}

START_TEST(test_matmul_multi)
{
    tu_rng r;
    tu_seed(&r, 7100);
    const uint32_t types[3] = {WP_DTYPE_Q4_K, WP_DTYPE_Q4_K, WP_DTYPE_Q6_K};
    const int in = 256, outs[3] = {64, 16, 16}, n = 3;
    wp_tensor w[3];
    wp_matmul_part parts[3];
    float *y[3], *want[3], *bias = rand_buf(&r, 64, -1, 1);
    float *x = rand_buf(&r, (size_t)in * n, -1, 1);
    for (unsigned flags = 0; flags <= WP_MATMUL_ACCUMULATE; flags++) {
        for (int i = 0; i < 3; i++) {
            ck_assert_int_eq(tu_make_weight(&r, types[i], in, outs[i], 0, &w[i]), 0);
            y[i] = rand_buf(&r, (size_t)outs[i] * n, -1, 1);
            want[i] = malloc(sizeof(float) * outs[i] * n);
            ck_assert_int_eq(ops->matmul(NULL, &w[i], x, want[i], n, i == 0 ? bias : NULL), 0);
            if (flags & WP_MATMUL_ACCUMULATE)
                for (int j = 0; j < outs[i] * n; j++)
                    want[i][j] = y[i][j] + want[i][j];
            parts[i] = (wp_matmul_part){&w[i], y[i], i == 0 ? bias : NULL};
        }
        ck_assert_int_eq(ops->matmul_multi(NULL, parts, 3, x, n, flags), 0);
        for (int i = 0; i < 3; i++) {
            ck_assert_mem_eq(y[i], want[i], sizeof(float) * outs[i] * n);
            free(y[i]);
            free(want[i]);
            free(w[i].data);
        }
    }
    free(x);
    free(bias);
}
END_TEST

START_TEST(test_matmul_glu)
{
    tu_rng r;
    tu_seed(&r, 7200);
    const int in = 64, out = 37, n = 2;
    wp_tensor g, u;
    ck_assert_int_eq(tu_make_weight(&r, WP_DTYPE_F16, in, out, 0, &g), 0);
    ck_assert_int_eq(tu_make_weight(&r, WP_DTYPE_Q8_0, in, out, 0, &u), 0);
    float *x = rand_buf(&r, (size_t)in * n, -2, 2);
    float *gy = malloc(sizeof(float) * out * n), *uy = malloc(sizeof(float) * out * n);
    float *o = malloc(sizeof(float) * out * n), *tmp = malloc(sizeof(float) * out * n);
    ck_assert_int_eq(ops->matmul(NULL, &g, x, gy, n, NULL), 0);
    ck_assert_int_eq(ops->matmul(NULL, &u, x, uy, n, NULL), 0);
    ck_assert_int_eq(ops->matmul_glu(NULL, WP_GLU_SILU, &g, &u, x, o, tmp, n), 0);
    for (int i = 0; i < out * n; i++) {
        const float want = gy[i] / (1.0f + expf(-gy[i])) * uy[i];
        ck_assert_float_eq(o[i], want);
        /* and the definition in double, within float rounding */
        const double d = (double)gy[i] / (1.0 + exp(-(double)gy[i])) * uy[i];
        ck_assert_double_eq_tol(o[i], d, 1e-6 * (1 + fabs(d)));
    }
    ck_assert_int_eq(ops->matmul_glu(NULL, 1, &g, &u, x, o, tmp, n), CUDA_ERROR_INVALID_PARAMETER);
    u.ne[1] = 36;
    ck_assert_int_eq(ops->matmul_glu(NULL, WP_GLU_SILU, &g, &u, x, o, tmp, n),
                     CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_ptr_nonnull(strstr(wrk_error_detail(), "differ"));
    free(g.data); free(u.data); free(x); free(gy); free(uy); free(o); free(tmp);
}
END_TEST

START_TEST(test_get_rows_dev)
{
    tu_rng r;
    tu_seed(&r, 7300);
    wp_tensor t;
    ck_assert_int_eq(tu_make_weight(&r, WP_DTYPE_Q6_K, 256, 9, 0, &t), 0);
    const int32_t ids[3] = {8, 0, 5};
    float a[3 * 256], b[3 * 256];
    ck_assert_int_eq(ops->get_rows(NULL, &t, ids, 3, a), 0);
    ck_assert_int_eq(ops->get_rows_dev(NULL, &t, ids, 3, b), 0);
    ck_assert_mem_eq(a, b, sizeof(a));
    const int32_t bad[1] = {9};
    ck_assert_int_eq(ops->get_rows_dev(NULL, &t, bad, 1, b), CUDA_ERROR_INVALID_PARAMETER);
    free(t.data);
}
END_TEST

/* Decode steps after a prefill: attention_decode must equal attention of one token. */
START_TEST(test_attention_decode)
{
    tu_rng r;
    tu_seed(&r, 7400);
    const int H = 8, KV = 2, hd = 32, n_ctx = 40, pre = 30;
    const size_t kvw = (size_t)KV * hd, qw = (size_t)H * hd;
    float *kc1 = calloc((size_t)n_ctx * kvw, sizeof(float)), *vc1 = calloc((size_t)n_ctx * kvw, 4);
    float *kc2 = calloc((size_t)n_ctx * kvw, sizeof(float)), *vc2 = calloc((size_t)n_ctx * kvw, 4);
    float *q = rand_buf(&r, qw * pre, -2, 2), *k = rand_buf(&r, kvw * pre, -2, 2);
    float *v = rand_buf(&r, kvw * pre, -1, 1), *o1 = malloc(qw * pre * 4), *o2 = malloc(qw * 4);
    wp_attention_params p = {pre, 0, H, KV, hd, n_ctx, 0.25f};
    ck_assert_int_eq(ops->attention(NULL, &p, q, k, v, kc1, vc1, o1), 0);
    memcpy(kc2, kc1, (size_t)n_ctx * kvw * 4);
    memcpy(vc2, vc1, (size_t)n_ctx * kvw * 4);
    size_t work = 1;
    ck_assert_int_eq(ops->attention_decode_work(NULL, &p, &work), 0);
    ck_assert_uint_eq(work, 0);
    for (int32_t pos = pre; pos < n_ctx; pos++) {
        tu_fill(&r, q, qw, -2, 2);
        tu_fill(&r, k, kvw, -2, 2);
        tu_fill(&r, v, kvw, -1, 1);
        wp_attention_params one = {1, pos, H, KV, hd, n_ctx, 0.25f};
        ck_assert_int_eq(ops->attention(NULL, &one, q, k, v, kc1, vc1, o1), 0);
        p.pos = 0; /* ignored */
        ck_assert_int_eq(ops->attention_decode(NULL, &p, &pos, q, k, v, kc2, vc2, o2, NULL), 0);
        ck_assert_mem_eq(o1, o2, qw * 4);
    }
    ck_assert_mem_eq(kc1, kc2, (size_t)n_ctx * kvw * 4);
    ck_assert_mem_eq(vc1, vc2, (size_t)n_ctx * kvw * 4);
    const int32_t full = n_ctx;
    ck_assert_int_eq(ops->attention_decode(NULL, &p, &full, q, k, v, kc2, vc2, o2, NULL),
                     CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_int_eq(ops->attention_decode(NULL, &p, NULL, q, k, v, kc2, vc2, o2, NULL),
                     CUDA_ERROR_INVALID_PARAMETER);
    /* the work size is refused for a shape attention_decode would refuse, as on CUDA */
    wp_attention_params bad = p;
    bad.n_kv_heads = 3; /* 8 heads are not a multiple of 3 */
    ck_assert_int_eq(ops->attention_decode_work(NULL, &bad, &work), CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_ptr_nonnull(strstr(wrk_error_detail(), "attention_decode_work"));
    ck_assert_int_eq(ops->attention_decode_work(NULL, NULL, &work), CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_int_eq(ops->attention_decode_work(NULL, &p, NULL), CUDA_ERROR_INVALID_PARAMETER);
    free(kc1); free(vc1); free(kc2); free(vc2); free(q); free(k); free(v); free(o1); free(o2);
}
END_TEST

START_TEST(test_no_graphs_and_bad_arguments)
{
    void *g = (void *)1;
    ck_assert_int_eq(ops->graph_begin(NULL), CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_int_eq(ops->graph_end(NULL, &g), CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_ptr_null(g);
    ck_assert_int_eq(ops->graph_launch(NULL, NULL), CUDA_ERROR_INVALID_PARAMETER);
    ops->graph_free(NULL, NULL);

    tu_rng r;
    tu_seed(&r, 7500);
    wp_tensor a, b;
    ck_assert_int_eq(tu_make_weight(&r, WP_DTYPE_F32, 8, 4, 0, &a), 0);
    ck_assert_int_eq(tu_make_weight(&r, WP_DTYPE_F32, 16, 4, 0, &b), 0);
    float x[16] = {0}, y[8], z[8];
    wp_matmul_part parts[WP_MATMUL_MAX_PARTS + 1];
    for (int i = 0; i <= WP_MATMUL_MAX_PARTS; i++)
        parts[i] = (wp_matmul_part){&a, y, NULL};
    ck_assert_int_eq(ops->matmul_multi(NULL, parts, 0, x, 1, 0), CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_int_eq(ops->matmul_multi(NULL, parts, WP_MATMUL_MAX_PARTS + 1, x, 1, 0),
                     CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_int_eq(ops->matmul_multi(NULL, parts, 2, x, 1, 2u), CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_int_eq(ops->matmul_multi(NULL, NULL, 1, x, 1, 0), CUDA_ERROR_INVALID_PARAMETER);
    parts[1] = (wp_matmul_part){&b, z, NULL}; /* 16 inputs against 8 */
    ck_assert_int_eq(ops->matmul_multi(NULL, parts, 2, x, 1, 0), CUDA_ERROR_INVALID_PARAMETER);
    parts[1] = (wp_matmul_part){&a, NULL, NULL};
    ck_assert_int_eq(ops->matmul_multi(NULL, parts, 2, x, 1, 0), CUDA_ERROR_INVALID_PARAMETER);
    free(a.data);
    free(b.data);
}
END_TEST

int main(void)
{
    ops = wrk_ops_host();
    Suite *s = suite_create("ops_fused_host");
    TCase *tc = tcase_create("host");
    tcase_add_test(tc, test_matmul_multi);
    tcase_add_test(tc, test_matmul_glu);
    tcase_add_test(tc, test_get_rows_dev);
    tcase_add_test(tc, test_attention_decode);
    tcase_add_test(tc, test_no_graphs_and_bad_arguments);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    const int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
