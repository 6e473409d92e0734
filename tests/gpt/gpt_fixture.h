/*
 * gpt_fixture.h - random GPT-2 models written as GGUF by our writer, and a naive C forward
 * pass over the very values the file holds (the test-side oracle; shares nothing with the
 * plugin).
 */
#ifndef GPT_FIXTURE_H
#define GPT_FIXTURE_H

#include <stdint.h>

typedef struct gpt_shape {
    const char *name;
    int n_embd, n_head, n_layer, n_ff, n_vocab, n_ctx;
    int tied;
    uint32_t wtype;   /* enum wp_dtype of the matrices (vectors stay F32) */
} gpt_shape;

/** Weights as the file holds them, dequantized to fp32. Matrices [out][in] row-major. */
typedef struct gpt_ref {
    gpt_shape s;
    float *tok, *pos, *out;      /* out == tok when tied */
    float *lnf_w, *lnf_b;
    struct gpt_ref_layer {
        float *ln1_w, *ln1_b, *qkv, *qkv_b, *o, *o_b, *ln2_w, *ln2_b, *up, *up_b, *down,
            *down_b;
    } *L;
} gpt_ref;

/** Write a random model of shape s to path (seeded), filling ref with what was written.
 *  omit: a tensor name to leave out (NULL: none), for error tests. 0 or -1. */
int gpt_fixture_write(const gpt_shape *s, unsigned seed, const char *path, gpt_ref *ref,
                      const char *omit);
void gpt_ref_free(gpt_ref *ref);

/** Reference logits for tokens[0..n): out[n][n_vocab] (double accumulation). */
void gpt_ref_forward(const gpt_ref *ref, const int32_t *tokens, int n, float *out);

#endif
