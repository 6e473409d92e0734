/*
 * ops_check.c - argument checks shared by the host and CUDA kernel sets, so both backends
 * reject the same calls with the same detail. Everything here is untrusted input from a
 * plugin: nothing is dereferenced except the tensor descriptor and the (host) ids.
 */
#include "config.h"

#include <math.h>

#include "core/wrk_error.h"
#include "gguf/quant.h"
#include "ops/ops_internal.h"

/* Check that w is a matrix of a supported type whose rows are whole blocks and whose byte
 * size covers ne[0] x ne[1] elements. what names the operation in the detail. */
static int check_matrix(const wp_tensor *w, const char *what)
{
    if (!w || !w->data)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "%s: NULL weight tensor", what);
    const char *name = w->name ? w->name : "(unnamed)";
    if (!wrk_dtype_supported(w->type))
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "%s: tensor %s has unsupported type %s (%u)",
                         what, name, wrk_dtype_name(w->type), w->type);
    if (w->n_dims < 1 || w->n_dims > 4 || w->ne[0] == 0 || w->ne[1] == 0 ||
        w->ne[0] > INT32_MAX || w->ne[1] > INT32_MAX)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                         "%s: tensor %s has bad shape [%llu, %llu] (n_dims %u)", what, name,
                         (unsigned long long)w->ne[0], (unsigned long long)w->ne[1], w->n_dims);
    uint64_t rb = wrk_dtype_row_bytes(w->type, w->ne[0]);
    if (rb == 0)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                         "%s: tensor %s: row of %llu elements is not a whole number of %s "
                         "blocks of %u", what, name, (unsigned long long)w->ne[0],
                         wrk_dtype_name(w->type), wrk_dtype_block_elems(w->type));
    if (w->nbytes < rb * w->ne[1])
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                         "%s: tensor %s holds %llu bytes, its shape [%llu, %llu] of %s needs "
                         "%llu", what, name, (unsigned long long)w->nbytes,
                         (unsigned long long)w->ne[0], (unsigned long long)w->ne[1],
                         wrk_dtype_name(w->type), (unsigned long long)(rb * w->ne[1]));
    return 0;
}

uint64_t wrk_ops_row_bytes(const wp_tensor *w)
{
    return wrk_dtype_row_bytes(w->type, w->ne[0]);
}

int wrk_ops_check_matmul(const wp_tensor *w, const float *x, const float *y, int n)
{
    int rc = check_matrix(w, "matmul");
    if (rc)
        return rc;
    if (n < 0)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "matmul: negative n %d", n);
    if (n > 0 && (!x || !y))
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "matmul %s: NULL x or y",
                         w->name ? w->name : "(unnamed)");
    return 0;
}

int wrk_ops_check_get_rows(const wp_tensor *table, const int32_t *ids, int n,
                           const float *out)
{
    int rc = check_matrix(table, "get_rows");
    if (rc)
        return rc;
    if (n < 0)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "get_rows: negative n %d", n);
    if (n > 0 && (!ids || !out))
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "get_rows: NULL ids or out");
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || (uint64_t)ids[i] >= table->ne[1])
            return wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                             "get_rows %s: id %d at index %d is outside [0, %llu)",
                             table->name ? table->name : "(unnamed)", ids[i], i,
                             (unsigned long long)table->ne[1]);
    return 0;
}

int wrk_ops_check_attention(const wp_attention_params *p, const float *q, const float *k,
                            const float *v, const float *k_cache, const float *v_cache,
                            const float *out)
{
    if (!p)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "attention: NULL params");
    if (p->n_tokens < 1 || p->pos < 0 || p->n_heads < 1 || p->n_kv_heads < 1 ||
        p->head_dim < 1 || p->n_ctx < 1 || p->n_heads % p->n_kv_heads != 0 ||
        (int64_t)p->pos + p->n_tokens > p->n_ctx || !isfinite(p->scale))
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                         "attention: bad parameters n_tokens %d pos %d n_heads %d n_kv_heads %d "
                         "head_dim %d n_ctx %d scale %g (need n_tokens >= 1, pos >= 0, "
                         "pos + n_tokens <= n_ctx, n_heads a multiple of n_kv_heads)",
                         p->n_tokens, p->pos, p->n_heads, p->n_kv_heads, p->head_dim, p->n_ctx,
                         (double)p->scale);
    if (!q || !k || !v || !k_cache || !v_cache || !out)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "attention: NULL buffer");
    return 0;
}

int wrk_ops_check_rms_norm(const float *x, const float *weight, const float *out, int n_rows,
                           int width, float eps)
{
    if (n_rows < 0 || width < 1 || !(eps >= 0.0f) || !isfinite(eps))
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                         "rms_norm: bad shape n_rows %d width %d or eps %g", n_rows, width,
                         (double)eps);
    if (n_rows > 0 && (!x || !weight || !out))
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "rms_norm: NULL buffer");
    return 0;
}
