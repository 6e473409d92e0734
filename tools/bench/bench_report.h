/*
 * bench_report.h - what worker-bench measured, and its two renderings: a text table and
 * JSON. The derived numbers (GB/s, % of the copy bandwidth) are computed here, in one place.
 */
#ifndef BENCH_REPORT_H
#define BENCH_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "bench_bw.h"
#include "bench_stats.h"

#define BENCH_MAX_REPS 1000

typedef struct bench_result {
    /* device */
    const char *device;          /* "cuda:0" or "host" */
    const char *device_name;
    int is_host;
    bench_bw bw;                 /* bw.reps == 0: not measured */
    /* model */
    const char *model_path;
    const char *architecture, *name, *plugin, *plugin_version, *quant_kind, *tokenizer_kind;
    uint64_t n_params, weight_bytes, file_bytes, vram_bytes;
    uint32_t vocab_size, context_length, n_layers, n_kv_heads, head_dim;
    uint64_t kv_bytes_per_token; /* 0: KV traffic not counted */
    const char *kv_source;       /* where kv_bytes_per_token came from */
    double load_s;
    /* runs */
    int reps, warmup;
    int pp_target, pp_tokens;    /* prompt tokens asked for / got */
    int tg_target, tg_prompt_tokens;
    double pp_s[BENCH_MAX_REPS];   /* worker_inference_start_ex of the pp prompt */
    double ttft_s[BENCH_MAX_REPS]; /* start + first cuda_inference_next_token */
    double tg_s[BENCH_MAX_REPS];   /* the decode loop */
    int tg_tokens[BENCH_MAX_REPS]; /* tokens decoded in each rep */
    int tg_exact;                /* 1: every rep ended at max_tokens (counts are exact) */
} bench_result;

/** Print the table (human-readable) to f. */
void bench_report_table(const bench_result *r, FILE *f);
/** Print one JSON object (with every repetition's raw numbers) to f. */
void bench_report_json(const bench_result *r, FILE *f);

#endif
