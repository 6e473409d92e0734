/*
 * test_locked_api.c - the locked API as a consumer sees it: linked against libworker.so
 * (not the internal libwrk), every locked function resolves with the spec's type, the
 * error enum has exactly the codes 0..8 and 99, and the library's version matches the
 * header it was built with.
 */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "worker_ext.h"
#include "locked_signatures.h"

#define POINTER(name, ret, params) { #name, (void (*)(void))(ret (*) params)name },
static const struct { const char *name; void (*fn)(void); } locked[] = {
    LOCKED_FUNCTIONS(POINTER)
};

START_TEST(test_all_locked_resolve)
{
    ck_assert_uint_eq(sizeof locked / sizeof locked[0], LOCKED_FUNCTION_COUNT);
    for (size_t i = 0; i < sizeof locked / sizeof locked[0]; i++) {
        ck_assert_msg(locked[i].fn != NULL, "%s does not resolve", locked[i].name);
        for (size_t j = 0; j < i; j++) ck_assert_ptr_ne(locked[i].fn, locked[j].fn);
    }
}
END_TEST

START_TEST(test_enum_no_gaps)
{
    /* walk the enum as the header defines it: the values are consecutive from 0 to 8 */
    static const CudaErrorCode codes[] = {
        CUDA_SUCCESS, CUDA_ERROR_INVALID_DEVICE, CUDA_ERROR_OUT_OF_MEMORY,
        CUDA_ERROR_MODEL_LOAD_FAILED, CUDA_ERROR_INFERENCE_FAILED, CUDA_ERROR_INVALID_PARAMETER,
        CUDA_ERROR_KERNEL_LAUNCH_FAILED, CUDA_ERROR_VRAM_RESIDENCY_FAILED,
        CUDA_ERROR_DEVICE_NOT_FOUND
    };
    for (int i = 0; i < 9; i++) ck_assert_int_eq(codes[i], i);
    ck_assert_int_eq(CUDA_ERROR_UNKNOWN, 99);
    /* and the library knows exactly those codes in -1000..1000 */
    int known = 0;
    for (int c = -1000; c <= 1000; c++) {
        const char *m = cuda_error_message(c);
        ck_assert_ptr_nonnull(m);
        if (strcmp(m, "Unrecognized error code") != 0) {
            ck_assert_msg((c >= 0 && c <= 8) || c == 99, "unexpected code %d", c);
            known++;
        }
    }
    ck_assert_int_eq(known, 10);
}
END_TEST

START_TEST(test_versions)
{
    ck_assert_uint_eq(worker_abi_version() >> 16, WORKER_ABI_VERSION_MAJOR);
    ck_assert_uint_ge(worker_abi_version() & 0xffffu, WORKER_ABI_VERSION_MINOR);
    ck_assert_uint_gt(strlen(worker_version_string()), 0);
    ck_assert_int_ge(cuda_get_device_count(), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("locked_api");
    TCase *tc = tcase_create("public");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, test_all_locked_resolve);
    tcase_add_test(tc, test_enum_no_gaps);
    tcase_add_test(tc, test_versions);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
