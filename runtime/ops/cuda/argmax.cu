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
 * One block of ARGMAX_THREADS threads does the whole array (128K-256K logits: a few
 * microseconds from one SM). A single block needs no partial results in global memory and
 * no "last block" counter, so the op allocates nothing, never synchronises, and can be
 * queued on a stream that is being captured into a graph.
 *
 * Build and test: part of libwrk (runtime/ops/ops.mk); tests/ops/test_ops_argmax_cuda
 * checks it against the host set on random, tied, NaN and infinite arrays.
 */
#include "config.h"

#include <limits.h>

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

/* Each thread scans indices tid, tid + T, tid + 2T, ... in ascending order, keeping the
 * first value strictly above its best (so its own ties keep the lowest index, and NaN and
 * -inf are never taken); the threads' candidates are then reduced by value, then index. */
__global__ void __launch_bounds__(ARGMAX_THREADS)
argmax_kernel(const float *__restrict__ x, int n, int32_t *__restrict__ out)
{
    wrk_pdl_trigger();
    wrk_pdl_wait(); /* x is the output of the kernel before (the logits projection) */
    __shared__ argmax_cand warp_best[ARGMAX_WARPS];
    argmax_cand best = { -INFINITY, INT_MAX };
    int i = threadIdx.x;
    for (; i + (ARGMAX_UNROLL - 1) * ARGMAX_THREADS < n; i += ARGMAX_UNROLL * ARGMAX_THREADS) {
        float v[ARGMAX_UNROLL];
#pragma unroll
        for (int u = 0; u < ARGMAX_UNROLL; u++)
            v[u] = __ldg(x + i + u * ARGMAX_THREADS);
#pragma unroll
        for (int u = 0; u < ARGMAX_UNROLL; u++) {
            if (v[u] > best.v) {
                best.v = v[u];
                best.i = i + u * ARGMAX_THREADS;
            }
        }
    }
    for (; i < n; i += ARGMAX_THREADS) {
        const float v = __ldg(x + i);
        if (v > best.v) {
            best.v = v;
            best.i = i;
        }
    }
    best = argmax_warp(best);
    if ((threadIdx.x & 31) == 0)
        warp_best[threadIdx.x >> 5] = best;
    __syncthreads();
    if (threadIdx.x < 32) {
        argmax_cand c = warp_best[threadIdx.x]; /* ARGMAX_WARPS == 32 */
        c = argmax_warp(c);
        if (threadIdx.x == 0)
            out[0] = c.i == INT_MAX ? 0 : c.i; /* nothing above -inf: id 0, as the host */
    }
}

// ----------------------------------------------------------------------------------------
// Launcher

static_assert(ARGMAX_WARPS == 32, "the final reduction is one warp over the warps' bests");

extern "C" int wrk_cuda_argmax(const wp_host *host, const float *x, int n, int32_t *out)
{
    int rc = wrk_ops_check_argmax(x, n, out);
    if (rc)
        return rc;
    /* the kernel's int indices step past n by up to one round */
    if (n > INT_MAX - ARGMAX_UNROLL * ARGMAX_THREADS)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "argmax: n %d above %d", n,
                         INT_MAX - ARGMAX_UNROLL * ARGMAX_THREADS);
    wrk_launch(argmax_kernel, dim3(1), ARGMAX_THREADS, wrk_stream(host), x, n, out);
    rc = wrk_cuda_launch_check("argmax");
    if (rc)
        wrk_error_prefix("argmax over %d values: ", n);
    return rc;
}
