/*
 * test_error.c - error reporting: the thread-local detail (two threads never see each
 * other's), prefixing, the static message table for every code and out-of-range ones,
 * and the version functions.
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "core/wrk_error.h"
#include "worker_ext.h"

static unsigned seed;

struct detail_arg {
    unsigned seed;
    pthread_barrier_t *bar;
    int ok;
};

/* Each thread writes its own random detail, waits for the other to write, then checks
 * that its own detail is still there (thread-local, not shared). */
static void *detail_thread(void *v)
{
    struct detail_arg *a = v;
    char mine[64];
    int code;
    snprintf(mine, sizeof mine, "thread detail %u", a->seed);
    code = wrk_error(CUDA_ERROR_MODEL_LOAD_FAILED, "thread detail %u", a->seed);
    pthread_barrier_wait(a->bar);
    pthread_barrier_wait(a->bar);
    a->ok = code == CUDA_ERROR_MODEL_LOAD_FAILED && strcmp(worker_last_error_detail(), mine) == 0;
    return NULL;
}

START_TEST(test_thread_local)
{
    pthread_barrier_t bar;
    pthread_t t1, t2;
    struct detail_arg a1 = { seed, &bar, 0 }, a2 = { seed ^ 0x5a5a5a5au, &bar, 0 };

    pthread_barrier_init(&bar, NULL, 2);
    wrk_error_clear();
    pthread_create(&t1, NULL, detail_thread, &a1);
    pthread_create(&t2, NULL, detail_thread, &a2);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    pthread_barrier_destroy(&bar);
    ck_assert_int_eq(a1.ok, 1);
    ck_assert_int_eq(a2.ok, 1);
    /* the main thread saw neither */
    ck_assert_str_eq(worker_last_error_detail(), "");
}
END_TEST

START_TEST(test_detail_and_prefix)
{
    char exp[128];
    unsigned off = seed % 100000;
    ck_assert_int_eq(wrk_error(CUDA_ERROR_INVALID_PARAMETER, "tensor %s at offset %u", "blk.0",
                               off), CUDA_ERROR_INVALID_PARAMETER);
    wrk_error_prefix("loading %s: ", "m.gguf");
    snprintf(exp, sizeof exp, "loading m.gguf: tensor blk.0 at offset %u", off);
    ck_assert_str_eq(worker_last_error_detail(), exp);
    ck_assert_ptr_eq(worker_last_error_detail(), wrk_error_detail());
    wrk_error_clear();
    ck_assert_str_eq(worker_last_error_detail(), "");

    /* overlong details are truncated, never overflow */
    char big[3 * WRK_ERROR_DETAIL_MAX];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    wrk_error(CUDA_ERROR_UNKNOWN, "%s", big);
    ck_assert_uint_eq(strlen(wrk_error_detail()), WRK_ERROR_DETAIL_MAX - 1);
    wrk_error_prefix("%s", big);
    ck_assert_uint_eq(strlen(wrk_error_detail()), WRK_ERROR_DETAIL_MAX - 1);
}
END_TEST

START_TEST(test_error_messages)
{
    static const int codes[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 99 };
    const char *seen[10];
    for (int i = 0; i < 10; i++) {
        const char *m = cuda_error_message(codes[i]);
        ck_assert_ptr_nonnull(m);
        ck_assert_uint_gt(strlen(m), 3);
        ck_assert_str_ne(m, "Unrecognized error code");
        for (int j = 0; j < i; j++) ck_assert_str_ne(m, seen[j]);   /* distinct texts */
        seen[i] = m;
    }
    ck_assert_str_eq(cuda_error_message(CUDA_ERROR_UNKNOWN), "Unknown error");
    ck_assert_str_eq(cuda_error_message(CUDA_SUCCESS), "Operation succeeded");
    /* out of range: every gap and far outside */
    const int bad[] = { -1, 9, 10, 42, 98, 100, 1000, -2147483647 - 1, 2147483647 };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_str_eq(cuda_error_message(bad[i]), "Unrecognized error code");
    for (int k = 0; k < 1000; k++) {
        unsigned s = seed + (unsigned)k;
        int c = (int)rand_r(&s) - RAND_MAX / 2;
        const char *m = cuda_error_message(c);
        int known = (c >= 0 && c <= 8) || c == 99;
        ck_assert_int_eq(strcmp(m, "Unrecognized error code") != 0, known);
    }
}
END_TEST

START_TEST(test_versions)
{
    ck_assert_uint_eq(worker_abi_version(),
                      ((uint32_t)WORKER_ABI_VERSION_MAJOR << 16) | WORKER_ABI_VERSION_MINOR);
    ck_assert_str_eq(worker_version_string(), PACKAGE_VERSION);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("error");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;

    seed = (unsigned)time(NULL);
    if (getenv("TEST_SEED")) seed = (unsigned)strtoul(getenv("TEST_SEED"), NULL, 10);
    printf("TEST_SEED=%u\n", seed);
    tcase_add_test(tc, test_thread_local);
    tcase_add_test(tc, test_detail_and_prefix);
    tcase_add_test(tc, test_error_messages);
    tcase_add_test(tc, test_versions);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
