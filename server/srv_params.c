/*
 * srv_params.c - validation of generation requests (see srv_params.h).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "srv_json.h"
#include "srv_params.h"

void srv_gen_request_init(srv_gen_request *req)
{
    memset(req, 0, sizeof *req);
    /* The spec's defaults, set here (not via worker_sampling_defaults) because they are the
     * HTTP contract, independent of the library's own defaults. */
    req->sp.struct_size = sizeof req->sp;
    req->sp.max_tokens = 2048;
    req->sp.temperature = 1.0f;
    req->sp.top_k = 0;
    req->sp.top_p = 1.0f;
    req->sp.min_p = 0.0f;
    req->sp.repetition_penalty = 1.0f;
    req->sp.add_special = 1;
    req->sp.stop = req->stop_view;
}

void srv_gen_request_free(srv_gen_request *req)
{
    free(req->prompt);
    for (int i = 0; i < WORKER_MAX_STOP_SEQUENCES; i++) free(req->stop[i]);
    memset(req, 0, sizeof *req);
}

uint64_t srv_random_seed(void)
{
    uint64_t s = 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, &s, sizeof s) != (ssize_t)sizeof s) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        s = (uint64_t)ts.tv_nsec * 6364136223846793005ULL ^ (uint64_t)ts.tv_sec;
    }
    if (fd >= 0) close(fd);
    return s & ((1ULL << 53) - 1);
}

/* stop: array of at most 4 non-empty strings (OpenAI also allows one string). The 32-token
 * limit needs the tokenizer, so the inference thread checks it when the job starts. */
static int parse_stop(json_t *body, int allow_string, srv_gen_request *req, char *msg, size_t cap)
{
    json_t *v = json_object_get(body, "stop");
    size_t i;
    json_t *e;

    if (!v || (allow_string && json_is_null(v))) return 0;
    if (allow_string && json_is_string(v)) {
        if (!*json_string_value(v)) return 0;
        req->stop[0] = strdup(json_string_value(v));
        req->stop_view[0] = req->stop[0];
        req->sp.n_stop = 1;
        return req->stop[0] ? 0 : (snprintf(msg, cap, "out of memory"), -1);
    }
    if (!json_is_array(v)) {
        snprintf(msg, cap, "field 'stop' must be an array of strings");
        return -1;
    }
    if (json_array_size(v) > WORKER_MAX_STOP_SEQUENCES) {
        snprintf(msg, cap, "field 'stop' has %zu sequences; at most %d are allowed",
                 json_array_size(v), WORKER_MAX_STOP_SEQUENCES);
        return -1;
    }
    json_array_foreach(v, i, e) {
        if (!json_is_string(e) || !*json_string_value(e)) {
            snprintf(msg, cap, "field 'stop[%zu]' must be a non-empty string", i);
            return -1;
        }
        if (srv_utf8_chars(json_string_value(e)) > SRV_STOP_MAX_TOKENS * 64) {
            snprintf(msg, cap, "field 'stop[%zu]' is longer than %d tokens", i,
                     SRV_STOP_MAX_TOKENS);
            return -1;
        }
        req->stop[i] = strdup(json_string_value(e));
        if (!req->stop[i]) {
            snprintf(msg, cap, "out of memory");
            return -1;
        }
        req->stop_view[i] = req->stop[i];
        req->sp.n_stop = (int)i + 1;
    }
    return 0;
}

/* The sampling fields shared by /execute and the OpenAI endpoints. */
static int parse_sampling(json_t *body, const srv_limits *lim, long long def_max_tokens,
                          srv_gen_request *req, char *msg, size_t cap)
{
    long long mt, top_k;
    double temp, top_p, rp, min_p;
    int present = 0;
    uint64_t seed = 0;

    if (srv_json_int(body, "max_tokens", 0, 1, lim->max_tokens, def_max_tokens, &mt, msg, cap) ||
        srv_json_real(body, "temperature", 0.0, 2.0, 1.0, &temp, msg, cap) ||
        srv_json_real(body, "top_p", 0.0, 1.0, 1.0, &top_p, msg, cap) ||
        srv_json_int(body, "top_k", 0, 0, lim->vocab_size, 0, &top_k, msg, cap) ||
        srv_json_real(body, "repetition_penalty", 0.0, 2.0, 1.0, &rp, msg, cap) ||
        srv_json_real(body, "min_p", 0.0, 1.0, 0.0, &min_p, msg, cap) ||
        srv_json_u64(body, "seed", &seed, &present, msg, cap))
        return -1;
    req->sp.max_tokens = (int)mt;
    req->sp.temperature = (float)temp;
    req->sp.top_p = (float)top_p;
    req->sp.top_k = (int)top_k;
    req->sp.repetition_penalty = (float)rp;
    req->sp.min_p = (float)min_p;
    req->seed_given = present;
    req->sp.seed = present ? seed : srv_random_seed();
    return 0;
}

int srv_parse_execute(json_t *body, const srv_limits *lim, srv_gen_request *req,
                      char *msg, size_t cap)
{
    const char *job_id, *prompt;

    srv_gen_request_init(req);
    req->stream = 1;
    if (srv_json_string(body, "job_id", 1, 1, 0, &job_id, msg, cap) ||
        srv_json_string(body, "prompt", 1, 1, SRV_PROMPT_MAX_CHARS, &prompt, msg, cap))
        goto fail;
    if (strlen(job_id) > SRV_JOB_ID_MAX) {
        snprintf(msg, cap, "field 'job_id' is longer than %d bytes", SRV_JOB_ID_MAX);
        goto fail;
    }
    snprintf(req->job_id, sizeof req->job_id, "%s", job_id);
    if (parse_sampling(body, lim, 2048 < lim->max_tokens ? 2048 : lim->max_tokens, req, msg,
                       cap) ||
        parse_stop(body, 0, req, msg, cap))
        goto fail;
    req->prompt = strdup(prompt);
    if (!req->prompt) {
        snprintf(msg, cap, "out of memory");
        goto fail;
    }
    return 0;
fail:
    srv_gen_request_free(req);
    return -1;
}

/* Fields every OpenAI body may carry: model (string, informational), n (only 1), stream. */
static int parse_openai_common(json_t *body, srv_gen_request *req, char *msg, size_t cap)
{
    const char *model;
    long long n;
    double pen;

    if (srv_json_string(body, "model", 0, 0, 0, &model, msg, cap) ||
        srv_json_int(body, "n", 0, 1, 1, 1, &n, msg, cap) ||
        srv_json_bool(body, "stream", 0, &req->stream, msg, cap) ||
        srv_json_real(body, "presence_penalty", -2.0, 2.0, 0.0, &pen, msg, cap) ||
        srv_json_real(body, "frequency_penalty", -2.0, 2.0, 0.0, &pen, msg, cap))
        return -1;
    return 0;
}

int srv_parse_openai_completion(json_t *body, const srv_limits *lim, srv_gen_request *req,
                                char *msg, size_t cap)
{
    json_t *p = json_object_get(body, "prompt");
    const char *prompt = NULL;

    srv_gen_request_init(req);
    if (parse_openai_common(body, req, msg, cap)) goto fail;
    if (json_is_array(p) && json_array_size(p) == 1) p = json_array_get(p, 0);
    if (!p) {
        snprintf(msg, cap, "missing required field 'prompt'");
        goto fail;
    }
    if (!json_is_string(p)) {
        snprintf(msg, cap, "field 'prompt' must be a string (or an array of one string)");
        goto fail;
    }
    prompt = json_string_value(p);
    if (!*prompt || srv_utf8_chars(prompt) > SRV_PROMPT_MAX_CHARS) {
        snprintf(msg, cap, "field 'prompt' must hold 1 to %d characters", SRV_PROMPT_MAX_CHARS);
        goto fail;
    }
    /* OpenAI's default for completions is 16 tokens. */
    if (parse_sampling(body, lim, 16 < lim->max_tokens ? 16 : lim->max_tokens, req, msg, cap) ||
        parse_stop(body, 1, req, msg, cap))
        goto fail;
    req->prompt = strdup(prompt);
    if (!req->prompt) {
        snprintf(msg, cap, "out of memory");
        goto fail;
    }
    return 0;
fail:
    srv_gen_request_free(req);
    return -1;
}

int srv_parse_openai_chat(json_t *body, const srv_limits *lim, srv_gen_request *req,
                          char *msg, size_t cap)
{
    long long mct;

    srv_gen_request_init(req);
    if (parse_openai_common(body, req, msg, cap) ||
        parse_sampling(body, lim, lim->max_tokens, req, msg, cap) ||
        parse_stop(body, 1, req, msg, cap))
        goto fail;
    /* The newer name for max_tokens in the chat API. */
    if (json_object_get(body, "max_completion_tokens")) {
        if (srv_json_int(body, "max_completion_tokens", 1, 1, lim->max_tokens, 0, &mct, msg, cap))
            goto fail;
        req->sp.max_tokens = (int)mct;
    }
    /* Chat templates carry their own BOS; the rendered text adds none twice. */
    return 0;
fail:
    srv_gen_request_free(req);
    return -1;
}
