/*
 * check_model.c - cuda_load_model and friends (runtime/model) with the toy test plugins.
 *
 * Built twice: check_model runs on the reference host backend (everywhere);
 * check_model_cuda (-DTEST_CUDA) runs the same cases on CUDA device 0 and exits 77 (SKIP)
 * when there is no device. Fixtures are written at test time (toy_fixture.c) with random
 * embedding values; the toy plugin's forward returns row tokens[n-1] of the embedding, so
 * the logits are checked against the values written.
 */
#include <check.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "worker_ffi.h"
#include "worker_ext.h"
#include "core/wrk_context.h"
#include "core/wrk_error.h"
#include "core/wrk_vram.h"
#include "ops/ops.h"
#include "plugin/registry.h"
#include "plugin_test_util.h"
#include "toy_fixture.h"

#ifdef TEST_CUDA
#define DEVICE "cuda:0"
#else
#define DEVICE "host"
#endif

static char tmp[256];
static char gguf[600];
static CudaContext *ctx;
static uint32_t seed;

/* A context on DEVICE whose registry holds exactly the modules of dir ("good", ...). */
static CudaContext *open_ctx(const char *dir, const char *prefer)
{
    char d[512];
    int ec = -1;
    wrk_plugin_settings s = {ptu_module_dir(dir, d, sizeof d), prefer, NULL, 1};
    CudaContext *c = worker_init(DEVICE, &ec);
    ck_assert_msg(c != NULL, "worker_init(%s): %d %s", DEVICE, ec, worker_last_error_detail());
    wrk_plugins_close(c->plugins);
    c->plugins = NULL;
    ck_assert_int_eq(wrk_plugins_open(&s, &c->plugins), 0);
    ck_assert_int_ge(wrk_plugins_count(c->plugins), 1);
    return c;
}

static void setup(void)
{
    ck_assert_ptr_nonnull(ptu_mkdtemp(tmp, sizeof tmp));
    snprintf(gguf, sizeof gguf, "%s/toy.gguf", tmp);
    seed = (uint32_t)time(NULL) ^ ((uint32_t)getpid() << 8) ^ (uint32_t)rand();
    if (!seed) seed = 7;
    ctx = open_ctx("good", NULL);
}

static void teardown(void)
{
    cuda_destroy(ctx);
    ctx = NULL;
    ptu_rmdir(tmp);
}

/* Write a fixture with f's settings (seeded) to gguf; values returned when wanted. */
static void write_fixture(toy_fixture *f, float **values)
{
    f->seed = seed;
    ck_assert_int_eq(toy_fixture_write(f, gguf, values), 0);
}

/* Run the model's forward for a few random tokens; compare with the embedding rows. */
static void check_forward(CudaModel *m, const float *values, float tol)
{
    void *kv = NULL;
    int32_t toks[4];
    float logits[4 * TOY_VOCAB];
    uint64_t before = wrk_vram_total(ctx->acc), kv_bytes = 0;

    ck_assert_int_eq(m->plugin->kv_size(m->plugin_model, 16, &kv_bytes), 0);
    ck_assert_int_eq(m->plugin->kv_create(m->plugin_model, 16, &kv), 0);
    ck_assert_uint_eq(wrk_vram_tagged(ctx->acc, WP_MEM_KV_CACHE), kv_bytes);
    for (int i = 0; i < 4; i++) toks[i] = (int32_t)((seed >> (i * 5)) % TOY_VOCAB);
    ck_assert_int_eq(m->plugin->forward(m->plugin_model, kv, toks, 4, 0, logits, 1), 0);
    for (int t = 0; t < 4; t++)
        for (int v = 0; v < TOY_VOCAB; v++)
            ck_assert_msg(fabsf(logits[t * TOY_VOCAB + v] - values[toks[t] * TOY_VOCAB + v]) <= tol,
                          "token %d logit %d: %g vs %g", toks[t], v,
                          (double)logits[t * TOY_VOCAB + v],
                          (double)values[toks[t] * TOY_VOCAB + v]);
    m->plugin->kv_free(m->plugin_model, kv);
    ck_assert_uint_eq(wrk_vram_total(ctx->acc), before);
}

/* Load must fail with code, a detail containing each of words, and leave the accountant
 * and the process's descriptors as they were. */
static void expect_load_failure(int code, const char *const *words, int n_words)
{
    uint64_t total = wrk_vram_total(ctx->acc), bytes = 12345;
    size_t count = wrk_vram_count(ctx->acc);
    int fds = ptu_count_fds(), ec = -1;
    CudaModel *m = cuda_load_model(ctx, gguf, &bytes, &ec);
    const char *detail = worker_last_error_detail();

    ck_assert_ptr_null(m);
    ck_assert_int_eq(ec, code);
    ck_assert_uint_eq(bytes, 0);
    for (int i = 0; i < n_words; i++)
        ck_assert_msg(strstr(detail, words[i]) != NULL, "detail '%s' lacks '%s'", detail,
                      words[i]);
    ck_assert_uint_eq(wrk_vram_total(ctx->acc), total);
    ck_assert_uint_eq(wrk_vram_count(ctx->acc), count);
    ck_assert_int_eq(ptu_count_fds(), fds);
    ck_assert_ptr_null(ctx->model);
}

START_TEST(load_forward_unload)
{
    static const uint32_t types[] = {WP_DTYPE_F32, WP_DTYPE_F16};
    toy_fixture f;
    float *values = NULL;
    uint64_t base = wrk_vram_total(ctx->acc), bytes = 0;
    size_t base_count = wrk_vram_count(ctx->acc);
    int ec = -1;
    CudaModel *m;
    WorkerModelInfo info;

    toy_fixture_init(&f);
    f.type = types[_i];
    write_fixture(&f, &values);
    m = cuda_load_model(ctx, gguf, &bytes, &ec);
    ck_assert_msg(m != NULL, "load: %d %s", ec, worker_last_error_detail());
    ck_assert_int_eq(ec, 0);
    ck_assert_ptr_eq(ctx->model, m);
    /* Usage: everything the load took (the tensor and the plugin's scratch row). */
    ck_assert_uint_eq(bytes, wrk_vram_total(ctx->acc) - base);
    ck_assert_uint_eq(cuda_model_get_vram_usage(m), bytes);
    ck_assert_uint_eq(cuda_get_vram_usage(m), bytes);
    ck_assert_uint_ge(bytes, (uint64_t)TOY_VOCAB * TOY_VOCAB * (types[_i] == WP_DTYPE_F32 ? 4 : 2));
    ck_assert_uint_eq(wrk_vram_tagged(ctx->acc, WP_MEM_WEIGHTS),
                      (uint64_t)TOY_VOCAB * TOY_VOCAB * (types[_i] == WP_DTYPE_F32 ? 4 : 2));

    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    ck_assert_int_eq(worker_model_info(m, &info), 0);
    ck_assert_uint_eq(info.struct_size, sizeof info);
    ck_assert_str_eq(info.architecture, "toy");
    ck_assert_str_eq(info.name, "toy test model");
    ck_assert_str_eq(info.plugin, "toy");
    ck_assert_str_eq(info.plugin_version, "1.0");
    ck_assert_str_eq(info.quant_kind, types[_i] == WP_DTYPE_F32 ? "F32" : "F16");
    ck_assert_str_eq(info.tokenizer_kind, "llama");
    ck_assert_ptr_null(info.chat_template);
    ck_assert_uint_eq(info.vocab_size, TOY_VOCAB);
    ck_assert_uint_eq(info.context_length, 64);
    ck_assert_uint_eq(info.n_params, (uint64_t)TOY_VOCAB * TOY_VOCAB);
    ck_assert_uint_eq(info.weight_bytes, wrk_vram_tagged(ctx->acc, WP_MEM_WEIGHTS));

    ec = -1;
    ck_assert_msg(cuda_check_vram_residency(m, &ec), "residency: %s",
                  worker_last_error_detail());
    ck_assert_int_eq(ec, 0);
    check_forward(m, values, types[_i] == WP_DTYPE_F32 ? 0.0f : 1e-3f);

    cuda_unload_model(m);
    ck_assert_ptr_null(ctx->model);
    ck_assert_uint_eq(wrk_vram_total(ctx->acc), base);
    ck_assert_uint_eq(wrk_vram_count(ctx->acc), base_count);
    free(values);
}
END_TEST

/* An older caller's smaller WorkerModelInfo receives only the members it has room for. */
START_TEST(model_info_struct_size)
{
    toy_fixture f;
    WorkerModelInfo info;
    CudaModel *m;
    int ec;

    toy_fixture_init(&f);
    write_fixture(&f, NULL);
    ck_assert_ptr_nonnull(m = cuda_load_model(ctx, gguf, NULL, &ec));
    memset(&info, 0xab, sizeof info);
    info.struct_size = (uint32_t)offsetof(WorkerModelInfo, plugin);
    ck_assert_int_eq(worker_model_info(m, &info), 0);
    ck_assert_str_eq(info.architecture, "toy");
    ck_assert_uint_eq(info.struct_size, offsetof(WorkerModelInfo, plugin));
    {
        unsigned char *p = (unsigned char *)&info + offsetof(WorkerModelInfo, plugin);
        for (size_t i = 0; i < sizeof info - offsetof(WorkerModelInfo, plugin); i++)
            ck_assert_uint_eq(p[i], 0xab);
    }
    info.struct_size = 2;
    ck_assert_int_eq(worker_model_info(m, &info), CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_int_eq(worker_model_info(NULL, &info), CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_int_eq(worker_model_info(m, NULL), CUDA_ERROR_INVALID_PARAMETER);
    cuda_unload_model(m);
}
END_TEST

START_TEST(second_load_refused)
{
    toy_fixture f;
    float *values = NULL;
    CudaModel *m, *m2;
    uint64_t total, bytes = 99;
    int ec = -1;

    toy_fixture_init(&f);
    write_fixture(&f, &values);
    ck_assert_ptr_nonnull(m = cuda_load_model(ctx, gguf, NULL, &ec));
    total = wrk_vram_total(ctx->acc);
    m2 = cuda_load_model(ctx, gguf, &bytes, &ec);
    ck_assert_ptr_null(m2);
    ck_assert_int_eq(ec, CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_uint_eq(bytes, 0);
    ck_assert_ptr_nonnull(strstr(worker_last_error_detail(), "already holds model toy test model"));
    ck_assert_uint_eq(wrk_vram_total(ctx->acc), total);
    ck_assert_ptr_eq(ctx->model, m);
    check_forward(m, values, 0.0f);   /* the first model is untouched */
    cuda_unload_model(m);
    /* Once unloaded, the context takes a model again. */
    ck_assert_ptr_nonnull(m = cuda_load_model(ctx, gguf, NULL, &ec));
    cuda_unload_model(m);
    free(values);
}
END_TEST

START_TEST(missing_tensor)
{
    toy_fixture f;
    const char *words[] = {"toy.embd", "missing", "expected shape [32, 32]", gguf};
    toy_fixture_init(&f);
    f.omit_tensor = 1;
    write_fixture(&f, NULL);
    expect_load_failure(CUDA_ERROR_MODEL_LOAD_FAILED, words, 4);
}
END_TEST

START_TEST(misshaped_tensor)
{
    toy_fixture f;
    char want[64];
    const char *words[] = {"toy.embd", "expected shape [32, 32]", want};
    toy_fixture_init(&f);
    f.ne1 = 8 + seed % 16;   /* rows 8..23, never 32 */
    snprintf(want, sizeof want, "actual shape [32, %llu]", (unsigned long long)f.ne1);
    write_fixture(&f, NULL);
    expect_load_failure(CUDA_ERROR_MODEL_LOAD_FAILED, words, 3);
}
END_TEST

START_TEST(wrong_type)
{
    toy_fixture f;
    const char *words[] = {"toy.embd", "expected type F32|F16", "actual type Q8_0"};
    toy_fixture_init(&f);
    f.type = WP_DTYPE_Q8_0;
    write_fixture(&f, NULL);
    expect_load_failure(CUDA_ERROR_MODEL_LOAD_FAILED, words, 3);
}
END_TEST

START_TEST(no_tokenizer)
{
    toy_fixture f;
    const char *words[] = {"tokenizer"};
    toy_fixture_init(&f);
    f.omit_tokenizer = 1;
    write_fixture(&f, NULL);
    expect_load_failure(CUDA_ERROR_MODEL_LOAD_FAILED, words, 1);
}
END_TEST

START_TEST(unknown_architecture)
{
    toy_fixture f;
    const char *words[] = {"no plugin serves architecture 'mamba'", "served: toy"};
    toy_fixture_init(&f);
    f.arch = "mamba";
    write_fixture(&f, NULL);
    expect_load_failure(CUDA_ERROR_MODEL_LOAD_FAILED, words, 2);
}
END_TEST

START_TEST(not_a_gguf)
{
    const char *words[] = {gguf};
    char junk[256];
    for (size_t i = 0; i < sizeof junk - 1; i++) junk[i] = (char)('a' + (seed + i * 7) % 26);
    junk[sizeof junk - 1] = '\0';
    ck_assert_int_eq(ptu_write(gguf, junk), 0);
    expect_load_failure(CUDA_ERROR_MODEL_LOAD_FAILED, words, 1);
    ck_assert_int_eq(unlink(gguf), 0);
    expect_load_failure(CUDA_ERROR_MODEL_LOAD_FAILED, words, 1);
}
END_TEST

/* The failload plugin loads its tensor and allocates scratch, then fails: nothing of it
 * may remain (accountant, descriptors), and the context stays usable. */
START_TEST(failing_plugin_leaves_nothing)
{
    toy_fixture f;
    const char *words[] = {"failload", "refusing to load"};
    CudaModel *m;
    int ec;

    cuda_destroy(ctx);
    ctx = open_ctx("failload", NULL);
    toy_fixture_init(&f);
    write_fixture(&f, NULL);
    for (int i = 0; i < 3; i++) expect_load_failure(CUDA_ERROR_MODEL_LOAD_FAILED, words, 2);
    ck_assert_uint_eq(wrk_vram_total(ctx->acc), 0);
    /* Still usable: the same context loads through a good plugin afterwards. */
    wrk_plugins_close(ctx->plugins);
    ctx->plugins = NULL;
    {
        char d[512];
        wrk_plugin_settings s = {ptu_module_dir("good", d, sizeof d), NULL, NULL, 1};
        ck_assert_int_eq(wrk_plugins_open(&s, &ctx->plugins), 0);
    }
    ck_assert_ptr_nonnull(m = cuda_load_model(ctx, gguf, NULL, &ec));
    cuda_unload_model(m);
    ck_assert_uint_eq(wrk_vram_total(ctx->acc), 0);
}
END_TEST

START_TEST(out_of_memory_unwinds)
{
    toy_fixture f;
    const char *words[] = {"toy.embd"};
    toy_fixture_init(&f);
    write_fixture(&f, NULL);
    wrk_vram_set_limit(ctx->acc, wrk_vram_total(ctx->acc) + 100 + seed % 1000);
    expect_load_failure(CUDA_ERROR_OUT_OF_MEMORY, words, 1);
    wrk_vram_set_limit(ctx->acc, 0);
}
END_TEST

START_TEST(prefer_picks_plugin)
{
    toy_fixture f;
    float *values = NULL, logits[TOY_VOCAB];
    CudaModel *m;
    void *kv = NULL;
    int32_t tok = (int32_t)(seed % TOY_VOCAB);
    int ec;
    char d[1100], a[512], b[512];
    wrk_plugin_settings s = {d, "toy=toyalt", NULL, 1};

    snprintf(d, sizeof d, "%s:%s", ptu_module_dir("good", a, sizeof a),
             ptu_module_dir("dup", b, sizeof b));
    wrk_plugins_close(ctx->plugins);
    ctx->plugins = NULL;
    ck_assert_int_eq(wrk_plugins_open(&s, &ctx->plugins), 0);
    toy_fixture_init(&f);
    write_fixture(&f, &values);
    ck_assert_ptr_nonnull(m = cuda_load_model(ctx, gguf, NULL, &ec));
    ck_assert_str_eq(m->public_info.plugin, "toyalt");
    ck_assert_int_eq(m->plugin->kv_create(m->plugin_model, 4, &kv), 0);
    ck_assert_int_eq(m->plugin->forward(m->plugin_model, kv, &tok, 1, 0, logits, 0), 0);
    for (int v = 0; v < TOY_VOCAB; v++)   /* toyalt negates the row */
        ck_assert_float_eq(logits[v], -values[tok * TOY_VOCAB + v]);
    m->plugin->kv_free(m->plugin_model, kv);
    cuda_unload_model(m);
    free(values);
}
END_TEST

START_TEST(null_arguments)
{
    int ec = -1;
    uint64_t bytes = 5;
    ck_assert_ptr_null(cuda_load_model(NULL, gguf, &bytes, &ec));
    ck_assert_int_eq(ec, CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_uint_eq(bytes, 0);
    ck_assert_ptr_null(cuda_load_model(ctx, NULL, NULL, &ec));
    ck_assert_int_eq(ec, CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_ptr_null(cuda_load_model(ctx, "", NULL, NULL));
    cuda_unload_model(NULL);
    ck_assert_uint_eq(cuda_model_get_vram_usage(NULL), 0);
    ck_assert_uint_eq(cuda_get_vram_usage(NULL), 0);
    ec = -1;
    ck_assert(!cuda_check_vram_residency(NULL, &ec));
    ck_assert_int_eq(ec, CUDA_ERROR_INVALID_PARAMETER);
    ck_assert(!cuda_check_vram_residency(NULL, NULL));
}
END_TEST

/* Repeated load/unload keeps memory and descriptors flat. */
START_TEST(cycles_do_not_leak)
{
    toy_fixture f;
    int fds, ec;
    uint64_t total;
    toy_fixture_init(&f);
    write_fixture(&f, NULL);
    cuda_unload_model(cuda_load_model(ctx, gguf, NULL, &ec));
    fds = ptu_count_fds();
    total = wrk_vram_total(ctx->acc);
    for (int i = 0; i < 10; i++) {
        CudaModel *m = cuda_load_model(ctx, gguf, NULL, &ec);
        ck_assert_ptr_nonnull(m);
        cuda_unload_model(m);
    }
    ck_assert_int_eq(ptu_count_fds(), fds);
    ck_assert_uint_eq(wrk_vram_total(ctx->acc), total);
}
END_TEST

/* Copy bytes of a pattern into backend memory at p through the kernel library (host or
 * device memory alike), so a buffer shorter than promised shows (valgrind on the host). */
static void fill_backend(const wp_host *h, void *p, size_t bytes)
{
    unsigned char *pat = malloc(bytes);
    ck_assert_ptr_nonnull(pat);
    memset(pat, 0x5a, bytes);
    ck_assert_int_eq(h->ops->from_host(h, p, pat, bytes), 0);
    ck_assert_int_eq(h->ops->synchronize(h), 0);
    free(pat);
}

/* host->scratch (ABI 1.1): one buffer under the scratch tag, reused while big enough,
 * replaced (never added to) when a call needs more, the exact size when the rounded one is
 * refused, NULL with a detail over the limit, and gone after the unload. */
START_TEST(ops_scratch)
{
    toy_fixture f;
    uint64_t base = wrk_vram_total(ctx->acc), loaded, plugin_scratch, have, have2;
    size_t count;
    int ec = -1;
    void *p, *q;

    toy_fixture_init(&f);
    write_fixture(&f, NULL);
    CudaModel *m = cuda_load_model(ctx, gguf, NULL, &ec);
    ck_assert_msg(m != NULL, "load: %d %s", ec, worker_last_error_detail());
    const wp_host *h = &m->host;
    ck_assert_uint_ge(h->struct_size, offsetof(wp_host, scratch) + sizeof h->scratch);
    ck_assert_ptr_nonnull(h->scratch);
    loaded = wrk_vram_total(ctx->acc);
    count = wrk_vram_count(ctx->acc);
    plugin_scratch = wrk_vram_tagged(ctx->acc, WP_MEM_SCRATCH); /* the toy's own row */

    p = h->scratch(h, 1000);
    ck_assert_msg(p != NULL, "scratch: %s", wrk_error_detail());
    have = wrk_vram_tagged(ctx->acc, WP_MEM_SCRATCH) - plugin_scratch;
    ck_assert_uint_ge(have, 1000);
    ck_assert_uint_eq(wrk_vram_total(ctx->acc), loaded + have);
    ck_assert_uint_eq(wrk_vram_count(ctx->acc), count + 1);
    fill_backend(h, p, 1000);
    ck_assert_ptr_eq(h->scratch(h, 10), p);
    ck_assert_ptr_eq(h->scratch(h, (size_t)have), p);
    ck_assert_uint_eq(wrk_vram_total(ctx->acc), loaded + have);

    q = h->scratch(h, (size_t)have + 1);
    ck_assert_msg(q != NULL, "scratch: %s", wrk_error_detail());
    have2 = wrk_vram_tagged(ctx->acc, WP_MEM_SCRATCH) - plugin_scratch;
    ck_assert_uint_gt(have2, have);
    ck_assert_uint_eq(wrk_vram_count(ctx->acc), count + 1);
    fill_backend(h, q, (size_t)have + 1);

    /* room for the exact size only */
    wrk_vram_set_limit(ctx->acc, loaded + have2 + 4096);
    q = h->scratch(h, (size_t)have2 + 100);
    ck_assert_msg(q != NULL, "scratch: %s", wrk_error_detail());
    ck_assert_uint_eq(wrk_vram_tagged(ctx->acc, WP_MEM_SCRATCH), plugin_scratch + have2 + 100);
    /* no room: NULL, the accountant's detail, and the old buffer released */
    ck_assert_ptr_null(h->scratch(h, (size_t)have2 * 4));
    ck_assert_msg(strstr(wrk_error_detail(), "ops scratch") != NULL, "detail: %s",
                  wrk_error_detail());
    ck_assert_uint_eq(wrk_vram_total(ctx->acc), loaded);
    wrk_vram_set_limit(ctx->acc, 0);
    ck_assert_ptr_nonnull(h->scratch(h, 1));

    cuda_unload_model(m);
    ck_assert_uint_eq(wrk_vram_total(ctx->acc), base);
}
END_TEST

/* host->launch_flags (ABI 1.3): 0 on the host backend; on CUDA what the kernel library
 * launches with (WP_LAUNCH_PDL where it uses programmatic dependent launch), no other bit. */
START_TEST(host_launch_flags)
{
    toy_fixture f;
    int ec = -1;
    toy_fixture_init(&f);
    write_fixture(&f, NULL);
    CudaModel *m = cuda_load_model(ctx, gguf, NULL, &ec);
    ck_assert_msg(m != NULL, "load: %d %s", ec, worker_last_error_detail());
    const wp_host *h = &m->host;
    ck_assert_uint_ge(h->struct_size, offsetof(wp_host, launch_flags) + sizeof h->launch_flags);
#ifdef TEST_CUDA
    ck_assert_uint_eq(h->launch_flags, wrk_ops_cuda_launch_flags());
    ck_assert_uint_eq(h->launch_flags & ~WP_LAUNCH_PDL, 0);
#else
    ck_assert_uint_eq(h->launch_flags, 0);
#endif
    cuda_unload_model(m);
}
END_TEST

static Suite *model_suite(void)
{
    Suite *s = suite_create("model-" DEVICE);
    TCase *tc = tcase_create("load");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, load_forward_unload, 0, 2);
    tcase_add_test(tc, model_info_struct_size);
    tcase_add_test(tc, second_load_refused);
    tcase_add_test(tc, missing_tensor);
    tcase_add_test(tc, misshaped_tensor);
    tcase_add_test(tc, wrong_type);
    tcase_add_test(tc, no_tokenizer);
    tcase_add_test(tc, unknown_architecture);
    tcase_add_test(tc, not_a_gguf);
    tcase_add_test(tc, failing_plugin_leaves_nothing);
    tcase_add_test(tc, out_of_memory_unwinds);
    tcase_add_test(tc, prefer_picks_plugin);
    tcase_add_test(tc, null_arguments);
    tcase_add_test(tc, cycles_do_not_leak);
    tcase_add_test(tc, ops_scratch);
    tcase_add_test(tc, host_launch_flags);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr;
    int failed;
#ifdef TEST_CUDA
    if (cuda_get_device_count() == 0) {
        printf("SKIP: no CUDA device\n");
        return 77;
    }
#endif
    srand((unsigned)time(NULL));
    sr = srunner_create(model_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
