/*
 * tok_internal.h - the tokenizer's internals, shared by tokenizer*.c and tok_*.c, and by
 * the tests (which build vocabularies without a GGUF file through wrk_tokenizer_build).
 */
#ifndef WRK_TOK_INTERNAL_H
#define WRK_TOK_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "text/tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

/* tokenizer.ggml.token_type values (llama.cpp / gguf-py numbering). */
enum wrk_tok_type {
    WRK_TOK_UNDEFINED = 0, WRK_TOK_NORMAL = 1, WRK_TOK_UNKNOWN = 2, WRK_TOK_CONTROL = 3,
    WRK_TOK_USER_DEFINED = 4, WRK_TOK_UNUSED = 5, WRK_TOK_BYTE = 6
};

enum wrk_tok_kind { WRK_TOKENIZER_SPM = 1, WRK_TOKENIZER_BPE = 2 };

/** Everything a tokenizer is built from: tokenizer.ggml.* as plain arrays. Optional fields
 *  are NULL / -1 (ids, flags: "use the kind's default"). */
typedef struct wrk_vocab_desc {
    const char *model;            /* "llama" or "gpt2" */
    const char *pre;              /* tokenizer.ggml.pre or NULL ("default") */
    uint32_t n_tokens;
    const char *const *tokens;
    const uint64_t *token_lens;   /* NULL: NUL-terminated */
    const float *scores;          /* NULL: all 0 */
    const int32_t *types;         /* NULL: all normal */
    uint64_t n_merges;
    const char *const *merges;    /* "left right" */
    const uint64_t *merge_lens;   /* NULL: NUL-terminated */
    int64_t bos, eos, unk, pad, eot, eom;   /* -1 = absent/default */
    int add_bos, add_eos, add_space_prefix; /* -1 = default of the kind */
} wrk_vocab_desc;

/** A descriptor with every optional field set to "absent". */
void wrk_vocab_desc_init(wrk_vocab_desc *d);

/** Build a tokenizer; 0 or CUDA_ERROR_MODEL_LOAD_FAILED / OUT_OF_MEMORY + detail. */
int wrk_tokenizer_build(const wrk_vocab_desc *d, wrk_tokenizer **out);

/* ---- string -> int32 hash map (keys are not copied; they must outlive the map) ---- */
typedef struct wrk_strmap {
    const char **keys;
    uint32_t *lens;
    int32_t *vals;
    size_t cap;     /* power of two; 0 = empty */
    size_t count;
} wrk_strmap;

int wrk_strmap_init(wrk_strmap *m, size_t expected);
void wrk_strmap_free(wrk_strmap *m);
/** Insert unless present (the first insertion wins, as llama.cpp's token_to_id). */
void wrk_strmap_put(wrk_strmap *m, const char *key, size_t len, int32_t val);
/** Value or -1. */
int32_t wrk_strmap_get(const wrk_strmap *m, const char *key, size_t len);

/* ---- growable id vector ---- */
typedef struct wrk_idvec {
    int32_t *v;
    size_t n, cap;
} wrk_idvec;

int wrk_idvec_push(wrk_idvec *iv, int32_t id);



struct wrk_tokenizer {
    int kind;
    char model[16];
    char pre[32];
    uint32_t n_vocab;
    char *arena;                 /* all token texts and pieces */
    const char **text;           /* raw token text (as in the GGUF) */
    uint32_t *text_len;
    const char **piece;          /* decoded bytes */
    uint32_t *piece_len;
    float *scores;
    uint8_t *types;
    uint8_t *eog;                /* 1 per id that ends generation */
    wrk_strmap tok_map;          /* text -> id */
    wrk_strmap merge_map;        /* "left right" -> rank (BPE) */
    char *merge_arena;
    int32_t *special;            /* control + user-defined ids, longest text first */
    size_t n_special;
    int32_t byte_tok[256];       /* byte -> token id (SPM <0xNN>, BPE byte char), -1 */
    char byte_chr[256][3];       /* BPE: byte -> its unicode stand-in (UTF-8) */
    uint8_t byte_chr_len[256];
    int16_t byte_rev[512];       /* BPE: stand-in code point -> byte, -1 */
    int32_t bos, eos, unk, pad;
    int add_bos, add_eos, add_space_prefix, ignore_merges;
    void *re;                    /* BPE pre-tokenizer (pcre2_code *) */
};

/** Encode one raw-text fragment (valid UTF-8) and append the ids. */
int wrk_spm_encode(const wrk_tokenizer *t, const char *text, size_t len, int prefix_space,
                   wrk_idvec *out);
int wrk_bpe_encode(const wrk_tokenizer *t, const char *text, size_t len, wrk_idvec *out);
/** Set up the BPE parts (byte map, merges, regex for t->pre). */
int wrk_bpe_init(wrk_tokenizer *t, const wrk_vocab_desc *d);
void wrk_bpe_fini(wrk_tokenizer *t);

/* Candidate merges of adjacent symbols, kept in a binary heap: the highest priority first,
 * then the leftmost pair (SentencePiece: priority = score; BPE: priority = -merge rank). */
typedef struct wrk_bigram {
    int left, right;
    double prio;
    size_t size;        /* bytes of the merged symbol when the pair was queued */
} wrk_bigram;

typedef struct wrk_bigram_heap {
    wrk_bigram *v;
    size_t n, cap;
} wrk_bigram_heap;

/* 0, or -1 when out of memory. */
int wrk_bigram_push(wrk_bigram_heap *h, wrk_bigram b);
/* The best pair; h must not be empty. */
wrk_bigram wrk_bigram_pop(wrk_bigram_heap *h);

#ifdef __cplusplus
}
#endif
#endif
