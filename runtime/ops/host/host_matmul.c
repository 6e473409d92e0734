/*
 * host_matmul.c - reference matmul and embedding gather: dequantize a weight row with the
 * reference conversions of quant.h, then use it for every column. Plain, obviously correct
 * C: this is the oracle the CUDA kernels are tested against.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "core/wrk_error.h"
#include "gguf/quant.h"
#include "ops/host/host_ops.h"
#include "ops/ops_internal.h"

/* y[c][r] = dot(W[r], x[c]) (+ bias[r]): each weight row is dequantized once into a
 * scratch row and then dotted with all n inputs, fp32 accumulation in index order. */
int wrk_host_matmul(const wp_host *host, const wp_tensor *w, const float *x, float *y, int n,
                    const float *bias)
{
    (void)host;
    int rc = wrk_ops_check_matmul(w, x, y, n);
    if (rc || n == 0)
        return rc;
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
            y[(uint64_t)c * out + r] = bias ? acc + bias[r] : acc;
        }
    }
    free(row);
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
