/*
 * ops_multicheck.c - matmul_multi, CUDA set against host set (see ops_multicheck.h).
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/wrk_error.h"
#include "gguf/quant.h"
#include "ops/cuda/cuda_ops.h"
#include "ops/ops.h"
#include "ops_cudahost.h"
#include "ops_devweight.h"
#include "ops_int8ref.h"
#include "ops_multicheck.h"

/* n floats in device memory, a copy of h */
static float *dev_copy(const float *h, size_t n)
{
    float *d = tu_dalloc(n * sizeof(float));
    tu_upload(d, h, n * sizeof(float));
    return d;
}

double tu_matmul_tol(uint32_t type, int n)
{
    if (type == WP_DTYPE_F32)
        return 1e-5;
    if (wrk_dtype_block_elems(type) > 1 && n > WRK_GEMV_MAXCOLS)
        return 1e-3;
    return 1e-4;
}

int tu_check_multi(const wp_host *h, tu_rng *r, const uint32_t *types, const int *outs,
                   int count, const float *x, int in, int n, unsigned flags, int raw)
{
    tu_pair w[WP_MATMUL_MAX_PARTS];
    wp_matmul_part hp[WP_MATMUL_MAX_PARTS], dp[WP_MATMUL_MAX_PARTS];
    float *y[WP_MATMUL_MAX_PARTS], *y0[WP_MATMUL_MAX_PARTS], *dy[WP_MATMUL_MAX_PARTS];
    float *b[WP_MATMUL_MAX_PARTS], *db[WP_MATMUL_MAX_PARTS];
    const int acc = (flags & WP_MATMUL_ACCUMULATE) != 0;
    float *dx = dev_copy(x, (size_t)in * n);
    int int8_parts = 0;
    for (int i = 0; i < count; i++) {
        const size_t ny = (size_t)outs[i] * n;
        tu_pair_make(r, types[i], in, outs[i], raw, &w[i]);
        y0[i] = malloc(ny * sizeof(float));
        tu_fill(r, y0[i], ny, -1.0f, 1.0f);
        y[i] = malloc(ny * sizeof(float));
        memcpy(y[i], y0[i], ny * sizeof(float));
        b[i] = NULL;
        db[i] = NULL;
        if (!(i & 1)) {
            b[i] = malloc((size_t)outs[i] * sizeof(float));
            tu_fill(r, b[i], (size_t)outs[i], -0.5f, 0.5f);
            db[i] = dev_copy(b[i], (size_t)outs[i]);
        }
        if (acc) {
            dy[i] = dev_copy(y0[i], ny);
        } else {
            dy[i] = tu_dalloc(ny * sizeof(float));
            tu_poison(dy[i], ny * sizeof(float));
        }
        hp[i] = (wp_matmul_part){&w[i].h, y[i], b[i]};
        dp[i] = (wp_matmul_part){&w[i].d, dy[i], db[i]};
    }
    int rc = h->ops->matmul_multi(h, dp, count, dx, n, flags);
    ck_assert_msg(rc == 0, "cuda matmul_multi: %s", wrk_error_detail());
    ck_assert_int_eq(wrk_ops_host()->matmul_multi(NULL, hp, count, x, n, flags), 0);
    for (int i = 0; i < count; i++) {
        const size_t ny = (size_t)outs[i] * n;
        float *got = malloc(ny * sizeof(float));
        tu_download(got, dy[i], ny * sizeof(float));
        char what[160];
        snprintf(what, sizeof what, "matmul_multi part %d/%d %s in %d out %d n %d flags %u", i,
                 count, wrk_dtype_name(types[i]), in, outs[i], n, flags);
        ck_assert_msg(tu_all_finite(got, ny), "%s: output not fully written", what);
        if (wrk_cuda_int8_takes(&w[i].d, dx, n)) {
            int8_parts++;
            ck_assert_msg(tu_i8_check_matmul(what, &w[i].h, x, got, y[i], acc ? y0[i] : NULL,
                                             b[i], 1) == 0,
                          "%s: int8 result out of bounds", what);
        } else {
            const double e = tu_rel_err(got, y[i], ny), tol = tu_matmul_tol(types[i], n);
            ck_assert_msg(e <= tol, "%s: rel err %g > %g", what, e, tol);
        }
        free(got);
        free(y[i]);
        free(y0[i]);
        free(b[i]);
        tu_dfree(dy[i]);
        if (db[i])
            tu_dfree(db[i]);
        tu_pair_free(&w[i]);
    }
    tu_dfree(dx);
    return int8_parts;
}
