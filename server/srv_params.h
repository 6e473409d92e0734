/*
 * srv_params.h - generation requests: POST /execute bodies (the worker HTTP spec's field
 * names, ranges and defaults) and the OpenAI-compatible /v1 bodies, validated into one
 * srv_gen_request that the inference thread runs.
 */
#ifndef SRV_PARAMS_H
#define SRV_PARAMS_H

#include <stdint.h>
#include <jansson.h>

#include "worker_ext.h"

#define SRV_JOB_ID_MAX 256          /* ours: bounded so logs and the job table stay sane */
#define SRV_PROMPT_MAX_CHARS 32768  /* spec: at most 32768 characters */
#define SRV_STOP_MAX_TOKENS 32      /* spec: each stop sequence at most 32 tokens */

/** Limits that depend on the configuration and the loaded model. */
typedef struct srv_limits {
    unsigned max_tokens;      /* highest accepted max_tokens (ini / --max-tokens-out, >= 1) */
    unsigned vocab_size;      /* top_k upper bound */
} srv_limits;

typedef struct srv_gen_request {
    char job_id[SRV_JOB_ID_MAX + 1];
    char *prompt;             /* owned */
    WorkerSamplingParams sp;  /* sp.stop points at stop[] */
    char *stop[WORKER_MAX_STOP_SEQUENCES];  /* owned */
    const char *stop_view[WORKER_MAX_STOP_SEQUENCES];
    int seed_given;
    int stream;               /* OpenAI: stream true/false; /execute always streams */
} srv_gen_request;

/** Spec defaults: max_tokens 2048, temperature 1, top_p 1, top_k 0, penalty 1, min_p 0. */
void srv_gen_request_init(srv_gen_request *req);
void srv_gen_request_free(srv_gen_request *req);

/** Validate a POST /execute body. 0, or -1 with msg (the 400 message). */
int srv_parse_execute(json_t *body, const srv_limits *lim, srv_gen_request *req,
                      char *msg, size_t cap);

/** Validate a POST /v1/completions body (prompt: string, or array holding one string). */
int srv_parse_openai_completion(json_t *body, const srv_limits *lim, srv_gen_request *req,
                                char *msg, size_t cap);

/**
 * Validate a POST /v1/chat/completions body's sampling fields; messages are checked and
 * rendered by srv_chat (the caller sets req->prompt from the rendered text).
 */
int srv_parse_openai_chat(json_t *body, const srv_limits *lim, srv_gen_request *req,
                          char *msg, size_t cap);

/** Fill a seed from /dev/urandom (53 bits, so JSON clients using doubles round-trip it). */
uint64_t srv_random_seed(void);

#endif
