/*
 * test_session_e2e.c - inference sessions end to end on the default model
 * (models/stories260K.gguf, the llama plugin): on the host backend always, on CUDA when a
 * device is present (exit 77 only when neither the model nor a backend can run).
 *
 * Checks: greedy continuation of "Once upon a time" as llama2.c gives it; the same seed
 * gives byte-identical text twice in one process and in a second process (fork); another
 * seed gives other text; a stop sequence; the KV cache out of VRAM is a clean
 * CUDA_ERROR_OUT_OF_MEMORY and the model keeps serving; freeing a job returns every byte.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "worker_ext.h"
#include "core/wrk_context.h"
#include "core/wrk_vram.h"

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
    p.temperature = 0.9f;
    p.top_k = 40;
    p.top_p = 0.95f;
    p.max_tokens = 120;
    p.seed = 1234;
    a = generate(m, "Once upon a time", &p, &why);
    b = generate(m, "Once upon a time", &p, &why);
    ck_assert_str_eq(a, b);
    p.seed = 1235;
    c = generate(m, "Once upon a time", &p, &why);
    ck_assert_str_ne(a, c);
    printf("[%s] seed 1234: %s\n", device, a);
    {
        int fds[2];
        pid_t pid;
        char buf[65536];
        size_t got = 0;
        ssize_t k;
        int status = 0;
        ck_assert_int_eq(pipe(fds), 0);
        fflush(NULL);
        pid = fork();
        ck_assert(pid >= 0);
        if (pid == 0) {
            /* A fresh context and model in the child: nothing shared but the file. */
            int cc = 0;
            CudaContext *c2 = worker_init(device, &cc);
            CudaModel *m2 = c2 ? cuda_load_model(c2, model_path, NULL, &cc) : NULL;
            char *t;
            close(fds[0]);
            if (!m2) _exit(3);
            p.seed = 1234;
            t = generate(m2, "Once upon a time", &p, NULL);
            if (write(fds[1], t, strlen(t)) < 0) _exit(4);
            cuda_unload_model(m2);
            cuda_destroy(c2);
            _exit(0);
        }
        close(fds[1]);
        while ((k = read(fds[0], buf + got, sizeof buf - 1 - got)) > 0) got += (size_t)k;
        buf[got] = '\0';
        close(fds[0]);
        waitpid(pid, &status, 0);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child failed");
        ck_assert_str_eq(buf, a);
    }
    free(a);
    free(b);
    free(c);
    ck_assert_uint_eq(wrk_vram_total(ctx->acc), before);   /* jobs freed every byte */

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

int main(void)
{
    Suite *s = suite_create("session_e2e");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;

    if (!have_model()) {
        fprintf(stderr, "skip: %s not found\n", model_path);
        return 77;
    }
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
