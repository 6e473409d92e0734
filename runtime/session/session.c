/*
 * session.c - inference jobs behind the FFI: cuda_inference_start/_next_token/_free and
 * the worker_* extensions (worker_ext.h).
 *
 * Start: validate, tokenize, KV cache from the plugin (n_ctx = min(context, prompt +
 * max_tokens)), prefill in chunks of max_batch. Each next_token: sample from the last
 * logits, stop on an end-of-generation token, a stop sequence, max_tokens or a full
 * context, otherwise forward the new token; text leaves only as whole UTF-8 characters
 * that cannot be the start of a stop sequence (session/textout.h). A call returns when it
 * has a piece to give or the job has ended.
 *
 * Greedy jobs without a repetition penalty (wrk_sampler_is_greedy) on a plugin with
 * forward_greedy (ABI 1.2) decode with it: the plugin picks the next id on the backend
 * with the sampler's own argmax rule and returns 4 bytes instead of vocab_size logits. The
 * prompt's last logits still come from prefill and are sampled here; the sampler sees every
 * id through accept() either way. WORKER_DEVICE_GREEDY=0 turns this off (per job).
 * A plugin with greedy_queue/greedy_collect (ABI 1.3) runs those steps one ahead of the
 * host instead (session/greedy_pipe.h; WORKER_GREEDY_PIPELINE=0 turns that off).
 */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/wrk_api.h"
#include "core/wrk_context.h"
#include "core/wrk_env.h"
#include "core/wrk_error.h"
#include "core/wrk_log.h"
#include "plugin/registry.h"
#include "session/greedy_pipe.h"
#include "session/job_spare.h"
#include "session/session.h"
#include "text/tokenizer.h"


WRK_API void worker_sampling_defaults(WorkerSamplingParams *params)
{
    if (!params) return;
    memset(params, 0, sizeof *params);
    params->struct_size = sizeof *params;
    params->max_tokens = 2048;
    params->temperature = 1.0f;
    params->top_k = 0;
    params->top_p = 1.0f;
    params->min_p = 0.0f;
    params->repetition_penalty = 1.0f;
    params->seed = 0;
    params->n_stop = 0;
    params->stop = NULL;
    params->add_special = 1;
}

static int in_range(float v, float lo, float hi) { return v >= lo && v <= hi; }  /* NaN: 0 */

/* Every check of the parameters, with a detail naming the one that is wrong. */
static int validate(const CudaModel *model, const char *prompt, const WorkerSamplingParams *p)
{
    if (!model) return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "model is NULL");
    if (!model->plugin || !model->plugin_model || !model->tokenizer)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "model is not fully loaded");
    if (!prompt) return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "prompt is NULL");
    if (!prompt[0]) return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "prompt is empty");
    if (!p) return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "params is NULL");
    if (p->struct_size < sizeof *p)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                         "params.struct_size %u < %zu (fill with worker_sampling_defaults)",
                         p->struct_size, sizeof *p);
    if (p->max_tokens < 1)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "max_tokens %d < 1", p->max_tokens);
    if (!in_range(p->temperature, 0.0f, 2.0f))
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "temperature %g outside 0..2",
                         (double)p->temperature);
    if (p->top_k < 0)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "top_k %d < 0", p->top_k);
    if (!in_range(p->top_p, 0.0f, 1.0f))
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "top_p %g outside 0..1",
                         (double)p->top_p);
    if (!in_range(p->min_p, 0.0f, 1.0f))
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "min_p %g outside 0..1",
                         (double)p->min_p);
    if (!in_range(p->repetition_penalty, 0.0f, 2.0f))
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "repetition_penalty %g outside 0..2",
                         (double)p->repetition_penalty);
    if (p->n_stop < 0 || p->n_stop > WORKER_MAX_STOP_SEQUENCES)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "n_stop %d outside 0..%d", p->n_stop,
                         WORKER_MAX_STOP_SEQUENCES);
    if (p->n_stop > 0 && !p->stop)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "stop is NULL with n_stop %d",
                         p->n_stop);
    return 0;
}

static void job_free(InferenceResult *r)
{
    if (!r) return;
    /* a step queued ahead and not needed (end of generation, stop sequence, a job freed
     * early) is done with before its cache goes to the next job or is freed */
    if (r->kv && r->n_queued > 0 && wrk_pipe_drain(r) != 0)
        r->kv_tainted = 1;
    if (r->kv) {
        if (r->started && !r->failed && !r->kv_tainted)
            wrk_spare_kv_give(r->model, r->kv, r->kv_n_ctx);
        else
            r->model->plugin->kv_free(r->model->plugin_model, r->kv);
    }
    wrk_sampler_free(r->sampler);
    wrk_textout_free(&r->out);
    free(r->prompt);
    if (r->logits)
        wrk_spare_logits_give(r->model, r->logits, (size_t)r->n_vocab * sizeof *r->logits,
                              r->logits_pinned);
    free(r->pending);
    free(r->ahead_detail);
    free(r);
}

/* Milliseconds on the monotonic clock, for the start-up breakdown logged at debug level. */
static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Run the prompt through the model in chunks of max_batch; logits of its last token. */
static int prefill(InferenceResult *r)
{
    const wp_plugin *pl = r->model->plugin;
    int batch = r->model->info.max_batch > 0 ? (int)r->model->info.max_batch : 1;
    for (int i = 0; i < r->n_prompt; i += batch) {
        int n = r->n_prompt - i < batch ? r->n_prompt - i : batch;
        int rc = pl->forward(r->model->plugin_model, r->kv, r->prompt + i, n, i, r->logits, 0);
        if (rc) {
            wrk_error_prefix("prefill of tokens %d..%d: ", i, i + n - 1);
            return rc == CUDA_ERROR_OUT_OF_MEMORY ? rc : CUDA_ERROR_INFERENCE_FAILED;
        }
        r->pos = i + n;
    }
    return 0;
}

/* 1 when this job's decode steps may take the next id from forward_greedy: the plugin has
 * it, the sampler would only take the argmax of the logits, and WORKER_DEVICE_GREEDY is not
 * "0" (to compare with, or fall back to, host sampling). */
static int use_device_greedy(const CudaModel *model, const wrk_sampler *sampler)
{
    return wrk_env_on("WORKER_DEVICE_GREEDY") && WRK_PLUGIN_HAS(model->plugin, forward_greedy) && wrk_sampler_is_greedy(sampler);
}

WRK_API InferenceResult *worker_inference_start_ex(CudaModel *model, const char *prompt,
                                                   const WorkerSamplingParams *params,
                                                   int *error_code)
{
    InferenceResult *r = NULL;
    wrk_sampler_params sp;
    size_t n = 0;
    uint32_t ctx_len;
    int rc;

    double t0 = now_ms(), t_tok = 0.0, t_kv = 0.0;

    wrk_error_clear();
    if ((rc = validate(model, prompt, params)) != 0) goto fail;
    r = calloc(1, sizeof *r);
    if (!r) { rc = wrk_error(CUDA_ERROR_OUT_OF_MEMORY, "inference: out of memory"); goto fail; }
    r->model = model;
    r->max_tokens = params->max_tokens;
    /* ignore_eos was appended to WorkerSamplingParams: read it only when the caller's
     * struct is large enough to hold it. */
    if (params->struct_size >= offsetof(WorkerSamplingParams, ignore_eos) + sizeof(int))
        r->ignore_eos = params->ignore_eos;
    r->n_vocab = model->info.vocab_size;
    if (r->n_vocab == 0 || r->n_vocab < wrk_tokenizer_vocab_size(model->tokenizer)) {
        rc = wrk_error(CUDA_ERROR_INFERENCE_FAILED, "model has %u logits for %u tokens",
                       r->n_vocab, wrk_tokenizer_vocab_size(model->tokenizer));
        goto fail;
    }
    if ((rc = wrk_textout_init(&r->out, params->stop, params->n_stop)) != 0) goto fail;

    /* Tokenize: ask for the count first, then fill. */
    rc = wrk_tokenize(model->tokenizer, prompt, strlen(prompt), params->add_special != 0,
                      NULL, 0, &n);
    if (rc && rc != CUDA_ERROR_INVALID_PARAMETER) goto fail;
    if (n == 0) { rc = wrk_error(CUDA_ERROR_INVALID_PARAMETER, "prompt gives no tokens"); goto fail; }
    ctx_len = model->info.context_length;
    if (n > ctx_len || n > INT32_MAX / 2) {
        rc = wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                       "prompt has %zu tokens, the context holds %u", n, ctx_len);
        goto fail;
    }
    r->prompt = malloc(n * sizeof *r->prompt);
    r->logits = wrk_spare_logits_take(model, (size_t)r->n_vocab * sizeof *r->logits,
                                      &r->logits_pinned);
    if (!r->prompt || !r->logits) {
        rc = wrk_error(CUDA_ERROR_OUT_OF_MEMORY, "inference: out of memory");
        goto fail;
    }
    if ((rc = wrk_tokenize(model->tokenizer, prompt, strlen(prompt), params->add_special != 0,
                           r->prompt, n, &n)) != 0)
        goto fail;
    r->n_prompt = (int)n;
    t_tok = now_ms();

    /* The cache holds the prompt and every generated token that is fed back. */
    {
        uint64_t want = (uint64_t)n + (uint64_t)params->max_tokens;
        r->n_ctx = want < ctx_len ? (uint32_t)want : ctx_len;
    }
    rc = wrk_spare_kv_take(model, r->n_ctx, &r->kv, &r->kv_n_ctx);
    if (rc) {
        wrk_error_prefix("KV cache for %u positions: ", r->n_ctx);
        if (rc != CUDA_ERROR_OUT_OF_MEMORY) rc = CUDA_ERROR_INFERENCE_FAILED;
        goto fail;
    }
    t_kv = now_ms();
    sp.temperature = params->temperature;
    sp.top_k = params->top_k;
    sp.top_p = params->top_p;
    sp.min_p = params->min_p;
    /* 0 would divide by zero: it is treated as 1 (off). */
    sp.repetition_penalty = params->repetition_penalty > 0.0f ? params->repetition_penalty
                                                              : 1.0f;
    sp.seed = params->seed;
    r->sampler = wrk_sampler_new(&sp, r->n_vocab);
    if (!r->sampler) { rc = wrk_error(CUDA_ERROR_OUT_OF_MEMORY, "sampler: out of memory"); goto fail; }
    r->device_greedy = use_device_greedy(model, r->sampler);
    r->pipelined = wrk_pipe_wanted(model, r->device_greedy);
    for (int i = 0; i < r->n_prompt; i++) wrk_sampler_accept(r->sampler, r->prompt[i]);
    if ((rc = prefill(r)) != 0) goto fail;
    r->started = 1;
    {
        const double t_end = now_ms();
        wrk_log(WRK_LOG_DEBUG, "session",
                "start: %d prompt tokens, %u positions: tokenize %.3f ms, KV cache %.3f ms, "
                "prefill %.3f ms", r->n_prompt, r->n_ctx, t_tok - t0, t_kv - t_tok,
                t_end - t_kv);
    }
    wrk_set_code(error_code, CUDA_SUCCESS);
    return r;
fail:
    job_free(r);
    wrk_set_code(error_code, rc);
    return NULL;
}

WRK_API InferenceResult *cuda_inference_start(CudaModel *model, const char *prompt,
                                              int max_tokens, float temperature,
                                              uint64_t seed, int *error_code)
{
    WorkerSamplingParams p;
    worker_sampling_defaults(&p);
    p.max_tokens = max_tokens;
    p.temperature = temperature;
    p.seed = seed;
    return worker_inference_start_ex(model, prompt, &p, error_code);
}

/* Feed id back at r->pos: forward_greedy (or the pipeline's greedy_collect) leaves the next
 * id in r->next_id, forward the logits in r->logits. Returns 0 or the error of the forward
 * pass. */
static int decode(InferenceResult *r, int32_t id)
{
    const wp_plugin *pl = r->model->plugin;
    int rc;
    if (r->pipelined)
        rc = wrk_pipe_decode(r, id);
    else if (r->device_greedy)
        rc = pl->forward_greedy(r->model->plugin_model, r->kv, id, r->pos, &r->next_id);
    else
        rc = pl->forward(r->model->plugin_model, r->kv, &id, 1, r->pos, r->logits, 0);
    if (rc) {
        wrk_error_prefix("decode at position %d: ", r->pos);
        return rc == CUDA_ERROR_OUT_OF_MEMORY ? rc : CUDA_ERROR_INFERENCE_FAILED;
    }
    /* the id indexes the tokenizer's tables next: never trust it unchecked */
    if (r->device_greedy && (r->next_id < 0 || (uint32_t)r->next_id >= r->n_vocab))
        return wrk_error(CUDA_ERROR_INFERENCE_FAILED,
                         "decode at position %d: %s chose id %d outside the vocabulary of %u",
                         r->pos, r->pipelined ? "greedy_collect" : "forward_greedy",
                         r->next_id, r->n_vocab);
    r->has_next_id = r->device_greedy;
    r->pos++;
    return 0;
}

/* The next token: the one forward_greedy chose, or a draw from the host logits. */
static int32_t next_token(InferenceResult *r)
{
    if (r->has_next_id) {
        r->has_next_id = 0;
        r->n_device_greedy++;
        return r->next_id;
    }
    return wrk_sampler_sample(r->sampler, r->logits);
}

/* Sample one token and feed it back; sets r->done and the stop reason when the job ends.
 * Returns 0 or the error of the forward pass. */
static int step(InferenceResult *r)
{
    const wrk_tokenizer *t = r->model->tokenizer;
    int32_t id = next_token(r);
    const char *piece;
    size_t plen = 0;
    int stopped = 0, rc;

    r->n_generated++;
    wrk_sampler_accept(r->sampler, id);
    if (!r->ignore_eos && wrk_tokenizer_is_eog(t, id)) {
        r->done = 1;
        r->stop_reason = WORKER_STOP_EOS;
        return 0;
    }
    piece = wrk_token_piece(t, id, 0, &plen);
    if ((rc = wrk_textout_push(&r->out, piece, plen)) != 0) return rc;
    {
        size_t at = wrk_textout_ready(&r->out, 0, &stopped);
        if (stopped) {
            /* Keep the text before the stop sequence, drop the rest. */
            r->out.len = at;
            r->done = 1;
            r->stop_reason = WORKER_STOP_STOP_SEQUENCE;
            return 0;
        }
    }
    if (r->n_generated >= r->max_tokens) {
        r->done = 1;
        r->stop_reason = WORKER_STOP_MAX_TOKENS;
        return 0;
    }
    if ((uint32_t)r->pos >= r->n_ctx) {
        r->done = 1;
        r->stop_reason = WORKER_STOP_CONTEXT_FULL;
        return 0;
    }
    return decode(r, id);
}

/* Hand r->pending to the caller when it fits. */
static bool give(InferenceResult *r, char *out, int size, int *token_index, int *error_code)
{
    if (r->pending_len + 1 > (size_t)size) {
        wrk_set_code(error_code, wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                     "token buffer of %d bytes too small: the piece needs %zu bytes "
                     "(%zu + NUL); it is kept for the next call", size, r->pending_len + 1,
                     r->pending_len));
        return false;
    }
    memcpy(out, r->pending, r->pending_len + 1);
    if (token_index) *token_index = r->n_pieces;
    r->n_pieces++;
    free(r->pending);
    r->pending = NULL;
    r->pending_len = 0;
    wrk_set_code(error_code, CUDA_SUCCESS);
    return true;
}

WRK_API bool cuda_inference_next_token(InferenceResult *result, char *token_out,
                                       int token_buffer_size, int *token_index,
                                       int *error_code)
{
    InferenceResult *r = result;
    wrk_error_clear();
    if (!r || !token_out || token_buffer_size < 1) {
        wrk_set_code(error_code, wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                     "next_token: %s", !r ? "result is NULL" : !token_out ?
                     "token_out is NULL" : "token_buffer_size < 1"));
        return false;
    }
    token_out[0] = '\0';
    if (r->pending) return give(r, token_out, token_buffer_size, token_index, error_code);
    if (r->failed) {
        wrk_set_code(error_code, wrk_error(r->failed, "next_token: the job failed earlier"));
        return false;
    }
    for (;;) {
        int stopped = 0;
        size_t ready, n = 0;
        if (!r->done) {
            int rc = step(r);
            if (rc) {
                r->failed = rc;
                r->done = 1;
                wrk_textout_clear(&r->out);
                wrk_set_code(error_code, rc);
                return false;
            }
        }
        ready = wrk_textout_ready(&r->out, r->done, &stopped);
        if (ready == 0) {
            if (r->done) {
                wrk_textout_clear(&r->out);
                wrk_set_code(error_code, CUDA_SUCCESS);
                return false;   /* the sequence is complete */
            }
            continue;           /* everything held back: generate more */
        }
        r->pending = wrk_textout_take(&r->out, ready, &n);
        if (!r->pending) {
            wrk_set_code(error_code, wrk_error(CUDA_ERROR_OUT_OF_MEMORY,
                                               "next_token: out of memory"));
            return false;
        }
        r->pending_len = n;
        if (r->done) wrk_textout_clear(&r->out);
        return give(r, token_out, token_buffer_size, token_index, error_code);
    }
}

WRK_API void cuda_inference_free(InferenceResult *result)
{
    wrk_error_clear();
    job_free(result);
}

WRK_API WorkerStopReason worker_inference_stop_reason(const InferenceResult *result)
{
    if (!result || !result->done || result->failed) return WORKER_STOP_NONE;
    return result->stop_reason;
}

WRK_API int worker_inference_prompt_tokens(const InferenceResult *result)
{
    return result ? result->n_prompt : 0;
}
