/*
 * llama_testutil.c - see llama_testutil.h. The oracle here is written from the model's
 * definition (HF's LlamaModel/Qwen2Model), not from the plugin: un-permuted q/k, RoPE pairs
 * (i, i + rope_dim/2), double precision.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <ftw.h>

#include "gguf/gguf_writer.h"
#include "gguf/quant.h"
#include "llama_testutil.h"

/* ------------------------------------------------------------------ random weights */

static uint64_t lt_rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform with unit variance. */
static float lt_rng_unit(uint64_t *s)
{
    double u = (double)(lt_rng_next(s) >> 11) / 9007199254740992.0;
    return (float)((2.0 * u - 1.0) * 1.7320508075688772);
}

static float *lt_fill(uint64_t *s, size_t n, float scale, float offset)
{
    float *p = malloc(n * sizeof(float));
    ck_assert_ptr_nonnull(p);
    for (size_t i = 0; i < n; i++)
        p[i] = offset + scale * lt_rng_unit(s);
    return p;
}

lt_weights *lt_weights_random(const lt_spec *s, uint64_t seed)
{
    lt_weights *w = calloc(1, sizeof(*w));
    ck_assert_ptr_nonnull(w);
    w->s = *s;
    w->hd = s->d / s->n_head;
    uint64_t r = seed;
    size_t d = s->d, q = (size_t)s->n_head * w->hd, kv = (size_t)s->n_head_kv * w->hd;
    float sd = 1.0f / sqrtf((float)d), sq = 1.0f / sqrtf((float)q),
          sf = 1.0f / sqrtf((float)s->ff);
    w->embd = lt_fill(&r, (size_t)s->vocab * d, 1.0f, 0.0f);
    w->out = s->tied ? w->embd : lt_fill(&r, (size_t)s->vocab * d, 1.0f, 0.0f);
    w->out_norm = lt_fill(&r, d, 0.2f, 1.0f);
    if (s->freq_factors) {
        /* divisors in (1, 7): each frequency slowed differently */
        uint32_t rd = s->rope_dim ? s->rope_dim : w->hd;
        w->rope_freqs = lt_fill(&r, rd / 2, 1.7320508f, 4.0f);
    }
    w->L = calloc(s->n_layer, sizeof(*w->L));
    ck_assert_ptr_nonnull(w->L);
    for (uint32_t l = 0; l < s->n_layer; l++) {
        lt_layer *L = &w->L[l];
        L->an = lt_fill(&r, d, 0.2f, 1.0f);
        L->wq = lt_fill(&r, q * d, sd, 0.0f);
        L->wk = lt_fill(&r, kv * d, sd, 0.0f);
        L->wv = lt_fill(&r, kv * d, sd, 0.0f);
        if (s->biases) {
            L->bq = lt_fill(&r, q, 0.3f, 0.0f);
            L->bk = lt_fill(&r, kv, 0.3f, 0.0f);
            L->bv = lt_fill(&r, kv, 0.3f, 0.0f);
        }
        L->wo = lt_fill(&r, d * q, sq, 0.0f);
        L->fn = lt_fill(&r, d, 0.2f, 1.0f);
        L->wg = lt_fill(&r, (size_t)s->ff * d, sd, 0.0f);
        L->wu = lt_fill(&r, (size_t)s->ff * d, sd, 0.0f);
        L->wd = lt_fill(&r, d * s->ff, sf, 0.0f);
    }
    return w;
}

void lt_weights_free(lt_weights *w)
{
    if (!w)
        return;
    for (uint32_t l = 0; l < w->s.n_layer; l++) {
        lt_layer *L = &w->L[l];
        float *all[] = { L->an, L->wq, L->wk, L->wv, L->bq, L->bk, L->bv, L->wo, L->fn,
                         L->wg, L->wu, L->wd };
        for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
            free(all[i]);
    }
    free(w->L);
    if (w->out != w->embd)
        free(w->out);
    free(w->embd);
    free(w->out_norm);
    free(w->rope_freqs);
    free(w);
}

/* Round rows x cols through type and back. */
static void lt_round(float *m, size_t rows, size_t cols, uint32_t type)
{
    if (type == WP_DTYPE_F32)
        return;
    uint64_t rb = wrk_dtype_row_bytes(type, cols);
    ck_assert_msg(rb > 0, "row of %zu is not a whole number of %s blocks", cols,
                  wrk_dtype_name(type));
    void *buf = malloc(rb);
    ck_assert_ptr_nonnull(buf);
    for (size_t r = 0; r < rows; r++) {
        wrk_quantize_row(type, m + r * cols, buf, cols);
        wrk_dequantize_row(type, buf, m + r * cols, cols);
    }
    free(buf);
}

void lt_weights_round(lt_weights *w, uint32_t type)
{
    const lt_spec *s = &w->s;
    size_t d = s->d, q = (size_t)s->n_head * w->hd, kv = (size_t)s->n_head_kv * w->hd;
    lt_round(w->embd, s->vocab, d, type);
    if (w->out != w->embd)
        lt_round(w->out, s->vocab, d, type);
    for (uint32_t l = 0; l < s->n_layer; l++) {
        lt_layer *L = &w->L[l];
        lt_round(L->wq, q, d, type);
        lt_round(L->wk, kv, d, type);
        lt_round(L->wv, kv, d, type);
        lt_round(L->wo, d, q, type);
        lt_round(L->wg, s->ff, d, type);
        lt_round(L->wu, s->ff, d, type);
        lt_round(L->wd, d, s->ff, type);
    }
}

/* ------------------------------------------------------------------ GGUF writing */

/* llama.cpp convert_hf_to_gguf.py LlamaModel.permute: within each head, HF row
 * c*(hd/2) + i moves to row 2i + c, so rotate-half pairs become adjacent pairs. */
static float *lt_permute(const float *m, size_t rows, size_t cols, uint32_t n_head)
{
    float *p = malloc(rows * cols * sizeof(float));
    ck_assert_ptr_nonnull(p);
    size_t hd = rows / n_head, half = hd / 2;
    for (size_t h = 0; h < n_head; h++)
        for (size_t i = 0; i < half; i++)
            for (size_t c = 0; c < 2; c++)
                memcpy(p + (h * hd + 2 * i + c) * cols, m + (h * hd + c * half + i) * cols,
                       cols * sizeof(float));
    return p;
}

static int lt_add(gguf_writer *g, const lt_write_opts *o, const char *name, uint32_t type,
                  size_t ne0, size_t ne1, const float *data)
{
    uint64_t ne[2] = { ne0, ne1 };
    uint32_t nd = ne1 ? 2 : 1;
    float *tmp = NULL;
    if (o && o->omit && strcmp(o->omit, name) == 0)
        return 0;
    if (o && o->misshape && strcmp(o->misshape, name) == 0) {
        /* One extra row (or element), filled with more data than the real tensor. */
        size_t n = nd == 2 ? ne0 * (ne1 + 1) : ne0 + 1;
        tmp = calloc(n, sizeof(float));
        ck_assert_ptr_nonnull(tmp);
        memcpy(tmp, data, ne0 * (ne1 ? ne1 : 1) * sizeof(float));
        if (nd == 2)
            ne[1] += 1;
        else
            ne[0] += 1;
        if (nd == 1 || wrk_dtype_row_bytes(type, ne[0]) == 0)
            type = WP_DTYPE_F32;
        data = tmp;
    }
    int rc = gguf_writer_add_tensor_f32(g, name, type, nd, ne, data);
    free(tmp);
    return rc;
}

static void lt_tokenizer(gguf_writer *g, uint32_t vocab)
{
    char **toks = calloc(vocab, sizeof(char *));
    float *scores = malloc(vocab * sizeof(float));
    int32_t *types = malloc(vocab * sizeof(int32_t));
    ck_assert(toks && scores && types);
    for (uint32_t i = 0; i < vocab; i++) {
        char buf[32];
        if (i == 0)
            snprintf(buf, sizeof(buf), "<unk>");
        else if (i == 1)
            snprintf(buf, sizeof(buf), "<s>");
        else if (i == 2)
            snprintf(buf, sizeof(buf), "</s>");
        else if (i < 259)
            snprintf(buf, sizeof(buf), "<0x%02X>", i - 3);
        else
            snprintf(buf, sizeof(buf), "\xe2\x96\x81w%u", i - 259);
        toks[i] = strdup(buf);
        scores[i] = -(float)i;
        types[i] = i == 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1;
    }
    ck_assert_int_eq(gguf_writer_set_str(g, "tokenizer.ggml.model", "llama"), 0);
    ck_assert_int_eq(gguf_writer_set_arr_str(g, "tokenizer.ggml.tokens",
                                             (const char *const *)toks, NULL, vocab), 0);
    ck_assert_int_eq(gguf_writer_set_arr(g, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, scores,
                                         vocab), 0);
    ck_assert_int_eq(gguf_writer_set_arr(g, "tokenizer.ggml.token_type", GGUF_TYPE_INT32,
                                         types, vocab), 0);
    ck_assert_int_eq(gguf_writer_set_u32(g, "tokenizer.ggml.bos_token_id", 1), 0);
    ck_assert_int_eq(gguf_writer_set_u32(g, "tokenizer.ggml.eos_token_id", 2), 0);
    ck_assert_int_eq(gguf_writer_set_u32(g, "tokenizer.ggml.unknown_token_id", 0), 0);
    for (uint32_t i = 0; i < vocab; i++)
        free(toks[i]);
    free(toks);
    free(scores);
    free(types);
}

int lt_write_gguf(const lt_weights *w, uint32_t type, const char *path,
                  const lt_write_opts *o)
{
    const lt_spec *s = &w->s;
    const char *a = s->arch;
    int is_llama = strcmp(a, "llama") == 0;
    size_t d = s->d, q = (size_t)s->n_head * w->hd, kv = (size_t)s->n_head_kv * w->hd;
    char key[128], name[96];
    int rc = 0;
    gguf_writer *g = gguf_writer_new();
    ck_assert_ptr_nonnull(g);

#define LT_KEY(suffix) (snprintf(key, sizeof(key), "%s." suffix, a), key)
    gguf_writer_set_str(g, "general.architecture", a);
    gguf_writer_set_str(g, "general.name", "llama-test");
    gguf_writer_set_u32(g, LT_KEY("context_length"), s->ctx);
    gguf_writer_set_u32(g, LT_KEY("embedding_length"), s->d);
    gguf_writer_set_u32(g, LT_KEY("block_count"), s->n_layer);
    gguf_writer_set_u32(g, LT_KEY("feed_forward_length"), s->ff);
    gguf_writer_set_u32(g, LT_KEY("attention.head_count"), s->n_head);
    gguf_writer_set_u32(g, LT_KEY("attention.head_count_kv"), s->n_head_kv);
    gguf_writer_set_f32(g, LT_KEY("rope.freq_base"), s->rope_base);
    gguf_writer_set_f32(g, LT_KEY("attention.layer_norm_rms_epsilon"), s->eps);
    if (s->rope_dim)
        gguf_writer_set_u32(g, LT_KEY("rope.dimension_count"), s->rope_dim);
    if (s->rope_linear > 0) {
        gguf_writer_set_str(g, LT_KEY("rope.scaling.type"), "linear");
        gguf_writer_set_f32(g, LT_KEY("rope.scaling.factor"), s->rope_linear);
    }
    if (s->rope_scaling_type)
        gguf_writer_set_str(g, LT_KEY("rope.scaling.type"), s->rope_scaling_type);
#undef LT_KEY
    lt_tokenizer(g, s->vocab);

    rc |= lt_add(g, o, "token_embd.weight", type, d, s->vocab, w->embd);
    for (uint32_t l = 0; l < s->n_layer && rc == 0; l++) {
        const lt_layer *L = &w->L[l];
        float *wq = is_llama ? lt_permute(L->wq, q, d, s->n_head) : NULL;
        float *wk = is_llama ? lt_permute(L->wk, kv, d, s->n_head_kv) : NULL;
        float *bq = is_llama && L->bq ? lt_permute(L->bq, q, 1, s->n_head) : NULL;
        float *bk = is_llama && L->bk ? lt_permute(L->bk, kv, 1, s->n_head_kv) : NULL;
#define LT_T(suffix, ty, ne0, ne1, data)                                       \
        (snprintf(name, sizeof(name), "blk.%u." suffix, l),                    \
         rc |= lt_add(g, o, name, (ty), (ne0), (ne1), (data)))
        LT_T("attn_norm.weight", WP_DTYPE_F32, d, 0, L->an);
        LT_T("attn_q.weight", type, d, q, wq ? wq : L->wq);
        LT_T("attn_k.weight", type, d, kv, wk ? wk : L->wk);
        LT_T("attn_v.weight", type, d, kv, L->wv);
        if (L->bq) {
            LT_T("attn_q.bias", WP_DTYPE_F32, q, 0, bq ? bq : L->bq);
            LT_T("attn_k.bias", WP_DTYPE_F32, kv, 0, bk ? bk : L->bk);
            LT_T("attn_v.bias", WP_DTYPE_F32, kv, 0, L->bv);
        }
        LT_T("attn_output.weight", type, q, d, L->wo);
        LT_T("ffn_norm.weight", WP_DTYPE_F32, d, 0, L->fn);
        LT_T("ffn_gate.weight", type, d, s->ff, L->wg);
        LT_T("ffn_up.weight", type, d, s->ff, L->wu);
        LT_T("ffn_down.weight", type, s->ff, d, L->wd);
#undef LT_T
        free(wq);
        free(wk);
        free(bq);
        free(bk);
    }
    rc |= lt_add(g, o, "output_norm.weight", WP_DTYPE_F32, d, 0, w->out_norm);
    if (!s->tied)
        rc |= lt_add(g, o, "output.weight", type, d, s->vocab, w->out);
    if (w->rope_freqs)
        rc |= lt_add(g, o, "rope_freqs.weight", WP_DTYPE_F32,
                     (s->rope_dim ? s->rope_dim : w->hd) / 2, 0, w->rope_freqs);
    if (rc == 0)
        rc = gguf_writer_write(g, path);
    gguf_writer_free(g);
    return rc;
}

/* ------------------------------------------------------------------ the oracle */

static void lt_rmsnorm(const double *x, const float *w, double *out, size_t d, double eps)
{
    double ss = 0;
    for (size_t i = 0; i < d; i++)
        ss += x[i] * x[i];
    double r = 1.0 / sqrt(ss / (double)d + eps);
    for (size_t i = 0; i < d; i++)
        out[i] = x[i] * r * w[i];
}

/* out[r] = sum_i m[r][i] x[i] (+ b[r]) */
static void lt_matvec(const float *m, const float *b, const double *x, double *out,
                      size_t rows, size_t cols)
{
    for (size_t r = 0; r < rows; r++) {
        double acc = b ? b[r] : 0.0;
        for (size_t i = 0; i < cols; i++)
            acc += (double)m[r * cols + i] * x[i];
        out[r] = acc;
    }
}

/* HF rotate-half RoPE on the first rope_dim dims of each head; linear scaling divides
 * the position, llama3-style factors divide each frequency. */
static void lt_rope(const lt_weights *w, double *v, uint32_t n_heads, uint32_t hd,
                    uint32_t rope_dim, int pos)
{
    uint32_t half = rope_dim / 2;
    double p = w->s.rope_linear > 0 ? pos / (double)w->s.rope_linear : pos;
    for (uint32_t h = 0; h < n_heads; h++)
        for (uint32_t i = 0; i < half; i++) {
            double th = p * pow(w->s.rope_base, -2.0 * i / rope_dim);
            if (w->rope_freqs)
                th /= w->rope_freqs[i];
            double *a = v + h * hd + i, *b = a + half;
            double x0 = *a, x1 = *b;
            *a = x0 * cos(th) - x1 * sin(th);
            *b = x1 * cos(th) + x0 * sin(th);
        }
}

void lt_reference_forward(const lt_weights *w, const int32_t *tok, int n, float *logits)
{
    const lt_spec *s = &w->s;
    size_t d = s->d, hd = w->hd, q = (size_t)s->n_head * hd, kv = (size_t)s->n_head_kv * hd;
    uint32_t rope_dim = s->rope_dim ? s->rope_dim : (uint32_t)hd;
    uint32_t group = s->n_head / s->n_head_kv;
    double *x = calloc((size_t)n * d, sizeof(double));
    double *K = calloc((size_t)n * kv, sizeof(double)), *V = calloc((size_t)n * kv, sizeof(double));
    double *h = calloc(d > s->ff ? d : s->ff, sizeof(double)), *o = calloc(d, sizeof(double));
    double *qv = calloc(q, sizeof(double)), *att = calloc(q, sizeof(double));
    double *g = calloc(s->ff, sizeof(double)), *u = calloc(s->ff, sizeof(double));
    double *sc = calloc((size_t)n, sizeof(double));
    double *Q = calloc((size_t)n * q, sizeof(double));
    ck_assert(x && K && V && h && o && qv && att && g && u && sc && Q);

    for (int t = 0; t < n; t++)
        for (size_t i = 0; i < d; i++)
            x[t * d + i] = w->embd[(size_t)tok[t] * d + i];
    for (uint32_t l = 0; l < s->n_layer; l++) {
        const lt_layer *L = &w->L[l];
        for (int t = 0; t < n; t++) {
            lt_rmsnorm(x + t * d, L->an, h, d, s->eps);
            lt_matvec(L->wq, L->bq, h, Q + t * q, q, d);
            lt_matvec(L->wk, L->bk, h, K + t * kv, kv, d);
            lt_matvec(L->wv, L->bv, h, V + t * kv, kv, d);
            lt_rope(w, Q + t * q, s->n_head, hd, rope_dim, t);
            lt_rope(w, K + t * kv, s->n_head_kv, hd, rope_dim, t);
        }
        for (int t = 0; t < n; t++) {
            for (uint32_t hh = 0; hh < s->n_head; hh++) {
                const double *qh = Q + t * q + hh * hd;
                size_t ko = (hh / group) * hd;
                double mx = -1e300, sum = 0;
                for (int j = 0; j <= t; j++) {
                    double dot = 0;
                    for (size_t i = 0; i < hd; i++)
                        dot += qh[i] * K[j * kv + ko + i];
                    sc[j] = dot / sqrt((double)hd);
                    mx = sc[j] > mx ? sc[j] : mx;
                }
                for (int j = 0; j <= t; j++)
                    sum += (sc[j] = exp(sc[j] - mx));
                for (size_t i = 0; i < hd; i++) {
                    double acc = 0;
                    for (int j = 0; j <= t; j++)
                        acc += sc[j] * V[j * kv + ko + i];
                    att[hh * hd + i] = acc / sum;
                }
            }
            lt_matvec(L->wo, NULL, att, o, d, q);
            for (size_t i = 0; i < d; i++)
                x[t * d + i] += o[i];
            lt_rmsnorm(x + t * d, L->fn, h, d, s->eps);
            lt_matvec(L->wg, NULL, h, g, s->ff, d);
            lt_matvec(L->wu, NULL, h, u, s->ff, d);
            for (size_t i = 0; i < s->ff; i++)
                g[i] = g[i] / (1.0 + exp(-g[i])) * u[i];
            lt_matvec(L->wd, NULL, g, o, d, s->ff);
            for (size_t i = 0; i < d; i++)
                x[t * d + i] += o[i];
        }
    }
    double *lg = calloc(s->vocab, sizeof(double));
    ck_assert_ptr_nonnull(lg);
    for (int t = 0; t < n; t++) {
        lt_rmsnorm(x + t * d, w->out_norm, h, d, s->eps);
        lt_matvec(w->out, NULL, h, lg, s->vocab, d);
        for (uint32_t v = 0; v < s->vocab; v++)
            logits[(size_t)t * s->vocab + v] = (float)lg[v];
    }
    free(lg);
    free(x); free(K); free(V); free(h); free(o); free(qv); free(att); free(g); free(u);
    free(sc); free(Q);
}

/* ------------------------------------------------------------------ files */

static char lt_dir[256];

const char *lt_tmpdir(void)
{
    if (!lt_dir[0]) {
        snprintf(lt_dir, sizeof(lt_dir), "/tmp/llama_test_XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(lt_dir));
    }
    return lt_dir;
}

const char *lt_path(const char *name)
{
    static char p[512];
    snprintf(p, sizeof(p), "%s/%s", lt_tmpdir(), name);
    return p;
}

static int lt_rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
    (void)sb; (void)flag; (void)f;
    return remove(p);
}

void lt_rmtree(void)
{
    if (lt_dir[0])
        nftw(lt_dir, lt_rm_cb, 8, FTW_DEPTH | FTW_PHYS);
    lt_dir[0] = 0;
}

static void lt_teardown(void)
{
    lt_rmtree();
}

TCase *lt_tcase(const char *name, int timeout_s)
{
    TCase *tc = tcase_create(name);
    tcase_add_checked_fixture(tc, NULL, lt_teardown);
    tcase_set_timeout(tc, timeout_s);
    return tc;
}

/* ------------------------------------------------------------------ runners */

CudaModel *lt_load(const char *device, const char *path, CudaContext **ctx_out)
{
    int err = -1;
    uint64_t vram = 0;
    CudaContext *ctx = worker_init(device, &err);
    ck_assert_msg(ctx != NULL, "worker_init(%s): %d %s", device, err,
                  worker_last_error_detail());
    CudaModel *m = cuda_load_model(ctx, path, &vram, &err);
    ck_assert_msg(m != NULL, "cuda_load_model(%s) on %s: %d %s", path, device, err,
                  worker_last_error_detail());
    ck_assert_msg(strcmp(m->plugin->name, "llama") == 0, "served by plugin %s",
                  m->plugin->name);
    ck_assert_uint_gt(vram, 0);
    *ctx_out = ctx;
    return m;
}

void lt_unload(CudaModel *m, CudaContext *ctx)
{
    cuda_unload_model(m);
    cuda_destroy(ctx);
}

int lt_prefill(CudaModel *m, const int32_t *tok, int n, int chunk, float *logits)
{
    void *kv = NULL;
    uint32_t vocab = m->info.vocab_size;
    int rc = m->plugin->kv_create(m->plugin_model, (uint32_t)n + 8, &kv);
    if (rc)
        return rc;
    if (chunk <= 0)
        chunk = n;
    for (int p = 0; p < n && rc == 0; p += chunk) {
        int c = n - p < chunk ? n - p : chunk;
        rc = m->plugin->forward(m->plugin_model, kv, tok + p, c, p,
                                logits + (size_t)p * vocab, 1);
    }
    m->plugin->kv_free(m->plugin_model, kv);
    return rc;
}

int lt_decode(CudaModel *m, const int32_t *tok, int n, float *logits)
{
    void *kv = NULL;
    uint32_t vocab = m->info.vocab_size;
    int rc = m->plugin->kv_create(m->plugin_model, (uint32_t)n, &kv);
    if (rc)
        return rc;
    for (int p = 0; p < n && rc == 0; p++)
        rc = m->plugin->forward(m->plugin_model, kv, tok + p, 1, p,
                                logits + (size_t)p * vocab, 0);
    m->plugin->kv_free(m->plugin_model, kv);
    return rc;
}

static int32_t lt_argmax(const float *v, uint32_t n)
{
    uint32_t best = 0;
    for (uint32_t i = 1; i < n; i++)
        if (v[i] > v[best])
            best = i;
    return (int32_t)best;
}

/* Greedy continuation: the first id from the prompt's logits; each next one from the
 * decode step's logits (device 0) or from forward_greedy (device 1). */
static int lt_greedy_run(CudaModel *m, const int32_t *prompt, int n, int n_gen, int32_t *out,
                         int device)
{
    void *kv = NULL;
    uint32_t vocab = m->info.vocab_size;
    float *lg = malloc(vocab * sizeof(float));
    ck_assert_ptr_nonnull(lg);
    int rc = m->plugin->kv_create(m->plugin_model, (uint32_t)(n + n_gen), &kv);
    if (rc == 0)
        rc = m->plugin->forward(m->plugin_model, kv, prompt, n, 0, lg, 0);
    if (rc == 0 && n_gen > 0)
        out[0] = lt_argmax(lg, vocab);
    for (int i = 1; i < n_gen && rc == 0; i++) {
        if (device)
            rc = m->plugin->forward_greedy(m->plugin_model, kv, out[i - 1], n + i - 1, &out[i]);
        else if ((rc = m->plugin->forward(m->plugin_model, kv, &out[i - 1], 1, n + i - 1, lg,
                                          0)) == 0)
            out[i] = lt_argmax(lg, vocab);
    }
    if (kv)
        m->plugin->kv_free(m->plugin_model, kv);
    free(lg);
    return rc;
}

int lt_greedy(CudaModel *m, const int32_t *prompt, int n, int n_gen, int32_t *out)
{
    return lt_greedy_run(m, prompt, n, n_gen, out, 0);
}

int lt_greedy_device(CudaModel *m, const int32_t *prompt, int n, int n_gen, int32_t *out)
{
    ck_assert_msg(WRK_PLUGIN_HAS(m->plugin, forward_greedy), "plugin %s has no forward_greedy",
                  m->plugin->name);
    return lt_greedy_run(m, prompt, n, n_gen, out, 1);
}

/* One greedy job through the session API with WORKER_DEVICE_GREEDY=env; its text into
 * text[cap], and how many tokens came from forward_greedy. */
static int lt_session_greedy(CudaModel *m, const char *prompt, int n_gen, const char *env,
                             char *text, size_t cap)
{
    WorkerSamplingParams p;
    char piece[256];
    int err = -1, idx = -1;
    worker_sampling_defaults(&p);
    p.max_tokens = n_gen;
    p.temperature = 0.0f;
    p.ignore_eos = 1;
    setenv("WORKER_DEVICE_GREEDY", env, 1);
    InferenceResult *r = worker_inference_start_ex(m, prompt, &p, &err);
    unsetenv("WORKER_DEVICE_GREEDY");
    ck_assert_msg(r != NULL, "start: %d %s", err, worker_last_error_detail());
    text[0] = '\0';
    while (cuda_inference_next_token(r, piece, sizeof piece, &idx, &err)) {
        ck_assert_uint_lt(strlen(text) + strlen(piece), cap);
        strcat(text, piece);
    }
    ck_assert_msg(err == 0, "next_token: %d %s", err, worker_last_error_detail());
    ck_assert_int_eq(r->n_generated, n_gen);
    const int n_device = r->n_device_greedy;
    cuda_inference_free(r);
    return n_device;
}

void lt_check_device_greedy(const char *device, const lt_spec *s, uint32_t type,
                            uint64_t seed)
{
    enum { N_GEN = 24, N_PROMPT = 9 };
    lt_weights *w = lt_weights_random(s, seed);
    /* rows of control and byte tokens small (never zero), so the text is made of words
     * and no end-of-generation token cuts a run short */
    for (size_t i = 0; i < 259 * (size_t)s->d; i++)
        w->out[i] *= 0.01f;
    ck_assert_int_eq(lt_write_gguf(w, type, lt_path("greedy.gguf"), NULL), 0);
    CudaContext *ctx;
    CudaModel *m = lt_load(device, lt_path("greedy.gguf"), &ctx);

    /* the plugin: forward_greedy's ids are the argmax of forward's logits, step by step */
    int32_t prompt[N_PROMPT], host_ids[N_GEN], dev_ids[N_GEN];
    lt_random_tokens(prompt, N_PROMPT, s->vocab, seed + 1);
    ck_assert_int_eq(lt_greedy(m, prompt, N_PROMPT, N_GEN, host_ids), 0);
    ck_assert_msg(lt_greedy_device(m, prompt, N_PROMPT, N_GEN, dev_ids) == 0,
                  "forward_greedy: %s", worker_last_error_detail());
    for (int i = 0; i < N_GEN; i++)
        ck_assert_msg(dev_ids[i] == host_ids[i], "%s type %u: token %d: forward_greedy %d, "
                      "forward + argmax %d", device, type, i, dev_ids[i], host_ids[i]);

    /* the session: the same text either way, and the device path taken only when on */
    char a[N_GEN * 16 + 1], b[N_GEN * 16 + 1];
    const int n_host = lt_session_greedy(m, " w3 w17 w101 w5", N_GEN, "0", a, sizeof a);
    const int n_dev = lt_session_greedy(m, " w3 w17 w101 w5", N_GEN, "1", b, sizeof b);
    ck_assert_int_eq(n_host, 0);
    ck_assert_int_eq(n_dev, N_GEN - 1);   /* every token after the prompt's */
    ck_assert_msg(strcmp(a, b) == 0, "%s type %u: host sampling '%s', device greedy '%s'",
                  device, type, a, b);
    ck_assert_uint_gt(strlen(a), N_GEN);
    lt_unload(m, ctx);
    lt_weights_free(w);
}

double lt_rel_err(const float *a, const float *b, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double e = (double)a[i] - (double)b[i];
        num += e * e;
        den += (double)b[i] * b[i];
        if (!isfinite(a[i]))
            return INFINITY;
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

void lt_random_tokens(int32_t *tok, int n, uint32_t vocab, uint64_t seed)
{
    uint64_t s = seed;
    tok[0] = 1;
    for (int i = 1; i < n; i++)
        tok[i] = 3 + (int32_t)(lt_rng_next(&s) % (vocab - 3));
}

int lt_have_gpu(void)
{
    return cuda_get_device_count() > 0;
}
