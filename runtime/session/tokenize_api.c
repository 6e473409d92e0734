/*
 * tokenize_api.c - worker_tokenize / worker_detokenize: the model's tokenizer behind the
 * public API (worker_ext.h).
 */
#include <stdlib.h>
#include <string.h>

#include "core/wrk_api.h"
#include "core/wrk_context.h"
#include "core/wrk_error.h"
#include "text/tok_internal.h"
#include "text/utf8.h"


WRK_API int worker_tokenize(const CudaModel *model, const char *text, int add_special,
                            int32_t *tokens, size_t cap, size_t *n_tokens)
{
    size_t n = 0;
    int rc;

    wrk_error_clear();
    if (n_tokens) *n_tokens = 0;
    if (!model || !model->tokenizer || !text || !n_tokens)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "tokenize: %s is NULL",
                         !model ? "model" : !model->tokenizer ? "the model's tokenizer" :
                         !text ? "text" : "n_tokens");
    if (cap > 0 && !tokens)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "tokenize: tokens is NULL, cap %zu", cap);
    rc = wrk_tokenize(model->tokenizer, text, strlen(text), add_special != 0, tokens, cap, &n);
    *n_tokens = n;
    return rc;
}

/*
 * Pieces are concatenated (control tokens give nothing); an SPM vocabulary that prepends
 * a space when encoding gets one leading space removed, so detokenize(tokenize(x)) == x.
 * Invalid UTF-8 (e.g. an unpaired byte token) becomes U+FFFD.
 */
WRK_API int worker_detokenize(const CudaModel *model, const int32_t *tokens, size_t n_tokens,
                              char *out, size_t cap, size_t *needed)
{
    const wrk_tokenizer *t;
    size_t total = 0, o = 0, clen = 0;
    char *raw, *clean;
    int first = 1;

    wrk_error_clear();
    if (needed) *needed = 0;
    if (out && cap) out[0] = '\0';
    if (!model || !model->tokenizer || (!tokens && n_tokens) || !needed)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "detokenize: %s is NULL",
                         !model ? "model" : !model->tokenizer ? "the model's tokenizer" :
                         !needed ? "needed" : "tokens");
    t = model->tokenizer;
    for (size_t i = 0; i < n_tokens; i++) {
        size_t len = 0;
        if (tokens[i] < 0 || (uint32_t)tokens[i] >= t->n_vocab)
            return wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                             "detokenize: token %zu is id %d, outside 0..%u", i, tokens[i],
                             t->n_vocab - 1);
        wrk_token_piece(t, tokens[i], 0, &len);
        total += len;
    }
    raw = malloc(total + 1);
    if (!raw) return wrk_error(CUDA_ERROR_OUT_OF_MEMORY, "detokenize: out of memory");
    for (size_t i = 0; i < n_tokens; i++) {
        size_t len = 0;
        const char *p = wrk_token_piece(t, tokens[i], 0, &len);
        if (len == 0) continue;
        if (first && t->kind == WRK_TOKENIZER_SPM && t->add_space_prefix && p[0] == ' ') {
            p++;
            len--;
        }
        first = 0;
        memcpy(raw + o, p, len);
        o += len;
    }
    clean = wrk_utf8_sanitize(raw, o, &clen);
    free(raw);
    if (!clean) return wrk_error(CUDA_ERROR_OUT_OF_MEMORY, "detokenize: out of memory");
    *needed = clen;
    if (!out || cap < clen + 1) {
        free(clean);
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                         "detokenize: %zu bytes needed (with NUL), room for %zu", clen + 1, cap);
    }
    memcpy(out, clean, clen + 1);
    free(clean);
    return 0;
}
