/*
 * get_rows.cu - embedding gather on the GPU: out[i] = row ids[i] of a table of any supported
 * type, dequantized to fp32 with the same per-layout traits as the GEMV (quant_traits.cuh).
 * get_rows: ids are host memory, checked on the host and passed to the kernel by value in
 * chunks, so no device buffer or synchronisation is needed. get_rows_dev: ids in device
 * memory (the token of a captured decode step), checked by the kernel.
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
// GPU kernels: one CUDA block per gathered row; threads walk the row's items. OV: out rows
// are 16-byte aligned, so runs of 4 store as float4.

template <class T, bool OV>
__device__ __forceinline__ void get_row(const uint8_t *__restrict__ src, float *__restrict__ dst,
                                        int ne0)
{
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

/* ids passed by value (checked on the host). */
template <class T, bool OV>
__global__ void __launch_bounds__(GET_ROWS_THREADS)
get_rows_kernel(const uint8_t *__restrict__ table, size_t row_bytes, int ne0,
                const get_rows_ids ids, float *__restrict__ out)
{
    wrk_pdl_trigger();
    wrk_pdl_wait();
    get_row<T, OV>(table + (size_t)ids.id[blockIdx.x] * row_bytes,
                   out + (size_t)blockIdx.x * ne0, ne0);
}

/* ids in device memory (a graph's input): an id outside the table gives a NaN row, never a
 * read outside it. */
template <class T, bool OV>
__global__ void __launch_bounds__(GET_ROWS_THREADS)
get_rows_dev_kernel(const uint8_t *__restrict__ table, size_t row_bytes, int ne0, int n_rows,
                    const int32_t *__restrict__ ids, float *__restrict__ out)
{
    wrk_pdl_trigger();
    wrk_pdl_wait();
    const int32_t id = ids[blockIdx.x];
    float *dst = out + (size_t)blockIdx.x * ne0;
    if (id < 0 || id >= n_rows) {
        for (int i = threadIdx.x; i < ne0; i += blockDim.x)
            dst[i] = __int_as_float(0x7fc00000);
        return;
    }
    get_row<T, OV>(table + (size_t)id * row_bytes, dst, ne0);
}

// ----------------------------------------------------------------------------------------
// Launcher

/* ids_dev NULL: host ids, chunked into kernel parameters; else ids in device memory. */
template <class T>
static int get_rows_launch(cudaStream_t st, const wp_tensor *t, const int32_t *ids,
                           const int32_t *ids_dev, int n, float *out)
{
    const size_t row_bytes = (size_t)wrk_ops_row_bytes(t);
    const int ne0 = (int)t->ne[0];
    const bool ov = ((uintptr_t)out & 15u) == 0 && ne0 % 4 == 0;
    const uint8_t *table = (const uint8_t *)t->data;
    if (ids_dev) {
        const int n_rows = (int)t->ne[1];
        if (ov)
            wrk_launch(get_rows_dev_kernel<T, true>, dim3(n), GET_ROWS_THREADS, st, table,
                       row_bytes, ne0, n_rows, ids_dev, out);
        else
            wrk_launch(get_rows_dev_kernel<T, false>, dim3(n), GET_ROWS_THREADS, st, table,
                       row_bytes, ne0, n_rows, ids_dev, out);
        return wrk_cuda_launch_check("get_rows_dev");
    }
    for (int c0 = 0; c0 < n; c0 += GET_ROWS_CHUNK) {
        const int cnt = n - c0 < GET_ROWS_CHUNK ? n - c0 : GET_ROWS_CHUNK;
        get_rows_ids chunk;
        for (int i = 0; i < GET_ROWS_CHUNK; i++)
            chunk.id[i] = i < cnt ? ids[c0 + i] : 0;
        float *o = out + (size_t)c0 * ne0;
        if (ov)
            wrk_launch(get_rows_kernel<T, true>, dim3(cnt), GET_ROWS_THREADS, st, table, row_bytes,
                       ne0, chunk, o);
        else
            wrk_launch(get_rows_kernel<T, false>, dim3(cnt), GET_ROWS_THREADS, st, table,
                       row_bytes, ne0, chunk, o);
        int rc = wrk_cuda_launch_check("get_rows");
        if (rc)
            return rc;
    }
    return 0;
}

static int get_rows_any(const wp_host *host, const wp_tensor *table, const int32_t *ids,
                        const int32_t *ids_dev, int n, float *out)
{
    const cudaStream_t st = wrk_stream(host);
    const char *name = table->name ? table->name : "(unnamed)";
    const uint64_t ne0 = table->ne[0];
    bool tv;
    int rc = wrk_check_weight_align("get_rows", table, "table", "out", out, &tv);
    if (rc)
        return rc;
    rc = wrk_with_trait(table->type, tv, ne0, [&](auto t) {
        return get_rows_launch<decltype(t)>(st, table, ids, ids_dev, n, out);
    });
    if (rc)
        wrk_error_prefix("get_rows %s (n=%d): ", name, n);
    return rc;
}

extern "C" int wrk_cuda_get_rows(const wp_host *host, const wp_tensor *table, const int32_t *ids,
                                 int n, float *out)
{
    int rc = wrk_ops_check_get_rows(table, ids, n, out);
    if (rc || n == 0)
        return rc;
    return get_rows_any(host, table, ids, NULL, n, out);
}

extern "C" int wrk_cuda_get_rows_dev(const wp_host *host, const wp_tensor *table,
                                     const int32_t *ids, int n, float *out)
{
    /* the ids are device memory: check everything else, with no ids to look at */
    int rc = wrk_ops_check_get_rows(table, ids, 0, out);
    if (rc || n == 0)
        return rc;
    if (n < 0 || !ids || !out)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "get_rows_dev: n %d, ids %p, out %p", n,
                         (const void *)ids, (void *)out);
    return get_rows_any(host, table, NULL, ids, n, out);
}
