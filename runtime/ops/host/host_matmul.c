/*
 * host_matmul.c - reference matmul and embedding gather: dequantize a weight row with the
 * reference conversions of quant.h, then use it for every column. Plain, obviously correct
 * C: this is the oracle the CUDA kernels are tested against.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/wrk_error.h"
#include "gguf/quant.h"
#include "ops/host/host_ops.h"
#include "ops/ops_internal.h"

/* y[c][r] = dot(W[r], x[c]) (+ bias[r]), or y[c][r] += that: each weight row is dequantized
 * once into a scratch row and then dotted with all n inputs, fp32 accumulation in index
 * order. Arguments already checked. */
static int host_matmul_into(const wp_tensor *w, const float *x, float *y, int n,
                            const float *bias, int accumulate)
{
    const uint64_t in = w->ne[0], out = w->ne[1];
    const uint64_t row_bytes = wrk_ops_row_bytes(w);
    float *row = malloc(in * sizeof(float));
    if (!row)
        return wrk_error(CUDA_ERROR_OUT_OF_MEMORY, "matmul %s: no host memory for a row of %llu",
                         w->name ? w->name : "(unnamed)", (unsigned long long)in);
    for (uint64_t r = 0; r < out; r++) {
        wrk_dequantize_row(w->type, (const uint8_t *)w->data + r * row_bytes, row, in);
        for (int c = 0; c < n; c++) {
            const float *xc = x + (uint64_t)c * in;
            float acc = 0.0f;
            for (uint64_t i = 0; i < in; i++)
                acc += row[i] * xc[i];
            float *dst = y + (uint64_t)c * out + r;
            const float v = bias ? acc + bias[r] : acc;
            *dst = accumulate ? *dst + v : v;
        }
    }
    free(row);
    return 0;
}

int wrk_host_matmul(const wp_host *host, const wp_tensor *w, const float *x, float *y, int n,
                    const float *bias)
{
    (void)host;
    int rc = wrk_ops_check_matmul(w, x, y, n);
    if (rc || n == 0)
        return rc;
    return host_matmul_into(w, x, y, n, bias, 0);
}

int wrk_host_matmul_multi(const wp_host *host, const wp_matmul_part *parts, int count,
                          const float *x, int n, unsigned flags)
{
    (void)host;
    int rc = wrk_ops_check_matmul_multi(parts, count, x, n, flags);
    for (int i = 0; !rc && n > 0 && i < count; i++)
        rc = host_matmul_into(parts[i].w, x, parts[i].y, n, parts[i].bias,
                              (flags & WP_MATMUL_ACCUMULATE) != 0);
    return rc;
}

/* out = silu(x Wg^T) * (x Wu^T), silu(g) = g / (1 + e^-g) as the plugins' SwiGLU. */
int wrk_host_matmul_glu(const wp_host *host, int act, const wp_tensor *w_gate,
                        const wp_tensor *w_up, const float *x, float *out, float *tmp, int n)
{
    (void)host;
    int rc = wrk_ops_check_matmul_glu(act, w_gate, w_up, x, out, tmp, n);
    if (rc || n == 0)
        return rc;
    if ((rc = host_matmul_into(w_gate, x, out, n, NULL, 0)) != 0 ||
        (rc = host_matmul_into(w_up, x, tmp, n, NULL, 0)) != 0)
        return rc;
    const size_t count = (size_t)n * w_gate->ne[1];
    for (size_t i = 0; i < count; i++)
        out[i] = out[i] / (1.0f + expf(-out[i])) * tmp[i];
    return 0;
}

/* out[i] = dequantized row ids[i] of the table; ids were range-checked first so a bad id
 * leaves out untouched. */
int wrk_host_get_rows(const wp_host *host, const wp_tensor *table, const int32_t *ids, int n,
                      float *out)
{
    (void)host;
    int rc = wrk_ops_check_get_rows(table, ids, n, out);
    if (rc)
        return rc;
    const uint64_t ne0 = table->ne[0];
    const uint64_t row_bytes = wrk_ops_row_bytes(table);
    for (int i = 0; i < n; i++)
        wrk_dequantize_row(table->type, (const uint8_t *)table->data + (uint64_t)ids[i] * row_bytes,
                           out + (uint64_t)i * ne0, ne0);
    return 0;
}

/* Backend memory is host memory: the ids can be checked like get_rows' (an id out of range
 * is an error here, where the CUDA kernel can only write NaN). */
int wrk_host_get_rows_dev(const wp_host *host, const wp_tensor *table, const int32_t *ids,
                          int n, float *out)
{
    return wrk_host_get_rows(host, table, ids, n, out);
}
