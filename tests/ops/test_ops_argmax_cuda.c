/*
 * test_ops_argmax_cuda.c - wp_ops.argmax (ABI 1.2) of the CUDA set against the host set
 * (itself checked against the sampler by test_ops_argmax_host) on every kind of
 * argmax_cases.h (random, ties, NaN, -inf, +inf, all NaN, all -inf, signed zeros) at
 * n = 1, 7, 1000, 4099, 128256 and 2^18, from an unaligned start too; out poisoned first;
 * the op recorded in a graph and replayed over changed inputs (it must allocate nothing
 * and not synchronise); argument checks. Exits 77 (SKIP) without a CUDA device.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "argmax_cases.h"
#include "core/wrk_error.h"
#include "ops/ops.h"
#include "ops_cudahost.h"
#include "ops_cudasuite.h"

static wp_host host;
static const wp_ops *cu;

/* x[0..n) uploaded at offset floats into a fresh device buffer, the CUDA argmax downloaded
 * (out poisoned first so a missing write shows). */
static int32_t cuda_argmax_at(const float *x, size_t n, size_t offset)
{
    float *d = tu_dalloc((n + offset) * sizeof(float));
    int32_t *dout = tu_dalloc(sizeof(int32_t)), got = -1;
    tu_poison(dout, sizeof(int32_t));
    tu_upload(d + offset, x, n * sizeof(float));
    int rc = cu->argmax(&host, d + offset, (int)n, dout);
    ck_assert_msg(rc == 0, "cuda argmax: %s", wrk_error_detail());
    ck_assert_int_eq(cu->to_host(&host, &got, dout, sizeof got), 0);
    tu_dfree(d);
    tu_dfree(dout);
    return got;
}

/* The CUDA side of argmax_case_compare: seed 3 from an odd offset. */
static int32_t cuda_argmax(const float *x, size_t n, uint64_t seed)
{
    return cuda_argmax_at(x, n, seed == 3 ? 1 : 0);
}

/* Loop index: kind * ARGMAX_N_SIZES + size; three seeds, the third from an odd offset. */
START_TEST(test_argmax_matches_host)
{
    argmax_case_compare(_i, cuda_argmax, "cuda", argmax_case_host, "host");
}
END_TEST

/* Recorded once, replayed over three different arrays in the same buffer: each replay
 * gives that array's answer (the op reads x at run time, keeps no state, and could be
 * captured, i.e. allocated and synchronised nothing). */
START_TEST(test_argmax_graph)
{
    const size_t n = 128256;
    float *x = malloc(n * sizeof(float));
    float *d = tu_dalloc(n * sizeof(float));
    int32_t *dout = tu_dalloc(sizeof(int32_t));
    void *graph = NULL;
    ck_assert_ptr_nonnull(x);
    ck_assert_int_eq(cu->graph_begin(&host), 0);
    ck_assert_int_eq(cu->argmax(&host, d, (int)n, dout), 0);
    ck_assert_msg(cu->graph_end(&host, &graph) == 0, "graph_end: %s", wrk_error_detail());
    ck_assert_ptr_nonnull(graph);
    const int kinds[] = { AC_RANDOM, AC_POS_INF, AC_TIES, AC_ALL_NAN, AC_NAN };
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        argmax_case_fill(kinds[k], x, n, 77 + k);
        tu_upload(d, x, n * sizeof(float));
        tu_poison(dout, sizeof(int32_t));
        ck_assert_int_eq(cu->graph_launch(&host, graph), 0);
        int32_t got = -1;
        ck_assert_int_eq(cu->to_host(&host, &got, dout, sizeof got), 0);
        const int32_t want = argmax_case_host(x, n, 0);
        ck_assert_msg(got == want, "replay %zu (%s): cuda %d, host %d", k,
                      argmax_case_name(kinds[k]), got, want);
    }
    cu->graph_free(&host, graph);
    tu_dfree(d);
    tu_dfree(dout);
    free(x);
}
END_TEST

START_TEST(test_argmax_bad_arguments)
{
    float *d = tu_dalloc(4 * sizeof(float));
    int32_t *dout = tu_dalloc(sizeof(int32_t));
    ck_assert_int_eq(cu->argmax(&host, d, 0, dout), CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_ptr_nonnull(strstr(wrk_error_detail(), "argmax"));
    ck_assert_int_eq(cu->argmax(&host, NULL, 4, dout), CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_int_eq(cu->argmax(&host, d, 4, NULL), CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_int_eq(cu->synchronize(&host), 0);
    tu_dfree(d);
    tu_dfree(dout);
}
END_TEST

int main(void)
{
    int rc = tu_cuda_host_init(&host);
    if (rc)
        return rc;
    cu = host.ops;
    Suite *s = suite_create("ops_argmax_cuda");
    TCase *tc = tcase_create("cuda");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_argmax_matches_host, 0, AC_COUNT * ARGMAX_N_SIZES);
    tcase_add_test(tc, test_argmax_graph);
    tcase_add_test(tc, test_argmax_bad_arguments);
    suite_add_tcase(s, tc);
    return tu_cuda_run_suite(s, &host);
}
