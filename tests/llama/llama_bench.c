/*
 * llama_bench.c - decode throughput of the llama plugin (not a test: built by make check,
 * run by hand on the device).
 *
 *   tests/llama/llama_bench --write-1b PATH   write a Llama-3.2-1B-shaped random F16 GGUF
 *                                             (d 2048, 16 layers, 32/8 heads, ff 8192,
 *                                             vocab 128256, tied; about 2.5 GB)
 *   tests/llama/llama_bench MODEL.gguf [DEVICE [N_PROMPT [N_GEN]]]
 *       load MODEL on DEVICE (default cuda:0), prefill N_PROMPT (default 128) random
 *       tokens, decode N_GEN (default 256) greedily, print prefill and decode tokens/s.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "llama_testutil.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int32_t argmax(const float *v, uint32_t n)
{
    uint32_t b = 0;
    for (uint32_t i = 1; i < n; i++)
        if (v[i] > v[b])
            b = i;
    return (int32_t)b;
}

static int write_1b(const char *path)
{
    const lt_spec s = { "llama", 2048, 32, 8, 8192, 16, 128256, 0, 131072, 500000.0f, 1e-5f,
                        1, 0, 0.0f, 0, NULL };
    fprintf(stderr, "generating random weights...\n");
    lt_weights *w = lt_weights_random(&s, 2024);
    fprintf(stderr, "writing %s (F16)...\n", path);
    int rc = lt_write_gguf(w, WP_DTYPE_F16, path, NULL);
    lt_weights_free(w);
    if (rc)
        fprintf(stderr, "write failed: %d %s\n", rc, worker_last_error_detail());
    return rc ? EXIT_FAILURE : EXIT_SUCCESS;
}

static int bench(int argc, char **argv);
static int g_argc, g_rc;
static char **g_argv;

/* The helpers assert with Check, so the work runs as one (unforked, untimed) Check test. */
START_TEST(run_bench)
{
    if (g_argc == 3 && strcmp(g_argv[1], "--write-1b") == 0)
        g_rc = write_1b(g_argv[2]);
    else
        g_rc = bench(g_argc, g_argv);
}
END_TEST

int main(int argc, char **argv)
{
    g_argc = argc;
    g_argv = argv;
    g_rc = EXIT_FAILURE;
    Suite *s = suite_create("llama_bench");
    TCase *tc = tcase_create("bench");
    tcase_add_test(tc, run_bench);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_SILENT);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : g_rc;
}

static int bench(int argc, char **argv)
{
    if (argc < 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: %s MODEL.gguf [DEVICE [N_PROMPT [N_GEN]]] | --write-1b PATH\n",
                argv[0]);
        return EXIT_FAILURE;
    }
    const char *device = argc > 2 ? argv[2] : "cuda:0";
    int n_prompt = argc > 3 ? atoi(argv[3]) : 128, n_gen = argc > 4 ? atoi(argv[4]) : 256;
    if (n_prompt < 1 || n_gen < 1)
        return EXIT_FAILURE;

    int err = 0;
    uint64_t vram = 0;
    double t0 = now_s();
    CudaContext *ctx = worker_init(device, &err);
    CudaModel *m = ctx ? cuda_load_model(ctx, argv[1], &vram, &err) : NULL;
    if (!m) {
        fprintf(stderr, "load failed: %d %s\n", err, worker_last_error_detail());
        cuda_destroy(ctx);
        return EXIT_FAILURE;
    }
    double t_load = now_s() - t0;
    uint32_t V = m->info.vocab_size;
    int max_b = (int)m->info.max_batch;
    int32_t *tok = malloc(sizeof(int32_t) * (n_prompt + n_gen));
    float *lg = malloc(sizeof(float) * V);
    lt_random_tokens(tok, n_prompt, V, 7);
    void *kv = NULL;
    int rc = m->plugin->kv_create(m->plugin_model, (uint32_t)(n_prompt + n_gen), &kv);

    t0 = now_s();
    for (int p = 0; rc == 0 && p < n_prompt; p += max_b) {
        int c = n_prompt - p < max_b ? n_prompt - p : max_b;
        rc = m->plugin->forward(m->plugin_model, kv, tok + p, c, p, lg, 0);
    }
    double t_prefill = now_s() - t0;
    t0 = now_s();
    for (int i = 0; rc == 0 && i < n_gen; i++) {
        tok[n_prompt + i] = argmax(lg, V);
        rc = m->plugin->forward(m->plugin_model, kv, &tok[n_prompt + i], 1, n_prompt + i, lg,
                                0);
    }
    double t_decode = now_s() - t0;
    if (rc)
        fprintf(stderr, "forward failed: %d %s\n", rc, worker_last_error_detail());
    else
        printf("%s on %s: %.1f MB weights, load %.2f s, prefill %d tok %.1f tok/s, "
               "decode %d tok %.1f tok/s (%.3f ms/tok)\n", argv[1], device, vram / 1e6, t_load,
               n_prompt, n_prompt / t_prefill, n_gen, n_gen / t_decode,
               1e3 * t_decode / n_gen);
    if (kv)
        m->plugin->kv_free(m->plugin_model, kv);
    free(tok);
    free(lg);
    cuda_unload_model(m);
    cuda_destroy(ctx);
    return rc ? EXIT_FAILURE : EXIT_SUCCESS;
}
