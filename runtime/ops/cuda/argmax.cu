/*
 * argmax.cu - the greedy choice on the GPU (wp_ops.argmax, ABI 1.2): out[0] = the index of
 * the largest of x[0..n), with exactly the rule of the host sampler (runtime/text/sampler.c)
 * so that greedy decoding gives the same ids on either side:
 *   - NaN is never chosen (every comparison with it is false);
 *   - among equal values the lowest index wins (-0 and +0 are equal);
 *   - +inf beats every finite value; the first +inf wins;
 *   - when no value is above -inf (all NaN or -inf) the answer is 0.
 * Used after a decode step so that 4 bytes, not the vocab_size logits, cross to the host.
 *
 * On sm_90 and later a thread block cluster of ARGMAX_CLUSTER blocks shares the array and
 * block 0 reduces the blocks' candidates through distributed shared memory; before sm_90
 * one block does the whole array. Either way there are no partial results in global memory
 * and no "last block" counter, so the op allocates nothing, never synchronises, and can be
 * queued on a stream that is being captured into a graph. (One block of 1024 threads took
 * 11.6 us for 128256 logits on the H100 under ncu: 16 dependent rounds of loads from one SM;
 * the cluster's threads have all their loads in flight at once.)
 *
 * Build and test: part of libwrk (runtime/ops/ops.mk); tests/ops/test_ops_argmax_cuda
 * checks it against the host set on random, tied, NaN and infinite arrays.
 */
#include "config.h"

#include <limits.h>

#include <cooperative_groups.h>

#include "ops/cuda/cuda_common.cuh"
#include "ops/cuda/cuda_ops.h"
#include "ops/ops_internal.h"

/* Subnormal logits must compare as the host compares them: flushing them to zero would
 * turn a win into a tie. The build compiles kernels without fast math (NVCC_NOFAST). */
#ifdef __USE_FAST_MATH__
#error "argmax.cu must be compiled without --use_fast_math (flush-to-zero changes ties)"
#endif

#define ARGMAX_THREADS 1024
#define ARGMAX_WARPS (ARGMAX_THREADS / 32)
/* Loads each thread has in flight per round: enough to cover memory latency from one SM. */
#define ARGMAX_UNROLL 8
/* Blocks of the sm_90 cluster (portable size), and its loads per thread per round: one
 * round covers 128K logits. */
#define ARGMAX_CLUSTER 8
#define ARGMAX_CLUSTER_UNROLL 16
/* How far past n the kernels' int indices step (one round of the wider scan). */
#define ARGMAX_INDEX_SLACK (ARGMAX_CLUSTER_UNROLL * ARGMAX_CLUSTER * ARGMAX_THREADS)

// ----------------------------------------------------------------------------------------
// CPU reference: host_argmax in runtime/ops/host/host_ops.c (one ascending pass, strict >).

// ----------------------------------------------------------------------------------------
// GPU kernel

/* A candidate: a value and its index. NONE (no value above -inf seen) is (-inf, INT_MAX),
 * which every real candidate beats and which loses every tie-break. */
struct argmax_cand {
    float v;
    int i;
};

/* 1 when a is the better candidate: larger, or equal with the lower index. Comparisons
 * are false for NaN, and no NaN is ever stored in a candidate, so the order is total. */
__device__ __forceinline__ bool argmax_better(argmax_cand a, argmax_cand b)
{
    return a.v > b.v || (a.v == b.v && a.i < b.i);
}

__device__ __forceinline__ argmax_cand argmax_warp(argmax_cand c)
{
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        argmax_cand other;
        other.v = __shfl_xor_sync(0xffffffffu, c.v, o);
        other.i = __shfl_xor_sync(0xffffffffu, c.i, o);
        if (argmax_better(other, c))
            c = other;
    }
    return c;
}

/* The best of x[first], x[first + stride], ... (ascending) for the calling thread, with U
 * loads in flight per round: the first value strictly above its best is kept (so its own
 * ties keep the lowest index, and NaN and -inf are never taken). */
template <int U>
__device__ __forceinline__ argmax_cand argmax_scan(const float *__restrict__ x, int n, int first,
                                                   int stride)
{
    argmax_cand best = { -INFINITY, INT_MAX };
    int i = first;
    for (; i + (U - 1) * stride < n; i += U * stride) {
        float v[U];
#pragma unroll
        for (int u = 0; u < U; u++)
            v[u] = __ldg(x + i + u * stride);
#pragma unroll
        for (int u = 0; u < U; u++) {
            if (v[u] > best.v) {
                best.v = v[u];
                best.i = i + u * stride;
            }
        }
    }
    /* the rest: all loads first as well (a partial round), then the comparisons in order */
    float v[U];
#pragma unroll
    for (int u = 0; u < U; u++)
        v[u] = i + u * stride < n ? __ldg(x + i + u * stride) : -INFINITY;
#pragma unroll
    for (int u = 0; u < U; u++) {
        if (v[u] > best.v) {
            best.v = v[u];
            best.i = i + u * stride;
        }
    }
    return best;
}

/* The block's best of the threads' candidates (by value, then index), valid in thread 0. */
__device__ __forceinline__ argmax_cand argmax_block(argmax_cand best)
{
    __shared__ argmax_cand warp_best[ARGMAX_WARPS];
    best = argmax_warp(best);
    if ((threadIdx.x & 31) == 0)
        warp_best[threadIdx.x >> 5] = best;
    __syncthreads();
    if (threadIdx.x < 32)
        best = argmax_warp(warp_best[threadIdx.x]); /* ARGMAX_WARPS == 32 */
    return best;
}

/* The id the host would choose from the winning candidate: nothing above -inf gives 0. */
__device__ __forceinline__ int32_t argmax_id(argmax_cand c)
{
    return c.i == INT_MAX ? 0 : c.i;
}

/* One block: thread t scans t, t + T, ... */
__global__ void __launch_bounds__(ARGMAX_THREADS)
argmax_kernel(const float *__restrict__ x, int n, int32_t *__restrict__ out)
{
    wrk_pdl_trigger();
    wrk_pdl_wait(); /* x is the output of the kernel before (the logits projection) */
    const argmax_cand best =
        argmax_block(argmax_scan<ARGMAX_UNROLL>(x, n, (int)threadIdx.x, ARGMAX_THREADS));
    if (threadIdx.x == 0)
        out[0] = argmax_id(best);
}

/* A cluster of ARGMAX_CLUSTER blocks (sm_90): thread t of block r scans r T + t with the
 * cluster's stride; block 0 reduces the blocks' candidates from their shared memory. */
__global__ void __launch_bounds__(ARGMAX_THREADS)
argmax_cluster_kernel(const float *__restrict__ x, int n, int32_t *__restrict__ out)
{
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    namespace cg = cooperative_groups;
    cg::cluster_group cluster = cg::this_cluster();
    __shared__ argmax_cand block_best;
    wrk_pdl_trigger();
    wrk_pdl_wait(); /* x is the output of the kernel before (the logits projection) */
    const int rank = (int)cluster.block_rank();
    const argmax_cand best = argmax_block(argmax_scan<ARGMAX_CLUSTER_UNROLL>(
        x, n, rank * ARGMAX_THREADS + (int)threadIdx.x, ARGMAX_CLUSTER * ARGMAX_THREADS));
    if (threadIdx.x == 0)
        block_best = best;
    cluster.sync(); /* every block's candidate is in its shared memory */
    if (rank == 0 && threadIdx.x < 32) {
        argmax_cand c = { -INFINITY, INT_MAX };
        if (threadIdx.x < ARGMAX_CLUSTER)
            c = *cluster.map_shared_rank(&block_best, (unsigned)threadIdx.x);
        c = argmax_warp(c);
        if (threadIdx.x == 0)
            out[0] = argmax_id(c);
    }
    cluster.sync(); /* no block leaves while block 0 may still read its shared memory */
#endif
}

// ----------------------------------------------------------------------------------------
// Launcher

static_assert(ARGMAX_WARPS == 32, "the final reduction is one warp over the warps' bests");
static_assert(ARGMAX_CLUSTER <= 32, "block 0 reduces the cluster's candidates in one warp");

/* The cluster kernel where the device has clusters and the build has sm_90 code for it
 * (checked once). */
static bool argmax_cluster_ok(void)
{
    static int state = -1;
    if (state < 0)
        state = wrk_cuda_clusters_ok((const void *)argmax_cluster_kernel);
    return state;
}

extern "C" int wrk_cuda_argmax(const wp_host *host, const float *x, int n, int32_t *out)
{
    int rc = wrk_ops_check_argmax(x, n, out);
    if (rc)
        return rc;
    /* the kernel's int indices step past n by up to one round */
    if (n > INT_MAX - ARGMAX_INDEX_SLACK)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "argmax: n %d above %d", n,
                         INT_MAX - ARGMAX_INDEX_SLACK);
    if (argmax_cluster_ok())
        wrk_launch_cluster(argmax_cluster_kernel, dim3(ARGMAX_CLUSTER), ARGMAX_THREADS, 0,
                           dim3(ARGMAX_CLUSTER), wrk_stream(host), x, n, out);
    else
        wrk_launch(argmax_kernel, dim3(1), ARGMAX_THREADS, wrk_stream(host), x, n, out);
    rc = wrk_cuda_launch_check("argmax");
    if (rc)
        wrk_error_prefix("argmax over %d values: ", n);
    return rc;
}
