/*
 * test_session.c - inference sessions (runtime/session) driven by a toy plugin on the host:
 * parameter validation, prefill chunking, UTF-8 holdback with byte tokens that split
 * characters, buffers too small, stop sequences, stop reasons, KV out-of-memory leaving
 * the model usable, determinism across runs, worker_tokenize / worker_detokenize, greedy
 * decoding through forward_greedy (ABI 1.2) giving the same tokens as host sampling, a
 * finished job's KV cache reused by the next one through kv_reset (ABI 1.2).
 *
 * The toy model is a wp_plugin whose forward either plays a script (the logits make
 * script[k] the argmax for the k-th generated token) or gives pseudo-random logits that
 * depend only on (position, token), so seeded runs can be compared. Its forward_greedy
 * (on a second descriptor) runs forward and the host kernel set's argmax, as a device
 * plugin does on its backend.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/wrk_context.h"
#include "core/wrk_error.h"
#include "ops/ops.h"
#include "session/job_spare.h"
#include "session/session.h"
#include "text/tok_internal.h"
#include "text/utf8.h"

/* ---- the toy plugin ---- */

typedef struct toy {
    uint32_t vocab;
    int random;               /* 1: hashed logits, 0: script */
    const int32_t *script;
    int n_script;
    int script_base;          /* position whose logits give script[0] */
    uint64_t kv_limit;        /* bytes; kv_create fails above */
    int fail_at;              /* forward at this position fails (-1: never) */
    int calls, max_n, prefill_ok;
    int special;              /* 1: logits on 8 levels (many ties) with NaN every 7th id */
    int greedy_calls;         /* forward_greedy calls */
    int bad_greedy_id;        /* 1: forward_greedy answers an id outside the vocabulary */
    int32_t fed[512];         /* tokens of the one-token calls (decode steps), in order */
    int n_fed;
    int kv_creates, kv_frees, kv_resets;
    int fail_reset;           /* 1: kv_reset fails */
} toy;

typedef struct toy_kv {
    uint32_t n_ctx;
    int len;                  /* positions filled */
} toy_kv;

static int toy_kv_create(void *model, uint32_t n_ctx, void **out)
{
    toy *m = model;
    uint64_t bytes = (uint64_t)n_ctx * 4096;
    if (m->kv_limit && bytes > m->kv_limit)
        return wrk_error(CUDA_ERROR_OUT_OF_MEMORY, "toy KV: %llu bytes > limit %llu",
                         (unsigned long long)bytes, (unsigned long long)m->kv_limit);
    toy_kv *kv = calloc(1, sizeof *kv);
    kv->n_ctx = n_ctx;
    *out = kv;
    m->kv_creates++;
    return 0;
}

static void toy_kv_free(void *model, void *kv)
{
    ((toy *)model)->kv_frees++;
    free(kv);
}

/* The toy's cache counts its filled positions (forward insists on appending), so a reused
 * cache must be reset: exactly the state kv_reset exists for. */
static int toy_kv_reset(void *model, void *kv)
{
    toy *m = model;
    m->kv_resets++;
    if (m->fail_reset)
        return wrk_error(CUDA_ERROR_INFERENCE_FAILED, "toy: reset refused");
    ((toy_kv *)kv)->len = 0;
    return 0;
}

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33; x *= 0xFF51AFD7ED558CCDull; x ^= x >> 33; x *= 0xC4CEB9FE1A85EC53ull;
    return x ^ (x >> 33);
}

static int toy_forward(void *model, void *kvp, const int32_t *tokens, int n, int pos,
                       float *logits, int all)
{
    toy *m = model;
    toy_kv *kv = kvp;
    int last = pos + n - 1;
    (void)all;
    m->calls++;
    if (n > m->max_n) m->max_n = n;
    if (pos != kv->len || pos + n > (int)kv->n_ctx || n < 1)
        return wrk_error(CUDA_ERROR_INFERENCE_FAILED, "toy: pos %d n %d len %d n_ctx %u",
                         pos, n, kv->len, kv->n_ctx);
    if (m->fail_at >= 0 && last >= m->fail_at)
        return wrk_error(CUDA_ERROR_INFERENCE_FAILED, "toy: injected failure at %d", last);
    for (int i = 0; i < n; i++)
        if (tokens[i] < 0 || (uint32_t)tokens[i] >= m->vocab)
            return wrk_error(CUDA_ERROR_INFERENCE_FAILED, "toy: bad token %d", tokens[i]);
    kv->len += n;
    for (uint32_t j = 0; j < m->vocab; j++) {
        uint64_t h = mix(((uint64_t)last << 40) ^ ((uint64_t)(uint32_t)tokens[n - 1] << 20) ^ j);
        logits[j] = (float)((double)(h >> 11) / 9007199254740992.0 * 8.0 - 4.0);
    }
    if (m->special)
        for (uint32_t j = 0; j < m->vocab; j++)
            logits[j] = j % 7 == 3 ? NAN : floorf(logits[j]);
    if (!m->random) {
        int k = last - m->script_base;
        if (k >= 0 && k < m->n_script) logits[m->script[k]] = 100.0f;
    }
    if (n == 1 && m->n_fed < (int)(sizeof m->fed / sizeof *m->fed))
        m->fed[m->n_fed++] = tokens[0];
    return 0;
}

/* forward of one token, then the greedy id by the host kernel set's argmax. */
static int toy_forward_greedy(void *model, void *kv, int32_t token, int pos, int32_t *next)
{
    toy *m = model;
    float *logits = malloc(m->vocab * sizeof(float));
    int rc = logits ? toy_forward(model, kv, &token, 1, pos, logits, 0)
                    : wrk_error(CUDA_ERROR_OUT_OF_MEMORY, "toy: logits");
    m->greedy_calls++;
    if (rc == 0)
        rc = wrk_ops_host()->argmax(NULL, logits, (int)m->vocab, next);
    if (rc == 0 && m->bad_greedy_id)
        *next = (int32_t)m->vocab + 3;
    free(logits);
    return rc;
}

static const wp_plugin toy_plugin = {
    .abi_major = WORKER_PLUGIN_ABI_MAJOR, .abi_minor = WORKER_PLUGIN_ABI_MINOR,
    .struct_size = sizeof(wp_plugin), .name = "toy", .version = "1",
    .kv_create = toy_kv_create, .kv_free = toy_kv_free, .forward = toy_forward,
};

/* The same with forward_greedy (ABI 1.2). */
static const wp_plugin toy_plugin_greedy = {
    .abi_major = WORKER_PLUGIN_ABI_MAJOR, .abi_minor = WORKER_PLUGIN_ABI_MINOR,
    .struct_size = sizeof(wp_plugin), .name = "toy", .version = "1",
    .kv_create = toy_kv_create, .kv_free = toy_kv_free, .forward = toy_forward,
    .forward_greedy = toy_forward_greedy,
};

/* The same with kv_reset (ABI 1.2): the runtime keeps finished jobs' caches. */
static const wp_plugin toy_plugin_reuse = {
    .abi_major = WORKER_PLUGIN_ABI_MAJOR, .abi_minor = WORKER_PLUGIN_ABI_MINOR,
    .struct_size = sizeof(wp_plugin), .name = "toy", .version = "1",
    .kv_create = toy_kv_create, .kv_free = toy_kv_free, .forward = toy_forward,
    .kv_reset = toy_kv_reset,
};

/* A descriptor as an ABI 1.1 plugin sized it: forward_greedy lies past its struct_size
 * (set here only to prove the runtime never reads it). */
static const wp_plugin toy_plugin_11 = {
    .abi_major = WORKER_PLUGIN_ABI_MAJOR, .abi_minor = 1,
    .struct_size = offsetof(wp_plugin, forward_greedy), .name = "toy", .version = "1",
    .kv_create = toy_kv_create, .kv_free = toy_kv_free, .forward = toy_forward,
    .forward_greedy = toy_forward_greedy,
};

/* ---- the toy vocabulary: SentencePiece style with byte tokens ---- */

static const char *const words[] = {
    "\xE2\x96\x81", "a", "b", "Hel", "lo", ",", "\xE2\x96\x81wor", "ld", "!",
    "\xE2\x96\x81ST", "OP", "\xE2\x96\x81here", "\xE2\x96\x81hello", "h", "e", "l", "o", "w",
    "r", "d", "S", "T", "P", "\xE2\x96\x81" "a", "x", "y", "z", "\xE2\x96\x81" "b",
};
#define N_WORDS (sizeof words / sizeof *words)
#define ID_WORD(i) (259 + (i))
#define ID_BYTE(b) (3 + (b))

static wrk_tokenizer *toy_tokenizer(void)
{
    static char bytes[256][8];
    const char *toks[259 + N_WORDS];
    float scores[259 + N_WORDS];
    int32_t types[259 + N_WORDS];
    wrk_vocab_desc d;
    wrk_tokenizer *t = NULL;
    toks[0] = "<unk>"; types[0] = WRK_TOK_UNKNOWN;
    toks[1] = "<s>"; types[1] = WRK_TOK_CONTROL;
    toks[2] = "</s>"; types[2] = WRK_TOK_CONTROL;
    for (int b = 0; b < 256; b++) {
        snprintf(bytes[b], sizeof bytes[b], "<0x%02X>", b);
        toks[3 + b] = bytes[b];
        types[3 + b] = WRK_TOK_BYTE;
    }
    for (size_t i = 0; i < N_WORDS; i++) {
        toks[259 + i] = words[i];
        types[259 + i] = WRK_TOK_NORMAL;
    }
    for (size_t i = 0; i < 259 + N_WORDS; i++) scores[i] = -(float)i;
    wrk_vocab_desc_init(&d);
    d.model = "llama";
    d.n_tokens = 259 + N_WORDS;
    d.tokens = toks;
    d.scores = scores;
    d.types = types;
    ck_assert_int_eq(wrk_tokenizer_build(&d, &t), 0);
    return t;
}

typedef struct fixture {
    CudaModel model;
    toy toy;
} fixture;

static fixture *fx_new(uint32_t context, uint32_t max_batch)
{
    fixture *f = calloc(1, sizeof *f);
    f->model.tokenizer = toy_tokenizer();
    f->toy.vocab = wrk_tokenizer_vocab_size(f->model.tokenizer) + 5;  /* padded logits */
    f->toy.fail_at = -1;
    f->model.plugin = &toy_plugin;
    f->model.plugin_model = &f->toy;
    f->model.info.struct_size = sizeof f->model.info;
    f->model.info.vocab_size = f->toy.vocab;
    f->model.info.context_length = context;
    f->model.info.max_batch = max_batch;
    return f;
}

static void fx_free(fixture *f)
{
    wrk_spare_release(&f->model);
    ck_assert_int_eq(f->toy.kv_creates, f->toy.kv_frees);   /* no cache leaked */
    wrk_tokenizer_free(f->model.tokenizer);
    free(f);
}

/* Prompt length in tokens (as the session will see it). */
static int prompt_len(fixture *f, const char *prompt)
{
    size_t n = 0;
    ck_assert_int_eq(worker_tokenize(&f->model, prompt, 1, NULL, 0, &n),
                     CUDA_ERROR_INVALID_PARAMETER);
    return (int)n;
}

static void set_script(fixture *f, const char *prompt, const int32_t *script, int n)
{
    f->toy.random = 0;
    f->toy.script = script;
    f->toy.n_script = n;
    f->toy.script_base = prompt_len(f, prompt) - 1;
}

/* Run a job to its end; pieces concatenated into out; returns the number of pieces.
 * Checks every piece is whole valid UTF-8 and the indices count from 0. */
static int run_all(InferenceResult *r, char *out, size_t cap, int bufsize)
{
    char *buf = malloc((size_t)bufsize);
    int idx = -1, n = 0, code = -1;
    size_t o = 0;
    out[0] = '\0';
    while (cuda_inference_next_token(r, buf, bufsize, &idx, &code)) {
        size_t len = strlen(buf), clen = 0;
        char *clean = wrk_utf8_sanitize(buf, len, &clen);
        ck_assert_int_eq(code, 0);
        ck_assert_int_eq(idx, n);
        ck_assert_uint_gt(len, 0);
        ck_assert_msg(clen == len && memcmp(clean, buf, len) == 0, "piece %d not UTF-8", n);
        free(clean);
        ck_assert(o + len < cap);
        memcpy(out + o, buf, len + 1);
        o += len;
        n++;
    }
    ck_assert_int_eq(code, 0);
    free(buf);
    return n;
}

static InferenceResult *start(fixture *f, const char *prompt, WorkerSamplingParams *p,
                              int *code)
{
    return worker_inference_start_ex(&f->model, prompt, p, code);
}

/* ---- tests ---- */

START_TEST(test_validation)
{
    fixture *f = fx_new(64, 8);
    WorkerSamplingParams p;
    int code = 0;
    const char *stops[] = { "x", "" };
    struct { const char *what; void (*set)(WorkerSamplingParams *); } dummy;
    (void)dummy;
    worker_sampling_defaults(&p);
    ck_assert_uint_eq(p.struct_size, sizeof p);
    ck_assert_int_eq(p.max_tokens, 2048);
    ck_assert(p.temperature == 1.0f && p.top_p == 1.0f && p.repetition_penalty == 1.0f);

#define EXPECT_INVALID(call)                                                          \
    do {                                                                              \
        code = 0;                                                                     \
        ck_assert_ptr_null(call);                                                     \
        ck_assert_int_eq(code, CUDA_ERROR_INVALID_PARAMETER);                         \
        ck_assert_msg(wrk_error_detail()[0] != '\0', "no detail for " #call);         \
    } while (0)

    EXPECT_INVALID(cuda_inference_start(NULL, "hi", 4, 0.5f, 1, &code));
    EXPECT_INVALID(cuda_inference_start(&f->model, NULL, 4, 0.5f, 1, &code));
    EXPECT_INVALID(cuda_inference_start(&f->model, "", 4, 0.5f, 1, &code));
    ck_assert(strstr(wrk_error_detail(), "empty") != NULL);
    EXPECT_INVALID(cuda_inference_start(&f->model, "hi", 0, 0.5f, 1, &code));
    ck_assert(strstr(wrk_error_detail(), "max_tokens") != NULL);
    EXPECT_INVALID(cuda_inference_start(&f->model, "hi", -3, 0.5f, 1, &code));
    EXPECT_INVALID(cuda_inference_start(&f->model, "hi", 4, -0.01f, 1, &code));
    ck_assert(strstr(wrk_error_detail(), "temperature") != NULL);
    EXPECT_INVALID(cuda_inference_start(&f->model, "hi", 4, 2.01f, 1, &code));
    EXPECT_INVALID(cuda_inference_start(&f->model, "hi", 4, NAN, 1, &code));
    EXPECT_INVALID(worker_inference_start_ex(&f->model, "hi", NULL, &code));
    p.top_p = 1.5f;  EXPECT_INVALID(start(f, "hi", &p, &code)); p.top_p = 1.0f;
    p.top_p = -0.1f; EXPECT_INVALID(start(f, "hi", &p, &code)); p.top_p = 1.0f;
    p.min_p = 1.01f; EXPECT_INVALID(start(f, "hi", &p, &code)); p.min_p = 0.0f;
    p.top_k = -1;    EXPECT_INVALID(start(f, "hi", &p, &code)); p.top_k = 0;
    p.repetition_penalty = 2.5f; EXPECT_INVALID(start(f, "hi", &p, &code));
    p.repetition_penalty = 1.0f;
    p.n_stop = 5; p.stop = stops; EXPECT_INVALID(start(f, "hi", &p, &code));
    p.n_stop = 1; p.stop = NULL;  EXPECT_INVALID(start(f, "hi", &p, &code));
    p.n_stop = 2; p.stop = stops; EXPECT_INVALID(start(f, "hi", &p, &code));  /* "" */
    p.n_stop = 0; p.stop = NULL;
    p.struct_size = 8; EXPECT_INVALID(start(f, "hi", &p, &code));
    p.struct_size = sizeof p;

    /* A prompt longer than the context. */
    {
        char longp[200];
        memset(longp, 'x', sizeof longp - 1);
        longp[sizeof longp - 1] = '\0';
        EXPECT_INVALID(cuda_inference_start(&f->model, longp, 4, 0.0f, 1, &code));
        ck_assert(strstr(wrk_error_detail(), "context") != NULL);
    }
    /* Boundaries are accepted. */
    {
        InferenceResult *r;
        p.temperature = 2.0f; p.top_p = 0.0f; p.min_p = 1.0f; p.repetition_penalty = 0.0f;
        p.max_tokens = 1;
        r = start(f, "hi", &p, &code);
        ck_assert_ptr_nonnull(r);
        ck_assert_int_eq(code, 0);
        cuda_inference_free(r);
    }
    fx_free(f);
}
END_TEST

START_TEST(test_null_safety)
{
    char buf[16];
    int idx = 7, code = 0;
    ck_assert(!cuda_inference_next_token(NULL, buf, sizeof buf, &idx, &code));
    ck_assert_int_eq(code, CUDA_ERROR_INVALID_PARAMETER);
    ck_assert(!cuda_inference_next_token(NULL, buf, sizeof buf, NULL, NULL));
    cuda_inference_free(NULL);
    ck_assert_int_eq(worker_inference_stop_reason(NULL), WORKER_STOP_NONE);
    ck_assert_int_eq(worker_inference_prompt_tokens(NULL), 0);
    worker_sampling_defaults(NULL);
    {
        fixture *f = fx_new(64, 8);
        InferenceResult *r = cuda_inference_start(&f->model, "hi", 3, 0.0f, 1, &code);
        ck_assert_ptr_nonnull(r);
        ck_assert(!cuda_inference_next_token(r, NULL, 16, &idx, &code));
        ck_assert_int_eq(code, CUDA_ERROR_INVALID_PARAMETER);
        ck_assert(!cuda_inference_next_token(r, buf, 0, &idx, &code));
        ck_assert_int_eq(code, CUDA_ERROR_INVALID_PARAMETER);
        cuda_inference_free(r);
        fx_free(f);
    }
}
END_TEST

/* Byte tokens that split characters: only whole characters leave, one piece each. */
START_TEST(test_utf8_holdback)
{
    fixture *f = fx_new(128, 8);
    const int32_t script[] = {
        ID_WORD(1),                                                    /* a */
        ID_BYTE(0xC3), ID_BYTE(0xA9),                                  /* é */
        ID_BYTE(0xE2), ID_BYTE(0x82), ID_BYTE(0xAC),                   /* € */
        ID_BYTE(0xF0), ID_BYTE(0x9F), ID_BYTE(0x98), ID_BYTE(0x80),    /* 😀 */
        ID_WORD(2),                                                    /* b */
        ID_BYTE(0xC3), ID_WORD(1),                                     /* invalid, a */
        2,                                                             /* </s> */
    };
    char out[256];
    int code = 0, n;
    set_script(f, "hello", script, (int)(sizeof script / sizeof *script));
    InferenceResult *r = cuda_inference_start(&f->model, "hello", 100, 0.0f, 0, &code);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(worker_inference_prompt_tokens(r), prompt_len(f, "hello"));
    n = run_all(r, out, sizeof out, 64);
    ck_assert_str_eq(out, "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80" "b\xEF\xBF\xBD" "a");
    ck_assert_int_eq(n, 6);   /* a é € 😀 b, then U+FFFD a (C3 waits, "a" shows it bad) */
    ck_assert_int_eq(worker_inference_stop_reason(r), WORKER_STOP_EOS);
    cuda_inference_free(r);

    /* A character cut by max_tokens is flushed as U+FFFD, never as a raw byte. */
    r = cuda_inference_start(&f->model, "hello", 2, 0.0f, 0, &code);
    ck_assert_ptr_nonnull(r);
    run_all(r, out, sizeof out, 64);
    ck_assert_str_eq(out, "a\xEF\xBF\xBD");
    ck_assert_int_eq(worker_inference_stop_reason(r), WORKER_STOP_MAX_TOKENS);
    cuda_inference_free(r);
    fx_free(f);
}
END_TEST

/* A piece larger than the buffer: INVALID_PARAMETER with the size, kept for next time. */
START_TEST(test_buffer_too_small)
{
    fixture *f = fx_new(128, 8);
    const int32_t script[] = { ID_BYTE(0xF0), ID_BYTE(0x9F), ID_BYTE(0x98), ID_BYTE(0x80),
                               ID_WORD(1), 2 };
    char buf[16];
    int code = 0, idx = -1;
    set_script(f, "hello", script, 6);
    InferenceResult *r = cuda_inference_start(&f->model, "hello", 10, 0.0f, 0, &code);
    ck_assert_ptr_nonnull(r);
    ck_assert(!cuda_inference_next_token(r, buf, 4, &idx, &code));
    ck_assert_int_eq(code, CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_msg(strstr(wrk_error_detail(), "5 bytes") != NULL, "%s", wrk_error_detail());
    ck_assert(!cuda_inference_next_token(r, buf, 1, &idx, &code));   /* still kept */
    ck_assert(cuda_inference_next_token(r, buf, 5, &idx, &code));
    ck_assert_int_eq(code, 0);
    ck_assert_int_eq(idx, 0);
    ck_assert_str_eq(buf, "\xF0\x9F\x98\x80");
    ck_assert(cuda_inference_next_token(r, buf, 2, &idx, &code));
    ck_assert_int_eq(idx, 1);
    ck_assert_str_eq(buf, "a");
    ck_assert(!cuda_inference_next_token(r, buf, sizeof buf, &idx, &code));
    ck_assert_int_eq(code, 0);
    ck_assert(!cuda_inference_next_token(r, buf, sizeof buf, &idx, &code));   /* stays done */
    cuda_inference_free(r);
    fx_free(f);
}
END_TEST

/* Stop sequences: the text before the first one, nothing of it leaks; text that only
 * looked like its start is released. */
START_TEST(test_stop_sequences)
{
    fixture *f = fx_new(128, 8);
    /* "Hello, world! STOP here" as tokens */
    const int32_t script[] = { ID_WORD(3), ID_WORD(4), ID_WORD(5), ID_WORD(6), ID_WORD(7),
                               ID_WORD(8), ID_WORD(9), ID_WORD(10), ID_WORD(11), 2 };
    const char *stops[] = { "ld!X", " STOP" };
    char out[256];
    int code = 0;
    WorkerSamplingParams p;
    InferenceResult *r;
    worker_sampling_defaults(&p);
    p.temperature = 0.0f;
    p.max_tokens = 50;
    p.n_stop = 2;
    p.stop = stops;
    set_script(f, "hello", script, 10);
    r = start(f, "hello", &p, &code);
    ck_assert_ptr_nonnull(r);
    run_all(r, out, sizeof out, 64);
    ck_assert_str_eq(out, "Hello, world!");
    ck_assert_int_eq(worker_inference_stop_reason(r), WORKER_STOP_STOP_SEQUENCE);
    cuda_inference_free(r);

    /* Without a matching stop the whole text comes out, then EOS. */
    p.n_stop = 1;
    r = start(f, "hello", &p, &code);
    run_all(r, out, sizeof out, 64);
    ck_assert_str_eq(out, "Hello, world! STOP here");
    ck_assert_int_eq(worker_inference_stop_reason(r), WORKER_STOP_EOS);
    cuda_inference_free(r);

    /* A stop sequence spanning tokens and matching inside one. */
    {
        const char *s2[] = { "o, w" };
        p.stop = s2;
        r = start(f, "hello", &p, &code);
        run_all(r, out, sizeof out, 64);
        ck_assert_str_eq(out, "Hell");
        cuda_inference_free(r);
    }
    fx_free(f);
}
END_TEST

/* max_tokens, a full context, prefill in chunks of max_batch. */
START_TEST(test_limits)
{
    fixture *f = fx_new(40, 4);
    char out[4096];
    const char *prompt = "hello hello hello a b a b x y z hello";
    int code = 0, np;
    InferenceResult *r;
    f->toy.random = 1;
    np = prompt_len(f, prompt);
    ck_assert_int_gt(np, 8);
    r = cuda_inference_start(&f->model, prompt, 5, 0.0f, 0, &code);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(f->toy.max_n, 4);
    ck_assert_int_eq(f->toy.calls, (np + 3) / 4);
    run_all(r, out, sizeof out, 256);
    ck_assert_int_eq(worker_inference_stop_reason(r), WORKER_STOP_MAX_TOKENS);
    /* 5 tokens sampled, the last one not fed back. */
    ck_assert_int_eq(f->toy.calls, (np + 3) / 4 + 4);
    cuda_inference_free(r);

    /* Context of 40: generation stops when the cache is full. */
    f->toy.calls = 0;
    {
        WorkerSamplingParams p;
        worker_sampling_defaults(&p);
        p.temperature = 0.0f;
        p.max_tokens = 1000;
        p.add_special = 0;
        r = start(f, prompt, &p, &code);
        ck_assert_ptr_nonnull(r);
        ck_assert_int_eq(worker_inference_prompt_tokens(r), np - 1);   /* no BOS */
        run_all(r, out, sizeof out, 256);
        ck_assert_int_eq(worker_inference_stop_reason(r), WORKER_STOP_CONTEXT_FULL);
        cuda_inference_free(r);
    }
    fx_free(f);
}
END_TEST

/* KV cache out of memory: a clean error, and the model serves the next, smaller job. */
START_TEST(test_kv_oom)
{
    fixture *f = fx_new(4096, 8);
    char out[4096];
    int code = 0;
    InferenceResult *r;
    f->toy.random = 1;
    f->toy.kv_limit = 100 * 4096;
    r = cuda_inference_start(&f->model, "hello", 2000, 0.7f, 1, &code);
    ck_assert_ptr_null(r);
    ck_assert_int_eq(code, CUDA_ERROR_OUT_OF_MEMORY);
    ck_assert_msg(strstr(wrk_error_detail(), "KV") != NULL, "%s", wrk_error_detail());
    r = cuda_inference_start(&f->model, "hello", 20, 0.7f, 1, &code);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(code, 0);
    run_all(r, out, sizeof out, 256);
    cuda_inference_free(r);
    fx_free(f);
}
END_TEST

/* A failing forward ends the job with INFERENCE_FAILED, every later call too. */
START_TEST(test_forward_failure)
{
    fixture *f = fx_new(256, 8);
    char buf[256];
    int code = 0, idx = 0, np;
    InferenceResult *r;
    f->toy.random = 1;
    np = prompt_len(f, "hello");
    f->toy.fail_at = np + 3;
    r = cuda_inference_start(&f->model, "hello", 100, 0.0f, 1, &code);
    ck_assert_ptr_nonnull(r);
    while (cuda_inference_next_token(r, buf, sizeof buf, &idx, &code)) {}
    ck_assert_int_eq(code, CUDA_ERROR_INFERENCE_FAILED);
    ck_assert(!cuda_inference_next_token(r, buf, sizeof buf, &idx, &code));
    ck_assert_int_eq(code, CUDA_ERROR_INFERENCE_FAILED);
    ck_assert_int_eq(worker_inference_stop_reason(r), WORKER_STOP_NONE);
    cuda_inference_free(r);
    /* A failure during prefill fails the start. */
    f->toy.fail_at = 1;
    r = cuda_inference_start(&f->model, "hello", 100, 0.0f, 1, &code);
    ck_assert_ptr_null(r);
    ck_assert_int_eq(code, CUDA_ERROR_INFERENCE_FAILED);
    fx_free(f);
}
END_TEST

/* Same prompt, parameters and seed: identical text; another seed: different text. */
START_TEST(test_determinism)
{
    fixture *f = fx_new(512, 16);
    char a[8192], b[8192], c[8192];
    int code = 0;
    WorkerSamplingParams p;
    f->toy.random = 1;
    worker_sampling_defaults(&p);
    p.max_tokens = 200;
    p.temperature = 1.0f;
    p.top_k = 20;
    p.top_p = 0.95f;
    p.repetition_penalty = 1.1f;
    for (int run = 0; run < 3; run++) {
        p.seed = run == 2 ? 43 : 42;
        InferenceResult *r = start(f, "hello a b", &p, &code);
        ck_assert_ptr_nonnull(r);
        run_all(r, run == 0 ? a : run == 1 ? b : c, sizeof a, 256);
        cuda_inference_free(r);
    }
    ck_assert_uint_gt(strlen(a), 50);
    ck_assert_str_eq(a, b);
    ck_assert_str_ne(a, c);
    fx_free(f);
}
END_TEST

START_TEST(test_tokenize_api)
{
    fixture *f = fx_new(512, 16);
    int32_t ids[64];
    size_t n = 0, need = 0;
    char out[128];
    const char *text = "hello world a\xC3\xA9 b";
    ck_assert_int_eq(worker_tokenize(&f->model, text, 1, ids, 64, &n), 0);
    ck_assert_uint_gt(n, 3);
    ck_assert_int_eq(ids[0], 1);
    ck_assert_int_eq(worker_tokenize(&f->model, text, 1, ids, 2, &need),
                     CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_uint_eq(need, n);
    ck_assert_int_eq(worker_detokenize(&f->model, ids, n, out, sizeof out, &need), 0);
    ck_assert_str_eq(out, text);
    ck_assert_uint_eq(need, strlen(text));
    ck_assert_int_eq(worker_detokenize(&f->model, ids, n, out, need, &need),
                     CUDA_ERROR_INVALID_PARAMETER);   /* no room for the NUL */
    ids[1] = 100000;
    ck_assert_int_eq(worker_detokenize(&f->model, ids, n, out, sizeof out, &need),
                     CUDA_ERROR_INVALID_PARAMETER);
    /* An unpaired byte token decodes to U+FFFD. */
    ids[0] = ID_BYTE(0xE2);
    ids[1] = ID_WORD(1);
    ck_assert_int_eq(worker_detokenize(&f->model, ids, 2, out, sizeof out, &need), 0);
    ck_assert_str_eq(out, "\xEF\xBF\xBD" "a");
    ck_assert_int_eq(worker_tokenize(NULL, "x", 1, ids, 4, &n), CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_int_eq(worker_tokenize(&f->model, NULL, 1, ids, 4, &n),
                     CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_int_eq(worker_detokenize(&f->model, NULL, 3, out, 4, &need),
                     CUDA_ERROR_INVALID_PARAMETER);
    fx_free(f);
}
END_TEST

/* ---- greedy decoding on the device (forward_greedy) ---- */

typedef struct greedy_run {
    char text[8192];
    int32_t fed[512];
    int n_fed, greedy_calls, n_device, n_generated, used;
    WorkerStopReason stop;
} greedy_run;

/* Run prompt to its end with WORKER_DEVICE_GREEDY set to env (NULL: unset) and record what
 * the job produced and which path it took. */
static void run_greedy(fixture *f, const WorkerSamplingParams *p, const char *env,
                       greedy_run *out)
{
    int code = -1;
    if (env) setenv("WORKER_DEVICE_GREEDY", env, 1);
    else unsetenv("WORKER_DEVICE_GREEDY");
    f->toy.greedy_calls = 0;
    f->toy.n_fed = 0;
    InferenceResult *r = start(f, "hello a b", (WorkerSamplingParams *)p, &code);
    ck_assert_msg(r != NULL, "start: %d %s", code, wrk_error_detail());
    run_all(r, out->text, sizeof out->text, 256);
    out->used = r->device_greedy;
    out->n_device = r->n_device_greedy;
    out->n_generated = r->n_generated;
    out->stop = worker_inference_stop_reason(r);
    out->greedy_calls = f->toy.greedy_calls;
    out->n_fed = f->toy.n_fed;
    memcpy(out->fed, f->toy.fed, sizeof out->fed);
    cuda_inference_free(r);
    unsetenv("WORKER_DEVICE_GREEDY");
}

static void expect_same_tokens(const greedy_run *a, const greedy_run *b, const char *what)
{
    ck_assert_msg(strcmp(a->text, b->text) == 0, "%s: text '%s' vs '%s'", what, a->text,
                  b->text);
    ck_assert_int_eq(a->n_generated, b->n_generated);
    ck_assert_int_eq(a->stop, b->stop);
    ck_assert_int_eq(a->n_fed, b->n_fed);
    for (int i = 0; i < a->n_fed; i++)
        ck_assert_msg(a->fed[i] == b->fed[i], "%s: token %d: %d vs %d", what, i, a->fed[i],
                      b->fed[i]);
}

/* The same greedy job with WORKER_DEVICE_GREEDY=0 (host sampling), unset and =1 (device
 * greedy): identical token ids and text; the device path really ran (every decode step
 * through forward_greedy and every token after the first from it), the host path never.
 * Loop: 0 random logits, 1 logits with many ties and NaN. */
START_TEST(test_device_greedy_same_tokens)
{
    fixture *f = fx_new(512, 16);
    greedy_run *host = calloc(1, sizeof *host), *dev = calloc(1, sizeof *dev),
               *dev1 = calloc(1, sizeof *dev1);
    WorkerSamplingParams p;
    f->model.plugin = &toy_plugin_greedy;
    f->toy.random = 1;
    f->toy.special = _i;
    worker_sampling_defaults(&p);
    p.temperature = 0.0f;
    p.max_tokens = 80;
    p.ignore_eos = 1;
    run_greedy(f, &p, "0", host);
    run_greedy(f, &p, NULL, dev);
    run_greedy(f, &p, "1", dev1);

    ck_assert_int_eq(host->used, 0);
    ck_assert_int_eq(host->greedy_calls, 0);
    ck_assert_int_eq(host->n_device, 0);
    ck_assert_int_eq(host->n_generated, 80);
    ck_assert_int_eq(host->n_fed, 79);            /* the last token is not fed back */
    ck_assert_uint_gt(strlen(host->text), 20);
    expect_same_tokens(host, dev, "unset");
    expect_same_tokens(host, dev1, "=1");
    for (const greedy_run *d = dev; d; d = d == dev ? dev1 : NULL) {
        ck_assert_int_eq(d->used, 1);
        ck_assert_int_eq(d->greedy_calls, 79);    /* every decode step */
        ck_assert_int_eq(d->n_device, 79);        /* every token but the prefill's */
    }
    free(host);
    free(dev);
    free(dev1);
    fx_free(f);
}
END_TEST

/* When the device path is taken: greedy as the sampler defines it (T = 0, or so small that
 * 1/T overflows) without a repetition penalty (0 means off), and only from a descriptor
 * whose struct_size holds forward_greedy. */
START_TEST(test_device_greedy_conditions)
{
    fixture *f = fx_new(512, 16);
    greedy_run *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    WorkerSamplingParams p;
    f->model.plugin = &toy_plugin_greedy;
    f->toy.random = 1;
    worker_sampling_defaults(&p);
    p.max_tokens = 30;
    p.ignore_eos = 1;
    struct { float t, rp; int used; } c[] = {
        { 0.0f, 1.0f, 1 }, { 0.0f, 0.0f, 1 }, { 1e-39f, 1.0f, 1 },
        { 0.0f, 1.1f, 0 }, { 0.5f, 1.0f, 0 }, { 1e-6f, 1.0f, 0 },
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        p.temperature = c[i].t;
        p.repetition_penalty = c[i].rp;
        p.seed = 5;
        run_greedy(f, &p, "0", a);
        run_greedy(f, &p, NULL, b);
        ck_assert_msg(b->used == c[i].used && (b->greedy_calls > 0) == c[i].used,
                      "T %g penalty %g: device path %d (%d calls), want %d", (double)c[i].t,
                      (double)c[i].rp, b->used, b->greedy_calls, c[i].used);
        expect_same_tokens(a, b, "conditions");
    }
    /* a 1.1-sized descriptor: forward_greedy is never read */
    f->model.plugin = &toy_plugin_11;
    p.temperature = 0.0f;
    p.repetition_penalty = 1.0f;
    run_greedy(f, &p, NULL, b);
    ck_assert_int_eq(b->used, 0);
    ck_assert_int_eq(b->greedy_calls, 0);
    ck_assert_int_eq(b->n_generated, 30);
    /* a descriptor without it */
    f->model.plugin = &toy_plugin;
    run_greedy(f, &p, NULL, b);
    ck_assert_int_eq(b->used, 0);
    ck_assert_int_eq(b->n_generated, 30);
    free(a);
    free(b);
    fx_free(f);
}
END_TEST

/* A failing forward_greedy fails the job like a failing forward; an id outside the
 * vocabulary is refused, never looked up. */
START_TEST(test_device_greedy_failures)
{
    fixture *f = fx_new(256, 8);
    char buf[256];
    int code = 0, idx = 0;
    InferenceResult *r;
    f->model.plugin = &toy_plugin_greedy;
    f->toy.random = 1;
    f->toy.fail_at = prompt_len(f, "hello") + 3;
    r = cuda_inference_start(&f->model, "hello", 100, 0.0f, 1, &code);
    ck_assert_ptr_nonnull(r);
    while (cuda_inference_next_token(r, buf, sizeof buf, &idx, &code)) {}
    ck_assert_int_eq(code, CUDA_ERROR_INFERENCE_FAILED);
    ck_assert_int_gt(f->toy.greedy_calls, 0);
    cuda_inference_free(r);

    f->toy.fail_at = -1;
    f->toy.bad_greedy_id = 1;
    r = cuda_inference_start(&f->model, "hello", 100, 0.0f, 1, &code);
    ck_assert_ptr_nonnull(r);
    while (cuda_inference_next_token(r, buf, sizeof buf, &idx, &code)) {}
    ck_assert_int_eq(code, CUDA_ERROR_INFERENCE_FAILED);
    ck_assert_ptr_nonnull(strstr(wrk_error_detail(), "forward_greedy"));
    ck_assert_int_eq(r->n_device_greedy, 0);
    cuda_inference_free(r);
    fx_free(f);
}
END_TEST

/* One job to its end (temperature 0.7, seed 5): its text in out. */
static void run_job(fixture *f, int max_tokens, char *out, size_t cap)
{
    int code = -1;
    InferenceResult *r = cuda_inference_start(&f->model, "hello a b", max_tokens, 0.7f, 5,
                                              &code);
    ck_assert_msg(r != NULL, "start: %d %s", code, wrk_error_detail());
    run_all(r, out, cap, 256);
    cuda_inference_free(r);
}

/* A finished job's cache serves the next job that fits it (reset first), with the same
 * text as a fresh cache; a larger job replaces it; a failed job's cache, a refused reset
 * and a plugin without kv_reset never hand a cache on. */
START_TEST(test_kv_reuse)
{
    fixture *fresh = fx_new(512, 8), *f = fx_new(512, 8);
    char want[3][8192], got[8192];
    const int sizes[3] = {60, 20, 120};
    fresh->toy.random = f->toy.random = 1;
    f->model.plugin = &toy_plugin_reuse;
    for (int i = 0; i < 3; i++) {               /* the plugin without kv_reset */
        run_job(fresh, sizes[i], want[i], sizeof want[i]);
        ck_assert_ptr_null(fresh->model.spare.kv);
        ck_assert_int_eq(fresh->toy.kv_frees, i + 1);
    }
    ck_assert_int_eq(fresh->toy.kv_resets, 0);

    run_job(f, sizes[0], got, sizeof got);      /* kept at its end */
    ck_assert_str_eq(got, want[0]);
    ck_assert_ptr_nonnull(f->model.spare.kv);
    ck_assert_int_eq(f->toy.kv_creates, 1);
    ck_assert_int_eq(f->toy.kv_frees, 0);
    run_job(f, sizes[1], got, sizeof got);      /* smaller: the same cache, reset */
    ck_assert_str_eq(got, want[1]);
    ck_assert_int_eq(f->toy.kv_creates, 1);
    ck_assert_int_eq(f->toy.kv_resets, 1);
    run_job(f, sizes[2], got, sizeof got);      /* larger: the spare freed, a new one */
    ck_assert_str_eq(got, want[2]);
    ck_assert_int_eq(f->toy.kv_creates, 2);
    ck_assert_int_eq(f->toy.kv_frees, 1);
    run_job(f, sizes[0], got, sizeof got);      /* the larger one serves the first again */
    ck_assert_str_eq(got, want[0]);
    ck_assert_int_eq(f->toy.kv_creates, 2);

    f->toy.fail_reset = 1;                      /* refused reset: freed, a fresh one */
    run_job(f, sizes[1], got, sizeof got);
    ck_assert_str_eq(got, want[1]);
    ck_assert_int_eq(f->toy.kv_creates, 3);
    ck_assert_int_eq(f->toy.kv_frees, 2);
    f->toy.fail_reset = 0;

    {                                           /* a failed job's cache is not kept */
        char buf[256];
        int code = 0, idx = 0;
        f->toy.fail_at = prompt_len(f, "hello a b") + 2;
        InferenceResult *r = cuda_inference_start(&f->model, "hello a b", 50, 0.0f, 1, &code);
        ck_assert_ptr_nonnull(r);
        ck_assert_ptr_null(f->model.spare.kv);  /* taken by this job */
        while (cuda_inference_next_token(r, buf, sizeof buf, &idx, &code)) {}
        ck_assert_int_eq(code, CUDA_ERROR_INFERENCE_FAILED);
        const int frees = f->toy.kv_frees;
        cuda_inference_free(r);
        ck_assert_int_eq(f->toy.kv_frees, frees + 1);
        ck_assert_ptr_null(f->model.spare.kv);
    }
    fx_free(fresh);
    fx_free(f);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("session");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, test_validation);
    tcase_add_test(tc, test_null_safety);
    tcase_add_test(tc, test_utf8_holdback);
    tcase_add_test(tc, test_buffer_too_small);
    tcase_add_test(tc, test_stop_sequences);
    tcase_add_test(tc, test_limits);
    tcase_add_test(tc, test_kv_oom);
    tcase_add_test(tc, test_forward_failure);
    tcase_add_test(tc, test_determinism);
    tcase_add_test(tc, test_tokenize_api);
    tcase_add_loop_test(tc, test_device_greedy_same_tokens, 0, 2);
    tcase_add_test(tc, test_device_greedy_conditions);
    tcase_add_test(tc, test_device_greedy_failures);
    tcase_add_test(tc, test_kv_reuse);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
