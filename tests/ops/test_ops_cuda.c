/*
 * test_ops_cuda.c - every op of the CUDA kernel set (wrk_ops_cuda) against the reference
 * host set on fresh random inputs. Outputs are poisoned with NaN before each call and must
 * come back fully written. Exits 77 (SKIP) without a CUDA device.
 *
 * Tolerances, relative in the 2-norm over the whole output:
 *   matmul F32 weights 1e-5; F16/BF16/Q8_0/Q4_0/Q4_K/Q6_K 1e-4. Except the quantized types
 *   at n = 1 where the int8-dot path takes them (wrk_cuda_int8_takes: x rounded to int8 per
 *   32 elements): per row, the emulated int8 product within fp32 rounding and the rigorous
 *   bound of rounding x against the host set (ops_int8ref.h); test_matmul_fp32x runs those
 *   cases on the fp32 path at 1e-4. For the fp32 path: both sides multiply the
 *   same dequantized fp32 values and differ only by summation order and FMA contraction,
 *   whose fp32 rounding is ~sqrt(in) * 2^-24 ~ 3e-6 at in = 2048; 1e-4 keeps a 30x margin
 *   yet one wrongly decoded block in a row (a 1e-1 error) cannot hide.
 *   Except quantized weights at n > 8 (prefill): cuBLAS has no quantized types, so the GPU
 *   multiplies an f16 copy of the dequantized weights (as llama.cpp does), each rounded by
 *   up to 2^-11 relative; for random weights that is ~2e-4 relative in y (the rms of the
 *   rounding), so 1e-3: a 5x margin, and a wrong block still shows.
 *   get_rows 1e-6 (same formulas, at most an FMA's rounding apart); rms_norm 1e-5;
 *   attention 1e-5 (fp32 both sides, different reduction order and exp; at n >= 16 the
 *   scores and outputs come from fp32 SGEMM, no TF32); add exact.
 * The measured errors are printed for the record.
 */
#include "config.h"

#include <check.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime_api.h>

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

/* Relative error allowed for a matmul of this weight type at n columns (see the top). */
/* x_off shifts x by one float so the kernels take their unaligned-x path. */
static void check_matmul_on(const wp_host *h, tu_rng *r, uint32_t type, int in, int out, int n,
                            int with_bias, int raw, int x_off, double tol)
{
    tu_pair w;
    tu_pair_make(r, type, in, out, raw, &w);
    const size_t nx = (size_t)in * n, ny = (size_t)out * n;
    float *x = malloc(sizeof(float) * nx), *y = malloc(sizeof(float) * ny);
    float *yr = malloc(sizeof(float) * ny), *bias = malloc(sizeof(float) * out);
    tu_fill(r, x, nx, -1.0f, 1.0f);
    tu_fill(r, bias, out, -0.5f, 0.5f);
    float *dx = tu_dalloc(sizeof(float) * (nx + 1)), *dy = tu_dalloc(sizeof(float) * ny);
    float *db = tu_dalloc(sizeof(float) * out);
    tu_upload(dx + x_off, x, sizeof(float) * nx);
    tu_upload(db, bias, sizeof(float) * out);
    tu_poison(dy, sizeof(float) * ny);
    int rc = cu->matmul(h, &w.d, dx + x_off, dy, n, with_bias ? db : NULL);
    ck_assert_msg(rc == 0, "cuda matmul: %s", wrk_error_detail());
    ck_assert_int_eq(cu->synchronize(h), 0);
    tu_download(y, dy, sizeof(float) * ny);
    ck_assert_int_eq(ref->matmul(NULL, &w.h, x, yr, n, with_bias ? bias : NULL), 0);
    ck_assert_msg(tu_all_finite(y, ny), "matmul %s in %d out %d n %d: output not fully written",
                  wrk_dtype_name(type), in, out, n);
    const int int8 = wrk_cuda_int8_takes(&w.d, dx + x_off, n);
    if (int8) {
        char what[128];
        snprintf(what, sizeof what, "matmul %-5s in %5d out %5d n %2d bias %d raw %d xoff %d",
                 wrk_dtype_name(type), in, out, n, with_bias, raw, x_off);
        ck_assert_msg(tu_i8_check_matmul(what, &w.h, x, y, yr, NULL, with_bias ? bias : NULL,
                                         1) == 0,
                      "%s: int8 result out of bounds", what);
    }
    const double e = tu_rel_err(y, yr, ny);
    printf("matmul %-5s in %5d out %5d n %2d bias %d raw %d xoff %d: rel err %.3g\n",
           wrk_dtype_name(type), in, out, n, with_bias, raw, x_off, e);
    ck_assert_msg(int8 || e <= tol, "matmul %s in %d out %d n %d: rel err %g > %g",
                  wrk_dtype_name(type), in, out, n, e, tol);
    tu_dfree(dx);
    tu_dfree(dy);
    tu_dfree(db);
    free(x);
    free(y);
    free(yr);
    free(bias);
    tu_pair_free(&w);
}

static void check_matmul(tu_rng *r, uint32_t type, int in, int out, int n, int with_bias,
                         int raw, int x_off)
{
    check_matmul_on(&host, r, type, in, out, n, with_bias, raw, x_off, tu_matmul_tol(type, n));
}

START_TEST(test_matmul)
{
    tu_rng r;
    tu_seed(&r, 1000 + (uint64_t)_i);
    const uint32_t type = tu_types[_i];
    const uint32_t qk = wrk_dtype_block_elems(type);
    const int ins_f[] = {64, 172, 2048}, ins_32[] = {64, 2048}, ins_k[] = {256, 2048};
    const int *ins = qk == 1 ? ins_f : qk == 32 ? ins_32 : ins_k;
    const int n_in = qk == 1 ? 3 : 2;
    const int outs[] = {37, 515}, ns[] = {1, 3, 8, 37};
    for (int a = 0; a < n_in; a++)
        for (int b = 0; b < 2; b++)
            for (int c = 0; c < 4; c++)
                check_matmul(&r, type, ins[a], outs[b], ns[c], (a + b + c) & 1,
                             qk > 1 && ((a + c) & 1), 0);
    /* unaligned x, odd n; a large decode shape; and prefill sizes (cuBLAS for F32) */
    check_matmul(&r, type, ins[n_in - 1], 131, 3, 1, 0, 1);
    check_matmul(&r, type, 2048, 4099, 1, 0, 1, 0);
    /* long rows, few of them: split-K (the block's warps share the rows) for the quantized
     * types, half-rounds (matmul.cu, gemv_pipe) for F32/F16/BF16, also with a row length that
     * leaves the last round partly empty and with a part of a block */
    check_matmul(&r, type, 8192, 515, 1, 1, qk > 1, 0);
    check_matmul(&r, type, qk == 1 ? 5380 : 5376, 37, 1, 0, 0, 1);
    check_matmul(&r, type, 14336, 2050, 1, 0, 0, 0);
    /* long rows in a launch of half to one wave of warps (32 per SM): half-rounds for the
     * float types (gemv_pipe), with a partly empty last half */
    int sms = 0;
    ck_assert_int_eq(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0), 0);
    check_matmul(&r, type, qk == 1 ? 4104 : 4096, 24 * sms, 1, 1, 0, 0);
    check_matmul(&r, type, ins[0], 67, 100, 1, 1, 0);
    /* prefill (cuBLAS): one column past a GEMV tile, odd n and out, unaligned x */
    const int pns[] = {9, 17, 40};
    for (int k = 0; k < 3; k++)
        check_matmul(&r, type, ins[n_in - 1], 129 + 2 * k, pns[k], k & 1, qk > 1 && !(k & 1),
                     0);
    check_matmul(&r, type, ins[0], 255, 17, 1, 0, 1);
    /* quantized W larger than one f16 chunk (64 MiB = 16384 rows of 2048): two chunks, the
     * second of 27 rows */
    if (qk > 1)
        check_matmul(&r, type, 2048, 16411, 17, 1, 1, 0);
}
END_TEST

/* The decode cases of the quantized types with the int8-dot path off: the fp32 path, 1e-4. */
START_TEST(test_matmul_fp32x)
{
    tu_rng r;
    tu_seed(&r, 1400 + (uint64_t)_i);
    const uint32_t type = tu_types[3 + _i]; /* Q8_0, Q4_0, Q4_K, Q6_K */
    const int in = wrk_dtype_block_elems(type) == 32 ? 64 : 256;
    wrk_cuda_set_int8_dot(0); /* the fixture restores it */
    check_matmul(&r, type, in, 37, 1, 1, 0, 0);
    check_matmul(&r, type, 2048, 515, 1, 0, 1, 0);
    check_matmul(&r, type, 2048, 131, 1, 1, 1, 1);
    check_matmul(&r, type, 2048, 4099, 1, 0, 1, 0);
}
END_TEST

/* The int8 switch as the environment set it, before every test (test_matmul_fp32x turns it
 * off). */
static int int8_default;

static void int8_restore(void)
{
    wrk_cuda_set_int8_dot(int8_default);
}

/* A host table without a scratch (ABI 1.0 size, or the member NULL): prefill of the 16-bit
 * and quantized types falls back to the GEMV tiles, which keep the 1e-4 tolerance. */
START_TEST(test_matmul_without_scratch)
{
    tu_rng r;
    tu_seed(&r, 1500);
    wp_host old = host, none = host;
    old.struct_size = (uint32_t)offsetof(wp_host, scratch);
    none.scratch = NULL;
    static const uint32_t types[] = {WP_DTYPE_F16, WP_DTYPE_BF16, WP_DTYPE_Q4_K, WP_DTYPE_Q6_K};
    for (int t = 0; t < 4; t++) {
        check_matmul_on(&old, &r, types[t], 512, 131, 17, 1, 1, 0, 1e-4);
        check_matmul_on(&none, &r, types[t], 512, 131, 17, 0, 0, 0, 1e-4);
    }
}
END_TEST

/* Prefill products queued with no wait between them: the second grows the scratch (the
 * host drains the stream first), the third reuses it while the second may still run, so
 * stream order alone must keep each output right. Checked after one final wait. */
START_TEST(test_matmul_queued)
{
    tu_rng r;
    tu_seed(&r, 1600);
    static const struct { uint32_t type; int in, out, n; } c[] = {
        {WP_DTYPE_Q8_0, 512, 300, 20},
        {WP_DTYPE_Q4_K, 2048, 3000, 64},
        {WP_DTYPE_F16, 256, 77, 33},
    };
    enum { N = 3 };
    tu_pair w[N];
    float *x[N], *y[N], *dx[N], *dy[N];
    tu_scratch_release(&host);
    const unsigned grows = tu_scratch_grows(&host);
    for (int i = 0; i < N; i++) {
        tu_pair_make(&r, c[i].type, c[i].in, c[i].out, 1, &w[i]);
        const size_t nx = (size_t)c[i].in * c[i].n, ny = (size_t)c[i].out * c[i].n;
        x[i] = malloc(sizeof(float) * nx);
        y[i] = malloc(sizeof(float) * ny);
        tu_fill(&r, x[i], nx, -1.0f, 1.0f);
        dx[i] = tu_dalloc(sizeof(float) * nx);
        dy[i] = tu_dalloc(sizeof(float) * ny);
        tu_upload(dx[i], x[i], sizeof(float) * nx);
        tu_poison(dy[i], sizeof(float) * ny);
    }
    for (int i = 0; i < N; i++) {
        int rc = cu->matmul(&host, &w[i].d, dx[i], dy[i], c[i].n, NULL);
        ck_assert_msg(rc == 0, "queued matmul %d: %s", i, wrk_error_detail());
    }
    ck_assert_int_eq(cu->synchronize(&host), 0);
    /* a first allocation, one growth for the larger second product, none for the third */
    ck_assert_uint_eq(tu_scratch_grows(&host) - grows, 2);
    for (int i = 0; i < N; i++) {
        const size_t ny = (size_t)c[i].out * c[i].n;
        float *got = malloc(sizeof(float) * ny);
        tu_download(got, dy[i], sizeof(float) * ny);
        ck_assert_int_eq(ref->matmul(NULL, &w[i].h, x[i], y[i], c[i].n, NULL), 0);
        ck_assert_msg(tu_all_finite(got, ny), "queued matmul %d: not fully written", i);
        const double e = tu_rel_err(got, y[i], ny), tol = tu_matmul_tol(c[i].type, c[i].n);
        printf("queued matmul %-5s in %5d out %5d n %2d: rel err %.3g\n",
               wrk_dtype_name(c[i].type), c[i].in, c[i].out, c[i].n, e);
        ck_assert_msg(e <= tol, "queued matmul %d: rel err %g > %g", i, e, tol);
        free(got);
        free(x[i]);
        free(y[i]);
        tu_dfree(dx[i]);
        tu_dfree(dy[i]);
        tu_pair_free(&w[i]);
    }
}
END_TEST

START_TEST(test_get_rows)
{
    tu_rng r;
    tu_seed(&r, 2000);
    for (int t = 0; t < TU_N_TYPES; t++) {
        const uint32_t type = tu_types[t];
        const uint32_t qk = wrk_dtype_block_elems(type);
        const int widths[] = {qk == 1 ? 173 : (int)qk * 3, 2048};
        for (int wi = 0; wi < 2; wi++) {
            const int in = widths[wi], rows = 301;
            tu_pair w;
            tu_pair_make(&r, type, in, rows, 1, &w);
            const int ns[] = {1, 300};
            for (int k = 0; k < 2; k++) {
                const int n = ns[k];
                int32_t *ids = malloc(sizeof(int32_t) * n);
                for (int i = 0; i < n; i++)
                    ids[i] = (int32_t)(tu_u64(&r) % rows);
                ids[n - 1] = rows - 1;
                const size_t no = (size_t)in * n;
                float *o = malloc(sizeof(float) * no), *orf = malloc(sizeof(float) * no);
                float *d = tu_dalloc(sizeof(float) * no);
                tu_poison(d, sizeof(float) * no);
                int rc = cu->get_rows(&host, &w.d, ids, n, d);
                ck_assert_msg(rc == 0, "cuda get_rows: %s", wrk_error_detail());
                tu_download(o, d, sizeof(float) * no);
                ck_assert_int_eq(ref->get_rows(NULL, &w.h, ids, n, orf), 0);
                ck_assert_msg(tu_all_finite(o, no), "get_rows %s: not fully written",
                              wrk_dtype_name(type));
                const double e = tu_rel_err(o, orf, no);
                printf("get_rows %-5s width %4d n %3d: rel err %.3g\n", wrk_dtype_name(type),
                       in, n, e);
                ck_assert_msg(e <= 1e-6, "get_rows %s: rel err %g", wrk_dtype_name(type), e);
                /* a bad id: refused, nothing written */
                tu_poison(d, sizeof(float) * no);
                ids[0] = rows;
                ck_assert_int_eq(cu->get_rows(&host, &w.d, ids, n, d),
                                 CUDA_ERROR_INVALID_PARAMETER);
                tu_download(o, d, sizeof(float) * no);
                ck_assert(isnan(o[0]) && isnan(o[no - 1]));
                free(ids);
                free(o);
                free(orf);
                tu_dfree(d);
            }
            tu_pair_free(&w);
        }
    }
}
END_TEST

/* Attention over a sequence of calls (prefill, decode steps, a chunk), each against the
 * host set run on its own copy of the caches; the caches must agree too. Calls of at least
 * WRK_ATTN_GEMM_MIN_TOKENS tokens take the cuBLAS path when h has a scratch. */
static void check_attention_on(const wp_host *h, tu_rng *r, int n_heads, int n_kv, int hd,
                               int n_ctx, const int *steps, int n_steps)
{
    const size_t kvw = (size_t)n_kv * hd, qw = (size_t)n_heads * hd, nc = (size_t)n_ctx * kvw;
    float *kc = calloc(nc, sizeof(float)), *vc = calloc(nc, sizeof(float));
    float *kcd = tu_dalloc(nc * sizeof(float)), *vcd = tu_dalloc(nc * sizeof(float));
    float *kback = malloc(nc * sizeof(float));
    tu_poison(kcd, nc * sizeof(float));
    tu_poison(vcd, nc * sizeof(float));
    int pos = 0;
    for (int s = 0; s < n_steps; s++) {
        const int n = steps[s];
        const size_t nq = (size_t)n * qw, nk = (size_t)n * kvw;
        float *q = malloc(nq * sizeof(float)), *k = malloc(nk * sizeof(float));
        float *v = malloc(nk * sizeof(float)), *o = malloc(nq * sizeof(float));
        float *orf = malloc(nq * sizeof(float));
        tu_fill(r, q, nq, -2.0f, 2.0f);
        tu_fill(r, k, nk, -2.0f, 2.0f);
        tu_fill(r, v, nk, -1.0f, 1.0f);
        float *qd = tu_dalloc(nq * sizeof(float)), *kd = tu_dalloc(nk * sizeof(float));
        float *vd = tu_dalloc(nk * sizeof(float)), *od = tu_dalloc(nq * sizeof(float));
        tu_upload(qd, q, nq * sizeof(float));
        tu_upload(kd, k, nk * sizeof(float));
        tu_upload(vd, v, nk * sizeof(float));
        tu_poison(od, nq * sizeof(float));
        const wp_attention_params p = {n, pos, n_heads, n_kv, hd, n_ctx, 1.0f / sqrtf((float)hd)};
        int rc = cu->attention(h, &p, qd, kd, vd, kcd, vcd, od);
        ck_assert_msg(rc == 0, "cuda attention: %s", wrk_error_detail());
        tu_download(o, od, nq * sizeof(float));
        ck_assert_int_eq(ref->attention(NULL, &p, q, k, v, kc, vc, orf), 0);
        ck_assert_msg(tu_all_finite(o, nq), "attention: output not fully written");
        const double e = tu_rel_err(o, orf, nq);
        printf("attention heads %2d/%d hd %3d n_ctx %4d pos %4d n %3d: rel err %.3g\n", n_heads,
               n_kv, hd, n_ctx, pos, n, e);
        ck_assert_msg(e <= 1e-5, "attention heads %d/%d hd %d pos %d n %d: rel err %g", n_heads,
                      n_kv, hd, pos, n, e);
        pos += n;
        tu_download(kback, kcd, (size_t)pos * kvw * sizeof(float));
        ck_assert(memcmp(kback, kc, (size_t)pos * kvw * sizeof(float)) == 0);
        tu_download(kback, vcd, (size_t)pos * kvw * sizeof(float));
        ck_assert(memcmp(kback, vc, (size_t)pos * kvw * sizeof(float)) == 0);
        free(q);
        free(k);
        free(v);
        free(o);
        free(orf);
        tu_dfree(qd);
        tu_dfree(kd);
        tu_dfree(vd);
        tu_dfree(od);
    }
    free(kc);
    free(vc);
    free(kback);
    tu_dfree(kcd);
    tu_dfree(vcd);
}

static void check_attention(tu_rng *r, int n_heads, int n_kv, int hd, int n_ctx,
                            const int *steps, int n_steps)
{
    check_attention_on(&host, r, n_heads, n_kv, hd, n_ctx, steps, n_steps);
}

START_TEST(test_attention)
{
    tu_rng r;
    tu_seed(&r, 3000);
    const int steps[] = {37, 1, 1, 1, 8, 3};
    check_attention(&r, 32, 8, 64, 64, steps, 6);   /* Llama-3 style GQA 4:1 */
    check_attention(&r, 4, 4, 128, 60, steps, 5);   /* MHA, hd 128 */
    check_attention(&r, 6, 3, 80, 51, steps, 6);    /* odd head_dim, cache filled to the end */
    check_attention(&r, 2, 1, 256, 64, steps, 3);   /* the largest head_dim */
    check_attention(&r, 3, 1, 16, 64, steps, 4);    /* head_dim below a warp */
    const int longer[] = {1500, 1, 1, 100};
    check_attention(&r, 8, 2, 64, 1700, longer, 4); /* long context */
    const int one[] = {1, 1, 1};
    check_attention(&r, 4, 2, 32, 3, one, 3);       /* decode from pos 0 */

    wp_attention_params p = {1, 0, 2, 1, 512, 4, 1.0f};
    float *d = tu_dalloc(4096 * sizeof(float));
    ck_assert_int_eq(cu->attention(&host, &p, d, d, d, d, d, d), CUDA_ERROR_INVALID_PARAMETER);
    p.head_dim = 16;
    p.pos = 4;
    ck_assert_int_eq(cu->attention(&host, &p, d, d, d, d, d, d), CUDA_ERROR_INVALID_PARAMETER);
    tu_dfree(d);
}
END_TEST

/* The cuBLAS path (attention_gemm.cu) at the shapes that stress its planning. main() bounds
 * its score buffer to ATTN_TEST_S_BYTES (see there), so beside single batches these cases
 * take several batches of whole KV-head groups, slices of a group, and one head at a time
 * in blocks of query rows; with the default bound most of them would be one batch. */
START_TEST(test_attention_gemm)
{
    tu_rng r;
    tu_seed(&r, 3500);
    /* GQA 4:1 as Llama-3: a 64-token prefill (2 batches of 16 heads), a 236-token chunk
     * whose head is above the bound (blocks of rows), a 48-token chunk after 300 positions
     * (batches of 3 heads, slicing the 8 KV heads) */
    const int llama[] = {64, 236, 48, 1};
    check_attention(&r, 32, 8, 64, 400, llama, 4);
    const int mha[] = {64, 1, 17, 40};
    check_attention(&r, 5, 5, 80, 128, mha, 4);     /* odd head_dim, group 1: one call */
    const int gqa[] = {48, 3, 100};
    check_attention(&r, 8, 2, 80, 160, gqa, 3);     /* group 4 >= KV heads: K/V broadcast */
    const int mqa[] = {16, 20, 15};
    check_attention(&r, 4, 1, 128, 51, mqa, 3);     /* the threshold itself, one below */

    /* the path is taken at the threshold (it asks the scratch for its scores) and not below */
    tu_scratch_release(&host);
    unsigned grows = tu_scratch_grows(&host);
    const int at[] = {WRK_ATTN_GEMM_MIN_TOKENS};
    check_attention(&r, 4, 2, 64, 32, at, 1);
    ck_assert_uint_eq(tu_scratch_grows(&host) - grows, 1);
    tu_scratch_release(&host);
    grows = tu_scratch_grows(&host);
    const int below[] = {WRK_ATTN_GEMM_MIN_TOKENS - 1};
    check_attention(&r, 4, 2, 64, 32, below, 1);
    ck_assert_uint_eq(tu_scratch_grows(&host) - grows, 0);

    /* without a scratch (ABI 1.0 table, or the member NULL) the kernel serves prefill */
    wp_host old = host, none = host;
    old.struct_size = (uint32_t)offsetof(wp_host, scratch);
    none.scratch = NULL;
    const int pre[] = {64, 20};
    check_attention_on(&old, &r, 8, 2, 64, 96, pre, 2);
    check_attention_on(&none, &r, 6, 6, 80, 96, pre, 2);
}
END_TEST

START_TEST(test_rms_norm_add_copies)
{
    tu_rng r;
    tu_seed(&r, 4000);
    /* float4 kernel with 1, 2, 4, 8 vectors per thread; the scalar one for odd widths and
     * rows beyond 8192 */
    const int shapes[][2] = {{1, 2048}, {3, 172}, {37, 4096}, {5, 1}, {2, 5000},
                             {4, 8192}, {2, 8196}, {1, 1027}};
    for (int s = 0; s < 8; s++) {
        const int rows = shapes[s][0], width = shapes[s][1];
        const size_t n = (size_t)rows * width;
        float *x = malloc(n * sizeof(float)), *w = malloc(width * sizeof(float));
        float *o = malloc(n * sizeof(float)), *orf = malloc(n * sizeof(float));
        tu_fill(&r, x, n, -4.0f, 4.0f);
        tu_fill(&r, w, width, 0.5f, 1.5f);
        float *xd = tu_dalloc(n * sizeof(float)), *wd = tu_dalloc(width * sizeof(float));
        float *od = tu_dalloc(n * sizeof(float));
        ck_assert_int_eq(cu->from_host(&host, xd, x, n * sizeof(float)), 0);
        ck_assert_int_eq(cu->from_host(&host, wd, w, width * sizeof(float)), 0);
        tu_poison(od, n * sizeof(float));
        ck_assert_int_eq(cu->rms_norm(&host, xd, wd, od, rows, width, 1e-6f), 0);
        ck_assert_int_eq(cu->to_host(&host, o, od, n * sizeof(float)), 0);
        ck_assert_int_eq(ref->rms_norm(NULL, x, w, orf, rows, width, 1e-6f), 0);
        ck_assert(tu_all_finite(o, n));
        double e = tu_rel_err(o, orf, n);
        printf("rms_norm %2d x %4d: rel err %.3g\n", rows, width, e);
        ck_assert_msg(e <= 1e-5, "rms_norm %dx%d: %g", rows, width, e);
        /* in place */
        ck_assert_int_eq(cu->rms_norm(&host, xd, wd, xd, rows, width, 1e-6f), 0);
        ck_assert_int_eq(cu->to_host(&host, o, xd, n * sizeof(float)), 0);
        ck_assert(tu_rel_err(o, orf, n) <= 1e-5);

        /* add: y += x, exact */
        float *y = malloc(n * sizeof(float));
        tu_fill(&r, y, n, -1.0f, 1.0f);
        ck_assert_int_eq(cu->from_host(&host, od, y, n * sizeof(float)), 0);
        ck_assert_int_eq(cu->add(&host, od, xd, n), 0);
        ck_assert_int_eq(cu->to_host(&host, orf, od, n * sizeof(float)), 0);
        ck_assert_int_eq(ref->add(NULL, y, o, n), 0);
        ck_assert(memcmp(y, orf, n * sizeof(float)) == 0);
        free(y);
        free(x);
        free(w);
        free(o);
        free(orf);
        tu_dfree(xd);
        tu_dfree(wd);
        tu_dfree(od);
    }
    /* a larger add, odd length */
    const size_t n = 1000003;
    float *a = malloc(n * sizeof(float)), *b = malloc(n * sizeof(float));
    float *c = malloc(n * sizeof(float));
    tu_fill(&r, a, n, -1.0f, 1.0f);
    tu_fill(&r, b, n, -1.0f, 1.0f);
    float *ad = tu_dalloc(n * sizeof(float)), *bd = tu_dalloc(n * sizeof(float));
    tu_upload(ad, a, n * sizeof(float));
    tu_upload(bd, b, n * sizeof(float));
    ck_assert_int_eq(cu->add(&host, ad, bd, n), 0);
    ck_assert_int_eq(cu->synchronize(&host), 0);
    tu_download(c, ad, n * sizeof(float));
    ref->add(NULL, a, b, n);
    ck_assert(memcmp(a, c, n * sizeof(float)) == 0);
    free(a);
    free(b);
    free(c);
    tu_dfree(ad);
    tu_dfree(bd);
    ck_assert_int_eq(cu->add(&host, NULL, NULL, 0), 0);
    ck_assert_int_eq(cu->rms_norm(&host, NULL, NULL, NULL, 1, 0, 1e-5f),
                     CUDA_ERROR_INVALID_PARAMETER);
}
END_TEST

START_TEST(test_table)
{
    ck_assert_ptr_nonnull(cu);
    ck_assert_uint_eq(cu->abi_major, WORKER_PLUGIN_ABI_MAJOR);
    ck_assert_uint_eq(cu->struct_size, sizeof(wp_ops));
    ck_assert_int_eq(cu->synchronize(&host), 0);
    uint8_t data[64];
    wp_tensor w = {"w", WP_DTYPE_Q4_K, 2, {255, 1, 1, 1}, sizeof(data), data};
    float f;
    ck_assert_int_eq(cu->matmul(&host, &w, &f, &f, 1, NULL), CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_ptr_nonnull(strstr(wrk_error_detail(), "w"));
}
END_TEST

/* The score buffer bound of the cuBLAS attention path for this run, unless the environment
 * sets one (WORKER_ATTN_GEMM_MAX_BYTES is read once, at the first prefill attention): small,
 * so that the test shapes are cut into batches (sizes in test_attention_gemm). */
#define ATTN_TEST_S_BYTES "262144"

int main(void)
{
    setenv("WORKER_ATTN_GEMM_MAX_BYTES", ATTN_TEST_S_BYTES, 0);
    int rc = tu_cuda_host_init(&host);
    if (rc)
        return rc;
    cu = host.ops;
    ref = wrk_ops_host();
    Suite *s = suite_create("ops_cuda");
    TCase *tc = tcase_create("cuda");
    tcase_set_timeout(tc, 600);
    int8_default = wrk_cuda_int8_dot_enabled();
    tcase_add_checked_fixture(tc, int8_restore, int8_restore);
    tcase_add_test(tc, test_table);
    tcase_add_loop_test(tc, test_matmul, 0, TU_N_TYPES);
    tcase_add_loop_test(tc, test_matmul_fp32x, 0, 4);
    tcase_add_test(tc, test_matmul_without_scratch);
    tcase_add_test(tc, test_matmul_queued);
    tcase_add_test(tc, test_get_rows);
    tcase_add_test(tc, test_attention);
    tcase_add_test(tc, test_attention_gemm);
    tcase_add_test(tc, test_rms_norm_add_copies);
    suite_add_tcase(s, tc);
    return tu_cuda_run_suite(s, &host);
}
