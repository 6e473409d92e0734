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

int wrk_ops_check_attention_shape(const wp_attention_params *p, int n_tokens, int pos,
                                 const char *what)
{
    if (p->n_heads < 1 || p->n_kv_heads < 1 || p->head_dim < 1 || p->n_ctx < 1 ||
        p->n_heads % p->n_kv_heads != 0 || n_tokens < 1 || pos < 0 ||
        (int64_t)pos + n_tokens > p->n_ctx || !isfinite(p->scale))
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                         "%s: bad parameters n_tokens %d pos %d n_heads %d n_kv_heads %d "
                         "head_dim %d n_ctx %d scale %g (need n_tokens >= 1, pos >= 0, "
                         "pos + n_tokens <= n_ctx, n_heads a multiple of n_kv_heads)",
                         what, n_tokens, pos, p->n_heads, p->n_kv_heads, p->head_dim, p->n_ctx,
                         (double)p->scale);
    return 0;
}

int wrk_ops_check_attention(const wp_attention_params *p, const float *q, const float *k,
                            const float *v, const float *k_cache, const float *v_cache,
                            const float *out)
{
    if (!p)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "attention: NULL params");
    int rc = wrk_ops_check_attention_shape(p, p->n_tokens, p->pos, "attention");
    if (rc)
        return rc;
    if (!q || !k || !v || !k_cache || !v_cache || !out)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "attention: NULL buffer");
    return 0;
}

int wrk_ops_check_attention_decode(const wp_attention_params *p, const int32_t *pos,
                                   const float *q, const float *k, const float *v,
                                   const float *k_cache, const float *v_cache, const float *out,
                                   const void *work, size_t work_bytes)
{
    if (!p)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "attention_decode: NULL params");
    /* one token; its position lives in backend memory and is the caller's to check */
    int rc = wrk_ops_check_attention_shape(p, 1, 0, "attention_decode");
    if (rc)
        return rc;
    if (!pos || !q || !k || !v || !k_cache || !v_cache || !out || (work_bytes && !work))
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "attention_decode: NULL buffer");
    return 0;
}

int wrk_ops_check_attention_decode_work(const wp_attention_params *p, const size_t *bytes)
{
    if (!bytes)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "attention_decode_work: NULL bytes");
    if (!p)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "attention_decode_work: NULL params");
    return wrk_ops_check_attention_shape(p, 1, 0, "attention_decode_work");
}

int wrk_ops_check_matmul_multi(const wp_matmul_part *parts, int count, const float *x, int n,
                               unsigned flags)
{
    if (!parts || count < 1 || count > WP_MATMUL_MAX_PARTS)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                         "matmul_multi: %d parts (need 1..%d)", parts ? count : 0,
                         WP_MATMUL_MAX_PARTS);
    if (flags & ~WP_MATMUL_ACCUMULATE)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "matmul_multi: unknown flags 0x%x",
                         flags & ~WP_MATMUL_ACCUMULATE);
    for (int i = 0; i < count; i++) {
        int rc = wrk_ops_check_matmul(parts[i].w, x, parts[i].y, n);
        if (rc)
            return rc;
        if (parts[i].w->ne[0] != parts[0].w->ne[0])
            return wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                             "matmul_multi: %s has %llu inputs, %s has %llu",
                             parts[i].w->name ? parts[i].w->name : "(unnamed)",
                             (unsigned long long)parts[i].w->ne[0],
                             parts[0].w->name ? parts[0].w->name : "(unnamed)",
                             (unsigned long long)parts[0].w->ne[0]);
    }
    return 0;
}

int wrk_ops_check_matmul_glu(int act, const wp_tensor *w_gate, const wp_tensor *w_up,
                             const float *x, const float *out, const float *tmp, int n)
{
    if (act != WP_GLU_SILU)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "matmul_glu: unknown activation %d", act);
    int rc = wrk_ops_check_matmul(w_gate, x, out, n);
    if (!rc)
        rc = wrk_ops_check_matmul(w_up, x, tmp, n);
    if (rc)
        return rc;
    if (w_gate->ne[0] != w_up->ne[0] || w_gate->ne[1] != w_up->ne[1])
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                         "matmul_glu: gate %s [%llu, %llu] and up %s [%llu, %llu] differ",
                         w_gate->name ? w_gate->name : "(unnamed)",
                         (unsigned long long)w_gate->ne[0], (unsigned long long)w_gate->ne[1],
                         w_up->name ? w_up->name : "(unnamed)", (unsigned long long)w_up->ne[0],
                         (unsigned long long)w_up->ne[1]);
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

int wrk_ops_check_argmax(const float *x, int n, const int32_t *out)
{
    if (n < 1)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "argmax: n %d < 1", n);
    if (!x || !out)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "argmax: NULL %s",
                         !x ? "x" : "out");
    return 0;
}

int wrk_ops_check_readback_start(const void *src, size_t n, void **pending)
{
    if (pending)
        *pending = NULL;
    if (!src || !pending)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "readback_start: NULL %s",
                         !src ? "src" : "pending");
    if (n > WP_READBACK_MAX_BYTES)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                         "readback_start: %zu bytes, at most %d (a readback is for small "
                         "results such as a token id; use to_host for more)", n,
                         WP_READBACK_MAX_BYTES);
    return 0;
}

int wrk_ops_check_readback_finish(const void *pending, size_t n, size_t copied)
{
    if (!pending)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "readback_finish: NULL pending");
    if (n > WP_READBACK_MAX_BYTES)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                         "readback_finish: %zu bytes, at most %d", n, WP_READBACK_MAX_BYTES);
    if (n != copied)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                         "readback_finish: %zu bytes asked for, the readback copied %zu", n,
                         copied);
    return 0;
}
