/*
 * llama_greedy.c - the llama plugin's pipelined greedy steps (greedy_queue/greedy_collect,
 * ABI 1.3) called directly, on the host backend and (when present) on the GPU:
 *   - steps queued one ahead, each chained on the device to the id of the step before,
 *     give the ids of forward + host argmax and of forward_greedy, token for token;
 *   - two outstanding steps are collected oldest first; a third is refused and leaves the
 *     two intact;
 *   - the refusals: collect with nothing outstanding or a NULL output, a chained step with
 *     no greedy step before it (a fresh cache, after forward, after kv_reset), at a
 *     position that does not follow it or past the cache, a host token outside the
 *     vocabulary, forward_greedy while steps are outstanding;
 *   - kv_reset drops outstanding steps and the reset cache decodes as a fresh one; kv_free
 *     with steps outstanding (valgrind: nothing leaks).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llama_testutil.h"

enum { N_PROMPT = 7, N_GEN = 40 };

static const lt_spec gspec = { "llama", 64, 4, 2, 128, 2, 600, 0, 256, 10000.0f, 1e-5f, 0, 0,
                               0.0f, 0, NULL };

typedef struct gfx {
    lt_weights *w;
    CudaContext *ctx;
    CudaModel *m;
    const wp_plugin *pl;
    void *pm;
    int32_t prompt[N_PROMPT];
    int32_t want[N_GEN];     /* forward + host argmax: want[0] from the prompt's logits */
} gfx;

static void gfx_open(gfx *f, const char *device)
{
    f->w = lt_weights_random(&gspec, 5);
    ck_assert_int_eq(lt_write_gguf(f->w, WP_DTYPE_F32, lt_path("pipe.gguf"), NULL), 0);
    f->m = lt_load(device, lt_path("pipe.gguf"), &f->ctx);
    f->pl = f->m->plugin;
    f->pm = f->m->plugin_model;
    ck_assert_ptr_nonnull(f->pl->greedy_queue);
    ck_assert_ptr_nonnull(f->pl->greedy_collect);
    lt_random_tokens(f->prompt, N_PROMPT, gspec.vocab, 6);
    ck_assert_int_eq(lt_greedy(f->m, f->prompt, N_PROMPT, N_GEN, f->want), 0);
    /* the continuation is not one id over and over (that would prove little) */
    int distinct = 0;
    for (int i = 1; i < N_GEN; i++)
        distinct += f->want[i] != f->want[i - 1];
    ck_assert_int_ge(distinct, 20);
}

static void gfx_close(gfx *f)
{
    lt_unload(f->m, f->ctx);
    lt_weights_free(f->w);
}

/* A cache for n_ctx positions with the prompt in it. */
static void *prefilled(gfx *f, uint32_t n_ctx)
{
    void *kv = NULL;
    float *lg = malloc(gspec.vocab * sizeof(float));
    ck_assert_ptr_nonnull(lg);
    ck_assert_int_eq(f->pl->kv_create(f->pm, n_ctx, &kv), 0);
    ck_assert_msg(f->pl->forward(f->pm, kv, f->prompt, N_PROMPT, 0, lg, 0) == 0, "prefill: %s",
                  worker_last_error_detail());
    free(lg);
    return kv;
}

static void expect_refused(int rc, const char *words)
{
    ck_assert_int_eq(rc, CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_msg(strstr(worker_last_error_detail(), words) != NULL, "detail '%s' lacks '%s'",
                  worker_last_error_detail(), words);
}

/* The runtime's pattern: the first step from the host, every later one chained and queued
 * before the id it consumes is collected. */
static void run_pipelined(gfx *f, void *kv, int32_t *got)
{
    got[0] = f->want[0];   /* the prompt's logits, sampled on the host */
    ck_assert_int_eq(f->pl->greedy_queue(f->pm, kv, got[0], N_PROMPT), 0);
    for (int i = 1; i < N_GEN; i++) {
        if (i + 1 < N_GEN)
            ck_assert_msg(f->pl->greedy_queue(f->pm, kv, WP_TOKEN_CHAINED, N_PROMPT + i) == 0,
                          "chained step %d: %s", i, worker_last_error_detail());
        ck_assert_msg(f->pl->greedy_collect(f->pm, kv, &got[i]) == 0, "collect %d: %s", i,
                      worker_last_error_detail());
    }
}

static void check_same_ids(const char *device)
{
    gfx f;
    gfx_open(&f, device);
    int32_t got[N_GEN], sync[N_GEN];
    void *kv = prefilled(&f, N_PROMPT + N_GEN);
    run_pipelined(&f, kv, got);
    for (int i = 0; i < N_GEN; i++)
        ck_assert_msg(got[i] == f.want[i], "%s: token %d: pipelined %d, forward + argmax %d",
                      device, i, got[i], f.want[i]);
    f.pl->kv_free(f.pm, kv);
    ck_assert_int_eq(lt_greedy_device(f.m, f.prompt, N_PROMPT, N_GEN, sync), 0);
    ck_assert_int_eq(memcmp(sync, f.want, sizeof sync), 0);
    gfx_close(&f);
}

static void check_limits(const char *device)
{
    gfx f;
    gfx_open(&f, device);
    const int p = N_PROMPT;
    int32_t a = -1, b = -1, c = -1;
    void *kv = prefilled(&f, p + 4);

    /* nothing queued yet: nothing to collect, nothing to chain onto (forward ran last) */
    expect_refused(f.pl->greedy_collect(f.pm, kv, &a), "no greedy step is outstanding");
    expect_refused(f.pl->greedy_queue(f.pm, kv, WP_TOKEN_CHAINED, p), "needs a greedy step");
    expect_refused(f.pl->greedy_queue(f.pm, kv, (int32_t)gspec.vocab, p), "vocabulary");
    expect_refused(f.pl->greedy_queue(f.pm, kv, -2, p), "vocabulary");

    /* two outstanding; a third refused; forward_greedy refused; collected oldest first */
    ck_assert_int_eq(f.pl->greedy_queue(f.pm, kv, f.want[0], p), 0);
    expect_refused(f.pl->greedy_queue(f.pm, kv, WP_TOKEN_CHAINED, p + 2), "does not follow");
    ck_assert_int_eq(f.pl->greedy_queue(f.pm, kv, WP_TOKEN_CHAINED, p + 1), 0);
    expect_refused(f.pl->greedy_queue(f.pm, kv, WP_TOKEN_CHAINED, p + 2),
                   "2 steps are outstanding");
    expect_refused(f.pl->greedy_queue(f.pm, kv, f.want[2], p + 2), "2 steps are outstanding");
    expect_refused(f.pl->forward_greedy(f.pm, kv, f.want[2], p + 2, &c), "outstanding");
    expect_refused(f.pl->greedy_collect(f.pm, kv, NULL), "NULL");
    ck_assert_int_eq(f.pl->greedy_collect(f.pm, kv, &a), 0);
    ck_assert_int_eq(f.pl->greedy_collect(f.pm, kv, &b), 0);
    ck_assert_int_eq(a, f.want[1]);
    ck_assert_int_eq(b, f.want[2]);
    expect_refused(f.pl->greedy_collect(f.pm, kv, &c), "no greedy step is outstanding");

    /* the chain survives collection; the cache ends at p + 3 */
    ck_assert_int_eq(f.pl->greedy_queue(f.pm, kv, WP_TOKEN_CHAINED, p + 2), 0);
    ck_assert_int_eq(f.pl->greedy_queue(f.pm, kv, WP_TOKEN_CHAINED, p + 3), 0);
    ck_assert_int_eq(f.pl->greedy_collect(f.pm, kv, &a), 0);
    ck_assert_int_eq(f.pl->greedy_collect(f.pm, kv, &b), 0);
    ck_assert_int_eq(a, f.want[3]);
    ck_assert_int_eq(b, f.want[4]);
    expect_refused(f.pl->greedy_queue(f.pm, kv, WP_TOKEN_CHAINED, p + 4), "exceeds the cache");
    expect_refused(f.pl->greedy_queue(f.pm, kv, f.want[4], p + 4), "exceed the cache");

    /* forward rewrites the step: no chaining onto it */
    {
        float *lg = malloc(gspec.vocab * sizeof(float));
        ck_assert_int_eq(f.pl->forward(f.pm, kv, &f.want[0], 1, p, lg, 0), 0);
        free(lg);
        expect_refused(f.pl->greedy_queue(f.pm, kv, WP_TOKEN_CHAINED, p + 1),
                       "needs a greedy step");
    }
    f.pl->kv_free(f.pm, kv);
    gfx_close(&f);
}

static void check_reset_and_free(const char *device)
{
    gfx f;
    gfx_open(&f, device);
    const int p = N_PROMPT;
    int32_t a = -1, got[N_GEN];
    void *kv = prefilled(&f, p + N_GEN);
    ck_assert_int_eq(f.pl->greedy_queue(f.pm, kv, f.want[0], p), 0);
    ck_assert_int_eq(f.pl->greedy_queue(f.pm, kv, WP_TOKEN_CHAINED, p + 1), 0);
    ck_assert_int_eq(f.pl->kv_reset(f.pm, kv), 0);   /* drops both */
    expect_refused(f.pl->greedy_collect(f.pm, kv, &a), "no greedy step is outstanding");
    expect_refused(f.pl->greedy_queue(f.pm, kv, WP_TOKEN_CHAINED, p + 2), "needs a greedy step");
    /* the reset cache decodes the prompt again like a fresh one */
    float *lg = malloc(gspec.vocab * sizeof(float));
    ck_assert_int_eq(f.pl->forward(f.pm, kv, f.prompt, N_PROMPT, 0, lg, 0), 0);
    free(lg);
    run_pipelined(&f, kv, got);
    ck_assert_int_eq(memcmp(got, f.want, sizeof got), 0);
    /* freed with two steps outstanding */
    ck_assert_int_eq(f.pl->greedy_queue(f.pm, kv, f.want[5], p + 5), 0);
    ck_assert_int_eq(f.pl->greedy_queue(f.pm, kv, WP_TOKEN_CHAINED, p + 6), 0);
    f.pl->kv_free(f.pm, kv);
    gfx_close(&f);
}

START_TEST(test_same_ids_host) { check_same_ids("host"); }
END_TEST
START_TEST(test_limits_host) { check_limits("host"); }
END_TEST
START_TEST(test_reset_and_free_host) { check_reset_and_free("host"); }
END_TEST
START_TEST(test_same_ids_cuda) { check_same_ids("cuda:0"); }
END_TEST
START_TEST(test_limits_cuda) { check_limits("cuda:0"); }
END_TEST
START_TEST(test_reset_and_free_cuda) { check_reset_and_free("cuda:0"); }
END_TEST

int main(void)
{
    Suite *s = suite_create("llama_greedy");
    TCase *tc = lt_tcase("pipeline", 300);
    tcase_add_test(tc, test_same_ids_host);
    tcase_add_test(tc, test_limits_host);
    tcase_add_test(tc, test_reset_and_free_host);
    if (lt_have_gpu()) {
        tcase_add_test(tc, test_same_ids_cuda);
        tcase_add_test(tc, test_limits_cuda);
        tcase_add_test(tc, test_reset_and_free_cuda);
    } else {
        fprintf(stderr, "no CUDA device: host backend only\n");
    }
    suite_add_tcase(s, tc);
    return check_run_suite(s, 0);
}
