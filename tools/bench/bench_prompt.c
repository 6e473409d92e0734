/*
 * bench_prompt.c - exact-length prompts through the public tokenizer API (bench_prompt.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_prompt.h"

/* Deterministic English-like words: the text only has to tokenize like prose. */
static char *word_text(size_t len)
{
    static const char *const words[] = {
        "the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "and", "then",
        "runs", "into", "forest", "where", "a", "small", "bird", "sings", "every", "morning",
        "while", "river", "flows", "past", "old", "stone", "bridge", "near", "village", "of",
        "people", "who", "work", "in", "fields", "under", "bright", "sun", "until", "evening"
    };
    char *s = malloc(len + 32);
    size_t n = 0;
    uint32_t x = 12345u;
    if (!s) return NULL;
    while (n < len) {
        const char *w;
        x = x * 1664525u + 1013904223u;
        w = words[(x >> 16) % (sizeof words / sizeof *words)];
        if (n) {
            if (((x >> 8) & 15) == 0) s[n++] = '.';   /* now and then a sentence ends */
            s[n++] = ' ';
        }
        memcpy(s + n, w, strlen(w));
        n += strlen(w);
    }
    s[n] = '\0';
    return s;
}

/* Token count of text (add_special as the session does); -1 on failure. */
static int count(const CudaModel *m, const char *text, int add_special)
{
    size_t n = 0;
    int rc = worker_tokenize(m, text, add_special, NULL, 0, &n);
    if (rc != 0 && rc != CUDA_ERROR_INVALID_PARAMETER) return -1;
    if (rc == CUDA_ERROR_INVALID_PARAMETER && n == 0) return -1;
    return (int)n;
}

/* Text of ids[0..k); NULL on failure. */
static char *detok(const CudaModel *m, const int32_t *ids, int k)
{
    size_t need = 0;
    char *out;
    int rc = worker_detokenize(m, ids, (size_t)k, NULL, 0, &need);
    if (rc != 0 && rc != CUDA_ERROR_INVALID_PARAMETER) return NULL;
    if (!(out = malloc(need + 1))) return NULL;
    if (worker_detokenize(m, ids, (size_t)k, out, need + 1, &need) != 0) {
        free(out);
        return NULL;
    }
    out[need] = '\0';
    return out;
}

int bench_prompt_make(const CudaModel *model, int target, char **text, int *n_tokens,
                      char *msg, size_t msg_size)
{
    char *base = NULL, *best = NULL;
    int32_t *ids = NULL;
    size_t len = (size_t)target * 8 + 64, n = 0;
    int n_added, n_base = 0, best_n = -1, k, rc = CUDA_ERROR_INVALID_PARAMETER;

    *text = NULL;
    *n_tokens = 0;
    msg[0] = '\0';
    if (target < 1) {
        snprintf(msg, msg_size, "prompt length %d < 1", target);
        return CUDA_ERROR_INVALID_PARAMETER;
    }
    /* A word text with at least target tokens (without special tokens). */
    for (;;) {
        free(base);
        if (!(base = word_text(len))) goto oom;
        if ((n_base = count(model, base, 0)) < 0) goto api;
        if (n_base >= target + 8 || len > ((size_t)1 << 28)) break;
        len *= 2;
    }
    {
        int with = count(model, base, 1), without = count(model, base, 0);
        if (with < 0 || without < 0) goto api;
        n_added = with - without;   /* BOS (and EOS) the session will add */
    }
    if (!(ids = malloc(((size_t)n_base + 1) * sizeof *ids))) goto oom;
    if ((rc = worker_tokenize(model, base, 0, ids, (size_t)n_base + 1, &n)) != 0) goto api;
    if (n == 0) {
        snprintf(msg, msg_size, "the tokenizer gives no tokens for text");
        rc = CUDA_ERROR_INVALID_PARAMETER;
        goto done;
    }
    k = target - n_added;
    for (int iter = 0; iter < 32; iter++) {
        char *t;
        int c;
        if (k < 1) k = 1;
        if ((size_t)k > n) k = (int)n;
        if (!(t = detok(model, ids, k))) goto api;
        c = t[0] ? count(model, t, 1) : -1;
        if (c >= 0 && (best_n < 0 || abs(c - target) < abs(best_n - target))) {
            free(best);
            best = t;
            best_n = c;
        } else {
            free(t);
        }
        if (c == target || c < 0) break;
        {
            int next = k + (target - c);
            if (next < 1) next = 1;
            if ((size_t)next > n) next = (int)n;
            if (next == k) break;   /* the closest this text can come */
            k = next;
        }
    }
    if (!best) {
        snprintf(msg, msg_size, "no prompt of %d tokens could be built", target);
        rc = CUDA_ERROR_INVALID_PARAMETER;
        goto done;
    }
    *text = best;
    *n_tokens = best_n;
    best = NULL;
    rc = 0;
    goto done;
oom:
    snprintf(msg, msg_size, "out of memory building a prompt");
    rc = CUDA_ERROR_OUT_OF_MEMORY;
    goto done;
api:
    snprintf(msg, msg_size, "tokenizer: %s", worker_last_error_detail());
    if (rc == 0) rc = CUDA_ERROR_INVALID_PARAMETER;
done:
    free(base);
    free(best);
    free(ids);
    return rc;
}
