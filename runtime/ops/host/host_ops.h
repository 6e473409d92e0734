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

#endif
