/*
 * cuda_ops.h - entry points of the CUDA kernel set (one .cu each), gathered into the wp_ops
 * table by cuda_ops.cu. Each follows the contract of its wp_ops member: device pointers,
 * work queued on (cudaStream_t)host->stream, CudaErrorCode + wrk_error detail on failure.
 */
#ifndef WRK_CUDA_OPS_H
#define WRK_CUDA_OPS_H

#include "worker_plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

int wrk_cuda_matmul(const wp_host *host, const wp_tensor *w, const float *x, float *y, int n,
                    const float *bias);
/** Columns of x one GEMV launch shares a read of W with; more columns are prefill. */
#define WRK_GEMV_MAXCOLS 8

/* matmul_gemm.cu: prefill products through cuBLAS. */
/** 1 when wrk_cuda_gemm serves this weight at n columns: n > WRK_GEMV_MAXCOLS and, for the
 *  16-bit and quantized types, a host whose scratch (ABI 1.1) holds the 16-bit copies. */
int wrk_cuda_gemm_takes(const wp_host *host, const wp_tensor *w, int n);
/** Per part: y = x W^T (+ bias), or y += ... when accumulate; every part taken by
 *  wrk_cuda_gemm_takes, all over the same x (consecutive parts of one 16-bit split kind
 *  share the split of x). */
int wrk_cuda_gemm_multi(const wp_host *host, const wp_matmul_part *parts, int count,
                        const float *x, int n, int accumulate);

int wrk_cuda_matmul_multi(const wp_host *host, const wp_matmul_part *parts, int count,
                          const float *x, int n, unsigned flags);
int wrk_cuda_matmul_glu(const wp_host *host, int act, const wp_tensor *w_gate,
                        const wp_tensor *w_up, const float *x, float *out, float *tmp, int n);
/* matmul_int8.cu: decode (n = 1) products of Q8_0/Q4_0/Q4_K/Q6_K weights with x quantized
 * to int8 per 32 elements (d = amax / 127) and __dp4a; matmul.cu picks it per weight. */
/** The switch: WRK_INT8_OFF (WORKER_CUDA_INT8_DOT=0), WRK_INT8_ALL (=1: every weight the
 *  path can serve) or WRK_INT8_AUTO (unset: the types and shapes where it was measured
 *  faster); read once per process unless wrk_cuda_set_int8_dot was called. */
enum { WRK_INT8_OFF = 0, WRK_INT8_ALL = 1, WRK_INT8_AUTO = 2 };
int wrk_cuda_int8_dot_enabled(void);
/** Override the switch for the rest of the process (tests and bench_gemv compare both). */
void wrk_cuda_set_int8_dot(int mode);
/** Half-rounds in the launches without GLU (matmul_int8.cu, i8_pipe): on unless
 *  WORKER_CUDA_INT8_PIPE=0; this overrides it for the rest of the process (tests). */
void wrk_cuda_set_int8_pipe(int on);
/** 1 when the int8 path serves weight w (checked as by wrk_ops_check_matmul) with x at n
 *  columns: switch on, n == 1, a quantized type, ne[0] <= 32768, the data aligned as the
 *  kernel reads it (Q4_K 16 bytes, Q6_K 4, Q8_0/Q4_0 2) and x 4-byte aligned. */
int wrk_cuda_int8_takes(const wp_tensor *w, const float *x, int n);
/** 1 when the int8 path reads weight w, when it takes it in a launch of its own, with the
 *  staged Q8_0 kernel (16-byte copies through shared memory): Q8_0, ne[0] % 256 == 0, data
 *  16-byte aligned, the kernel's shared memory within the device's, and not turned off by
 *  WORKER_CUDA_Q8_STAGED=0. For tests and bench_gemv; a launch of several weights stages
 *  only when all of them qualify. */
int wrk_cuda_int8_staged(const wp_tensor *w);
/** parts[0..count) (1..WP_MATMUL_MAX_PARTS, one type and ne[0], each taken by
 *  wrk_cuda_int8_takes) times the single column x, y += when accumulate: one launch. */
int wrk_cuda_int8_matmul(const wp_host *host, const wp_matmul_part *parts, int count,
                         const float *x, int accumulate);
/** out = silu(x Wg^T) * (x Wu^T) for n = 1, both weights of one type and taken. */
int wrk_cuda_int8_glu(const wp_host *host, const wp_tensor *w_gate, const wp_tensor *w_up,
                      const float *x, float *out);
/* dequant.cu */
/** Rows [r0, r0 + rows) of a quantized weight (Q8_0, Q4_0, Q4_K, Q6_K; w checked as by
 *  wrk_ops_check_matmul) as f16 bits into dst ([rows][ne0], 16-byte aligned device memory),
 *  queued on the host's stream: the host set's values, rounded once to f16. At most 2^31
 *  elements per call. */
int wrk_cuda_dequant_f16(const wp_host *host, const wp_tensor *w, int r0, int rows,
                         uint16_t *dst);

int wrk_cuda_get_rows(const wp_host *host, const wp_tensor *table, const int32_t *ids, int n,
                      float *out);
int wrk_cuda_get_rows_dev(const wp_host *host, const wp_tensor *table, const int32_t *ids,
                          int n, float *out);
/* attention_decode.cu */
int wrk_cuda_attention_decode_work(const wp_host *host, const wp_attention_params *p,
                                   size_t *bytes);
int wrk_cuda_attention_decode(const wp_host *host, const wp_attention_params *p,
                              const int32_t *pos, const float *q, const float *k,
                              const float *v, float *k_cache, float *v_cache, float *out,
                              void *work);
/* graph.cu */
int wrk_cuda_graph_begin(const wp_host *host);
int wrk_cuda_graph_end(const wp_host *host, void **graph);
int wrk_cuda_graph_launch(const wp_host *host, void *graph);
void wrk_cuda_graph_free(const wp_host *host, void *graph);
int wrk_cuda_attention(const wp_host *host, const wp_attention_params *p, const float *q,
                       const float *k, const float *v, float *k_cache, float *v_cache,
                       float *out);
/* argmax.cu: the greedy choice over the logits (wp_ops.argmax, ABI 1.2). */
int wrk_cuda_argmax(const wp_host *host, const float *x, int n, int32_t *out);
/* readback.cu: small copies to the host waited for on their own (ABI 1.3); the pool of
 * pinned slots and events is freed by wrk_ops_cuda_release (ops/ops.h). */
int wrk_cuda_readback_start(const wp_host *host, const void *src, size_t n, void **pending);
int wrk_cuda_readback_finish(const wp_host *host, void *pending, void *dst, size_t n);
/* attention_gemm.cu: prefill attention through cuBLAS. */
/** New tokens from which wrk_cuda_attention takes the cuBLAS path. */
#define WRK_ATTN_GEMM_MIN_TOKENS 16
/** Attention (p checked by the caller) over cache rows 0..pos+n-1 that already hold the new
 *  keys and values, queued as fp32 SGEMMs and a softmax kernel, with the scores in the host's
 *  scratch. *done = 1 when queued (or failed: error returned); *done = 0 and 0 returned when
 *  the path declines: n_tokens < WRK_ATTN_GEMM_MIN_TOKENS, no cuBLAS handle, no scratch
 *  (ABI 1.0 table) or the scratch refused (warned once); the caller then runs the kernel. */
int wrk_cuda_attention_gemm(const wp_host *host, const wp_attention_params *p, const float *q,
                            const float *k_cache, const float *v_cache, float *out, int *done);

#ifdef __cplusplus
}
#endif
#endif
