/*
 * ops_internal.h - what the backends of the kernel library share: argument checks that give
 * the same error code and detail on every backend. C, callable from the .cu launchers.
 */
#ifndef WRK_OPS_INTERNAL_H
#define WRK_OPS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "worker_plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Check a matmul: w a 2-D weight of a supported type whose ne[0] is a whole number of
 *  blocks, x/y non-NULL, n >= 0. 0 or CUDA_ERROR_INVALID_PARAMETER with a detail. */
int wrk_ops_check_matmul(const wp_tensor *w, const float *x, const float *y, int n);

/** Check a get_rows: table as for matmul, ids/out non-NULL, every id in [0, ne[1]). */
int wrk_ops_check_get_rows(const wp_tensor *table, const int32_t *ids, int n,
                           const float *out);

/** Check the shape of attention over the cache for n_tokens new tokens at pos (heads,
 *  head_dim, n_ctx, scale); what names the op in the detail. */
int wrk_ops_check_attention_shape(const wp_attention_params *p, int n_tokens, int pos,
                                  const char *what);

/** Check attention parameters and pointers: positive heads/head_dim, n_heads a multiple of
 *  n_kv_heads, 0 <= pos, pos + n_tokens <= n_ctx. */
int wrk_ops_check_attention(const wp_attention_params *p, const float *q, const float *k,
                            const float *v, const float *k_cache, const float *v_cache,
                            const float *out);

/** Check attention_decode: the shape as for attention with one token (the position is in
 *  backend memory and not checked here), pointers non-NULL, work non-NULL when needed. */
int wrk_ops_check_attention_decode(const wp_attention_params *p, const int32_t *pos,
                                   const float *q, const float *k, const float *v,
                                   const float *k_cache, const float *v_cache, const float *out,
                                   const void *work, size_t work_bytes);

/** Check attention_decode_work: bytes and p non-NULL, the shape as for attention_decode. */
int wrk_ops_check_attention_decode_work(const wp_attention_params *p, const size_t *bytes);

/** Check matmul_multi: 1..WP_MATMUL_MAX_PARTS parts, each as for matmul, all with the same
 *  ne[0]; only known flags. */
int wrk_ops_check_matmul_multi(const wp_matmul_part *parts, int count, const float *x, int n,
                               unsigned flags);

/** Check matmul_glu: a known activation, both weights as for matmul and of one shape. */
int wrk_ops_check_matmul_glu(int act, const wp_tensor *w_gate, const wp_tensor *w_up,
                             const float *x, const float *out, const float *tmp, int n);

/** Check an rms_norm: pointers non-NULL, n_rows >= 0, width > 0, eps >= 0 and finite. */
int wrk_ops_check_rms_norm(const float *x, const float *weight, const float *out, int n_rows,
                           int width, float eps);

/** Check an argmax: x and out non-NULL, n >= 1 (an empty array has no largest value). */
int wrk_ops_check_argmax(const float *x, int n, const int32_t *out);

/** Check a readback_start: src and pending non-NULL, n <= WP_READBACK_MAX_BYTES; *pending
 *  is set to NULL first whenever pending is non-NULL, so a refused call leaves no handle. */
int wrk_ops_check_readback_start(const void *src, size_t n, void **pending);

/** Check a readback_finish: pending non-NULL, n <= WP_READBACK_MAX_BYTES, and n equal to
 *  `copied`, the bytes its readback_start copied (read only when pending is non-NULL; dst
 *  may be NULL: the bytes are discarded). */
int wrk_ops_check_readback_finish(const void *pending, size_t n, size_t copied);

/** Bytes of one row of a weight tensor (ne[0] elements of its type). */
uint64_t wrk_ops_row_bytes(const wp_tensor *w);

#ifdef __cplusplus
}
#endif
#endif
