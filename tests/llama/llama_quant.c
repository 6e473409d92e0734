/*
 * llama_quant.c - quantized and half-precision weights on the host backend: a model
 * stored as F16/BF16/Q8_0/Q4_0/Q4_K/Q6_K gives the logits of the same model dequantized
 * and stored as F32, and of the independent oracle run on the rounded weights.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "llama_testutil.h"

#define N_TOK 9

/* Widths are multiples of 256 so every type (K-quants: 256-element blocks) can hold them. */
static const lt_spec qspec = { "llama", 256, 4, 2, 512, 2, 300, 0, 64, 10000.0f, 1e-5f, 0, 0, 0.0f, 0, NULL };
static const uint32_t qtypes[] = { WP_DTYPE_F16, WP_DTYPE_BF16, WP_DTYPE_Q8_0, WP_DTYPE_Q4_0,
                                   WP_DTYPE_Q4_K, WP_DTYPE_Q6_K };
#define N_QTYPES (int)(sizeof(qtypes) / sizeof(qtypes[0]))

static void run_prefill(const char *path, const int32_t *tok, float *logits)
{
    CudaContext *ctx;
    CudaModel *m = lt_load("host", path, &ctx);
    ck_assert_int_eq(lt_prefill(m, tok, N_TOK, 0, logits), 0);
    lt_unload(m, ctx);
}

START_TEST(test_quant_equals_dequantized)
{
    uint32_t type = qtypes[_i], V = qspec.vocab;
    lt_weights *w = lt_weights_random(&qspec, 500 + _i);
    int32_t tok[N_TOK];
    lt_random_tokens(tok, N_TOK, V, 600 + _i);
    size_t n = (size_t)N_TOK * V;
    float *q = malloc(n * sizeof(float)), *f = malloc(n * sizeof(float)),
          *ref = malloc(n * sizeof(float)), *raw = malloc(n * sizeof(float));

    lt_reference_forward(w, tok, N_TOK, raw);           /* before rounding */
    ck_assert_int_eq(lt_write_gguf(w, type, lt_path("q.gguf"), NULL), 0);
    lt_weights_round(w, type);
    ck_assert_int_eq(lt_write_gguf(w, WP_DTYPE_F32, lt_path("f.gguf"), NULL), 0);
    lt_reference_forward(w, tok, N_TOK, ref);

    run_prefill(lt_path("q.gguf"), tok, q);
    run_prefill(lt_path("f.gguf"), tok, f);
    double e_qf = lt_rel_err(q, f, n), e_ref = lt_rel_err(q, ref, n),
           e_raw = lt_rel_err(ref, raw, n);
    ck_assert_msg(e_qf <= 1e-5, "type %u: quantized vs dequantized-F32 file: %g", type, e_qf);
    ck_assert_msg(e_ref <= 1e-4, "type %u: vs oracle on rounded weights: %g", type, e_ref);
    /* the rounding really happened (else this test would prove nothing) */
    ck_assert_msg(e_raw > 1e-6, "type %u: rounding changed nothing (%g)", type, e_raw);
    free(q);
    free(f);
    free(ref);
    free(raw);
    lt_weights_free(w);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("llama_quant");
    TCase *tc = lt_tcase("host", 300);
    tcase_add_loop_test(tc, test_quant_equals_dequantized, 0, N_QTYPES);
    suite_add_tcase(s, tc);
    return check_run_suite(s, 0);
}
