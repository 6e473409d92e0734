/*
 * llama_kernels.c - the llama plugin's own kernels, built into this program from
 * plugins/llama/: the host set's RoPE against its defining properties (a rotation per
 * pair, identity at position 0, NeoX = normal layout under the llama.cpp row permutation),
 * and every CUDA kernel against the host set (both layouts, partial rotation, frequency
 * factors, linear scaling, large positions; the decode step's q+k RoPE with the position in
 * device memory). SwiGLU is the shared library's matmul_glu (tests/ops).
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llama.h"
#include "llama_testutil.h"

static CudaContext *g_ctx;
static CudaModel *g_model;

/* A small model provides a real wp_host (stream, allocator, error sink) for the device. */
static const wp_host *open_host(const char *device)
{
    static const lt_spec s = { "llama", 32, 2, 2, 64, 1, 260, 0, 64, 10000.0f, 1e-5f, 0, 0,
                               0.0f, 0, NULL };
    lt_weights *w = lt_weights_random(&s, 99);
    ck_assert_int_eq(lt_write_gguf(w, WP_DTYPE_F32, lt_path("k.gguf"), NULL), 0);
    lt_weights_free(w);
    g_model = lt_load(device, lt_path("k.gguf"), &g_ctx);
    return &g_model->host;
}

static void close_host(void)
{
    if (g_model)
        lt_unload(g_model, g_ctx);
    g_model = NULL;
    lt_rmtree();
}

static float *rand_vec(size_t n, uint64_t seed, float lo, float hi)
{
    float *v = malloc(n * sizeof(float));
    ck_assert_ptr_nonnull(v);
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13; s ^= s >> 7; s ^= s << 17;
        v[i] = lo + (hi - lo) * (float)((s >> 11) * (1.0 / 9007199254740992.0));
    }
    return v;
}

/* ------------------------------------------------------------------ host properties */

START_TEST(test_host_rope_properties)
{
    const wp_host *h = open_host("host");
    const llama_kernels *k = llama_kernels_host();
    enum { N = 9, H = 3, D = 16 };
    llama_rope r = { LLAMA_ROPE_NORM, D, 10000.0f, 1.0f, NULL };
    float *x = rand_vec(N * H * D, 1, -2, 2), *y = malloc(sizeof(float) * N * H * D);
    memcpy(y, x, sizeof(float) * N * H * D);
    ck_assert_int_eq(k->rope(h, y, N, H, D, 0, &r), 0);
    /* row 0 is at position 0: unchanged; every pair keeps its length */
    for (int i = 0; i < H * D; i++)
        ck_assert_float_eq_tol(y[i], x[i], 1e-6f);
    for (int i = 0; i < N * H * D; i += 2) {
        float a = hypotf(x[i], x[i + 1]), b = hypotf(y[i], y[i + 1]);
        ck_assert_float_eq_tol(a, b, 1e-5f * (1 + a));
    }
    /* pair 0 of row t turns by exactly t radians */
    for (int t = 1; t < N; t++) {
        float *p = x + t * H * D, *q = y + t * H * D;
        double want = atan2(p[1], p[0]) + t, got = atan2(q[1], q[0]);
        double d = remainder(got - want, 2 * M_PI);
        ck_assert_msg(fabs(d) < 1e-5, "row %d turned by %g, want %d", t, got - atan2(p[1], p[0]), t);
    }
    /* NeoX on v equals normal on the interleaved v (llama.cpp's q/k permutation) */
    float *neox = rand_vec(N * H * D, 2, -1, 1), *norm = malloc(sizeof(float) * N * H * D);
    for (int row = 0; row < N * H; row++)
        for (int i = 0; i < D / 2; i++)
            for (int c = 0; c < 2; c++)
                norm[row * D + 2 * i + c] = neox[row * D + c * D / 2 + i];
    llama_rope rn = { LLAMA_ROPE_NEOX, D, 10000.0f, 1.0f, NULL };
    ck_assert_int_eq(k->rope(h, neox, N, H, D, 5, &rn), 0);
    ck_assert_int_eq(k->rope(h, norm, N, H, D, 5, &r), 0);
    for (int row = 0; row < N * H; row++)
        for (int i = 0; i < D / 2; i++)
            for (int c = 0; c < 2; c++)
                ck_assert_float_eq_tol(norm[row * D + 2 * i + c], neox[row * D + c * D / 2 + i],
                                       1e-6f);
    free(x); free(y); free(neox); free(norm);
    close_host();
}
END_TEST

/* The decode step's RoPE rotates q and k like rope() at the position read from memory. */
START_TEST(test_host_rope_qk_dev)
{
    const wp_host *h = open_host("host");
    const llama_kernels *k = llama_kernels_host();
    enum { HQ = 4, HK = 2, D = 32 };
    llama_rope r = { LLAMA_ROPE_NEOX, D, 10000.0f, 1.0f, NULL };
    float *q = rand_vec(HQ * D, 5, -2, 2), *kk = rand_vec(HK * D, 6, -2, 2);
    float *qr = malloc(sizeof(float) * HQ * D), *kr = malloc(sizeof(float) * HK * D);
    memcpy(qr, q, sizeof(float) * HQ * D);
    memcpy(kr, kk, sizeof(float) * HK * D);
    const int32_t pos = 77;
    ck_assert_int_eq(k->rope_qk_dev(h, q, HQ, kk, HK, D, &pos, &r), 0);
    ck_assert_int_eq(k->rope(h, qr, 1, HQ, D, pos, &r), 0);
    ck_assert_int_eq(k->rope(h, kr, 1, HK, D, pos, &r), 0);
    ck_assert_mem_eq(q, qr, sizeof(float) * HQ * D);
    ck_assert_mem_eq(kk, kr, sizeof(float) * HK * D);
    free(q); free(kk); free(qr); free(kr);
    close_host();
}
END_TEST

/* ------------------------------------------------------------------ CUDA vs host */

static float *to_dev(const wp_host *h, const float *x, size_t n)
{
    float *d = h->alloc(h, n * sizeof(float), WP_MEM_SCRATCH, "kernel test");
    ck_assert_ptr_nonnull(d);
    ck_assert_int_eq(h->ops->from_host(h, d, x, n * sizeof(float)), 0);
    return d;
}

/* Configurations: layout, rope_dim of 64, base, scale, factors, n rows, first position. */
static const struct { int layout, rope_dim; float base, scale; int factors, n, pos; } rc[] = {
    { LLAMA_ROPE_NORM, 64, 10000.0f, 1.0f, 0, 37, 0 },
    { LLAMA_ROPE_NEOX, 64, 1000000.0f, 1.0f, 0, 37, 11 },
    { LLAMA_ROPE_NEOX, 32, 10000.0f, 1.0f, 0, 5, 3 },
    { LLAMA_ROPE_NORM, 48, 500000.0f, 0.25f, 1, 17, 200 },
    { LLAMA_ROPE_NORM, 64, 10000.0f, 1.0f, 1, 3, 100000 },
    { LLAMA_ROPE_NEOX, 64, 10000.0f, 1.0f, 0, 1, 131071 },
};

START_TEST(test_cuda_rope)
{
    const wp_host *h = open_host("cuda:0");
    enum { H = 5, D = 64 };
    int n = rc[_i].n;
    size_t cnt = (size_t)n * H * D;
    float *x = rand_vec(cnt, 10 + _i, -3, 3), *ref = malloc(cnt * 4), *got = malloc(cnt * 4);
    float *ff = rand_vec(rc[_i].rope_dim / 2, 20 + _i, 1, 8);
    memcpy(ref, x, cnt * 4);
    llama_rope r = { rc[_i].layout, rc[_i].rope_dim, rc[_i].base, rc[_i].scale,
                     rc[_i].factors ? ff : NULL };
    ck_assert_int_eq(llama_kernels_host()->rope(h, ref, n, H, D, rc[_i].pos, &r), 0);

    float *dx = to_dev(h, x, cnt), *dff = to_dev(h, ff, rc[_i].rope_dim / 2);
    r.freq_factors = rc[_i].factors ? dff : NULL;
    ck_assert_int_eq(llama_kernels_cuda()->rope(h, dx, n, H, D, rc[_i].pos, &r), 0);
    ck_assert_int_eq(h->ops->to_host(h, got, dx, cnt * 4), 0);
    for (size_t i = 0; i < cnt; i++)
        ck_assert_msg(fabsf(got[i] - ref[i]) <= 1e-5f * (1 + fabsf(ref[i])),
                      "config %d element %zu: cuda %g host %g", _i, i, got[i], ref[i]);
    h->free(h, dx);
    h->free(h, dff);
    free(x); free(ref); free(got); free(ff);
    close_host();
}
END_TEST

/* The decode step's RoPE on the GPU (position in device memory) against the host set. */
START_TEST(test_cuda_rope_qk_dev)
{
    const wp_host *h = open_host("cuda:0");
    enum { HQ = 7, HK = 3, D = 64 };
    const int p = rc[_i].pos;
    float *q = rand_vec(HQ * D, 40 + _i, -3, 3), *kk = rand_vec(HK * D, 50 + _i, -3, 3);
    float *ff = rand_vec(rc[_i].rope_dim / 2, 60 + _i, 1, 8);
    float *got = malloc(sizeof(float) * (HQ + HK) * D);
    llama_rope r = { rc[_i].layout, rc[_i].rope_dim, rc[_i].base, rc[_i].scale,
                     rc[_i].factors ? ff : NULL };
    float *dq = to_dev(h, q, HQ * D), *dk = to_dev(h, kk, HK * D);
    float *dff = to_dev(h, ff, rc[_i].rope_dim / 2);
    int32_t *dpos = h->alloc(h, sizeof(int32_t), WP_MEM_SCRATCH, "kernel test pos");
    ck_assert_ptr_nonnull(dpos);
    ck_assert_int_eq(h->ops->from_host(h, dpos, &p, sizeof p), 0);
    ck_assert_int_eq(llama_kernels_host()->rope(h, q, 1, HQ, D, p, &r), 0);
    ck_assert_int_eq(llama_kernels_host()->rope(h, kk, 1, HK, D, p, &r), 0);
    r.freq_factors = rc[_i].factors ? dff : NULL;
    ck_assert_int_eq(llama_kernels_cuda()->rope_qk_dev(h, dq, HQ, dk, HK, D, dpos, &r), 0);
    ck_assert_int_eq(h->ops->to_host(h, got, dq, sizeof(float) * HQ * D), 0);
    ck_assert_int_eq(h->ops->to_host(h, got + HQ * D, dk, sizeof(float) * HK * D), 0);
    for (int i = 0; i < (HQ + HK) * D; i++) {
        const float ref = i < HQ * D ? q[i] : kk[i - HQ * D];
        ck_assert_msg(fabsf(got[i] - ref) <= 1e-5f * (1 + fabsf(ref)),
                      "config %d element %d: cuda %g host %g", _i, i, got[i], ref);
    }
    h->free(h, dq);
    h->free(h, dk);
    h->free(h, dff);
    h->free(h, dpos);
    free(q); free(kk); free(ff); free(got);
    close_host();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("llama_kernels");
    TCase *th = tcase_create("host");
    tcase_add_test(th, test_host_rope_properties);
    tcase_add_test(th, test_host_rope_qk_dev);
    suite_add_tcase(s, th);
    if (lt_have_gpu() && llama_kernels_cuda()) {
        TCase *tg = tcase_create("cuda");
        tcase_set_timeout(tg, 300);
        tcase_add_loop_test(tg, test_cuda_rope, 0, (int)(sizeof(rc) / sizeof(rc[0])));
        tcase_add_loop_test(tg, test_cuda_rope_qk_dev, 0, (int)(sizeof(rc) / sizeof(rc[0])));
        suite_add_tcase(s, tg);
    } else {
        fprintf(stderr, "no CUDA device: host kernels only\n");
    }
    return check_run_suite(s, 0);
}
