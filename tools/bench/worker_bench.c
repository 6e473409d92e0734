/*
 * worker_bench.c - worker-bench: how close decode and prefill come to the card's limit.
 *
 *   worker-bench -m model.gguf [-p 512] [-n 128] [-r 5] [--device cuda:N|host] [--json]
 *                [--plugin-path DIR] [--warmup N] [--tg-prompt N] [--no-bw] [--json-out F]
 *
 * Batch-1 decode reads every weight once per token, so its floor is bytes per token / copy
 * bandwidth. The tool measures that bandwidth itself (bench_bw.c, cudart), then, through
 * libworker's public API only (the path the server takes):
 *   load  cuda_load_model: seconds and file GB/s;
 *   pp    worker_inference_start_ex on a prompt of exactly p tokens (tokenize + KV cache +
 *         prefill): tokens/s; ttft adds the first cuda_inference_next_token;
 *   tg    a job with max_tokens n + 1 on a short prompt, cuda_inference_next_token until the
 *         job ends: n forward passes (the last sample feeds nothing back), greedy, with
 *         ignore_eos so random weights cannot stop early.
 * Each repetition runs pp and tg once (after --warmup unrecorded ones); the report gives
 * median and spread (bench_report.c). Failures exit 1 with worker_last_error_detail().
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "worker_ext.h"
#include "bench_bw.h"
#include "bench_prompt.h"
#include "bench_report.h"

typedef struct bench_opts {
    const char *model, *device, *plugin_path, *json_out;
    int pp, tg, reps, warmup, tg_prompt, json, no_bw;
} bench_opts;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Report a failed library call and return 1 (the exit status). */
static int fail(const char *what, int code)
{
    const char *d = worker_last_error_detail();
    fprintf(stderr, "worker-bench: %s: %s%s%s\n", what, cuda_error_message(code),
            d && d[0] ? ": " : "", d ? d : "");
    return 1;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: worker-bench -m MODEL.gguf [options]\n"
            "  -p N               prompt tokens for prefill (pp), default 512\n"
            "  -n N               tokens to decode (tg), default 128\n"
            "  -r N               repetitions, default 5 (median and spread)\n"
            "  --device DEV       cuda:N (default cuda:0) or host\n"
            "  --plugin-path DIR  extra plugin directories (':'-separated)\n"
            "  --warmup N         unrecorded repetitions first, default 1\n"
            "  --tg-prompt N      prompt tokens before decoding, default 1 (the fewest the\n"
            "                     tokenizer allows, e.g. BOS + 1)\n"
            "  --no-bw            skip the copy-bandwidth probe\n"
            "  --json             JSON instead of the table\n"
            "  --json-out FILE    also write the JSON to FILE\n");
}

/* Parse a positive int option; -1 when invalid. */
static int pos_int(const char *s, int max)
{
    char *end = NULL;
    long v = strtol(s, &end, 10);
    return (*s && !*end && v >= 1 && v <= max) ? (int)v : -1;
}

static int parse_args(int argc, char **argv, bench_opts *o)
{
    static const struct option opts[] = {
        { "model", required_argument, NULL, 'm' }, { "device", required_argument, NULL, 'd' },
        { "plugin-path", required_argument, NULL, 'P' }, { "json", no_argument, NULL, 'j' },
        { "warmup", required_argument, NULL, 'w' }, { "tg-prompt", required_argument, NULL, 't' },
        { "no-bw", no_argument, NULL, 'B' }, { "json-out", required_argument, NULL, 'J' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    int c;
    *o = (bench_opts){ NULL, "cuda:0", NULL, NULL, 512, 128, 5, 1, 1, 0, 0 };
    while ((c = getopt_long(argc, argv, "m:p:n:r:h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': o->model = optarg; break;
        case 'd': o->device = optarg; break;
        case 'P': o->plugin_path = optarg; break;
        case 'j': o->json = 1; break;
        case 'B': o->no_bw = 1; break;
        case 'J': o->json_out = optarg; break;
        case 'p': o->pp = pos_int(optarg, 1 << 24); break;
        case 'n': o->tg = pos_int(optarg, 1 << 24); break;
        case 'r': o->reps = pos_int(optarg, BENCH_MAX_REPS); break;
        case 't': o->tg_prompt = pos_int(optarg, 1 << 24); break;
        case 'w':
            o->warmup = strcmp(optarg, "0") == 0 ? 0 : pos_int(optarg, 100);
            break;
        case 'h': usage(stdout); exit(0);
        default: return -1;
        }
    }
    if (!o->model || optind != argc) return -1;
    if (o->pp < 0 || o->tg < 0 || o->reps < 0 || o->warmup < 0 || o->tg_prompt < 0) {
        fprintf(stderr, "worker-bench: -p, -n, -r, --tg-prompt need a positive number; -r at "
                "most %d\n", BENCH_MAX_REPS);
        return -1;
    }
    return 0;
}

/* The KV bytes one cached position costs, from what the runtime reports. */
static void kv_bytes(const WorkerModelInfo *mi, bench_result *r)
{
    r->n_layers = mi->n_layers;
    r->n_kv_heads = mi->n_kv_heads;
    r->head_dim = mi->head_dim;
    if (mi->kv_bytes_per_token) {
        r->kv_bytes_per_token = mi->kv_bytes_per_token;
        r->kv_source = "runtime";
    } else if (mi->n_layers && mi->n_kv_heads && mi->head_dim) {
        /* K and V, every layer, fp32 assumed. */
        r->kv_bytes_per_token = 2ull * mi->n_layers * mi->n_kv_heads * mi->head_dim * 4;
        r->kv_source = "2 * layers * kv_heads * head_dim * 4 (fp32 assumed)";
    } else {
        r->kv_bytes_per_token = 0;
        r->kv_source = "unknown";
    }
}

static void sampling(WorkerSamplingParams *p, int max_tokens)
{
    worker_sampling_defaults(p);
    p->max_tokens = max_tokens;
    p->temperature = 0.0f;
    p->ignore_eos = 1;
}

/* One pp run: start on the pp prompt, then one next_token. */
static int run_pp(CudaModel *m, const char *prompt, double *pp_s, double *ttft_s, int *n_prompt)
{
    WorkerSamplingParams sp;
    InferenceResult *job;
    char piece[4096];
    int code = 0, idx = 0;
    double t0, t1, t2;

    sampling(&sp, 1);
    t0 = now_s();
    job = worker_inference_start_ex(m, prompt, &sp, &code);
    t1 = now_s();
    if (!job) return fail("prefill (worker_inference_start_ex)", code);
    (void)cuda_inference_next_token(job, piece, sizeof piece, &idx, &code);
    t2 = now_s();
    *n_prompt = worker_inference_prompt_tokens(job);
    cuda_inference_free(job);
    if (code) return fail("first token (cuda_inference_next_token)", code);
    *pp_s = t1 - t0;
    *ttft_s = t2 - t0;
    return 0;
}

/* One tg run: n + 1 samples, n forward passes, timed from after the prefill. */
static int run_tg(CudaModel *m, const char *prompt, int n, double *tg_s, int *tokens,
                  int *exact)
{
    WorkerSamplingParams sp;
    InferenceResult *job;
    char piece[4096];
    int code = 0, idx = 0, pieces = 0;
    double t0, t1;
    WorkerStopReason why;

    sampling(&sp, n + 1);
    job = worker_inference_start_ex(m, prompt, &sp, &code);
    if (!job) return fail("decode prompt (worker_inference_start_ex)", code);
    t0 = now_s();
    while (cuda_inference_next_token(job, piece, sizeof piece, &idx, &code)) pieces++;
    t1 = now_s();
    why = worker_inference_stop_reason(job);
    cuda_inference_free(job);
    if (code) return fail("decode (cuda_inference_next_token)", code);
    *tg_s = t1 - t0;
    if (why == WORKER_STOP_MAX_TOKENS) {
        *tokens = n;
        *exact = 1;
    } else {
        /* Stopped early (EOS while ignore_eos is not honoured): pieces bound the count. */
        *tokens = pieces > 0 ? pieces : 1;
        *exact = 0;
    }
    return 0;
}

/* Load the model and fill the model part of r. */
static int load(CudaContext *ctx, const bench_opts *o, CudaModel **model, bench_result *r,
                WorkerModelInfo *mi)
{
    struct stat st;
    uint64_t vram = 0;
    int code = 0;
    double t0;

    if (stat(o->model, &st) != 0) {
        fprintf(stderr, "worker-bench: %s: cannot stat the model file\n", o->model);
        return 1;
    }
    r->file_bytes = (uint64_t)st.st_size;
    t0 = now_s();
    *model = cuda_load_model(ctx, o->model, &vram, &code);
    r->load_s = now_s() - t0;
    if (!*model) return fail("cuda_load_model", code);
    r->vram_bytes = vram;
    memset(mi, 0, sizeof *mi);
    mi->struct_size = sizeof *mi;
    if ((code = worker_model_info(*model, mi)) != 0) return fail("worker_model_info", code);
    r->architecture = mi->architecture;
    r->name = mi->name;
    r->plugin = mi->plugin;
    r->plugin_version = mi->plugin_version;
    r->quant_kind = mi->quant_kind;
    r->tokenizer_kind = mi->tokenizer_kind;
    r->n_params = mi->n_params;
    r->weight_bytes = mi->weight_bytes;
    r->vocab_size = mi->vocab_size;
    r->context_length = mi->context_length;
    kv_bytes(mi, r);
    return 0;
}

/* The prompts, the warm-up and the recorded repetitions. */
static int measure(CudaModel *model, const bench_opts *o, bench_result *r)
{
    char *pp_text = NULL, *tg_text = NULL, msg[256];
    int rc = 1, code;

    if ((code = bench_prompt_make(model, o->pp, &pp_text, &r->pp_tokens, msg, sizeof msg)) ||
        (code = bench_prompt_make(model, o->tg_prompt, &tg_text, &r->tg_prompt_tokens, msg,
                                  sizeof msg))) {
        fprintf(stderr, "worker-bench: prompt: %s\n", msg);
        goto done;
    }
    if ((uint64_t)r->pp_tokens + 1 > r->context_length ||
        (uint64_t)r->tg_prompt_tokens + (uint64_t)o->tg + 1 > r->context_length) {
        fprintf(stderr, "worker-bench: the model's context holds %u tokens: -p %d (+1) or "
                "--tg-prompt %d + -n %d (+1) does not fit\n", r->context_length, r->pp_tokens,
                r->tg_prompt_tokens, o->tg);
        goto done;
    }
    if (r->pp_tokens != o->pp)
        fprintf(stderr, "worker-bench: note: the pp prompt has %d tokens (asked %d)\n",
                r->pp_tokens, o->pp);
    r->tg_exact = 1;
    for (int i = -o->warmup; i < o->reps; i++) {
        double pp_s, ttft_s, tg_s;
        int n_prompt = 0, tokens = 0, exact = 0;
        if (run_pp(model, pp_text, &pp_s, &ttft_s, &n_prompt) ||
            run_tg(model, tg_text, o->tg, &tg_s, &tokens, &exact))
            goto done;
        if (i < 0) continue;
        r->pp_s[i] = pp_s;
        r->ttft_s[i] = ttft_s;
        r->tg_s[i] = tg_s;
        r->tg_tokens[i] = tokens;
        r->pp_tokens = n_prompt;
        if (!exact) r->tg_exact = 0;
        fprintf(stderr, "  rep %d/%d: pp %.1f t/s, tg %.1f t/s, ttft %.2f ms\n", i + 1,
                o->reps, n_prompt / pp_s, tokens / tg_s, ttft_s * 1e3);
    }
    if (!r->tg_exact)
        fprintf(stderr, "worker-bench: warning: decode stopped before %d tokens (EOS?): the "
                "tg numbers count pieces and are approximate\n", o->tg);
    rc = 0;
done:
    free(pp_text);
    free(tg_text);
    return rc;
}

int main(int argc, char **argv)
{
    static bench_result r;
    bench_opts o;
    WorkerInitOptions io;
    WorkerDeviceInfo di;
    WorkerModelInfo mi;
    CudaContext *ctx = NULL;
    CudaModel *model = NULL;
    int code = 0, rc = 1;

    if (parse_args(argc, argv, &o) != 0) {
        usage(stderr);
        return 2;
    }
    memset(&r, 0, sizeof r);
    r.device = o.device;
    r.model_path = o.model;
    r.reps = o.reps;
    r.warmup = o.warmup;
    r.pp_target = o.pp;
    r.tg_target = o.tg;
    r.is_host = strcmp(o.device, "host") == 0;

    /* The card's copy bandwidth first, with the device to itself. */
    if (!r.is_host && !o.no_bw) {
        char err[256];
        int dev = -1;
        char tail;
        if (sscanf(o.device, "cuda:%d%c", &dev, &tail) != 1 || dev < 0) {
            fprintf(stderr, "worker-bench: --device '%s': expected cuda:N or host\n", o.device);
            return 2;
        }
        if (bench_bw_measure(dev, 10, &r.bw, err, sizeof err) != 0) {
            fprintf(stderr, "worker-bench: copy bandwidth on %s: %s (--no-bw skips it)\n",
                    o.device, err);
            return 1;
        }
    }

    memset(&io, 0, sizeof io);
    io.struct_size = sizeof io;
    io.device = o.device;
    io.plugin_path = o.plugin_path;
    ctx = worker_init_ex(&io, &code);
    if (!ctx) return fail(o.device, code);
    memset(&di, 0, sizeof di);
    di.struct_size = sizeof di;
    if (worker_device_info(ctx, &di) == 0) r.device_name = di.name;

    if (load(ctx, &o, &model, &r, &mi) != 0) goto done;
    if (measure(model, &o, &r) != 0) goto done;
    if (o.json) bench_report_json(&r, stdout);
    else bench_report_table(&r, stdout);
    rc = fflush(stdout) == 0 ? 0 : 1;
    if (o.json_out) {
        FILE *f = fopen(o.json_out, "w");
        if (f) bench_report_json(&r, f);
        if (!f || fclose(f) != 0) {
            fprintf(stderr, "worker-bench: cannot write %s\n", o.json_out);
            rc = 1;
        }
    }
done:
    cuda_unload_model(model);
    cuda_destroy(ctx);
    return rc;
}
