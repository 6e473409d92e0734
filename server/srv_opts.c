/*
 * srv_opts.c - command line parsing (see srv_opts.h and `worker-orcd --help`).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"   /* PACKAGE_VERSION */
#include "worker_ext.h"
#include "srv_opts.h"

#ifndef WORKER_DEFAULT_MODEL
#define WORKER_DEFAULT_MODEL "/usr/local/share/worker-orcd/models/stories260K.gguf"
#endif
#ifndef WORKER_SOURCE_MODEL
#define WORKER_SOURCE_MODEL "models/stories260K.gguf"
#endif

enum {
    OPT_CONFIG = 256, OPT_MODEL, OPT_GPU, OPT_DEVICE, OPT_HOST, OPT_PORT, OPT_PLUGIN_PATH,
    OPT_LOG_FORMAT, OPT_LOG_LEVEL, OPT_WORKER_ID, OPT_CALLBACK, OPT_MAX_TOKENS, OPT_TIMEOUT,
    OPT_KV_CACHE, OPT_QUEUE, OPT_HELP, OPT_VERSION
};

static const struct option long_opts[] = {
    {"config", required_argument, NULL, OPT_CONFIG},
    {"model", required_argument, NULL, OPT_MODEL},
    {"gpu", required_argument, NULL, OPT_GPU},
    {"gpu-device", required_argument, NULL, OPT_GPU},
    {"device", required_argument, NULL, OPT_DEVICE},
    {"host", required_argument, NULL, OPT_HOST},
    {"port", required_argument, NULL, OPT_PORT},
    {"plugin-path", required_argument, NULL, OPT_PLUGIN_PATH},
    {"log-format", required_argument, NULL, OPT_LOG_FORMAT},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"worker-id", required_argument, NULL, OPT_WORKER_ID},
    {"callback-url", required_argument, NULL, OPT_CALLBACK},
    {"max-tokens-out", required_argument, NULL, OPT_MAX_TOKENS},
    {"inference-timeout-sec", required_argument, NULL, OPT_TIMEOUT},
    {"kv-cache-size-mb", required_argument, NULL, OPT_KV_CACHE},
    {"queue-size", required_argument, NULL, OPT_QUEUE},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0}
};

static void usage(FILE *f)
{
    fputs(
"Usage: worker-orcd [OPTIONS]\n"
"Serve one GGUF model over HTTP: POST /execute (SSE), /cancel, /health, /metrics,\n"
"/shutdown, /tokenize, /detokenize and the OpenAI-compatible /v1/completions,\n"
"/v1/chat/completions and /v1/models.\n\n"
"  --config FILE              ini file (docs/worker-orcd.ini); flags override it\n"
"  --model PATH               GGUF model to load (required here or in [model] path)\n"
"  --device cuda:N|host       device (default cuda:0); host = reference CPU backend\n"
"  --gpu N, --gpu-device N    same as --device cuda:N\n"
"  --host ADDR                listen address (default 127.0.0.1)\n"
"  --port P                   listen port (default 8080; 0 picks a free port)\n"
"  --plugin-path DIRS         extra plugin directories, ':'-separated\n"
"  --log-format json|text     log line format (default text)\n"
"  --log-level LEVEL          error|warn|info|debug (default info)\n"
"  --worker-id ID             id reported to the orchestrator callback\n"
"  --callback-url URL         POST {worker_id, vram_bytes, uri} there once ready (http://)\n"
"  --max-tokens-out N         highest accepted max_tokens (default 2048)\n"
"  --inference-timeout-sec N  end a job with INFERENCE_TIMEOUT after N s (default 300)\n"
"  --kv-cache-size-mb N       accepted for compatibility; the runtime sizes the KV cache\n"
"                             per job from the prompt and max_tokens\n"
"  --queue-size N             jobs that may wait while one runs (default 8)\n"
"  --help, --version\n", f);
}

static int parse_uint(const char *flag, const char *s, unsigned long lo, unsigned long hi,
                      unsigned long *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (!*s || *end || errno || *s == '-' || v < lo || v > hi) {
        fprintf(stderr, "worker-orcd: %s expects an integer in [%lu, %lu], got '%s'\n", flag, lo,
                hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

#define COPY(dst, src) snprintf((dst), sizeof(dst), "%s", (src))

int srv_opts_parse(int argc, char **argv, srv_opts *o)
{
    char err[1024];
    unsigned long v;
    int c;

    memset(o, 0, sizeof *o);
    wrk_config_defaults(&o->cfg);
    /* pass 1: find --config so the flags of pass 2 override the file */
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1)
        if (c == OPT_CONFIG) COPY(o->config_path, optarg);
    if (o->config_path[0] &&
        wrk_config_load(o->config_path, &o->cfg, err, sizeof err) != 0) {
        fprintf(stderr, "worker-orcd: config: %s\n", err);
        return SRV_OPTS_EXIT_FAIL;
    }
    opterr = 1;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
        switch (c) {
        case OPT_CONFIG: break;
        case OPT_MODEL: COPY(o->cfg.model_path, optarg); break;
        case OPT_GPU:
            if (parse_uint("--gpu", optarg, 0, 1024, &v)) return SRV_OPTS_EXIT_FAIL;
            snprintf(o->cfg.device, sizeof o->cfg.device, "cuda:%lu", v);
            break;
        case OPT_DEVICE:
            if (strcmp(optarg, "host") != 0 && strncmp(optarg, "cuda:", 5) != 0) {
                fprintf(stderr, "worker-orcd: --device expects cuda:N or host, got '%s'\n",
                        optarg);
                return SRV_OPTS_EXIT_FAIL;
            }
            COPY(o->cfg.device, optarg);
            break;
        case OPT_HOST: COPY(o->cfg.server_host, optarg); break;
        case OPT_PORT:
            if (parse_uint("--port", optarg, 0, 65535, &v)) return SRV_OPTS_EXIT_FAIL;
            o->cfg.server_port = (unsigned)v;
            break;
        case OPT_PLUGIN_PATH: COPY(o->cfg.plugin_path, optarg); break;
        case OPT_LOG_FORMAT:
            if (strcmp(optarg, "json") != 0 && strcmp(optarg, "text") != 0) {
                fprintf(stderr, "worker-orcd: --log-format expects json or text\n");
                return SRV_OPTS_EXIT_FAIL;
            }
            o->cfg.log_json = strcmp(optarg, "json") == 0;
            break;
        case OPT_LOG_LEVEL: {
            static const char *const lv[] = {"error", "warn", "info", "debug"};
            int found = -1;
            for (int i = 0; i < 4; i++)
                if (strcmp(optarg, lv[i]) == 0) found = i;
            if (found < 0) {
                fprintf(stderr, "worker-orcd: --log-level expects error|warn|info|debug\n");
                return SRV_OPTS_EXIT_FAIL;
            }
            o->cfg.log_level = found;
            break;
        }
        case OPT_WORKER_ID: COPY(o->cfg.worker_id, optarg); break;
        case OPT_CALLBACK: COPY(o->callback_url, optarg); break;
        case OPT_MAX_TOKENS:
            if (parse_uint("--max-tokens-out", optarg, 1, 1u << 20, &v)) return SRV_OPTS_EXIT_FAIL;
            o->cfg.max_tokens = (unsigned)v;
            break;
        case OPT_TIMEOUT:
            if (parse_uint("--inference-timeout-sec", optarg, 0, 86400 * 7, &v))
                return SRV_OPTS_EXIT_FAIL;
            o->cfg.inference_timeout_s = (unsigned)v;
            break;
        case OPT_KV_CACHE:
            if (parse_uint("--kv-cache-size-mb", optarg, 0, 1u << 24, &v)) return SRV_OPTS_EXIT_FAIL;
            o->kv_cache_mb = (unsigned)v;
            o->kv_cache_given = 1;
            break;
        case OPT_QUEUE:
            if (parse_uint("--queue-size", optarg, 0, 1u << 16, &v)) return SRV_OPTS_EXIT_FAIL;
            o->cfg.queue_size = (unsigned)v;
            break;
        case OPT_HELP:
            usage(stdout);
            return SRV_OPTS_EXIT_OK;
        case OPT_VERSION:
            printf("worker-orcd %s (libworker %s, ABI %u.%u)\n", PACKAGE_VERSION,
                   worker_version_string(), worker_abi_version() >> 16,
                   worker_abi_version() & 0xFFFF);
            return SRV_OPTS_EXIT_OK;
        default:
            usage(stderr);
            return SRV_OPTS_EXIT_FAIL;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "worker-orcd: unexpected argument '%s' (see --help)\n", argv[optind]);
        return SRV_OPTS_EXIT_FAIL;
    }
    if (!o->cfg.model_path[0]) {
        /* No model named: serve the default model (models/stories260K.gguf), installed or
         * from the source tree of this build. */
        static const char *const defaults[] = { WORKER_DEFAULT_MODEL, WORKER_SOURCE_MODEL };
        for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
            if (access(defaults[i], R_OK) == 0) {
                COPY(o->cfg.model_path, defaults[i]);
                fprintf(stderr, "worker-orcd: no --model given: serving the default model %s\n",
                        defaults[i]);
                break;
            }
    }
    if (!o->cfg.model_path[0]) {
        fprintf(stderr, "worker-orcd: no model: pass --model PATH or set [model] path\n");
        return SRV_OPTS_EXIT_FAIL;
    }
    if (o->callback_url[0] && strncmp(o->callback_url, "http://", 7) != 0) {
        fprintf(stderr, "worker-orcd: --callback-url must be an http:// URL\n");
        return SRV_OPTS_EXIT_FAIL;
    }
    return SRV_OPTS_RUN;
}
