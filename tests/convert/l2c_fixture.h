/*
 * l2c_fixture.h - write random llama2.c checkpoints and tokenizers for the converter tests.
 */
#ifndef L2C_FIXTURE_H
#define L2C_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

typedef struct l2c_fixture {
    int32_t dim, hidden, n_layers, n_heads, n_kv_heads, vocab, seq_len;
    int tied;
    int with_rope;       /* write the unused RoPE tables (required when untied) */
    float *weights;      /* all arrays after the header, in file order */
    size_t n_weights;
    /* tokenizer */
    char **tok;          /* llama2.c texts (plain spaces) */
    int32_t *tok_len;
    float *score;
} l2c_fixture;

/** Random shapes-given fixture: random weights in [-1, 1), a vocabulary of <unk>,
 *  "\n<s>\n", "\n</s>\n", 256 byte tokens, then random merges (some with spaces). */
void l2c_fixture_make(l2c_fixture *f, unsigned seed);
void l2c_fixture_free(l2c_fixture *f);
/** Write the checkpoint / tokenizer; 0 or -1. */
int l2c_fixture_write_model(const l2c_fixture *f, const char *path);
int l2c_fixture_write_tokenizer(const l2c_fixture *f, const char *path);
/** Offset (in floats, from the first array) of a named stacked array: "emb", "rms_att",
 *  "wq", "wk", "wv", "wo", "rms_ffn", "w1", "w2", "w3", "rms_final", "wcls". */
size_t l2c_fixture_offset(const l2c_fixture *f, const char *which);

#endif
