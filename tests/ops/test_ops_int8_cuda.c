/*
 * test_ops_int8_cuda.c - the int8-dot decode path of the CUDA set (matmul_int8.cu: x
 * quantized per 32 elements, __dp4a) for Q8_0, Q4_0, Q4_K and Q6_K weights: matmul,
 * matmul_multi (3 and 4 parts, bias, accumulate) and matmul_glu at n = 1, on the model
 * shapes (out x in: 2048x2048, 512x2048, 8192x2048, 2048x8192, 4096x14336) and ragged ones
 * (1000x4096, 300x256, 37x96, 131x2304), against the host set with the per-row checks of
 * ops_int8ref.h (the emulated int8 product within fp32 rounding, and the rigorous bound of
 * rounding x). Plus: x of integers with amax 127 in every block (d = 1: x' = x, so the GPU
 * must match the host set within fp32 rounding, no bound), an all-zero block of x
 * (d = 0), Q8_0/Q4_0 data at 2 mod 4, and the cases the path must decline (Q6_K data at
 * 2 mod 4, rows wider than 32768, n > 1, the switch off), which keep the fp32 path's 1e-4.
 * Q8_0 runs both of its kernels (wrk_cuda_int8_staged says which, asserted per case): the
 * staged one (in % 256 == 0, data 16-byte aligned: rows of one chunk, of 4 and 7 chunks,
 * a last chunk of 8 blocks at in = 2304, row counts that leave warps without rows, data at
 * offset 16, 3 parts of different row counts, accumulate, GLU) and the unstaged one (in =
 * 96 and 2080, data at 2 and 8 mod 16, GLU at in = 96). The default choice of the switch
 * is checked by test_int8_switch. With WORKER_CUDA_Q8_STAGED=0 the same cases run on the
 * unstaged kernel. Outputs are poisoned with NaN first. Exits 77 (SKIP) without a CUDA
 * device.
 */
#include "config.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/wrk_error.h"
#include "gguf/quant.h"
#include "ops/cuda/cuda_ops.h"
#include "ops/ops.h"
#include "ops_cudahost.h"
#include "ops_cudasuite.h"
#include "ops_devweight.h"
#include "ops_multicheck.h"
#include "ops_int8ref.h"
#include "ops_testutil.h"

static wp_host host;
static const wp_ops *cu, *ref;

static const uint32_t i8_types[4] = {WP_DTYPE_Q8_0, WP_DTYPE_Q4_0, WP_DTYPE_Q4_K,
                                     WP_DTYPE_Q6_K};

/* Whether the staged Q8_0 kernel is on (WORKER_CUDA_Q8_STAGED=0 turns it off). */
static int q8_staged_on(void)
{
    const char *env = getenv("WORKER_CUDA_Q8_STAGED");
    return !(env && strcmp(env, "0") == 0);
}

/* x kinds */
enum { X_UNIFORM, X_INT127, X_ZERO_BLOCK };

/* Random x of n values, never zero: uniform in [-1, 1); X_INT127: integers in [-127, 127]
 * with one element of magnitude 127 in every 32-block; X_ZERO_BLOCK: uniform with block 1
 * all zero. */
static float *make_x(tu_rng *r, int n, int kind)
{
    float *x = malloc(sizeof(float) * n);
    ck_assert_ptr_nonnull(x);
    for (int i = 0; i < n; i++) {
        if (kind == X_INT127) {
            x[i] = (float)((int)(tu_u64(r) % 254) - 127);
            if (x[i] == 0.0f)
                x[i] = 127.0f;
        } else {
            x[i] = tu_uniform(r, -1.0f, 1.0f);
            if (x[i] == 0.0f)
                x[i] = 0.5f;
        }
    }
    if (kind == X_INT127)
        for (int b = 0; b < n / 32; b++)
            x[32 * b + (int)(tu_u64(r) % 32)] = (tu_u64(r) & 1) ? 127.0f : -127.0f;
    if (kind == X_ZERO_BLOCK && n >= 64)
        memset(x + 32, 0, 32 * sizeof(float));
    return x;
}

/* A weight pair whose device data starts `offset` bytes into its allocation (*base: what to
 * free). */
static void make_weight_at(tu_rng *r, uint32_t type, int in, int out, int raw, int offset,
                           tu_pair *w, void **base)
{
    ck_assert_int_eq(tu_make_weight(r, type, in, out, raw, &w->h), 0);
    w->d = w->h;
    *base = tu_dalloc(w->h.nbytes + 16);
    w->d.data = (uint8_t *)*base + offset;
    tu_upload(w->d.data, w->h.data, w->h.nbytes);
}

/* One matmul at n = 1. expect_int8: whether the int8 path must take it; when it does not,
 * the fp32 path's 1e-4 applies. */
static void check_matmul1(tu_rng *r, uint32_t type, int in, int out, int raw, int with_bias,
                          int xkind, int w_off, int x_off, int expect_int8)
{
    tu_pair w;
    void *wbase;
    make_weight_at(r, type, in, out, raw, w_off, &w, &wbase);
    float *x = make_x(r, in, xkind), *bias = malloc(sizeof(float) * out);
    float *y = malloc(sizeof(float) * out), *yr = malloc(sizeof(float) * out);
    tu_fill(r, bias, out, -0.5f, 0.5f);
    float *dx = tu_dalloc(sizeof(float) * (in + 1)), *dy = tu_dalloc(sizeof(float) * out);
    float *db = tu_dalloc(sizeof(float) * out);
    tu_upload(dx + x_off, x, sizeof(float) * in);
    tu_upload(db, bias, sizeof(float) * out);
    tu_poison(dy, sizeof(float) * out);
    const int takes = wrk_cuda_int8_takes(&w.d, dx + x_off, 1);
    const int staged = wrk_cuda_int8_staged(&w.d);
    char what[160];
    snprintf(what, sizeof what,
             "matmul %-4s in %5d out %5d raw %d bias %d x %d woff %d xoff %d%s",
             wrk_dtype_name(type), in, out, raw, with_bias, xkind, w_off, x_off,
             takes && staged ? " staged" : "");
    ck_assert_msg(takes == expect_int8, "%s: int8 path taken %d, expected %d", what, takes,
                  expect_int8);
    /* Q8_0: the staged kernel exactly where its rows start 16-byte aligned */
    ck_assert_msg(staged == (q8_staged_on() && type == WP_DTYPE_Q8_0 && in % 256 == 0 &&
                             w_off % 16 == 0),
                  "%s: staged %d", what, staged);
    int rc = cu->matmul(&host, &w.d, dx + x_off, dy, 1, with_bias ? db : NULL);
    ck_assert_msg(rc == 0, "%s: %s", what, wrk_error_detail());
    ck_assert_int_eq(cu->synchronize(&host), 0);
    tu_download(y, dy, sizeof(float) * out);
    ck_assert_int_eq(ref->matmul(NULL, &w.h, x, yr, 1, with_bias ? bias : NULL), 0);
    ck_assert_msg(tu_all_finite(y, out), "%s: output not fully written", what);
    if (!takes) {
        const double e = tu_rel_err(y, yr, out);
        printf("%s: fp32 path, rel err %.3g\n", what, e);
        ck_assert_msg(e <= 1e-4, "%s: rel err %g > 1e-4", what, e);
    } else {
        tu_i8row *rows = malloc(sizeof(tu_i8row) * out);
        tu_i8_rows(&w.h, x, rows);
        ck_assert_msg(tu_i8_check(what, rows, out, y, yr, NULL, with_bias ? bias : NULL, 1) == 0,
                      "%s: int8 result out of bounds", what);
        if (xkind == X_INT127) {
            /* x' = x: the GPU must equal the host set up to the fp32 rounding of both
             * (the host sums in index order: ~1e-7 of sum |w_j x_j| at in = 14336), with
             * no allowance for rounding x */
            double worst = 0;
            for (int i = 0; i < out; i++) {
                ck_assert_msg(fabs(rows[i].emu - rows[i].exact) <= 1e-12 * rows[i].tol_emu,
                              "%s: row %d: x' != x", what, i);
                const double b = with_bias ? bias[i] : 0.0;
                const double e = fabs((double)y[i] - (double)yr[i]);
                const double t = 1e-5 * rows[i].sum_abs + 1e-6 * (1.0 + fabs(b));
                worst = e / t > worst ? e / t : worst;
                ck_assert_msg(e <= t, "%s: row %d: y %.9g, host %.9g: |diff| > %g", what, i,
                              (double)y[i], (double)yr[i], t);
            }
            printf("%s: exact x, worst |y - host| / fp32 tol %.3g\n", what, worst);
        }
        free(rows);
    }
    tu_dfree(dx);
    tu_dfree(dy);
    tu_dfree(db);
    tu_dfree(wbase);
    free(w.h.data);
    free(x);
    free(y);
    free(yr);
    free(bias);
}

/* _i 0..3: the four types; 4..7: the same with the launches in whole rounds (without the
 * half-rounds of matmul_int8.cu's i8_pipe, as with WORKER_CUDA_INT8_PIPE=0). */
START_TEST(test_int8_matmul)
{
    tu_rng r;
    tu_seed(&r, 9000 + (uint64_t)_i);
    const uint32_t t = i8_types[_i % 4];
    wrk_cuda_set_int8_pipe(_i < 4);
    static const int shapes[][2] = {{2048, 2048}, {512, 2048}, {8192, 2048}, {2048, 8192},
                                    {4096, 14336}, {1000, 4096}, {300, 256}};
    for (int s = 0; s < 7; s++) {
        /* the reference K quantizers are slow: random block bytes for the large ones */
        const int big = (double)shapes[s][0] * shapes[s][1] > 4e6;
        check_matmul1(&r, t, shapes[s][1], shapes[s][0], big, s & 1, X_UNIFORM, 0, 0, 1);
    }
    /* raw block bytes (every quant and scale pattern), quantized values, bias, x at an
     * odd float offset (scalar staging loads are fine), exact integer x, a zero block */
    check_matmul1(&r, t, 2048, 515, 1, 1, X_UNIFORM, 0, 1, 1);
    check_matmul1(&r, t, 2048, 515, 0, 0, X_INT127, 0, 0, 1);
    check_matmul1(&r, t, 2048, 300, 1, 1, X_INT127, 0, 0, 1);
    check_matmul1(&r, t, 4096, 1000, 1, 0, X_INT127, 0, 0, 1);
    check_matmul1(&r, t, 2048, 131, 1, 1, X_ZERO_BLOCK, 0, 0, 1);
    /* staged Q8_0: a last chunk of 8 blocks (2304 = 2048 + 256); exact x over 4 chunks */
    check_matmul1(&r, t, 2304, 131, 1, 1, X_UNIFORM, 0, 0, 1);
    check_matmul1(&r, t, 8192, 37, 1, 0, X_INT127, 0, 0, 1);
    if (t == WP_DTYPE_Q8_0 || t == WP_DTYPE_Q4_0) {
        /* an odd number of blocks per row: row starts alternate 0 and 2 mod 4; the data
         * itself at 2 mod 4 */
        check_matmul1(&r, t, 96, 37, 1, 1, X_UNIFORM, 0, 0, 1);
        check_matmul1(&r, t, 96, 37, 1, 0, X_INT127, 2, 0, 1);
        check_matmul1(&r, t, 2048, 129, 0, 1, X_UNIFORM, 2, 0, 1);
        /* data 16-byte aligned but not 256 (Q8_0: staged), and 8 mod 16 (unstaged); rows
         * of 65 blocks (in % 256 != 0: unstaged) */
        check_matmul1(&r, t, 2048, 300, 1, 1, X_UNIFORM, 16, 0, 1);
        check_matmul1(&r, t, 2048, 300, 1, 0, X_INT127, 8, 0, 1);
        check_matmul1(&r, t, 2080, 300, 1, 1, X_UNIFORM, 0, 0, 1);
    }
    if (t == WP_DTYPE_Q6_K) {
        check_matmul1(&r, t, 768, 37, 1, 1, X_INT127, 0, 0, 1);   /* odd blocks per row */
        check_matmul1(&r, t, 768, 37, 1, 1, X_UNIFORM, 4, 0, 1);  /* data 4 mod 16 */
        check_matmul1(&r, t, 768, 37, 1, 1, X_UNIFORM, 2, 0, 0);  /* 2 mod 4: declined */
    }
    /* wider than the staged x allows: declined, fp32 path */
    check_matmul1(&r, t, 33792, 37, 1, 1, X_UNIFORM, 0, 0, 0);
    wrk_cuda_set_int8_pipe(1);
}
END_TEST

/* Whether the switch's default (WRK_INT8_AUTO) takes a Q8_0 weight of `in` x 8 whose data
 * starts w_off bytes into its allocation. */
static int q8_auto_takes(tu_rng *r, int in, int w_off)
{
    tu_pair w;
    void *wbase;
    make_weight_at(r, WP_DTYPE_Q8_0, in, 8, 1, w_off, &w, &wbase);
    float *dx = tu_dalloc(sizeof(float) * in);
    wrk_cuda_set_int8_dot(WRK_INT8_AUTO);
    const int takes = wrk_cuda_int8_takes(&w.d, dx, 1);
    wrk_cuda_set_int8_dot(WRK_INT8_ALL);
    tu_dfree(dx);
    tu_dfree(wbase);
    free(w.h.data);
    return takes;
}

/* The switch: off, n = 1 takes the fp32 path (1e-4); n > 1 never takes the int8 path. The
 * default takes Q8_0 where the staged kernel reads rows of >= 1024 elements. */
START_TEST(test_int8_switch)
{
    tu_rng r;
    tu_seed(&r, 9100);
    for (int i = 0; i < 4; i++) {
        wrk_cuda_set_int8_dot(0);
        check_matmul1(&r, i8_types[i], 2048, 515, 1, 1, X_UNIFORM, 0, 0, 0);
        wrk_cuda_set_int8_dot(1);
        tu_pair w;
        tu_pair_make(&r, i8_types[i], 256, 10, 1, &w);
        float *dx = tu_dalloc(sizeof(float) * 256 * 2);
        ck_assert(wrk_cuda_int8_takes(&w.d, dx, 1));
        ck_assert(!wrk_cuda_int8_takes(&w.d, dx, 2));
        tu_dfree(dx);
        tu_pair_free(&w);
    }
    ck_assert(q8_auto_takes(&r, 2048, 0) == q8_staged_on());
    ck_assert(q8_auto_takes(&r, 14336, 16) == q8_staged_on());
    ck_assert(!q8_auto_takes(&r, 512, 0));   /* narrow rows */
    ck_assert(!q8_auto_takes(&r, 2048, 2));  /* not 16-byte aligned: unstaged, not chosen */
    ck_assert(!q8_auto_takes(&r, 2080, 0));  /* in % 256 != 0 */
}
END_TEST

/* matmul_multi at n = 1 over uniform x (tu_check_multi), every part on the int8 path. */
static void check_multi1(tu_rng *r, const uint32_t *types, const int *outs, int count, int in,
                         unsigned flags, int raw)
{
    float *x = make_x(r, in, X_UNIFORM);
    ck_assert_int_eq(tu_check_multi(&host, r, types, outs, count, x, in, 1, flags, raw), count);
    free(x);
}

START_TEST(test_int8_multi)
{
    tu_rng r;
    tu_seed(&r, 9200 + (uint64_t)_i);
    const uint32_t t = i8_types[_i];
    const uint32_t same[4] = {t, t, t, t};
    const int qkv[3] = {2048, 512, 512}, odd[3] = {131, 37, 300};
    const int four[4] = {4000, 200, 37, 1000};
    for (unsigned f = 0; f <= WP_MATMUL_ACCUMULATE; f++) {
        check_multi1(&r, same, qkv, 3, 2048, f, 1);  /* the 1B q/k/v */
        check_multi1(&r, same, odd, 3, 256, f, 0);   /* ragged parts, quantized values */
        check_multi1(&r, same, odd, 3, 2304, f, 1);  /* ragged parts, a partial chunk */
    }
    check_multi1(&r, same, four, 4, 512, WP_MATMUL_ACCUMULATE, 1);
    const int o1[1] = {2048};
    check_multi1(&r, same, o1, 1, 8192, WP_MATMUL_ACCUMULATE, 1); /* down + residual */
}
END_TEST

/* A Q4_K_M layer's q/k/v (Q4_K, Q4_K, Q6_K): two launches, one per type. */
START_TEST(test_int8_multi_mixed)
{
    tu_rng r;
    tu_seed(&r, 9300);
    const uint32_t km[3] = {WP_DTYPE_Q4_K, WP_DTYPE_Q4_K, WP_DTYPE_Q6_K};
    const uint32_t q8[3] = {WP_DTYPE_Q8_0, WP_DTYPE_Q4_0, WP_DTYPE_Q8_0};
    const int outs[3] = {2048, 512, 512};
    check_multi1(&r, km, outs, 3, 2048, 0, 1);
    check_multi1(&r, km, outs, 3, 2048, WP_MATMUL_ACCUMULATE, 1);
    check_multi1(&r, q8, outs, 3, 2048, WP_MATMUL_ACCUMULATE, 1);
}
END_TEST

static void check_glu1(tu_rng *r, uint32_t type, int in, int out, int raw)
{
    tu_pair g, u;
    tu_pair_make(r, type, in, out, raw, &g);
    tu_pair_make(r, type, in, out, raw, &u);
    float *x = make_x(r, in, X_UNIFORM), *dx = tu_dalloc(sizeof(float) * in);
    tu_upload(dx, x, sizeof(float) * in);
    float *o = malloc(sizeof(float) * out), *tmp = malloc(sizeof(float) * out);
    float *got = malloc(sizeof(float) * out);
    float *dout = tu_dalloc(sizeof(float) * out), *dtmp = tu_dalloc(sizeof(float) * out);
    tu_poison(dout, sizeof(float) * out);
    ck_assert(wrk_cuda_int8_takes(&g.d, dx, 1) && wrk_cuda_int8_takes(&u.d, dx, 1));
    int rc = cu->matmul_glu(&host, WP_GLU_SILU, &g.d, &u.d, dx, dout, dtmp, 1);
    ck_assert_msg(rc == 0, "cuda matmul_glu: %s", wrk_error_detail());
    ck_assert_int_eq(ref->matmul_glu(NULL, WP_GLU_SILU, &g.h, &u.h, x, o, tmp, 1), 0);
    tu_download(got, dout, sizeof(float) * out);
    char what[128];
    snprintf(what, sizeof what, "matmul_glu %s in %d out %d raw %d%s", wrk_dtype_name(type),
             in, out, raw, wrk_cuda_int8_staged(&g.d) ? " staged" : "");
    ck_assert_msg(tu_all_finite(got, out), "%s: output not fully written", what);
    tu_i8row *gr = malloc(sizeof(tu_i8row) * out), *ur = malloc(sizeof(tu_i8row) * out);
    tu_i8_rows(&g.h, x, gr);
    tu_i8_rows(&u.h, x, ur);
    ck_assert_msg(tu_i8_check_glu(what, gr, ur, out, got, o) == 0, "%s: out of bounds", what);
    free(gr);
    free(ur);
    tu_pair_free(&g);
    tu_pair_free(&u);
    free(x);
    free(o);
    free(tmp);
    free(got);
    tu_dfree(dx);
    tu_dfree(dout);
    tu_dfree(dtmp);
}

START_TEST(test_int8_glu)
{
    tu_rng r;
    tu_seed(&r, 9400 + (uint64_t)_i);
    const uint32_t t = i8_types[_i];
    check_glu1(&r, t, 2048, 8192, 1);  /* 1B gate/up */
    check_glu1(&r, t, 256, 37, 0);
    check_glu1(&r, t, 4096, 1000, 1);
    check_glu1(&r, t, 8192, 300, 1);   /* long rows: staged Q8_0 in 4 chunks of both */
    check_glu1(&r, t, 2304, 100, 1);   /* a partial last chunk */
    if (t == WP_DTYPE_Q8_0 || t == WP_DTYPE_Q4_0)
        check_glu1(&r, t, 96, 37, 1);  /* Q8_0: the unstaged kernel */
    if (t == WP_DTYPE_Q4_K)
        check_glu1(&r, t, 4096, 14336, 1); /* 8B gate/up */
}
END_TEST

int main(void)
{
    int rc = tu_cuda_host_init(&host);
    if (rc)
        return rc;
    cu = host.ops;
    ref = wrk_ops_host();
    wrk_cuda_set_int8_dot(1); /* whatever WORKER_CUDA_INT8_DOT says */
    Suite *s = suite_create("ops_int8_cuda");
    TCase *tc = tcase_create("cuda");
    tcase_set_timeout(tc, 900);
    tcase_add_loop_test(tc, test_int8_matmul, 0, 8);
    tcase_add_test(tc, test_int8_switch);
    tcase_add_loop_test(tc, test_int8_multi, 0, 4);
    tcase_add_test(tc, test_int8_multi_mixed);
    tcase_add_loop_test(tc, test_int8_glu, 0, 4);
    suite_add_tcase(s, tc);
    return tu_cuda_run_suite(s, &host);
}
