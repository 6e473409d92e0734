/*
 * test_ffi_null.c - every public function of worker_ffi.h / worker_ext.h takes NULL for
 * each pointer argument without crashing, reports CUDA_ERROR_INVALID_PARAMETER (or its
 * documented neutral value), leaves a detail, and accepts a NULL error_code.
 * The model/inference functions are called with NULL handles and with a live host context.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "worker_ext.h"

/* Assert err was set to INVALID_PARAMETER and a detail was left. */
#define EXPECT_INVALID(err) do { \
        ck_assert_int_eq((err), CUDA_ERROR_INVALID_PARAMETER); \
        ck_assert_str_ne(worker_last_error_detail(), ""); \
        (err) = -1; \
    } while (0)

static unsigned seed;

START_TEST(test_context_functions)
{
    int err = -1;
    ck_assert_ptr_null(worker_init(NULL, &err));
    EXPECT_INVALID(err);
    ck_assert_ptr_null(worker_init(NULL, NULL));
    ck_assert_ptr_null(worker_init_ex(NULL, &err));
    EXPECT_INVALID(err);
    ck_assert_ptr_null(worker_init_ex(NULL, NULL));
    cuda_destroy(NULL);
    ck_assert_int_ge(cuda_get_device_count(), 0);
    ck_assert(!cuda_check_device_health(NULL, &err));
    EXPECT_INVALID(err);
    ck_assert(!cuda_check_device_health(NULL, NULL));
    ck_assert_uint_eq(cuda_get_process_vram_usage(NULL), 0);
    ck_assert_int_eq(worker_context_is_host(NULL), -1);
    ck_assert_int_eq(worker_device_info(NULL, NULL), CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_ptr_nonnull(cuda_error_message((int)seed));
    ck_assert_ptr_nonnull(worker_version_string());
    ck_assert_ptr_nonnull(worker_last_error_detail());
    ck_assert_uint_ne(worker_abi_version(), 0);
}
END_TEST

START_TEST(test_model_functions_null)
{
    int err = -1;
    uint64_t used = 12345;
    ck_assert_ptr_null(cuda_load_model(NULL, "/tmp/x.gguf", &used, &err));
    EXPECT_INVALID(err);
    ck_assert_ptr_null(cuda_load_model(NULL, NULL, NULL, NULL));
    cuda_unload_model(NULL);
    ck_assert_uint_eq(cuda_model_get_vram_usage(NULL), 0);
    ck_assert_uint_eq(cuda_get_vram_usage(NULL), 0);
    ck_assert(!cuda_check_vram_residency(NULL, &err));
    EXPECT_INVALID(err);
    ck_assert(!cuda_check_vram_residency(NULL, NULL));

    WorkerModelInfo info;
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    ck_assert_int_eq(worker_model_info(NULL, &info), CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_int_eq(worker_model_info(NULL, NULL), CUDA_ERROR_INVALID_PARAMETER);

    int32_t toks[8];
    size_t n = 0;
    char out[16];
    ck_assert_int_eq(worker_tokenize(NULL, "hi", 1, toks, 8, &n), CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_int_eq(worker_tokenize(NULL, NULL, 1, NULL, 0, NULL),
                     CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_int_eq(worker_detokenize(NULL, toks, 0, out, sizeof out, &n),
                     CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_int_eq(worker_detokenize(NULL, NULL, 0, NULL, 0, NULL),
                     CUDA_ERROR_INVALID_PARAMETER);
}
END_TEST

START_TEST(test_inference_functions_null)
{
    int err = -1, idx = -7;
    char buf[32];
    WorkerSamplingParams sp;

    ck_assert_ptr_null(cuda_inference_start(NULL, "hello", 4, 0.5f, seed, &err));
    EXPECT_INVALID(err);
    ck_assert_ptr_null(cuda_inference_start(NULL, NULL, 0, 0.0f, 0, NULL));
    ck_assert(!cuda_inference_next_token(NULL, buf, sizeof buf, &idx, &err));
    EXPECT_INVALID(err);
    ck_assert(!cuda_inference_next_token(NULL, NULL, 0, NULL, NULL));
    cuda_inference_free(NULL);

    worker_sampling_defaults(NULL);
    memset(&sp, 0, sizeof sp);
    worker_sampling_defaults(&sp);
    ck_assert_uint_eq(sp.struct_size, sizeof sp);
    ck_assert_int_eq(sp.max_tokens, 2048);
    ck_assert_ptr_null(worker_inference_start_ex(NULL, "hello", &sp, &err));
    EXPECT_INVALID(err);
    ck_assert_ptr_null(worker_inference_start_ex(NULL, NULL, NULL, NULL));
    ck_assert_int_eq(worker_inference_stop_reason(NULL), WORKER_STOP_NONE);
    ck_assert_int_eq(worker_inference_prompt_tokens(NULL), 0);
}
END_TEST

START_TEST(test_with_host_context)
{
    int err = -1;
    uint64_t used = 777;
    CudaContext *ctx = worker_init("host", &err);
    ck_assert_msg(ctx != NULL, "host context: %s", worker_last_error_detail());
    /* a live context with NULL/absurd other arguments */
    ck_assert_ptr_null(cuda_load_model(ctx, NULL, &used, &err));
    EXPECT_INVALID(err);
    ck_assert_ptr_null(cuda_load_model(ctx, NULL, NULL, NULL));
    ck_assert_ptr_null(cuda_load_model(ctx, "", &used, &err));
    ck_assert_int_ne(err, CUDA_SUCCESS);
    ck_assert(cuda_check_device_health(ctx, NULL));
    cuda_destroy(ctx);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ffi_null");
    TCase *tc = tcase_create("null");
    SRunner *sr;
    int failed;

    seed = (unsigned)time(NULL);
    printf("TEST_SEED=%u\n", seed);
    tcase_add_test(tc, test_context_functions);
    tcase_add_test(tc, test_model_functions_null);
    tcase_add_test(tc, test_inference_functions_null);
    tcase_add_test(tc, test_with_host_context);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
