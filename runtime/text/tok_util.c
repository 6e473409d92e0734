/*
 * tok_util.c - the small containers of the tokenizers: a string hash map and an id vector.
 */
#include <stdlib.h>
#include <string.h>

#include "text/tok_internal.h"

/* FNV-1a: simple, fast enough for vocabularies of a few 100k entries. */
static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

int wrk_strmap_init(wrk_strmap *m, size_t expected)
{
    size_t cap = 16;
    while (cap < expected * 2) cap <<= 1;
    memset(m, 0, sizeof *m);
    m->keys = calloc(cap, sizeof *m->keys);
    m->lens = calloc(cap, sizeof *m->lens);
    m->vals = calloc(cap, sizeof *m->vals);
    if (!m->keys || !m->lens || !m->vals) {
        wrk_strmap_free(m);
        return -1;
    }
    m->cap = cap;
    return 0;
}

void wrk_strmap_free(wrk_strmap *m)
{
    free(m->keys);
    free(m->lens);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

/* The map is sized for its contents at init (load factor <= 1/2), so it never grows. */
void wrk_strmap_put(wrk_strmap *m, const char *key, size_t len, int32_t val)
{
    size_t mask = m->cap - 1, i;
    if (m->cap == 0 || m->count * 2 >= m->cap) return;
    i = (size_t)hash_bytes(key, len) & mask;
    while (m->keys[i]) {
        if (m->lens[i] == len && memcmp(m->keys[i], key, len) == 0) return;
        i = (i + 1) & mask;
    }
    m->keys[i] = key;
    m->lens[i] = (uint32_t)len;
    m->vals[i] = val;
    m->count++;
}

int32_t wrk_strmap_get(const wrk_strmap *m, const char *key, size_t len)
{
    size_t mask, i;
    if (m->cap == 0) return -1;
    mask = m->cap - 1;
    i = (size_t)hash_bytes(key, len) & mask;
    while (m->keys[i]) {
        if (m->lens[i] == len && memcmp(m->keys[i], key, len) == 0) return m->vals[i];
        i = (i + 1) & mask;
    }
    return -1;
}

int wrk_idvec_push(wrk_idvec *iv, int32_t id)
{
    if (iv->n == iv->cap) {
        size_t cap = iv->cap ? iv->cap * 2 : 64;
        int32_t *v = realloc(iv->v, cap * sizeof *v);
        if (!v) return -1;
        iv->v = v;
        iv->cap = cap;
    }
    iv->v[iv->n++] = id;
    return 0;
}

/* a before b: higher priority, then the leftmost pair. */
static int bigram_better(const wrk_bigram *a, const wrk_bigram *b)
{
    return a->prio > b->prio || (a->prio == b->prio && a->left < b->left);
}

int wrk_bigram_push(wrk_bigram_heap *h, wrk_bigram b)
{
    size_t i;
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        wrk_bigram *v = realloc(h->v, cap * sizeof *v);
        if (!v) return -1;
        h->v = v;
        h->cap = cap;
    }
    i = h->n++;
    while (i > 0 && bigram_better(&b, &h->v[(i - 1) / 2])) {
        h->v[i] = h->v[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->v[i] = b;
    return 0;
}

wrk_bigram wrk_bigram_pop(wrk_bigram_heap *h)
{
    wrk_bigram top = h->v[0], last = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n) break;
        if (c + 1 < h->n && bigram_better(&h->v[c + 1], &h->v[c])) c++;
        if (!bigram_better(&h->v[c], &last)) break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (h->n) h->v[i] = last;
    return top;
}
