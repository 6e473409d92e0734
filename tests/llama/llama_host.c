/*
 * llama_host.c - the llama plugin on the reference host backend, with random models:
 * logits against an independent double-precision forward (tests/llama/llama_testutil.c),
 * prefill == chunked prefill == token-by-token decode, the last-row path, hyper-parameter
 * and tensor validation, argument checks in forward, KV cache accounting and OOM.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/wrk_vram.h"
#include "llama_testutil.h"

#define N_TOK 19

/* The shapes under test: MHA untied; GQA tied with odd sizes; qwen2 with biases, GQA,
 * NeoX RoPE on a part of each head. */
static const lt_spec specs[] = {
    { "llama", 64, 4, 4, 96, 2, 300, 0, 128, 10000.0f, 1e-5f, 0, 0, 0.0f, 0, NULL },
    { "llama", 72, 9, 3, 172, 3, 280, 8, 64, 500000.0f, 1e-6f, 1, 0, 0.0f, 0, NULL },
    { "qwen2", 48, 3, 1, 80, 2, 310, 8, 96, 1000000.0f, 1e-6f, 1, 1, 0.0f, 0, NULL },
    /* llama3-style frequency factors and linear position scaling */
    { "llama", 64, 2, 1, 96, 2, 290, 0, 128, 10000.0f, 1e-5f, 0, 0, 4.0f, 1, NULL },
};
#define N_SPECS (int)(sizeof(specs) / sizeof(specs[0]))

static CudaModel *load_spec(int i, uint64_t seed, lt_weights **w_out, CudaContext **ctx)
{
    lt_weights *w = lt_weights_random(&specs[i], seed);
    char name[64];
    snprintf(name, sizeof(name), "spec%d_%llu.gguf", i, (unsigned long long)seed);
    ck_assert_int_eq(lt_write_gguf(w, WP_DTYPE_F32, lt_path(name), NULL), 0);
    CudaModel *m = lt_load("host", lt_path(name), ctx);
    *w_out = w;
    return m;
}

/* Our logits equal the oracle's for every token of a random prompt. */
START_TEST(test_matches_oracle)
{
    CudaContext *ctx;
    lt_weights *w;
    CudaModel *m = load_spec(_i, 11 + _i, &w, &ctx);
    uint32_t V = specs[_i].vocab;
    int32_t tok[N_TOK];
    lt_random_tokens(tok, N_TOK, V, 100 + _i);
    float *ours = malloc(sizeof(float) * N_TOK * V), *ref = malloc(sizeof(float) * N_TOK * V);
    ck_assert_int_eq(lt_prefill(m, tok, N_TOK, 0, ours), 0);
    lt_reference_forward(w, tok, N_TOK, ref);
    double e = lt_rel_err(ours, ref, (size_t)N_TOK * V);
    ck_assert_msg(e <= 1e-4, "spec %d: rel err %g vs oracle", _i, e);
    ck_assert_uint_eq(m->info.vocab_size, V);
    ck_assert_uint_eq(m->info.context_length, specs[_i].ctx);
    ck_assert_uint_ge(m->info.max_batch, 64);
    free(ours);
    free(ref);
    lt_weights_free(w);
    lt_unload(m, ctx);
}
END_TEST

/* Prefill of all tokens, prefill in uneven chunks and one-token decode give the same
 * logits: the cache holds exactly what later positions need. */
START_TEST(test_prefill_equals_decode)
{
    CudaContext *ctx;
    lt_weights *w;
    CudaModel *m = load_spec(_i, 21 + _i, &w, &ctx);
    uint32_t V = specs[_i].vocab;
    int32_t tok[N_TOK];
    lt_random_tokens(tok, N_TOK, V, 200 + _i);
    size_t n = (size_t)N_TOK * V;
    float *a = malloc(sizeof(float) * n), *b = malloc(sizeof(float) * n),
          *c = malloc(sizeof(float) * n);
    ck_assert_int_eq(lt_prefill(m, tok, N_TOK, 0, a), 0);
    ck_assert_int_eq(lt_prefill(m, tok, N_TOK, 7, b), 0);
    ck_assert_int_eq(lt_decode(m, tok, N_TOK, c), 0);
    double e1 = lt_rel_err(b, a, n), e2 = lt_rel_err(c, a, n);
    ck_assert_msg(e1 <= 1e-5, "chunked prefill differs: %g", e1);
    ck_assert_msg(e2 <= 1e-5, "decode differs from prefill: %g", e2);
    free(a);
    free(b);
    free(c);
    lt_weights_free(w);
    lt_unload(m, ctx);
}
END_TEST

/* all_logits = 0 writes only the last row, equal to the last row of the full run, and
 * touches nothing past vocab floats. */
START_TEST(test_last_row_only)
{
    CudaContext *ctx;
    lt_weights *w;
    CudaModel *m = load_spec(0, 31, &w, &ctx);
    uint32_t V = specs[0].vocab;
    int32_t tok[N_TOK];
    lt_random_tokens(tok, N_TOK, V, 300);
    float *all = malloc(sizeof(float) * N_TOK * V), *last = malloc(sizeof(float) * (V + 16));
    for (uint32_t i = 0; i < V + 16; i++)
        last[i] = -12345.0f;
    ck_assert_int_eq(lt_prefill(m, tok, N_TOK, 0, all), 0);
    void *kv;
    ck_assert_int_eq(m->plugin->kv_create(m->plugin_model, N_TOK, &kv), 0);
    ck_assert_int_eq(m->plugin->forward(m->plugin_model, kv, tok, N_TOK, 0, last, 0), 0);
    ck_assert(lt_rel_err(last, all + (size_t)(N_TOK - 1) * V, V) <= 1e-6);
    for (int i = 0; i < 16; i++)
        ck_assert(last[V + i] == -12345.0f);
    m->plugin->kv_free(m->plugin_model, kv);
    free(all);
    free(last);
    lt_weights_free(w);
    lt_unload(m, ctx);
}
END_TEST

/* Bad arguments to forward are errors with a detail, never crashes. */
START_TEST(test_forward_rejects_bad_args)
{
    CudaContext *ctx;
    lt_weights *w;
    CudaModel *m = load_spec(1, 41, &w, &ctx);
    uint32_t V = specs[1].vocab;
    void *kv;
    float *lg = malloc(sizeof(float) * V * 8);
    int32_t tok[8];
    lt_random_tokens(tok, 8, V, 400);
    ck_assert_int_eq(m->plugin->kv_create(m->plugin_model, 8, &kv), 0);

    int32_t bad = (int32_t)V;
    ck_assert_int_eq(m->plugin->forward(m->plugin_model, kv, &bad, 1, 0, lg, 0),
                     CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_ptr_nonnull(strstr(worker_last_error_detail(), "vocabulary"));
    bad = -3;
    ck_assert_int_eq(m->plugin->forward(m->plugin_model, kv, &bad, 1, 0, lg, 0),
                     CUDA_ERROR_INVALID_PARAMETER);
    /* positions 5..8 do not fit a cache of 8 */
    ck_assert_int_eq(m->plugin->forward(m->plugin_model, kv, tok, 4, 5, lg, 0),
                     CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_ptr_nonnull(strstr(worker_last_error_detail(), "exceed"));
    ck_assert_int_eq(m->plugin->forward(m->plugin_model, kv, tok, 0, 0, lg, 0),
                     CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_int_eq(m->plugin->forward(m->plugin_model, kv, tok, 1, -1, lg, 0),
                     CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_int_eq(m->plugin->forward(m->plugin_model, kv, NULL, 1, 0, lg, 0),
                     CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_int_eq(m->plugin->forward(m->plugin_model, NULL, tok, 1, 0, lg, 0),
                     CUDA_ERROR_INVALID_PARAMETER);
    void *kv0 = (void *)1;
    ck_assert_int_eq(m->plugin->kv_create(m->plugin_model, 0, &kv0),
                     CUDA_ERROR_INVALID_PARAMETER);
    /* the cache is still usable after the rejected calls */
    ck_assert_int_eq(m->plugin->forward(m->plugin_model, kv, tok, 8, 0, lg, 1), 0);
    m->plugin->kv_free(m->plugin_model, kv);
    free(lg);
    lt_weights_free(w);
    lt_unload(m, ctx);
}
END_TEST

/* A load that must fail: returns code and a detail containing want. */
static void expect_load_failure(const char *path, const char *want)
{
    int err = -1;
    uint64_t vram = 0;
    CudaContext *ctx = worker_init("host", &err);
    ck_assert_ptr_nonnull(ctx);
    CudaModel *m = cuda_load_model(ctx, path, &vram, &err);
    ck_assert_msg(m == NULL, "%s loaded", path);
    ck_assert_int_eq(err, CUDA_ERROR_MODEL_LOAD_FAILED);
    ck_assert_msg(strstr(worker_last_error_detail(), want) != NULL,
                  "detail '%s' does not name '%s'", worker_last_error_detail(), want);
    /* nothing of the failed model stays allocated */
    ck_assert_uint_eq(cuda_get_process_vram_usage(ctx), 0);
    cuda_destroy(ctx);
}

START_TEST(test_misshaped_and_missing_tensors)
{
    lt_weights *w = lt_weights_random(&specs[2], 51);
    lt_write_opts o = { .misshape = "blk.1.attn_k.weight" };
    ck_assert_int_eq(lt_write_gguf(w, WP_DTYPE_F32, lt_path("bad1.gguf"), &o), 0);
    expect_load_failure(lt_path("bad1.gguf"), "blk.1.attn_k.weight");

    lt_write_opts o2 = { .misshape = "blk.0.ffn_norm.weight" };
    ck_assert_int_eq(lt_write_gguf(w, WP_DTYPE_F32, lt_path("bad2.gguf"), &o2), 0);
    expect_load_failure(lt_path("bad2.gguf"), "blk.0.ffn_norm.weight");

    lt_write_opts o3 = { .omit = "blk.1.ffn_up.weight" };
    ck_assert_int_eq(lt_write_gguf(w, WP_DTYPE_F32, lt_path("bad3.gguf"), &o3), 0);
    expect_load_failure(lt_path("bad3.gguf"), "blk.1.ffn_up.weight");

    lt_write_opts o4 = { .misshape = "blk.0.attn_q.bias" };
    ck_assert_int_eq(lt_write_gguf(w, WP_DTYPE_F32, lt_path("bad4.gguf"), &o4), 0);
    expect_load_failure(lt_path("bad4.gguf"), "blk.0.attn_q.bias");
    lt_weights_free(w);
}
END_TEST

/* Inconsistent hyper-parameters are refused with the key named. */
START_TEST(test_bad_hparams)
{
    lt_weights *w = lt_weights_random(&specs[1], 61);
    w->s.n_head_kv = 2;          /* 9 heads are not a multiple of 2 kv heads */
    /* write with the bad key but shapes of the real model: the key check comes first */
    ck_assert_int_eq(lt_write_gguf(w, WP_DTYPE_F32, lt_path("hp.gguf"), NULL), 0);
    w->s.n_head_kv = specs[1].n_head_kv;
    expect_load_failure(lt_path("hp.gguf"), "head_count_kv");

    w->s.rope_dim = 7;           /* odd rope dimension */
    ck_assert_int_eq(lt_write_gguf(w, WP_DTYPE_F32, lt_path("hp2.gguf"), NULL), 0);
    expect_load_failure(lt_path("hp2.gguf"), "rope.dimension_count");

    w->s.rope_dim = 0;
    w->s.rope_scaling_type = "yarn"; /* would give wrong logits silently: refused */
    ck_assert_int_eq(lt_write_gguf(w, WP_DTYPE_F32, lt_path("hp3.gguf"), NULL), 0);
    expect_load_failure(lt_path("hp3.gguf"), "yarn");
    lt_weights_free(w);
}
END_TEST

/* kv_size is what kv_create takes; a cache that does not fit leaves nothing behind. */
START_TEST(test_kv_accounting_and_oom)
{
    CudaContext *ctx;
    lt_weights *w;
    CudaModel *m = load_spec(1, 71, &w, &ctx);
    uint64_t want = 0;
    void *kv = NULL;
    ck_assert_int_eq(m->plugin->kv_size(m->plugin_model, 100, &want), 0);
    uint64_t before = wrk_vram_total(ctx->acc);
    ck_assert_int_eq(m->plugin->kv_create(m->plugin_model, 100, &kv), 0);
    uint64_t taken = wrk_vram_tagged(ctx->acc, WP_MEM_KV_CACHE) +
                     wrk_vram_tagged(ctx->acc, WP_MEM_SCRATCH);
    ck_assert_uint_eq(taken, want);
    ck_assert_uint_eq(wrk_vram_total(ctx->acc) - before, want);
    /* the K and V caches alone: 2 * layers * n_ctx * kv_dim * 4 */
    ck_assert_uint_eq(wrk_vram_tagged(ctx->acc, WP_MEM_KV_CACHE),
                      2ull * specs[1].n_layer * 100 * specs[1].n_head_kv *
                      (specs[1].d / specs[1].n_head) * 4);
    m->plugin->kv_free(m->plugin_model, kv);
    ck_assert_uint_eq(wrk_vram_total(ctx->acc), before);

    /* Room for about half the cache: fails with OOM, frees what it took. */
    wrk_vram_set_limit(ctx->acc, before + want / 2);
    kv = (void *)1;
    ck_assert_int_eq(m->plugin->kv_create(m->plugin_model, 100, &kv), CUDA_ERROR_OUT_OF_MEMORY);
    ck_assert_ptr_null(kv);
    ck_assert_uint_eq(wrk_vram_total(ctx->acc), before);
    ck_assert_uint_eq(wrk_vram_tagged(ctx->acc, WP_MEM_KV_CACHE), 0);
    wrk_vram_set_limit(ctx->acc, 0);
    lt_weights_free(w);
    lt_unload(m, ctx);
}
END_TEST

/* n_params counts every weight once (tied output not twice). */
START_TEST(test_param_count)
{
    CudaContext *ctx;
    lt_weights *w;
    CudaModel *m = load_spec(2, 81, &w, &ctx);
    const lt_spec *s = &specs[2];
    uint64_t hd = s->d / s->n_head, q = s->n_head * hd, kv = s->n_head_kv * hd;
    uint64_t per_layer = 2 * s->d + s->d * q + 2 * s->d * kv + q + 2 * kv + q * s->d +
                         3 * (uint64_t)s->d * s->ff;
    uint64_t want = (uint64_t)s->vocab * s->d + s->d + s->n_layer * per_layer;
    ck_assert_uint_eq(m->info.n_params, want);
    lt_weights_free(w);
    lt_unload(m, ctx);
}
END_TEST

static Suite *llama_host_suite(void)
{
    Suite *s = suite_create("llama_host");
    TCase *tc = lt_tcase("host", 300);
    tcase_add_loop_test(tc, test_matches_oracle, 0, N_SPECS);
    tcase_add_loop_test(tc, test_prefill_equals_decode, 0, N_SPECS);
    tcase_add_test(tc, test_last_row_only);
    tcase_add_test(tc, test_forward_rejects_bad_args);
    tcase_add_test(tc, test_misshaped_and_missing_tensors);
    tcase_add_test(tc, test_bad_hparams);
    tcase_add_test(tc, test_kv_accounting_and_oom);
    tcase_add_test(tc, test_param_count);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return check_run_suite(llama_host_suite(), 0);
}
