/*
 * l2c_fixture.c - random llama2.c checkpoints for the converter tests (see l2c_fixture.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "l2c_fixture.h"

static uint32_t rng_next(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(*s >> 33);
}

static float rng_f(uint64_t *s)
{
    return (float)rng_next(s) / 2147483648.0f - 1.0f;   /* [-1, 1) from 31 bits */
}

size_t l2c_fixture_offset(const l2c_fixture *f, const char *which)
{
    size_t dim = (size_t)f->dim, hid = (size_t)f->hidden, L = (size_t)f->n_layers;
    size_t kv = dim / (size_t)f->n_heads * (size_t)f->n_kv_heads, v = (size_t)f->vocab;
    size_t sizes[12] = { v * dim, L * dim, L * dim * dim, L * kv * dim, L * kv * dim,
                         L * dim * dim, L * dim, L * hid * dim, L * dim * hid, L * hid * dim,
                         dim, 0 };
    static const char *const names[12] = { "emb", "rms_att", "wq", "wk", "wv", "wo",
                                            "rms_ffn", "w1", "w2", "w3", "rms_final", "wcls" };
    size_t off = 0;
    for (int i = 0; i < 12; i++) {
        if (i == 11 && f->with_rope)
            off += (size_t)f->seq_len * (dim / (size_t)f->n_heads);
        if (strcmp(names[i], which) == 0) return off;
        off += sizes[i];
    }
    return (size_t)-1;
}

void l2c_fixture_make(l2c_fixture *f, unsigned seed)
{
    uint64_t s = seed * 2654435761ull + 1;
    size_t n = l2c_fixture_offset(f, "wcls");
    if (!f->tied) n += (size_t)f->vocab * (size_t)f->dim;
    f->n_weights = n;
    f->weights = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) f->weights[i] = rng_f(&s);

    f->tok = calloc((size_t)f->vocab, sizeof *f->tok);
    f->tok_len = calloc((size_t)f->vocab, sizeof *f->tok_len);
    f->score = calloc((size_t)f->vocab, sizeof *f->score);
    for (int32_t i = 0; i < f->vocab; i++) {
        char buf[32];
        if (i == 0) snprintf(buf, sizeof buf, "<unk>");
        else if (i == 1) snprintf(buf, sizeof buf, "\n<s>\n");
        else if (i == 2) snprintf(buf, sizeof buf, "\n</s>\n");
        else if (i < 259) snprintf(buf, sizeof buf, "<0x%02X>", (unsigned)(i - 3));
        else {
            /* Distinct merges: an optional leading space, letters, the id for uniqueness. */
            int len = 1 + (int)(rng_next(&s) % 4), k = 0;
            if (rng_next(&s) % 2) buf[k++] = ' ';
            for (int j = 0; j < len; j++) buf[k++] = (char)('a' + rng_next(&s) % 26);
            k += snprintf(buf + k, sizeof buf - (size_t)k, "%d", i);
            if (rng_next(&s) % 5 == 0) buf[k++] = ' ';   /* inner/trailing spaces too */
            buf[k] = '\0';
        }
        f->tok[i] = strdup(buf);
        f->tok_len[i] = (int32_t)strlen(buf);
        f->score[i] = i < 259 ? 0.0f : rng_f(&s) * 100.0f;
    }
}

void l2c_fixture_free(l2c_fixture *f)
{
    for (int32_t i = 0; f->tok && i < f->vocab; i++) free(f->tok[i]);
    free(f->tok);
    free(f->tok_len);
    free(f->score);
    free(f->weights);
}

int l2c_fixture_write_model(const l2c_fixture *f, const char *path)
{
    int32_t hdr[7] = { f->dim, f->hidden, f->n_layers, f->n_heads, f->n_kv_heads,
                       f->tied ? f->vocab : -f->vocab, f->seq_len };
    FILE *fp = fopen(path, "wb");
    int ok;
    if (!fp) return -1;
    ok = fwrite(hdr, sizeof hdr, 1, fp) == 1 &&
         fwrite(f->weights, sizeof(float), f->n_weights, fp) == f->n_weights;
    return fclose(fp) == 0 && ok ? 0 : -1;
}

int l2c_fixture_write_tokenizer(const l2c_fixture *f, const char *path)
{
    int32_t max_len = 0;
    FILE *fp = fopen(path, "wb");
    int ok;
    if (!fp) return -1;
    for (int32_t i = 0; i < f->vocab; i++)
        if (f->tok_len[i] > max_len) max_len = f->tok_len[i];
    ok = fwrite(&max_len, 4, 1, fp) == 1;
    for (int32_t i = 0; ok && i < f->vocab; i++)
        ok = fwrite(&f->score[i], 4, 1, fp) == 1 && fwrite(&f->tok_len[i], 4, 1, fp) == 1 &&
             fwrite(f->tok[i], 1, (size_t)f->tok_len[i], fp) == (size_t)f->tok_len[i];
    return fclose(fp) == 0 && ok ? 0 : -1;
}
