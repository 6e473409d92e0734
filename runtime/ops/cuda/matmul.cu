/*
 * matmul.cu - y[n][out] = x[n][in] * W^T (+ bias) on the GPU, for every weight type.
 *
 * Decode (n small) is bound by reading W once: one warp per output row (two for Q4_K, so
 * each x load serves both) streams the row with wide read-only loads (16 bytes where the
 * layout allows), with all of a 2048-wide row's loads in flight per lane before the first
 * use, dequantizes in registers (integers to float without I2F, see quant_traits.cuh), and
 * multiplies each weight by up to 8 columns of x at once (x is small and stays in L1/L2),
 * accumulating in fp32 and reducing with warp shuffles. x stays fp32 (16-bit or int8 x
 * would miss the 1e-4 tolerance against the host set). Larger n (prefill) goes to cuBLAS
 * (matmul_gemm.cu) where wrk_cuda_gemm_takes() says so; otherwise the GEMV kernel runs over
 * tiles of 8 columns (one launch for the full tiles, one for the rest).
 *
 * Test: tests/ops/test_ops_cuda (against the host set); time: tests/ops/bench_gemv.
 */
#include "config.h"

#include "ops/cuda/cuda_ops.h"
#include "ops/cuda/quant_traits.cuh"
#include "ops/ops_internal.h"

#define GEMV_WARPS 4     /* warps per CUDA block, each on T::ROWS output rows */
#define GEMV_MAXCOLS WRK_GEMV_MAXCOLS

// ----------------------------------------------------------------------------------------
// GPU kernels

/* Rows per warp (R) and items in flight per lane (U) for NC columns: the trait's values for
 * decode (NC = 1); with more columns the accumulators and x values need the registers and
 * the weight read is shared by the columns, so one row per warp and half the unroll (>= 2).
 * With these every variant compiles without spills and within 128 registers (>= 16 warps
 * per SM). No min-blocks in __launch_bounds__: with one, nvcc schedules for the cap and
 * spent up to 255 registers (Q4_K, NC = 8). Check `-Xptxas -v` after any change here. */
template <class T, int NC>
struct GemvShape {
    static constexpr int R = NC == 1 ? T::ROWS : 1;
    static constexpr int U = NC == 1 ? T::UNROLL : T::UNROLL / 2 > 2 ? T::UNROLL / 2 : 2;
};

/* Dot of one dequantized item of R rows (v[r]) with NC columns of x at element e0 of the
 * row: each x value is loaded once and used for all R rows. XV: x rows are 16-byte aligned
 * so runs of 4 load as float4. */
template <class T, int R, int NC, bool XV>
__device__ __forceinline__ void gemv_item_fma(const float (*v)[T::NRUN * T::RUNLEN],
                                              const float *__restrict__ x, int in, int e0,
                                              float (*acc)[NC])
{
#pragma unroll
    for (int c = 0; c < NC; c++) {
        const float *xc = x + (size_t)c * in + e0;
        float s[R];
#pragma unroll
        for (int q = 0; q < R; q++)
            s[q] = 0.0f;
#pragma unroll
        for (int r = 0; r < T::NRUN; r++) {
            if constexpr (XV && T::RUNLEN % 4 == 0) {
#pragma unroll
                for (int j = 0; j < T::RUNLEN; j += 4) {
                    const float4 xv = __ldg((const float4 *)(xc + r * T::RUNSTRIDE + j));
#pragma unroll
                    for (int q = 0; q < R; q++) {
                        const float *w = v[q] + r * T::RUNLEN + j;
                        s[q] = fmaf(w[0], xv.x, s[q]);
                        s[q] = fmaf(w[1], xv.y, s[q]);
                        s[q] = fmaf(w[2], xv.z, s[q]);
                        s[q] = fmaf(w[3], xv.w, s[q]);
                    }
                }
            } else {
#pragma unroll
                for (int j = 0; j < T::RUNLEN; j++) {
                    const float xs = __ldg(xc + r * T::RUNSTRIDE + j);
#pragma unroll
                    for (int q = 0; q < R; q++)
                        s[q] = fmaf(v[q][r * T::RUNLEN + j], xs, s[q]);
                }
            }
        }
#pragma unroll
        for (int q = 0; q < R; q++)
            acc[q][c] += s[q];
    }
}

/* One warp per R consecutive output rows of W (row_bytes apart), NC columns of x/y
 * (R, U: GemvShape). Items are walked lane, lane + 32, ...: U of them per row are loaded
 * before any is used, so a warp has U * R wide loads per lane in flight; for a 2048-wide
 * row that is the whole row, one memory round trip. Rows past `out` (the last warp's tail)
 * read row out - 1 again and are not stored, so all lanes stay in the shuffles. */
template <class T, int NC, bool XV>
__global__ void __launch_bounds__(GEMV_WARPS * 32)
matmul_gemv_kernel(const uint8_t *__restrict__ W, size_t row_bytes, int in, int out,
                   const float *__restrict__ x, float *__restrict__ y,
                   const float *__restrict__ bias)
{
    constexpr int NV = T::NRUN * T::RUNLEN;
    constexpr int U = GemvShape<T, NC>::U;
    constexpr int R = GemvShape<T, NC>::R;
    const int lane = threadIdx.x & 31;
    const int row0 = (blockIdx.x * GEMV_WARPS + (threadIdx.x >> 5)) * R;
    if (row0 >= out)
        return; /* whole warps only: no block-wide barrier below */
    const size_t col0 = (size_t)blockIdx.y * NC;
    x += col0 * in;
    y += col0 * out;
    const uint8_t *wr[R];
#pragma unroll
    for (int q = 0; q < R; q++)
        wr[q] = W + (size_t)(row0 + q < out ? row0 + q : out - 1) * row_bytes;
    const int n_items = (in / T::QK) * T::TPB;
    const int sub = lane % T::TPB; /* constant per lane: TPB divides 32 */
    const int e_sub = T::start(sub);

    float acc[R][NC];
#pragma unroll
    for (int q = 0; q < R; q++)
#pragma unroll
        for (int c = 0; c < NC; c++)
            acc[q][c] = 0.0f;

    /* one round per iteration: U sets the loads in flight; unrolling the rounds would only
     * add registers */
#pragma unroll 1
    for (int base = 0; base < n_items; base += 32 * U) {
        typename T::Raw raw[U][R];
#pragma unroll
        for (int u = 0; u < U; u++) {
            const int it = base + u * 32 + lane;
            if (it < n_items)
#pragma unroll
                for (int q = 0; q < R; q++)
                    raw[u][q] = T::fetch(wr[q] + (size_t)(it / T::TPB) * T::BYTES, sub);
        }
#pragma unroll
        for (int u = 0; u < U; u++) {
            const int it = base + u * 32 + lane;
            if (it < n_items) {
                float v[R][NV];
#pragma unroll
                for (int q = 0; q < R; q++)
                    T::dequant(raw[u][q], sub, v[q]);
                gemv_item_fma<T, R, NC, XV>(v, x, in, (it / T::TPB) * T::QK + e_sub, acc);
            }
        }
    }
    /* lane q * NC + c writes row row0 + q, column c */
    float mine = 0.0f;
#pragma unroll
    for (int q = 0; q < R; q++)
#pragma unroll
        for (int c = 0; c < NC; c++) {
            const float s = warp_sum(acc[q][c]);
            if (lane == q * NC + c)
                mine = s;
        }
    const int row = row0 + lane / NC;
    if (lane < R * NC && row < out)
        y[(size_t)(lane % NC) * out + row] = bias ? mine + __ldg(bias + row) : mine;
}

// ----------------------------------------------------------------------------------------
// Launchers

/* Launch the tile kernel with NC columns over n_tiles tiles starting at column col0. */
template <class T, int NC>
static void gemv_launch_nc(cudaStream_t st, const uint8_t *W, size_t row_bytes, int in, int out,
                           const float *x, float *y, const float *bias, int n_tiles, bool xv,
                           int col0)
{
    const int rows_per_block = GEMV_WARPS * GemvShape<T, NC>::R;
    dim3 grid((unsigned)((out + rows_per_block - 1) / rows_per_block), (unsigned)n_tiles);
    x += (size_t)col0 * in;
    y += (size_t)col0 * out;
    if (xv)
        matmul_gemv_kernel<T, NC, true><<<grid, GEMV_WARPS * 32, 0, st>>>(W, row_bytes, in, out, x, y, bias);
    else
        matmul_gemv_kernel<T, NC, false><<<grid, GEMV_WARPS * 32, 0, st>>>(W, row_bytes, in, out, x, y, bias);
}

/* All n columns: full tiles of 8, then one launch for the remaining 1..7. */
template <class T>
static int gemv_launch(cudaStream_t st, const wp_tensor *w, const float *x, float *y, int n,
                       const float *bias, bool xv)
{
    const uint8_t *W = (const uint8_t *)w->data;
    const size_t row_bytes = (size_t)wrk_ops_row_bytes(w);
    const int in = (int)w->ne[0], out = (int)w->ne[1];
    const int full = n / GEMV_MAXCOLS, rest = n % GEMV_MAXCOLS;
    if (full > 0) {
        gemv_launch_nc<T, 8>(st, W, row_bytes, in, out, x, y, bias, full, xv, 0);
        int rc = wrk_cuda_launch_check("matmul gemv");
        if (rc)
            return rc;
    }
    const int c0 = full * GEMV_MAXCOLS;
    switch (rest) {
    case 0: return 0;
    case 1: gemv_launch_nc<T, 1>(st, W, row_bytes, in, out, x, y, bias, 1, xv, c0); break;
    case 2: gemv_launch_nc<T, 2>(st, W, row_bytes, in, out, x, y, bias, 1, xv, c0); break;
    case 3: gemv_launch_nc<T, 3>(st, W, row_bytes, in, out, x, y, bias, 1, xv, c0); break;
    case 4: gemv_launch_nc<T, 4>(st, W, row_bytes, in, out, x, y, bias, 1, xv, c0); break;
    case 5: gemv_launch_nc<T, 5>(st, W, row_bytes, in, out, x, y, bias, 1, xv, c0); break;
    case 6: gemv_launch_nc<T, 6>(st, W, row_bytes, in, out, x, y, bias, 1, xv, c0); break;
    default: gemv_launch_nc<T, 7>(st, W, row_bytes, in, out, x, y, bias, 1, xv, c0); break;
    }
    return wrk_cuda_launch_check("matmul gemv");
}

static inline bool aligned16(const void *p)
{
    return ((uintptr_t)p & 15u) == 0;
}

extern "C" int wrk_cuda_matmul(const wp_host *host, const wp_tensor *w, const float *x, float *y,
                               int n, const float *bias)
{
    int rc = wrk_ops_check_matmul(w, x, y, n);
    if (rc || n == 0)
        return rc;
    const cudaStream_t st = wrk_stream(host);
    const uint64_t in = w->ne[0];
    /* float4 x loads need every column start aligned: base aligned and in % 4 == 0 */
    const bool xv = aligned16(x) && in % 4 == 0;
    const bool wv = aligned16(w->data);
    const char *name = w->name ? w->name : "(unnamed)";
    /* element loads need natural alignment: 4 for F32 rows, 2 for the f16 fields elsewhere */
    if (((uintptr_t)w->data & (w->type == WP_DTYPE_F32 ? 3u : 1u)) != 0 || ((uintptr_t)x & 3u))
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                         "matmul %s: misaligned weight data %p or x %p", name, w->data,
                         (const void *)x);
    if (wrk_cuda_gemm_takes(host, w, n))
        return wrk_cuda_gemm(host, w, x, y, n, bias);
    switch (w->type) {
    case WP_DTYPE_F32:
        rc = (wv && in % 4 == 0) ? gemv_launch<TraitF32V>(st, w, x, y, n, bias, xv)
                                 : gemv_launch<TraitF32S>(st, w, x, y, n, bias, xv);
        break;
    case WP_DTYPE_F16:
        rc = (wv && in % 8 == 0) ? gemv_launch<TraitF16V>(st, w, x, y, n, bias, xv)
                                 : gemv_launch<TraitF16S>(st, w, x, y, n, bias, xv);
        break;
    case WP_DTYPE_BF16:
        rc = (wv && in % 8 == 0) ? gemv_launch<TraitBF16V>(st, w, x, y, n, bias, xv)
                                 : gemv_launch<TraitBF16S>(st, w, x, y, n, bias, xv);
        break;
    case WP_DTYPE_Q8_0: rc = gemv_launch<TraitQ8_0>(st, w, x, y, n, bias, xv); break;
    case WP_DTYPE_Q4_0: rc = gemv_launch<TraitQ4_0>(st, w, x, y, n, bias, xv); break;
    case WP_DTYPE_Q4_K:
        if (!wv)
            return wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                             "matmul %s: Q4_K data must be 16-byte aligned in device memory",
                             name);
        rc = gemv_launch<TraitQ4_K>(st, w, x, y, n, bias, xv);
        break;
    case WP_DTYPE_Q6_K: rc = gemv_launch<TraitQ6_K>(st, w, x, y, n, bias, xv); break;
    default:
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "matmul %s: unsupported type %u", name,
                         w->type);
    }
    if (rc)
        wrk_error_prefix("matmul %s (type %u, %llux%llu, n=%d): ", name, w->type,
                         (unsigned long long)w->ne[0], (unsigned long long)w->ne[1], n);
    return rc;
}
