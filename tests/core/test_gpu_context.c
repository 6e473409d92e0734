/*
 * test_gpu_context.c - CUDA contexts on a real GPU (exits 77, automake SKIP, without one):
 * init, heap limit 0 after init, health, device memory back to its baseline after destroy,
 * invalid ordinals -> CUDA_ERROR_INVALID_DEVICE, residency of accountant allocations.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#ifdef HAVE_CUDA
#include <cuda_runtime_api.h>
#endif

#include "core/wrk_context.h"
#include "core/wrk_error.h"
#include "core/wrk_vram.h"
#include "worker_ext.h"

#ifdef HAVE_CUDA
static unsigned seed;

/* cudaMemGetInfo moves in 2 MiB pages; what we allocate is far bigger than this slack. */
#define MEM_SLACK (8u << 20)

/* Free device memory now (device 0). */
static size_t free_mem(void)
{
    size_t f = 0, t = 0;
    ck_assert_int_eq(cudaSetDevice(0), cudaSuccess);
    ck_assert_int_eq(cudaMemGetInfo(&f, &t), cudaSuccess);
    return f;
}

START_TEST(test_init_and_heap_limit)
{
    int err = -1;
    size_t heap = 12345;
    CudaContext *ctx = cuda_init(0, &err);
    ck_assert_msg(ctx != NULL, "cuda_init: %s", worker_last_error_detail());
    ck_assert_int_eq(err, CUDA_SUCCESS);
    ck_assert_int_eq(worker_context_is_host(ctx), 0);
    ck_assert_ptr_nonnull(ctx->stream);
    ck_assert_ptr_nonnull(ctx->cublas);
    ck_assert_uint_gt(strlen(ctx->device_name), 0);
    ck_assert_int_ge(ctx->sm_major, 1);
    ck_assert_int_eq(cudaDeviceGetLimit(&heap, cudaLimitMallocHeapSize), cudaSuccess);
    /* We ask for 0; the driver grants its minimum (4 MiB on H100/driver 580), below the
     * 8 MiB default. */
    ck_assert_uint_le(heap, 4u << 20);
    err = -1;
    ck_assert(cuda_check_device_health(ctx, &err));
    ck_assert_int_eq(err, CUDA_SUCCESS);
    ck_assert_uint_eq(cuda_get_process_vram_usage(ctx), 0);

    WorkerDeviceInfo di;
    struct cudaDeviceProp prop;
    int rt = 0;
    memset(&di, 0, sizeof di);
    di.struct_size = sizeof di;
    ck_assert_int_eq(worker_device_info(ctx, &di), 0);
    ck_assert_int_eq(cudaGetDeviceProperties(&prop, 0), cudaSuccess);
    ck_assert_int_eq(cudaRuntimeGetVersion(&rt), cudaSuccess);
    ck_assert_int_eq(di.is_host, 0);
    ck_assert_int_eq(di.device, 0);
    ck_assert_str_eq(di.name, prop.name);
    ck_assert_int_eq(di.sm_major, prop.major);
    ck_assert_int_eq(di.sm_minor, prop.minor);
    ck_assert_int_eq(di.cuda_runtime_version, rt);
    cuda_destroy(ctx);

    /* "cuda" and "cuda:0" are the same device */
    err = -1;
    ctx = worker_init("cuda", &err);
    ck_assert_ptr_nonnull(ctx);
    ck_assert_int_eq(ctx->device, 0);
    cuda_destroy(ctx);
}
END_TEST

START_TEST(test_invalid_device)
{
    int n = cuda_get_device_count(), err = -1;
    unsigned s = seed;
    char dev[32];
    ck_assert_int_gt(n, 0);
    ck_assert_ptr_null(cuda_init(n, &err));
    ck_assert_int_eq(err, CUDA_ERROR_INVALID_DEVICE);
    ck_assert_str_ne(worker_last_error_detail(), "");
    err = -1;
    ck_assert_ptr_null(cuda_init(n + 1 + (int)(rand_r(&s) % 1000), &err));
    ck_assert_int_eq(err, CUDA_ERROR_INVALID_DEVICE);
    err = -1;
    ck_assert_ptr_null(cuda_init(-1, &err));
    ck_assert_int_eq(err, CUDA_ERROR_INVALID_DEVICE);
    snprintf(dev, sizeof dev, "cuda:%d", n + (int)(rand_r(&s) % 7));
    err = -1;
    ck_assert_ptr_null(worker_init(dev, &err));
    ck_assert_int_eq(err, CUDA_ERROR_INVALID_DEVICE);
    /* a failed init leaves the device usable */
    CudaContext *ctx = cuda_init(0, &err);
    ck_assert_ptr_nonnull(ctx);
    cuda_destroy(ctx);
}
END_TEST

START_TEST(test_vram_baseline_and_residency)
{
    unsigned s = seed;
    int err = -1, n = 3 + rand_r(&s) % 5;
    void *p[8];
    size_t total = 0;
    CudaContext *ctx;
    size_t base, during, after;

    /* warm up: the primary context and cuBLAS's one-time state are not per-context */
    ctx = cuda_init(0, &err);
    ck_assert_ptr_nonnull(ctx);
    cuda_destroy(ctx);
    base = free_mem();

    ctx = cuda_init(0, &err);
    ck_assert_ptr_nonnull(ctx);
    for (int i = 0; i < n; i++) {
        size_t b = (32u << 20) + (size_t)rand_r(&s) % (16u << 20);
        p[i] = wrk_vram_alloc(ctx->acc, b, i % WP_MEM_TAG_COUNT, "gpu test block");
        ck_assert_msg(p[i] != NULL, "alloc: %s", worker_last_error_detail());
        ck_assert_int_eq(cudaMemset(p[i], 0x5a, b), cudaSuccess);
        total += b;
    }
    ck_assert_uint_eq(cuda_get_process_vram_usage(ctx), total);
    ck_assert_int_eq(wrk_vram_check_residency(ctx->acc), 0);
    during = free_mem();
    ck_assert_uint_le(during + total - MEM_SLACK, base);
    err = -1;
    ck_assert(cuda_check_device_health(ctx, &err));
    /* free one, leave the rest for cuda_destroy to reclaim (the leak path) */
    wrk_vram_free(ctx->acc, p[0]);
    cuda_destroy(ctx);
    after = free_mem();
    ck_assert_msg(after + MEM_SLACK >= base, "free before %zu, after destroy %zu", base, after);
}
END_TEST

START_TEST(test_oom_detail)
{
    int err = -1;
    size_t f = free_mem();
    CudaContext *ctx = cuda_init(0, &err);
    ck_assert_ptr_nonnull(ctx);
    /* more than the whole device: cudaMalloc fails, the accountant reports it */
    ck_assert_ptr_null(wrk_vram_alloc(ctx->acc, f * 2 + (1u << 30), WP_MEM_WEIGHTS, "too big"));
    ck_assert_ptr_nonnull(strstr(worker_last_error_detail(), "too big"));
    ck_assert_ptr_nonnull(strstr(worker_last_error_detail(), "free"));
    err = -1;
    ck_assert(cuda_check_device_health(ctx, &err));   /* a failed cudaMalloc is not sticky */
    ck_assert_uint_eq(cuda_get_process_vram_usage(ctx), 0);
    cuda_destroy(ctx);
}
END_TEST
#endif

int main(void)
{
#ifdef HAVE_CUDA
    Suite *s;
    TCase *tc;
    SRunner *sr;
    int failed;

    if (cuda_get_device_count() == 0) {
        printf("no CUDA device: skipped\n");
        return 77;
    }
    seed = (unsigned)time(NULL);
    if (getenv("TEST_SEED")) seed = (unsigned)strtoul(getenv("TEST_SEED"), NULL, 10);
    printf("TEST_SEED=%u\n", seed);
    s = suite_create("gpu_context");
    tc = tcase_create("cuda");
    tcase_add_test(tc, test_init_and_heap_limit);
    tcase_add_test(tc, test_invalid_device);
    tcase_add_test(tc, test_vram_baseline_and_residency);
    tcase_add_test(tc, test_oom_detail);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    /* CUDA and fork() do not mix: run in-process (no test touches the device before main). */
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
#else
    printf("built without CUDA: skipped\n");
    return 77;
#endif
}
