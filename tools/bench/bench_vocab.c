/*
 * bench_vocab.c - a byte-level BPE ("gpt2") vocabulary of any size >= 260 for the
 * benchmark models: ids 0..255 are GPT-2's byte stand-ins (bytes_to_unicode), so every text
 * tokenizes (one token per byte, there are no merges); the rest are filler "<tok_N>" tokens
 * the random model may generate, and control tokens at the top (from vocab - 256 when the
 * vocabulary is large, as Llama 3's <|begin_of_text|> = 128000, <|end_of_text|> = 128001).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/wrk_error.h"
#include "bench_model.h"

/* GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves, the others map
 * to U+0100.. in byte order. Returns the code point of byte b. */
static uint32_t byte_cp(uint32_t b)
{
    uint32_t extra = 0;
    for (uint32_t c = 0; c < 256; c++) {
        int printable = (c >= 0x21 && c <= 0x7e) || (c >= 0xa1 && c <= 0xac) ||
                        (c >= 0xae && c <= 0xff);
        if (c == b) return printable ? c : 256 + extra;
        if (!printable) extra++;
    }
    return 0;
}

static uint32_t utf8(uint32_t cp, char *out)
{
    if (cp < 0x80) { out[0] = (char)cp; return 1; }
    out[0] = (char)(0xc0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3f));
    return 2;   /* stand-ins are below U+0800 */
}

void bench_vocab_free(bench_vocab *v)
{
    if (v->text)
        for (uint32_t i = 0; i < v->n; i++) free(v->text[i]);
    free(v->text);
    free(v->len);
    free(v->type);
    memset(v, 0, sizeof *v);
}

int bench_vocab_make(uint32_t n, bench_vocab *v)
{
    uint32_t first_ctl;
    memset(v, 0, sizeof *v);
    if (n < 260) return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "vocab %u < 260", n);
    v->n = n;
    v->text = calloc(n, sizeof *v->text);
    v->len = calloc(n, sizeof *v->len);
    v->type = calloc(n, sizeof *v->type);
    if (!v->text || !v->len || !v->type) goto oom;
    first_ctl = n >= 1024 ? n - 256 : n - 2;
    v->bos = first_ctl;
    v->eos = first_ctl + 1;
    for (uint32_t i = 0; i < n; i++) {
        char buf[48];
        uint32_t len;
        if (i < 256) {
            len = utf8(byte_cp(i), buf);
            v->type[i] = 1;                     /* normal */
        } else if (i < first_ctl) {
            len = (uint32_t)snprintf(buf, sizeof buf, "<tok_%u>", i);
            v->type[i] = 1;
        } else {
            if (i == v->bos) len = (uint32_t)snprintf(buf, sizeof buf, "<|begin_of_text|>");
            else if (i == v->eos) len = (uint32_t)snprintf(buf, sizeof buf, "<|end_of_text|>");
            else len = (uint32_t)snprintf(buf, sizeof buf, "<|reserved_special_token_%u|>",
                                          i - first_ctl - 2);
            v->type[i] = 3;                     /* control */
        }
        v->text[i] = malloc(len + 1);
        if (!v->text[i]) goto oom;
        memcpy(v->text[i], buf, len + 1);
        v->len[i] = len;
    }
    return 0;
oom:
    bench_vocab_free(v);
    return wrk_error(CUDA_ERROR_OUT_OF_MEMORY, "vocabulary of %u tokens: out of memory", n);
}
