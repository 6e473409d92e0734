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

wrk_tokenizer *fixture_tokenizer(const char *vocab)
{
    wrk_vocab_desc d;
    wrk_tokenizer *t = NULL;
    char **vl = NULL, **ml = NULL, *vbuf = NULL, *mbuf = NULL;
    size_t nv = 0, nm = 0, first = 0;
    const char **toks = NULL;
    float *scores = NULL;
    int32_t *types = NULL;
    int is_l2 = strcmp(vocab, "llama2") == 0, is_l3 = strcmp(vocab, "llama3") == 0;
    char name[64];
    uint32_t n_vocab;

    wrk_vocab_desc_init(&d);
    snprintf(name, sizeof name, "%s_vocab.tsv", vocab);
    if (!(vbuf = slurp_lines(name, &vl, &nv))) goto done;
    if (!is_l2) {
        snprintf(name, sizeof name, "%s_merges.txt", vocab);
        if (!(mbuf = slurp_lines(name, &ml, &nm))) goto done;
    }
    n_vocab = (uint32_t)nv;
    if (is_l3) { n_vocab = (uint32_t)strtoul(vl[0], NULL, 10); first = 1; }
    toks = calloc(n_vocab, sizeof *toks);
    scores = calloc(n_vocab, sizeof *scores);
    types = calloc(n_vocab, sizeof *types);
    for (uint32_t i = 0; i < n_vocab; i++) { toks[i] = ""; types[i] = WRK_TOK_UNUSED; }
    for (size_t i = first; i < nv; i++) {
        char *f[4];
        int nf = fields(vl[i], f, is_l2 ? 4 : 3);
        unsigned long id = strtoul(f[0], NULL, 10);
        if (nf != (is_l2 ? 4 : 3) || id >= n_vocab) {
            fprintf(stderr, "%s: bad line %zu\n", vocab, i);
            goto done;
        }
        types[id] = (int32_t)strtol(f[1], NULL, 10);
        if (is_l2) scores[id] = strtof(f[2], NULL);
        fixture_unescape(f[nf - 1]);
        toks[id] = f[nf - 1];
    }
    d.n_tokens = n_vocab;
    d.tokens = toks;
    d.types = types;
    d.scores = is_l2 ? scores : NULL;
    if (is_l2) {
        d.model = "llama";
    } else {
        d.model = "gpt2";
        d.pre = is_l3 ? "llama-bpe" : "gpt2";
        d.merges = (const char *const *)ml;
        d.n_merges = nm;
        if (is_l3) { d.bos = 128000; d.eos = 128001; d.eot = 128009; d.add_bos = 1; }
    }
    if (wrk_tokenizer_build(&d, &t) != 0) {
        fprintf(stderr, "%s: build failed\n", vocab);
        t = NULL;
    }
done:
    free(toks);
    free(scores);
    free(types);
    free(vl);
    free(ml);
    free(vbuf);
    free(mbuf);
    return t;
}
