/*
 * attention_gemm.cu - prefill attention (many new tokens) as two cuBLAS products around a
 * softmax kernel, instead of attention.cu's kernel, whose warps walk the positions one at a
 * time. The products run on tensor cores at about fp32 accuracy: every fp32 operand is
 * split into f16 hi + lo parts (wrk_split_f16, ~22 bits together) and a product a.b becomes
 * ah.bh + ah.bl + al.bh (al.bl, ~2^-22 relative, is dropped), all in ONE product over a
 * three times longer reduction: the operands are laid out as [ah | ah | al] and
 * [bh | bl | bh]. fp32 accumulation; the result stays within the host set's 1e-5. (An fp32
 * SGEMM, the first version, ran on CUDA cores at 6-16 TFLOP/s here: 3.8 ms of a 14.5 ms
 * 1B prefill of 512 tokens on the H100.) Limitation, as for the F16 prefill matmul: q, k or
 * v beyond the f16 range (65504) overflow.
 *
 * For query head h over its KV head g = h / group, new tokens i < n at positions pos + i and
 * the cache rows t < len = pos + n (the new rows already stored by attention.cu):
 *   S_h[i][t] = scale * q[i,h,:] . k_cache[t,g,:]                     (GEMM, op T x N)
 *   P_h[i][t] = softmax over t <= pos + i of S_h[i][t], exactly 0 above  (softmax kernel)
 *   out[i,h,:] = sum_t P_h[i][t] v_cache[t,g,:]                        (GEMM, op N x N)
 * Split copies, made once per call in the scratch: Q3 (n rows; per head [qh | qh | ql]),
 * K3 (len rows; per KV head [kh | kl | kh]), V3 (3 len rows: vh, then vl, then vh, each
 * len rows), and per batch P3 (per query row [ph | ph | pl], each len long, zeros above
 * the causal limit), written by the softmax from the fp32 S.
 * In cuBLAS's column-major terms a row-major [rows][w] array at a column offset is a w-high
 * matrix with leading dimension = the row stride: K3 + g*3hd is 3hd x len (ld 3 kv_w), Q3 +
 * h*3hd is 3hd x n (ld 3 q_w), S_h is len x n (ld = S's row pitch); V3 + g*hd is hd x 3len
 * (ld kv_w), P3_h is 3len x n (ld = P3's row pitch), out + h*hd is hd x n (ld q_w).
 *
 * Heads go through cublasGemmStridedBatchedEx. The heads sharing a KV head do not sit at
 * one stride from all the others, so the heads are seen as a grid h = o*head_so + b*head_sb:
 * either o = the KV head and b = the head within its group (every b reads the same K/V:
 * batch stride 0), or o = the head within the group and b = the KV head (K/V stride hd),
 * whichever makes the batch (b) the longer axis: one call per o. MHA is then one call.
 *
 * The scratch (wp_host.scratch, ABI 1.1) is taken once per call and holds the split copies
 * and one batch's S and P3: work on the one stream is ordered, so a batch may overwrite
 * what the previous batch's products read. S + P3 are bounded (ATTN_GEMM_MAX_BYTES): as
 * many heads per batch as fit, and when a single head does not fit, blocks of query rows,
 * each over only the keys its last row sees (its output product still runs over all len
 * keys of P3's regions, zeros beyond).
 *
 * Cost: the products do the masked upper triangle too (up to 2x the FLOPs of a causal
 * kernel at pos 0), and three times the reduction length; tensor cores make that cheap.
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

/* Default bound on one batch's S (fp32) + P3 (3 f16 per score), 10 bytes per score: the 32
 * heads of a 512-token prefill (84 MiB) go in one batch; a 512-token chunk at position
 * 7680 takes batches of 3 heads instead of 1.3 GiB. */
#define ATTN_GEMM_MAX_BYTES ((size_t)128 << 20)
/* Rows of S and P3, and the split copies, start at 128-byte boundaries for cuBLAS's and
 * the softmax's wide, coalesced accesses: S rows are padded to 32 floats, P3 rows to 64
 * halves. */
#define ATTN_S_ALIGN 32
#define ATTN_P_ALIGN 64
#define SOFTMAX_WARPS 8 /* rows (one per warp) per softmax block */
#define SPLIT_THREADS 256
/* P is split as P * 2^15 (<= 32768, inside f16's range), and the output product scales by
 * 2^-15: unscaled, a probability below ~2^-3 has a subnormal lo part, whose 2^-24 absolute
 * step cost 1e-5 relative at 1600 keys (probabilities ~1/len). Exact powers of two. */
#define ATTN_P_SCALE 32768.0f

// ----------------------------------------------------------------------------------------
// GPU kernels

/* total = rows * w fp32 values, rows of w = heads * hd, into rows of 3 w halves: per head
 * the triple [hi | hi | lo] (K_ORDER false: queries) or [hi | lo | hi] (K_ORDER true: keys),
 * so that the products of the two layouts over 3 hd sum qh.kh + qh.kl + ql.kh. */
template <bool K_ORDER>
__global__ void __launch_bounds__(SPLIT_THREADS)
attn_split3_kernel(const float *__restrict__ x, __half *__restrict__ y, size_t total, int w,
                   int hd)
{
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < total;
         i += (size_t)gridDim.x * blockDim.x) {
        const size_t r = i / (unsigned)w;
        const int c = (int)(i - r * (unsigned)w), head = c / hd, e = c - head * hd;
        __half h, l;
        wrk_split_f16(x[i], h, l);
        __half *o = y + r * 3 * (size_t)w + (size_t)head * 3 * hd + e;
        o[0] = h;
        o[hd] = K_ORDER ? l : h;
        o[2 * hd] = K_ORDER ? h : l;
    }
}

/* total = len * w values of the V cache into three stacked copies: hi, lo, hi (the
 * partners of P3's [hi | hi | lo] regions). */
__global__ void __launch_bounds__(SPLIT_THREADS)
attn_split_v_kernel(const float *__restrict__ v, __half *__restrict__ y, size_t total)
{
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < total;
         i += (size_t)gridDim.x * blockDim.x) {
        __half h, l;
        wrk_split_f16(v[i], h, l);
        y[i] = h;
        y[total + i] = l;
        y[2 * total + i] = h;
    }
}

/* Rows r < n_rows of S (row pitch ld) into rows of P3 (pitch ld3): row r is query token
 * i0 + r % blk_rows of some head, which sees keys t < valid = first_valid + r % blk_rows
 * (<= len). P = exp(s - max) / sum for t < valid and 0 for valid <= t < len, written as
 * [ph | ph | pl] regions of len each. One warp per row: an online max/sum in one read, then
 * one write pass. P3 holds P * ATTN_P_SCALE. */
__global__ void __launch_bounds__(SOFTMAX_WARPS * 32)
attn_softmax_kernel(const float *__restrict__ s, size_t n_rows, int ld, __half *__restrict__ p3,
                    int ld3, int len, int blk_rows, int first_valid)
{
    const size_t r = (size_t)blockIdx.x * SOFTMAX_WARPS + (threadIdx.x >> 5);
    const int lane = threadIdx.x & 31;
    if (r >= n_rows)
        return; /* whole warps leave: the shuffles below see all 32 lanes */
    const float *row = s + r * (size_t)ld;
    __half *prow = p3 + r * (size_t)ld3;
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
    for (int t = lane; t < len; t += 32) {
        __half h, lo;
        wrk_split_f16(t < valid ? expf(row[t] - M) * inv * ATTN_P_SCALE : 0.0f, h, lo);
        prow[t] = h;
        prow[len + t] = h;
        prow[2 * len + t] = lo;
    }
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
    int n, pos, hd, len;     /* len = pos + n: the keys of the call */
    int q_w, kv_w;           /* row strides of q/out and of the caches, in floats */
    int n_outer, n_inner;    /* head grid: one cuBLAS call per outer index */
    int head_so, head_sb;    /* head(o, b) = o * head_so + b * head_sb */
    int kv_so, kv_sb;        /* its KV head = o * kv_so + b * kv_sb */
    int ld;                  /* S row pitch: len rounded up to ATTN_S_ALIGN */
    int ld3;                 /* P3 row pitch: 3 len rounded up to ATTN_P_ALIGN */
    int heads;               /* heads per batch (S and P3 slots) */
    int blk_rows;            /* query rows per block: n unless one head's S + P3 is too big */
    float scale;
};

/* The call's scratch: the split copies (see the top) and one batch's S and P3. */
struct attn_bufs {
    __half *q3, *k3, *v3, *p3;
    float *s;
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
    pl->len = len;
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
    /* cuBLAS takes int leading dimensions; wrk_cuda_attention_gemm leaves calls whose
     * 3 len does not fit one to the kernel */
    pl->ld = (int)(((long long)len + ATTN_S_ALIGN - 1) / ATTN_S_ALIGN * ATTN_S_ALIGN);
    pl->ld3 = (int)((3LL * len + ATTN_P_ALIGN - 1) / ATTN_P_ALIGN * ATTN_P_ALIGN);

    const size_t cap = s_max_bytes();
    const size_t row_bytes = (size_t)pl->ld * sizeof(float) + (size_t)pl->ld3 * sizeof(__half);
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

/* Bytes rounded up to the 128-byte alignment of every scratch region. */
static size_t align128(size_t bytes)
{
    return (bytes + 127) & ~(size_t)127;
}

/* Bytes of the split copies, and of one batch's S and P3. */
static size_t plan_split_bytes(const attn_plan *pl)
{
    const size_t h = sizeof(__half);
    return align128((size_t)pl->n * 3 * pl->q_w * h) +
           2 * align128((size_t)pl->len * 3 * pl->kv_w * h);
}

static size_t plan_batch_bytes(const attn_plan *pl)
{
    const size_t rows = (size_t)pl->heads * pl->blk_rows;
    return align128(rows * pl->ld * sizeof(float)) + rows * pl->ld3 * sizeof(__half);
}

/* Cut the scratch at base (128-byte aligned) into the regions. */
static void bufs_carve(const attn_plan *pl, char *base, attn_bufs *b)
{
    const size_t h = sizeof(__half);
    b->q3 = (__half *)base;
    base += align128((size_t)pl->n * 3 * pl->q_w * h);
    b->k3 = (__half *)base;
    base += align128((size_t)pl->len * 3 * pl->kv_w * h);
    b->v3 = (__half *)base;
    base += align128((size_t)pl->len * 3 * pl->kv_w * h);
    b->s = (float *)base;
    base += align128((size_t)pl->heads * pl->blk_rows * pl->ld * sizeof(float));
    b->p3 = (__half *)base;
}

/* Keys of batch b: those its last query row sees. */
static int batch_len(const attn_plan *pl, const attn_batch *b)
{
    return pl->pos + b->i0 + b->rows;
}

/* Elements between the S (slot) and the P3 (slot3) of two heads of batch b. */
static long long batch_slot(const attn_plan *pl, const attn_batch *b)
{
    return (long long)b->rows * pl->ld;
}

static long long batch_slot3(const attn_plan *pl, const attn_batch *b)
{
    return (long long)b->rows * pl->ld3;
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
 * scale * K3^T Q3 with K3 = the split keys' 3hd x len view at the KV head, Q3 = the split
 * queries' 3hd x rows view at the head. Batch strides: head_sb * 3hd in Q3, kv_sb * 3hd in
 * K3 (0: one KV head). */
static cublasStatus_t scores_gemm(cublasHandle_t h, const attn_plan *pl, const attn_batch *b,
                                  int o, const attn_bufs *bf)
{
    const float zero = 0.0f;
    const int head = grid_head(pl, o, b->b0), kv = grid_kv(pl, o, b->b0), hd3 = 3 * pl->hd;
    const long long slot = batch_slot(pl, b);
    return cublasGemmStridedBatchedEx(
        h, CUBLAS_OP_T, CUBLAS_OP_N, batch_len(pl, b), b->rows, hd3, &pl->scale,
        bf->k3 + (size_t)kv * hd3, CUDA_R_16F, 3 * pl->kv_w, (long long)pl->kv_sb * hd3,
        bf->q3 + (size_t)b->i0 * 3 * pl->q_w + (size_t)head * hd3, CUDA_R_16F, 3 * pl->q_w,
        (long long)pl->head_sb * hd3, &zero, bf->s + (size_t)(o - b->o0) * b->bc * slot,
        CUDA_R_32F, pl->ld, slot, b->bc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
}

/* out rows of heads (o, b0..b0+bc-1): per head, C (hd x rows at out's head column, ld q_w)
 * = V3 P3 / ATTN_P_SCALE with V3 = the split values' hd x 3len view at the KV head, P3 =
 * the head's 3len x rows scaled probabilities. */
static cublasStatus_t output_gemm(cublasHandle_t h, const attn_plan *pl, const attn_batch *b,
                                  int o, const attn_bufs *bf, float *out)
{
    const float unscale = 1.0f / ATTN_P_SCALE, zero = 0.0f;
    const int head = grid_head(pl, o, b->b0), kv = grid_kv(pl, o, b->b0);
    const long long slot3 = batch_slot3(pl, b);
    return cublasGemmStridedBatchedEx(
        h, CUBLAS_OP_N, CUBLAS_OP_N, pl->hd, b->rows, 3 * pl->len, &unscale,
        bf->v3 + (size_t)kv * pl->hd, CUDA_R_16F, pl->kv_w, (long long)pl->kv_sb * pl->hd,
        bf->p3 + (size_t)(o - b->o0) * b->bc * slot3, CUDA_R_16F, pl->ld3, slot3, &zero,
        out + (size_t)b->i0 * pl->q_w + (size_t)head * pl->hd, CUDA_R_32F, pl->q_w,
        (long long)pl->head_sb * pl->hd, b->bc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
}

static unsigned split_blocks(size_t total)
{
    const size_t b = (total + SPLIT_THREADS - 1) / SPLIT_THREADS;
    return (unsigned)(b < 8192 ? b : 8192);
}

/* The split copies of the call's queries and of the cache's len keys and values. */
static int split_launch(cudaStream_t st, const attn_plan *pl, const float *q,
                        const float *k_cache, const float *v_cache, const attn_bufs *bf)
{
    const size_t nq = (size_t)pl->n * pl->q_w, nkv = (size_t)pl->len * pl->kv_w;
    attn_split3_kernel<false><<<split_blocks(nq), SPLIT_THREADS, 0, st>>>(q, bf->q3, nq,
                                                                         pl->q_w, pl->hd);
    attn_split3_kernel<true><<<split_blocks(nkv), SPLIT_THREADS, 0, st>>>(k_cache, bf->k3, nkv,
                                                                         pl->kv_w, pl->hd);
    attn_split_v_kernel<<<split_blocks(nkv), SPLIT_THREADS, 0, st>>>(v_cache, bf->v3, nkv);
    return wrk_cuda_launch_check("attention split");
}

static int softmax_launch(cudaStream_t st, const attn_plan *pl, const attn_batch *b,
                          const attn_bufs *bf)
{
    const size_t n_rows = (size_t)b->oc * b->bc * b->rows;
    const unsigned blocks = (unsigned)((n_rows + SOFTMAX_WARPS - 1) / SOFTMAX_WARPS);
    attn_softmax_kernel<<<blocks, SOFTMAX_WARPS * 32, 0, st>>>(
        bf->s, n_rows, pl->ld, bf->p3, pl->ld3, pl->len, b->rows, pl->pos + b->i0 + 1);
    return wrk_cuda_launch_check("attention softmax");
}

/* The error of a failed product over the heads (o, b0..b0+bc-1) of batch b. */
static int gemm_fail(const attn_plan *pl, const attn_batch *b, int o, const char *what,
                     cublasStatus_t cs)
{
    return wrk_error(CUDA_ERROR_INFERENCE_FAILED,
                     "attention (n %d pos %d head_dim %d): %s product of %d heads from head %d, "
                     "rows %d..%d: cublasGemmStridedBatchedEx: %s",
                     pl->n, pl->pos, pl->hd, what, b->bc, grid_head(pl, o, b->b0), b->i0,
                     b->i0 + b->rows - 1, wrk_cublas_status_name(cs));
}

/* One batch: the scores of its heads into S, the softmax over all its rows, the outputs. */
static int batch_run(cublasHandle_t h, cudaStream_t st, const attn_plan *pl,
                     const attn_batch *b, const attn_bufs *bf, float *out)
{
    cublasStatus_t cs;
    for (int o = b->o0; o < b->o0 + b->oc; o++)
        if ((cs = scores_gemm(h, pl, b, o, bf)) != CUBLAS_STATUS_SUCCESS)
            return gemm_fail(pl, b, o, "scores", cs);
    int rc = softmax_launch(st, pl, b, bf);
    if (rc)
        return rc;
    for (int o = b->o0; o < b->o0 + b->oc; o++)
        if ((cs = output_gemm(h, pl, b, o, bf, out)) != CUBLAS_STATUS_SUCCESS)
            return gemm_fail(pl, b, o, "output", cs);
    return 0;
}

/* Every batch of the plan for the query rows i0..i0+rows-1: whole outer rows of the head
 * grid per batch when they fit, else one outer index in slices of the inner axis. */
static int rows_run(cublasHandle_t h, cudaStream_t st, const attn_plan *pl, int i0, int rows,
                    const attn_bufs *bf, float *out)
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
            rc = batch_run(h, st, pl, &b, bf, out);
        }
        return rc;
    }
    b.oc = 1;
    for (b.o0 = 0; !rc && b.o0 < pl->n_outer; b.o0++)
        for (b.b0 = 0; !rc && b.b0 < pl->n_inner; b.b0 += pl->heads) {
            b.bc = pl->n_inner - b.b0 < pl->heads ? pl->n_inner - b.b0 : pl->heads;
            rc = batch_run(h, st, pl, &b, bf, out);
        }
    return rc;
}

/* The scratch, 128-byte aligned; NULL when the host cannot give it. The contract promises
 * no alignment, but the buffers are cudaMalloc'd (256-byte aligned): the exact size first,
 * so that alignment slack does not push the runtime's rounding of scratch sizes (16 MiB
 * steps) a step up; a misaligned buffer costs a second, larger request (nothing queued uses
 * the first one yet). */
static char *scratch_take(const wp_host *host, size_t bytes)
{
    uintptr_t p = (uintptr_t)host->scratch(host, bytes);
    if (p & 127)
        p = (uintptr_t)host->scratch(host, bytes + 127);
    return p ? (char *)((p + 127) & ~(uintptr_t)127) : NULL;
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
        !wrk_host_has_scratch(host) || (long long)p->pos + p->n_tokens > INT_MAX / 3 - 64)
        return 0;
    attn_plan pl;
    plan_make(p, &pl);
    const size_t bytes = plan_split_bytes(&pl) + plan_batch_bytes(&pl);
    char *base = scratch_take(host, bytes);
    if (!base) {
        warn_no_scratch(host, bytes);
        return 0;
    }
    attn_bufs bf;
    bufs_carve(&pl, base, &bf);
    *done = 1;
    const cudaStream_t st = wrk_stream(host);
    cublasHandle_t h = (cublasHandle_t)host->cublas;
    cublasStatus_t cs = wrk_cublas_bind(h, st);
    if (cs != CUBLAS_STATUS_SUCCESS)
        return wrk_error(CUDA_ERROR_INFERENCE_FAILED, "attention: binding cuBLAS: %s",
                         wrk_cublas_status_name(cs));
    int rc = split_launch(st, &pl, q, k_cache, v_cache, &bf);
    for (int i0 = 0; !rc && i0 < pl.n; i0 += pl.blk_rows) {
        const int rows = pl.n - i0 < pl.blk_rows ? pl.n - i0 : pl.blk_rows;
        rc = rows_run(h, st, &pl, i0, rows, &bf, out);
    }
    return rc;
}
