/*
 * test_session_pipeline.c - pipelined greedy decode (wp_plugin.greedy_queue/greedy_collect,
 * ABI 1.3; runtime/session/greedy_pipe.c) end to end on the default model
 * (models/stories260K.gguf, the llama plugin, host backend). The model's descriptor is
 * replaced by a copy whose greedy members count, record and, on demand, fail the calls
 * before passing them on (the "spy"), so that each test can say what the runtime queued.
 *
 *   - the same job pipelined, with WORKER_GREEDY_PIPELINE=0 (forward_greedy) and with
 *     WORKER_DEVICE_GREEDY=0 (host sampling): the same device ids, text, counts, positions
 *     and stop reason over 200 tokens; every decode step of the pipelined job chained and
 *     queued ahead, none wasted at a max_tokens end;
 *   - a job ended by end of generation or by a stop sequence with a step in flight: that
 *     step is collected and discarded before the cache goes to the next job, whose text on
 *     the kept cache is that of a fresh context;
 *   - max_tokens 1, 2 and 3, and a job that fills the context: nothing queued beyond
 *     max_tokens or n_ctx;
 *   - failures: a step queued ahead that fails is reported (with its position, as the
 *     synchronous path reports the same failure) only when the job needs it, and not at
 *     all when the job ends first; an id outside the vocabulary is refused; neither cache
 *     is kept for the next job;
 *   - a descriptor sized as ABI 1.2 is accepted and decodes without the pipeline; one with
 *     only half of the pair is refused.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_run.h"
#include "worker_ext.h"
#include "core/wrk_context.h"
#include "core/wrk_error.h"
#include "plugin/registry.h"
#include "session/job_spare.h"
#include "session/session.h"

#define PROMPT "Once upon a time"
/* </s> of the model's vocabulary */
#define ID_EOS 2
#define MAX_IDS 1024

static char model_path[4096];

static int have_model(void)
{
    const char *top = getenv("top_srcdir");
    snprintf(model_path, sizeof model_path, "%s/models/stories260K.gguf", top ? top : ".");
    return access(model_path, R_OK) == 0;
}

/* ---- the spy: the llama descriptor with its greedy members wrapped ---- */

static struct spy {
    const wp_plugin *real;
    wp_plugin desc;
    int queues, chained, collects, greedy_calls;
    int max_queue_pos;        /* the highest position greedy_queue was asked for */
    int fail_queue_at;        /* greedy_queue at this position fails (-1: never) */
    int fail_greedy_at;       /* forward_greedy at this position fails (-1: never) */
    int bad_id_at;            /* the collect with this index answers an id out of range */
    int eos_at;               /* the collect or forward_greedy call with this index answers
                                 </s> (the model never ends its stories by itself) */
    int32_t ids[MAX_IDS];     /* ids from forward_greedy or greedy_collect, in order */
    int n_ids;
} S;

static void spy_record(int32_t id)
{
    if (S.n_ids < MAX_IDS)
        S.ids[S.n_ids++] = id;
}

static int spy_queue(void *model, void *kv, int32_t token, int pos)
{
    if (pos > S.max_queue_pos)   /* every attempt, refused ones too */
        S.max_queue_pos = pos;
    if (pos == S.fail_queue_at)
        return wrk_error(CUDA_ERROR_INFERENCE_FAILED, "spy: the step at %d fails", pos);
    int rc = S.real->greedy_queue(model, kv, token, pos);
    if (rc == 0) {
        S.queues++;
        S.chained += token == WP_TOKEN_CHAINED;
    }
    return rc;
}

static int spy_collect(void *model, void *kv, int32_t *next)
{
    int rc = S.real->greedy_collect(model, kv, next);
    if (rc == 0 && S.collects == S.bad_id_at)
        *next = 512 + 3;   /* the vocabulary is 512 */
    if (rc == 0 && S.collects == S.eos_at)
        *next = ID_EOS;
    S.collects++;
    if (rc == 0)
        spy_record(*next);
    return rc;
}

static int spy_forward_greedy(void *model, void *kv, int32_t token, int pos, int32_t *next)
{
    if (pos == S.fail_greedy_at)
        return wrk_error(CUDA_ERROR_INFERENCE_FAILED, "spy: the step at %d fails", pos);
    int rc = S.real->forward_greedy(model, kv, token, pos, next);
    if (rc == 0 && S.greedy_calls == S.eos_at)
        *next = ID_EOS;
    S.greedy_calls++;
    if (rc == 0)
        spy_record(*next);
    return rc;
}

static void spy_reset(void)
{
    S.queues = S.chained = S.collects = S.greedy_calls = S.n_ids = 0;
    S.max_queue_pos = -1;
    S.fail_queue_at = S.fail_greedy_at = S.bad_id_at = S.eos_at = -1;
}

/* Put the spy between the runtime and the plugin of m (restored by spy_off). */
static void spy_on(CudaModel *m)
{
    S.real = m->plugin;
    S.desc = *m->plugin;
    S.desc.greedy_queue = spy_queue;
    S.desc.greedy_collect = spy_collect;
    S.desc.forward_greedy = spy_forward_greedy;
    m->plugin = &S.desc;
    spy_reset();
}

static void spy_off(CudaModel *m)
{
    wrk_spare_release(m);   /* the spare cache is freed through the real plugin */
    m->plugin = S.real;
}

/* ---- jobs ---- */

typedef struct job {
    char text[16384];
    int n_pieces, n_generated, pos, n_device, n_ahead, n_dropped, pipelined;
    int queued_at_end;        /* steps queued and not collected when the job ended */
    int code;
    char detail[1024];
    WorkerStopReason stop;
    int32_t ids[MAX_IDS];
    int n_ids;
} job;

/* Run a greedy job on prompt to its end (or failure) with the given switches (NULL: unset);
 * ignore_eos: run past end-of-generation tokens. The spy's view is checked and recorded
 * when m goes through it. */
static void run(CudaModel *m, const char *prompt, int max_tokens, int ignore_eos,
                const char **stops, int n_stop, const char *pipeline_env,
                const char *device_env, job *out)
{
    WorkerSamplingParams p;
    char piece[256];
    int code = -1, idx = -1;
    const int spied = m->plugin == &S.desc;
    worker_sampling_defaults(&p);
    p.temperature = 0.0f;
    p.max_tokens = max_tokens;
    p.ignore_eos = ignore_eos;
    p.stop = stops;
    p.n_stop = n_stop;
    memset(out, 0, sizeof *out);
    if (pipeline_env) setenv("WORKER_GREEDY_PIPELINE", pipeline_env, 1);
    if (device_env) setenv("WORKER_DEVICE_GREEDY", device_env, 1);
    S.n_ids = 0;
    InferenceResult *r = worker_inference_start_ex(m, prompt, &p, &code);
    unsetenv("WORKER_GREEDY_PIPELINE");
    unsetenv("WORKER_DEVICE_GREEDY");
    ck_assert_msg(r != NULL, "start: %d %s", code, worker_last_error_detail());
    while (cuda_inference_next_token(r, piece, sizeof piece, &idx, &code)) {
        ck_assert_int_eq(idx, out->n_pieces);
        ck_assert_uint_lt(strlen(out->text) + strlen(piece), sizeof out->text);
        strcat(out->text, piece);
        out->n_pieces++;
    }
    out->code = code;
    snprintf(out->detail, sizeof out->detail, "%s", worker_last_error_detail());
    out->n_generated = r->n_generated;
    out->pos = r->pos;
    out->n_device = r->n_device_greedy;
    out->n_ahead = r->n_ahead;
    out->pipelined = r->pipelined;
    out->stop = worker_inference_stop_reason(r);
    out->queued_at_end = r->n_queued;
    if (spied)
        ck_assert_int_eq(S.queues - S.collects, r->n_queued);
    const int collects = S.collects;
    cuda_inference_free(r);
    if (!spied)
        return;
    /* what the job's end collected and discarded: nothing is left outstanding */
    out->n_dropped = S.collects - collects;
    ck_assert_int_eq(S.queues, S.collects);
    memcpy(out->ids, S.ids, sizeof out->ids);
    out->n_ids = S.n_ids;
}

static void expect_same(const job *a, const job *b, const char *what)
{
    ck_assert_msg(strcmp(a->text, b->text) == 0, "%s: '%s' vs '%s'", what, a->text, b->text);
    ck_assert_int_eq(a->n_pieces, b->n_pieces);
    ck_assert_int_eq(a->n_generated, b->n_generated);
    ck_assert_int_eq(a->pos, b->pos);
    ck_assert_int_eq(a->stop, b->stop);
    ck_assert_int_eq(a->code, b->code);
}

static CudaContext *ctx;
static CudaModel *model;

static void setup(void)
{
    int code = 0;
    ctx = worker_init("host", &code);
    ck_assert_msg(ctx != NULL, "worker_init: %s", worker_last_error_detail());
    model = cuda_load_model(ctx, model_path, NULL, &code);
    ck_assert_msg(model != NULL, "load: %s", worker_last_error_detail());
    ck_assert_str_eq(model->plugin->name, "llama");
    ck_assert_msg(WRK_PLUGIN_HAS(model->plugin, greedy_queue) &&
                  WRK_PLUGIN_HAS(model->plugin, greedy_collect), "llama lacks the pipeline");
    spy_on(model);
}

static void teardown(void)
{
    spy_off(model);
    cuda_unload_model(model);
    cuda_destroy(ctx);
}

/* ---- tests ---- */

/* 300 tokens (on past end-of-generation tokens: ignore_eos) pipelined, synchronous and
 * sampled on the host. */
START_TEST(test_same_as_synchronous)
{
    job *pipe = calloc(1, sizeof *pipe), *sync = calloc(1, sizeof *sync),
        *host = calloc(1, sizeof *host);
    const int N = 300;
    spy_reset();
    run(model, PROMPT, N, 1, NULL, 0, NULL, NULL, pipe);
    const int queues = S.queues, chained = S.chained, collects = S.collects,
              max_pos = S.max_queue_pos, greedy_calls = S.greedy_calls;
    spy_reset();
    run(model, PROMPT, N, 1, NULL, 0, "0", NULL, sync);
    const int sync_queues = S.queues, sync_greedy = S.greedy_calls;
    spy_reset();
    run(model, PROMPT, N, 1, NULL, 0, NULL, "0", host);
    printf("pipelined: %d tokens, stop %d: %s\n", pipe->n_generated, pipe->stop, pipe->text);

    ck_assert_int_eq(pipe->code, 0);
    ck_assert_int_eq(pipe->pipelined, 1);
    ck_assert_int_eq(sync->pipelined, 0);
    ck_assert_int_eq(host->pipelined, 0);
    expect_same(pipe, sync, "pipelined vs forward_greedy");
    expect_same(pipe, host, "pipelined vs host sampling");
    ck_assert_int_eq(pipe->n_device, sync->n_device);
    ck_assert_int_eq(host->n_device, 0);
    /* the same device ids, one by one */
    ck_assert_int_eq(pipe->n_ids, sync->n_ids + pipe->n_dropped);
    for (int i = 0; i < sync->n_ids; i++)
        ck_assert_msg(pipe->ids[i] == sync->ids[i], "id %d: pipelined %d, sync %d", i,
                      pipe->ids[i], sync->ids[i]);
    ck_assert_int_eq(sync->n_ids, sync->n_generated - 1);
    ck_assert_int_eq(sync_greedy, sync->n_generated - 1);
    ck_assert_int_eq(sync_queues, 0);
    /* the pipelined job: every step through greedy_queue, all but the first chained */
    ck_assert_int_eq(greedy_calls, 0);
    ck_assert_int_eq(pipe->n_device, pipe->n_generated - 1);
    ck_assert_int_eq(collects, queues);
    ck_assert_int_eq(chained, queues - 1);
    /* a max_tokens end: nothing queued that it excluded, nothing wasted */
    ck_assert_int_eq(pipe->stop, WORKER_STOP_MAX_TOKENS);
    ck_assert_int_eq(pipe->n_generated, N);
    ck_assert_int_eq(queues, N - 1);
    ck_assert_int_eq(pipe->n_dropped, 0);
    ck_assert_int_eq(max_pos, pipe->pos - 1);
    ck_assert_int_eq(pipe->n_ahead, queues - 1);
    free(pipe);
    free(sync);
    free(host);
}
END_TEST

/* A second job on the cache the first left (kept by kv_reset) against a fresh context. */
static void check_next_job_as_fresh(const char *what)
{
    job *kept = calloc(1, sizeof *kept), *fresh = calloc(1, sizeof *fresh);
    ck_assert_ptr_nonnull(model->spare.kv);          /* the ended job's cache was kept */
    spy_reset();
    run(model, "One day, a little", 60, 1, NULL, 0, NULL, NULL, kept);
    ck_assert_int_eq(kept->pipelined, 1);
    ck_assert_int_eq(S.queues, S.collects);
    {
        int code = 0;
        CudaContext *c2 = worker_init("host", &code);
        CudaModel *m2 = cuda_load_model(c2, model_path, NULL, &code);
        ck_assert_ptr_nonnull(m2);
        ck_assert_ptr_null(m2->spare.kv);
        run(m2, "One day, a little", 60, 1, NULL, 0, NULL, NULL, fresh);
        cuda_unload_model(m2);
        cuda_destroy(c2);
    }
    ck_assert_int_eq(fresh->pipelined, 1);
    expect_same(kept, fresh, what);
    ck_assert_int_eq(kept->n_generated, 60);
    free(kept);
    free(fresh);
}

/* End of generation (the 41st device id made </s> by the spy, on either path) with the step
 * after it in flight. */
START_TEST(test_eos_with_step_in_flight)
{
    job *a = calloc(1, sizeof *a), *s = calloc(1, sizeof *s);
    spy_reset();
    S.eos_at = 40;
    run(model, PROMPT, 500, 0, NULL, 0, NULL, NULL, a);
    ck_assert_int_eq(a->code, 0);
    ck_assert_int_eq(a->stop, WORKER_STOP_EOS);
    ck_assert_int_eq(a->n_generated, 42);            /* the prefill's token and 41 ids */
    ck_assert_int_eq(a->ids[40], ID_EOS);
    ck_assert_int_eq(a->queued_at_end, 1);           /* the step after the EOS token */
    ck_assert_int_eq(a->n_dropped, 1);               /* collected and discarded at free */
    ck_assert_int_eq(S.queues, S.collects);
    ck_assert_int_eq(S.max_queue_pos, a->pos);       /* one past the last step needed */
    check_next_job_as_fresh("after EOS");
    spy_reset();
    S.eos_at = 40;
    run(model, PROMPT, 500, 0, NULL, 0, "0", NULL, s);
    ck_assert_int_eq(S.greedy_calls, 41);
    expect_same(a, s, "EOS: pipelined vs synchronous");
    free(a);
    free(s);
}
END_TEST

/* A stop sequence with the step after it in flight. */
START_TEST(test_stop_sequence_with_step_in_flight)
{
    job *a = calloc(1, sizeof *a), *s = calloc(1, sizeof *s);
    const char *stops[] = { "Lily" };
    spy_reset();
    run(model, PROMPT, 100, 0, stops, 1, NULL, NULL, a);
    ck_assert_int_eq(a->code, 0);
    ck_assert_int_eq(a->stop, WORKER_STOP_STOP_SEQUENCE);
    ck_assert_str_eq(a->text, ", there was a little girl named ");
    ck_assert_int_eq(a->queued_at_end, 1);
    ck_assert_int_eq(a->n_dropped, 1);
    check_next_job_as_fresh("after a stop sequence");
    run(model, PROMPT, 100, 0, stops, 1, "0", NULL, s);
    expect_same(a, s, "stop sequence: pipelined vs synchronous");
    free(a);
    free(s);
}
END_TEST

/* max_tokens 1, 2, 3: 0, 1 and 2 steps, none beyond; the text as without the pipeline. */
START_TEST(test_short_jobs)
{
    job *a = calloc(1, sizeof *a), *s = calloc(1, sizeof *s);
    for (int n = 1; n <= 3; n++) {
        spy_reset();
        run(model, PROMPT, n, 0, NULL, 0, NULL, NULL, a);
        ck_assert_int_eq(a->n_generated, n);
        ck_assert_int_eq(a->stop, WORKER_STOP_MAX_TOKENS);
        ck_assert_int_eq(S.queues, n - 1);
        ck_assert_int_eq(S.chained, n > 1 ? n - 2 : 0);
        ck_assert_int_eq(a->n_dropped, 0);
        ck_assert_int_eq(a->n_device, n - 1);
        ck_assert_int_eq(S.max_queue_pos, n > 1 ? a->pos - 1 : -1);
        run(model, PROMPT, n, 0, NULL, 0, "0", NULL, s);
        expect_same(a, s, "short job");
    }
    free(a);
    free(s);
}
END_TEST

/* A job that fills the 512 positions: the last step queued is at 511. */
START_TEST(test_context_full)
{
    job *a = calloc(1, sizeof *a), *s = calloc(1, sizeof *s);
    /* a prompt of many tokens, so the context fills before the story ends */
    char prompt[4096] = "";
    for (int i = 0; i < 30; i++)
        strcat(prompt, "Tom and Lily played in the park. ");
    spy_reset();
    run(model, prompt, 2000, 1, NULL, 0, NULL, NULL, a);
    printf("context full after %d tokens at position %d\n", a->n_generated, a->pos);
    ck_assert_int_eq(a->code, 0);
    ck_assert_int_eq(a->stop, WORKER_STOP_CONTEXT_FULL);
    ck_assert_int_eq(a->pos, 512);
    ck_assert_int_eq(S.max_queue_pos, 511);
    ck_assert_int_eq(a->queued_at_end, 0);
    ck_assert_int_eq(S.queues, a->n_generated - 1);
    ck_assert_ptr_nonnull(model->spare.kv);          /* nothing refused: the cache is kept */
    run(model, prompt, 2000, 1, NULL, 0, "0", NULL, s);
    expect_same(a, s, "context full");
    free(a);
    free(s);
}
END_TEST

/* A step queued ahead fails at position X: the tokens before it are delivered, then the job
 * fails with "decode at position X", as the synchronous path fails when forward_greedy does
 * at X; neither cache is kept. */
START_TEST(test_failure_reported_when_needed)
{
    job *a = calloc(1, sizeof *a), *s = calloc(1, sizeof *s);
    int np = 0;
    {
        size_t n = 0;
        ck_assert_int_eq(worker_tokenize(model, PROMPT, 1, NULL, 0, &n),
                         CUDA_ERROR_INVALID_PARAMETER);
        np = (int)n;
    }
    const int X = np + 10;
    char want[128];
    snprintf(want, sizeof want, "decode at position %d: spy: the step at %d fails", X, X);
    spy_reset();
    S.fail_queue_at = X;
    run(model, PROMPT, 100, 0, NULL, 0, NULL, NULL, a);
    ck_assert_int_eq(a->code, CUDA_ERROR_INFERENCE_FAILED);
    ck_assert_msg(strstr(a->detail, want) != NULL, "detail '%s'", a->detail);
    ck_assert_int_eq(a->pos, X);                     /* every step before X was decoded */
    ck_assert_int_eq(S.queues, S.collects);
    ck_assert_ptr_null(model->spare.kv);
    spy_reset();
    S.fail_greedy_at = X;
    run(model, PROMPT, 100, 0, NULL, 0, "0", NULL, s);
    ck_assert_msg(strstr(s->detail, want) != NULL, "detail '%s'", s->detail);
    expect_same(a, s, "failure");
    ck_assert_int_eq(a->n_generated, X - np + 1);
    ck_assert_ptr_null(model->spare.kv);
    free(a);
    free(s);
}
END_TEST

/* The step queued ahead of a stop fails: never needed, never reported; the cache, which
 * may hold half of it, is not kept. */
START_TEST(test_failure_not_needed)
{
    job *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    const char *stops[] = { "Lily" };
    spy_reset();
    run(model, PROMPT, 100, 0, stops, 1, NULL, NULL, a);
    wrk_spare_release(model);
    spy_reset();
    S.fail_queue_at = a->pos;                        /* the step after the stop's token */
    run(model, PROMPT, 100, 0, stops, 1, NULL, NULL, b);
    expect_same(a, b, "failure not needed");
    ck_assert_int_eq(b->code, 0);
    ck_assert_int_eq(b->queued_at_end, 0);
    ck_assert_int_eq(b->n_ahead, a->n_ahead - 1);
    ck_assert_ptr_null(model->spare.kv);
    free(a);
    free(b);
}
END_TEST

/* greedy_collect answers an id outside the vocabulary: refused, never looked up. */
START_TEST(test_bad_id)
{
    job *a = calloc(1, sizeof *a);
    spy_reset();
    S.bad_id_at = 4;
    run(model, PROMPT, 100, 0, NULL, 0, NULL, NULL, a);
    ck_assert_int_eq(a->code, CUDA_ERROR_INFERENCE_FAILED);
    ck_assert_msg(strstr(a->detail, "greedy_collect chose id 515 outside the vocabulary of "
                                    "512") != NULL, "detail '%s'", a->detail);
    ck_assert_int_eq(a->n_device, 4);
    ck_assert_int_eq(S.queues, S.collects);
    ck_assert_ptr_null(model->spare.kv);
    free(a);
}
END_TEST

/* An ABI 1.2 descriptor (no greedy_queue/greedy_collect inside its struct_size, though set
 * here to show they are never read) is accepted and decodes through forward_greedy; half
 * of the pair is refused. */
START_TEST(test_abi_12_descriptor)
{
    job *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    wp_plugin old = S.desc;
    old.abi_minor = 2;
    old.struct_size = (uint32_t)offsetof(wp_plugin, greedy_queue);
    ck_assert_int_eq(wrk_plugin_check_descriptor(&old, "old.so"), 0);
    spy_reset();
    run(model, PROMPT, 40, 1, NULL, 0, NULL, NULL, a);
    model->plugin = &old;
    spy_reset();
    run(model, PROMPT, 40, 1, NULL, 0, NULL, NULL, b);
    model->plugin = &S.desc;
    ck_assert_int_eq(b->pipelined, 0);
    ck_assert_int_eq(S.queues, 0);
    ck_assert_int_eq(S.greedy_calls, 39);
    ck_assert_int_eq(b->n_device, 39);
    expect_same(a, b, "ABI 1.2 descriptor");

    wp_plugin half = *S.real;
    half.greedy_collect = NULL;
    ck_assert_int_eq(wrk_plugin_check_descriptor(&half, "half.so"), CUDA_ERROR_MODEL_LOAD_FAILED);
    ck_assert_ptr_nonnull(strstr(wrk_error_detail(), "sets only greedy_queue"));
    half = *S.real;
    half.greedy_queue = NULL;
    ck_assert_int_eq(wrk_plugin_check_descriptor(&half, "half.so"), CUDA_ERROR_MODEL_LOAD_FAILED);
    ck_assert_ptr_nonnull(strstr(wrk_error_detail(), "sets only greedy_collect"));
    ck_assert_int_eq(wrk_plugin_check_descriptor(S.real, "llama.so"), 0);
    free(a);
    free(b);
}
END_TEST

int main(void)
{
    if (!have_model()) {
        fprintf(stderr, "skip: %s not found\n", model_path);
        return 77;
    }
    Suite *s = suite_create("session_pipeline");
    TCase *tc = tcase_create("host");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_same_as_synchronous);
    tcase_add_test(tc, test_eos_with_step_in_flight);
    tcase_add_test(tc, test_stop_sequence_with_step_in_flight);
    tcase_add_test(tc, test_short_jobs);
    tcase_add_test(tc, test_context_full);
    tcase_add_test(tc, test_failure_reported_when_needed);
    tcase_add_test(tc, test_failure_not_needed);
    tcase_add_test(tc, test_bad_id);
    tcase_add_test(tc, test_abi_12_descriptor);
    suite_add_tcase(s, tc);
    return check_run_suite(s, 0);
}
