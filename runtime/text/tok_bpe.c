/*
 * tok_bpe.c - byte-level BPE ("gpt2" vocabularies), as llama.cpp's llm_tokenizer_bpe.
 *
 * The text is split into words by the pre-tokenizer regex named by tokenizer.ggml.pre (run
 * with PCRE2, UTF + UCP: \p{L}, \p{N}, \s are Unicode classes); each word's bytes are mapped
 * to GPT-2's printable stand-ins (bytes_to_unicode), then the adjacent pair with the lowest
 * merge rank is merged (leftmost on ties) until no pair has a rank. With ignore_merges
 * (Llama 3) a word that is itself a token is emitted whole.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/wrk_error.h"
#include "text/tok_internal.h"
#include "text/utf8.h"

/* The regexes llama.cpp uses (llama-vocab.cpp), with GPT-2's trailing \s+ made explicit
 * (llama.cpp's splitter keeps unmatched text as words, which is the same). */
static const char re_gpt2[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
static const char re_llama3[] =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
    "\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
static const char re_qwen2[] =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
    "\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/* GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves, the other 68
 * bytes map to U+0100.. in byte order. */
static void byte_map(wrk_tokenizer *t)
{
    uint32_t next = 256;
    for (int j = 0; j < 512; j++) t->byte_rev[j] = -1;
    for (int b = 0; b < 256; b++) {
        int keep = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
        uint32_t cp = keep ? (uint32_t)b : next++;
        t->byte_chr_len[b] = (uint8_t)wrk_utf8_encode(cp, t->byte_chr[b]);
        t->byte_rev[cp] = (int16_t)b;
    }
}

int wrk_bpe_init(wrk_tokenizer *t, const wrk_vocab_desc *d)
{
    const char *re = NULL;
    size_t total = 0, off = 0;
    int err = 0;
    PCRE2_SIZE eoff = 0;

    byte_map(t);
    for (int b = 0; b < 256; b++)
        t->byte_tok[b] = wrk_strmap_get(&t->tok_map, t->byte_chr[b], t->byte_chr_len[b]);

    if (strcmp(t->pre, "default") == 0 || strcmp(t->pre, "gpt2") == 0 ||
        strcmp(t->pre, "gpt-2") == 0) {
        re = re_gpt2;
    } else if (strcmp(t->pre, "llama-bpe") == 0 || strcmp(t->pre, "llama3") == 0 ||
               strcmp(t->pre, "llama-v3") == 0) {
        re = re_llama3;
        t->ignore_merges = 1;
    } else if (strcmp(t->pre, "qwen2") == 0) {
        re = re_qwen2;
    } else {
        return wrk_error(CUDA_ERROR_MODEL_LOAD_FAILED,
                         "tokenizer.ggml.pre '%s' is not supported (default, gpt2, "
                         "llama-bpe, qwen2)", t->pre);
    }
    t->re = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP, &err,
                          &eoff, NULL);
    if (!t->re)
        return wrk_error(CUDA_ERROR_MODEL_LOAD_FAILED,
                         "tokenizer: pre-tokenizer regex failed to compile (error %d at %zu)",
                         err, (size_t)eoff);
    /* JIT is an optimisation only; the interpreter is used when it is unavailable. */
    (void)pcre2_jit_compile(t->re, PCRE2_JIT_COMPLETE);

    if (d->n_merges && !d->merges)
        return wrk_error(CUDA_ERROR_MODEL_LOAD_FAILED, "tokenizer.ggml.merges missing");
    for (uint64_t i = 0; i < d->n_merges; i++) {
        if (!d->merges[i])
            return wrk_error(CUDA_ERROR_MODEL_LOAD_FAILED, "tokenizer: merge %llu missing",
                             (unsigned long long)i);
        total += (d->merge_lens ? d->merge_lens[i] : strlen(d->merges[i])) + 1;
    }
    if (d->n_merges > INT32_MAX)
        return wrk_error(CUDA_ERROR_MODEL_LOAD_FAILED, "tokenizer: too many merges");
    t->merge_arena = malloc(total ? total : 1);
    if (!t->merge_arena || wrk_strmap_init(&t->merge_map, d->n_merges) != 0)
        return wrk_error(CUDA_ERROR_OUT_OF_MEMORY, "tokenizer: out of memory for merges");
    for (uint64_t i = 0; i < d->n_merges; i++) {
        size_t n = d->merge_lens ? d->merge_lens[i] : strlen(d->merges[i]);
        char *m = t->merge_arena + off;
        /* "left right": the separator is the first space after the first byte. */
        const char *sp = n > 1 ? memchr(d->merges[i] + 1, ' ', n - 1) : NULL;
        if (!sp)
            return wrk_error(CUDA_ERROR_MODEL_LOAD_FAILED,
                             "tokenizer.ggml.merges[%llu] has no space", (unsigned long long)i);
        memcpy(m, d->merges[i], n);
        m[n] = '\0';
        off += n + 1;
        wrk_strmap_put(&t->merge_map, m, n, (int32_t)i);
    }
    return 0;
}

void wrk_bpe_fini(wrk_tokenizer *t)
{
    if (t->re) pcre2_code_free(t->re);
    t->re = NULL;
}

typedef struct sym {
    int prev, next;
    size_t off, n;
} sym;


/* Scratch of one encode call. */
typedef struct work {
    char *w;          /* the mapped word */
    size_t wcap;
    char *key;        /* "left right" */
    size_t kcap;
    sym *sy;
    size_t scap;
    wrk_bigram_heap h;
} work;

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap : 64;
    while (c < need) c *= 2;
    void *q = realloc(*p, c * elem);
    if (!q) return -1;
    *p = q;
    *cap = c;
    return 0;
}

static int try_bigram(const wrk_tokenizer *t, work *k, int l, int r)
{
    size_t ln, rn;
    int32_t rank;
    if (l < 0 || r < 0) return 0;
    ln = k->sy[l].n;
    rn = k->sy[r].n;
    if (grow((void **)&k->key, &k->kcap, ln + rn + 1, 1)) return -1;
    memcpy(k->key, k->w + k->sy[l].off, ln);
    k->key[ln] = ' ';
    memcpy(k->key + ln + 1, k->w + k->sy[r].off, rn);
    rank = wrk_strmap_get(&t->merge_map, k->key, ln + rn + 1);
    if (rank < 0) return 0;
    wrk_bigram b = { l, r, -(double)rank, ln + rn };
    return wrk_bigram_push(&k->h, b);
}

/* BPE of one word (raw bytes s[0..n)). */
static int encode_word(const wrk_tokenizer *t, work *k, const char *s, size_t n,
                       wrk_idvec *out)
{
    size_t wn = 0, nsym = 0;
    int32_t id;

    if (grow((void **)&k->w, &k->wcap, n * 2 + 1, 1) ||
        grow((void **)&k->sy, &k->scap, n + 1, sizeof *k->sy))
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned char b = (unsigned char)s[i];
        k->sy[i].prev = (int)i - 1;
        k->sy[i].next = i + 1 < n ? (int)i + 1 : -1;
        k->sy[i].off = wn;
        k->sy[i].n = t->byte_chr_len[b];
        memcpy(k->w + wn, t->byte_chr[b], t->byte_chr_len[b]);
        wn += t->byte_chr_len[b];
    }
    nsym = n;
    if (t->ignore_merges && (id = wrk_strmap_get(&t->tok_map, k->w, wn)) >= 0)
        return wrk_idvec_push(out, id);
    k->h.n = 0;
    for (size_t i = 1; i < nsym; i++)
        if (try_bigram(t, k, (int)i - 1, (int)i)) return -1;
    while (k->h.n > 0) {
        wrk_bigram b = wrk_bigram_pop(&k->h);
        sym *l = &k->sy[b.left], *r = &k->sy[b.right];
        if (l->n == 0 || r->n == 0 || l->n + r->n != b.size || l->next != b.right) continue;
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0) k->sy[r->next].prev = b.left;
        if (try_bigram(t, k, l->prev, b.left) || try_bigram(t, k, b.left, l->next)) return -1;
    }
    for (int i = nsym ? 0 : -1; i >= 0; i = k->sy[i].next) {
        id = wrk_strmap_get(&t->tok_map, k->w + k->sy[i].off, k->sy[i].n);
        if (id >= 0) {
            if (wrk_idvec_push(out, id)) return -1;
            continue;
        }
        /* Not a token: one token per byte (each stand-in character is one byte). */
        for (size_t off = k->sy[i].off; off < k->sy[i].off + k->sy[i].n;) {
            size_t bad = 0, c = wrk_utf8_char((const unsigned char *)k->w + off,
                                              k->sy[i].off + k->sy[i].n - off, &bad);
            if (!c) c = bad;
            id = wrk_strmap_get(&t->tok_map, k->w + off, c);
            if (id < 0) id = t->unk;
            if (id >= 0 && wrk_idvec_push(out, id)) return -1;
            off += c;
        }
    }
    return 0;
}

int wrk_bpe_encode(const wrk_tokenizer *t, const char *text, size_t len, wrk_idvec *out)
{
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    work k = { 0 };
    size_t off = 0;
    int rc = 0;

    if (!md) return wrk_error(CUDA_ERROR_OUT_OF_MEMORY, "tokenize: out of memory");
    while (off < len && rc == 0) {
        /* The text is valid UTF-8 (sanitized by the caller): skip PCRE2's check. */
        int m = pcre2_match(t->re, (PCRE2_SPTR)text, len, off, PCRE2_NO_UTF_CHECK, md, NULL);
        size_t s, e;
        if (m < 0) {
            if (m != PCRE2_ERROR_NOMATCH) {
                rc = wrk_error(CUDA_ERROR_UNKNOWN, "tokenize: regex match failed (%d)", m);
                break;
            }
            s = e = len;
        } else {
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
            s = ov[0];
            e = ov[1];
        }
        /* Unmatched text before the match is a word of its own (llama.cpp). */
        if (s > off && encode_word(t, &k, text + off, s - off, out)) rc = -1;
        if (rc == 0 && e > s && encode_word(t, &k, text + s, e - s, out)) rc = -1;
        if (e == s && s < len) {   /* empty match: step over one character */
            size_t bad = 0, c = wrk_utf8_char((const unsigned char *)text + s, len - s, &bad);
            if (rc == 0 && encode_word(t, &k, text + s, c ? c : 1, out)) rc = -1;
            e = s + (c ? c : 1);
        }
        off = e;
    }
    if (rc == -1) rc = wrk_error(CUDA_ERROR_OUT_OF_MEMORY, "tokenize: out of memory");
    free(k.w);
    free(k.key);
    free(k.sy);
    free(k.h.v);
    pcre2_match_data_free(md);
    return rc;
}
