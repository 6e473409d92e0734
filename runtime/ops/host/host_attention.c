/*
 * host_attention.c - reference causal grouped-query attention over an fp32 KV cache.
 * out_i,h = softmax_t(scale * q_i,h . k_t,g) . v_t,g over t <= pos + i, where the KV head is
 * g = h / (n_heads / n_kv_heads). Two passes per query (max, then exp-sum) for a
 * numerically stable softmax at any length.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/wrk_error.h"
#include "ops/host/host_ops.h"
#include "ops/ops_internal.h"

/* Store the new k/v rows at pos.., then attend each new token to rows 0..pos+i. */
int wrk_host_attention(const wp_host *host, const wp_attention_params *p, const float *q,
                       const float *k, const float *v, float *k_cache, float *v_cache,
                       float *out)
{
    (void)host;
    int rc = wrk_ops_check_attention(p, q, k, v, k_cache, v_cache, out);
    if (rc)
        return rc;
    const int hd = p->head_dim;
    const size_t kv_width = (size_t)p->n_kv_heads * hd;
    const size_t q_width = (size_t)p->n_heads * hd;
    const int group = p->n_heads / p->n_kv_heads;
    /* memmove: a caller may pass k/v that already live in the cache rows. */
    memmove(k_cache + (size_t)p->pos * kv_width, k, (size_t)p->n_tokens * kv_width * sizeof(float));
    memmove(v_cache + (size_t)p->pos * kv_width, v, (size_t)p->n_tokens * kv_width * sizeof(float));

    const int max_len = p->pos + p->n_tokens;
    float *score = malloc((size_t)max_len * sizeof(float));
    if (!score)
        return wrk_error(CUDA_ERROR_OUT_OF_MEMORY, "attention: no host memory for %d scores",
                         max_len);
    for (int i = 0; i < p->n_tokens; i++) {
        const int len = p->pos + i + 1;
        for (int h = 0; h < p->n_heads; h++) {
            const float *qh = q + (size_t)i * q_width + (size_t)h * hd;
            const size_t kv_off = (size_t)(h / group) * hd;
            float m = -INFINITY;
            for (int t = 0; t < len; t++) {
                const float *kt = k_cache + (size_t)t * kv_width + kv_off;
                float s = 0.0f;
                for (int d = 0; d < hd; d++)
                    s += qh[d] * kt[d];
                score[t] = s * p->scale;
                if (score[t] > m)
                    m = score[t];
            }
            float sum = 0.0f;
            for (int t = 0; t < len; t++) {
                score[t] = expf(score[t] - m);
                sum += score[t];
            }
            float *oh = out + (size_t)i * q_width + (size_t)h * hd;
            for (int d = 0; d < hd; d++)
                oh[d] = 0.0f;
            for (int t = 0; t < len; t++) {
                const float *vt = v_cache + (size_t)t * kv_width + kv_off;
                const float w = score[t] / sum;
                for (int d = 0; d < hd; d++)
                    oh[d] += w * vt[d];
            }
        }
    }
    free(score);
    return 0;
}

/* The host set needs no work buffer: the decode step is attention of one token at *pos. */
int wrk_host_attention_decode_work(const wp_host *host, const wp_attention_params *p,
                                   size_t *bytes)
{
    (void)host;
    int rc = wrk_ops_check_attention_decode_work(p, bytes);
    if (rc == 0)
        *bytes = 0; /* the host set attends in place */
    return rc;
}

int wrk_host_attention_decode(const wp_host *host, const wp_attention_params *p,
                              const int32_t *pos, const float *q, const float *k, const float *v,
                              float *k_cache, float *v_cache, float *out, void *work)
{
    int rc = wrk_ops_check_attention_decode(p, pos, q, k, v, k_cache, v_cache, out, work, 0);
    if (rc)
        return rc;
    wp_attention_params one = *p;
    one.n_tokens = 1;
    one.pos = *pos;
    return wrk_host_attention(host, &one, q, k, v, k_cache, v_cache, out);
}
