/*
 * llama_ffi.c - text generation through the locked FFI with a llama model:
 * cuda_inference_start -> cuda_inference_next_token -> cuda_inference_free at temperature
 * 0 gives the text of the plugin's own greedy continuation, on the host backend and (when
 * present) on the GPU; greedy decoding through forward_greedy (ABI 1.2) gives the same ids
 * and text as host sampling on the host backend (the GPU variant is in llama_cuda.c).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llama_testutil.h"

#define N_GEN 12

/* Untied so the output rows of control and byte tokens can be made small (never zero):
 * the continuation is then made of word tokens whose text is known (" w<k>"). */
static const lt_spec fspec = { "llama", 64, 4, 2, 128, 2, 600, 0, 256, 10000.0f, 1e-5f, 0, 0, 0.0f, 0, NULL };

static void generate_and_compare(const char *device)
{
    lt_weights *w = lt_weights_random(&fspec, 4242);
    for (size_t i = 0; i < 259 * (size_t)fspec.d; i++)
        w->out[i] *= 0.01f;
    ck_assert_int_eq(lt_write_gguf(w, WP_DTYPE_F32, lt_path("ffi.gguf"), NULL), 0);
    CudaContext *ctx;
    CudaModel *m = lt_load(device, lt_path("ffi.gguf"), &ctx);

    const char *prompt = " w3 w17 w101 w5";
    int32_t ids[64], gen[N_GEN];
    size_t n_ids = 0;
    ck_assert_int_eq(worker_tokenize(m, prompt, 1, ids, 64, &n_ids), 0);
    ck_assert_uint_ge(n_ids, 2);
    ck_assert_int_eq(lt_greedy(m, ids, (int)n_ids, N_GEN, gen), 0);
    char want[N_GEN * 16 + 1] = "";
    for (int i = 0; i < N_GEN; i++) {
        ck_assert_msg(gen[i] >= 259, "greedy chose control/byte token %d", gen[i]);
        snprintf(want + strlen(want), sizeof(want) - strlen(want), " w%d", gen[i] - 259);
    }

    int err = -1, idx = -1, count = 0;
    char piece[64], got[N_GEN * 16 + 1] = "";
    InferenceResult *r = cuda_inference_start(m, prompt, N_GEN, 0.0f, 7, &err);
    ck_assert_msg(r != NULL, "cuda_inference_start: %d %s", err, worker_last_error_detail());
    while (cuda_inference_next_token(r, piece, sizeof(piece), &idx, &err)) {
        ck_assert_int_eq(err, 0);
        ck_assert_uint_lt(strlen(got) + strlen(piece), sizeof(got));
        strcat(got, piece);
        count++;
    }
    ck_assert_msg(err == 0, "next_token: %d %s", err, worker_last_error_detail());
    cuda_inference_free(r);
    ck_assert_int_eq(count, N_GEN);
    ck_assert_msg(strcmp(got, want) == 0, "%s: generated '%s', greedy '%s'", device, got,
                  want);
    lt_unload(m, ctx);
    lt_weights_free(w);
}

START_TEST(test_ffi_generate_host)
{
    generate_and_compare("host");
}
END_TEST

START_TEST(test_ffi_generate_cuda)
{
    generate_and_compare("cuda:0");
}
END_TEST

START_TEST(test_device_greedy_host)
{
    lt_check_device_greedy("host", &fspec, WP_DTYPE_F32, 4343);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("llama_ffi");
    TCase *tc = lt_tcase("ffi", 300);
    tcase_add_test(tc, test_ffi_generate_host);
    tcase_add_test(tc, test_device_greedy_host);
    if (lt_have_gpu())
        tcase_add_test(tc, test_ffi_generate_cuda);
    suite_add_tcase(s, tc);
    return check_run_suite(s, 0);
}
