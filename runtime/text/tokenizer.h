/*
 * tokenizer.h - tokenizers built from GGUF metadata (tokenizer.ggml.*), for every plugin.
 *
 * Kinds: "llama" (SentencePiece BPE with scores, byte fallback <0xNN>, leading-space
 * handling with U+2581) and "gpt2" (byte-level BPE with merges; the pre-tokenizer regex is
 * chosen by tokenizer.ggml.pre: default/gpt2, llama-bpe, qwen2, run with PCRE2).
 * Control and user-defined tokens written in the text are matched before BPE.
 */
#ifndef WRK_TOKENIZER_H
#define WRK_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct gguf_file;
typedef struct wrk_tokenizer wrk_tokenizer;

/** Build from f's metadata; 0 or CUDA_ERROR_MODEL_LOAD_FAILED + detail. */
int wrk_tokenizer_from_gguf(const struct gguf_file *f, wrk_tokenizer **out);
void wrk_tokenizer_free(wrk_tokenizer *t);

const char *wrk_tokenizer_kind(const wrk_tokenizer *t);   /* "llama", "gpt2" */
uint32_t wrk_tokenizer_vocab_size(const wrk_tokenizer *t);
int32_t wrk_tokenizer_bos(const wrk_tokenizer *t);        /* -1 when none */
int32_t wrk_tokenizer_eos(const wrk_tokenizer *t);        /* -1 when none */
/** 1 when id ends generation (EOS, EOT, or another end-of-generation control token). */
int wrk_tokenizer_is_eog(const wrk_tokenizer *t, int32_t id);

/**
 * Encode UTF-8 text (invalid bytes handled as the reference does). add_special: add BOS
 * (and EOS) as tokenizer.ggml.add_bos_token/add_eos_token say. Writes up to cap ids, sets
 * *n to the number produced; returns CUDA_ERROR_INVALID_PARAMETER (detail with the needed
 * count) when cap is too small.
 */
int wrk_tokenize(const wrk_tokenizer *t, const char *text, size_t len, int add_special,
                 int32_t *ids, size_t cap, size_t *n);

/** The raw bytes a token stands for (byte tokens decoded, U+2581 -> space); control
 *  tokens give "" unless render_special. Pointer valid while t lives; *len set. */
const char *wrk_token_piece(const wrk_tokenizer *t, int32_t id, int render_special,
                            size_t *len);

/** Look up a token by its exact text; -1 when absent. */
int32_t wrk_token_lookup(const wrk_tokenizer *t, const char *text, size_t len);

#ifdef __cplusplus
}
#endif
#endif
