/*
 * gpt_kernels_host.c - the GPT-specific kernels in plain C (the reference host backend and
 * the oracle of gpt_kernels_cuda.cu). Sums in double so the reference is the accurate side.
 */
#include <math.h>

#include "gpt.h"

static int gpt_layer_norm_host(const wp_host *host, const float *x, const float *w,
                               const float *b, float *out, int n_rows, int width, float eps)
{
    (void)host;
    for (int r = 0; r < n_rows; r++) {
        const float *xr = x + (size_t)r * width;
        float *yr = out + (size_t)r * width;
        double mean = 0.0, var = 0.0, inv;
        for (int i = 0; i < width; i++) mean += xr[i];
        mean /= width;
        /* Two passes: the variance of centred values, stable for large means. */
        for (int i = 0; i < width; i++) {
            double c = xr[i] - mean;
            var += c * c;
        }
        var /= width;
        inv = 1.0 / sqrt(var + (double)eps);
        for (int i = 0; i < width; i++)
            yr[i] = (float)((xr[i] - mean) * inv) * w[i] + b[i];
    }
    return CUDA_SUCCESS;
}

static int gpt_gelu_host(const wp_host *host, float *x, size_t count)
{
    const float k = 0.7978845608028654f;   /* sqrt(2/pi) */
    (void)host;
    for (size_t i = 0; i < count; i++) {
        float v = x[i];
        x[i] = 0.5f * v * (1.0f + tanhf(k * (v + 0.044715f * v * v * v)));
    }
    return CUDA_SUCCESS;
}

static int gpt_add_positions_host(const wp_host *host, float *x, const float *pos_table,
                                  int n, int pos, int width)
{
    (void)host;
    for (int t = 0; t < n; t++) {
        float *xr = x + (size_t)t * width;
        const float *pr = pos_table + (size_t)(pos + t) * width;
        for (int i = 0; i < width; i++) xr[i] += pr[i];
    }
    return CUDA_SUCCESS;
}

static const gpt_kernels k_host = { gpt_layer_norm_host, gpt_gelu_host,
                                    gpt_add_positions_host };

const gpt_kernels *gpt_kernels_host(void)
{
    return &k_host;
}
