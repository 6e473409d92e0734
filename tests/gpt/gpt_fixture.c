/*
 * gpt_fixture.c - random GPT-2 GGUF files and the naive reference forward pass.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf/gguf_writer.h"
#include "gguf/quant.h"
#include "worker_plugin.h"
#include "gpt_fixture.h"

static uint64_t g_rng;

static float rnd(void)
{
    g_rng = g_rng * 6364136223846793005ull + 1442695040888963407ull;
    return (float)(g_rng >> 40) / 8388608.0f - 1.0f;   /* [-1, 1) */
}

/* n random values scaled by scale, offset by bias. */
static float *rnd_vec(size_t n, float scale, float bias)
{
    float *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) v[i] = bias + scale * rnd();
    return v;
}

/* Round-trip values through type so the reference sees what the file holds. */
static void as_stored(uint32_t type, float *v, size_t n)
{
    size_t bytes;
    void *tmp;
    if (type == WP_DTYPE_F32) return;
    bytes = wrk_dtype_row_bytes(type, n);
    tmp = malloc(bytes);
    wrk_quantize_row(type, v, tmp, n);
    wrk_dequantize_row(type, tmp, v, n);
    free(tmp);
}

static int add(gguf_writer *w, const char *omit, const char *name, uint32_t type, int in,
               int out_f, float *v)
{
    uint64_t ne[2] = { (uint64_t)in, (uint64_t)out_f };
    uint32_t nd = out_f > 0 ? 2 : 1;
    if (out_f <= 0) type = WP_DTYPE_F32;
    as_stored(type, v, (size_t)in * (size_t)(out_f > 0 ? out_f : 1));
    if (omit && strcmp(omit, name) == 0) return 0;
    return gguf_writer_add_tensor_f32(w, name, type, nd, ne, v);
}

/* GPT-2's byte-to-unicode table: printable bytes stand for themselves, the rest map to
 * U+0100 upwards in byte order. */
static void byte_token(int b, char *out)
{
    int cp = b, n = 0;
    if (!((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255))) {
        cp = 256;
        for (int i = 0; i < b; i++)
            if (!((i >= 33 && i <= 126) || (i >= 161 && i <= 172) || (i >= 174 && i <= 255)))
                cp++;
    }
    if (cp < 0x80) out[n++] = (char)cp;
    else { out[n++] = (char)(0xC0 | (cp >> 6)); out[n++] = (char)(0x80 | (cp & 0x3F)); }
    out[n] = '\0';
}

/* A byte-level vocabulary: 256 byte tokens, merges of two letters, <|endoftext|> last. */
static int add_vocab(gguf_writer *w, int n_vocab)
{
    char **tok = calloc((size_t)n_vocab, sizeof *tok);
    int32_t *type = calloc((size_t)n_vocab, sizeof *type);
    int n_extra = n_vocab - 257, n_merges = n_extra < 676 ? n_extra : 676, rc;
    char **merges = calloc((size_t)(n_merges > 0 ? n_merges : 1), sizeof *merges);
    for (int i = 0; i < 256; i++) {
        tok[i] = malloc(4);
        byte_token(i, tok[i]);
        type[i] = 1;
    }
    for (int i = 0; i < n_extra; i++) {
        /* distinct pairs of lower-case letters: "a b" -> "ab"; beyond the 676 pairs, plain
         * unique tokens without merges (GPT-2-sized vocabularies) */
        int a = i / 26 % 26, b = i % 26;
        tok[256 + i] = malloc(16);
        if (i < 676) {
            snprintf(tok[256 + i], 16, "%c%c", 'a' + a, 'a' + b);
            merges[i] = malloc(8);
            snprintf(merges[i], 8, "%c %c", 'a' + a, 'a' + b);
        } else {
            snprintf(tok[256 + i], 16, "%c%c%d", 'a' + a, 'a' + b, i);
        }
        type[256 + i] = 1;
    }
    tok[n_vocab - 1] = strdup("<|endoftext|>");
    type[n_vocab - 1] = 3;
    rc = gguf_writer_set_str(w, "tokenizer.ggml.model", "gpt2") ||
         gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)tok, NULL,
                                 (uint64_t)n_vocab) ||
         gguf_writer_set_arr(w, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, type,
                             (uint64_t)n_vocab) ||
         gguf_writer_set_arr_str(w, "tokenizer.ggml.merges", (const char *const *)merges, NULL,
                                 (uint64_t)n_merges) ||
         gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)n_vocab - 1) ||
         gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)n_vocab - 1);
    for (int i = 0; i < n_vocab; i++) free(tok[i]);
    for (int i = 0; i < n_merges; i++) free(merges[i]);
    free(tok);
    free(type);
    free(merges);
    return rc ? -1 : 0;
}

int gpt_fixture_write(const gpt_shape *s, unsigned seed, const char *path, gpt_ref *r,
                      const char *omit)
{
    gguf_writer *w = gguf_writer_new();
    const int d = s->n_embd, ff = s->n_ff, V = s->n_vocab;
    const float sd = 1.0f / sqrtf((float)d), sf = 1.0f / sqrtf((float)ff);
    char name[96];
    int rc = 0;

    memset(r, 0, sizeof *r);
    r->s = *s;
    g_rng = seed * 0x9E3779B97F4A7C15ull + 17;
    rc |= gguf_writer_set_str(w, "general.architecture", "gpt2");
    rc |= gguf_writer_set_str(w, "general.name", s->name);
    rc |= gguf_writer_set_u32(w, "gpt2.context_length", (uint32_t)s->n_ctx);
    rc |= gguf_writer_set_u32(w, "gpt2.embedding_length", (uint32_t)d);
    rc |= gguf_writer_set_u32(w, "gpt2.block_count", (uint32_t)s->n_layer);
    rc |= gguf_writer_set_u32(w, "gpt2.feed_forward_length", (uint32_t)ff);
    rc |= gguf_writer_set_u32(w, "gpt2.attention.head_count", (uint32_t)s->n_head);
    rc |= gguf_writer_set_f32(w, "gpt2.attention.layer_norm_epsilon", 1e-5f);
    rc |= add_vocab(w, V);

    r->tok = rnd_vec((size_t)V * d, 1.0f, 0.0f);
    rc |= add(w, omit, "token_embd.weight", s->wtype, d, V, r->tok);
    r->pos = rnd_vec((size_t)s->n_ctx * d, 0.5f, 0.0f);
    rc |= add(w, omit, "position_embd.weight", s->wtype, d, s->n_ctx, r->pos);
    r->L = calloc((size_t)s->n_layer, sizeof *r->L);
    for (int l = 0; l < s->n_layer; l++) {
        struct gpt_ref_layer *L = &r->L[l];
#define T(field, suffix, type, in, out_f, scale, bias) \
        L->field = rnd_vec((size_t)(in) * (size_t)((out_f) > 0 ? (out_f) : 1), scale, bias); \
        snprintf(name, sizeof name, "blk.%d." suffix, l); \
        rc |= add(w, omit, name, type, in, out_f, L->field)
        T(ln1_w, "attn_norm.weight", 0, d, 0, 0.2f, 1.0f);
        T(ln1_b, "attn_norm.bias", 0, d, 0, 0.2f, 0.0f);
        T(qkv, "attn_qkv.weight", s->wtype, d, 3 * d, 1.7f * sd, 0.0f);
        T(qkv_b, "attn_qkv.bias", 0, 3 * d, 0, 0.2f, 0.0f);
        T(o, "attn_output.weight", s->wtype, d, d, 1.7f * sd, 0.0f);
        T(o_b, "attn_output.bias", 0, d, 0, 0.2f, 0.0f);
        T(ln2_w, "ffn_norm.weight", 0, d, 0, 0.2f, 1.0f);
        T(ln2_b, "ffn_norm.bias", 0, d, 0, 0.2f, 0.0f);
        T(up, "ffn_up.weight", s->wtype, d, ff, 1.7f * sd, 0.0f);
        T(up_b, "ffn_up.bias", 0, ff, 0, 0.2f, 0.0f);
        T(down, "ffn_down.weight", s->wtype, ff, d, 1.7f * sf, 0.0f);
        T(down_b, "ffn_down.bias", 0, d, 0, 0.2f, 0.0f);
#undef T
    }
    r->lnf_w = rnd_vec((size_t)d, 0.2f, 1.0f);
    rc |= add(w, omit, "output_norm.weight", 0, d, 0, r->lnf_w);
    r->lnf_b = rnd_vec((size_t)d, 0.2f, 0.0f);
    rc |= add(w, omit, "output_norm.bias", 0, d, 0, r->lnf_b);
    if (s->tied) {
        r->out = r->tok;
    } else {
        r->out = rnd_vec((size_t)V * d, sd, 0.0f);
        rc |= add(w, omit, "output.weight", s->wtype, d, V, r->out);
    }
    if (rc == 0) rc = gguf_writer_write(w, path);
    gguf_writer_free(w);
    return rc ? -1 : 0;
}

void gpt_ref_free(gpt_ref *r)
{
    for (int l = 0; r->L && l < r->s.n_layer; l++) {
        struct gpt_ref_layer *L = &r->L[l];
        float *p[12] = { L->ln1_w, L->ln1_b, L->qkv, L->qkv_b, L->o, L->o_b, L->ln2_w,
                         L->ln2_b, L->up, L->up_b, L->down, L->down_b };
        for (int i = 0; i < 12; i++) free(p[i]);
    }
    free(r->L);
    if (r->out != r->tok) free(r->out);
    free(r->tok);
    free(r->pos);
    free(r->lnf_w);
    free(r->lnf_b);
}

static void ref_ln(const double *x, const float *w, const float *b, double *y, int d)
{
    double mean = 0, var = 0;
    for (int i = 0; i < d; i++) mean += x[i];
    mean /= d;
    for (int i = 0; i < d; i++) var += (x[i] - mean) * (x[i] - mean);
    var /= d;
    for (int i = 0; i < d; i++) y[i] = (x[i] - mean) / sqrt(var + 1e-5) * w[i] + b[i];
}

/* y[out] = W[out][in] x + b */
static void ref_lin(const float *W, const float *b, const double *x, double *y, int in,
                    int out_f)
{
    for (int o = 0; o < out_f; o++) {
        double s = b ? b[o] : 0.0;
        for (int i = 0; i < in; i++) s += (double)W[(size_t)o * in + i] * x[i];
        y[o] = s;
    }
}

void gpt_ref_forward(const gpt_ref *r, const int32_t *tokens, int n, float *out)
{
    const int d = r->s.n_embd, ff = r->s.n_ff, H = r->s.n_head, hd = d / H, V = r->s.n_vocab;
    double *x = calloc((size_t)n * d, sizeof *x), *h = malloc((size_t)d * sizeof *h);
    double *qkv = malloc((size_t)n * 3 * d * sizeof *qkv), *a = malloc((size_t)d * sizeof *a);
    double *t = malloc((size_t)(ff > d ? ff : d) * sizeof *t), *u = malloc((size_t)ff * sizeof *u);
    double *sc = malloc((size_t)n * sizeof *sc), *lg = malloc((size_t)V * sizeof *lg);

    for (int p = 0; p < n; p++)
        for (int i = 0; i < d; i++)
            x[(size_t)p * d + i] = (double)r->tok[(size_t)tokens[p] * d + i] +
                                   (double)r->pos[(size_t)p * d + i];
    for (int l = 0; l < r->s.n_layer; l++) {
        const struct gpt_ref_layer *L = &r->L[l];
        for (int p = 0; p < n; p++) {
            ref_ln(x + (size_t)p * d, L->ln1_w, L->ln1_b, h, d);
            ref_lin(L->qkv, L->qkv_b, h, qkv + (size_t)p * 3 * d, d, 3 * d);
        }
        for (int p = 0; p < n; p++) {
            for (int hh = 0; hh < H; hh++) {
                const double *q = qkv + (size_t)p * 3 * d + hh * hd;
                double mx = -1e300, sum = 0;
                for (int j = 0; j <= p; j++) {
                    const double *k = qkv + (size_t)j * 3 * d + d + hh * hd;
                    double s = 0;
                    for (int i = 0; i < hd; i++) s += q[i] * k[i];
                    sc[j] = s / sqrt((double)hd);
                    if (sc[j] > mx) mx = sc[j];
                }
                for (int j = 0; j <= p; j++) { sc[j] = exp(sc[j] - mx); sum += sc[j]; }
                for (int i = 0; i < hd; i++) {
                    double s = 0;
                    for (int j = 0; j <= p; j++)
                        s += sc[j] * qkv[(size_t)j * 3 * d + 2 * d + hh * hd + i];
                    a[hh * hd + i] = s / sum;
                }
            }
            ref_lin(L->o, L->o_b, a, t, d, d);
            /* attention outputs of row p only feed row p's residual; later rows read
             * qkv, computed above, so updating x now is safe */
            for (int i = 0; i < d; i++) x[(size_t)p * d + i] += t[i];
        }
        for (int p = 0; p < n; p++) {
            double *xp = x + (size_t)p * d;
            ref_ln(xp, L->ln2_w, L->ln2_b, h, d);
            ref_lin(L->up, L->up_b, h, u, d, ff);
            for (int i = 0; i < ff; i++)
                u[i] = 0.5 * u[i] * (1.0 + tanh(0.7978845608028654 * (u[i] + 0.044715 * u[i] * u[i] * u[i])));
            ref_lin(L->down, L->down_b, u, t, ff, d);
            for (int i = 0; i < d; i++) xp[i] += t[i];
        }
    }
    for (int p = 0; p < n; p++) {
        ref_ln(x + (size_t)p * d, r->lnf_w, r->lnf_b, h, d);
        ref_lin(r->out, NULL, h, lg, d, V);
        for (int v = 0; v < V; v++) out[(size_t)p * V + v] = (float)lg[v];
    }
    free(x); free(h); free(qkv); free(a); free(t); free(u); free(sc); free(lg);
}
