/*
 * llama2c.c - the llama2.c source of worker-convert.
 *
 * Input 1, the legacy checkpoint (llama2.c run.c): seven int32 (dim, hidden_dim, n_layers,
 * n_heads, n_kv_heads, vocab_size, seq_len; a negative vocab_size means the output matrix is
 * separate), then float32 arrays [out][in] row-major: token embedding [vocab][dim],
 * rms_att [L][dim], wq [L][dim][dim], wk [L][kv_dim][dim], wv [L][kv_dim][dim],
 * wo [L][dim][dim], rms_ffn [L][dim], w1 [L][hidden][dim], w2 [L][dim][hidden],
 * w3 [L][hidden][dim], rms_final [dim], two unused RoPE tables of seq_len*head_size/2, then
 * (untied only) wcls [vocab][dim].
 * Input 2, tokenizer.bin: int32 max_token_length, then vocab entries of (float32 score,
 * int32 length, bytes). Ids 0/1/2 are <unk>, BOS, EOS; byte tokens are "<0xNN>".
 *
 * Output: a standard "llama" GGUF. llama2.c rotates adjacent pairs (2i, 2i+1) in RoPE,
 * which is GGUF's llama layout, so Q and K are written unpermuted. A [out][in] row-major
 * matrix is GGUF ne = {in, out} as it lies in memory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/wrk_error.h"
#include "worker_plugin.h"
#include "convert.h"
#include "wc_input.h"

/* Bounds that keep every size product far from overflow while admitting any real
 * llama2.c model (the largest, Llama 2 70B, has dim 8192, hidden 28672, 80 layers). */
#define L2C_MAX_DIM     (1 << 16)
#define L2C_MAX_HIDDEN  (1 << 18)
#define L2C_MAX_LAYERS  1024
#define L2C_MAX_VOCAB   (1 << 20)
#define L2C_MAX_SEQ     (1 << 22)

/* GGUF llama token types (llama.cpp's llama_token_type). */
enum { TOK_NORMAL = 1, TOK_UNKNOWN = 2, TOK_CONTROL = 3, TOK_BYTE = 6 };

typedef struct l2c_config {
    int32_t dim, hidden, n_layers, n_heads, n_kv_heads, vocab, seq_len;
    int tied;
} l2c_config;

/* Read and validate the header; every failure names the field and its value. */
static int l2c_read_config(wc_input *in, l2c_config *c)
{
    static const char *const names[7] = { "dim", "hidden_dim", "n_layers", "n_heads",
                                          "n_kv_heads", "vocab_size", "seq_len" };
    int32_t v[7];
    char what[64];
    int rc;

    for (int i = 0; i < 7; i++) {
        snprintf(what, sizeof what, "header field %s", names[i]);
        if ((rc = wc_read_i32(in, what, &v[i])) != 0) return rc;
    }
    c->dim = v[0]; c->hidden = v[1]; c->n_layers = v[2]; c->n_heads = v[3];
    c->n_kv_heads = v[4]; c->tied = v[5] > 0; c->vocab = v[5] < 0 ? -v[5] : v[5];
    c->seq_len = v[6];

#define L2C_CHECK(cond, ...) \
    do { if (!(cond)) return wrk_error(CUDA_ERROR_INVALID_PARAMETER, __VA_ARGS__); } while (0)
    L2C_CHECK(c->dim > 0 && c->dim <= L2C_MAX_DIM, "%s: header: dim %d out of range 1..%d",
              in->path, c->dim, L2C_MAX_DIM);
    L2C_CHECK(c->hidden > 0 && c->hidden <= L2C_MAX_HIDDEN,
              "%s: header: hidden_dim %d out of range 1..%d", in->path, c->hidden,
              L2C_MAX_HIDDEN);
    L2C_CHECK(c->n_layers > 0 && c->n_layers <= L2C_MAX_LAYERS,
              "%s: header: n_layers %d out of range 1..%d", in->path, c->n_layers,
              L2C_MAX_LAYERS);
    L2C_CHECK(c->n_heads > 0 && c->dim % c->n_heads == 0,
              "%s: header: n_heads %d does not divide dim %d", in->path, c->n_heads, c->dim);
    L2C_CHECK((c->dim / c->n_heads) % 2 == 0,
              "%s: header: head size %d is odd (RoPE rotates pairs)", in->path,
              c->dim / c->n_heads);
    L2C_CHECK(c->n_kv_heads > 0 && c->n_heads % c->n_kv_heads == 0,
              "%s: header: n_kv_heads %d does not divide n_heads %d", in->path, c->n_kv_heads,
              c->n_heads);
    L2C_CHECK(c->vocab >= 3 + 256 && c->vocab <= L2C_MAX_VOCAB,
              "%s: header: vocab_size %d out of range 259..%d (3 control + 256 byte tokens)",
              in->path, v[5], L2C_MAX_VOCAB);
    L2C_CHECK(c->seq_len > 0 && c->seq_len <= L2C_MAX_SEQ,
              "%s: header: seq_len %d out of range 1..%d", in->path, c->seq_len, L2C_MAX_SEQ);
#undef L2C_CHECK
    return 0;
}

/* Read the arrays of the checkpoint in file order and add them as GGUF tensors. */
static int l2c_weights(wc_input *in, const l2c_config *c, const wc_options *opt,
                       gguf_writer *w)
{
    const uint64_t dim = (uint64_t)c->dim, hid = (uint64_t)c->hidden;
    const uint64_t L = (uint64_t)c->n_layers, vocab = (uint64_t)c->vocab;
    const uint64_t head = dim / (uint64_t)c->n_heads;
    const uint64_t kv_dim = head * (uint64_t)c->n_kv_heads;
    const float *emb, *rms_att, *wq, *wk, *wv, *wo, *rms_ffn, *w1, *w2, *w3, *rms_final;
    const float *rope = NULL, *wcls = NULL;
    uint64_t ne[2];
    int rc;

#define L2C_READ(ptr, n, what) \
    do { if ((rc = wc_read_f32_array(in, (n), (what), &(ptr))) != 0) return rc; } while (0)
    L2C_READ(emb, vocab * dim, "token_embedding_table [vocab][dim]");
    L2C_READ(rms_att, L * dim, "rms_att_weight [layers][dim]");
    L2C_READ(wq, L * dim * dim, "wq [layers][dim][dim]");
    L2C_READ(wk, L * kv_dim * dim, "wk [layers][kv_dim][dim]");
    L2C_READ(wv, L * kv_dim * dim, "wv [layers][kv_dim][dim]");
    L2C_READ(wo, L * dim * dim, "wo [layers][dim][dim]");
    L2C_READ(rms_ffn, L * dim, "rms_ffn_weight [layers][dim]");
    L2C_READ(w1, L * hid * dim, "w1 [layers][hidden][dim]");
    L2C_READ(w2, L * dim * hid, "w2 [layers][dim][hidden]");
    L2C_READ(w3, L * hid * dim, "w3 [layers][hidden][dim]");
    L2C_READ(rms_final, dim, "rms_final_weight [dim]");
    if (!c->tied) {
        /* The RoPE tables sit between rms_final and wcls; they are recomputed at run time. */
        L2C_READ(rope, (uint64_t)c->seq_len * head, "freq_cis tables (before wcls)");
        L2C_READ(wcls, vocab * dim, "wcls [vocab][dim]");
    } else if (in->size - in->off != 0) {
        /* Tied checkpoints may end after rms_final or after the unused RoPE tables. */
        uint64_t rope_bytes = (uint64_t)c->seq_len * head * 4;
        if (in->size - in->off != rope_bytes)
            return wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                             "%s: %zu unexpected bytes after rms_final_weight at byte offset "
                             "%zu (expected 0 or the %llu bytes of the RoPE tables); is the "
                             "header right?", in->path, in->size - in->off, in->off,
                             (unsigned long long)rope_bytes);
        in->off = in->size;
    }
#undef L2C_READ
    (void)rope;
    if (in->size != in->off)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                         "%s: %zu unexpected trailing bytes at byte offset %zu", in->path,
                         in->size - in->off, in->off);

    ne[0] = dim; ne[1] = vocab;
    if ((rc = wc_add_weight(w, opt, "token_embd.weight", 2, ne, emb)) != 0) return rc;
    {
        /* GGUF's usual order: all tensors of block 0, then block 1, ...; each entry is a
         * stacked [layers][out][in] array (out = 1 for a norm vector). */
        const struct { const char *name; const float *base; uint64_t in_f, out_f; } t[] = {
            { "attn_norm.weight", rms_att, dim, 1 },   { "attn_q.weight", wq, dim, dim },
            { "attn_k.weight", wk, dim, kv_dim },       { "attn_v.weight", wv, dim, kv_dim },
            { "attn_output.weight", wo, dim, dim },     { "ffn_norm.weight", rms_ffn, dim, 1 },
            { "ffn_gate.weight", w1, dim, hid },        { "ffn_down.weight", w2, hid, dim },
            { "ffn_up.weight", w3, dim, hid } };
        for (uint64_t l = 0; l < L; l++) {
            for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
                char tname[96];
                uint64_t ne2[2] = { t[i].in_f, t[i].out_f };
                snprintf(tname, sizeof tname, "blk.%llu.%s", (unsigned long long)l, t[i].name);
                rc = wc_add_weight(w, opt, tname, t[i].out_f == 1 ? 1 : 2, ne2,
                                   t[i].base + l * t[i].in_f * t[i].out_f);
                if (rc) return rc;
            }
        }
    }
    ne[0] = dim;
    if ((rc = wc_add_weight(w, opt, "output_norm.weight", 1, ne, rms_final)) != 0) return rc;
    if (wcls) {
        ne[0] = dim; ne[1] = vocab;
        if ((rc = wc_add_weight(w, opt, "output.weight", 2, ne, wcls)) != 0) return rc;
    }
    return 0;
}

/* 1 when s[0..n) is "<0xNN>" with two upper-case hex digits: a byte-fallback token. */
static int l2c_is_byte_token(const uint8_t *s, int32_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    return n == 6 && memcmp(s, "<0x", 3) == 0 && s[5] == '>' && s[3] && s[4] &&
           strchr(hex, s[3]) != NULL && strchr(hex, s[4]) != NULL;
}

/* 1 when s[0..n) is well-formed UTF-8 (no overlongs, surrogates or code points > 10FFFF). */
static int l2c_utf8_ok(const uint8_t *s, int32_t n)
{
    for (int32_t i = 0; i < n;) {
        uint32_t c = s[i], cp;
        int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (len == 0 || i + len > n) return 0;
        cp = len == 1 ? c : c & (0x7Fu >> len);
        for (int k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += len;
    }
    return 1;
}

/* Read tokenizer.bin (vocab entries) and add the GGUF "llama" vocabulary to w. */
static int l2c_tokenizer(wc_input *in, const l2c_config *c, gguf_writer *w)
{
    const uint64_t n = (uint64_t)c->vocab;
    char **texts = calloc(n, sizeof *texts);
    uint64_t *lens = calloc(n, sizeof *lens);
    float *scores = calloc(n, sizeof *scores);
    int32_t *types = calloc(n, sizeof *types);
    int32_t max_len;
    int rc;

    if (!texts || !lens || !scores || !types) {
        rc = wrk_error(CUDA_ERROR_OUT_OF_MEMORY, "%s: out of memory for %llu tokens", in->path,
                       (unsigned long long)n);
        goto done;
    }
    if ((rc = wc_read_i32(in, "max_token_length", &max_len)) != 0) goto done;
    if (max_len <= 0 || max_len > 65536) {
        rc = wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                       "%s: max_token_length %d at byte offset 0 out of range 1..65536",
                       in->path, max_len);
        goto done;
    }
    for (uint64_t i = 0; i < n; i++) {
        char what[80];
        const uint8_t *bytes;
        int32_t len;
        size_t at = in->off;
        uint64_t out = 0;

        snprintf(what, sizeof what, "score of token %llu", (unsigned long long)i);
        if ((rc = wc_read_f32(in, what, &scores[i])) != 0) goto done;
        snprintf(what, sizeof what, "length of token %llu", (unsigned long long)i);
        if ((rc = wc_read_i32(in, what, &len)) != 0) goto done;
        if (len < 0 || len > max_len) {
            rc = wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                           "%s: token %llu at byte offset %zu: length %d out of range 0..%d "
                           "(max_token_length)", in->path, (unsigned long long)i, at + 4, len,
                           max_len);
            goto done;
        }
        snprintf(what, sizeof what, "text of token %llu", (unsigned long long)i);
        if ((rc = wc_read_bytes(in, (uint64_t)len, what, &bytes)) != 0) goto done;
        if (!l2c_utf8_ok(bytes, len)) {
            rc = wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                           "%s: token %llu at byte offset %zu is not valid UTF-8", in->path,
                           (unsigned long long)i, at + 8);
            goto done;
        }
        /* Worst case every byte is a space, written as the 3-byte U+2581. */
        texts[i] = malloc((size_t)len * 3 + 8);
        if (!texts[i]) {
            rc = wrk_error(CUDA_ERROR_OUT_OF_MEMORY, "%s: out of memory", in->path);
            goto done;
        }
        if (i <= 2) {
            /* llama2.c stores BOS/EOS as "\n<s>\n" and "\n</s>\n"; GGUF names them plainly. */
            static const char *const ctl[3] = { "<unk>", "<s>", "</s>" };
            out = strlen(ctl[i]);
            memcpy(texts[i], ctl[i], out);
            types[i] = i == 0 ? TOK_UNKNOWN : TOK_CONTROL;
        } else if (l2c_is_byte_token(bytes, len)) {
            memcpy(texts[i], bytes, (size_t)len);
            out = (uint64_t)len;
            types[i] = TOK_BYTE;
        } else {
            for (int32_t k = 0; k < len; k++) {
                if (bytes[k] == ' ') {
                    memcpy(texts[i] + out, "\xE2\x96\x81", 3);   /* U+2581 LOWER ONE EIGHTH */
                    out += 3;
                } else {
                    texts[i][out++] = (char)bytes[k];
                }
            }
            types[i] = TOK_NORMAL;
        }
        texts[i][out] = '\0';
        lens[i] = out;
    }
    if (in->off != in->size) {
        rc = wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                       "%s: %zu unexpected bytes after %llu tokens at byte offset %zu (does "
                       "the tokenizer belong to this model?)", in->path, in->size - in->off,
                       (unsigned long long)n, in->off);
        goto done;
    }
    /* Byte fallback needs all 256 byte tokens at ids 3..258, as llama2.c assumes. */
    for (uint64_t i = 3; i < 259; i++) {
        char want[8];
        snprintf(want, sizeof want, "<0x%02X>", (unsigned)(i - 3));
        if (types[i] != TOK_BYTE || strcmp(texts[i], want) != 0) {
            rc = wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                           "%s: token %llu is \"%s\", expected byte token %s", in->path,
                           (unsigned long long)i, texts[i], want);
            goto done;
        }
    }

    if ((rc = gguf_writer_set_str(w, "tokenizer.ggml.model", "llama")) != 0 ||
        (rc = gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)texts,
                                      lens, n)) != 0 ||
        (rc = gguf_writer_set_arr(w, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, scores,
                                  n)) != 0 ||
        (rc = gguf_writer_set_arr(w, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, types,
                                  n)) != 0 ||
        (rc = gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", 1)) != 0 ||
        (rc = gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", 2)) != 0 ||
        (rc = gguf_writer_set_u32(w, "tokenizer.ggml.unknown_token_id", 0)) != 0 ||
        (rc = gguf_writer_set_bool(w, "tokenizer.ggml.add_bos_token", 1)) != 0 ||
        (rc = gguf_writer_set_bool(w, "tokenizer.ggml.add_eos_token", 0)) != 0)
        goto done;
done:
    if (texts)
        for (uint64_t i = 0; i < n; i++) free(texts[i]);
    free(texts);
    free(lens);
    free(scores);
    free(types);
    return rc;
}

/* general.name from the model path: the base name without its extension. */
static void l2c_default_name(const char *path, char *out, size_t cap)
{
    const char *base = strrchr(path, '/');
    char *dot;
    snprintf(out, cap, "%s", base ? base + 1 : path);
    dot = strrchr(out, '.');
    if (dot && dot != out) *dot = '\0';
}

static int l2c_metadata(const l2c_config *c, const wc_options *opt, const char *model_path,
                        gguf_writer *w)
{
    char name[256];
    int rc;
    /* llama.cpp's general.file_type: 0 all F32, 1 mostly F16, 32 mostly BF16. */
    uint32_t ftype = opt->weight_type == WP_DTYPE_F16 ? 1 : opt->weight_type == WP_DTYPE_BF16 ? 32 : 0;

    if (opt->name) snprintf(name, sizeof name, "%s", opt->name);
    else l2c_default_name(model_path, name, sizeof name);
    if ((rc = gguf_writer_set_str(w, "general.architecture", "llama")) != 0 ||
        (rc = gguf_writer_set_str(w, "general.name", name)) != 0 ||
        (rc = gguf_writer_set_u32(w, "general.file_type", ftype)) != 0 ||
        (rc = gguf_writer_set_u32(w, "llama.context_length", (uint32_t)c->seq_len)) != 0 ||
        (rc = gguf_writer_set_u32(w, "llama.embedding_length", (uint32_t)c->dim)) != 0 ||
        (rc = gguf_writer_set_u32(w, "llama.block_count", (uint32_t)c->n_layers)) != 0 ||
        (rc = gguf_writer_set_u32(w, "llama.feed_forward_length", (uint32_t)c->hidden)) != 0 ||
        (rc = gguf_writer_set_u32(w, "llama.attention.head_count", (uint32_t)c->n_heads)) != 0 ||
        (rc = gguf_writer_set_u32(w, "llama.attention.head_count_kv",
                                  (uint32_t)c->n_kv_heads)) != 0 ||
        (rc = gguf_writer_set_u32(w, "llama.rope.dimension_count",
                                  (uint32_t)(c->dim / c->n_heads))) != 0 ||
        (rc = gguf_writer_set_f32(w, "llama.rope.freq_base", 10000.0f)) != 0 ||
        (rc = gguf_writer_set_f32(w, "llama.attention.layer_norm_rms_epsilon", 1e-5f)) != 0 ||
        (rc = gguf_writer_set_u32(w, "llama.vocab_size", (uint32_t)c->vocab)) != 0)
        return rc;
    return 0;
}

int wc_convert_llama2c(const char *const *inputs, const wc_options *opt, gguf_writer *w)
{
    wc_input model, tok;
    l2c_config c;
    int rc;

    memset(&tok, 0, sizeof tok);
    if ((rc = wc_input_open(inputs[0], &model)) != 0) return rc;
    if ((rc = l2c_read_config(&model, &c)) != 0) goto done;
    if ((rc = wc_input_open(inputs[1], &tok)) != 0) goto done;
    /* Metadata first, then the vocabulary, then tensors: the order readers expect. */
    if ((rc = l2c_metadata(&c, opt, inputs[0], w)) != 0) goto done;
    if ((rc = l2c_tokenizer(&tok, &c, w)) != 0) goto done;
    rc = l2c_weights(&model, &c, opt, w);
done:
    wc_input_close(&tok);
    wc_input_close(&model);
    return rc;
}
