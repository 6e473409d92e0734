/*
 * attention_gemm.cu - prefill attention (many new tokens) as two cuBLAS products around a
 * softmax kernel, instead of attention.cu's kernel, whose warps walk the positions one at a
 * time. fp32 throughout: SGEMM in the default math mode (no TF32), so the result stays
 * within the host set's 1e-5.
 *
 * For query head h over its KV head g = h / group, new tokens i < n at positions pos + i and
 * the cache rows t < len (the new rows already stored by attention.cu):
 *   S_h[i][t] = scale * q[i,h,:] . k_cache[t,g,:]                     (SGEMM, op T x N)
 *   P_h[i][t] = softmax over t <= pos + i of S_h[i][t], exactly 0 above  (softmax kernel)
 *   out[i,h,:] = sum_t P_h[i][t] v_cache[t,g,:]                        (SGEMM, op N x N)
 * In cuBLAS's column-major terms a row-major [rows][w] array at a column offset is a w-high
 * matrix with leading dimension = the row stride: k_cache + g*hd is hd x len (ld kv_w), q +
 * h*hd is hd x n (ld q_w), S_h is len x n (ld = S's row pitch), out + h*hd is hd x n (ld q_w).
 *
 * Heads go through cublasSgemmStridedBatched. The heads sharing a KV head do not sit at one
 * stride from all the others, so the heads are seen as a grid h = o*head_so + b*head_sb:
 * either o = the KV head and b = the head within its group (every b reads the same K/V:
 * batch stride 0), or o = the head within the group and b = the KV head (K/V stride hd),
 * whichever makes the batch (b) the longer axis: one call per o. MHA is then one call.
 *
 * S lives in the host's scratch (wp_host.scratch, ABI 1.1), taken once per call and used by
 * every batch: work on the one stream is ordered, so a batch may overwrite the S the
 * previous batch's output product read. S is bounded (ATTN_GEMM_MAX_BYTES): as many heads
 * per batch as fit, and when a single head's S does not fit, blocks of query rows, each
 * over only the keys its last row sees.
 *
 * Cost: the products do the masked upper triangle too (up to 2x the FLOPs of a causal
 * kernel at pos 0), still far below the kernel's time at prefill sizes.
 * Test: tests/ops/test_ops_cuda (test_attention, test_attention_gemm).
 */
#include "config.h"

#include <cstddef>
#include <climits>
#include <cstdlib>
#include <math.h>

#include <cublas_v2.h>

#include "ops/cuda/cublas_common.cuh"
#include "ops/cuda/cuda_common.cuh"
#include "ops/cuda/cuda_ops.h"
#include "ops/ops_internal.h"

/* Default bound on S: 32 heads of a 512-token prefill (32 MiB) go in one batch; a 512-token
 * chunk at position 7680 takes 8 batches of 4 heads instead of 512 MiB. */
#define ATTN_GEMM_MAX_BYTES ((size_t)64 << 20)
/* S rows are padded to this many floats (128 bytes): every row and every head's S starts
 * aligned for cuBLAS's and the softmax's wide, coalesced accesses. */
#define ATTN_S_ALIGN 32
#define SOFTMAX_WARPS 8 /* rows (one per warp) per softmax block */

// ----------------------------------------------------------------------------------------
// GPU kernel

/* In place over rows r < n_rows of S (row pitch ld): row r is query token i0 + r % blk_rows
 * of some head, which sees keys t < valid = first_valid + r % blk_rows (<= len). Writes
 * exp(s - max) / sum for t < valid and 0 for valid <= t < len, so the output product can run
 * over all len keys. One warp per row: an online max/sum in one read, then one write pass. */
__global__ void __launch_bounds__(SOFTMAX_WARPS * 32)
attn_softmax_kernel(float *__restrict__ s, size_t n_rows, int ld, int len, int blk_rows,
                    int first_valid)
{
    const size_t r = (size_t)blockIdx.x * SOFTMAX_WARPS + (threadIdx.x >> 5);
    const int lane = threadIdx.x & 31;
    if (r >= n_rows)
        return; /* whole warps leave: the shuffles below see all 32 lanes */
    float *row = s + r * (size_t)ld;
    const int valid = first_valid + (int)(r % (size_t)blk_rows);

    float m = -INFINITY, l = 0.0f; /* this lane's running max and sum of exp(x - m) */
    for (int t = lane; t < valid; t += 32) {
        const float x = row[t];
        if (x > m) {
            l = l * expf(m - x) + 1.0f; /* first position: 0 * exp(-inf) = 0, l = 1 */
            m = x;
        } else {
            l += expf(x - m);
        }
    }
    /* merge the lanes: lane 0 always holds t = 0, so M is finite; a lane without positions
     * (l = 0, m = -inf) contributes 0 */
    const float M = warp_max(m);
    const float L = warp_sum(l > 0.0f ? l * expf(m - M) : 0.0f);
    const float inv = 1.0f / L;
    for (int t = lane; t < len; t += 32)
        row[t] = t < valid ? expf(row[t] - M) * inv : 0.0f;
}

// ----------------------------------------------------------------------------------------
// Host side: planning and launches

/* The per-process bound on S; WORKER_ATTN_GEMM_MAX_BYTES (bytes, > 0) overrides it, read
 * once, so tests can force batching on small shapes. Racing first calls agree. */
static size_t s_max_bytes(void)
{
    static volatile size_t cap = 0;
    if (cap == 0) {
        size_t v = ATTN_GEMM_MAX_BYTES;
        const char *env = getenv("WORKER_ATTN_GEMM_MAX_BYTES");
        if (env && *env) {
            char *end = NULL;
            const unsigned long long e = strtoull(env, &end, 10);
            if (end && *end == '\0' && e > 0)
                v = (size_t)e;
        }
        cap = v;
    }
    return cap;
}

/* How one call is cut into batches (see the top). */
struct attn_plan {
    int n, pos, hd;
    int q_w, kv_w;           /* row strides of q/out and of the caches, in floats */
    int n_outer, n_inner;    /* head grid: one cuBLAS call per outer index */
    int head_so, head_sb;    /* head(o, b) = o * head_so + b * head_sb */
    int kv_so, kv_sb;        /* its KV head = o * kv_so + b * kv_sb */
    int ld;                  /* S row pitch: len rounded up to ATTN_S_ALIGN */
    int heads;               /* heads per batch (S slots) */
    int blk_rows;            /* query rows per block: n unless one head's S is too big */
    float scale;
};

/* The batch as a set of heads: outer o0..o0+oc-1, each with inner b0..b0+bc-1; S slot of
 * head (o, b) is (o - o0) * bc + (b - b0). And the query rows i0..i0+rows-1. */
struct attn_batch {
    int o0, oc, b0, bc;
    int i0, rows;
};

static void plan_make(const wp_attention_params *p, attn_plan *pl)
{
    const int group = p->n_heads / p->n_kv_heads, nkv = p->n_kv_heads;
    const int len = p->pos + p->n_tokens;
    pl->n = p->n_tokens;
    pl->pos = p->pos;
    pl->hd = p->head_dim;
    pl->q_w = p->n_heads * p->head_dim;
    pl->kv_w = nkv * p->head_dim;
    pl->scale = p->scale;
    if (group >= nkv) { /* o = KV head, b = head in its group: K/V broadcast over b */
        pl->n_outer = nkv, pl->n_inner = group;
        pl->head_so = group, pl->head_sb = 1;
        pl->kv_so = 1, pl->kv_sb = 0;
    } else {            /* o = head in the group, b = KV head */
        pl->n_outer = group, pl->n_inner = nkv;
        pl->head_so = 1, pl->head_sb = group;
        pl->kv_so = 0, pl->kv_sb = 1;
    }
    const long long ld = ((long long)len + ATTN_S_ALIGN - 1) / ATTN_S_ALIGN * ATTN_S_ALIGN;
    pl->ld = ld <= INT_MAX ? (int)ld : len; /* cuBLAS takes an int leading dimension */

    const size_t cap = s_max_bytes(), row_bytes = (size_t)pl->ld * sizeof(float);
    const size_t head_bytes = (size_t)pl->n * row_bytes;
    if (head_bytes <= cap) {
        size_t heads = cap / head_bytes;
        if (heads >= (size_t)pl->n_inner) /* whole outer rows of the grid, so one call each */
            heads = heads / pl->n_inner * pl->n_inner;
        pl->heads = heads < (size_t)p->n_heads ? (int)heads : p->n_heads;
        pl->blk_rows = pl->n;
    } else { /* one head at a time, in blocks of query rows (at least one: correctness first) */
        const size_t rows = cap / row_bytes;
        pl->heads = 1;
        pl->blk_rows = rows < 1 ? 1 : (int)rows;
    }
}

/* Bytes of S one batch can fill. */
static size_t plan_s_bytes(const attn_plan *pl)
{
    return (size_t)pl->heads * pl->blk_rows * pl->ld * sizeof(float);
}

/* Keys of batch b: those its last query row sees. */
static int batch_len(const attn_plan *pl, const attn_batch *b)
{
    return pl->pos + b->i0 + b->rows;
}

/* Floats between the S of two heads of batch b. */
static long long batch_slot(const attn_plan *pl, const attn_batch *b)
{
    return (long long)b->rows * pl->ld;
}

/* Head and KV head of grid point (o, b). */
static int grid_head(const attn_plan *pl, int o, int b)
{
    return o * pl->head_so + b * pl->head_sb;
}

static int grid_kv(const attn_plan *pl, int o, int b)
{
    return o * pl->kv_so + b * pl->kv_sb;
}

/* S of heads (o, b0..b0+bc-1) for the batch's query rows: per head, C (len x rows, ld) =
 * scale * K^T Q with K = the cache's hd x len view at the KV head, Q = q's hd x rows view at
 * the head. Batch strides: head_sb * hd in q, kv_sb * hd in the cache (0: one KV head). */
static cublasStatus_t scores_gemm(cublasHandle_t h, const attn_plan *pl, const attn_batch *b,
                                  int o, const float *q, const float *k_cache, float *s)
{
    const float zero = 0.0f;
    const int head = grid_head(pl, o, b->b0), kv = grid_kv(pl, o, b->b0);
    const long long slot = batch_slot(pl, b);
    return cublasSgemmStridedBatched(
        h, CUBLAS_OP_T, CUBLAS_OP_N, batch_len(pl, b), b->rows, pl->hd, &pl->scale,
        k_cache + (size_t)kv * pl->hd, pl->kv_w, (long long)pl->kv_sb * pl->hd,
        q + (size_t)b->i0 * pl->q_w + (size_t)head * pl->hd, pl->q_w,
        (long long)pl->head_sb * pl->hd, &zero, s + (size_t)(o - b->o0) * b->bc * slot, pl->ld,
        slot, b->bc);
}

/* out rows of heads (o, b0..b0+bc-1): per head, C (hd x rows at out's head column, ld q_w)
 * = V P with V = the cache's hd x len view at the KV head, P = the head's S (len x rows). */
static cublasStatus_t output_gemm(cublasHandle_t h, const attn_plan *pl, const attn_batch *b,
                                  int o, const float *v_cache, const float *s, float *out)
{
    const float one = 1.0f, zero = 0.0f;
    const int head = grid_head(pl, o, b->b0), kv = grid_kv(pl, o, b->b0);
    const long long slot = batch_slot(pl, b);
    return cublasSgemmStridedBatched(
        h, CUBLAS_OP_N, CUBLAS_OP_N, pl->hd, b->rows, batch_len(pl, b), &one,
        v_cache + (size_t)kv * pl->hd, pl->kv_w, (long long)pl->kv_sb * pl->hd,
        s + (size_t)(o - b->o0) * b->bc * slot, pl->ld, slot, &zero,
        out + (size_t)b->i0 * pl->q_w + (size_t)head * pl->hd, pl->q_w,
        (long long)pl->head_sb * pl->hd, b->bc);
}

static int softmax_launch(cudaStream_t st, const attn_plan *pl, const attn_batch *b, float *s)
{
    const size_t n_rows = (size_t)b->oc * b->bc * b->rows;
    const unsigned blocks = (unsigned)((n_rows + SOFTMAX_WARPS - 1) / SOFTMAX_WARPS);
    attn_softmax_kernel<<<blocks, SOFTMAX_WARPS * 32, 0, st>>>(
        s, n_rows, pl->ld, batch_len(pl, b), b->rows, pl->pos + b->i0 + 1);
    return wrk_cuda_launch_check("attention softmax");
}

/* The error of a failed product over the heads (o, b0..b0+bc-1) of batch b. */
static int gemm_fail(const attn_plan *pl, const attn_batch *b, int o, const char *what,
                     cublasStatus_t cs)
{
    return wrk_error(CUDA_ERROR_INFERENCE_FAILED,
                     "attention (n %d pos %d head_dim %d): %s product of %d heads from head %d, "
                     "rows %d..%d: cublasSgemmStridedBatched: %s",
                     pl->n, pl->pos, pl->hd, what, b->bc, grid_head(pl, o, b->b0), b->i0,
                     b->i0 + b->rows - 1, wrk_cublas_status_name(cs));
}

/* One batch: the scores of its heads into S, the softmax over all its rows, the outputs. */
static int batch_run(cublasHandle_t h, cudaStream_t st, const attn_plan *pl,
                     const attn_batch *b, const float *q, const float *k_cache,
                     const float *v_cache, float *s, float *out)
{
    cublasStatus_t cs;
    for (int o = b->o0; o < b->o0 + b->oc; o++)
        if ((cs = scores_gemm(h, pl, b, o, q, k_cache, s)) != CUBLAS_STATUS_SUCCESS)
            return gemm_fail(pl, b, o, "scores", cs);
    int rc = softmax_launch(st, pl, b, s);
    if (rc)
        return rc;
    for (int o = b->o0; o < b->o0 + b->oc; o++)
        if ((cs = output_gemm(h, pl, b, o, v_cache, s, out)) != CUBLAS_STATUS_SUCCESS)
            return gemm_fail(pl, b, o, "output", cs);
    return 0;
}

/* Every batch of the plan for the query rows i0..i0+rows-1: whole outer rows of the head
 * grid per batch when they fit, else one outer index in slices of the inner axis. */
static int rows_run(cublasHandle_t h, cudaStream_t st, const attn_plan *pl, int i0, int rows,
                    const float *q, const float *k_cache, const float *v_cache, float *s,
                    float *out)
{
    attn_batch b;
    b.i0 = i0;
    b.rows = rows;
    int rc = 0;
    if (pl->heads >= pl->n_inner) {
        const int per = pl->heads / pl->n_inner;
        b.b0 = 0;
        b.bc = pl->n_inner;
        for (b.o0 = 0; !rc && b.o0 < pl->n_outer; b.o0 += per) {
            b.oc = pl->n_outer - b.o0 < per ? pl->n_outer - b.o0 : per;
            rc = batch_run(h, st, pl, &b, q, k_cache, v_cache, s, out);
        }
        return rc;
    }
    b.oc = 1;
    for (b.o0 = 0; !rc && b.o0 < pl->n_outer; b.o0++)
        for (b.b0 = 0; !rc && b.b0 < pl->n_inner; b.b0 += pl->heads) {
            b.bc = pl->n_inner - b.b0 < pl->heads ? pl->n_inner - b.b0 : pl->heads;
            rc = batch_run(h, st, pl, &b, q, k_cache, v_cache, s, out);
        }
    return rc;
}

/* S from the scratch, 128-byte aligned; NULL when the host cannot give it. The contract
 * promises no alignment, but the buffers are cudaMalloc'd (256-byte aligned): the exact size
 * first, so that alignment slack does not push the runtime's rounding of scratch sizes (16
 * MiB steps) a step up for an S of exactly 32 MiB; a misaligned buffer costs a second,
 * larger request (nothing queued uses the first one yet). */
static float *s_take(const wp_host *host, size_t bytes)
{
    uintptr_t p = (uintptr_t)host->scratch(host, bytes);
    if (p & 127)
        p = (uintptr_t)host->scratch(host, bytes + 127);
    return p ? (float *)((p + 127) & ~(uintptr_t)127) : NULL;
}

/* Said once per process: the kernel is slower at prefill but needs no memory. */
static void warn_no_scratch(const wp_host *host, size_t bytes)
{
    static volatile int said = 0;
    if (said || !host->log)
        return;
    said = 1;
    host->log(host, WP_LOG_WARN,
              "attention: no scratch for the cuBLAS path (%zu bytes: %s); using the kernel",
              bytes, wrk_error_detail());
}

extern "C" int wrk_cuda_attention_gemm(const wp_host *host, const wp_attention_params *p,
                                       const float *q, const float *k_cache,
                                       const float *v_cache, float *out, int *done)
{
    *done = 0;
    if (p->n_tokens < WRK_ATTN_GEMM_MIN_TOKENS || !host || !host->cublas ||
        !wrk_host_has_scratch(host))
        return 0;
    attn_plan pl;
    plan_make(p, &pl);
    const size_t bytes = plan_s_bytes(&pl);
    float *s = s_take(host, bytes);
    if (!s) {
        warn_no_scratch(host, bytes);
        return 0;
    }
    *done = 1;
    const cudaStream_t st = wrk_stream(host);
    cublasHandle_t h = (cublasHandle_t)host->cublas;
    cublasStatus_t cs = wrk_cublas_bind(h, st);
    if (cs != CUBLAS_STATUS_SUCCESS)
        return wrk_error(CUDA_ERROR_INFERENCE_FAILED, "attention: binding cuBLAS: %s",
                         wrk_cublas_status_name(cs));
    int rc = 0;
    for (int i0 = 0; !rc && i0 < pl.n; i0 += pl.blk_rows) {
        const int rows = pl.n - i0 < pl.blk_rows ? pl.n - i0 : pl.blk_rows;
        rc = rows_run(h, st, &pl, i0, rows, q, k_cache, v_cache, s, out);
    }
    return rc;
}
