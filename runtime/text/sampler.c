/*
 * sampler.c - logits -> next token id, reproducibly (see sampler.h for the order).
 *
 * The generator is xoshiro256** (Blackman & Vigna) seeded through splitmix64: state word
 * i = splitmix64 output i (i = 0..3) from the job's 64-bit seed. A draw takes one
 * wrk_rng_uniform() u in [0, 1) (top 53 bits / 2^53). Greedy (temperature 0) draws
 * nothing. Every other mode starts with mx = the largest logit (NaN ignored) and uses the
 * weight w(id) = E((l - mx) * (1/T)) (float arithmetic), where E is the polynomial exp
 * below (relative error below 1e-6 + 1e-7 |x|; 0 below -87, for -inf and NaN), so the
 * best id has weight exactly 1. Special logits: NaN and -inf are never drawn; when some
 * logit is +inf, the +inf ids are the candidates with weight 1 each; when nothing is
 * drawable the lowest id wins. The exact procedure per mode (this is what another port
 * must reproduce to get the same ids):
 *
 * - Dense (no filter, or top_k >= vocab with no other filter): the weights are summed per
 *   block of 256 ids; inside a block id i goes to float lane i % 8 (ascending i), the 8
 *   lanes are then combined in double as ((0+1)+(2+3))+((4+5)+(6+7)); the block sums are
 *   added in double in ascending block order to the total. The draw walks the blocks in
 *   ascending order for the first non-empty block b with cum + blk[b] > u * total, then the
 *   ids of that block in ascending order, adding w in double to cum, and takes the first id
 *   with cum > u * total (rounding past the end takes the last id of positive weight).
 * - Candidate list (top-k, top-p, min-p): a list of candidate ids is formed and put in
 *   ascending id; their weights are computed; top-p, then min-p filter it (keeping
 *   ascending id); the draw walks the kept ids in ascending id, adding w in double to cum,
 *   and takes the first with cum > u * (their sum in ascending id, double), or the last
 *   one of positive weight on rounding.
 *   * top-k: the list is the k best (logit desc, id asc), NaN and -inf left out; mx is
 *     the best of them; for top-p, total is the list's sum in ascending id (double).
 *   * top-p without top-k: total from the dense block sums above, want = top_p * total.
 *     Ids with w < eps = (1 - top_p) * total / (2 V) cannot be in the nucleus (together
 *     they weigh less than (1 - top_p) * total / 2). The list is the ids with
 *     l >= mx + T * (L - 0.01) for L = ln(eps) / 2 if those ids' weights (summed in
 *     ascending id, double) reach want, else for L = ln(eps). (The bound is computed in
 *     double and rounded down to float; the 0.01 margin covers the rounding of the exp
 *     and of l - mx, so every id with w >= e^L is in.)
 *   * top-p keeps the shortest head of the list in rank order (weight desc, id asc) whose
 *     mass reaches want, the mass counted as follows: weights fall into bins by their
 *     float bits >> 18 (32 per octave); bins are added from the top (each bin's sum in
 *     ascending id, double) while cum + bin < want; inside the bin where want is reached,
 *     the weights are added in rank order until cum >= want (the bin's last one if
 *     rounding never gets there), and that one is the last kept. All of the list is kept
 *     when even the lowest bin does not reach want.
 *   * min-p keeps w >= min_p (w of the best is 1), and always the best id (largest w,
 *     lowest id). Without top-p and top-k the list is the ids with
 *     l >= mx + T * (min(ln(min_p), 0) - 0.01) (same rounding), and no other weight is
 *     computed.
 *
 * Cost is O(vocab) per token with a small constant: one pass for the maximum, then one
 * exp pass that stores nothing (dense, top-p) and/or one compare pass that skips blocks
 * of 32 logits with vector compares (top-p, min-p, top-k); only the short candidate list
 * gets weights, and only one histogram bin of it is sorted. The exp runs on 8 lanes
 * (GCC/Clang vector extensions; an AVX2 clone picked at load time where GCC and the CPU
 * support it) and uses only IEEE add/sub/mul and truncating conversions, never fused
 * multiply-add (Clang: FP_CONTRACT off; GCC does not contract under -std=c11, which the
 * build uses; a build with -std=gnu11 on an FMA target would need -ffp-contract=off), so
 * every path and machine computes bit-identical weights and sums.
 */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>   /* SSE2 (and SSE) intrinsics */
#endif

#include "text/sampler.h"

/* Weights must not depend on whether the compiler fuses a * b + c (see the header): GCC
 * does not fuse under -std=c11; Clang needs telling. */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

/* ---- the generator ---- */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void wrk_rng_seed(wrk_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t wrk_rng_next(wrk_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double wrk_rng_uniform(wrk_rng *r)
{
    return (double)(wrk_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* ---- the sampler ---- */

typedef struct cand {
    float v;      /* logit, then weight */
    int32_t id;
} cand;

#define HIST_BINS 4096   /* top-p histogram of weights (see wbin) */
#define BLOCK 256        /* weights are summed per block (8 float lanes, then double) */

struct wrk_sampler {
    wrk_sampler_params p;
    uint32_t n_vocab;
    wrk_rng rng;
    uint8_t *seen;       /* 1 per id already accepted */
    int32_t *seen_ids;   /* the distinct accepted ids */
    size_t n_seen;
    cand *c;             /* the candidate list */
    cand *tmp;           /* radix sort buffer (2 * vocab) */
    double *hist;        /* top-p histogram */
    double *blk;         /* sum of w per BLOCK ids (dense path) */
};

wrk_sampler *wrk_sampler_new(const wrk_sampler_params *p, uint32_t vocab_size)
{
    wrk_sampler *s;
    if (!p || vocab_size == 0) return NULL;
    s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->p = *p;
    s->n_vocab = vocab_size;
    s->seen = calloc(vocab_size, 1);
    s->seen_ids = malloc(sizeof *s->seen_ids * vocab_size);
    s->c = malloc(sizeof *s->c * vocab_size);
    s->tmp = malloc(sizeof *s->tmp * vocab_size * 2);
    s->hist = malloc(sizeof *s->hist * HIST_BINS);
    s->blk = malloc(sizeof *s->blk * (vocab_size / BLOCK + 1));
    if (!s->seen || !s->seen_ids || !s->c || !s->tmp || !s->hist || !s->blk) {
        wrk_sampler_free(s);
        return NULL;
    }
    wrk_rng_seed(&s->rng, p->seed);
    return s;
}

void wrk_sampler_free(wrk_sampler *s)
{
    if (!s) return;
    free(s->seen);
    free(s->seen_ids);
    free(s->c);
    free(s->tmp);
    free(s->hist);
    free(s->blk);
    free(s);
}

void wrk_sampler_accept(wrk_sampler *s, int32_t id)
{
    if (!s || id < 0 || (uint32_t)id >= s->n_vocab || s->seen[id]) return;
    s->seen[id] = 1;
    s->seen_ids[s->n_seen++] = id;
}

/* exp(x) for x <= 0 (0 for x < -87, -inf and NaN): 2^n * e^f with n = round(x log2 e),
 * |f| <= ln2 / 2, Taylor to degree 6. Branch-free so that loops over it vectorise. */
static inline float exp_neg(float x)
{
    int ok = x >= -87.0f;           /* false for NaN */
    float xc = ok ? x : -87.0f, t, n, f, p, scale;
    int32_t bits;
    t = xc * 1.44269504088896341f;
    n = (float)(int32_t)(t - 0.5f);  /* t <= 0: truncating t - 0.5 rounds */
    f = (t - n) * 0.69314718055994531f;
    p = 1.0f / 720.0f;
    p = p * f + 1.0f / 120.0f;
    p = p * f + 1.0f / 24.0f;
    p = p * f + 1.0f / 6.0f;
    p = p * f + 0.5f;
    p = p * f + 1.0f;
    p = p * f + 1.0f;
    bits = ((int32_t)n + 127) << 23;
    memcpy(&scale, &bits, sizeof scale);
    return ok ? p * scale : 0.0f;
}

/* 8-lane vectors are only used inside this file, never passed across an ABI boundary, so
 * the warning that they would pass differently with AVX does not apply. */
#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif
typedef float v8sf __attribute__((vector_size(32)));
typedef int32_t v8si __attribute__((vector_size(32)));

/* exp_neg on 8 lanes, in place (GCC/Clang vector extensions: two SSE registers on
 * baseline x86-64, one AVX register in the AVX2 clones, lowered generically elsewhere).
 * Lane for lane the same operations as exp_neg, so vector and scalar results are
 * bit-identical (checked by the tests). Always inlined, and through a pointer, so that
 * no 32-byte vector is ever passed by value (GCC notes an ABI change otherwise). */
static inline __attribute__((always_inline)) void exp_neg8(v8sf *px)
{
    v8sf x = *px;
    const v8sf lo = { -87.0f, -87.0f, -87.0f, -87.0f, -87.0f, -87.0f, -87.0f, -87.0f };
    v8si ok = x >= lo;
    v8sf xc = (v8sf)((ok & (v8si)x) | (~ok & (v8si)lo));
    v8sf t = xc * 1.44269504088896341f;
    v8si ni = __builtin_convertvector(t - 0.5f, v8si);
    v8sf n = __builtin_convertvector(ni, v8sf);
    v8sf f = (t - n) * 0.69314718055994531f;
    v8sf p = f * (1.0f / 720.0f) + 1.0f / 120.0f;
    p = p * f + 1.0f / 24.0f;
    p = p * f + 1.0f / 6.0f;
    p = p * f + 0.5f;
    p = p * f + 1.0f;
    p = p * f + 1.0f;
    v8sf r = p * (v8sf)((ni + 127) << 23);
    *px = (v8sf)(ok & (v8si)r);
}

/* AVX2 clones of the hot loops where the compiler and the platform support picking one at
 * load time; the arithmetic is the same IEEE operations either way (no FMA). */
#if defined(__x86_64__) && defined(__GNUC__) && defined(__ELF__) && !defined(__clang__)
#define HOT __attribute__((target_clones("avx2", "default")))
#else
#define HOT
#endif

/* The largest logit (NaN ignored; -inf when there is none). */
HOT static float max_logit(const float *l, uint32_t V)
{
    /* Independent running maxima so consecutive steps do not wait on each other
     * (a maximum does not depend on the order it is taken in). */
    v8sf m[4];
    float mx = -INFINITY;
    uint32_t i = 0;
    for (int a = 0; a < 4; a++)
        for (int k = 0; k < 8; k++) m[a][k] = -INFINITY;
    for (; i + 32 <= V; i += 32) {
        for (int a = 0; a < 4; a++) {
            v8sf x;
            memcpy(&x, l + i + 8 * a, sizeof x);
            v8si gt = x > m[a];               /* false for NaN */
            m[a] = (v8sf)((gt & (v8si)x) | (~gt & (v8si)m[a]));
        }
    }
    for (int a = 0; a < 4; a++)
        for (int k = 0; k < 8; k++) if (m[a][k] > mx) mx = m[a][k];
    for (; i < V; i++) if (l[i] > mx) mx = l[i];
    return mx;
}

/* Sum of the weights of ids [b0, b1) (a block or its tail): id i in float lane i % 8
 * (b0 is a multiple of 8), lanes combined in double in a fixed order. */
static inline double block_sum(const float *l, uint32_t b0, uint32_t b1, float mx, float inv_t)
{
    v8sf a = { 0, 0, 0, 0, 0, 0, 0, 0 };
    uint32_t i = b0;
    for (; i + 8 <= b1; i += 8) {
        v8sf x;
        memcpy(&x, l + i, sizeof x);
        x = (x - mx) * inv_t;
        exp_neg8(&x);
        a += x;
    }
    for (; i < b1; i++) a[i & 7] += exp_neg((l[i] - mx) * inv_t);
    return (((double)a[0] + a[1]) + ((double)a[2] + a[3])) +
           (((double)a[4] + a[5]) + ((double)a[6] + a[7]));
}

/* Block sums of all weights (nothing else stored) and their total, ascending blocks. */
HOT static double block_sums(const float *l, uint32_t V, float mx, float inv_t, double *blk)
{
    double total = 0.0;
    for (uint32_t b = 0; b * BLOCK < V; b++) {
        uint32_t b0 = b * BLOCK, b1 = V - b0 > BLOCK ? b0 + BLOCK : V;
        blk[b] = block_sum(l, b0, b1, mx, inv_t);
        total += blk[b];
    }
    return total;
}

/* Exposed for the tests: the scalar and vector exp on n values. */
void wrk_sampler_exp_test(const float *x, float *scalar, float *vector, size_t n);
void wrk_sampler_exp_test(const float *x, float *scalar, float *vector, size_t n)
{
    size_t i = 0;
    for (i = 0; i < n; i++) scalar[i] = exp_neg(x[i]);
    for (i = 0; i + 8 <= n; i += 8) {
        v8sf v;
        memcpy(&v, x + i, sizeof v);
        exp_neg8(&v);
        memcpy(vector + i, &v, sizeof v);
    }
    for (; i < n; i++) vector[i] = exp_neg(x[i]);
}

/* Bit j set when l[j] > thr (gt) or l[j] >= thr (!gt), j < 32; NaN never compares.
 * Most blocks have no bit set, and that is found with 8 compares, 7 ORs and one movemask
 * (SSE, in every x86-64 clone); elsewhere a plain loop. */
static inline uint32_t mask32(const float *l, float thr, bool gt)
{
#if defined(__SSE2__)
    __m128 t = _mm_set1_ps(thr), any = _mm_setzero_ps();
    uint32_t r = 0;
    for (int k = 0; k < 8; k++) {
        __m128 x = _mm_loadu_ps(l + 4 * k);
        any = _mm_or_ps(any, gt ? _mm_cmpgt_ps(x, t) : _mm_cmpge_ps(x, t));
    }
    if (!_mm_movemask_ps(any)) return 0;
    for (int k = 0; k < 8; k++) {   /* rare: the block is in L1 now */
        __m128 x = _mm_loadu_ps(l + 4 * k);
        r |= (uint32_t)_mm_movemask_ps(gt ? _mm_cmpgt_ps(x, t) : _mm_cmpge_ps(x, t)) << (4 * k);
    }
    return r;
#else
    uint32_t r = 0;
    for (int j = 0; j < 32; j++) r |= (uint32_t)(gt ? l[j] > thr : l[j] >= thr) << j;
    return r;
#endif
}

/* The ids with l >= thr, ascending, as candidates (logit in v). */
HOT static size_t collect_ge(const float *l, uint32_t V, float thr, cand *c)
{
    size_t n = 0;
    uint32_t i = 0;
    for (; i + 32 <= V; i += 32) {
        for (uint32_t bits = mask32(l + i, thr, false); bits; bits &= bits - 1) {
            uint32_t j = i + (uint32_t)__builtin_ctz(bits);
            c[n].v = l[j];
            c[n].id = (int32_t)j;
            n++;
        }
    }
    for (; i < V; i++)
        if (l[i] >= thr) { c[n].v = l[i]; c[n].id = (int32_t)i; n++; }
    return n;
}

/* a ranks before b: larger value, then smaller id. */
static inline int before(const cand *a, const cand *b)
{
    return a->v > b->v || (a->v == b->v && a->id < b->id);
}

/* Sort key: the id, or the weight's bits inverted (weights are >= 0, so their bits order
 * like the values: inverted, larger weights come first). */
static inline uint32_t sort_key(const cand *c, bool by_weight)
{
    uint32_t b;
    if (!by_weight) return (uint32_t)c->id;
    memcpy(&b, &c->v, sizeof b);
    return ~b;
}

/* Stable LSD radix sort of c[0..n) by id (ascending) or by weight (descending), 8 bits a
 * pass, passes where every key has the same digit skipped. Stable, so sorting a list in
 * ascending id by weight gives rank order (weight desc, id asc). */
static void radix_sort(cand *c, cand *tmp, size_t n, bool by_weight)
{
    size_t cnt[256];
    cand *src = c, *dst = tmp;
    for (int shift = 0; shift < 32; shift += 8) {
        size_t sum = 0;
        bool trivial = false;
        memset(cnt, 0, sizeof cnt);
        for (size_t i = 0; i < n; i++) cnt[(sort_key(&src[i], by_weight) >> shift) & 255]++;
        for (int d = 0; d < 256; d++) {
            size_t k = cnt[d];
            if (k == n) trivial = true;
            cnt[d] = sum;
            sum += k;
        }
        if (trivial) continue;
        for (size_t i = 0; i < n; i++)
            dst[cnt[(sort_key(&src[i], by_weight) >> shift) & 255]++] = src[i];
        cand *t = src; src = dst; dst = t;
    }
    if (src != c) memcpy(c, src, sizeof *c * n);
}

/* Greedy: the largest logit, lowest id on ties; NaN counts as -inf; id 0 when no logit
 * is above -inf. */
int32_t wrk_sampler_argmax(const float *l, uint32_t n)
{
    float mx = max_logit(l, n);
    uint32_t i = 0;
    if (!(mx > -INFINITY)) return 0;
    for (; i + 32 <= n; i += 32) {
        uint32_t bits = mask32(l + i, mx, false);    /* nothing is above mx */
        if (bits) return (int32_t)(i + (uint32_t)__builtin_ctz(bits));
    }
    for (; i < n; i++)
        if (l[i] == mx) return (int32_t)i;
    return 0;
}

/* Heap of the k best candidates with the worst at the root. */
static void sift_down(cand *h, size_t n, size_t i)
{
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) return;
        if (c + 1 < n && before(&h[c], &h[c + 1])) c++;   /* the worse child */
        if (!before(&h[i], &h[c])) return;
        cand t = h[i]; h[i] = h[c]; h[c] = t;
        i = c;
    }
}

/* Offer logit l[i] to the heap h of n (at most k) entries. */
static inline void heap_offer(cand *h, size_t *n, size_t k, const float *l, uint32_t i)
{
    cand x = { l[i], (int32_t)i };
    if (!(l[i] > -INFINITY)) return;                 /* NaN and -inf are not drawable */
    if (*n < k) {
        h[(*n)++] = x;
        if (*n == k) for (size_t j = k / 2 + 1; j-- > 0;) sift_down(h, k, j);
    } else if (before(&x, &h[0])) {
        h[0] = x;
        sift_down(h, k, 0);
    }
}

/* The k best of l[0..V) (drawable logits only) into h, as a heap. Once the heap is full,
 * only the logits above its worst entry at the start of a block of 32 are offered: the
 * root only rises, and ids only grow, so an equal value never ranks before the root. */
HOT static size_t top_k_scan(const float *l, uint32_t V, size_t k, cand *h)
{
    size_t n = 0;
    uint32_t i = 0;
    for (; i < V && n < k; i++) heap_offer(h, &n, k, l, i);
    for (; n == k && i + 32 <= V; i += 32)
        for (uint32_t bits = mask32(l + i, h[0].v, true); bits; bits &= bits - 1)
            heap_offer(h, &n, k, l, i + (uint32_t)__builtin_ctz(bits));
    for (; i < V; i++) heap_offer(h, &n, k, l, i);
    if (n < k) for (size_t j = n / 2 + 1; j-- > 0;) sift_down(h, n, j);
    return n;
}

/* The dense draw: u * total located by block, then by id inside the block (ascending id),
 * the block's weights recomputed exactly as block_sums computed them. */
static int32_t draw_dense(wrk_sampler *s, const float *l, float mx, float inv_t, double total)
{
    uint32_t V = s->n_vocab, b, nb = (V + BLOCK - 1) / BLOCK, i, end;
    double u = wrk_rng_uniform(&s->rng) * total, cum = 0.0;
    int32_t last = -1;

    for (b = 0; b + 1 < nb; b++) {
        if (cum + s->blk[b] > u && s->blk[b] > 0.0) break;
        cum += s->blk[b];
    }
    /* Rounding may leave u past the last non-empty block: take its last id then. */
    while (b > 0 && s->blk[b] <= 0.0) b--;
    end = (b + 1) * BLOCK < V ? (b + 1) * BLOCK : V;
    for (i = b * BLOCK; i < end; i++) {
        float w = exp_neg((l[i] - mx) * inv_t);
        if (w <= 0.0f) continue;
        cum += w;
        last = (int32_t)i;
        if (cum > u) return (int32_t)i;
    }
    return last >= 0 ? last : 0;
}

/* The top-p histogram bin of a weight. */
static inline uint32_t wbin(float w)
{
    uint32_t b;
    memcpy(&b, &w, sizeof b);
    return b >> 18;                 /* 32 bins per octave; a weight in [0, 1] is < 4065 */
}

/* Top-p on c[0..n) in ascending id, weights in v: keeps, in place and in order, the
 * shortest head in rank order (weight desc, id asc) whose mass reaches want; all of c
 * when rounding never reaches it. The mass is taken bin by bin from the top (each bin's
 * sum in ascending id), then element by element in rank order inside the bin where the
 * cut falls; only that bin is sorted. */
static size_t top_p_filter(wrk_sampler *s, cand *c, size_t n, double want)
{
    double *h = s->hist, cum = 0.0;
    size_t m = 0, k = 0, i;
    int b;
    float wc = 0.0f;
    int32_t idc = 0;

    memset(h, 0, sizeof *h * HIST_BINS);
    for (i = 0; i < n; i++) h[wbin(c[i].v)] += c[i].v;
    for (b = HIST_BINS - 1; b >= 0; b--) {
        if (cum + h[b] >= want && h[b] > 0.0) break;
        cum += h[b];
    }
    if (b < 0) return n;
    for (i = 0; i < n; i++) if (wbin(c[i].v) == (uint32_t)b) s->tmp[m++] = c[i];
    radix_sort(s->tmp, s->tmp + m, m, true);       /* stable: rank order */
    for (i = 0; i < m; i++) {
        cum += s->tmp[i].v;
        if (cum >= want || i + 1 == m) { wc = s->tmp[i].v; idc = s->tmp[i].id; break; }
    }
    for (i = 0; i < n; i++) {
        uint32_t cb = wbin(c[i].v);
        if (cb > (uint32_t)b ||
            (cb == (uint32_t)b && (c[i].v > wc || (c[i].v == wc && c[i].id <= idc))))
            c[k++] = c[i];
    }
    return k;
}

/* The candidate-list path: c[0..n) hold logits (n >= 1; in ascending id when by_id);
 * their weights are computed (1 each for +inf logits), then top-p (want = top_p *
 * total; total < 0: the list's own sum in ascending id) and min-p filter, and one id is
 * drawn in ascending id. */
static int32_t sample_list(wrk_sampler *s, cand *c, size_t n, bool by_id, float mx,
                           double total)
{
    const wrk_sampler_params *p = &s->p;
    float inv_t = 1.0f / p->temperature;
    double u, cum;
    size_t i, k = 0;

    if (!by_id) radix_sort(c, s->tmp, n, false);   /* ascending id */
    for (i = 0; i < n; i++)
        c[i].v = isinf(mx) ? (c[i].v == mx ? 1.0f : 0.0f) : exp_neg((c[i].v - mx) * inv_t);
    if (p->top_p > 0.0f && p->top_p < 1.0f) {
        if (total < 0.0) {
            total = 0.0;
            for (i = 0; i < n; i++) total += c[i].v;
        }
        n = top_p_filter(s, c, n, (double)p->top_p * total);
    }
    if (p->min_p > 0.0f) {
        size_t best = 0;
        for (i = 1; i < n; i++) if (c[i].v > c[best].v) best = i;   /* lowest id on ties */
        for (i = 0; i < n; i++) if (c[i].v >= p->min_p || i == best) c[k++] = c[i];
        n = k;
    }
    total = 0.0;
    for (i = 0; i < n; i++) total += c[i].v;
    u = wrk_rng_uniform(&s->rng) * total;
    cum = 0.0;
    k = 0;
    for (i = 0; i < n; i++) {
        if (c[i].v <= 0.0f) continue;
        cum += c[i].v;
        k = i;
        if (cum > u) return c[i].id;
    }
    return c[k].id;
}

/* The float just at or below the double x (prefilter bounds must never rise). */
static float floor_float(double x)
{
    float f = (float)x;
    return (double)f > x ? nextafterf(f, -INFINITY) : f;
}

/* The repetition penalty changes the logits (0 and 1 are off). */
static bool penalty_on(const wrk_sampler_params *p)
{
    return p->repetition_penalty > 0.0f && p->repetition_penalty != 1.0f;
}

/* T = 0, and T so small that 1 / T overflows (every weight but the best's would be 0 and
 * the best's NaN): greedy. */
static bool greedy_temperature(const wrk_sampler_params *p)
{
    return !(p->temperature > 0.0f) || !(1.0f / p->temperature < INFINITY);
}

int wrk_sampler_is_greedy(const wrk_sampler *s)
{
    return s && greedy_temperature(&s->p) && !penalty_on(&s->p);
}

int32_t wrk_sampler_sample(wrk_sampler *s, float *logits)
{
    const wrk_sampler_params *p;
    uint32_t V;
    float mx, inv_t;
    bool top_p, min_p;
    size_t n;

    if (!s || !logits) return -1;
    p = &s->p;
    V = s->n_vocab;
    if (penalty_on(p)) {
        for (size_t k = 0; k < s->n_seen; k++) {
            float *l = &logits[s->seen_ids[k]];
            *l = *l > 0.0f ? *l / p->repetition_penalty : *l * p->repetition_penalty;
        }
    }
    if (greedy_temperature(p))
        return wrk_sampler_argmax(logits, V);
    top_p = p->top_p > 0.0f && p->top_p < 1.0f;
    min_p = p->min_p > 0.0f;

    if (p->top_k > 0 && (uint64_t)p->top_k < V) {
        n = top_k_scan(logits, V, (size_t)p->top_k, s->c);
        if (n == 0) return 0;                          /* nothing drawable */
        mx = s->c[0].v;                                /* the best of the k */
        for (size_t i = 1; i < n; i++) if (s->c[i].v > mx) mx = s->c[i].v;
        return sample_list(s, s->c, n, false, mx, -1.0);
    }
    mx = max_logit(logits, V);
    if (!(mx > -INFINITY)) return wrk_sampler_argmax(logits, V);   /* nothing drawable */
    if (isinf(mx)) {                                   /* +inf ids share the mass */
        n = collect_ge(logits, V, mx, s->c);
        return sample_list(s, s->c, n, true, mx, (double)n);
    }
    inv_t = 1.0f / p->temperature;
    if (top_p) {
        double total = block_sums(logits, V, mx, inv_t, s->blk);
        double want = (double)p->top_p * total;
        double leps = log((1.0 - (double)p->top_p) * total / (2.0 * V));
        /* First the shorter list of ln(w) >= leps / 2: enough when it holds want. */
        for (int pass = 0; pass < 2; pass++) {
            double lx = pass == 0 ? leps / 2.0 : leps, mass = 0.0;
            n = collect_ge(logits, V, floor_float(mx + (double)p->temperature * (lx - 0.01)),
                           s->c);
            if (pass == 1) break;
            for (size_t i = 0; i < n; i++) mass += exp_neg((s->c[i].v - mx) * inv_t);
            if (mass >= want) break;
        }
        return sample_list(s, s->c, n, true, mx, total);
    }
    if (min_p) {
        double lm = log((double)p->min_p);
        lm = lm < 0.0 ? lm : 0.0;                      /* min_p >= 1 keeps the best */
        n = collect_ge(logits, V, floor_float(mx + (double)p->temperature * (lm - 0.01)), s->c);
        return sample_list(s, s->c, n, true, mx, -1.0);
    }
    return draw_dense(s, logits, mx, inv_t, block_sums(logits, V, mx, inv_t, s->blk));
}
