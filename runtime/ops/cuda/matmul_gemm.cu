/*
 * matmul_gemm.cu - the prefill side of matmul (n > WRK_GEMV_MAXCOLS columns) through cuBLAS:
 * SGEMM for F32 weights (fp32 compute, default math: no TF32), and for F16/BF16 two
 * tensor-core GemmEx on x split into 16-bit hi + lo parts (fp32 accumulation, near-fp32
 * accuracy). Quantized weights (Q8_0, Q4_0, Q4_K, Q6_K) take the F16 path on an f16 copy of
 * W made chunk by chunk (dequant.cu): the only extra error is the copy's f16 rounding, at
 * most 2^-11 relative per weight. matmul.cu routes here when wrk_cuda_gemm_takes() says so,
 * with all the parts of a matmul_multi (q, k, v) or a GLU (gate, up) at once, so that x is
 * split once for them.
 *
 * The 16-bit copies live in the host's scratch (wp_host.scratch, ABI 1.1): one buffer the
 * runtime keeps and grows, so a product queues its kernels without allocating or waiting.
 * Work queued on the one stream is ordered, so the next call (or the next chunk) may reuse
 * the buffer at once; the runtime synchronises only when it has to grow it.
 *
 * Test: tests/ops/test_ops_cuda (against the host set, n up to 100, several weight chunks);
 * time: tests/ops/bench_gemm.
 */
#include "config.h"

#include <cstddef>

#include <cublas_v2.h>
#include <cuda_bf16.h>

#include "gguf/quant.h"
#include "ops/cuda/cublas_common.cuh"
#include "ops/cuda/cuda_common.cuh"
#include "ops/cuda/cuda_ops.h"
#include "ops/ops_internal.h"

/* f16 bytes of a quantized W expanded at once: bounded so the scratch stays small next to
 * the weights and KV cache, yet each GemmEx still has thousands of rows to spread over the
 * SMs (16384 rows of a 2048-wide W, 2304 of a 14336-wide one). A smaller W goes whole. */
#define GEMM_WCHUNK_BYTES ((size_t)64 << 20)
/* Chunks are whole multiples of this many rows (when larger): whole cuBLAS tiles, and each
 * chunk's block of y starts 16-byte aligned when y does. */
#define GEMM_CHUNK_ALIGN 256

// ----------------------------------------------------------------------------------------
// GPU kernels

/* y[c][r] += bias[r] after a cuBLAS product. */
__global__ void matmul_bias_kernel(float *__restrict__ y, const float *__restrict__ bias,
                                   int out, size_t total)
{
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < total;
         i += (size_t)gridDim.x * blockDim.x)
        y[i] += __ldg(bias + i % out);
}

/* x = hi + lo with hi, lo in the weight's 16-bit type (IS_BF16 picks bf16 over f16), so two
 * tensor-core products W*hi + W*lo give y to about fp32 accuracy (the residual of a single
 * 16-bit rounding would cost ~3e-4 relative). */
template <bool IS_BF16>
__global__ void matmul_split_x_kernel(const float *__restrict__ x, uint16_t *__restrict__ hi,
                                      uint16_t *__restrict__ lo, size_t total)
{
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < total;
         i += (size_t)gridDim.x * blockDim.x) {
        const float v = x[i];
        if constexpr (IS_BF16) {
            const __nv_bfloat16 h = __float2bfloat16_rn(v);
            hi[i] = __bfloat16_as_ushort(h);
            lo[i] = __bfloat16_as_ushort(__float2bfloat16_rn(v - __bfloat162float(h)));
        } else {
            __half h, l;
            wrk_split_f16(v, h, l);
            hi[i] = __half_as_ushort(h);
            lo[i] = __half_as_ushort(l);
        }
    }
}

// ----------------------------------------------------------------------------------------
// Launchers

/* y[c][r] += bias[r] over n rows of out. */
static int bias_launch(cudaStream_t st, float *y, const float *bias, int out, int n)
{
    const size_t total = (size_t)n * out;
    const unsigned blocks = (unsigned)((total + 255) / 256 < 4096 ? (total + 255) / 256 : 4096);
    matmul_bias_kernel<<<blocks, 256, 0, st>>>(y, bias, out, total);
    return wrk_cuda_launch_check("matmul bias");
}

/* x (total fp32 values) into hi + lo halves of the 16-bit type (bf16 or f16). */
static int split_x_launch(cudaStream_t st, bool bf, const float *x, uint16_t *hi, uint16_t *lo,
                          size_t total)
{
    const unsigned blocks = (unsigned)((total + 255) / 256 < 8192 ? (total + 255) / 256 : 8192);
    if (bf)
        matmul_split_x_kernel<true><<<blocks, 256, 0, st>>>(x, hi, lo, total);
    else
        matmul_split_x_kernel<false><<<blocks, 256, 0, st>>>(x, hi, lo, total);
    return wrk_cuda_launch_check("matmul split x");
}

/* The error of a failed cuBLAS call on weight w, naming the call. */
static int cublas_fail(const wp_tensor *w, int n, const char *call, cublasStatus_t s)
{
    return wrk_error(CUDA_ERROR_INFERENCE_FAILED, "matmul %s (%s %llux%llu, n=%d): %s: %s",
                     w->name ? w->name : "(unnamed)", wrk_dtype_name(w->type),
                     (unsigned long long)w->ne[0], (unsigned long long)w->ne[1], n, call,
                     wrk_cublas_status_name(s));
}

/* F32 prefill: column-major view y^T(out x n) = W(row-major out x in)^T-view * x^T, i.e.
 * SGEMM(T, N) with lda = ldb = in, ldc = out; fp32 math. */
static int sgemm_launch(const wp_host *host, const wp_tensor *w, const float *x, float *y, int n,
                        const float *bias, float beta)
{
    cublasHandle_t h = (cublasHandle_t)host->cublas;
    const int in = (int)w->ne[0], out = (int)w->ne[1];
    const float one = 1.0f;
    cublasStatus_t s = wrk_cublas_bind(h, wrk_stream(host));
    if (s == CUBLAS_STATUS_SUCCESS)
        s = cublasSgemm(h, CUBLAS_OP_T, CUBLAS_OP_N, out, n, in, &one, (const float *)w->data,
                        in, x, in, &beta, y, out);
    if (s != CUBLAS_STATUS_SUCCESS)
        return cublas_fail(w, n, "cublasSgemm", s);
    return bias ? bias_launch(wrk_stream(host), y, bias, out, n) : 0;
}

/* The same view for a 16-bit W block of m rows (lda = k = in) at y's row block (ldc): two
 * GemmEx with fp32 accumulation, y = W hi + beta y, then y += W lo. */
static cublasStatus_t gemm_hilo(cublasHandle_t h, cudaDataType_t t, const void *W, int m, int n,
                                int k, const uint16_t *hi, const uint16_t *lo, float *y, int ldc,
                                float beta)
{
    const float one = 1.0f;
    cublasStatus_t s = cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, &one, W, t, k, hi, t, k,
                                    &beta, y, CUDA_R_32F, ldc, CUBLAS_COMPUTE_32F,
                                    CUBLAS_GEMM_DEFAULT);
    if (s == CUBLAS_STATUS_SUCCESS)
        s = cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, &one, W, t, k, lo, t, k, &one, y,
                         CUDA_R_32F, ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
    return s;
}

/* Regions of one product's scratch, each 128-byte aligned for cuBLAS's wide loads. */
struct gemm_scratch {
    uint16_t *hi, *lo; /* x split, n * in values each */
    uint16_t *w;       /* an f16 chunk of W (quantized weights), else NULL */
};

static size_t align128(size_t bytes)
{
    return (bytes + 127) & ~(size_t)127;
}

/* Take the scratch for x_elems values of x (twice) and w_elems f16 weights. */
static int scratch_take(const wp_host *host, const wp_tensor *w, size_t x_elems, size_t w_elems,
                        gemm_scratch *s)
{
    const char *name = w->name ? w->name : "(unnamed)";
    if (!wrk_host_has_scratch(host))
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                         "matmul %s: the host table has no scratch (ABI 1.1)", name);
    const size_t xb = align128(x_elems * sizeof(uint16_t));
    const size_t wb = align128(w_elems * sizeof(uint16_t));
    /* the contract promises no alignment: 127 bytes more, regions from the next 128 */
    uintptr_t p = (uintptr_t)host->scratch(host, 127 + 2 * xb + wb);
    if (!p) {
        wrk_error_prefix("matmul %s: ", name); /* the host's detail: size, free memory */
        return CUDA_ERROR_OUT_OF_MEMORY;
    }
    p = (p + 127) & ~(uintptr_t)127;
    s->hi = (uint16_t *)p;
    s->lo = (uint16_t *)(p + xb);
    s->w = wb ? (uint16_t *)(p + 2 * xb) : NULL;
    return 0;
}

/* Rows of W per f16 chunk: all of them when they fit GEMM_WCHUNK_BYTES, else the most
 * that fit, rounded down to GEMM_CHUNK_ALIGN (at least one row). */
static int chunk_rows(int in, int out)
{
    size_t rows = GEMM_WCHUNK_BYTES / ((size_t)in * sizeof(uint16_t));
    if (rows >= (size_t)out)
        return out;
    if (rows >= GEMM_CHUNK_ALIGN)
        rows -= rows % GEMM_CHUNK_ALIGN;
    return rows > 0 ? (int)rows : 1;
}

/* The 16-bit type x is split into for a weight's products: none for F32 (SGEMM), bf16 for
 * BF16 weights, f16 for F16 and for the quantized types (their f16 chunks). */
enum split_kind { SPLIT_NONE, SPLIT_F16, SPLIT_BF16 };

static split_kind split_of(uint32_t type)
{
    return type == WP_DTYPE_F32 ? SPLIT_NONE : type == WP_DTYPE_BF16 ? SPLIT_BF16 : SPLIT_F16;
}

static bool is_16bit(uint32_t type)
{
    return type == WP_DTYPE_F16 || type == WP_DTYPE_BF16;
}

/* f16 weights a quantized W needs in scratch at a time (one chunk); 0 for 16-bit W. */
static size_t chunk_elems(const wp_tensor *w)
{
    const int in = (int)w->ne[0], out = (int)w->ne[1];
    return is_16bit(w->type) ? 0 : (size_t)chunk_rows(in, out) * in;
}

/* One part on the split x in s: a 16-bit W multiplied directly; a quantized W per chunk of
 * rows r0..: the chunk dequantized to f16 in scratch and the F16 products into y's rows
 * r0.. (ldc = out). The next chunk's dequantization overwrites the buffer only after the
 * products before it on the stream have read it. */
static int split_part_run(const wp_host *host, cublasHandle_t h, const wp_matmul_part *p,
                          const gemm_scratch *s, int n, float beta)
{
    const wp_tensor *w = p->w;
    const int in = (int)w->ne[0], out = (int)w->ne[1];
    cublasStatus_t cs = CUBLAS_STATUS_SUCCESS;
    int rc = 0;
    if (is_16bit(w->type)) {
        cs = gemm_hilo(h, w->type == WP_DTYPE_BF16 ? CUDA_R_16BF : CUDA_R_16F, w->data, out, n,
                       in, s->hi, s->lo, p->y, out, beta);
    } else {
        const int chunk = chunk_rows(in, out);
        for (int64_t r0 = 0; !rc && cs == CUBLAS_STATUS_SUCCESS && r0 < out; r0 += chunk) {
            const int rows = out - r0 < chunk ? (int)(out - r0) : chunk;
            rc = wrk_cuda_dequant_f16(host, w, (int)r0, rows, s->w);
            if (!rc)
                cs = gemm_hilo(h, CUDA_R_16F, s->w, rows, n, in, s->hi, s->lo, p->y + r0, out,
                               beta);
        }
    }
    if (!rc && cs != CUBLAS_STATUS_SUCCESS)
        rc = cublas_fail(w, n, "cublasGemmEx", cs);
    if (!rc && p->bias)
        rc = bias_launch(wrk_stream(host), p->y, p->bias, out, n);
    return rc;
}

/* Parts of one split kind (F16/BF16/quantized) over the same x on tensor cores: x split
 * into hi/lo 16-bit halves in scratch ONCE for all of them (q, k and v; gate and up), then
 * y = W*hi + W*lo by two cublasGemmEx with fp32 accumulation per part (per chunk of a
 * quantized W). Limitation: |x| beyond the f16 range (65504) overflows on f16 splits. */
static int split_run(const wp_host *host, const wp_matmul_part *parts, int count,
                     const float *x, int n, float beta)
{
    const int in = (int)parts[0].w->ne[0];
    const size_t total = (size_t)n * in;
    size_t w_elems = 0;
    for (int i = 0; i < count; i++)
        if (chunk_elems(parts[i].w) > w_elems)
            w_elems = chunk_elems(parts[i].w);
    const cudaStream_t st = wrk_stream(host);
    gemm_scratch s;
    int rc = scratch_take(host, parts[0].w, total, w_elems, &s);
    if (!rc)
        rc = split_x_launch(st, split_of(parts[0].w->type) == SPLIT_BF16, x, s.hi, s.lo, total);
    cublasHandle_t h = (cublasHandle_t)host->cublas;
    if (!rc) {
        const cublasStatus_t cs = wrk_cublas_bind(h, st);
        if (cs != CUBLAS_STATUS_SUCCESS)
            rc = cublas_fail(parts[0].w, n, "cublasSetStream", cs);
    }
    for (int i = 0; !rc && i < count; i++)
        rc = split_part_run(host, h, parts + i, &s, n, beta);
    return rc;
}

extern "C" int wrk_cuda_gemm_takes(const wp_host *host, const wp_tensor *w, int n)
{
    if (n <= WRK_GEMV_MAXCOLS || !host || !host->cublas)
        return 0;
    switch (w->type) {
    case WP_DTYPE_F32: return 1;
    /* without the scratch (a 1.0 table) the GEMV tiles serve these: slower, still right */
    case WP_DTYPE_F16:
    case WP_DTYPE_BF16:
    case WP_DTYPE_Q8_0:
    case WP_DTYPE_Q4_0:
    case WP_DTYPE_Q4_K:
    case WP_DTYPE_Q6_K: return wrk_host_has_scratch(host);
    default: return 0;
    }
}

/* accumulate: beta = 1 on the first product, so y += x W^T (+ bias). Consecutive parts of
 * one split kind share the split of x. */
extern "C" int wrk_cuda_gemm_multi(const wp_host *host, const wp_matmul_part *parts, int count,
                                   const float *x, int n, int accumulate)
{
    const float beta = accumulate ? 1.0f : 0.0f;
    for (int i = 0; i < count;) {
        const wp_tensor *w = parts[i].w;
        if (!wrk_cuda_gemm_takes(host, w, n))
            return wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                             "matmul %s: no cuBLAS path for type %u at n=%d",
                             w->name ? w->name : "(unnamed)", w->type, n);
        int rc;
        if (split_of(w->type) == SPLIT_NONE) {
            rc = sgemm_launch(host, w, x, parts[i].y, n, parts[i].bias, beta);
            i++;
        } else {
            int j = i + 1;
            while (j < count && split_of(parts[j].w->type) == split_of(w->type) &&
                   wrk_cuda_gemm_takes(host, parts[j].w, n))
                j++;
            rc = split_run(host, parts + i, j - i, x, n, beta);
            i = j;
        }
        if (rc)
            return rc;
    }
    return 0;
}
