/*
 * test_ops_readback_cuda.c - wp_ops.readback_start/readback_finish (ABI 1.3) of the CUDA set:
 * every size 0..WP_READBACK_MAX_BYTES of device memory copied exactly; the copy ordered after
 * the work queued before it (an argmax's result) and before the work queued after it (a
 * from_host and an argmax rewriting the source: finish still returns the old bytes); finish
 * waits for its copy only (heavy work queued after the start is still running when it
 * returns); more handles out at once than one chunk of the pool holds; the pool released and
 * made again; the argument checks (n above the limit, NULL src/pending, another n, a handle
 * finished twice or never started). Also from_host of small sizes, which must not wait for
 * the stream either. Exits 77 (SKIP) without a CUDA device.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime_api.h>

#include "core/wrk_error.h"
#include "ops/ops.h"
#include "ops_cudahost.h"
#include "ops_cudasuite.h"

static wp_host host;
static const wp_ops *cu;

static void fill(unsigned char *p, size_t n, unsigned k)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(k * 37u + i * 11u + 1u);
}

START_TEST(test_readback_sizes)
{
    unsigned char *d = tu_dalloc(WP_READBACK_MAX_BYTES);
    for (size_t n = 0; n <= WP_READBACK_MAX_BYTES; n++) {
        unsigned char src[WP_READBACK_MAX_BYTES], dst[WP_READBACK_MAX_BYTES + 1];
        fill(src, sizeof src, (unsigned)n);
        tu_upload(d, src, sizeof src);
        memset(dst, 0xA5, sizeof dst);
        void *h = NULL;
        ck_assert_msg(cu->readback_start(&host, d, n, &h) == 0, "start: %s", wrk_error_detail());
        ck_assert_ptr_nonnull(h);
        ck_assert_msg(cu->readback_finish(&host, h, dst, n) == 0, "finish: %s",
                      wrk_error_detail());
        ck_assert_msg(memcmp(dst, src, n) == 0, "n %zu: wrong bytes", n);
        for (size_t i = n; i < sizeof dst; i++)
            ck_assert_msg(dst[i] == 0xA5, "n %zu: byte %zu written", n, i);
    }
    tu_dfree(d);
}
END_TEST

/* Stream order: the readback sees the argmax queued before it, not the from_host and the
 * argmax queued after it; a second readback after those sees them. */
START_TEST(test_readback_stream_order)
{
    enum { N = 4099 };
    float *x = malloc(N * sizeof(float));
    ck_assert_ptr_nonnull(x);
    for (int i = 0; i < N; i++)
        x[i] = (float)((i * 7919) % N) * 0.01f;   /* the largest at the i with 7919 i = N - 1 */
    int32_t want1 = 0;
    for (int i = 1; i < N; i++)
        if (x[i] > x[want1])
            want1 = i;
    float *dx = tu_dalloc(N * sizeof(float));
    int32_t *dout = tu_dalloc(sizeof(int32_t));
    tu_upload(dx, x, N * sizeof(float));
    tu_poison(dout, sizeof(int32_t));

    void *h1 = NULL, *h2 = NULL;
    const int32_t seven = 7;
    ck_assert_int_eq(cu->argmax(&host, dx, N, dout), 0);
    ck_assert_int_eq(cu->readback_start(&host, dout, sizeof(int32_t), &h1), 0);
    ck_assert_int_eq(cu->from_host(&host, dout, &seven, sizeof seven), 0);
    x[N - 5] = 1e9f;
    ck_assert_int_eq(cu->from_host(&host, dx + N - 5, &x[N - 5], sizeof(float)), 0);
    ck_assert_int_eq(cu->argmax(&host, dx, N, dout), 0);
    ck_assert_int_eq(cu->readback_start(&host, dout, sizeof(int32_t), &h2), 0);
    int32_t got1 = -1, got2 = -1;
    ck_assert_int_eq(cu->readback_finish(&host, h2, &got2, sizeof got2), 0);   /* any order */
    ck_assert_int_eq(cu->readback_finish(&host, h1, &got1, sizeof got1), 0);
    ck_assert_int_eq(got1, want1);
    ck_assert_int_eq(got2, N - 5);
    tu_dfree(dx);
    tu_dfree(dout);
    free(x);
}
END_TEST

/* ~13 GB of weight reads (milliseconds on any GPU) to queue behind a copy, so that a test
 * can tell whether a call waited for the stream. */
typedef struct {
    wp_tensor w;
    float *dx, *dy;
} heavy_work;

enum { HEAVY_D = 4096, HEAVY_REPS = 200 };

static void heavy_init(heavy_work *hw)
{
    memset(hw, 0, sizeof *hw);
    hw->w = (wp_tensor){ .name = "heavy", .type = WP_DTYPE_F32, .n_dims = 2,
                         .ne = { HEAVY_D, HEAVY_D, 1, 1 },
                         .nbytes = (uint64_t)HEAVY_D * HEAVY_D * sizeof(float) };
    hw->w.data = tu_dalloc(hw->w.nbytes);
    tu_poison(hw->w.data, hw->w.nbytes);
    hw->dx = tu_dalloc(HEAVY_D * sizeof(float));
    hw->dy = tu_dalloc(HEAVY_D * sizeof(float));
}

static void heavy_queue(heavy_work *hw)
{
    for (int i = 0; i < HEAVY_REPS; i++)
        ck_assert_int_eq(cu->matmul(&host, &hw->w, hw->dx, hw->dy, 1, NULL), 0);
}

static void heavy_free(heavy_work *hw)
{
    ck_assert_int_eq(cu->synchronize(&host), 0);
    tu_dfree(hw->w.data);
    tu_dfree(hw->dx);
    tu_dfree(hw->dy);
}

/* finish waits for its copy, not for the stream: the heavy work queued after the start is
 * still running when it returns. */
START_TEST(test_readback_waits_for_its_copy_only)
{
    heavy_work hw;
    heavy_init(&hw);
    int32_t *dv = tu_dalloc(sizeof(int32_t));
    const int32_t v = 424242;
    tu_upload(dv, &v, sizeof v);
    ck_assert_int_eq(cu->synchronize(&host), 0);

    void *h = NULL;
    ck_assert_int_eq(cu->readback_start(&host, dv, sizeof v, &h), 0);
    heavy_queue(&hw);
    int32_t got = 0;
    ck_assert_int_eq(cu->readback_finish(&host, h, &got, sizeof got), 0);
    const cudaError_t busy = cudaStreamQuery((cudaStream_t)host.stream);
    ck_assert_int_eq(got, v);
    ck_assert_msg(busy == cudaErrorNotReady,
                  "the stream was idle when readback_finish returned: it waited for the "
                  "work queued after the copy (cudaStreamQuery: %s)", cudaGetErrorName(busy));
    heavy_free(&hw);
    tu_dfree(dv);
}
END_TEST

/* from_host copies every size 1..80 exactly (small whole-word copies to an aligned
 * destination take the kernel-argument path, the rest cudaMemcpyAsync), takes the bytes at
 * the call (the source is overwritten at once), lands after the work queued before it, and
 * a small one returns while that work still runs (the pipelined decode's position copy must
 * not wait for the step before it). */
START_TEST(test_from_host_small)
{
    enum { MAXN = 80 };
    heavy_work hw;
    heavy_init(&hw);
    unsigned char *d = tu_dalloc(MAXN + 8);
    for (size_t off = 0; off <= 2; off += 2)
        for (size_t n = 1; n <= MAXN; n++) {
            unsigned char src[MAXN], want[MAXN + 8], got[MAXN + 8];
            fill(want, sizeof want, (unsigned)(n + 100 * off));
            tu_upload(d, want, sizeof want);
            fill(src, n, (unsigned)(n + 7));
            memcpy(want + off, src, n);
            ck_assert_msg(cu->from_host(&host, d + off, src, n) == 0, "n %zu: %s", n,
                          wrk_error_detail());
            memset(src, 0xEE, sizeof src); /* the copy took the bytes at the call */
            ck_assert_int_eq(cu->synchronize(&host), 0);
            tu_download(got, d, sizeof got);
            ck_assert_msg(memcmp(got, want, sizeof got) == 0, "off %zu n %zu: wrong bytes",
                          off, n);
        }
    /* ordered after the work before it, and not waiting for it */
    int32_t *dv = tu_dalloc(sizeof(int32_t));
    int32_t v = 1234567;
    ck_assert_int_eq(cu->synchronize(&host), 0);
    heavy_queue(&hw);
    ck_assert_int_eq(cu->from_host(&host, dv, &v, sizeof v), 0);
    const cudaError_t busy = cudaStreamQuery((cudaStream_t)host.stream);
    v = -1;
    ck_assert_msg(busy == cudaErrorNotReady,
                  "the stream was idle when from_host returned: it waited for the work "
                  "queued before the copy (cudaStreamQuery: %s)", cudaGetErrorName(busy));
    int32_t got = 0;
    ck_assert_int_eq(cu->to_host(&host, &got, dv, sizeof got), 0);
    ck_assert_int_eq(got, 1234567);
    heavy_free(&hw);
    tu_dfree(dv);
    tu_dfree(d);
}
END_TEST

/* More handles at once than one chunk of the pool holds (it grows), finished in mixed
 * order; the idle pool released and made again; many cycles reuse the slots. */
START_TEST(test_readback_pool)
{
    enum { K = 20 };
    int32_t *d = tu_dalloc(K * sizeof(int32_t));
    int32_t vals[K];
    for (int k = 0; k < K; k++)
        vals[k] = 1000 + 17 * k;
    tu_upload(d, vals, sizeof vals);
    void *h[K];
    for (int k = 0; k < K; k++)
        ck_assert_int_eq(cu->readback_start(&host, d + k, sizeof(int32_t), &h[k]), 0);
    for (int pass = 0; pass < 2; pass++)
        for (int k = pass; k < K; k += 2) {
            int32_t got = -1;
            ck_assert_int_eq(cu->readback_finish(&host, h[k], &got, sizeof got), 0);
            ck_assert_int_eq(got, vals[k]);
        }
    wrk_ops_cuda_release(0);
    for (int i = 0; i < 1000; i++) {
        void *p = NULL;
        int32_t got = -1;
        ck_assert_int_eq(cu->readback_start(&host, d + i % K, sizeof(int32_t), &p), 0);
        ck_assert_int_eq(cu->readback_finish(&host, p, i % 3 ? &got : NULL, sizeof got), 0);
        if (i % 3)
            ck_assert_int_eq(got, vals[i % K]);
    }
    tu_dfree(d);
}
END_TEST

START_TEST(test_readback_bad_arguments)
{
    unsigned char *d = tu_dalloc(WP_READBACK_MAX_BYTES + 1);
    unsigned char buf[WP_READBACK_MAX_BYTES + 1] = { 7 };
    void *h = (void *)buf;
    ck_assert_int_eq(cu->readback_start(&host, d, WP_READBACK_MAX_BYTES + 1, &h),
                     CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_ptr_null(h);
    ck_assert_ptr_nonnull(strstr(wrk_error_detail(), "at most 64"));
    h = (void *)buf;
    ck_assert_int_eq(cu->readback_start(&host, NULL, 4, &h), CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_ptr_null(h);
    ck_assert_int_eq(cu->readback_start(&host, d, 4, NULL), CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_int_eq(cu->readback_finish(&host, NULL, buf, 4), CUDA_ERROR_INVALID_PARAMETER);
    /* not a handle of the pool */
    ck_assert_int_eq(cu->readback_finish(&host, buf, buf, 4), CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_ptr_nonnull(strstr(wrk_error_detail(), "not an outstanding readback"));
    /* another n: refused, the handle released; a second finish of it refused */
    ck_assert_int_eq(cu->readback_start(&host, d, 4, &h), 0);
    ck_assert_int_eq(cu->readback_finish(&host, h, buf, 2), CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_ptr_nonnull(strstr(wrk_error_detail(), "the readback copied 4"));
    ck_assert_int_eq(buf[0], 7);
    ck_assert_int_eq(cu->readback_finish(&host, h, buf, 4), CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_ptr_nonnull(strstr(wrk_error_detail(), "not an outstanding readback"));
    ck_assert_int_eq(cu->synchronize(&host), 0);
    tu_dfree(d);
}
END_TEST

int main(void)
{
    int rc = tu_cuda_host_init(&host);
    if (rc)
        return rc;
    cu = host.ops;
    Suite *s = suite_create("ops_readback_cuda");
    TCase *tc = tcase_create("cuda");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_readback_sizes);
    tcase_add_test(tc, test_readback_stream_order);
    tcase_add_test(tc, test_readback_waits_for_its_copy_only);
    tcase_add_test(tc, test_readback_pool);
    tcase_add_test(tc, test_from_host_small);
    tcase_add_test(tc, test_readback_bad_arguments);
    suite_add_tcase(s, tc);
    return tu_cuda_run_suite(s, &host);
}
