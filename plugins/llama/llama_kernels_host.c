/*
 * llama_kernels_host.c - the plain-C kernel set of the llama plugin (reference host
 * backend, and the oracle of llama_kernels_cuda.cu).
 *
 * RoPE: for pair i < rope_dim/2 of each head, theta = (pos * freq_scale) *
 * base^(-2i/rope_dim) / freq_factor[i], and (a, b) -> (a cos - b sin, a sin + b cos).
 * The pair is (2i, 2i+1) in the normal layout and (i, i + rope_dim/2) in NeoX.
 * (SwiGLU is the shared library's matmul_glu.)
 */
#include <math.h>

#include "llama.h"

/* Rotate every head of n rows in place. Angles in double so the host set is the more
 * accurate oracle. */
static int llama_rope_host(const wp_host *host, float *x, int n, int n_heads, int head_dim,
                           int pos, const llama_rope *r)
{
    const int half = r->rope_dim / 2;
    const int stride = r->layout == LLAMA_ROPE_NEOX ? half : 1;
    const int step = r->layout == LLAMA_ROPE_NEOX ? 1 : 2;
    for (int t = 0; t < n; t++) {
        double p = (double)(pos + t) * r->freq_scale;
        for (int i = 0; i < half; i++) {
            double theta = p * pow(r->freq_base, -2.0 * i / r->rope_dim);
            if (r->freq_factors)
                theta /= r->freq_factors[i];
            float cs = (float)cos(theta), sn = (float)sin(theta);
            for (int hd = 0; hd < n_heads; hd++) {
                float *v = x + ((size_t)t * n_heads + hd) * head_dim + (size_t)i * step;
                float a = v[0], b = v[stride];
                v[0] = a * cs - b * sn;
                v[stride] = a * sn + b * cs;
            }
        }
    }
    return CUDA_SUCCESS;
}

/* Backend memory is host memory: the position is read and both rows rotated by the same
 * code as prefill, so the decode step is the oracle's arithmetic exactly. */
static int llama_rope_qk_dev_host(const wp_host *host, float *q, int n_q, float *k, int n_k,
                                  int head_dim, const int32_t *pos, const llama_rope *r)
{
    int rc = llama_rope_host(host, q, 1, n_q, head_dim, *pos, r);
    return rc ? rc : llama_rope_host(host, k, 1, n_k, head_dim, *pos, r);
}

static const llama_kernels llama_host_set = { llama_rope_host, llama_rope_qk_dev_host };

const llama_kernels *llama_kernels_host(void)
{
    return &llama_host_set;
}
