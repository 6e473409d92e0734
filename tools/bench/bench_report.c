/*
 * bench_report.c - worker-bench's table and JSON (bench_report.h).
 *
 * Bytes per decoded token = weight bytes + KV bytes per position * average context of the
 * decode (prompt + (n + 1) / 2): batch-1 decode reads every weight once per token, so the
 * floor is those bytes / the copy bandwidth, and "% of bw" is how close a run comes to it.
 * Prefill reads the weights at least once per prompt: its GB/s is weight bytes / time of
 * the prompt (a lower bound of its traffic).
 */
#include <math.h>
#include <string.h>

#include "bench_report.h"

/* Median copy bandwidth (GB/s), 0 when not measured. */
static double bw_median(const bench_result *r)
{
    return r->bw.reps ? bench_summarize(r->bw.gbs, r->bw.reps).median : 0.0;
}

/* Average number of cached positions a decode step attends to. */
static double tg_avg_ctx(const bench_result *r)
{
    return (double)r->tg_prompt_tokens + (r->tg_target + 1) / 2.0;
}

static double tg_bytes_per_token(const bench_result *r)
{
    return (double)r->weight_bytes + (double)r->kv_bytes_per_token * tg_avg_ctx(r);
}

/* Per-rep rates: tokens/s of pp and tg, ttft in ms. */
static void rates(const bench_result *r, double *pp, double *tg, double *ttft)
{
    for (int i = 0; i < r->reps; i++) {
        pp[i] = r->pp_s[i] > 0 ? r->pp_tokens / r->pp_s[i] : 0.0;
        tg[i] = r->tg_s[i] > 0 ? r->tg_tokens[i] / r->tg_s[i] : 0.0;
        ttft[i] = r->ttft_s[i] * 1e3;
    }
}

static void pct(char *buf, size_t n, double gbs, double bw)
{
    if (bw > 0) snprintf(buf, n, "%.1f%%", 100.0 * gbs / bw);
    else snprintf(buf, n, "n/a");
}

void bench_report_table(const bench_result *r, FILE *f)
{
    static double pp[BENCH_MAX_REPS], tg[BENCH_MAX_REPS], tt[BENCH_MAX_REPS];
    double bw = bw_median(r);
    bench_summary sp, st, stt;
    char label[32], p1[16], p2[16];

    rates(r, pp, tg, tt);
    sp = bench_summarize(pp, r->reps);
    st = bench_summarize(tg, r->reps);
    stt = bench_summarize(tt, r->reps);
    fprintf(f, "device:  %s: %s\n", r->device, r->device_name ? r->device_name : "?");
    if (r->bw.reps) {
        bench_summary sb = bench_summarize(r->bw.gbs, r->bw.reps);
        fprintf(f, "copy bw: %.1f GB/s read+write (median of %d x %d copies of %.0f MiB; "
                "%.1f..%.1f)\n", sb.median, r->bw.reps, r->bw.copies,
                (double)r->bw.bytes / 1048576.0, sb.min, sb.max);
    } else {
        fprintf(f, "copy bw: not measured (%s)\n", r->is_host ? "host backend" : "no CUDA");
    }
    fprintf(f, "model:   %s\n", r->model_path);
    fprintf(f, "         %s %s, %s, %.3f B params, %.3f GB weights, vocab %u, ctx %u, "
            "plugin %s %s\n", r->architecture ? r->architecture : "?",
            r->name ? r->name : "?", r->quant_kind ? r->quant_kind : "?",
            (double)r->n_params / 1e9, (double)r->weight_bytes / 1e9, r->vocab_size,
            r->context_length, r->plugin ? r->plugin : "?",
            r->plugin_version ? r->plugin_version : "");
    if (r->kv_bytes_per_token)
        fprintf(f, "         KV %llu bytes per position (%s)\n",
                (unsigned long long)r->kv_bytes_per_token, r->kv_source);
    else
        fprintf(f, "         KV traffic not counted (the runtime reports no KV shape)\n");
    fprintf(f, "load:    %.3f s, %.2f GB/s (%.3f GB file), %.3f GB device memory\n", r->load_s,
            r->load_s > 0 ? (double)r->file_bytes / r->load_s / 1e9 : 0.0,
            (double)r->file_bytes / 1e9, (double)r->vram_bytes / 1e9);
    if (bw > 0)
        fprintf(f, "floor:   decode %.1f tokens/s (%.3f GB per token / %.1f GB/s)\n",
                bw / (tg_bytes_per_token(r) / 1e9), tg_bytes_per_token(r) / 1e9, bw);
    fprintf(f, "\n%-8s %7s %12s %23s %9s %9s %8s\n", "test", "tokens", "t/s median",
            "min..max (stddev)", "ms/tok", "GB/s", "% of bw");
    snprintf(label, sizeof label, "pp%d", r->pp_target);
    {
        double gbs = sp.median > 0 ? (double)r->weight_bytes * sp.median / r->pp_tokens / 1e9
                                   : 0.0;
        char range[64];
        snprintf(range, sizeof range, "%.1f..%.1f (%.1f)", sp.min, sp.max, sp.stddev);
        pct(p1, sizeof p1, gbs, bw);
        fprintf(f, "%-8s %7d %12.1f %23s %9.3f %9.1f %8s\n", label, r->pp_tokens, sp.median,
                range, sp.median > 0 ? 1e3 / sp.median : 0.0, gbs, p1);
    }
    snprintf(label, sizeof label, "tg%d", r->tg_target);
    {
        double gbs = tg_bytes_per_token(r) * st.median / 1e9;
        char range[64];
        snprintf(range, sizeof range, "%.1f..%.1f (%.1f)", st.min, st.max, st.stddev);
        pct(p2, sizeof p2, gbs, bw);
        fprintf(f, "%-8s %7d %12.1f %23s %9.3f %9.1f %8s%s\n", label, r->tg_target, st.median,
                range, st.median > 0 ? 1e3 / st.median : 0.0, gbs, p2,
                r->tg_exact ? "" : "  (stopped early: approximate)");
    }
    {
        char range[64];
        snprintf(range, sizeof range, "%.2f..%.2f ms", stt.min, stt.max);
        fprintf(f, "%-8s %7d %9.2f ms %23s\n", "ttft", r->pp_tokens, stt.median, range);
    }
    fprintf(f, "\n%d repetitions after %d warm-up; tg prompt %d tokens; pp prompt %d tokens "
            "(asked %d)\n", r->reps, r->warmup, r->tg_prompt_tokens, r->pp_tokens,
            r->pp_target);
}

/* A JSON string (NULL -> null). */
static void jstr(FILE *f, const char *s)
{
    if (!s) {
        fputs("null", f);
        return;
    }
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
        else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
        else fputc(*p, f);
    }
    fputc('"', f);
}

static void jsummary(FILE *f, const char *key, const double *v, int n)
{
    bench_summary s = bench_summarize(v, n);
    fprintf(f, "\"%s\": {\"median\": %.6g, \"min\": %.6g, \"max\": %.6g, \"mean\": %.6g, "
            "\"stddev\": %.6g, \"samples\": [", key, s.median, s.min, s.max, s.mean, s.stddev);
    for (int i = 0; i < n; i++) fprintf(f, "%s%.6g", i ? ", " : "", v[i]);
    fputs("]}", f);
}

void bench_report_json(const bench_result *r, FILE *f)
{
    static double pp[BENCH_MAX_REPS], tg[BENCH_MAX_REPS], tt[BENCH_MAX_REPS];
    double bw = bw_median(r), tgb = tg_bytes_per_token(r);
    bench_summary sp, st;

    rates(r, pp, tg, tt);
    sp = bench_summarize(pp, r->reps);
    st = bench_summarize(tg, r->reps);
    fputs("{\n  \"device\": {\"name\": ", f);
    jstr(f, r->device);
    fputs(", \"description\": ", f);
    jstr(f, r->device_name);
    fprintf(f, ", \"is_host\": %s, ", r->is_host ? "true" : "false");
    if (r->bw.reps) {
        fprintf(f, "\"copy_buffer_bytes\": %zu, \"copies_per_rep\": %d, ", r->bw.bytes,
                r->bw.copies);
        jsummary(f, "copy_gbs", r->bw.gbs, r->bw.reps);
    } else {
        fputs("\"copy_gbs\": null", f);
    }
    fputs("},\n  \"model\": {\"path\": ", f);
    jstr(f, r->model_path);
    fputs(", \"architecture\": ", f);
    jstr(f, r->architecture);
    fputs(", \"name\": ", f);
    jstr(f, r->name);
    fputs(", \"plugin\": ", f);
    jstr(f, r->plugin);
    fputs(", \"plugin_version\": ", f);
    jstr(f, r->plugin_version);
    fputs(", \"quant_kind\": ", f);
    jstr(f, r->quant_kind);
    fputs(", \"tokenizer\": ", f);
    jstr(f, r->tokenizer_kind);
    fprintf(f, ", \"n_params\": %llu, \"weight_bytes\": %llu, \"file_bytes\": %llu, "
            "\"vram_bytes\": %llu, \"vocab_size\": %u, \"context_length\": %u, "
            "\"n_layers\": %u, \"n_kv_heads\": %u, \"head_dim\": %u, "
            "\"kv_bytes_per_token\": %llu, \"kv_source\": ",
            (unsigned long long)r->n_params, (unsigned long long)r->weight_bytes,
            (unsigned long long)r->file_bytes, (unsigned long long)r->vram_bytes, r->vocab_size,
            r->context_length, r->n_layers, r->n_kv_heads, r->head_dim,
            (unsigned long long)r->kv_bytes_per_token);
    jstr(f, r->kv_source);
    fprintf(f, "},\n  \"load\": {\"seconds\": %.6g, \"gbs\": %.6g},\n", r->load_s,
            r->load_s > 0 ? (double)r->file_bytes / r->load_s / 1e9 : 0.0);
    fprintf(f, "  \"reps\": %d, \"warmup\": %d,\n", r->reps, r->warmup);
    fprintf(f, "  \"pp\": {\"tokens_requested\": %d, \"tokens\": %d, ", r->pp_target,
            r->pp_tokens);
    jsummary(f, "tokens_per_s", pp, r->reps);
    fprintf(f, ", \"bytes_per_batch\": %llu, \"gbs\": %.6g, \"pct_of_bw\": ",
            (unsigned long long)r->weight_bytes,
            sp.median > 0 ? (double)r->weight_bytes * sp.median / r->pp_tokens / 1e9 : 0.0);
    if (bw > 0) fprintf(f, "%.6g", 100.0 * (double)r->weight_bytes * sp.median / r->pp_tokens
                                   / 1e9 / bw);
    else fputs("null", f);
    fputs("},\n", f);
    fprintf(f, "  \"tg\": {\"tokens\": %d, \"prompt_tokens\": %d, \"exact\": %s, ",
            r->tg_target, r->tg_prompt_tokens, r->tg_exact ? "true" : "false");
    jsummary(f, "tokens_per_s", tg, r->reps);
    fprintf(f, ", \"bytes_per_token\": %.0f, \"avg_context\": %.1f, \"gbs\": %.6g, "
            "\"pct_of_bw\": ", tgb, tg_avg_ctx(r), tgb * st.median / 1e9);
    if (bw > 0) fprintf(f, "%.6g, \"floor_tokens_per_s\": %.6g", 100.0 * tgb * st.median / 1e9 / bw,
                        bw * 1e9 / tgb);
    else fputs("null, \"floor_tokens_per_s\": null", f);
    fputs("},\n  ", f);
    jsummary(f, "ttft_ms", tt, r->reps);
    fputs("\n}\n", f);
}
