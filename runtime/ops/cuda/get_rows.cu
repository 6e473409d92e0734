/*
 * get_rows.cu - embedding gather on the GPU: out[i] = row ids[i] of a table of any supported
 * type, dequantized to fp32 with the same per-layout traits as the GEMV (quant_traits.cuh).
 * ids are host memory: they are checked on the host and passed to the kernel by value in
 * chunks, so no device buffer or synchronisation is needed.
 */
#include "config.h"

#include "ops/cuda/cuda_ops.h"
#include "ops/cuda/quant_traits.cuh"
#include "ops/ops_internal.h"

#define GET_ROWS_CHUNK 256 /* ids per launch: 1 KiB of kernel parameters */
#define GET_ROWS_THREADS 128

struct get_rows_ids {
    int32_t id[GET_ROWS_CHUNK];
};

// ----------------------------------------------------------------------------------------
// GPU kernel: one CUDA block per gathered row; threads walk the row's items. OV: out rows
// are 16-byte aligned, so runs of 4 store as float4.

template <class T, bool OV>
__global__ void __launch_bounds__(GET_ROWS_THREADS)
get_rows_kernel(const uint8_t *__restrict__ table, size_t row_bytes, int ne0,
                const get_rows_ids ids, float *__restrict__ out)
{
    const uint8_t *src = table + (size_t)ids.id[blockIdx.x] * row_bytes;
    float *dst = out + (size_t)blockIdx.x * ne0;
    const int n_items = (ne0 / T::QK) * T::TPB;
    for (int it = threadIdx.x; it < n_items; it += blockDim.x) {
        const int sub = it % T::TPB;
        float v[T::NRUN * T::RUNLEN];
        T::dequant(T::fetch(src + (size_t)(it / T::TPB) * T::BYTES, sub), sub, v);
        float *d = dst + (it / T::TPB) * T::QK + T::start(sub);
#pragma unroll
        for (int r = 0; r < T::NRUN; r++) {
            if constexpr (OV && T::RUNLEN % 4 == 0) {
#pragma unroll
                for (int j = 0; j < T::RUNLEN; j += 4)
                    *(float4 *)(d + r * T::RUNSTRIDE + j) =
                        make_float4(v[r * T::RUNLEN + j], v[r * T::RUNLEN + j + 1],
                                    v[r * T::RUNLEN + j + 2], v[r * T::RUNLEN + j + 3]);
            } else {
#pragma unroll
                for (int j = 0; j < T::RUNLEN; j++)
                    d[r * T::RUNSTRIDE + j] = v[r * T::RUNLEN + j];
            }
        }
    }
}

// ----------------------------------------------------------------------------------------
// Launcher

template <class T>
static int get_rows_launch(cudaStream_t st, const wp_tensor *t, const int32_t *ids, int n,
                           float *out)
{
    const size_t row_bytes = (size_t)wrk_ops_row_bytes(t);
    const int ne0 = (int)t->ne[0];
    const bool ov = ((uintptr_t)out & 15u) == 0 && ne0 % 4 == 0;
    for (int c0 = 0; c0 < n; c0 += GET_ROWS_CHUNK) {
        const int cnt = n - c0 < GET_ROWS_CHUNK ? n - c0 : GET_ROWS_CHUNK;
        get_rows_ids chunk;
        for (int i = 0; i < GET_ROWS_CHUNK; i++)
            chunk.id[i] = i < cnt ? ids[c0 + i] : 0;
        float *o = out + (size_t)c0 * ne0;
        if (ov)
            get_rows_kernel<T, true><<<cnt, GET_ROWS_THREADS, 0, st>>>((const uint8_t *)t->data, row_bytes, ne0, chunk, o);
        else
            get_rows_kernel<T, false><<<cnt, GET_ROWS_THREADS, 0, st>>>((const uint8_t *)t->data, row_bytes, ne0, chunk, o);
        int rc = wrk_cuda_launch_check("get_rows");
        if (rc)
            return rc;
    }
    return 0;
}

extern "C" int wrk_cuda_get_rows(const wp_host *host, const wp_tensor *table, const int32_t *ids,
                                 int n, float *out)
{
    int rc = wrk_ops_check_get_rows(table, ids, n, out);
    if (rc || n == 0)
        return rc;
    const cudaStream_t st = wrk_stream(host);
    const char *name = table->name ? table->name : "(unnamed)";
    const bool tv = ((uintptr_t)table->data & 15u) == 0;
    const uint64_t ne0 = table->ne[0];
    if (((uintptr_t)table->data & (table->type == WP_DTYPE_F32 ? 3u : 1u)) != 0 ||
        ((uintptr_t)out & 3u))
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "get_rows %s: misaligned table %p or out %p",
                         name, table->data, (void *)out);
    switch (table->type) {
    case WP_DTYPE_F32:
        rc = (tv && ne0 % 4 == 0) ? get_rows_launch<TraitF32V>(st, table, ids, n, out)
                                  : get_rows_launch<TraitF32S>(st, table, ids, n, out);
        break;
    case WP_DTYPE_F16:
        rc = (tv && ne0 % 8 == 0) ? get_rows_launch<TraitF16V>(st, table, ids, n, out)
                                  : get_rows_launch<TraitF16S>(st, table, ids, n, out);
        break;
    case WP_DTYPE_BF16:
        rc = (tv && ne0 % 8 == 0) ? get_rows_launch<TraitBF16V>(st, table, ids, n, out)
                                  : get_rows_launch<TraitBF16S>(st, table, ids, n, out);
        break;
    case WP_DTYPE_Q8_0: rc = get_rows_launch<TraitQ8_0>(st, table, ids, n, out); break;
    case WP_DTYPE_Q4_0: rc = get_rows_launch<TraitQ4_0>(st, table, ids, n, out); break;
    case WP_DTYPE_Q4_K:
        if (!tv)
            return wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                             "get_rows %s: Q4_K data must be 16-byte aligned in device memory",
                             name);
        rc = get_rows_launch<TraitQ4_K>(st, table, ids, n, out);
        break;
    case WP_DTYPE_Q6_K: rc = get_rows_launch<TraitQ6_K>(st, table, ids, n, out); break;
    default:
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "get_rows %s: unsupported type %u", name,
                         table->type);
    }
    if (rc)
        wrk_error_prefix("get_rows %s (n=%d): ", name, n);
    return rc;
}
