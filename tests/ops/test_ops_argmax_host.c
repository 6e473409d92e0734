/*
 * test_ops_argmax_host.c - wp_ops.argmax (ABI 1.2) of the reference host set against the
 * sampler's greedy choice (wrk_sampler_sample at temperature 0), which the device path of
 * greedy decoding must reproduce bit for bit: every kind of argmax_cases.h (random, ties,
 * NaN, -inf, +inf, all NaN, all -inf, signed zeros) at n = 1, small, 128256 and 2^18;
 * argument checks; the table entry.
 */
#include "config.h"

#include <check.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "argmax_cases.h"
#include "core/wrk_error.h"
#include "ops/ops.h"
#include "text/sampler.h"

static const wp_ops *ops;

/* The id the host sampler picks greedily (on a copy: the sampler may modify its input). */
static int32_t sampler_greedy(const float *x, size_t n, uint64_t seed)
{
    (void)seed;
    wrk_sampler_params p = { .temperature = 0.0f, .top_k = 0, .top_p = 1.0f, .min_p = 0.0f,
                             .repetition_penalty = 1.0f, .seed = 1 };
    wrk_sampler *s = wrk_sampler_new(&p, (uint32_t)n);
    float *copy = malloc(n * sizeof(float));
    ck_assert_ptr_nonnull(s);
    ck_assert_ptr_nonnull(copy);
    ck_assert(wrk_sampler_is_greedy(s));
    memcpy(copy, x, n * sizeof(float));
    int32_t id = wrk_sampler_sample(s, copy);
    free(copy);
    wrk_sampler_free(s);
    return id;
}

/* Loop index: kind * ARGMAX_N_SIZES + size, three seeds each. */
START_TEST(test_argmax_matches_sampler)
{
    argmax_case_compare(_i, argmax_case_host, "argmax", sampler_greedy, "sampler");
}
END_TEST

/* The rule spelled out on small arrays, so a change of the sampler cannot silently move
 * both sides at once. */
START_TEST(test_argmax_rule)
{
    struct { float x[5]; int n; int32_t want; } c[] = {
        { { 1, 3, 3, 2, 0 }, 5, 1 },                                  /* lowest id on ties */
        { { NAN, 1, NAN, 2, NAN }, 5, 3 },                            /* NaN ignored */
        { { NAN, NAN, NAN, NAN, NAN }, 5, 0 },                        /* all NaN: 0 */
        { { -INFINITY, -INFINITY, NAN, -INFINITY, NAN }, 5, 0 },      /* nothing above -inf */
        { { NAN, -INFINITY, -3, NAN, -2 }, 5, 4 },
        { { 1, INFINITY, NAN, INFINITY, 5 }, 5, 1 },                  /* first +inf */
        { { -1, -0.0f, 0.0f, -2, 0.0f }, 5, 1 },                      /* -0 == +0 */
        { { -1, 0.0f, -0.0f, -2, 0.0f }, 5, 1 },
        { { 7 }, 1, 0 },
        { { NAN }, 1, 0 },
        { { -INFINITY }, 1, 0 },
        { { -FLT_MAX, -INFINITY, -FLT_MAX }, 3, 0 },
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        int32_t got = -1;
        ck_assert_int_eq(ops->argmax(NULL, c[i].x, c[i].n, &got), 0);
        ck_assert_msg(got == c[i].want, "case %zu: argmax %d, want %d", i, got, c[i].want);
        ck_assert_int_eq(sampler_greedy(c[i].x, (size_t)c[i].n, 0), c[i].want);
    }
}
END_TEST

START_TEST(test_argmax_bad_arguments)
{
    float x[4] = { 1, 2, 3, 4 };
    int32_t out = 123;
    ck_assert_int_eq(ops->argmax(NULL, x, 0, &out), CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_ptr_nonnull(strstr(wrk_error_detail(), "argmax"));
    ck_assert_int_eq(ops->argmax(NULL, x, -1, &out), CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_int_eq(ops->argmax(NULL, NULL, 4, &out), CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_int_eq(ops->argmax(NULL, x, 4, NULL), CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_int_eq(out, 123); /* a refused call writes nothing */
}
END_TEST

/* The ABI 1.2 member is in both tables, inside their struct_size. */
START_TEST(test_argmax_in_table)
{
    ck_assert_uint_eq(ops->abi_minor, WORKER_PLUGIN_ABI_MINOR);
    ck_assert_uint_ge(WORKER_PLUGIN_ABI_MINOR, 2);
    ck_assert_uint_ge(ops->struct_size, offsetof(wp_ops, argmax) + sizeof(ops->argmax));
    ck_assert_ptr_nonnull(ops->argmax);
#ifdef HAVE_CUDA
    const wp_ops *cu = wrk_ops_cuda();
    ck_assert_uint_ge(cu->struct_size, offsetof(wp_ops, argmax) + sizeof(cu->argmax));
    ck_assert_ptr_nonnull(cu->argmax);
#endif
}
END_TEST

int main(void)
{
    ops = wrk_ops_host();
    Suite *s = suite_create("ops_argmax_host");
    TCase *tc = tcase_create("host");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_argmax_in_table);
    tcase_add_test(tc, test_argmax_rule);
    tcase_add_loop_test(tc, test_argmax_matches_sampler, 0, AC_COUNT * ARGMAX_N_SIZES);
    tcase_add_test(tc, test_argmax_bad_arguments);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    const int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
