/*
 * test_context.c - contexts without a GPU: the reference host backend, device strings,
 * worker_init_ex with a config file, and the no-GPU behaviour of cuda_init (count 0,
 * CUDA_ERROR_DEVICE_NOT_FOUND with a detail that points at --device host).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/wrk_context.h"
#include "core/wrk_error.h"
#include "core/wrk_vram.h"
#include "worker_ext.h"
#include "capture.h"

static unsigned seed;

START_TEST(test_no_gpu)
{
    int err = -1;
    if (cuda_get_device_count() > 0) return;   /* covered by test_gpu_context on a GPU */
    ck_assert_int_eq(cuda_get_device_count(), 0);
    ck_assert_ptr_null(cuda_init(0, &err));
    ck_assert_int_eq(err, CUDA_ERROR_DEVICE_NOT_FOUND);
    ck_assert_msg(strstr(worker_last_error_detail(), "--device host"),
                  "detail: %s", worker_last_error_detail());
    err = -1;
    ck_assert_ptr_null(worker_init("cuda", &err));
    ck_assert_int_eq(err, CUDA_ERROR_DEVICE_NOT_FOUND);
    err = -1;
    ck_assert_ptr_null(cuda_init((int)(seed % 64), &err));
    ck_assert_int_eq(err, CUDA_ERROR_DEVICE_NOT_FOUND);
    ck_assert_ptr_null(cuda_init(0, NULL));     /* NULL error_code is fine */
}
END_TEST

START_TEST(test_negative_device)
{
    int err = -1;
    unsigned s = seed;
    int dev = -1 - (int)(rand_r(&s) % 1000);
    ck_assert_ptr_null(cuda_init(dev, &err));
    ck_assert_int_eq(err, CUDA_ERROR_INVALID_DEVICE);
    ck_assert_str_ne(worker_last_error_detail(), "");
}
END_TEST

START_TEST(test_bad_device_strings)
{
    static const char *bad[] = { "", "gpu", "cuda:", "cuda:x", "cuda:-1", "cuda:1x",
                                 "cuda:99999999999", "HOST", "host ", " cuda:0", "cuda0",
                                 "cuda:0:1", "hostile" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int err = -1;
        ck_assert_ptr_null(worker_init(bad[i], &err));
        ck_assert_msg(err == CUDA_ERROR_INVALID_PARAMETER, "'%s' gave %d", bad[i], err);
        ck_assert_str_ne(worker_last_error_detail(), "");
    }
    int err = -1;
    ck_assert_ptr_null(worker_init(NULL, &err));
    ck_assert_int_eq(err, CUDA_ERROR_INVALID_PARAMETER);
}
END_TEST

START_TEST(test_host_context)
{
    unsigned s = seed;
    int err = -1, n = 2 + rand_r(&s) % 6;
    uint64_t expect = 0;
    stderr_capture c;
    char *log;
    CudaContext *ctx;

    ck_assert_int_eq(capture_begin(&c), 0);
    ctx = worker_init("host", &err);
    log = capture_end(&c);
    ck_assert_ptr_nonnull(ctx);
    ck_assert_int_eq(err, CUDA_SUCCESS);
    ck_assert_msg(strstr(log, "reference"), "host backend not logged: %s", log);
    free(log);
    ck_assert_int_eq(worker_context_is_host(ctx), 1);
    ck_assert_ptr_nonnull(ctx->acc);
    ck_assert_ptr_nonnull(ctx->plugins);
    err = -1;
    ck_assert(cuda_check_device_health(ctx, &err));
    ck_assert_int_eq(err, CUDA_SUCCESS);
    ck_assert_uint_eq(cuda_get_process_vram_usage(ctx), 0);

    /* process usage is the accountant's total, over all tags */
    for (int i = 0; i < n; i++) {
        size_t b = 1 + (size_t)rand_r(&s) % 100000;
        ck_assert_ptr_nonnull(wrk_vram_alloc(ctx->acc, b, i % WP_MEM_TAG_COUNT, "test"));
        expect += b;
        ck_assert_uint_eq(cuda_get_process_vram_usage(ctx), expect);
    }
    WorkerDeviceInfo di;
    memset(&di, 0, sizeof di);
    ck_assert_int_eq(worker_device_info(ctx, &di), CUDA_ERROR_INVALID_PARAMETER); /* size 0 */
    di.struct_size = sizeof di;
    di.device = 42;
    ck_assert_int_eq(worker_device_info(ctx, &di), 0);
    ck_assert_int_eq(di.is_host, 1);
    ck_assert_int_eq(di.device, -1);
    ck_assert_ptr_nonnull(di.name);
    ck_assert_ptr_nonnull(strstr(di.name, "host"));
    ck_assert_int_eq(di.cuda_runtime_version, 0);
    ck_assert_int_eq(worker_device_info(NULL, &di), CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_int_eq(worker_device_info(ctx, NULL), CUDA_ERROR_INVALID_PARAMETER);

    uint64_t fb = 0, tb = 0;
    ck_assert_int_eq(wrk_device_mem_info(ctx, &fb, &tb), 0);
    ck_assert_uint_gt(tb, 0);
    ck_assert_uint_le(fb, tb);
    cuda_destroy(ctx);   /* frees what is still allocated (valgrind-clean) */
}
END_TEST

/* Write text to a fresh temporary .ini file; returns path. */
static const char *write_ini(char *path, size_t len, const char *text)
{
    int fd;
    snprintf(path, len, "/tmp/wrk-test-ctx-XXXXXX");
    fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

START_TEST(test_init_ex)
{
    WorkerInitOptions o;
    char ini[64], badini[64], bad_text[128];
    int err = -1;
    CudaContext *ctx;
    unsigned s = seed;
    int line = 2 + rand_r(&s) % 5;

    ck_assert_ptr_null(worker_init_ex(NULL, &err));
    ck_assert_int_eq(err, CUDA_ERROR_INVALID_PARAMETER);
    memset(&o, 0, sizeof o);   /* struct_size 0 is refused */
    err = -1;
    ck_assert_ptr_null(worker_init_ex(&o, &err));
    ck_assert_int_eq(err, CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_ptr_nonnull(strstr(worker_last_error_detail(), "struct_size"));

    /* the file picks the device */
    write_ini(ini, sizeof ini, "[runtime]\ndevice = host\n");
    o.struct_size = sizeof o;
    o.config_path = ini;
    err = -1;
    ctx = worker_init_ex(&o, &err);
    ck_assert_ptr_nonnull(ctx);
    ck_assert_int_eq(err, 0);
    ck_assert_int_eq(worker_context_is_host(ctx), 1);
    cuda_destroy(ctx);

    /* options override the file */
    o.device = "no-such-device";
    err = -1;
    ck_assert_ptr_null(worker_init_ex(&o, &err));
    ck_assert_int_eq(err, CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_ptr_nonnull(strstr(worker_last_error_detail(), "no-such-device"));

    /* a bad file is an error naming it */
    o.device = "host";
    char body[256];
    size_t bl;
    /* the bad key sits on a random line, which the detail must name as file:line */
    bl = (size_t)snprintf(body, sizeof body, "[runtime]\n");
    for (int i = 2; i < line; i++) bl += (size_t)snprintf(body + bl, sizeof body - bl, "\n");
    snprintf(body + bl, sizeof body - bl, "bogus_key_%u = 1\n", seed);
    write_ini(badini, sizeof badini, body);
    o.config_path = badini;
    err = -1;
    ck_assert_ptr_null(worker_init_ex(&o, &err));
    ck_assert_int_eq(err, CUDA_ERROR_INVALID_PARAMETER);
    snprintf(bad_text, sizeof bad_text, "%s:%d", badini, line);
    ck_assert_msg(strstr(worker_last_error_detail(), bad_text), "want %s in detail: %s",
                  bad_text, worker_last_error_detail());

    o.config_path = "/nonexistent/dir/worker-orcd.ini";
    err = -1;
    ck_assert_ptr_null(worker_init_ex(&o, &err));
    ck_assert_int_eq(err, CUDA_ERROR_INVALID_PARAMETER);
    unlink(ini);
    unlink(badini);

    /* a plugin path in the options is accepted (a directory without plugins) */
    memset(&o, 0, sizeof o);
    o.struct_size = sizeof o;
    o.device = "host";
    o.plugin_path = "/nonexistent-a:/nonexistent-b";
    err = -1;
    ctx = worker_init_ex(&o, &err);
    ck_assert_ptr_nonnull(ctx);
    cuda_destroy(ctx);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("context");
    TCase *tc = tcase_create("host");
    SRunner *sr;
    int failed;

    seed = (unsigned)time(NULL);
    if (getenv("TEST_SEED")) seed = (unsigned)strtoul(getenv("TEST_SEED"), NULL, 10);
    printf("TEST_SEED=%u\n", seed);
    tcase_add_test(tc, test_no_gpu);
    tcase_add_test(tc, test_negative_device);
    tcase_add_test(tc, test_bad_device_strings);
    tcase_add_test(tc, test_host_context);
    tcase_add_test(tc, test_init_ex);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
