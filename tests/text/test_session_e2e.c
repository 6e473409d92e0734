/*
 * test_session_e2e.c - inference sessions end to end on the default model
 * (models/stories260K.gguf, the llama plugin): on the host backend always, on CUDA when a
 * device is present (exit 77 only when neither the model nor a backend can run).
 *
 * Checks: greedy continuation of "Once upon a time" as llama2.c gives it; the same seed
 * gives byte-identical text twice in one process and in a second process (exec); another
 * seed gives other text; a stop sequence; the KV cache out of VRAM is a clean
 * CUDA_ERROR_OUT_OF_MEMORY and the model keeps serving; freeing a job returns every byte.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "worker_ext.h"
#include "core/wrk_context.h"
#include "core/wrk_vram.h"
#include "session/job_spare.h"

static char model_path[4096];

static int have_model(void)
{
    const char *top = getenv("top_srcdir");
    snprintf(model_path, sizeof model_path, "%s/models/stories260K.gguf", top ? top : ".");
    return access(model_path, R_OK) == 0;
}

/* Run one job to the end; returns the text (malloc'd). */
static char *generate(CudaModel *m, const char *prompt, const WorkerSamplingParams *p,
                      WorkerStopReason *why)
{
    int code = -1, idx = -1, expect = 0;
    char piece[256], *out = calloc(1, 65536);
    size_t o = 0;
    InferenceResult *r = worker_inference_start_ex(m, prompt, p, &code);
    ck_assert_msg(r != NULL, "start: %s (%s)", cuda_error_message(code),
                  worker_last_error_detail());
    while (cuda_inference_next_token(r, piece, sizeof piece, &idx, &code)) {
        ck_assert_int_eq(idx, expect++);
        size_t len = strlen(piece);
        ck_assert(o + len < 65536);
        memcpy(out + o, piece, len);
        o += len;
    }
    ck_assert_msg(code == 0, "next_token: %s (%s)", cuda_error_message(code),
                  worker_last_error_detail());
    if (why) *why = worker_inference_stop_reason(r);
    cuda_inference_free(r);
    return out;
}

/* The seeded job compared across runs and processes. */
static void seeded_params(WorkerSamplingParams *p, uint64_t seed)
{
    worker_sampling_defaults(p);
    p->temperature = 0.9f;
    p->top_k = 40;
    p->top_p = 0.95f;
    p->max_tokens = 120;
    p->seed = seed;
}

/* Child mode (argv: --generate DEVICE): print the seeded job's text. A fresh process
 * (exec, not just fork: CUDA does not survive fork) shares nothing but the file. */
static int child_generate(const char *device)
{
    int code = 0;
    WorkerSamplingParams p;
    CudaContext *ctx = worker_init(device, &code);
    CudaModel *m = ctx ? cuda_load_model(ctx, model_path, NULL, &code) : NULL;
    InferenceResult *r;
    char piece[256];
    int idx = 0;
    if (!m) return 3;
    seeded_params(&p, 1234);
    /* No ck_assert here: Check's asserts only work inside a running test. */
    r = worker_inference_start_ex(m, "Once upon a time", &p, &code);
    if (!r) return 4;
    while (cuda_inference_next_token(r, piece, sizeof piece, &idx, &code)) fputs(piece, stdout);
    cuda_inference_free(r);
    if (code != 0) return 5;
    cuda_unload_model(m);
    cuda_destroy(ctx);
    return 0;
}

static void run_backend(const char *device)
{
    int code = 0;
    uint64_t vram = 0, before;
    CudaContext *ctx = worker_init(device, &code);
    CudaModel *m;
    WorkerSamplingParams p;
    WorkerStopReason why;
    char *a, *b, *c;

    ck_assert_msg(ctx != NULL, "worker_init(%s): %s", device, worker_last_error_detail());
    m = cuda_load_model(ctx, model_path, &vram, &code);
    ck_assert_msg(m != NULL, "load: %s", worker_last_error_detail());
    before = wrk_vram_total(ctx->acc);

    /* Greedy: the continuation llama2.c prints for this model. */
    worker_sampling_defaults(&p);
    p.temperature = 0.0f;
    p.max_tokens = 40;
    a = generate(m, "Once upon a time", &p, &why);
    printf("[%s] greedy: Once upon a time%s\n", device, a);
    ck_assert_msg(strncmp(a, ", there was a little girl named Lily", 36) == 0, "got '%s'", a);
    free(a);

    /* Stop sequence. */
    {
        const char *stops[] = { "Lily" };
        p.n_stop = 1;
        p.stop = stops;
        a = generate(m, "Once upon a time", &p, &why);
        ck_assert_str_eq(a, ", there was a little girl named ");
        ck_assert_int_eq(why, WORKER_STOP_STOP_SEQUENCE);
        free(a);
        p.n_stop = 0;
        p.stop = NULL;
    }

    /* Seeded sampling: same seed, same text, in this process and in another one. */
    seeded_params(&p, 1234);
    a = generate(m, "Once upon a time", &p, &why);
    b = generate(m, "Once upon a time", &p, &why);
    ck_assert_str_eq(a, b);
    seeded_params(&p, 1235);
    c = generate(m, "Once upon a time", &p, &why);
    ck_assert_str_ne(a, c);
    printf("[%s] seed 1234: %s\n", device, a);
    {
        char self[4096], cmd[8192], buf[65536];
        ssize_t k = readlink("/proc/self/exe", self, sizeof self - 1);
        size_t got = 0, r;
        FILE *f;
        ck_assert(k > 0);
        self[k] = '\0';
        snprintf(cmd, sizeof cmd, "'%s' --generate %s 2>/dev/null", self, device);
        fflush(NULL);
        f = popen(cmd, "r");
        ck_assert_ptr_nonnull(f);
        while ((r = fread(buf + got, 1, sizeof buf - 1 - got, f)) > 0) got += r;
        buf[got] = '\0';
        ck_assert_int_eq(pclose(f), 0);
        ck_assert_str_eq(buf, a);
    }
    free(a);
    free(b);
    free(c);
    /* jobs freed every byte but the cache kept for the next job (job_spare.h) */
    {
        uint64_t spare = 0;
        ck_assert_ptr_nonnull(m->spare.kv);
        ck_assert_int_eq(m->plugin->kv_size(m->plugin_model, m->spare.kv_n_ctx, &spare), 0);
        ck_assert_uint_eq(wrk_vram_total(ctx->acc), before + spare);
        wrk_spare_release(m);
        ck_assert_uint_eq(wrk_vram_total(ctx->acc), before);
    }

    /* KV cache out of memory: clean error, the model serves the next job. */
    wrk_vram_set_limit(ctx->acc, before + 1024);
    {
        InferenceResult *r = cuda_inference_start(m, "Once upon a time", 400, 0.0f, 1, &code);
        ck_assert_ptr_null(r);
        ck_assert_int_eq(code, CUDA_ERROR_OUT_OF_MEMORY);
        ck_assert_uint_eq(wrk_vram_total(ctx->acc), before);
    }
    wrk_vram_set_limit(ctx->acc, 0);
    p.temperature = 0.0f;
    p.max_tokens = 10;
    a = generate(m, "Once upon a time", &p, &why);
    ck_assert_uint_gt(strlen(a), 0);
    free(a);

    cuda_unload_model(m);
    cuda_destroy(ctx);
}

START_TEST(test_host) { run_backend("host"); }
END_TEST

START_TEST(test_cuda) { run_backend("cuda:0"); }
END_TEST

int main(int argc, char **argv)
{
    Suite *s;
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;

    if (!have_model()) {
        fprintf(stderr, "skip: %s not found\n", model_path);
        return 77;
    }
    if (argc == 3 && strcmp(argv[1], "--generate") == 0) return child_generate(argv[2]);
    s = suite_create("session_e2e");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_host);
    if (cuda_get_device_count() > 0) tcase_add_test(tc, test_cuda);
    else fprintf(stderr, "no CUDA device: host backend only\n");
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
