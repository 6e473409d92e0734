/*
 * fixture_vocab.c - see fixture_vocab.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture_vocab.h"

const char *fixture_path(const char *name)
{
    static char buf[4096];
    const char *top = getenv("top_srcdir");
    snprintf(buf, sizeof buf, "%s/tests/text/fixtures/%s", top ? top : ".", name);
    return buf;
}

size_t fixture_unescape(char *s)
{
    size_t o = 0;
    for (size_t i = 0; s[i]; i++) {
        if (s[i] == '\\' && s[i + 1]) {
            char c = s[++i];
            s[o++] = c == 't' ? '\t' : c == 'n' ? '\n' : c == 'r' ? '\r' : c;
        } else {
            s[o++] = s[i];
        }
    }
    s[o] = '\0';
    return o;
}

/* Read a whole file into lines (the buffer is modified; pointers into it). */
static char *slurp_lines(const char *name, char ***lines, size_t *n)
{
    FILE *f = fopen(fixture_path(name), "rb");
    char *buf;
    long sz;
    size_t cap = 1024;
    if (!f) { fprintf(stderr, "cannot open %s\n", fixture_path(name)); return NULL; }
    fseek(f, 0, SEEK_END);
    sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)sz + 1);
    if (!buf || fread(buf, 1, (size_t)sz, f) != (size_t)sz) { fclose(f); free(buf); return NULL; }
    fclose(f);
    buf[sz] = '\0';
    *n = 0;
    *lines = malloc(cap * sizeof **lines);
    for (char *p = buf; *p;) {
        char *e = strchr(p, '\n');
        if (e) *e = '\0';
        if (*n == cap) *lines = realloc(*lines, (cap *= 2) * sizeof **lines);
        (*lines)[(*n)++] = p;
        if (!e) break;
        p = e + 1;
    }
    return buf;
}

/* Split a line at tabs into at most max fields; returns the count. */
static int fields(char *line, char **f, int max)
{
    int n = 0;
    f[n++] = line;
    for (char *p = line; *p && n < max; p++)
        if (*p == '\t') { *p = '\0'; f[n++] = p + 1; }
    return n;
}

struct fixture_vocab {
    wrk_vocab_desc d;
    char **vl, **ml, *vbuf, *mbuf;
    const char **toks;
    float *scores;
    int32_t *types;
};

void fixture_vocab_free(fixture_vocab *v)
{
    if (!v) return;
    free(v->toks);
    free(v->scores);
    free(v->types);
    free(v->vl);
    free(v->ml);
    free(v->vbuf);
    free(v->mbuf);
    free(v);
}

fixture_vocab *fixture_vocab_load(const char *vocab, const wrk_vocab_desc **desc)
{
    fixture_vocab *v = calloc(1, sizeof *v);
    size_t nv = 0, nm = 0, first = 0;
    int is_l2 = strcmp(vocab, "llama2") == 0, is_l3 = strcmp(vocab, "llama3") == 0;
    char name[64];
    uint32_t n_vocab;

    wrk_vocab_desc_init(&v->d);
    snprintf(name, sizeof name, "%s_vocab.tsv", vocab);
    if (!(v->vbuf = slurp_lines(name, &v->vl, &nv))) goto fail;
    if (!is_l2) {
        snprintf(name, sizeof name, "%s_merges.txt", vocab);
        if (!(v->mbuf = slurp_lines(name, &v->ml, &nm))) goto fail;
    }
    n_vocab = (uint32_t)nv;
    if (is_l3) { n_vocab = (uint32_t)strtoul(v->vl[0], NULL, 10); first = 1; }
    v->toks = calloc(n_vocab, sizeof *v->toks);
    v->scores = calloc(n_vocab, sizeof *v->scores);
    v->types = calloc(n_vocab, sizeof *v->types);
    /* Ids the sparse Llama 3 fixture leaves out are empty and unused. */
    for (uint32_t i = 0; i < n_vocab; i++) { v->toks[i] = ""; v->types[i] = WRK_TOK_UNUSED; }
    for (size_t i = first; i < nv; i++) {
        char *f[4];
        int nf = fields(v->vl[i], f, is_l2 ? 4 : 3);
        unsigned long id = strtoul(f[0], NULL, 10);
        if (nf != (is_l2 ? 4 : 3) || id >= n_vocab) {
            fprintf(stderr, "%s: bad line %zu\n", vocab, i);
            goto fail;
        }
        v->types[id] = (int32_t)strtol(f[1], NULL, 10);
        if (is_l2) v->scores[id] = strtof(f[2], NULL);
        fixture_unescape(f[nf - 1]);
        v->toks[id] = f[nf - 1];
    }
    v->d.n_tokens = n_vocab;
    v->d.tokens = v->toks;
    v->d.types = v->types;
    v->d.scores = is_l2 ? v->scores : NULL;
    if (is_l2) {
        v->d.model = "llama";
    } else {
        v->d.model = "gpt2";
        v->d.pre = is_l3 ? "llama-bpe" : "gpt2";
        v->d.merges = (const char *const *)v->ml;
        v->d.n_merges = nm;
        if (is_l3) { v->d.bos = 128000; v->d.eos = 128001; v->d.eot = 128009; v->d.add_bos = 1; }
    }
    *desc = &v->d;
    return v;
fail:
    fixture_vocab_free(v);
    return NULL;
}

wrk_tokenizer *fixture_tokenizer(const char *vocab)
{
    const wrk_vocab_desc *d = NULL;
    fixture_vocab *v = fixture_vocab_load(vocab, &d);
    wrk_tokenizer *t = NULL;
    if (!v) return NULL;
    if (wrk_tokenizer_build(d, &t) != 0) {
        fprintf(stderr, "%s: build failed\n", vocab);
        t = NULL;
    }
    fixture_vocab_free(v);
    return t;
}
