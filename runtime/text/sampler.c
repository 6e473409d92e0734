/*
 * sampler.c - logits -> next token id, reproducibly (see sampler.h for the order).
 *
 * The generator is xoshiro256** (Blackman & Vigna) seeded through splitmix64: state word
 * i = splitmix64 output i (i = 0..3) from the job's 64-bit seed. A draw takes one
 * wrk_rng_uniform() u in [0, 1) (top 53 bits / 2^53) and walks the kept candidates in
 * ascending id, accumulating (in double) their weights w = exp((l - max) / T), and picks
 * the first id whose running sum exceeds u * total. Greedy (temperature 0) draws nothing.
 * Filters: top-k keeps the k best (logit desc, id asc); top-p keeps the smallest head of
 * that order whose weight reaches top_p of the total; min-p keeps w >= min_p * w_max.
 *
 * Cost is O(vocab) per token, no sort of the vocabulary: top-k scans with a k-entry heap;
 * top-p finds its cut with a histogram of the weights' float bits (32 bins per octave)
 * and sorts only the one bin the cut falls in; weights use a polynomial exp (relative
 * error below 1e-6 + 1e-7 |x|) on 4 lanes. Special logits: NaN and -inf are never
 * drawn; +inf logits share all the mass; when nothing is drawable the lowest id wins.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "text/sampler.h"

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

#define HIST_BINS 4096   /* (float bits >> 18) of a weight in (0, 1] is < 4065 */
#define BLOCK 256        /* weights are summed per block (8 float lanes, then double) */

struct wrk_sampler {
    wrk_sampler_params p;
    uint32_t n_vocab;
    wrk_rng rng;
    uint8_t *seen;       /* 1 per id already accepted */
    int32_t *seen_ids;   /* the distinct accepted ids */
    size_t n_seen;
    cand *c;             /* candidates of the top-k path */
    float *w;            /* weights by id (dense path) */
    double *bin_mass;    /* top-p histogram (4 interleaved copies) */
    double *blk;         /* sum of w per BLOCK ids */
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
    s->w = malloc(sizeof *s->w * vocab_size);
    s->bin_mass = malloc(sizeof *s->bin_mass * HIST_BINS * 4);
    s->blk = malloc(sizeof *s->blk * (vocab_size / BLOCK + 1));
    if (!s->seen || !s->seen_ids || !s->c || !s->w || !s->bin_mass || !s->blk) {
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
    free(s->w);
    free(s->bin_mass);
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

/* The same function on 4 lanes (GCC/Clang vector extensions: SSE2 on x86-64, lowered
 * generically elsewhere). Lane for lane the same operations as exp_neg, so vector and
 * scalar results are bit-identical (checked by the tests). */
typedef float v4sf __attribute__((vector_size(16)));
typedef int32_t v4si __attribute__((vector_size(16)));

static inline v4sf exp_neg4(v4sf x)
{
    const v4sf lo = { -87.0f, -87.0f, -87.0f, -87.0f };
    v4si ok = x >= lo;
    v4sf xc = (v4sf)((ok & (v4si)x) | (~ok & (v4si)lo));
    v4sf t = xc * 1.44269504088896341f;
    v4si ni = __builtin_convertvector(t - 0.5f, v4si);
    v4sf n = __builtin_convertvector(ni, v4sf);
    v4sf f = (t - n) * 0.69314718055994531f;
    v4sf p = f * (1.0f / 720.0f) + 1.0f / 120.0f;
    p = p * f + 1.0f / 24.0f;
    p = p * f + 1.0f / 6.0f;
    p = p * f + 0.5f;
    p = p * f + 1.0f;
    p = p * f + 1.0f;
    v4sf r = p * (v4sf)((ni + 127) << 23);
    return (v4sf)(ok & (v4si)r);
}

/* w[i] = exp((l[i] - mx) * inv_t), 4 lanes at a time: the hot loop of a token. */
static void weights(const float *l, float *w, uint32_t V, float mx, float inv_t)
{
    uint32_t i = 0;
    for (; i + 4 <= V; i += 4) {
        v4sf x;
        memcpy(&x, l + i, sizeof x);
        x = exp_neg4((x - mx) * inv_t);
        memcpy(w + i, &x, sizeof x);
    }
    for (; i < V; i++) w[i] = exp_neg((l[i] - mx) * inv_t);
}

/* The largest logit (NaN ignored; -inf when there is none), 4 lanes at a time. */
static float max_logit(const float *l, uint32_t V)
{
    /* Four independent running maxima so consecutive steps do not wait on each other
     * (a maximum does not depend on the order it is taken in). */
    v4sf m[4] = { { -INFINITY, -INFINITY, -INFINITY, -INFINITY },
                  { -INFINITY, -INFINITY, -INFINITY, -INFINITY },
                  { -INFINITY, -INFINITY, -INFINITY, -INFINITY },
                  { -INFINITY, -INFINITY, -INFINITY, -INFINITY } };
    float mx = -INFINITY;
    uint32_t i = 0;
    for (; i + 16 <= V; i += 16) {
        for (int a = 0; a < 4; a++) {
            v4sf x;
            memcpy(&x, l + i + 4 * a, sizeof x);
            v4si gt = x > m[a];               /* false for NaN */
            m[a] = (v4sf)((gt & (v4si)x) | (~gt & (v4si)m[a]));
        }
    }
    for (int a = 0; a < 4; a++)
        for (int k = 0; k < 4; k++) if (m[a][k] > mx) mx = m[a][k];
    for (; i < V; i++) if (l[i] > mx) mx = l[i];
    return mx;
}

/* w[i] = 0 where w[i] < thr. Vector masks: about half the ids may go either way, and
 * branch mispredictions would cost more than the arithmetic. */
static void zero_below(float *w, uint32_t V, float thr)
{
    uint32_t i = 0;
    for (; i + 4 <= V; i += 4) {
        v4sf x;
        memcpy(&x, w + i, sizeof x);
        v4si keep = x >= thr;
        x = (v4sf)(keep & (v4si)x);
        memcpy(w + i, &x, sizeof x);
    }
    for (; i < V; i++) w[i] = w[i] >= thr ? w[i] : 0.0f;
}

/* Exposed for the tests: the scalar and vector exp on n values. */
void wrk_sampler_exp_test(const float *x, float *scalar, float *vector, size_t n);
void wrk_sampler_exp_test(const float *x, float *scalar, float *vector, size_t n)
{
    for (size_t i = 0; i < n; i++) scalar[i] = exp_neg(x[i]);
    weights(x, vector, (uint32_t)n, 0.0f, 1.0f);
}

/* a ranks before b: larger value, then smaller id. */
static inline int before(const cand *a, const cand *b)
{
    return a->v > b->v || (a->v == b->v && a->id < b->id);
}

static int cmp_rank(const void *a, const void *b)
{
    return before(a, b) ? -1 : before(b, a) ? 1 : 0;
}

static int cmp_id(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

static float max_logit(const float *l, uint32_t V);

/* Greedy: the largest logit, lowest id on ties; NaN counts as -inf; id 0 when no logit
 * is above -inf. */
static int32_t argmax(const float *l, uint32_t n)
{
    float mx = max_logit(l, n);
    if (!(mx > -INFINITY)) return 0;
    for (uint32_t i = 0; i < n; i++)
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

/* The k best of l[0..V) (drawable logits only) into h, as a heap. Once the heap is full,
 * blocks of 8 logits none of which beats its worst entry are skipped with two vector
 * compares: ids only grow, so an equal value never ranks before the root. */
static size_t top_k_scan(const float *l, uint32_t V, size_t k, cand *h)
{
    size_t n = 0;
    uint32_t i = 0;
    while (i < V) {
        if (n == k && i + 8 <= V) {
            v4sf x0, x1;
            memcpy(&x0, l + i, sizeof x0);
            memcpy(&x1, l + i + 4, sizeof x1);
            v4si gt = (x0 > h[0].v) | (x1 > h[0].v);
            if (!(gt[0] | gt[1] | gt[2] | gt[3])) { i += 8; continue; }
        }
        uint32_t end = n == k && i + 8 <= V ? i + 8 : i + 1;
        for (; i < end; i++) {
            cand x = { l[i], (int32_t)i };
            if (!(l[i] > -INFINITY)) continue;
            if (n < k) {
                h[n++] = x;
                if (n == k) for (size_t j = k / 2 + 1; j-- > 0;) sift_down(h, n, j);
            } else if (before(&x, &h[0])) {
                h[0] = x;
                sift_down(h, n, 0);
            }
        }
    }
    if (n < k) for (size_t j = n / 2 + 1; j-- > 0;) sift_down(h, n, j);
    return n;
}

static inline uint32_t wbin(float w)
{
    uint32_t b;
    memcpy(&b, &w, sizeof b);
    return b >> 18;
}

/* Dense top-p: the cut (weight wc, id idc) such that the kept set is every id ranking
 * at or before it (weight desc, id asc). Returns 0 when everything is kept. */
static int top_p_cut(wrk_sampler *s, uint32_t V, double total, float top_p, float *wc,
                     int32_t *idc)
{
    const float *w = s->w;
    double want = (double)top_p * total, cum = 0.0;
    int b;
    size_t n = 0;

    /* Four interleaved histograms, so that runs of ids in one bin do not serialise on a
     * single memory location; summed in a fixed order. */
    double *h = s->bin_mass;
    uint32_t i = 0;
    memset(h, 0, sizeof *h * HIST_BINS * 4);
    for (; i + 4 <= V; i += 4) {
        h[wbin(w[i])] += w[i];                           /* a weight of 0 adds 0 */
        h[HIST_BINS + wbin(w[i + 1])] += w[i + 1];
        h[2 * HIST_BINS + wbin(w[i + 2])] += w[i + 2];
        h[3 * HIST_BINS + wbin(w[i + 3])] += w[i + 3];
    }
    for (; i < V; i++) h[wbin(w[i])] += w[i];
    for (int k = 0; k < HIST_BINS; k++)
        h[k] = (h[k] + h[HIST_BINS + k]) + (h[2 * HIST_BINS + k] + h[3 * HIST_BINS + k]);
    for (b = HIST_BINS - 1; b >= 0; b--) {
        if (cum + s->bin_mass[b] >= want) break;
        cum += s->bin_mass[b];
    }
    if (b < 0) return 0;
    /* Sort only the bin holding the cut. */
    for (i = 0; i < V; i++)
        if (wbin(w[i]) == (uint32_t)b && w[i] > 0.0f) {
            s->c[n].v = w[i];
            s->c[n].id = (int32_t)i;
            n++;
        }
    qsort(s->c, n, sizeof *s->c, cmp_rank);
    for (size_t k = 0; k < n; k++) {
        cum += s->c[k].v;
        if (cum >= want || k + 1 == n) {
            *wc = s->c[k].v;
            *idc = s->c[k].id;
            /* Equal weights rank by id: those after the cut go (all are in this bin). */
            for (size_t j = k + 1; j < n && s->c[j].v == *wc; j++) s->w[s->c[j].id] = 0.0f;
            return 1;
        }
    }
    return 0;
}

/* Block sums of the weights and their total. Eight independent float lanes per block
 * keep the additions from forming one long dependency chain; the order is fixed, so the
 * result is the same on every run. */
static double block_sums(wrk_sampler *s, uint32_t V)
{
    const float *w = s->w;
    double total = 0.0;
    for (uint32_t b = 0; b * BLOCK < V; b++) {
        /* lanes 0..3 and 4..7 of the eight: element i goes to lane i % 8 */
        v4sf a0 = { 0, 0, 0, 0 }, a1 = { 0, 0, 0, 0 };
        float acc[8];
        uint32_t i = b * BLOCK, end = (b + 1) * BLOCK < V ? (b + 1) * BLOCK : V;
        for (; i + 8 <= end; i += 8) {
            v4sf x0, x1;
            memcpy(&x0, w + i, sizeof x0);
            memcpy(&x1, w + i + 4, sizeof x1);
            a0 += x0;
            a1 += x1;
        }
        for (int k = 0; k < 4; k++) { acc[k] = a0[k]; acc[k + 4] = a1[k]; }
        for (; i < end; i++) acc[i & 7] += w[i];
        s->blk[b] = (((double)acc[0] + acc[1]) + ((double)acc[2] + acc[3])) +
                    (((double)acc[4] + acc[5]) + ((double)acc[6] + acc[7]));
        total += s->blk[b];
    }
    return total;
}

/* The draw: u * total located by block, then by id inside the block (ascending id). */
static int32_t draw_dense(wrk_sampler *s, uint32_t V, double total)
{
    const float *w = s->w;
    double u = wrk_rng_uniform(&s->rng) * total, cum = 0.0;
    uint32_t b, nb = (V + BLOCK - 1) / BLOCK, i, end;
    int32_t last = -1;

    for (b = 0; b + 1 < nb; b++) {
        if (cum + s->blk[b] > u && s->blk[b] > 0.0) break;
        cum += s->blk[b];
    }
    /* Rounding may leave u past the last non-empty block: take its last id then. */
    while (b > 0 && s->blk[b] <= 0.0) b--;
    end = (b + 1) * BLOCK < V ? (b + 1) * BLOCK : V;
    for (i = b * BLOCK; i < end; i++) {
        if (w[i] <= 0.0f) continue;
        cum += w[i];
        last = (int32_t)i;
        if (cum > u) return (int32_t)i;
    }
    return last >= 0 ? last : 0;
}

/* Top-k path: c[0..n) are the k best, any order. */
static int32_t sample_top_k(wrk_sampler *s, size_t n)
{
    const wrk_sampler_params *p = &s->p;
    cand *c = s->c;
    float mx, inv_t = 1.0f / p->temperature;
    double total = 0.0, u, cum = 0.0;
    size_t i, k = 0;

    qsort(c, n, sizeof *c, cmp_rank);
    mx = c[0].v;
    for (i = 0; i < n; i++) {
        c[i].v = isinf(mx) ? (c[i].v == mx ? 1.0f : 0.0f) : exp_neg((c[i].v - mx) * inv_t);
        total += c[i].v;
    }
    if (p->top_p > 0.0f && p->top_p < 1.0f) {   /* c is in rank order: a prefix */
        double want = (double)p->top_p * total;
        cum = 0.0;
        for (i = 0; i < n; i++) {
            cum += c[i].v;
            if (cum >= want) { n = i + 1; break; }
        }
    }
    if (p->min_p > 0.0f) {
        float thr = p->min_p * c[0].v;
        for (i = 0; i < n; i++) if (c[i].v >= thr) c[k++] = c[i];
        n = k;
    }
    total = 0.0;
    for (i = 0; i < n; i++) total += c[i].v;
    qsort(c, n, sizeof *c, cmp_id);
    u = wrk_rng_uniform(&s->rng) * total;
    cum = 0.0;
    for (i = 0; i < n; i++) {
        cum += c[i].v;
        if (cum > u) return c[i].id;
    }
    return c[n - 1].id;
}

int32_t wrk_sampler_sample(wrk_sampler *s, float *logits)
{
    const wrk_sampler_params *p;
    uint32_t V, i;
    float mx = -INFINITY, inv_t, *w;
    double total = 0.0;

    if (!s || !logits) return -1;
    p = &s->p;
    V = s->n_vocab;
    w = s->w;
    if (p->repetition_penalty > 0.0f && p->repetition_penalty != 1.0f) {
        for (size_t k = 0; k < s->n_seen; k++) {
            float *l = &logits[s->seen_ids[k]];
            *l = *l > 0.0f ? *l / p->repetition_penalty : *l * p->repetition_penalty;
        }
    }
    if (!(p->temperature > 0.0f)) return argmax(logits, V);
    mx = max_logit(logits, V);
    if (!(mx > -INFINITY)) return argmax(logits, V);   /* nothing drawable */

    if (p->top_k > 0 && (uint64_t)p->top_k < V) {
        size_t n = top_k_scan(logits, V, (size_t)p->top_k, s->c);
        return sample_top_k(s, n);
    }

    /* Dense path: weights by id. */
    inv_t = 1.0f / p->temperature;
    if (isinf(mx)) {
        for (i = 0; i < V; i++) w[i] = logits[i] == mx ? 1.0f : 0.0f;
    } else {
        weights(logits, w, V, mx, inv_t);
    }
    total = block_sums(s, V);
    if (p->top_p > 0.0f && p->top_p < 1.0f) {
        float wc = 0.0f;
        int32_t idc = 0;
        if (top_p_cut(s, V, total, p->top_p, &wc, &idc)) {
            zero_below(w, V, wc);   /* ties after the cut were zeroed by top_p_cut */
            total = block_sums(s, V);
        }
    }
    if (p->min_p > 0.0f) {
        /* The best candidate has weight 1 (exp 0), or 1 for +inf logits. */
        zero_below(w, V, p->min_p);
        total = block_sums(s, V);
    }
    return draw_dense(s, V, total);
}
