/*
 * llama_testutil.h - helpers of the llama plugin tests: random llama/qwen2 models written as
 * GGUF (through runtime/gguf/gguf_writer.h), an independent double-precision forward pass of
 * the same model (HF layout: un-permuted q/k, rotate-half RoPE) as the oracle, and runners
 * that load a GGUF through the runtime and call the plugin's forward directly.
 */
#ifndef LLAMA_TESTUTIL_H
#define LLAMA_TESTUTIL_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

#include "check_run.h" /* check_run_suite: the end of every llama test main() */
#include "core/wrk_context.h"
#include "plugin/registry.h"
#include "session/session.h"

/** Shape of a random model. rope_dim 0: the key is not written (plugin uses head_dim). */
typedef struct lt_spec {
    const char *arch;    /* "llama" or "qwen2" */
    uint32_t d, n_head, n_head_kv, ff, n_layer, vocab, rope_dim, ctx;
    float rope_base, eps;
    int tied, biases;
    float rope_linear;    /* > 0: rope.scaling.type "linear" with this factor */
    int freq_factors;     /* 1: a rope_freqs.weight tensor (llama3-style) */
    const char *rope_scaling_type; /* written as is when set (error tests) */
} lt_spec;

typedef struct lt_layer {
    float *an, *wq, *wk, *wv, *bq, *bk, *bv, *wo, *fn, *wg, *wu, *wd;
} lt_layer;

/** Weights in HF orientation: matrices [out][in] row-major fp32. */
typedef struct lt_weights {
    lt_spec s;
    uint32_t hd;          /* head dim */
    float *embd;          /* [vocab][d] */
    float *out;           /* [vocab][d]; == embd when tied */
    float *out_norm;      /* [d] */
    float *rope_freqs;    /* [rope_dim/2] or NULL */
    lt_layer *L;
} lt_weights;

/** Options of lt_write_gguf for error-path tests. */
typedef struct lt_write_opts {
    const char *misshape;  /* tensor written with ne[1] + 1 rows (or ne[0] + 1 when 1-D) */
    const char *omit;      /* tensor left out */
} lt_write_opts;

lt_weights *lt_weights_random(const lt_spec *s, uint64_t seed);
void lt_weights_free(lt_weights *w);
/** Replace every matrix by what a file of type holds (quantize + dequantize row by row), so
 *  the oracle sees exactly the stored weights. Norms and biases stay fp32. */
void lt_weights_round(lt_weights *w, uint32_t type);
/** Write w as a GGUF with matrices of type (llama: q/k rows permuted as llama.cpp's
 *  converter does). opts may be NULL. Returns 0 or an error code. */
int lt_write_gguf(const lt_weights *w, uint32_t type, const char *path,
                  const lt_write_opts *opts);
/** Oracle: logits [n][vocab] of tokens at positions 0..n-1, double precision inside. */
void lt_reference_forward(const lt_weights *w, const int32_t *tok, int n, float *logits);

/** A fresh temporary directory (static storage) and a path inside it. */
const char *lt_tmpdir(void);
const char *lt_path(const char *name);
void lt_rmtree(void);

/** A test case named name with a timeout of timeout_s seconds whose every test ends with
 *  lt_rmtree() (the files it wrote removed). */
TCase *lt_tcase(const char *name, int timeout_s);

/** Open device ("host" or "cuda:0") and load path; asserts success. */
CudaModel *lt_load(const char *device, const char *path, CudaContext **ctx_out);
void lt_unload(CudaModel *m, CudaContext *ctx);
/** Logits of every token: one forward of n tokens (split into chunk-sized calls when
 *  chunk > 0). */
int lt_prefill(CudaModel *m, const int32_t *tok, int n, int chunk, float *logits);
/** Logits of every token, one forward per token. */
int lt_decode(CudaModel *m, const int32_t *tok, int n, float *logits);
/** Greedy continuation of n_gen tokens after prompt (prefill, then one token at a time). */
int lt_greedy(CudaModel *m, const int32_t *prompt, int n, int n_gen, int32_t *out);
/** The same through the plugin's forward_greedy (ABI 1.2) after the prompt: the ids
 *  chosen on the backend. */
int lt_greedy_device(CudaModel *m, const int32_t *prompt, int n, int n_gen, int32_t *out);
/** Greedy decoding on the device vs on the host for a random model of spec s with
 *  matrices of type on device ("host" or "cuda:0"): forward_greedy's ids equal forward's
 *  argmax token by token, and a temperature-0 session gives the same text with
 *  WORKER_DEVICE_GREEDY=0 and =1, taking the device path only with =1. */
void lt_check_device_greedy(const char *device, const lt_spec *s, uint32_t type,
                            uint64_t seed);
/** ||a - b|| / ||b|| in double. */
double lt_rel_err(const float *a, const float *b, size_t n);
/** Random tokens in [3, vocab) after BOS (1). */
void lt_random_tokens(int32_t *tok, int n, uint32_t vocab, uint64_t seed);
/** 1 when a CUDA device is usable. */
int lt_have_gpu(void);

#endif
