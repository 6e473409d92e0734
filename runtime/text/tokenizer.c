/*
 * tokenizer.c - building a tokenizer from vocabulary arrays, the special-token partition,
 * encoding and piece lookup shared by both kinds (see tokenizer.h, tok_internal.h).
 *
 * Input text is first repaired to valid UTF-8 (each maximal invalid subpart -> U+FFFD, as
 * TextDecoder and HF tokenizers do), so invalid bytes never reach the BPE or the regex.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/wrk_error.h"
#include "text/tok_internal.h"
#include "text/utf8.h"

void wrk_vocab_desc_init(wrk_vocab_desc *d)
{
    memset(d, 0, sizeof *d);
    d->bos = d->eos = d->unk = d->pad = d->eot = d->eom = -1;
    d->add_bos = d->add_eos = d->add_space_prefix = -1;
}

void wrk_tokenizer_free(wrk_tokenizer *t)
{
    if (!t) return;
    wrk_bpe_fini(t);
    wrk_strmap_free(&t->tok_map);
    wrk_strmap_free(&t->merge_map);
    free(t->merge_arena);
    free(t->arena);
    free(t->text);
    free(t->text_len);
    free(t->piece);
    free(t->piece_len);
    free(t->scores);
    free(t->types);
    free(t->eog);
    free(t->special);
    free(t);
}

static size_t desc_len(const wrk_vocab_desc *d, uint32_t i)
{
    return d->token_lens ? (size_t)d->token_lens[i] : strlen(d->tokens[i]);
}

/* Parse "<0xNN>" into its byte; -1 otherwise. */
static int parse_byte_token(const char *s, size_t n)
{
    unsigned v = 0;
    if (n != 6 || memcmp(s, "<0x", 3) != 0 || s[5] != '>') return -1;
    for (int i = 3; i < 5; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else return -1;
    }
    return (int)v;
}

/* Decoded bytes of token i into dst (capacity >= text length); returns the length. */
static size_t make_piece(const wrk_tokenizer *t, uint32_t i, char *dst)
{
    const char *s = t->text[i];
    size_t n = t->text_len[i], o = 0, k = 0;
    int type = t->types[i];

    if (type == WRK_TOK_CONTROL || type == WRK_TOK_USER_DEFINED || type == WRK_TOK_UNKNOWN) {
        memcpy(dst, s, n);
        return n;
    }
    if (type == WRK_TOK_UNUSED) return 0;
    if (t->kind == WRK_TOKENIZER_SPM) {
        int b = type == WRK_TOK_BYTE ? parse_byte_token(s, n) : -1;
        if (b >= 0) { dst[0] = (char)b; return 1; }
        while (k < n) {   /* U+2581 -> ' ' */
            if (k + 3 <= n && memcmp(s + k, "\xE2\x96\x81", 3) == 0) { dst[o++] = ' '; k += 3; }
            else dst[o++] = s[k++];
        }
        return o;
    }
    /* Byte-level BPE: every code point stands for one byte (bytes_to_unicode reversed);
     * a code point outside the map is kept as it is. The stand-ins are all < U+0200. */
    const int16_t *rev = t->byte_rev;
    while (k < n) {
        size_t bad = 0, c = wrk_utf8_char((const unsigned char *)s + k, n - k, &bad);
        uint32_t cp;
        if (!c) { dst[o++] = s[k++]; continue; }
        cp = wrk_utf8_decode((const unsigned char *)s + k, c);
        if (cp < 512 && rev[cp] >= 0) dst[o++] = (char)rev[cp];
        else { memcpy(dst + o, s + k, c); o += c; }
        k += c;
    }
    return o;
}

static int cmp_special(const void *a, const void *b, void *arg)
{
    const wrk_tokenizer *t = arg;
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    if (t->text_len[x] != t->text_len[y]) return t->text_len[x] > t->text_len[y] ? -1 : 1;
    return x < y ? -1 : x > y;
}

/* Texts of tokens that end generation when they are control tokens (as llama.cpp). */
static const char *const eog_texts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>",
    "<EOT>", "<|end_of_text|>", NULL
};

static int32_t id_or(int64_t v, uint32_t n, int32_t dflt)
{
    return v >= 0 && v < (int64_t)n ? (int32_t)v : dflt;
}

int wrk_tokenizer_build(const wrk_vocab_desc *d, wrk_tokenizer **out)
{
    wrk_tokenizer *t;
    size_t total = 0, off = 0;
    int rc = CUDA_ERROR_OUT_OF_MEMORY;
    uint32_t i;

    *out = NULL;
    if (!d || !d->model || !d->tokens || d->n_tokens == 0)
        return wrk_error(CUDA_ERROR_MODEL_LOAD_FAILED, "tokenizer: no vocabulary");
    t = calloc(1, sizeof *t);
    if (!t) return wrk_error(CUDA_ERROR_OUT_OF_MEMORY, "tokenizer: out of memory");
    if (strcmp(d->model, "llama") == 0) t->kind = WRK_TOKENIZER_SPM;
    else if (strcmp(d->model, "gpt2") == 0) t->kind = WRK_TOKENIZER_BPE;
    else {
        rc = wrk_error(CUDA_ERROR_MODEL_LOAD_FAILED,
                       "tokenizer.ggml.model '%.64s' is not supported (llama, gpt2)", d->model);
        goto fail;
    }
    snprintf(t->model, sizeof t->model, "%s", d->model);
    snprintf(t->pre, sizeof t->pre, "%s", d->pre ? d->pre : "default");
    t->n_vocab = d->n_tokens;

    for (i = 0; i < d->n_tokens; i++) {
        if (!d->tokens[i]) {
            rc = wrk_error(CUDA_ERROR_MODEL_LOAD_FAILED, "tokenizer: token %u missing", i);
            goto fail;
        }
        total += 2 * desc_len(d, i) + 2;
    }
    t->arena = malloc(total ? total : 1);
    t->text = calloc(d->n_tokens, sizeof *t->text);
    t->text_len = calloc(d->n_tokens, sizeof *t->text_len);
    t->piece = calloc(d->n_tokens, sizeof *t->piece);
    t->piece_len = calloc(d->n_tokens, sizeof *t->piece_len);
    t->scores = calloc(d->n_tokens, sizeof *t->scores);
    t->types = calloc(d->n_tokens, sizeof *t->types);
    t->eog = calloc(d->n_tokens, 1);
    if (!t->arena || !t->text || !t->text_len || !t->piece || !t->piece_len || !t->scores ||
        !t->types || !t->eog || wrk_strmap_init(&t->tok_map, d->n_tokens) != 0)
        goto oom;
    for (i = 0; i < d->n_tokens; i++) {
        size_t n = desc_len(d, i);
        int32_t ty = d->types ? d->types[i] : WRK_TOK_NORMAL;
        if (n > UINT32_MAX / 4) {
            rc = wrk_error(CUDA_ERROR_MODEL_LOAD_FAILED, "tokenizer: token %u too long", i);
            goto fail;
        }
        memcpy(t->arena + off, d->tokens[i], n);
        t->arena[off + n] = '\0';
        t->text[i] = t->arena + off;
        t->text_len[i] = (uint32_t)n;
        off += n + 1;
        t->scores[i] = d->scores ? d->scores[i] : 0.0f;
        t->types[i] = (uint8_t)(ty >= 0 && ty <= WRK_TOK_BYTE ? ty : WRK_TOK_NORMAL);
        /* Empty texts (gaps of a sparse vocabulary) are never looked up. */
        if (n > 0) wrk_strmap_put(&t->tok_map, t->text[i], n, (int32_t)i);
    }

    for (i = 0; i < 256; i++) t->byte_tok[i] = -1;
    if (t->kind == WRK_TOKENIZER_BPE) {
        rc = wrk_bpe_init(t, d);
        if (rc) goto fail;
    } else {
        for (i = 0; i < d->n_tokens; i++) {
            int b = parse_byte_token(t->text[i], t->text_len[i]);
            if (b >= 0 && t->byte_tok[b] < 0) t->byte_tok[b] = (int32_t)i;
        }
    }
    for (i = 0; i < d->n_tokens; i++) {
        char *dst = t->arena + off;
        size_t n = make_piece(t, i, dst);
        dst[n] = '\0';
        t->piece[i] = dst;
        t->piece_len[i] = (uint32_t)n;
        off += n + 1;
    }

    /* Special ids: llama.cpp's defaults for an SPM vocabulary, else the metadata. */
    if (t->kind == WRK_TOKENIZER_SPM) {
        t->bos = id_or(d->bos, t->n_vocab, t->n_vocab > 1 ? 1 : -1);
        t->eos = id_or(d->eos, t->n_vocab, t->n_vocab > 2 ? 2 : -1);
        t->unk = id_or(d->unk, t->n_vocab, 0);
    } else {
        int32_t eot = wrk_strmap_get(&t->tok_map, "<|endoftext|>", 13);
        t->bos = id_or(d->bos, t->n_vocab, eot);
        t->eos = id_or(d->eos, t->n_vocab, eot);
        t->unk = id_or(d->unk, t->n_vocab, -1);
    }
    t->pad = id_or(d->pad, t->n_vocab, -1);
    t->add_bos = d->add_bos >= 0 ? d->add_bos : t->kind == WRK_TOKENIZER_SPM;
    t->add_eos = d->add_eos >= 0 ? d->add_eos : 0;
    t->add_space_prefix = d->add_space_prefix >= 0 ? d->add_space_prefix
                                                   : t->kind == WRK_TOKENIZER_SPM;

    /* End of generation: EOS, EOT, EOM, and control tokens with a known end text. */
    if (t->eos >= 0) t->eog[t->eos] = 1;
    if (id_or(d->eot, t->n_vocab, -1) >= 0) t->eog[d->eot] = 1;
    if (id_or(d->eom, t->n_vocab, -1) >= 0) t->eog[d->eom] = 1;
    for (int k = 0; eog_texts[k]; k++) {
        int32_t id = wrk_strmap_get(&t->tok_map, eog_texts[k], strlen(eog_texts[k]));
        if (id >= 0 && (t->types[id] == WRK_TOK_CONTROL || t->types[id] == WRK_TOK_USER_DEFINED))
            t->eog[id] = 1;
    }

    /* Tokens matched in the text before BPE: control and user-defined, longest first. */
    t->special = malloc(sizeof *t->special * t->n_vocab);
    if (!t->special) goto oom;
    for (i = 0; i < t->n_vocab; i++)
        if ((t->types[i] == WRK_TOK_CONTROL || t->types[i] == WRK_TOK_USER_DEFINED) &&
            t->text_len[i] > 0)
            t->special[t->n_special++] = (int32_t)i;
    qsort_r(t->special, t->n_special, sizeof *t->special, cmp_special, t);

    *out = t;
    return 0;
oom:
    rc = wrk_error(CUDA_ERROR_OUT_OF_MEMORY, "tokenizer: out of memory for %u tokens",
                   d->n_tokens);
fail:
    wrk_tokenizer_free(t);
    return rc;
}

const char *wrk_tokenizer_kind(const wrk_tokenizer *t) { return t ? t->model : ""; }
uint32_t wrk_tokenizer_vocab_size(const wrk_tokenizer *t) { return t ? t->n_vocab : 0; }
int32_t wrk_tokenizer_bos(const wrk_tokenizer *t) { return t ? t->bos : -1; }
int32_t wrk_tokenizer_eos(const wrk_tokenizer *t) { return t ? t->eos : -1; }

int wrk_tokenizer_is_eog(const wrk_tokenizer *t, int32_t id)
{
    return t && id >= 0 && (uint32_t)id < t->n_vocab && t->eog[id];
}

const char *wrk_token_piece(const wrk_tokenizer *t, int32_t id, int render_special,
                            size_t *len)
{
    size_t dummy;
    if (!len) len = &dummy;
    *len = 0;
    if (!t || id < 0 || (uint32_t)id >= t->n_vocab) return "";
    if (!render_special && (t->types[id] == WRK_TOK_CONTROL || t->types[id] == WRK_TOK_UNKNOWN))
        return "";
    *len = t->piece_len[id];
    return t->piece[id];
}

int32_t wrk_token_lookup(const wrk_tokenizer *t, const char *text, size_t len)
{
    if (!t || !text || len == 0) return -1;
    return wrk_strmap_get(&t->tok_map, text, len);
}

/* One fragment of the special-token partition: a token, or a span of raw text. */
typedef struct frag {
    int32_t id;       /* -1: raw text */
    size_t off, len;
} frag;

typedef struct fragvec {
    frag *v;
    size_t n, cap;
} fragvec;

static int frag_insert(fragvec *f, size_t at, frag x)
{
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 16;
        frag *v = realloc(f->v, cap * sizeof *v);
        if (!v) return -1;
        f->v = v;
        f->cap = cap;
    }
    memmove(f->v + at + 1, f->v + at, (f->n - at) * sizeof *f->v);
    f->v[at] = x;
    f->n++;
    return 0;
}

/* Split the raw fragments at every occurrence of each special token, longest token first
 * (llama.cpp's tokenizer_st_partition with parse_special). */
static int partition(const wrk_tokenizer *t, const char *s, size_t len, fragvec *f)
{
    frag whole = { -1, 0, len };
    if (frag_insert(f, 0, whole)) return -1;
    for (size_t k = 0; k < t->n_special; k++) {
        int32_t id = t->special[k];
        const char *tx = t->text[id];
        size_t tl = t->text_len[id];
        for (size_t j = 0; j < f->n; j++) {
            frag *fr = &f->v[j];
            const char *hit;
            if (fr->id >= 0 || fr->len < tl) continue;
            hit = memmem(s + fr->off, fr->len, tx, tl);
            if (!hit) continue;
            {
                size_t pos = (size_t)(hit - s), end = fr->off + fr->len;
                frag left = { -1, fr->off, pos - fr->off };
                frag tok = { id, pos, tl };
                frag right = { -1, pos + tl, end - pos - tl };
                f->v[j] = right;   /* continue scanning the remainder at this index */
                if (frag_insert(f, j, tok)) return -1;
                if (left.len > 0) {
                    if (frag_insert(f, j, left)) return -1;
                    j++;
                }
                /* j now indexes the token; the loop's j++ moves to the remainder. */
                if (right.len == 0) {
                    memmove(f->v + j + 1, f->v + j + 2, (f->n - j - 2) * sizeof *f->v);
                    f->n--;
                }
            }
        }
    }
    return 0;
}

int wrk_tokenize(const wrk_tokenizer *t, const char *text, size_t len, int add_special,
                 int32_t *ids, size_t cap, size_t *n)
{
    char *clean = NULL;
    size_t clen = 0;
    fragvec f = { 0 };
    wrk_idvec out = { 0 };
    int rc = 0, prev_special = 1;

    if (n) *n = 0;
    if (!t || (!text && len) || !n)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "tokenize: NULL argument");
    clean = wrk_utf8_sanitize(text ? text : "", len, &clen);
    if (!clean) return wrk_error(CUDA_ERROR_OUT_OF_MEMORY, "tokenize: out of memory");
    if (add_special && t->add_bos && t->bos >= 0 && wrk_idvec_push(&out, t->bos)) goto oom;
    if (partition(t, clean, clen, &f)) goto oom;
    for (size_t i = 0; i < f.n; i++) {
        if (f.v[i].id >= 0) {
            if (wrk_idvec_push(&out, f.v[i].id)) goto oom;
            prev_special = 1;
            continue;
        }
        if (f.v[i].len == 0) continue;   /* empty text gives no tokens (llama.cpp) */
        if (t->kind == WRK_TOKENIZER_SPM)
            /* A space prefix at the start and after each special token (llama.cpp). */
            rc = wrk_spm_encode(t, clean + f.v[i].off, f.v[i].len,
                                t->add_space_prefix && prev_special, &out);
        else
            rc = wrk_bpe_encode(t, clean + f.v[i].off, f.v[i].len, &out);
        if (rc) goto done;
        prev_special = 0;
    }
    if (add_special && t->add_eos && t->eos >= 0 && wrk_idvec_push(&out, t->eos)) goto oom;
    *n = out.n;
    if (out.n > cap) {
        rc = wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                       "tokenize: %zu tokens needed, room for %zu", out.n, cap);
    } else if (out.n) {
        if (!ids) rc = wrk_error(CUDA_ERROR_INVALID_PARAMETER, "tokenize: ids is NULL");
        else memcpy(ids, out.v, out.n * sizeof *ids);
    }
    goto done;
oom:
    rc = wrk_error(CUDA_ERROR_OUT_OF_MEMORY, "tokenize: out of memory");
done:
    free(out.v);
    free(f.v);
    free(clean);
    return rc;
}
