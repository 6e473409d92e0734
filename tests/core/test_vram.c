/*
 * test_vram.c - the VRAM accountant on the reference host backend: tags, totals, frees,
 * the limit hook and its OOM detail, the leak report, residency, concurrent use.
 * Sizes and tags are random (seed printed) so nothing is hard-coded.
 */
#include <check.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/wrk_error.h"
#include "core/wrk_vram.h"
#include "capture.h"

static unsigned seed;

/* A random size in [1, max], never a multiple-of-64 assumption. */
static size_t rand_size(unsigned *s, size_t max)
{
    return 1 + (size_t)rand_r(s) % max;
}

START_TEST(test_tags_and_totals)
{
    enum { N = 200 };
    unsigned s = seed;
    wrk_accountant *acc = wrk_accountant_new(WP_BACKEND_HOST, 0);
    void *p[N];
    size_t sz[N];
    int tag[N];
    uint64_t exp_total = 0, exp_tag[WP_MEM_TAG_COUNT] = { 0 };

    ck_assert_ptr_nonnull(acc);
    ck_assert_uint_eq(wrk_vram_total(acc), 0);
    for (int i = 0; i < N; i++) {
        char what[32];
        sz[i] = rand_size(&s, 100000);
        tag[i] = rand_r(&s) % WP_MEM_TAG_COUNT;
        snprintf(what, sizeof what, "blk.%d", i);
        p[i] = wrk_vram_alloc(acc, sz[i], tag[i], what);
        ck_assert_ptr_nonnull(p[i]);
        ck_assert_uint_eq((uintptr_t)p[i] % 64, 0);
        memset(p[i], i & 0xff, sz[i]);    /* the whole block is usable */
        exp_total += sz[i];
        exp_tag[tag[i]] += sz[i];
    }
    ck_assert_uint_eq(wrk_vram_total(acc), exp_total);
    for (int t = 0; t < WP_MEM_TAG_COUNT; t++)
        ck_assert_uint_eq(wrk_vram_tagged(acc, t), exp_tag[t]);
    ck_assert_uint_eq(wrk_vram_count(acc), N);
    ck_assert_int_eq(wrk_vram_check_residency(acc), 0);

    /* free a random half, in random order */
    for (int k = 0; k < N; k++) {
        int i = rand_r(&s) % N;
        if (!p[i]) continue;
        ck_assert_uint_eq(((unsigned char *)p[i])[sz[i] - 1], (unsigned)(i & 0xff));
        wrk_vram_free(acc, p[i]);
        p[i] = NULL;
        exp_total -= sz[i];
        exp_tag[tag[i]] -= sz[i];
        ck_assert_uint_eq(wrk_vram_total(acc), exp_total);
    }
    for (int t = 0; t < WP_MEM_TAG_COUNT; t++)
        ck_assert_uint_eq(wrk_vram_tagged(acc, t), exp_tag[t]);
    ck_assert_int_eq(wrk_vram_check_residency(acc), 0);
    for (int i = 0; i < N; i++) wrk_vram_free(acc, p[i]);   /* NULLs are ignored */
    ck_assert_uint_eq(wrk_vram_total(acc), 0);
    ck_assert_uint_eq(wrk_vram_count(acc), 0);
    for (int t = 0; t < WP_MEM_TAG_COUNT; t++) ck_assert_uint_eq(wrk_vram_tagged(acc, t), 0);
    wrk_accountant_free(acc);
}
END_TEST

START_TEST(test_bad_arguments)
{
    wrk_accountant *acc = wrk_accountant_new(WP_BACKEND_HOST, 0);
    stderr_capture c;
    char *log;
    int dummy;

    ck_assert_ptr_nonnull(acc);
    wrk_error_clear();
    ck_assert_ptr_null(wrk_vram_alloc(acc, 0, WP_MEM_SCRATCH, "zero"));
    ck_assert_ptr_nonnull(strstr(wrk_error_detail(), "zero"));
    ck_assert_ptr_null(wrk_vram_alloc(acc, 16, WP_MEM_TAG_COUNT, "badtag"));
    ck_assert_ptr_nonnull(strstr(wrk_error_detail(), "badtag"));
    ck_assert_ptr_null(wrk_vram_alloc(acc, 16, -1, "negtag"));
    ck_assert_ptr_null(wrk_vram_alloc(NULL, 16, WP_MEM_SCRATCH, "noacc"));
    ck_assert_ptr_null(wrk_accountant_new(7, 0));
    ck_assert_uint_eq(wrk_vram_total(NULL), 0);
    ck_assert_uint_eq(wrk_vram_count(NULL), 0);
    ck_assert_uint_eq(wrk_vram_tagged(acc, 99), 0);
    ck_assert_int_eq(wrk_vram_check_residency(NULL), CUDA_ERROR_INVALID_PARAMETER);
    wrk_vram_set_limit(NULL, 5);
    wrk_accountant_free(NULL);

    /* unknown pointers are logged and ignored, the books stay right */
    void *p = wrk_vram_alloc(acc, 1000 + seed % 1000, WP_MEM_WEIGHTS, "w");
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(capture_begin(&c), 0);
    wrk_vram_free(acc, &dummy);
    log = capture_end(&c);
    ck_assert_ptr_nonnull(strstr(log, "unknown pointer"));
    free(log);
    ck_assert_uint_eq(wrk_vram_total(acc), 1000 + seed % 1000);
    wrk_vram_free(acc, p);
    ck_assert_uint_eq(wrk_vram_total(acc), 0);
    wrk_accountant_free(acc);
}
END_TEST

START_TEST(test_limit_oom)
{
    unsigned s = seed;
    wrk_accountant *acc = wrk_accountant_new(WP_BACKEND_HOST, 0);
    uint64_t limit = 10000 + (uint64_t)rand_r(&s) % 100000;
    size_t first = (size_t)(limit / 2 + (uint64_t)rand_r(&s) % (limit / 4));
    size_t second = (size_t)(limit - first + 1 + (uint64_t)rand_r(&s) % 100);
    char need[64], left[64];
    void *a, *b;

    ck_assert_ptr_nonnull(acc);
    wrk_vram_set_limit(acc, limit);
    a = wrk_vram_alloc(acc, first, WP_MEM_WEIGHTS, "token_embd.weight");
    ck_assert_ptr_nonnull(a);
    wrk_error_clear();
    b = wrk_vram_alloc(acc, second, WP_MEM_KV_CACHE, "kv cache layer 3");
    ck_assert_ptr_null(b);
    /* the detail names what, how much was needed and how much was free */
    snprintf(need, sizeof need, "need %zu bytes", second);
    snprintf(left, sizeof left, "%" PRIu64 " free", limit - first);
    ck_assert_msg(strstr(wrk_error_detail(), need), "detail: %s", wrk_error_detail());
    ck_assert_msg(strstr(wrk_error_detail(), left), "detail: %s", wrk_error_detail());
    ck_assert_ptr_nonnull(strstr(wrk_error_detail(), "kv cache layer 3"));
    ck_assert_uint_eq(wrk_vram_total(acc), first);      /* the failed one is not counted */
    ck_assert_uint_eq(wrk_vram_tagged(acc, WP_MEM_KV_CACHE), 0);

    /* exactly the remainder still fits */
    b = wrk_vram_alloc(acc, (size_t)(limit - first), WP_MEM_SCRATCH, "rest");
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(wrk_vram_total(acc), limit);
    ck_assert_ptr_null(wrk_vram_alloc(acc, 1, WP_MEM_SCRATCH, "one more"));
    /* a huge request must not overflow the limit arithmetic */
    ck_assert_ptr_null(wrk_vram_alloc(acc, SIZE_MAX, WP_MEM_SCRATCH, "huge"));
    wrk_vram_free(acc, a);
    a = wrk_vram_alloc(acc, first, WP_MEM_WEIGHTS, "again");
    ck_assert_ptr_nonnull(a);
    /* limit 0 lifts it */
    wrk_vram_set_limit(acc, 0);
    void *c = wrk_vram_alloc(acc, (size_t)limit, WP_MEM_SCRATCH, "unlimited");
    ck_assert_ptr_nonnull(c);
    wrk_vram_free(acc, a);
    wrk_vram_free(acc, b);
    wrk_vram_free(acc, c);
    wrk_accountant_free(acc);
}
END_TEST

START_TEST(test_env_limit)
{
    unsigned s = seed;
    unsigned limit = 4096 + (unsigned)rand_r(&s) % 4096;
    char buf[32];
    wrk_accountant *acc;

    snprintf(buf, sizeof buf, "%u", limit);
    setenv("WORKER_VRAM_LIMIT_BYTES", buf, 1);
    acc = wrk_accountant_new(WP_BACKEND_HOST, 0);
    unsetenv("WORKER_VRAM_LIMIT_BYTES");
    ck_assert_ptr_nonnull(acc);
    ck_assert_ptr_null(wrk_vram_alloc(acc, limit + 1, WP_MEM_WEIGHTS, "over"));
    ck_assert_int_eq(strstr(wrk_error_detail(), "WORKER_VRAM_LIMIT_BYTES") != NULL, 1);
    void *p = wrk_vram_alloc(acc, limit, WP_MEM_WEIGHTS, "at");
    ck_assert_ptr_nonnull(p);
    wrk_vram_free(acc, p);
    wrk_accountant_free(acc);

    /* malformed values are ignored (no limit) */
    setenv("WORKER_VRAM_LIMIT_BYTES", "12abc", 1);
    acc = wrk_accountant_new(WP_BACKEND_HOST, 0);
    unsetenv("WORKER_VRAM_LIMIT_BYTES");
    p = wrk_vram_alloc(acc, limit * 4, WP_MEM_WEIGHTS, "fine");
    ck_assert_ptr_nonnull(p);
    wrk_vram_free(acc, p);
    wrk_accountant_free(acc);
}
END_TEST

START_TEST(test_leak_report)
{
    unsigned s = seed;
    int n = 3 + rand_r(&s) % 5;
    wrk_accountant *acc = wrk_accountant_new(WP_BACKEND_HOST, 0);
    stderr_capture c;
    char *log;

    ck_assert_ptr_nonnull(acc);
    for (int i = 0; i < n; i++) {
        char what[32];
        snprintf(what, sizeof what, "leaky.%d", i);
        ck_assert_ptr_nonnull(wrk_vram_alloc(acc, rand_size(&s, 5000), i % 3, what));
    }
    void *freed = wrk_vram_alloc(acc, 77, WP_MEM_SCRATCH, "not-leaked");
    wrk_vram_free(acc, freed);
    ck_assert_int_eq(capture_begin(&c), 0);
    wrk_accountant_free(acc);   /* logs each leak and frees it (valgrind-clean) */
    log = capture_end(&c);
    ck_assert_int_eq(count_occurrences(log, "leak:"), n);
    for (int i = 0; i < n; i++) {
        char what[32];
        snprintf(what, sizeof what, "leaky.%d", i);
        ck_assert_msg(strstr(log, what), "missing %s in: %s", what, log);
    }
    ck_assert_ptr_null(strstr(log, "not-leaked"));
    free(log);
}
END_TEST

struct thread_arg { wrk_accountant *acc; unsigned seed; uint64_t kept; void *keep[64]; int nk; };

/* Allocate and free at random, keep some; report what was kept. */
static void *hammer(void *v)
{
    struct thread_arg *a = v;
    size_t ksz[64];
    int nk = 0;
    for (int i = 0; i < 2000; i++) {
        size_t sz = rand_size(&a->seed, 4096);
        void *p = wrk_vram_alloc(a->acc, sz, rand_r(&a->seed) % WP_MEM_TAG_COUNT, "t");
        if (!p) return (void *)1;
        if (nk < 64 && rand_r(&a->seed) % 16 == 0) { a->keep[nk] = p; ksz[nk++] = sz; }
        else wrk_vram_free(a->acc, p);
    }
    a->kept = 0;
    a->nk = nk;
    for (int i = 0; i < nk; i++) a->kept += ksz[i];
    return NULL;
}

START_TEST(test_threads)
{
    enum { T = 4 };
    wrk_accountant *acc = wrk_accountant_new(WP_BACKEND_HOST, 0);
    pthread_t th[T];
    struct thread_arg arg[T];
    uint64_t kept = 0;

    for (int i = 0; i < T; i++) {
        arg[i].acc = acc;
        arg[i].seed = seed + (unsigned)i * 7919u;
        ck_assert_int_eq(pthread_create(&th[i], NULL, hammer, &arg[i]), 0);
    }
    for (int i = 0; i < T; i++) {
        void *r;
        pthread_join(th[i], &r);
        ck_assert_ptr_null(r);
        kept += arg[i].kept;
    }
    ck_assert_uint_eq(wrk_vram_total(acc), kept);
    ck_assert_int_eq(wrk_vram_check_residency(acc), 0);
    for (int i = 0; i < T; i++)
        for (int k = 0; k < arg[i].nk; k++) wrk_vram_free(acc, arg[i].keep[k]);
    ck_assert_uint_eq(wrk_vram_total(acc), 0);
    ck_assert_uint_eq(wrk_vram_count(acc), 0);
    wrk_accountant_free(acc);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("vram");
    TCase *tc = tcase_create("host");
    SRunner *sr;
    int failed;

    seed = (unsigned)time(NULL);
    if (getenv("TEST_SEED")) seed = (unsigned)strtoul(getenv("TEST_SEED"), NULL, 10);
    printf("TEST_SEED=%u\n", seed);
    tcase_add_test(tc, test_tags_and_totals);
    tcase_add_test(tc, test_bad_arguments);
    tcase_add_test(tc, test_limit_oom);
    tcase_add_test(tc, test_env_limit);
    tcase_add_test(tc, test_leak_report);
    tcase_add_test(tc, test_threads);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
