/*
 * matmul.cu - y[n][out] = x[n][in] * W^T (+ bias) on the GPU, for every weight type.
 *
 * Decode (n small) is bound by reading W once: one warp per output row (two for Q4_K, and
 * for the large Q8_0/Q4_0/Q6_K matrices, so each x load serves both) streams the row with
 * wide read-only loads (16 bytes where the layout allows), with all of a 2048-wide row's
 * loads in flight per lane before the first use, dequantizes in registers (integers to
 * float without I2F, see quant_traits.cuh), and
 * multiplies each weight by up to 8 columns of x at once (x is small and stays in L1/L2),
 * accumulating in fp32 and reducing with warp shuffles. x stays fp32 here; the decode
 * (n = 1) products where int8 x with dp4a measured faster (Q4_K, large Q6_K, Q8_0 rows of
 * >= 1024 elements read through the staged kernel), take
 * matmul_int8.cu instead (wrk_cuda_int8_takes), at a bound the tests derive from the
 * rounding of x. Few long rows of a quantized type: the block's warps share each row group
 * (split-K, gemv_split_k). Larger n (prefill) goes to cuBLAS (matmul_gemm.cu) where
 * wrk_cuda_gemm_takes() says so; otherwise the GEMV kernel runs over tiles of 8 columns
 * (one launch for the full tiles, one for the rest).
 *
 * One launch serves several weights over the same x (matmul_multi: q, k and v), may add
 * into y (the residual), or computes silu(gate) * up from two weights in one warp
 * (matmul_glu). Kernels use programmatic dependent launch (cuda_common.cuh): the first
 * round of weight loads is issued before waiting for the kernel that produces x.
 *
 * Test: tests/ops/test_ops_cuda, test_ops_fused_cuda (against the host set); time:
 * tests/ops/bench_gemv.
 */
#include "config.h"

#include <cstdlib>
#include <cstring>

#include "core/wrk_env.h"
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
 * A GLU warp reads the same row of the gate and of the up weight (R = 2) with the unroll
 * scaled so it has as many bytes in flight as the plain decode kernel.
 * With these every variant compiles without spills and within 128 registers (>= 16 warps
 * per SM). No min-blocks in __launch_bounds__: with one, nvcc schedules for the cap and
 * spent up to 255 registers (Q4_K, NC = 8). Check `-Xptxas -v` after any change here. */
template <class T, int NC, bool GLU = false, bool PAIR = false>
struct GemvShape {
    static constexpr int R = GLU || PAIR ? 2 : NC == 1 ? T::ROWS : 1;
    static constexpr int U = GLU || PAIR ? (T::UNROLL * T::ROWS / 2 > 1 ? T::UNROLL * T::ROWS / 2
                                                                        : 1)
                             : NC == 1 ? T::UNROLL
                             : T::UNROLL / 2 > 2 ? T::UNROLL / 2 : 2;
    static constexpr int RO = GLU ? 1 : R; /* output rows per warp */
};

/* PAIR (decode, one row per warp in the trait): two rows per warp share each x load, with
 * half the unroll. Measured on the H100 (bench_gemv graph, docs/performance.md): for the
 * 2-byte aligned quantized layouts it helps matrices of >= 4096 rows (Q8_0 128256x2048
 * 261 -> 160 us, 8192x2048 19.2 -> 12.5 us; Q6_K 152 -> 124 us) and hurts 2048-row ones
 * (fewer warps than the GPU holds); F16 gains nothing. */
template <class T> struct GemvPairs { static constexpr bool value = false; };
template <> struct GemvPairs<TraitQ8_0> { static constexpr bool value = true; };
template <> struct GemvPairs<TraitQ4_0> { static constexpr bool value = true; };
template <> struct GemvPairs<TraitQ6_K> { static constexpr bool value = true; };
#define GEMV_PAIR_MIN_ROWS 4096

/* One weight of a launch. The parts of matmul_multi (q, k, v of a layer) share x, the type
 * and `in`; blocks [block0, the next part's block0) serve this part. A GLU launch has one
 * part whose rows pair with the same rows of up_W. */
struct GemvPart {
    const uint8_t *W;
    float *y;
    const float *bias;
    int out;
    int block0;
};

struct GemvArgs {
    GemvPart p[WP_MATMUL_MAX_PARTS];
    int count;
    int accumulate;      /* y += result */
    const uint8_t *up_W; /* GLU only */
    size_t row_bytes;
    int in;
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

/* One warp per R consecutive output rows of a part's W, NC columns of x/y (R, U:
 * GemvShape). Items are walked lane, lane + 32, ...: U of them per row are loaded before
 * any is used, so a warp has U * R wide loads per lane in flight; for a 2048-wide row that
 * is the whole row, one memory round trip. Rows past `out` (the last warp's tail) read row
 * out - 1 again and are not stored, so all lanes stay in the shuffles. GLU (NC = 1): row q
 * of gate and of up in one warp, y[q] = silu(gate) * up.
 * KS = GEMV_WARPS (split-K): the block's warps share its R rows, each walking every
 * KS-th group of 32 items, and add their sums through shared memory - for long rows of a
 * matrix with too few rows to fill the GPU, whose warps would otherwise go through the row
 * in several dependent round trips (gemv_split_k).
 * PIPE (half-rounds): the same U items per lane in flight, in two halves of U / 2, the next
 * half requested before the current one is used, so a warp never waits with nothing in
 * flight - for long rows in a one-wave launch, whose warps otherwise run in step
 * (gemv_pipe). */
template <class T, int NC, bool XV, bool GLU, bool PAIR, int KS = 1, bool PIPE = false>
__global__ void __launch_bounds__(GEMV_WARPS * 32)
matmul_gemv_kernel(const GemvArgs a, const float *__restrict__ x)
{
    static_assert(KS == 1 || (KS == GEMV_WARPS && !GLU), "split-K: the block's warps, no GLU");
    constexpr int NV = T::NRUN * T::RUNLEN;
    constexpr int U = GemvShape<T, NC, GLU, PAIR>::U;
    constexpr int R = GemvShape<T, NC, GLU, PAIR>::R;
    constexpr int RO = GemvShape<T, NC, GLU, PAIR>::RO;
    /* the part of this block, picked with constant indices (a run-time index into the
     * parameter struct would copy it to local memory) */
    const uint8_t *W = a.p[0].W;
    float *y = a.p[0].y;
    const float *bias = a.p[0].bias;
    int out = a.p[0].out, block0 = 0;
#pragma unroll
    for (int i = 1; i < WP_MATMUL_MAX_PARTS; i++)
        if (i < a.count && (int)blockIdx.x >= a.p[i].block0) {
            W = a.p[i].W;
            y = a.p[i].y;
            bias = a.p[i].bias;
            out = a.p[i].out;
            block0 = a.p[i].block0;
        }
    const int in = a.in;
    const size_t row_bytes = a.row_bytes;
    const int lane = threadIdx.x & 31;
    /* item walk: lane of a warp, or of the whole block with split-K */
    const int walker = KS == 1 ? lane : (int)threadIdx.x;
    const int row0 = KS == 1 ? (((int)blockIdx.x - block0) * GEMV_WARPS + (threadIdx.x >> 5)) * RO
                             : ((int)blockIdx.x - block0) * RO;
    if (row0 >= out) { /* block-uniform with split-K, so the barrier below is safe */
        wrk_pdl_trigger();
        return; /* whole warps only: no block-wide barrier below */
    }
    const size_t col0 = (size_t)blockIdx.y * NC;
    x += col0 * in;
    y += col0 * out;
    const uint8_t *wr[R];
    if constexpr (GLU) {
        wr[0] = W + (size_t)row0 * row_bytes;
        wr[1] = a.up_W + (size_t)row0 * row_bytes;
    } else {
#pragma unroll
        for (int q = 0; q < R; q++)
            wr[q] = W + (size_t)(row0 + q < out ? row0 + q : out - 1) * row_bytes;
    }
    const int n_items = (in / T::QK) * T::TPB;
    const int sub = lane % T::TPB; /* constant per lane: TPB divides 32 */
    const int e_sub = T::start(sub);

    float acc[R][NC];
#pragma unroll
    for (int q = 0; q < R; q++)
#pragma unroll
        for (int c = 0; c < NC; c++)
            acc[q][c] = 0.0f;

    /* UH items of each of the R rows per lane per (half-)round; with PIPE the halves
     * alternate between raw_a and raw_b */
    constexpr int UH = PIPE ? (U / 2 > 0 ? U / 2 : 1) : U;
    constexpr int STEP = 32 * UH * KS;
    typedef typename T::Raw RawSet[UH][R];
    RawSet raw_a, raw_b;
    auto load = [&](RawSet &raw, int base) {
#pragma unroll
        for (int u = 0; u < UH; u++) {
            const int it = base + u * 32 * KS + walker;
            if (it < n_items)
#pragma unroll
                for (int q = 0; q < R; q++)
                    raw[u][q] = T::fetch(wr[q] + (size_t)(it / T::TPB) * T::BYTES, sub);
        }
    };
    auto use = [&](const RawSet &raw, int base) {
#pragma unroll
        for (int u = 0; u < UH; u++) {
            const int it = base + u * 32 * KS + walker;
            if (it < n_items) {
                float v[R][NV];
#pragma unroll
                for (int q = 0; q < R; q++)
                    T::dequant(raw[u][q], sub, v[q]);
                gemv_item_fma<T, R, NC, XV>(v, x, in, (it / T::TPB) * T::QK + e_sub, acc);
            }
        }
    };
    /* the weights are immutable: their first round is requested before waiting for the
     * kernel that produces x (programmatic dependent launch, cuda_common.cuh) */
    wrk_pdl_trigger();
    load(raw_a, 0);
    if constexpr (PIPE)
        load(raw_b, STEP);
    wrk_pdl_wait();

    if constexpr (PIPE) {
#pragma unroll 1
        for (int base = 0; base < n_items; base += 2 * STEP) {
            use(raw_a, base);
            load(raw_a, base + 2 * STEP);
            use(raw_b, base + STEP);
            load(raw_b, base + 3 * STEP);
        }
    } else {
        /* one round per iteration; unrolling the rounds would only add registers */
#pragma unroll 1
        for (int base = 0; base < n_items; base += STEP) {
            if (base > 0)
                load(raw_a, base);
            use(raw_a, base);
        }
    }
    if constexpr (GLU) {
        const float g = warp_sum(acc[0][0]), u = warp_sum(acc[1][0]);
        if (lane == 0)
            y[row0] = g / (1.0f + expf(-g)) * u;
        return;
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
    if constexpr (KS > 1) {
        /* the warps' sums, added in warp order (deterministic); warp 0 writes */
        __shared__ float part[KS][R * NC];
        const int warp = threadIdx.x >> 5;
        if (lane < R * NC)
            part[warp][lane] = mine;
        __syncthreads();
        if (warp != 0)
            return;
        if (lane < R * NC)
#pragma unroll
            for (int w = 1; w < KS; w++)
                mine += part[w][lane];
    }
    const int row = row0 + lane / NC;
    if (lane < R * NC && row < out) {
        float *dst = y + (size_t)(lane % NC) * out + row;
        const float v = bias ? mine + __ldg(bias + row) : mine;
        *dst = a.accumulate ? *dst + v : v;
    }
}

/* gate[i] = silu(gate[i]) * up[i]: the GLU of columns the fused kernel does not take. */
__global__ void matmul_glu_kernel(float *__restrict__ gate, const float *__restrict__ up,
                                  size_t count)
{
    wrk_pdl_trigger();
    wrk_pdl_wait();
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < count;
         i += (size_t)gridDim.x * blockDim.x) {
        const float g = gate[i];
        gate[i] = g / (1.0f + expf(-g)) * up[i];
    }
}

// ----------------------------------------------------------------------------------------
// Launchers


/* Launch the NC-column kernel over n_tiles tiles from column col0, for every part of a. */
template <class T, int NC, bool GLU, bool PAIR = false, int KS = 1, bool PIPE = false>
static void gemv_launch_nc(cudaStream_t st, GemvArgs a, const float *x, int n_tiles, bool xv,
                           int col0)
{
    const int rows_per_block = (GEMV_WARPS / KS) * GemvShape<T, NC, GLU, PAIR>::RO;
    int blocks = 0;
    for (int i = 0; i < a.count; i++) {
        a.p[i].block0 = blocks;
        blocks += (a.p[i].out + rows_per_block - 1) / rows_per_block;
        a.p[i].y += (size_t)col0 * a.p[i].out;
    }
    x += (size_t)col0 * a.in;
    const dim3 grid((unsigned)blocks, (unsigned)n_tiles);
    if (xv)
        wrk_launch(matmul_gemv_kernel<T, NC, true, GLU, PAIR, KS, PIPE>, grid, GEMV_WARPS * 32,
                   st, a, x);
    else
        wrk_launch(matmul_gemv_kernel<T, NC, false, GLU, PAIR, KS, PIPE>, grid, GEMV_WARPS * 32,
                   st, a, x);
}

/* A one-column launch of `rows` output rows whose warps each walk their row group in two or
 * more rounds of loads, all warps fitting in the GPU's warp slots at once (32 per SM): one
 * wave, so every warp starts at once and the rounds, not the bandwidth, set the time. The
 * two remedies below are for such launches only. */
static int gemv_warp_slots(void)
{
    static int slots = -1; /* read once; racing first calls compute the same value */
    if (slots < 0)
        slots = 32 * wrk_cuda_device_attr(cudaDevAttrMultiProcessorCount);
    return slots;
}

template <class T>
static bool gemv_long_rows_one_wave(int rows, int in)
{
    constexpr int R = GemvShape<T, 1>::R, U = GemvShape<T, 1>::U;
    const long long items = (long long)(in / T::QK) * T::TPB;
    const long long warps = (rows + R - 1) / R;
    return items > 32LL * U && warps <= gemv_warp_slots();
}

/* Split-K (KS = GEMV_WARPS) for the quantized types. Measured on the H100 (bench_gemv graph,
 * 2048x8192): Q8_0 17.1 -> 12.3 us, Q4_K 14.4 -> 9.8, Q6_K 15.2 -> 12.9. Not for the float
 * types: F16 gained 17.7 -> 16.6 us there but a 1B F16 decode step took 1277 us with it
 * against 1248 without (docs/performance.md, step 13). WORKER_GEMV_SPLITK=0 turns it off. */
template <class T>
static bool gemv_split_k(int rows, int in)
{
    static volatile int state = -1;
    return T::QK >= 32 /* the block-quantized types */ &&
           wrk_env_on_once("WORKER_GEMV_SPLITK", &state) && gemv_long_rows_one_wave<T>(rows, in);
}

/* Half-rounds (PIPE) for the float types: in a one-wave launch every warp requests its round
 * at once and then waits for all of it, so the warps run in step and the memory pipe drains
 * between rounds; with the next half requested before the current one is used, a warp always
 * has loads in flight. Measured on the H100 (bench_gemv graph, F16): 4096x14336 54.8 ->
 * 44.5 us, 4096x4096 16.6 -> 14.5; launches of more than one wave lose (8B q/k/v 6144x4096
 * 20.6 -> 21.7, 1B q/k/v 6.7 -> 7.4 us), and so did the 1B down projection, a launch of less
 * than half a wave (2048x8192): faster alone (17.6 -> 16.4 us) but slower in the decode
 * graph (1B F16 858.9 -> 852.7 tok/s). Hence from half a wave to one wave. 8B F16 decode
 * 162.4 -> 173.3 tok/s (docs/performance.md, step 26). WORKER_GEMV_PIPE=0 turns it off. */
template <class T> struct GemvPipes { static constexpr bool value = false; };
template <> struct GemvPipes<TraitF16V> { static constexpr bool value = true; };
template <> struct GemvPipes<TraitBF16V> { static constexpr bool value = true; };
template <> struct GemvPipes<TraitF32V> { static constexpr bool value = true; };

template <class T>
static bool gemv_pipe(int rows, int in)
{
    static volatile int state = -1;
    return GemvPipes<T>::value && wrk_env_on_once("WORKER_GEMV_PIPE", &state) &&
           2LL * rows >= gemv_warp_slots() && gemv_long_rows_one_wave<T>(rows, in);
}

/* All n columns: full tiles of 8, then one launch for the remaining 1..7. */
template <class T>
static int gemv_launch(cudaStream_t st, const GemvArgs &a, const float *x, int n, bool xv)
{
    const int full = n / GEMV_MAXCOLS, rest = n % GEMV_MAXCOLS;
    if (full > 0) {
        gemv_launch_nc<T, 8, false>(st, a, x, full, xv, 0);
        int rc = wrk_cuda_launch_check("matmul gemv");
        if (rc)
            return rc;
    }
    const int c0 = full * GEMV_MAXCOLS;
    switch (rest) {
    case 0: return 0;
    case 1: {
        int rows = 0;
        for (int i = 0; i < a.count; i++)
            rows += a.p[i].out;
        if (GemvPairs<T>::value && rows >= GEMV_PAIR_MIN_ROWS)
            gemv_launch_nc<T, 1, false, GemvPairs<T>::value>(st, a, x, 1, xv, c0);
        else if (gemv_pipe<T>(rows, a.in))
            gemv_launch_nc<T, 1, false, false, 1, GemvPipes<T>::value>(st, a, x, 1, xv, c0);
        else if (gemv_split_k<T>(rows, a.in))
            gemv_launch_nc<T, 1, false, false, GEMV_WARPS>(st, a, x, 1, xv, c0);
        else
            gemv_launch_nc<T, 1, false>(st, a, x, 1, xv, c0);
        break;
    }
    case 2: gemv_launch_nc<T, 2, false>(st, a, x, 1, xv, c0); break;
    case 3: gemv_launch_nc<T, 3, false>(st, a, x, 1, xv, c0); break;
    case 4: gemv_launch_nc<T, 4, false>(st, a, x, 1, xv, c0); break;
    case 5: gemv_launch_nc<T, 5, false>(st, a, x, 1, xv, c0); break;
    case 6: gemv_launch_nc<T, 6, false>(st, a, x, 1, xv, c0); break;
    default: gemv_launch_nc<T, 7, false>(st, a, x, 1, xv, c0); break;
    }
    return wrk_cuda_launch_check("matmul gemv");
}

static inline bool aligned16(const void *p)
{
    return ((uintptr_t)p & 15u) == 0;
}

/* The GEMV's alignment needs for w beside x; *wv: 16-byte loads possible. */
static int gemv_check_weight(const wp_tensor *w, const float *x, bool *wv)
{
    return wrk_check_weight_align("matmul", w, "weight data", "x", x, wv);
}

static int matmul_error_prefix(int rc, const wp_tensor *w, int n)
{
    if (rc)
        wrk_error_prefix("matmul %s (type %u, %llux%llu, n=%d): ", w->name ? w->name : "(unnamed)",
                         w->type, (unsigned long long)w->ne[0], (unsigned long long)w->ne[1], n);
    return rc;
}

/* Parts already checked: consecutive parts that the GEMV serves with the same trait go into
 * one launch; consecutive prefill parts go to cuBLAS together (one split of x). */
static int matmul_parts(const wp_host *host, const wp_matmul_part *parts, int count,
                        const float *x, int n, bool accumulate)
{
    const cudaStream_t st = wrk_stream(host);
    /* float4 x loads need every column start aligned: base aligned and in % 4 == 0 */
    const uint64_t in = parts[0].w->ne[0];
    const bool xv = aligned16(x) && in % 4 == 0;
    for (int i = 0; i < count;) {
        const wp_tensor *w = parts[i].w;
        int rc;
        if (wrk_cuda_gemm_takes(host, w, n)) {
            int j = i + 1;
            while (j < count && wrk_cuda_gemm_takes(host, parts[j].w, n))
                j++;
            rc = wrk_cuda_gemm_multi(host, parts + i, j - i, x, n, accumulate);
            if (rc)
                return matmul_error_prefix(rc, w, n);
            i = j;
            continue;
        }
        if (wrk_cuda_int8_takes(w, x, n)) {
            /* decode of a quantized weight: int8 x and dp4a (matmul_int8.cu), with the
             * following parts of the same type in one launch */
            int j = i + 1;
            while (j < count && parts[j].w->type == w->type &&
                   wrk_cuda_int8_takes(parts[j].w, x, n))
                j++;
            rc = wrk_cuda_int8_matmul(host, parts + i, j - i, x, accumulate);
            if (rc)
                return matmul_error_prefix(rc, w, n);
            i = j;
            continue;
        }
        GemvArgs a = {};
        a.accumulate = accumulate;
        a.row_bytes = (size_t)wrk_ops_row_bytes(w);
        a.in = (int)in;
        /* part i and the following ones of its type and 16-byte alignment */
        bool wv = false;
        int j = i;
        for (; j < count; j++) {
            const wp_tensor *wj = parts[j].w;
            bool wvj;
            if (j > i && (wj->type != w->type || wrk_cuda_gemm_takes(host, wj, n)))
                break;
            if ((rc = gemv_check_weight(wj, x, &wvj)) != 0)
                return matmul_error_prefix(rc, wj, n);
            if (j == i)
                wv = wvj;
            else if (wvj != wv)
                break;
            a.p[j - i] = GemvPart{(const uint8_t *)wj->data, parts[j].y, parts[j].bias,
                                  (int)wj->ne[1], 0};
        }
        a.count = j - i;
        rc = wrk_with_trait(w->type, wv, in,
                            [&](auto t) { return gemv_launch<decltype(t)>(st, a, x, n, xv); });
        if (rc)
            return matmul_error_prefix(rc, w, n);
        i = j;
    }
    return 0;
}

extern "C" int wrk_cuda_matmul(const wp_host *host, const wp_tensor *w, const float *x, float *y,
                               int n, const float *bias)
{
    int rc = wrk_ops_check_matmul(w, x, y, n);
    if (rc || n == 0)
        return rc;
    const wp_matmul_part part = {w, y, bias};
    return matmul_parts(host, &part, 1, x, n, false);
}

extern "C" int wrk_cuda_matmul_multi(const wp_host *host, const wp_matmul_part *parts, int count,
                                     const float *x, int n, unsigned flags)
{
    int rc = wrk_ops_check_matmul_multi(parts, count, x, n, flags);
    if (rc || n == 0)
        return rc;
    return matmul_parts(host, parts, count, x, n, (flags & WP_MATMUL_ACCUMULATE) != 0);
}

/* Decode (n = 1, both weights of one type for the GEMV): one launch computes both rows and
 * the activation. Otherwise two products and an element-wise pass. */
extern "C" int wrk_cuda_matmul_glu(const wp_host *host, int act, const wp_tensor *w_gate,
                                   const wp_tensor *w_up, const float *x, float *out, float *tmp,
                                   int n)
{
    int rc = wrk_ops_check_matmul_glu(act, w_gate, w_up, x, out, tmp, n);
    if (rc || n == 0)
        return rc;
    if (n == 1 && w_gate->type == w_up->type && wrk_cuda_int8_takes(w_gate, x, n) &&
        wrk_cuda_int8_takes(w_up, x, n))
        return matmul_error_prefix(wrk_cuda_int8_glu(host, w_gate, w_up, x, out), w_gate, n);
    const cudaStream_t st = wrk_stream(host);
    const uint64_t in = w_gate->ne[0];
    bool fused = n == 1 && w_gate->type == w_up->type && !wrk_cuda_gemm_takes(host, w_gate, n);
    bool wv_g = false, wv_u = false;
    if (fused) {
        if ((rc = gemv_check_weight(w_gate, x, &wv_g)) != 0)
            return matmul_error_prefix(rc, w_gate, n);
        if ((rc = gemv_check_weight(w_up, x, &wv_u)) != 0)
            return matmul_error_prefix(rc, w_up, n);
        fused = wv_g == wv_u;
    }
    if (fused) {
        GemvArgs a = {};
        a.p[0] = GemvPart{(const uint8_t *)w_gate->data, out, NULL, (int)w_gate->ne[1], 0};
        a.count = 1;
        a.up_W = (const uint8_t *)w_up->data;
        a.row_bytes = (size_t)wrk_ops_row_bytes(w_gate);
        a.in = (int)in;
        const bool xv = aligned16(x) && in % 4 == 0;
        rc = wrk_with_trait(w_gate->type, wv_g, in, [&](auto t) {
            gemv_launch_nc<decltype(t), 1, true>(st, a, x, 1, xv, 0);
            return wrk_cuda_launch_check("matmul glu");
        });
        return matmul_error_prefix(rc, w_gate, n);
    }
    /* gate into out, up into tmp: one call, so a prefill splits x once for both */
    const wp_matmul_part gu[2] = {{w_gate, out, NULL}, {w_up, tmp, NULL}};
    if ((rc = matmul_parts(host, gu, 2, x, n, false)) != 0)
        return rc;
    const size_t count = (size_t)n * w_gate->ne[1];
    const size_t blocks = (count + 255) / 256;
    wrk_launch(matmul_glu_kernel, dim3((unsigned)(blocks < 8192 ? blocks : 8192)), 256, st, out,
               (const float *)tmp, count);
    return wrk_cuda_launch_check("matmul glu");
}
