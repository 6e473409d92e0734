/*
 * tok_spm.c - SentencePiece BPE with scores ("llama" vocabularies), as llama.cpp's
 * llm_tokenizer_spm: spaces become U+2581 (with one prepended when asked), the text is
 * split into UTF-8 characters, then the adjacent pair whose concatenation is a token with
 * the best score is merged (leftmost on ties) until none is left; a character that is not
 * a token falls back to its <0xNN> byte tokens.
 */
#include <stdlib.h>
#include <string.h>

#include "core/wrk_error.h"
#include "text/tok_internal.h"
#include "text/utf8.h"

typedef struct sym {
    int prev, next;
    size_t off, n;     /* in the escaped text; n == 0: merged away */
} sym;


static int try_bigram(const wrk_tokenizer *t, const char *s, const sym *sy, int l, int r,
                      wrk_bigram_heap *h)
{
    size_t n;
    int32_t id;
    if (l < 0 || r < 0) return 0;
    n = sy[l].n + sy[r].n;
    id = wrk_strmap_get(&t->tok_map, s + sy[l].off, n);
    if (id < 0) return 0;
    wrk_bigram b = { l, r, t->scores[id], n };
    return wrk_bigram_push(h, b);
}

static int emit_bytes(const wrk_tokenizer *t, const char *s, size_t n, wrk_idvec *out)
{
    for (size_t k = 0; k < n; k++) {
        int32_t id = t->byte_tok[(unsigned char)s[k]];
        if (id < 0) id = t->unk;
        if (id >= 0 && wrk_idvec_push(out, id)) return -1;
    }
    return 0;
}

int wrk_spm_encode(const wrk_tokenizer *t, const char *text, size_t len, int prefix_space,
                   wrk_idvec *out)
{
    char *s;
    sym *sy = NULL;
    wrk_bigram_heap h = { 0 };
    size_t n = 0, i = 0, nsym = 0;
    int rc = CUDA_ERROR_OUT_OF_MEMORY;

    /* Escape: ' ' -> U+2581 (3 bytes), with an optional leading one. */
    s = malloc(3 * len + 4);
    if (!s) return wrk_error(rc, "tokenize: out of memory");
    if (prefix_space) { memcpy(s, "\xE2\x96\x81", 3); n = 3; }
    for (size_t k = 0; k < len; k++) {
        if (text[k] == ' ') { memcpy(s + n, "\xE2\x96\x81", 3); n += 3; }
        else s[n++] = text[k];
    }
    sy = malloc((n ? n : 1) * sizeof *sy);
    if (!sy) goto done;
    while (i < n) {
        size_t bad = 0, c = wrk_utf8_char((const unsigned char *)s + i, n - i, &bad);
        if (!c) c = bad;    /* cannot happen on sanitized text; keep going anyway */
        sy[nsym].prev = (int)nsym - 1;
        sy[nsym].next = i + c < n ? (int)nsym + 1 : -1;
        sy[nsym].off = i;
        sy[nsym].n = c;
        nsym++;
        i += c;
    }
    for (i = 1; i < nsym; i++)
        if (try_bigram(t, s, sy, (int)i - 1, (int)i, &h)) goto done;
    while (h.n > 0) {
        wrk_bigram b = wrk_bigram_pop(&h);
        sym *l = &sy[b.left], *r = &sy[b.right];
        /* Stale: one side was merged since the pair was queued. */
        if (l->n == 0 || r->n == 0 || l->n + r->n != b.size) continue;
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0) sy[r->next].prev = b.left;
        if (try_bigram(t, s, sy, l->prev, b.left, &h)) goto done;
        if (try_bigram(t, s, sy, b.left, l->next, &h)) goto done;
    }
    for (int k = nsym ? 0 : -1; k >= 0; k = sy[k].next) {
        int32_t id = wrk_strmap_get(&t->tok_map, s + sy[k].off, sy[k].n);
        if (id >= 0) {
            if (wrk_idvec_push(out, id)) goto done;
        } else if (emit_bytes(t, s + sy[k].off, sy[k].n, out)) {
            goto done;
        }
    }
    rc = 0;
done:
    if (rc) wrk_error(rc, "tokenize: out of memory");
    free(h.v);
    free(sy);
    free(s);
    return rc;
}
