/*
 * matmul_gemm.cu - the prefill side of matmul (n > WRK_GEMV_MAXCOLS columns) through cuBLAS:
 * SGEMM for F32 weights (fp32 compute, default math: no TF32), and for F16/BF16 two
 * tensor-core GemmEx on x split into 16-bit hi + lo parts (fp32 accumulation, near-fp32
 * accuracy). matmul.cu routes here when wrk_cuda_gemm_takes() says so.
 *
 * Test: tests/ops/test_ops_cuda (against the host set, n up to 40).
 */
#include "config.h"

#include <cublas_v2.h>
#include <cuda_bf16.h>

#include "ops/cuda/cuda_common.cuh"
#include "ops/cuda/cuda_ops.h"
#include "ops/ops_internal.h"

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
            const __half h = __float2half_rn(v);
            hi[i] = __half_as_ushort(h);
            lo[i] = __half_as_ushort(__float2half_rn(v - __half2float(h)));
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

static const char *cublas_status_name(cublasStatus_t s)
{
    switch (s) {
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    default: return "cuBLAS error";
    }
}

/* F32 prefill: column-major view y^T(out x n) = W(row-major out x in)^T-view * x^T, i.e.
 * SGEMM(T, N) with lda = ldb = in, ldc = out; fp32 math. */
static int sgemm_launch(const wp_host *host, const wp_tensor *w, const float *x, float *y, int n,
                        const float *bias, float beta)
{
    cublasHandle_t h = (cublasHandle_t)host->cublas;
    const int in = (int)w->ne[0], out = (int)w->ne[1];
    const float one = 1.0f;
    cublasStatus_t s = cublasSetStream(h, wrk_stream(host));
    if (s == CUBLAS_STATUS_SUCCESS)
        s = cublasSetMathMode(h, CUBLAS_DEFAULT_MATH); /* no TF32 */
    if (s == CUBLAS_STATUS_SUCCESS)
        s = cublasSgemm(h, CUBLAS_OP_T, CUBLAS_OP_N, out, n, in, &one, (const float *)w->data,
                        in, x, in, &beta, y, out);
    if (s != CUBLAS_STATUS_SUCCESS)
        return wrk_error(CUDA_ERROR_INFERENCE_FAILED, "matmul %s (F32 %dx%d, n=%d): cublasSgemm: %s",
                         w->name ? w->name : "(unnamed)", in, out, n, cublas_status_name(s));
    return bias ? bias_launch(wrk_stream(host), y, bias, out, n) : 0;
}

/* F16/BF16 prefill on tensor cores: x split into hi/lo 16-bit halves in scratch (allocated
 * through the accountant for this call and released after the stream drains), then
 * y = W*hi + W*lo by two cublasGemmEx with fp32 accumulation. Limitation: |x| beyond the
 * f16 range (65504) overflows on F16 weights. */
static int gemmex_launch(const wp_host *host, const wp_tensor *w, const float *x, float *y,
                         int n, const float *bias, float beta)
{
    const bool bf = w->type == WP_DTYPE_BF16;
    const int in = (int)w->ne[0], out = (int)w->ne[1];
    const size_t total = (size_t)n * in;
    const cudaStream_t st = wrk_stream(host);
    const char *name = w->name ? w->name : "(unnamed)";
    const size_t lo_off = (total + 63) & ~(size_t)63; /* keep lo 128-byte aligned for cuBLAS */
    uint16_t *hi = (uint16_t *)host->alloc(host, (lo_off + total) * sizeof(uint16_t),
                                           WP_MEM_SCRATCH, "matmul x split");
    if (!hi)
        return CUDA_ERROR_OUT_OF_MEMORY; /* the accountant left the detail */
    uint16_t *lo = hi + lo_off;
    const unsigned blocks = (unsigned)((total + 255) / 256 < 8192 ? (total + 255) / 256 : 8192);
    if (bf)
        matmul_split_x_kernel<true><<<blocks, 256, 0, st>>>(x, hi, lo, total);
    else
        matmul_split_x_kernel<false><<<blocks, 256, 0, st>>>(x, hi, lo, total);
    int rc = wrk_cuda_launch_check("matmul split x");
    if (!rc) {
        cublasHandle_t h = (cublasHandle_t)host->cublas;
        const cudaDataType_t t = bf ? CUDA_R_16BF : CUDA_R_16F;
        const float one = 1.0f;
        cublasStatus_t s = cublasSetStream(h, st);
        if (s == CUBLAS_STATUS_SUCCESS)
            s = cublasSetMathMode(h, CUBLAS_DEFAULT_MATH);
        if (s == CUBLAS_STATUS_SUCCESS)
            s = cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, out, n, in, &one, w->data, t, in, hi, t,
                             in, &beta, y, CUDA_R_32F, out, CUBLAS_COMPUTE_32F,
                             CUBLAS_GEMM_DEFAULT);
        if (s == CUBLAS_STATUS_SUCCESS)
            s = cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, out, n, in, &one, w->data, t, in, lo, t,
                             in, &one, y, CUDA_R_32F, out, CUBLAS_COMPUTE_32F,
                             CUBLAS_GEMM_DEFAULT);
        if (s != CUBLAS_STATUS_SUCCESS)
            rc = wrk_error(CUDA_ERROR_INFERENCE_FAILED,
                           "matmul %s (%s %dx%d, n=%d): cublasGemmEx: %s", name,
                           bf ? "BF16" : "F16", in, out, n, cublas_status_name(s));
    }
    if (!rc && bias)
        rc = bias_launch(st, y, bias, out, n);
    /* the scratch may be released only once the products have read it */
    int rc2 = wrk_cuda_check(cudaStreamSynchronize(st), "matmul: cudaStreamSynchronize");
    host->free(host, hi);
    return rc ? rc : rc2;
}

extern "C" int wrk_cuda_gemm_takes(const wp_host *host, const wp_tensor *w, int n)
{
    if (n <= WRK_GEMV_MAXCOLS || !host || !host->cublas)
        return 0;
    switch (w->type) {
    case WP_DTYPE_F32: return 1;
    case WP_DTYPE_F16:
    case WP_DTYPE_BF16: return host->alloc && host->free;
    default: return 0;
    }
}

/* accumulate: beta = 1 on the first product, so y += x W^T (+ bias). */
extern "C" int wrk_cuda_gemm(const wp_host *host, const wp_tensor *w, const float *x, float *y,
                             int n, const float *bias, int accumulate)
{
    const float beta = accumulate ? 1.0f : 0.0f;
    return w->type == WP_DTYPE_F32 ? sgemm_launch(host, w, x, y, n, bias, beta)
                                   : gemmex_launch(host, w, x, y, n, bias, beta);
}
