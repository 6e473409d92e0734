/*
 * dequant.cu - rows of a quantized weight (Q8_0, Q4_0, Q4_K, Q6_K) as f16, for the
 * tensor-core prefill of matmul_gemm.cu: cuBLAS has no quantized input types, so a chunk of
 * W is expanded into scratch and multiplied as an F16 weight (what llama.cpp does too).
 *
 * Each value is the one the per-layout traits of quant_traits.cuh give (those of the GEMV
 * and get_rows, i.e. of the host set's wrk_dequantize_row), rounded once to f16, nearest
 * even: at most 2^-11 relative per weight. A weight beyond the f16 range (65504) would
 * become Inf; real weights are orders of magnitude smaller.
 *
 * Test: tests/ops/test_ops_cuda (matmul at n > 8 against the host set).
 */
#include "config.h"

#include "ops/cuda/cuda_ops.h"
#include "ops/cuda/quant_traits.cuh"
#include "ops/ops_internal.h"

#define DEQUANT_THREADS 256
#define DEQUANT_MAX_BLOCKS 16384 /* a grid-stride loop covers the rest */

// ----------------------------------------------------------------------------------------
// GPU kernel

/* Two floats as f16 (round to nearest even), a first in the low half: memory order. */
__device__ __forceinline__ uint32_t pack_f16x2(float a, float b)
{
    return (uint32_t)__half_as_ushort(__float2half_rn(a)) |
           ((uint32_t)__half_as_ushort(__float2half_rn(b)) << 16);
}

/* LEN values of one run as f16 at d: 16-byte stores for runs of 8k values, 8-byte stores
 * for 4k. The kernel's caller guarantees d is aligned to the store (see below). */
template <int LEN>
__device__ __forceinline__ void store_run_f16(uint16_t *d, const float *v)
{
    if constexpr (LEN % 8 == 0) {
#pragma unroll
        for (int j = 0; j < LEN; j += 8)
            *(uint4 *)(d + j) =
                make_uint4(pack_f16x2(v[j], v[j + 1]), pack_f16x2(v[j + 2], v[j + 3]),
                           pack_f16x2(v[j + 4], v[j + 5]), pack_f16x2(v[j + 6], v[j + 7]));
    } else if constexpr (LEN % 4 == 0) {
#pragma unroll
        for (int j = 0; j < LEN; j += 4)
            *(uint2 *)(d + j) =
                make_uint2(pack_f16x2(v[j], v[j + 1]), pack_f16x2(v[j + 2], v[j + 3]));
    } else {
#pragma unroll
        for (int j = 0; j < LEN; j++)
            d[j] = __half_as_ushort(__float2half_rn(v[j]));
    }
}

/* dst[r][e] = f16(W row r, element e) for the n_items items of the rows (T::TPB per block,
 * walked in memory order so a warp reads and writes contiguous spans). Alignment of the
 * vector stores: dst is 16-byte aligned and a row holds whole blocks of QK (a multiple of
 * 8) elements, so each block starts 16-byte aligned; within a block every run starts at a
 * multiple of RUNLEN elements (start(sub) of each trait: 8 sub for RUNLEN 8, 64 (sub >> 1)
 * + 16 (sub & 1) for 16, 128 (sub >> 3) + 4 (sub & 7) for 4; RUNSTRIDE asserted below). */
template <class T>
__global__ void __launch_bounds__(DEQUANT_THREADS)
dequant_f16_kernel(const uint8_t *__restrict__ W, size_t row_bytes, int in, unsigned n_items,
                   uint16_t *__restrict__ dst)
{
    static_assert(T::QK % 8 == 0 && T::RUNSTRIDE % T::RUNLEN == 0, "run alignment");
    const unsigned items_per_row = (unsigned)(in / T::QK) * T::TPB;
    for (unsigned it = blockIdx.x * blockDim.x + threadIdx.x; it < n_items;
         it += gridDim.x * blockDim.x) {
        const unsigned row = it / items_per_row, within = it - row * items_per_row;
        const int blk = (int)(within / T::TPB), sub = (int)(within % T::TPB);
        float v[T::NRUN * T::RUNLEN];
        T::dequant(T::fetch(W + row * row_bytes + (size_t)blk * T::BYTES, sub), sub, v);
        uint16_t *d = dst + (size_t)row * in + (size_t)blk * T::QK + T::start(sub);
#pragma unroll
        for (int r = 0; r < T::NRUN; r++)
            store_run_f16<T::RUNLEN>(d + r * T::RUNSTRIDE, v + r * T::RUNLEN);
    }
}

// ----------------------------------------------------------------------------------------
// Launcher

template <class T>
static int dequant_launch(cudaStream_t st, const uint8_t *W, size_t row_bytes, int in, int rows,
                          uint16_t *dst)
{
    /* items <= elements / 8 < 2^31 (rows * in was checked) */
    const unsigned items = (unsigned)((size_t)rows * (size_t)(in / T::QK) * T::TPB);
    const unsigned need = (items + DEQUANT_THREADS - 1) / DEQUANT_THREADS;
    const unsigned blocks = need < DEQUANT_MAX_BLOCKS ? need : DEQUANT_MAX_BLOCKS;
    dequant_f16_kernel<T><<<blocks, DEQUANT_THREADS, 0, st>>>(W, row_bytes, in, items, dst);
    return wrk_cuda_launch_check("dequant f16");
}

extern "C" int wrk_cuda_dequant_f16(const wp_host *host, const wp_tensor *w, int r0, int rows,
                                    uint16_t *dst)
{
    if (!w || !w->data || !dst)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "dequant f16: NULL weight or dst");
    const char *name = w->name ? w->name : "(unnamed)";
    const int in = (int)w->ne[0];
    if (r0 < 0 || rows < 0 || (uint64_t)r0 + (uint64_t)rows > w->ne[1])
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                         "dequant f16 %s: rows [%d, %d + %d) outside the %llu rows", name, r0,
                         r0, rows, (unsigned long long)w->ne[1]);
    if ((uint64_t)rows * w->ne[0] > INT32_MAX)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                         "dequant f16 %s: %d rows of %d exceed one call's 2^31 elements", name,
                         rows, in);
    if (rows == 0)
        return 0;
    /* 16-byte stores into dst; 2-byte loads (Q8_0, Q4_0, Q6_K) or 16-byte ones (Q4_K) from W,
     * whose rows keep the base's alignment (row bytes are even, and 144 k for Q4_K) */
    if ((uintptr_t)dst & 15u)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                         "dequant f16 %s: destination %p is not 16-byte aligned", name,
                         (void *)dst);
    if ((uintptr_t)w->data & 1u)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "dequant f16 %s: misaligned weight data %p",
                         name, w->data);
    const cudaStream_t st = wrk_stream(host);
    const size_t row_bytes = (size_t)wrk_ops_row_bytes(w);
    const uint8_t *W = (const uint8_t *)w->data + (size_t)r0 * row_bytes;
    switch (w->type) {
    case WP_DTYPE_Q8_0: return dequant_launch<TraitQ8_0>(st, W, row_bytes, in, rows, dst);
    case WP_DTYPE_Q4_0: return dequant_launch<TraitQ4_0>(st, W, row_bytes, in, rows, dst);
    case WP_DTYPE_Q4_K:
        if ((uintptr_t)w->data & 15u)
            return wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                             "dequant f16 %s: Q4_K data must be 16-byte aligned in device memory",
                             name);
        return dequant_launch<TraitQ4_K>(st, W, row_bytes, in, rows, dst);
    case WP_DTYPE_Q6_K: return dequant_launch<TraitQ6_K>(st, W, row_bytes, in, rows, dst);
    default:
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                         "dequant f16 %s: type %u is not a quantized type", name, w->type);
    }
}
