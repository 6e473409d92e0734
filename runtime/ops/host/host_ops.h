/*
 * host_ops.h - the entry points of the plain-C reference kernel set (host memory), gathered
 * into the wp_ops table by host_ops.c. Each follows the contract of its wp_ops member.
 */
#ifndef WRK_HOST_OPS_H
#define WRK_HOST_OPS_H

#include "worker_plugin.h"

int wrk_host_matmul(const wp_host *host, const wp_tensor *w, const float *x, float *y, int n,
                    const float *bias);
int wrk_host_get_rows(const wp_host *host, const wp_tensor *table, const int32_t *ids, int n,
                      float *out);
int wrk_host_attention(const wp_host *host, const wp_attention_params *p, const float *q,
                       const float *k, const float *v, float *k_cache, float *v_cache,
                       float *out);
/* ABI 1.1 */
int wrk_host_matmul_multi(const wp_host *host, const wp_matmul_part *parts, int count,
                          const float *x, int n, unsigned flags);
int wrk_host_matmul_glu(const wp_host *host, int act, const wp_tensor *w_gate,
                        const wp_tensor *w_up, const float *x, float *out, float *tmp, int n);
int wrk_host_get_rows_dev(const wp_host *host, const wp_tensor *table, const int32_t *ids,
                          int n, float *out);
int wrk_host_attention_decode_work(const wp_host *host, const wp_attention_params *p,
                                   size_t *bytes);
int wrk_host_attention_decode(const wp_host *host, const wp_attention_params *p,
                              const int32_t *pos, const float *q, const float *k, const float *v,
                              float *k_cache, float *v_cache, float *out, void *work);

#endif
