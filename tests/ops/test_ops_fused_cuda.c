/*
 * test_ops_fused_cuda.c - the ABI 1.1 ops of the CUDA set against the reference host set on
 * fresh random inputs, outputs poisoned with NaN first: matmul_multi (fused parts of one
 * type, mixed types, bias, accumulate, decode and prefill widths), matmul_glu (the fused
 * decode kernel and the general path), get_rows_dev (ids in device memory, an id out of
 * range gives NaN), attention_decode (split-K over the cache, every head grouping, many
 * consecutive steps on one work buffer), and a graph of them replayed at several positions
 * against the same ops run directly. Exits 77 (SKIP) without a CUDA device.
 * Tolerances as test_ops_cuda.c: matmul 1e-4 (F32 1e-5), attention 1e-5, gathers 1e-6;
 * quantized weights at n = 1 taken by the int8-dot path (x rounded to int8 per 32 elements)
 * per row against the emulated int8 product and the bound of rounding x (ops_int8ref.h).
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

/* A host buffer of random values and its device copy. */
static float *dev_copy(const float *h, size_t n)
{
    float *d = tu_dalloc(n * sizeof(float));
    tu_upload(d, h, n * sizeof(float));
    return d;
}

static float *rand_buf(tu_rng *r, size_t n, float lo, float hi)
{
    float *p = malloc(n * sizeof(float));
    ck_assert_ptr_nonnull(p);
    tu_fill(r, p, n, lo, hi);
    return p;
}

static void expect_close(const float *got, const float *want, size_t n, double tol,
                         const char *what)
{
    ck_assert_msg(tu_all_finite(got, n), "%s: output not fully written", what);
    const double e = tu_rel_err(got, want, n);
    printf("%s: rel err %.3g\n", what, e);
    ck_assert_msg(e <= tol, "%s: rel err %g > %g", what, e, tol);
}

/* count parts of the given types over one random x (tu_check_multi). */
static void check_multi(tu_rng *r, const uint32_t *types, const int *outs, int count, int in,
                        int n, unsigned flags)
{
    float *x = rand_buf(r, (size_t)in * n, -1, 1);
    tu_check_multi(&host, r, types, outs, count, x, in, n, flags, 0);
    free(x);
}

START_TEST(test_matmul_multi)
{
    tu_rng r;
    tu_seed(&r, 8100 + (uint64_t)_i);
    const uint32_t t = tu_types[_i];
    const uint32_t qk = wrk_dtype_block_elems(t);
    const int in = qk == 256 ? 512 : qk == 32 ? 96 : 172;
    const uint32_t same[3] = {t, t, t};
    const int outs[3] = {131, 37, 37}, ns[] = {1, 2, 8};
    for (int a = 0; a < 3; a++)
        for (unsigned f = 0; f <= WP_MATMUL_ACCUMULATE; f++)
            check_multi(&r, same, outs, 3, in, ns[a], f);
    const int big[4] = {2048, 512, 512, 77};
    const uint32_t four[4] = {t, t, t, t};
    check_multi(&r, four, big, 4, 2048, 1, 0);
    /* >= 4096 rows in one launch: the paired-rows decode kernel of the quantized layouts */
    const int many[3] = {4000, 200, 37};
    check_multi(&r, same, many, 3, in, 1, WP_MATMUL_ACCUMULATE);
    /* prefill widths go to cuBLAS for the float types, tiles of 8 for the others */
    if (qk == 1)
        check_multi(&r, same, outs, 3, in, 12, WP_MATMUL_ACCUMULATE);
}
END_TEST

START_TEST(test_matmul_multi_mixed)
{
    tu_rng r;
    tu_seed(&r, 8200);
    /* a Q4_K_M layer: q and k Q4_K, v Q6_K; and float/quantized neighbours */
    const uint32_t km[3] = {WP_DTYPE_Q4_K, WP_DTYPE_Q4_K, WP_DTYPE_Q6_K};
    const uint32_t fq[4] = {WP_DTYPE_F16, WP_DTYPE_Q8_0, WP_DTYPE_F16, WP_DTYPE_BF16};
    const int outs[4] = {256, 64, 64, 100};
    check_multi(&r, km, outs, 3, 2048, 1, 0);
    check_multi(&r, km, outs, 3, 256, 3, WP_MATMUL_ACCUMULATE);
    check_multi(&r, fq, outs, 4, 256, 1, WP_MATMUL_ACCUMULATE);
    check_multi(&r, fq, outs, 4, 256, 5, 0);
    /* prefill (cuBLAS): the f16 split of x shared by F16, Q8_0, F16, then BF16's own; an
     * F32 part between two quantized ones; the quantized K types in chunks */
    check_multi(&r, fq, outs, 4, 256, 17, 0);
    const uint32_t qfq[3] = {WP_DTYPE_Q4_K, WP_DTYPE_F32, WP_DTYPE_Q6_K};
    check_multi(&r, qfq, outs, 3, 256, 40, WP_MATMUL_ACCUMULATE);
    check_multi(&r, km, outs, 3, 512, 33, WP_MATMUL_ACCUMULATE);
}
END_TEST

static void check_glu(tu_rng *r, uint32_t tg, uint32_t tu, int in, int out, int n)
{
    tu_pair g, u;
    tu_pair_make(r, tg, in, out, 0, &g);
    tu_pair_make(r, tu, in, out, 0, &u);
    const size_t ny = (size_t)out * n;
    float *x = rand_buf(r, (size_t)in * n, -1, 1), *dx = dev_copy(x, (size_t)in * n);
    float *o = malloc(ny * 4), *tmp = malloc(ny * 4), *got = malloc(ny * 4);
    float *dout = tu_dalloc(ny * 4), *dtmp = tu_dalloc(ny * 4);
    tu_poison(dout, ny * 4);
    int rc = cu->matmul_glu(&host, WP_GLU_SILU, &g.d, &u.d, dx, dout, dtmp, n);
    ck_assert_msg(rc == 0, "cuda matmul_glu: %s", wrk_error_detail());
    ck_assert_int_eq(ref->matmul_glu(NULL, WP_GLU_SILU, &g.h, &u.h, x, o, tmp, n), 0);
    tu_download(got, dout, ny * 4);
    char what[128];
    snprintf(what, sizeof what, "matmul_glu %s/%s in %d out %d n %d", wrk_dtype_name(tg),
             wrk_dtype_name(tu), in, out, n);
    const int g8 = wrk_cuda_int8_takes(&g.d, dx, n), u8 = wrk_cuda_int8_takes(&u.d, dx, n);
    if (g8 || u8) {
        /* either product on the int8-dot path (the fused kernel, or one of the two
         * products of a mixed pair): the bounds of ops_int8ref.h */
        tu_i8row *gr = malloc(sizeof(tu_i8row) * out), *ur = malloc(sizeof(tu_i8row) * out);
        (g8 ? tu_i8_rows : tu_exact_rows)(&g.h, x, gr);
        (u8 ? tu_i8_rows : tu_exact_rows)(&u.h, x, ur);
        ck_assert_msg(tu_all_finite(got, ny), "%s: output not fully written", what);
        ck_assert_msg(tu_i8_check_glu(what, gr, ur, ny, got, o) == 0, "%s: out of bounds", what);
        free(gr);
        free(ur);
    } else {
        const double tol_g = tu_matmul_tol(tg, n), tol_u = tu_matmul_tol(tu, n);
        expect_close(got, o, ny, tol_g > tol_u ? tol_g : tol_u, what);
    }
    tu_pair_free(&g);
    tu_pair_free(&u);
    free(x); free(o); free(tmp); free(got);
    tu_dfree(dx); tu_dfree(dout); tu_dfree(dtmp);
}

START_TEST(test_matmul_glu)
{
    tu_rng r;
    tu_seed(&r, 8300 + (uint64_t)_i);
    const uint32_t t = tu_types[_i];
    const uint32_t qk = wrk_dtype_block_elems(t);
    const int in = qk == 256 ? 256 : qk == 32 ? 96 : 172;
    check_glu(&r, t, t, in, 37, 1);    /* the fused decode kernel */
    check_glu(&r, t, t, 2048, 1000, 1);
    check_glu(&r, t, t, in, 37, 3);    /* two products and the element-wise pass */
    check_glu(&r, t, WP_DTYPE_Q8_0, 256, 64, 1); /* mixed types: the general path */
    check_glu(&r, t, t, 256, 37, 17);  /* prefill: gate and up on one split of x */
    check_glu(&r, t, WP_DTYPE_F16, 256, 64, 20);
}
END_TEST

START_TEST(test_get_rows_dev)
{
    tu_rng r;
    tu_seed(&r, 8400);
    for (int t = 0; t < TU_N_TYPES; t++) {
        const uint32_t qk = wrk_dtype_block_elems(tu_types[t]);
        const int in = qk == 1 ? 173 : (int)qk * 3, rows = 50;
        tu_pair w;
        tu_pair_make(&r, tu_types[t], in, rows, 0, &w);
        const int32_t ids[4] = {49, 0, 17, 50 /* out of range */};
        int32_t *dids = tu_dalloc(sizeof ids);
        tu_upload(dids, ids, sizeof ids);
        float *dout = tu_dalloc(sizeof(float) * 4 * in), *got = malloc(sizeof(float) * 4 * in);
        float *want = malloc(sizeof(float) * 3 * in);
        tu_poison(dout, sizeof(float) * 4 * in);
        int rc = cu->get_rows_dev(&host, &w.d, dids, 4, dout);
        ck_assert_msg(rc == 0, "cuda get_rows_dev: %s", wrk_error_detail());
        tu_download(got, dout, sizeof(float) * 4 * in);
        ck_assert_int_eq(ref->get_rows(NULL, &w.h, ids, 3, want), 0);
        char what[64];
        snprintf(what, sizeof what, "get_rows_dev %s", wrk_dtype_name(tu_types[t]));
        expect_close(got, want, (size_t)3 * in, 1e-6, what);
        for (int i = 0; i < in; i++)
            ck_assert_msg(isnan(got[3 * in + i]), "id out of range: element %d is %g", i,
                          got[3 * in + i]);
        tu_pair_free(&w);
        tu_dfree(dids);
        tu_dfree(dout);
        free(got);
        free(want);
    }
}
END_TEST

/* A prefill of `pre` positions (host, then the caches copied to the device), then decode
 * steps to the end of the cache on one work buffer, each against the host set. */
static void check_decode(tu_rng *r, int H, int KV, int hd, int n_ctx, int pre)
{
    const size_t kvw = (size_t)KV * hd, qw = (size_t)H * hd, nc = (size_t)n_ctx * kvw;
    float *kc = calloc(nc, 4), *vc = calloc(nc, 4), *back = malloc(nc * 4);
    wp_attention_params p = {pre, 0, H, KV, hd, n_ctx, 1.0f / sqrtf((float)hd)};
    if (pre > 0) {
        float *q = rand_buf(r, qw * pre, -2, 2), *k = rand_buf(r, kvw * pre, -2, 2);
        float *v = rand_buf(r, kvw * pre, -1, 1), *o = malloc(qw * pre * 4);
        ck_assert_int_eq(ref->attention(NULL, &p, q, k, v, kc, vc, o), 0);
        free(q); free(k); free(v); free(o);
    }
    float *kcd = dev_copy(kc, nc), *vcd = dev_copy(vc, nc);
    size_t wb = 0;
    ck_assert_int_eq(cu->attention_decode_work(&host, &p, &wb), 0);
    void *work = tu_dalloc(wb);
    void *zeros = calloc(1, wb);
    tu_upload(work, zeros, wb);
    free(zeros);
    int32_t *dpos = tu_dalloc(sizeof(int32_t));
    float *q = malloc(qw * 4), *k = malloc(kvw * 4), *v = malloc(kvw * 4);
    float *o = malloc(qw * 4), *got = malloc(qw * 4);
    float *qd = tu_dalloc(qw * 4), *kd = tu_dalloc(kvw * 4), *vd = tu_dalloc(kvw * 4);
    float *od = tu_dalloc(qw * 4);
    double worst = 0;
    for (int32_t pos = pre; pos < n_ctx; pos++) {
        tu_fill(r, q, qw, -2, 2);
        tu_fill(r, k, kvw, -2, 2);
        tu_fill(r, v, kvw, -1, 1);
        tu_upload(qd, q, qw * 4);
        tu_upload(kd, k, kvw * 4);
        tu_upload(vd, v, kvw * 4);
        tu_upload(dpos, &pos, sizeof pos);
        tu_poison(od, qw * 4);
        int rc = cu->attention_decode(&host, &p, dpos, qd, kd, vd, kcd, vcd, od, work);
        ck_assert_msg(rc == 0, "cuda attention_decode: %s", wrk_error_detail());
        ck_assert_int_eq(ref->attention_decode(NULL, &p, &pos, q, k, v, kc, vc, o, NULL), 0);
        tu_download(got, od, qw * 4);
        ck_assert_msg(tu_all_finite(got, qw), "attention_decode pos %d: not fully written", pos);
        const double e = tu_rel_err(got, o, qw);
        worst = e > worst ? e : worst;
        ck_assert_msg(e <= 1e-5, "attention_decode heads %d/%d hd %d n_ctx %d pos %d: %g", H, KV,
                      hd, n_ctx, pos, e);
    }
    printf("attention_decode heads %2d/%d hd %3d n_ctx %4d from %4d: worst rel err %.3g\n", H,
           KV, hd, n_ctx, pre, worst);
    tu_download(back, kcd, nc * 4);
    ck_assert(memcmp(back, kc, nc * 4) == 0);
    tu_download(back, vcd, nc * 4);
    ck_assert(memcmp(back, vc, nc * 4) == 0);
    free(kc); free(vc); free(back); free(q); free(k); free(v); free(o); free(got);
    tu_dfree(kcd); tu_dfree(vcd); tu_dfree(work); tu_dfree(dpos);
    tu_dfree(qd); tu_dfree(kd); tu_dfree(vd); tu_dfree(od);
}

START_TEST(test_attention_decode)
{
    tu_rng r;
    tu_seed(&r, 8500);
    check_decode(&r, 32, 8, 64, 70, 0);      /* Llama-3.2-1B heads, from an empty cache */
    check_decode(&r, 32, 8, 128, 600, 560);  /* 8B heads, 16 splits */
    check_decode(&r, 4, 4, 128, 40, 20);     /* MHA */
    check_decode(&r, 6, 3, 80, 51, 30);      /* odd head_dim */
    check_decode(&r, 2, 1, 256, 64, 50);     /* the largest head_dim (2 heads per block) */
    check_decode(&r, 3, 1, 16, 40, 10);      /* head_dim below a warp, group of 3 */
    check_decode(&r, 28, 4, 128, 90, 60);    /* group of 7: one head per block */
    check_decode(&r, 64, 8, 64, 1100, 1080); /* group of 8 */
    check_decode(&r, 2, 2, 32, 1, 0);        /* a cache of one position */
    check_decode(&r, 16, 8, 64, 200, 150);   /* group of 2 */
}
END_TEST

/* The decode shape of a layer as a graph: gather a row by a device id, q/k/v in one product,
 * attention at the device position, the output projection added to the residual. Replayed
 * at several positions; each replay must equal the same ops run directly on the host set. */
START_TEST(test_graph_replay)
{
    tu_rng r;
    tu_seed(&r, 8600);
    const int d = 256, H = 4, KV = 2, hd = 64, n_ctx = 12, vocab = 30;
    tu_pair emb, wq, wk, wv, wo;
    tu_pair_make(&r, WP_DTYPE_Q8_0, d, vocab, 0, &emb);
    tu_pair_make(&r, WP_DTYPE_F16, d, H * hd, 0, &wq);
    tu_pair_make(&r, WP_DTYPE_F16, d, KV * hd, 0, &wk);
    tu_pair_make(&r, WP_DTYPE_F16, d, KV * hd, 0, &wv);
    tu_pair_make(&r, WP_DTYPE_Q4_K, H * hd, d, 0, &wo);
    const size_t nc = (size_t)n_ctx * KV * hd;
    float *kc = calloc(nc, 4), *vc = calloc(nc, 4);
    float *kcd = dev_copy(kc, nc), *vcd = dev_copy(vc, nc);
    float *x = malloc(d * 4), *q = malloc(H * hd * 4), *k = malloc(KV * hd * 4);
    float *v = malloc(KV * hd * 4), *att = malloc(H * hd * 4), *got = malloc(d * 4);
    float *x0 = malloc(d * 4);
    float *xd = tu_dalloc(d * 4), *qd = tu_dalloc(H * hd * 4), *kd = tu_dalloc(KV * hd * 4);
    float *vd = tu_dalloc(KV * hd * 4), *attd = tu_dalloc(H * hd * 4);
    int32_t *step = tu_dalloc(2 * sizeof(int32_t));
    wp_attention_params p = {1, 0, H, KV, hd, n_ctx, 0.125f};
    size_t wb = 0;
    ck_assert_int_eq(cu->attention_decode_work(&host, &p, &wb), 0);
    void *work = tu_dalloc(wb), *zeros = calloc(1, wb);
    tu_upload(work, zeros, wb);
    free(zeros);
    const wp_matmul_part dqkv[3] = {{&wq.d, qd, NULL}, {&wk.d, kd, NULL}, {&wv.d, vd, NULL}};
    const wp_matmul_part hqkv[3] = {{&wq.h, q, NULL}, {&wk.h, k, NULL}, {&wv.h, v, NULL}};
    const wp_matmul_part dout = {&wo.d, xd, NULL}, hout = {&wo.h, x, NULL};

    ck_assert_int_eq(cu->graph_begin(&host), 0);
    int rc = cu->get_rows_dev(&host, &emb.d, step, 1, xd);
    if (!rc) rc = cu->matmul_multi(&host, dqkv, 3, xd, 1, 0);
    if (!rc) rc = cu->attention_decode(&host, &p, step + 1, qd, kd, vd, kcd, vcd, attd, work);
    if (!rc) rc = cu->matmul_multi(&host, &dout, 1, attd, 1, WP_MATMUL_ACCUMULATE);
    void *graph = NULL;
    const int rc_end = cu->graph_end(&host, &graph);
    ck_assert_msg(rc == 0 && rc_end == 0 && graph, "capture: %d %d %s", rc, rc_end,
                  wrk_error_detail());
    const int wo_int8 = wrk_cuda_int8_takes(&wo.d, attd, 1);

    for (int32_t pos = 0; pos < n_ctx; pos++) {
        const int32_t s[2] = {(int32_t)(tu_u64(&r) % vocab), pos};
        ck_assert_int_eq(cu->from_host(&host, step, s, sizeof s), 0);
        ck_assert_int_eq(cu->graph_launch(&host, graph), 0);
        ck_assert_int_eq(ref->get_rows(NULL, &emb.h, s, 1, x), 0);
        ck_assert_int_eq(ref->matmul_multi(NULL, hqkv, 3, x, 1, 0), 0);
        ck_assert_int_eq(ref->attention_decode(NULL, &p, &s[1], q, k, v, kc, vc, att, NULL), 0);
        memcpy(x0, x, d * 4);
        ck_assert_int_eq(ref->matmul_multi(NULL, &hout, 1, att, 1, WP_MATMUL_ACCUMULATE), 0);
        ck_assert_int_eq(cu->synchronize(&host), 0);
        tu_download(got, xd, d * 4);
        char what[64];
        snprintf(what, sizeof what, "graph replay at pos %d", pos);
        if (wo_int8) {
            /* the Q4_K output projection takes the int8 path: its bound (the GPU's attention
             * output is not bit-identical to the host's, so no emulation check) */
            ck_assert_msg(tu_all_finite(got, d), "%s: not fully written", what);
            ck_assert_msg(tu_i8_check_matmul(what, &wo.h, att, got, x, x0, NULL, 0) == 0,
                          "%s: out of bounds", what);
        } else {
            expect_close(got, x, d, 1e-4, what);
        }
    }
    cu->graph_free(&host, graph);

    /* a copy that waits for the host cannot be recorded: graph_end fails, nothing ran, and
     * the stream works afterwards */
    ck_assert_int_eq(cu->graph_begin(&host), 0);
    float h4[4];
    ck_assert_int_ne(cu->to_host(&host, h4, xd, sizeof h4), 0);
    graph = (void *)1;
    ck_assert_int_ne(cu->graph_end(&host, &graph), 0);
    ck_assert_ptr_null(graph);
    ck_assert_int_eq(cu->to_host(&host, h4, xd, sizeof h4), 0);
    ck_assert_int_eq(cu->synchronize(&host), 0);

    tu_pair_free(&emb); tu_pair_free(&wq); tu_pair_free(&wk); tu_pair_free(&wv); tu_pair_free(&wo);
    free(kc); free(vc); free(x); free(x0); free(q); free(k); free(v); free(att); free(got);
    tu_dfree(kcd); tu_dfree(vcd); tu_dfree(xd); tu_dfree(qd); tu_dfree(kd); tu_dfree(vd);
    tu_dfree(attd); tu_dfree(step); tu_dfree(work);
}
END_TEST

int main(void)
{
    int rc = tu_cuda_host_init(&host);
    if (rc)
        return rc;
    cu = host.ops;
    ref = wrk_ops_host();
    Suite *s = suite_create("ops_fused_cuda");
    TCase *tc = tcase_create("cuda");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, test_matmul_multi, 0, TU_N_TYPES);
    tcase_add_test(tc, test_matmul_multi_mixed);
    tcase_add_loop_test(tc, test_matmul_glu, 0, TU_N_TYPES);
    tcase_add_test(tc, test_get_rows_dev);
    tcase_add_test(tc, test_attention_decode);
    tcase_add_test(tc, test_graph_replay);
    suite_add_tcase(s, tc);
    return tu_cuda_run_suite(s, &host);
}
