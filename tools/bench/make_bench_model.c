/*
 * make_bench_model.c - write a random-weight llama GGUF of a benchmark shape (issue 8).
 *
 *   make-bench-model --shape 1b|8b|custom:dim,layers,heads,kv,ffn,vocab[,tied]
 *                    --type f16|q8_0|q4_k_m -o out.gguf [--threads N] [--seed S] [--ctx N]
 *
 * Weights are normal with std 0.02 (xorshift + Box-Muller; norms 1 + N(0, 0.02)); each row
 * has its own seed, so the file does not depend on the thread count. Tensors are produced in
 * chunks of rows by a pool of threads (generate fp32, quantize with runtime/gguf's reference
 * quantizers) while the previous chunk is written, so the file never sits in memory.
 */
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/wrk_error.h"
#include "gguf/quant.h"
#include "worker_plugin.h"
#include "bench_model.h"

#define CHUNK_BYTES (64u << 20)
#define MAX_THREADS 256

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t xorshift64s(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545f4914f6cdd1dull;
}

/* Uniform in (0, 1]: never 0, so log() below is finite. */
static float unif(uint64_t *s) { return (float)((xorshift64s(s) >> 40) + 1) * (1.0f / 16777216.0f); }

/* n normal values with mean mu and std sigma, seeded by seed. */
static void fill_normal(float *x, uint64_t n, uint64_t seed, float mu, float sigma)
{
    uint64_t s = splitmix64(&seed) | 1;
    for (uint64_t i = 0; i < n; i += 2) {
        float r = sqrtf(-2.0f * logf(unif(&s))), a = 6.28318530718f * unif(&s);
        x[i] = mu + sigma * r * cosf(a);
        if (i + 1 < n) x[i + 1] = mu + sigma * r * sinf(a);
    }
}

/* One chunk of rows of one tensor, split among the threads. */
typedef struct chunk {
    const gs_tensor *t;
    uint64_t seed;        /* the tensor's seed */
    uint64_t row0, nrows, row_bytes;
    uint8_t *out;
    int n_threads;
} chunk;

typedef struct part {
    const chunk *c;
    int k;
    int rc;
} part;

static void *gen_part(void *arg)
{
    part *p = arg;
    const chunk *c = p->c;
    uint64_t ne0 = c->t->ne[0];
    uint64_t a = c->nrows * (uint64_t)p->k / (uint64_t)c->n_threads,
             b = c->nrows * (uint64_t)(p->k + 1) / (uint64_t)c->n_threads;
    float *row = malloc(ne0 * sizeof *row);
    int norm = c->t->n_dims == 1;
    if (!row) {
        p->rc = CUDA_ERROR_OUT_OF_MEMORY;
        return NULL;
    }
    for (uint64_t r = a; r < b; r++) {
        uint64_t rs = c->seed ^ ((c->row0 + r) * 0xd1342543de82ef95ull);
        fill_normal(row, ne0, rs, norm ? 1.0f : 0.0f, 0.02f);
        wrk_quantize_row(c->t->type, row, c->out + r * c->row_bytes, ne0);
    }
    free(row);
    return NULL;
}

/* Fill c->out using n_threads threads (a part whose thread cannot start runs here). */
static int gen_chunk(const chunk *c)
{
    pthread_t th[MAX_THREADS];
    part parts[MAX_THREADS];
    int created[MAX_THREADS], rc = 0;
    for (int k = 0; k < c->n_threads; k++) {
        parts[k] = (part){ c, k, 0 };
        created[k] = pthread_create(&th[k], NULL, gen_part, &parts[k]) == 0;
        if (!created[k]) gen_part(&parts[k]);
    }
    for (int k = 0; k < c->n_threads; k++) {
        if (created[k]) pthread_join(th[k], NULL);
        if (parts[k].rc) rc = parts[k].rc;
    }
    return rc ? wrk_error(rc, "%s: out of memory for a row", c->t->name) : 0;
}

/* The previous chunk's write, run in a thread while the next chunk is generated. */
typedef struct write_job {
    gguf_stream *s;
    const uint8_t *data;
    size_t n;
    int rc;
    char detail[WRK_ERROR_DETAIL_MAX];
} write_job;

static void *write_main(void *arg)
{
    write_job *w = arg;
    w->rc = gs_data(w->s, w->data, w->n);
    if (w->rc) snprintf(w->detail, sizeof w->detail, "%s", wrk_error_detail());
    return NULL;
}

static int write_wait(pthread_t *th, int *running, write_job *w)
{
    if (!*running) return 0;
    pthread_join(*th, NULL);
    *running = 0;
    return w->rc ? wrk_error(w->rc, "%s", w->detail) : 0;
}

/* Every tensor's data, in file order, double-buffered: generate chunk i+1 while chunk i is
 * written. */
static int write_tensors(gguf_stream *s, const gs_tensor *ts, uint32_t n, uint64_t seed,
                         int n_threads, int quiet)
{
    uint8_t *buf[2] = { malloc(CHUNK_BYTES), malloc(CHUNK_BYTES) };
    pthread_t wth;
    write_job w;
    int running = 0, cur = 0, rc = 0, tty = isatty(2);
    struct timespec t0, t1;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (!buf[0] || !buf[1]) {
        rc = wrk_error(CUDA_ERROR_OUT_OF_MEMORY, "chunk buffers: out of memory");
        goto done;
    }
    for (uint32_t i = 0; i < n && !rc; i++) {
        const gs_tensor *t = &ts[i];
        uint64_t rows = t->n_dims > 1 ? t->ne[1] : 1;
        uint64_t rb = wrk_dtype_row_bytes(t->type, t->ne[0]);
        uint64_t per = CHUNK_BYTES / rb;
        uint64_t tseed = seed;
        tseed ^= splitmix64(&tseed) + i * 0x9e3779b97f4a7c15ull;
        if (per == 0) {
            rc = wrk_error(CUDA_ERROR_INVALID_PARAMETER, "%s: a row is over %u bytes", t->name,
                           CHUNK_BYTES);
            break;
        }
        for (uint64_t r0 = 0; r0 < rows && !rc; r0 += per) {
            chunk c = { t, tseed, r0, rows - r0 < per ? rows - r0 : per, rb, buf[cur],
                        n_threads };
            if ((rc = gen_chunk(&c)) != 0) break;
            if ((rc = write_wait(&wth, &running, &w)) != 0) break;
            w = (write_job){ s, buf[cur], (size_t)(c.nrows * rb), 0, "" };
            if (pthread_create(&wth, NULL, write_main, &w) == 0) running = 1;
            else if ((rc = gs_data(s, w.data, w.n)) != 0) break;
            cur ^= 1;
        }
        if (!quiet && !rc) {
            clock_gettime(CLOCK_MONOTONIC, &t1);
            fprintf(stderr, "%s[%3u/%u] %-28s %-5s %8.1f MiB  %6.1f s", tty ? "\r" : "",
                    i + 1, n, t->name,
                    wrk_dtype_name(t->type), (double)(rows * rb) / 1048576.0,
                    (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
            if (!tty) fputc('\n', stderr);
        }
    }
    {
        int wrc = write_wait(&wth, &running, &w);
        if (!rc) rc = wrc;
    }
    if (!quiet && tty) fputc('\n', stderr);
done:
    free(buf[0]);
    free(buf[1]);
    return rc;
}

/* The metadata: 12 llama keys + 9 tokenizer keys (n_kv in main must match). */
#define N_KV 21
static int write_meta(gguf_stream *s, const bench_shape *sh, int ftype, const bench_vocab *v)
{
    char name[96];
    int32_t *types = v->type;
    int rc = 0;
    uint32_t hd = sh->dim / sh->n_heads;
    snprintf(name, sizeof name, "bench-%s-%s", sh->name, bench_ftype_name(ftype));
    if (!rc) rc = gs_kv_str(s, "general.architecture", "llama");
    if (!rc) rc = gs_kv_str(s, "general.name", name);
    if (!rc) rc = gs_kv_u32(s, "general.file_type", bench_ftype_file_type(ftype));
    if (!rc) rc = gs_kv_u32(s, "llama.context_length", sh->ctx);
    if (!rc) rc = gs_kv_u32(s, "llama.embedding_length", sh->dim);
    if (!rc) rc = gs_kv_u32(s, "llama.block_count", sh->n_layers);
    if (!rc) rc = gs_kv_u32(s, "llama.feed_forward_length", sh->ffn);
    if (!rc) rc = gs_kv_u32(s, "llama.attention.head_count", sh->n_heads);
    if (!rc) rc = gs_kv_u32(s, "llama.attention.head_count_kv", sh->n_kv_heads);
    if (!rc) rc = gs_kv_f32(s, "llama.rope.freq_base", sh->rope_base);
    if (!rc) rc = gs_kv_f32(s, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
    if (!rc) rc = gs_kv_u32(s, "llama.rope.dimension_count", hd);
    if (!rc) rc = gs_kv_str(s, "tokenizer.ggml.model", "gpt2");
    if (!rc) rc = gs_kv_str(s, "tokenizer.ggml.pre", "default");
    if (!rc) rc = gs_kv_arr_str(s, "tokenizer.ggml.tokens", (const char *const *)v->text,
                                v->len, v->n);
    if (!rc) rc = gs_kv_arr_i32(s, "tokenizer.ggml.token_type", types, v->n);
    if (!rc) rc = gs_kv_arr_str(s, "tokenizer.ggml.merges", NULL, NULL, 0);
    if (!rc) rc = gs_kv_u32(s, "tokenizer.ggml.bos_token_id", v->bos);
    if (!rc) rc = gs_kv_u32(s, "tokenizer.ggml.eos_token_id", v->eos);
    if (!rc) rc = gs_kv_bool(s, "tokenizer.ggml.add_bos_token", 1);
    if (!rc) rc = gs_kv_bool(s, "tokenizer.ggml.add_eos_token", 0);
    return rc;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: make-bench-model --shape SHAPE --type TYPE -o OUT.gguf [options]\n"
            "  --shape 1b | 8b | custom:dim,layers,heads,kv,ffn,vocab[,tied(1|0)]\n"
            "          1b: Llama-3.2-1B (2048, 16 layers, 32/8 heads, ffn 8192, tied)\n"
            "          8b: Llama-3-8B (4096, 32 layers, 32/8 heads, ffn 14336)\n"
            "  --type f16 | q8_0 | q4_k_m   (q4_k_m: llama.cpp's recipe)\n"
            "  -o, --output FILE     written atomically (FILE.tmp, then renamed)\n"
            "  -t, --threads N       default: the online CPUs\n"
            "  --seed S              default 1\n"
            "  --ctx N               context_length (default 8192; custom 2048)\n"
            "  -q, --quiet\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "shape", required_argument, NULL, 's' }, { "type", required_argument, NULL, 'T' },
        { "output", required_argument, NULL, 'o' }, { "threads", required_argument, NULL, 't' },
        { "seed", required_argument, NULL, 'S' }, { "ctx", required_argument, NULL, 'c' },
        { "quiet", no_argument, NULL, 'q' }, { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    const char *shape_s = NULL, *type_s = NULL, *out = NULL;
    long threads = sysconf(_SC_NPROCESSORS_ONLN), ctx = 0;
    unsigned long long seed = 1;
    int quiet = 0, ftype, c, rc;
    bench_shape sh;
    bench_vocab v;
    gs_tensor *ts;
    uint32_t nt = 0;
    uint64_t total = 0;
    gguf_stream s;

    while ((c = getopt_long(argc, argv, "o:t:qh", opts, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case 's': shape_s = optarg; break;
        case 'T': type_s = optarg; break;
        case 'o': out = optarg; break;
        case 't': threads = strtol(optarg, &end, 10); if (*end) threads = -1; break;
        case 'S': seed = strtoull(optarg, &end, 0); if (*end) { usage(stderr); return 2; } break;
        case 'c': ctx = strtol(optarg, &end, 10); if (*end || ctx <= 0) ctx = -1; break;
        case 'q': quiet = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!shape_s || !type_s || !out || optind != argc) { usage(stderr); return 2; }
    if (threads < 1 || threads > MAX_THREADS) {
        fprintf(stderr, "make-bench-model: --threads must be 1..%d\n", MAX_THREADS);
        return 2;
    }
    if (ctx < 0 || ctx > (1l << 24)) {
        fprintf(stderr, "make-bench-model: --ctx must be 1..16777216\n");
        return 2;
    }
    if ((ftype = bench_ftype_parse(type_s)) < 0) {
        fprintf(stderr, "make-bench-model: unknown --type '%s' (f16, q8_0, q4_k_m)\n", type_s);
        return 2;
    }
    if (bench_shape_parse(shape_s, &sh) != 0) {
        fprintf(stderr, "make-bench-model: %s\n", wrk_error_detail());
        return 2;
    }
    if (ctx) sh.ctx = (uint32_t)ctx;
    ts = malloc(GS_MAX_TENSORS * sizeof *ts);
    if (!ts) { fprintf(stderr, "make-bench-model: out of memory\n"); return 1; }
    if ((rc = bench_tensors(&sh, ftype, ts, &nt)) != 0 || (rc = bench_vocab_make(sh.vocab, &v)) != 0) {
        fprintf(stderr, "make-bench-model: %s\n", wrk_error_detail());
        free(ts);
        return 1;
    }
    rc = gs_open(&s, out, N_KV, ts, nt);
    if (!rc) {
        for (uint32_t i = 0; i < nt; i++) total += s.tensors[i].nbytes;
        if (!quiet)
            fprintf(stderr, "make-bench-model: %s %s: dim %u, %u layers, %u/%u heads, ffn %u, "
                    "vocab %u, %s; %u tensors, %.2f GB of weights, %ld threads\n", sh.name,
                    bench_ftype_name(ftype), sh.dim, sh.n_layers, sh.n_heads, sh.n_kv_heads,
                    sh.ffn, sh.vocab, sh.tied ? "tied" : "untied", nt, (double)total / 1e9,
                    threads);
        rc = write_meta(&s, &sh, ftype, &v);
        if (!rc) rc = write_tensors(&s, s.tensors, nt, seed, (int)threads, quiet);
        if (!rc) rc = gs_close(&s);
        else gs_abort(&s);
    }
    if (rc) fprintf(stderr, "make-bench-model: %s: %s\n", out, wrk_error_detail());
    else if (!quiet) fprintf(stderr, "make-bench-model: wrote %s\n", out);
    bench_vocab_free(&v);
    free(ts);
    return rc ? 1 : 0;
}
