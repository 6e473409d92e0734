/*
 * bench_model.h - the benchmark models of issue 8: llama-shaped GGUFs with random weights.
 *
 * bench_recipe.c: the shapes (1b = Llama-3.2-1B, 8b = Llama-3-8B, custom) and which type
 * each tensor gets in f16 / q8_0 / q4_k_m (llama.cpp's recipe). bench_vocab.c: a byte-level
 * "gpt2" vocabulary of the shape's size. make_bench_model.c: random values, parallel
 * quantization and the streamed file.
 */
#ifndef BENCH_MODEL_H
#define BENCH_MODEL_H

#include <stdint.h>

#include "gguf_stream.h"

typedef struct bench_shape {
    char name[32];
    uint32_t dim, n_layers, n_heads, n_kv_heads, ffn, vocab, ctx;
    float rope_base;
    int tied;             /* 1: no output.weight, the embedding is the output matrix */
} bench_shape;

enum bench_ftype { BENCH_F16, BENCH_Q8_0, BENCH_Q4_K_M };

/** "1b", "8b" or "custom:dim,layers,heads,kv,ffn,vocab[,tied]"; 0 or
 *  CUDA_ERROR_INVALID_PARAMETER + detail. */
int bench_shape_parse(const char *text, bench_shape *out);
/** "f16", "q8_0", "q4_k_m"; -1 when unknown. */
int bench_ftype_parse(const char *text);
const char *bench_ftype_name(int ftype);
/** general.file_type of llama.cpp (1, 7, 15). */
uint32_t bench_ftype_file_type(int ftype);

/** Fill out[] (room for GS_MAX_TENSORS) with every tensor of the model in file order, with
 *  the recipe's types; *n set. Types fall back (as llama.cpp does) when a row length is
 *  not a multiple of the block: K types to Q8_0, Q8_0 to F16. */
int bench_tensors(const bench_shape *s, int ftype, gs_tensor *out, uint32_t *n);

/** llama.cpp's use_more_bits: first and last eighth of the layers and every third between. */
int bench_use_more_bits(uint32_t i_layer, uint32_t n_layers);

/** The vocabulary: n strings (with lengths) and token types; bos/eos ids. Free with
 *  bench_vocab_free. 0 or error + detail (vocab must be >= 260). */
typedef struct bench_vocab {
    uint32_t n;
    char **text;
    uint32_t *len;
    int32_t *type;
    uint32_t bos, eos;
} bench_vocab;

int bench_vocab_make(uint32_t n, bench_vocab *v);
void bench_vocab_free(bench_vocab *v);

#endif
