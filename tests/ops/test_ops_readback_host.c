/*
 * test_ops_readback_host.c - wp_ops.readback_start/readback_finish (ABI 1.3) of the reference
 * host set: every size 0..WP_READBACK_MAX_BYTES copied exactly (and not a byte more), the
 * bytes as they were at start even when src changes before finish, several handles out at
 * once finished in any order, dst NULL discarding, the argument checks (n above the limit,
 * NULL src/pending, a finish with another n), and both tables carrying the members. Run it
 * under valgrind (tests/valgrind.supp) to see every handle released, refused finishes too.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "core/wrk_error.h"
#include "ops/ops.h"

static const wp_ops *ops;

/* A recognisable pattern for buffer k. */
static void fill(unsigned char *p, size_t n, unsigned k)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(k * 37u + i * 11u + 1u);
}

/* Each size: exactly n bytes land in dst, the guard byte after them stays. */
START_TEST(test_readback_sizes)
{
    for (size_t n = 0; n <= WP_READBACK_MAX_BYTES; n++) {
        unsigned char src[WP_READBACK_MAX_BYTES], dst[WP_READBACK_MAX_BYTES + 1], want[64];
        fill(src, sizeof src, (unsigned)n);
        memcpy(want, src, sizeof want);
        memset(dst, 0xA5, sizeof dst);
        void *h = (void *)&dst;   /* overwritten */
        ck_assert_int_eq(ops->readback_start(NULL, src, n, &h), 0);
        ck_assert_ptr_nonnull(h);
        ck_assert_int_eq(ops->readback_finish(NULL, h, dst, n), 0);
        ck_assert_msg(memcmp(dst, want, n) == 0, "n %zu: wrong bytes", n);
        for (size_t i = n; i < sizeof dst; i++)
            ck_assert_msg(dst[i] == 0xA5, "n %zu: byte %zu written", n, i);
    }
}
END_TEST

/* The host set takes the bytes at start (its ops before have all run): src overwritten
 * between start and finish does not change them; handles out at once are independent. */
START_TEST(test_readback_outstanding)
{
    enum { K = 6 };
    int32_t src[K][4];
    void *h[K];
    for (unsigned k = 0; k < K; k++) {
        fill((unsigned char *)src[k], sizeof src[k], k);
        ck_assert_int_eq(ops->readback_start(NULL, src[k], sizeof src[k], &h[k]), 0);
    }
    int32_t want[K][4];
    memcpy(want, src, sizeof want);
    memset(src, 0, sizeof src);            /* later work rewrites the sources */
    for (int k = K - 1; k >= 0; k -= 2) {  /* finished out of order */
        int32_t got[4] = { -1, -1, -1, -1 };
        ck_assert_int_eq(ops->readback_finish(NULL, h[k], got, sizeof got), 0);
        ck_assert_int_eq(memcmp(got, want[k], sizeof got), 0);
    }
    for (int k = 0; k < K; k += 2) {
        int32_t got[4];
        if (k == 2) {                      /* discarded */
            ck_assert_int_eq(ops->readback_finish(NULL, h[k], NULL, sizeof got), 0);
            continue;
        }
        ck_assert_int_eq(ops->readback_finish(NULL, h[k], got, sizeof got), 0);
        ck_assert_int_eq(memcmp(got, want[k], sizeof got), 0);
    }
}
END_TEST

START_TEST(test_readback_bad_arguments)
{
    unsigned char buf[WP_READBACK_MAX_BYTES + 1] = { 7 };
    void *h = (void *)buf;
    ck_assert_int_eq(ops->readback_start(NULL, buf, WP_READBACK_MAX_BYTES + 1, &h),
                     CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_ptr_null(h);                              /* no handle from a refused start */
    ck_assert_ptr_nonnull(strstr(wrk_error_detail(), "at most 64"));
    h = (void *)buf;
    ck_assert_int_eq(ops->readback_start(NULL, NULL, 4, &h), CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_ptr_null(h);
    ck_assert_ptr_nonnull(strstr(wrk_error_detail(), "NULL src"));
    ck_assert_int_eq(ops->readback_start(NULL, buf, 4, NULL), CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_ptr_nonnull(strstr(wrk_error_detail(), "NULL pending"));
    ck_assert_int_eq(ops->readback_finish(NULL, NULL, buf, 4), CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_ptr_nonnull(strstr(wrk_error_detail(), "NULL pending"));

    /* a finish with another n than its start's is refused, and the handle released all the
     * same (valgrind sees no leak) */
    int32_t v = 1234, got = -1;
    ck_assert_int_eq(ops->readback_start(NULL, &v, sizeof v, &h), 0);
    ck_assert_int_eq(ops->readback_finish(NULL, h, &got, 2), CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_ptr_nonnull(strstr(wrk_error_detail(), "the readback copied 4"));
    ck_assert_int_eq(got, -1);                          /* nothing written */
    ck_assert_int_eq(ops->readback_start(NULL, &v, sizeof v, &h), 0);
    ck_assert_int_eq(ops->readback_finish(NULL, h, buf, WP_READBACK_MAX_BYTES + 1),
                     CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_int_eq(buf[0], 7);
}
END_TEST

/* Both sets carry the ABI 1.3 members inside their struct_size. */
START_TEST(test_readback_tables)
{
    const size_t end = offsetof(wp_ops, readback_finish) + sizeof(ops->readback_finish);
    ck_assert_uint_ge(WORKER_PLUGIN_ABI_MINOR, 3);
    ck_assert_uint_eq(ops->abi_minor, WORKER_PLUGIN_ABI_MINOR);
    ck_assert_uint_ge(ops->struct_size, end);
    ck_assert(ops->readback_start && ops->readback_finish);
#ifdef HAVE_CUDA
    const wp_ops *cu = wrk_ops_cuda();
    ck_assert_ptr_nonnull(cu);
    ck_assert_uint_eq(cu->abi_minor, WORKER_PLUGIN_ABI_MINOR);
    ck_assert_uint_ge(cu->struct_size, end);
    ck_assert(cu->readback_start && cu->readback_finish);
    ck_assert(cu->readback_start != ops->readback_start);
#endif
}
END_TEST

int main(void)
{
    ops = wrk_ops_host();
    Suite *s = suite_create("ops_readback_host");
    TCase *tc = tcase_create("host");
    tcase_add_test(tc, test_readback_sizes);
    tcase_add_test(tc, test_readback_outstanding);
    tcase_add_test(tc, test_readback_bad_arguments);
    tcase_add_test(tc, test_readback_tables);
    suite_add_tcase(s, tc);
    return check_run_suite(s, 0);
}
