/*
 * tokenizer_gguf.c - reading tokenizer.ggml.* from a GGUF file into a wrk_vocab_desc
 * (kept apart from tokenizer.c so code that builds vocabularies by hand needs no GGUF).
 */
#include <stdlib.h>
#include <string.h>

#include "core/wrk_error.h"
#include "gguf/gguf.h"
#include "text/tok_internal.h"

static int64_t opt_id(const gguf_file *f, const char *key)
{
    int64_t v = -1;
    if (gguf_find_key(f, key) < 0 || gguf_get_i64(f, key, &v) != 0) return -1;
    return v;
}

static int opt_bool(const gguf_file *f, const char *key)
{
    int v = 0;
    if (gguf_find_key(f, key) < 0 || gguf_get_bool(f, key, &v) != 0) return -1;
    return v != 0;
}

/* Read a string array into newly allocated pointer and length arrays. */
static int read_strs(const gguf_file *f, const char *key, uint64_t n, const char ***strs,
                     uint64_t **lens)
{
    *strs = calloc(n ? n : 1, sizeof **strs);
    *lens = calloc(n ? n : 1, sizeof **lens);
    if (!*strs || !*lens) return wrk_error(CUDA_ERROR_OUT_OF_MEMORY, "tokenizer: out of memory");
    for (uint64_t i = 0; i < n; i++) {
        (*strs)[i] = gguf_get_arr_str(f, key, i);
        (*lens)[i] = gguf_get_arr_str_len(f, key, i);
        if (!(*strs)[i])
            return wrk_error(CUDA_ERROR_MODEL_LOAD_FAILED, "%s[%llu] unreadable", key,
                             (unsigned long long)i);
    }
    return 0;
}

int wrk_tokenizer_from_gguf(const struct gguf_file *f, wrk_tokenizer **out)
{
    wrk_vocab_desc d;
    enum gguf_type et;
    uint64_t n = 0, nm = 0;
    const char **toks = NULL, **merges = NULL;
    uint64_t *tlens = NULL, *mlens = NULL;
    float *scores = NULL;
    int32_t *types = NULL;
    int rc;

    if (!out) return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "tokenizer: out is NULL");
    *out = NULL;
    if (!f) return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "tokenizer: no GGUF");
    wrk_vocab_desc_init(&d);
    if ((rc = gguf_get_str(f, "tokenizer.ggml.model", &d.model)) != 0) goto fail;
    if (gguf_find_key(f, "tokenizer.ggml.pre") >= 0 &&
        (rc = gguf_get_str(f, "tokenizer.ggml.pre", &d.pre)) != 0)
        goto fail;
    if ((rc = gguf_get_arr_info(f, "tokenizer.ggml.tokens", &et, &n)) != 0) goto fail;
    if (et != GGUF_TYPE_STRING || n == 0 || n > INT32_MAX) {
        rc = wrk_error(CUDA_ERROR_MODEL_LOAD_FAILED,
                       "tokenizer.ggml.tokens: expected a non-empty string array");
        goto fail;
    }
    if ((rc = read_strs(f, "tokenizer.ggml.tokens", n, &toks, &tlens)) != 0) goto fail;
    d.n_tokens = (uint32_t)n;
    d.tokens = toks;
    d.token_lens = tlens;

    if (gguf_find_key(f, "tokenizer.ggml.scores") >= 0) {
        uint64_t ns = 0;
        const void *p;
        if ((rc = gguf_get_arr_info(f, "tokenizer.ggml.scores", &et, &ns)) != 0) goto fail;
        p = gguf_get_arr_data(f, "tokenizer.ggml.scores");
        if (et != GGUF_TYPE_FLOAT32 || ns != n || !p) {
            rc = wrk_error(CUDA_ERROR_MODEL_LOAD_FAILED,
                           "tokenizer.ggml.scores: expected %llu float32",
                           (unsigned long long)n);
            goto fail;
        }
        scores = malloc(n * sizeof *scores);
        if (!scores) goto oom;
        memcpy(scores, p, n * sizeof *scores);   /* the array may be unaligned */
        d.scores = scores;
    }
    if (gguf_find_key(f, "tokenizer.ggml.token_type") >= 0) {
        uint64_t nt = 0;
        const void *p;
        if ((rc = gguf_get_arr_info(f, "tokenizer.ggml.token_type", &et, &nt)) != 0) goto fail;
        p = gguf_get_arr_data(f, "tokenizer.ggml.token_type");
        if ((et != GGUF_TYPE_INT32 && et != GGUF_TYPE_UINT32) || nt != n || !p) {
            rc = wrk_error(CUDA_ERROR_MODEL_LOAD_FAILED,
                           "tokenizer.ggml.token_type: expected %llu int32",
                           (unsigned long long)n);
            goto fail;
        }
        types = malloc(n * sizeof *types);
        if (!types) goto oom;
        memcpy(types, p, n * sizeof *types);
        d.types = types;
    }
    if (gguf_find_key(f, "tokenizer.ggml.merges") >= 0) {
        if ((rc = gguf_get_arr_info(f, "tokenizer.ggml.merges", &et, &nm)) != 0) goto fail;
        if (et != GGUF_TYPE_STRING) {
            rc = wrk_error(CUDA_ERROR_MODEL_LOAD_FAILED,
                           "tokenizer.ggml.merges: expected a string array");
            goto fail;
        }
        if ((rc = read_strs(f, "tokenizer.ggml.merges", nm, &merges, &mlens)) != 0) goto fail;
        d.n_merges = nm;
        d.merges = merges;
        d.merge_lens = mlens;
    }
    d.bos = opt_id(f, "tokenizer.ggml.bos_token_id");
    d.eos = opt_id(f, "tokenizer.ggml.eos_token_id");
    d.unk = opt_id(f, "tokenizer.ggml.unknown_token_id");
    d.pad = opt_id(f, "tokenizer.ggml.padding_token_id");
    d.eot = opt_id(f, "tokenizer.ggml.eot_token_id");
    d.eom = opt_id(f, "tokenizer.ggml.eom_token_id");
    d.add_bos = opt_bool(f, "tokenizer.ggml.add_bos_token");
    d.add_eos = opt_bool(f, "tokenizer.ggml.add_eos_token");
    d.add_space_prefix = opt_bool(f, "tokenizer.ggml.add_space_prefix");
    rc = wrk_tokenizer_build(&d, out);
    goto done;
oom:
    rc = wrk_error(CUDA_ERROR_OUT_OF_MEMORY, "tokenizer: out of memory");
fail:
    if (rc == CUDA_ERROR_MODEL_LOAD_FAILED || rc == 0) {
        rc = CUDA_ERROR_MODEL_LOAD_FAILED;
    }
    wrk_error_prefix("tokenizer: ");
done:
    free(toks);
    free(tlens);
    free(merges);
    free(mlens);
    free(scores);
    free(types);
    return rc;
}
