/*
 * test_sampler.c - the sampler: generator, greedy, each filter's effect on the drawn
 * distribution (chi-square against probabilities computed here independently),
 * determinism, edge cases, and the cost per token on a 128k vocabulary.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "text/sampler.h"

/* The sampler's exp, scalar and vector paths (runtime/text/sampler.c, test hook). */
void wrk_sampler_exp_test(const float *x, float *scalar, float *vector, size_t n);

static uint64_t lcg = 0x9E3779B97F4A7C15ull;

/* Test data generator (independent of the sampler's own rng). */
static double urand(void)
{
    lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(lcg >> 11) / 9007199254740992.0;
}

static float nrand(void)
{
    double u = urand() + 1e-12, v = urand();
    return (float)(sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v));
}

static wrk_sampler_params params(float t, int k, float p, float minp, float rp, uint64_t seed)
{
    wrk_sampler_params sp = { t, k, p, minp, rp, seed };
    return sp;
}

/* Draw n samples (logits copied each time, since the sampler may modify them). */
static void draw(wrk_sampler *s, const float *logits, int V, int n, long *counts)
{
    float *buf = malloc(sizeof *buf * (size_t)V);
    memset(counts, 0, sizeof *counts * (size_t)V);
    for (int i = 0; i < n; i++) {
        memcpy(buf, logits, sizeof *buf * (size_t)V);
        int32_t id = wrk_sampler_sample(s, buf);
        ck_assert(id >= 0 && id < V);
        counts[id]++;
    }
    free(buf);
}

/* Softmax at temperature t with a keep mask; returns normalised probabilities. */
static void ref_probs(const float *l, const int *keep, int V, float t, double *p)
{
    double mx = -INFINITY, sum = 0;
    for (int i = 0; i < V; i++) if (keep[i] && l[i] > mx) mx = l[i];
    for (int i = 0; i < V; i++) {
        p[i] = keep[i] ? exp((l[i] - mx) / t) : 0.0;
        sum += p[i];
    }
    for (int i = 0; i < V; i++) p[i] /= sum;
}

/* Chi-square of counts against p; ids with p == 0 must never be drawn. */
static double chi2(const long *counts, const double *p, int V, int n, int *df)
{
    double x = 0;
    *df = -1;
    for (int i = 0; i < V; i++) {
        if (p[i] == 0.0) {
            ck_assert_msg(counts[i] == 0, "id %d drawn %ld times but excluded", i, counts[i]);
            continue;
        }
        double e = p[i] * n;
        x += (counts[i] - e) * (counts[i] - e) / e;
        (*df)++;
    }
    return x;
}

/* Generous bound: chi-square with df degrees stays below df + 6 sqrt(2 df) + 10 except
 * with negligible probability. */
static void assert_fits(const long *counts, const double *p, int V, int n)
{
    int df;
    double x = chi2(counts, p, V, n, &df);
    double bound = df + 6.0 * sqrt(2.0 * (df > 0 ? df : 1)) + 10.0;
    ck_assert_msg(x < bound, "chi2 %.1f with %d df (bound %.1f)", x, df, bound);
}

/* Draw n ids with params sp and check their frequencies against the reference
 * distribution: softmax at sp's temperature over the ids marked in keep. */
static void assert_samples_fit(const wrk_sampler_params *sp, const float *l, const int *keep,
                               int V, int n)
{
    long *counts = calloc((size_t)V, sizeof *counts);
    double *p = calloc((size_t)V, sizeof *p);
    wrk_sampler *s = wrk_sampler_new(sp, (uint32_t)V);
    ck_assert(counts && p && s);
    draw(s, l, V, n, counts);
    ref_probs(l, keep, V, sp->temperature, p);
    assert_fits(counts, p, V, n);
    wrk_sampler_free(s);
    free(counts);
    free(p);
}

START_TEST(test_rng)
{
    wrk_rng a, b;
    double sum = 0;
    long bins[10] = { 0 };
    wrk_rng_seed(&a, 0);
    /* splitmix64's first output from state 0 (Vigna's reference): the first state word. */
    ck_assert_uint_eq(a.s[0], 0xE220A8397B1DCDAFull);
    wrk_rng_seed(&a, 42);
    wrk_rng_seed(&b, 42);
    for (int i = 0; i < 1000; i++) ck_assert_uint_eq(wrk_rng_next(&a), wrk_rng_next(&b));
    wrk_rng_seed(&b, 43);
    ck_assert_uint_ne(wrk_rng_next(&a), wrk_rng_next(&b));
    for (int i = 0; i < 200000; i++) {
        double u = wrk_rng_uniform(&a);
        ck_assert(u >= 0.0 && u < 1.0);
        sum += u;
        bins[(int)(u * 10)]++;
    }
    ck_assert(fabs(sum / 200000 - 0.5) < 0.005);
    {
        long counts[10];
        double p[10];
        for (int i = 0; i < 10; i++) { counts[i] = bins[i]; p[i] = 0.1; }
        assert_fits(counts, p, 10, 200000);
    }
}
END_TEST

START_TEST(test_greedy)
{
    for (int rep = 0; rep < 50; rep++) {
        int V = 1 + rep * 37;
        float *l = malloc(sizeof *l * (size_t)V);
        int best = 0;
        for (int i = 0; i < V; i++) {
            l[i] = nrand() * 5;
            if (l[i] > l[best]) best = i;
        }
        wrk_sampler_params sp = params(0.0f, 0, 1.0f, 0.0f, 1.0f, (uint64_t)rep);
        wrk_sampler *s = wrk_sampler_new(&sp, (uint32_t)V);
        ck_assert_int_eq(wrk_sampler_sample(s, l), best);
        /* Ties: the lowest id wins. */
        if (V > 3) {
            l[V - 1] = l[best] + 1.0f;
            l[V / 2] = l[V - 1];
            int lo = V / 2 < V - 1 ? V / 2 : V - 1;
            ck_assert_int_eq(wrk_sampler_sample(s, l), lo);
            l[V / 2] = NAN;   /* NaN never wins */
            ck_assert_int_eq(wrk_sampler_sample(s, l), V - 1);
        }
        wrk_sampler_free(s);
        free(l);
    }
}
END_TEST

START_TEST(test_temperature_distribution)
{
    enum { V = 12, N = 120000 };
    float l[V];
    int keep[V];
    float temps[] = { 0.3f, 1.0f, 1.9f };
    for (int i = 0; i < V; i++) { l[i] = nrand() * 2; keep[i] = 1; }
    for (int k = 0; k < 3; k++) {
        wrk_sampler_params sp = params(temps[k], 0, 1.0f, 0.0f, 1.0f, 1234 + (uint64_t)k);
        assert_samples_fit(&sp, l, keep, V, N);
    }
}
END_TEST

static int cmp_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

START_TEST(test_top_k)
{
    enum { V = 40, N = 60000, K = 5 };
    float l[V];
    int keep[V];
    double sorted[V];
    for (int i = 0; i < V; i++) { l[i] = nrand() * 2; sorted[i] = l[i]; }
    qsort(sorted, V, sizeof *sorted, cmp_desc);
    for (int i = 0; i < V; i++) keep[i] = l[i] >= sorted[K - 1];
    wrk_sampler_params sp = params(0.8f, K, 1.0f, 0.0f, 1.0f, 7);
    assert_samples_fit(&sp, l, keep, V, N);
}
END_TEST

START_TEST(test_top_p)
{
    enum { V = 300, N = 60000 };
    float l[V];
    int keep[V], all[V];
    double p[V], sorted[V], cum = 0, cut = 0;
    const float top_p = 0.6f, t = 0.9f;
    for (int i = 0; i < V; i++) { l[i] = nrand() * 2.5f; all[i] = 1; }
    /* Reference nucleus: the smallest set of most likely ids holding top_p. */
    ref_probs(l, all, V, t, p);
    memcpy(sorted, p, sizeof p);
    qsort(sorted, V, sizeof *sorted, cmp_desc);
    for (int i = 0; i < V; i++) {
        cum += sorted[i];
        if (cum >= top_p) { cut = sorted[i]; break; }
    }
    for (int i = 0; i < V; i++) keep[i] = p[i] >= cut;
    wrk_sampler_params sp = params(t, 0, top_p, 0.0f, 1.0f, 99);
    assert_samples_fit(&sp, l, keep, V, N);
}
END_TEST

/* Reference nucleus mask: the smallest set of most likely ids holding top_p of p. */
static void ref_nucleus(const double *p, int V, double top_p, int *keep)
{
    double *sorted = malloc(sizeof *sorted * (size_t)V), cum = 0, cut = 0;
    memcpy(sorted, p, sizeof *sorted * (size_t)V);
    qsort(sorted, (size_t)V, sizeof *sorted, cmp_desc);
    for (int i = 0; i < V; i++) {
        cum += sorted[i];
        if (cum >= top_p) { cut = sorted[i]; break; }
    }
    for (int i = 0; i < V; i++) keep[i] = p[i] >= cut;
    free(sorted);
}

/* A flat distribution: the nucleus is hundreds of ids, well past the sampler's first
 * (short) candidate list. */
START_TEST(test_top_p_flat)
{
    enum { V = 700, N = 150000 };
    float l[V];
    int keep[V], all[V];
    double p[V];
    const float top_p = 0.5f, t = 1.0f;
    for (int i = 0; i < V; i++) { l[i] = nrand() * 0.7f; all[i] = 1; }
    ref_probs(l, all, V, t, p);
    ref_nucleus(p, V, top_p, keep);
    wrk_sampler_params sp = params(t, 0, top_p, 0.0f, 1.0f, 4242);
    assert_samples_fit(&sp, l, keep, V, N);
}
END_TEST

/* top-p then min-p (min-p relative to the best id's probability). */
START_TEST(test_top_p_min_p)
{
    enum { V = 200, N = 80000 };
    float l[V];
    int keep[V], all[V];
    double p[V], pmax = 0;
    const float top_p = 0.8f, min_p = 0.1f, t = 0.7f;
    for (int i = 0; i < V; i++) { l[i] = nrand() * 1.5f; all[i] = 1; }
    ref_probs(l, all, V, t, p);
    ref_nucleus(p, V, top_p, keep);
    for (int i = 0; i < V; i++) if (p[i] > pmax) pmax = p[i];
    for (int i = 0; i < V; i++) keep[i] = keep[i] && p[i] >= min_p * pmax;
    wrk_sampler_params sp = params(t, 0, top_p, min_p, 1.0f, 31);
    assert_samples_fit(&sp, l, keep, V, N);
}
END_TEST

/* +inf logits with filters on, min_p above 1, and a temperature whose inverse
 * overflows: always a sensible id. */
START_TEST(test_filter_edges)
{
    enum { V = 100, N = 4000 };
    float l[V], buf[V];
    long n3 = 0, n9 = 0;
    int best = 0;
    for (int i = 0; i < V; i++) l[i] = nrand();
    l[3] = INFINITY;
    l[9] = INFINITY;
    l[50] = NAN;
    wrk_sampler_params a = params(1.0f, 0, 0.9f, 0.0f, 1.0f, 8);
    wrk_sampler *s = wrk_sampler_new(&a, V);
    for (int i = 0; i < N; i++) {
        memcpy(buf, l, sizeof l);
        int32_t id = wrk_sampler_sample(s, buf);
        ck_assert(id == 3 || id == 9);
        n3 += id == 3;
        n9 += id == 9;
    }
    ck_assert(n3 > N / 2 - 200 && n9 > N / 2 - 200);   /* 0.9 of 2 equal weights: both */
    wrk_sampler_free(s);
    for (int i = 0; i < V; i++) l[i] = nrand();
    for (int i = 1; i < V; i++) if (l[i] > l[best]) best = i;
    wrk_sampler_params b = params(1.0f, 0, 1.0f, 1.5f, 1.0f, 8);
    wrk_sampler_params c = params(1.0f, 10, 1.0f, 2.0f, 1.0f, 8);
    wrk_sampler_params d = params(1e-40f, 0, 0.9f, 0.0f, 1.0f, 8);
    wrk_sampler_params *ps[] = { &b, &c, &d };
    for (int k = 0; k < 3; k++) {
        s = wrk_sampler_new(ps[k], V);
        for (int i = 0; i < 50; i++) {
            memcpy(buf, l, sizeof l);
            ck_assert_int_eq(wrk_sampler_sample(s, buf), best);
        }
        wrk_sampler_free(s);
    }
}
END_TEST

START_TEST(test_min_p)
{
    enum { V = 64, N = 60000 };
    float l[V];
    int keep[V], all[V];
    double p[V], pmax = 0;
    const float min_p = 0.2f, t = 1.3f;
    for (int i = 0; i < V; i++) { l[i] = nrand() * 2; all[i] = 1; }
    ref_probs(l, all, V, t, p);
    for (int i = 0; i < V; i++) if (p[i] > pmax) pmax = p[i];
    for (int i = 0; i < V; i++) keep[i] = p[i] >= min_p * pmax;
    wrk_sampler_params sp = params(t, 0, 1.0f, min_p, 1.0f, 5);
    assert_samples_fit(&sp, l, keep, V, N);
}
END_TEST

START_TEST(test_repetition_penalty)
{
    enum { V = 50 };
    for (int rep = 0; rep < 100; rep++) {
        float l[V], m[V];
        int seen = (int)(urand() * V), best = 0;
        const float rp = 1.0f + (float)urand();
        for (int i = 0; i < V; i++) l[i] = nrand() * 3;
        /* Reference: CTRL-style penalty on the one seen id, then argmax. */
        memcpy(m, l, sizeof l);
        m[seen] = m[seen] > 0 ? m[seen] / rp : m[seen] * rp;
        for (int i = 1; i < V; i++) if (m[i] > m[best]) best = i;
        wrk_sampler_params sp = params(0.0f, 0, 1.0f, 0.0f, rp, 1);
        wrk_sampler *s = wrk_sampler_new(&sp, V);
        wrk_sampler_accept(s, seen);
        wrk_sampler_accept(s, seen);   /* counted once */
        wrk_sampler_accept(s, -3);     /* ignored */
        wrk_sampler_accept(s, V + 3);
        ck_assert_int_eq(wrk_sampler_sample(s, l), best);
        wrk_sampler_free(s);
    }
}
END_TEST

START_TEST(test_edge_cases)
{
    enum { V = 16, N = 32000 };
    float l[V], buf[V];
    int all[V];
    double p[V];
    long counts[V];
    /* All equal logits: uniform. */
    for (int i = 0; i < V; i++) { l[i] = 3.25f; all[i] = 1; }
    wrk_sampler_params sp = params(1.0f, 0, 1.0f, 0.0f, 1.0f, 11);
    wrk_sampler *s = wrk_sampler_new(&sp, V);
    draw(s, l, V, N, counts);
    ref_probs(l, all, V, 1.0f, p);
    assert_fits(counts, p, V, N);
    /* -inf everywhere but one id: always that id. */
    for (int i = 0; i < V; i++) l[i] = -INFINITY;
    l[9] = -50.0f;
    for (int i = 0; i < 100; i++) {
        memcpy(buf, l, sizeof l);
        ck_assert_int_eq(wrk_sampler_sample(s, buf), 9);
    }
    /* Nothing drawable (all -inf / NaN): a valid id, no crash. */
    for (int i = 0; i < V; i++) l[i] = i % 2 ? -INFINITY : NAN;
    memcpy(buf, l, sizeof l);
    ck_assert_int_eq(wrk_sampler_sample(s, buf), 0);
    /* +inf takes all the mass. */
    for (int i = 0; i < V; i++) l[i] = nrand();
    l[4] = INFINITY;
    memcpy(buf, l, sizeof l);
    ck_assert_int_eq(wrk_sampler_sample(s, buf), 4);
    wrk_sampler_free(s);

    /* top_k larger than the vocabulary is the same as no top-k, draw for draw. */
    for (int i = 0; i < V; i++) l[i] = nrand();
    wrk_sampler_params a = params(0.9f, 0, 1.0f, 0.0f, 1.0f, 77);
    wrk_sampler_params b = params(0.9f, V * 10, 1.0f, 0.0f, 1.0f, 77);
    wrk_sampler *sa = wrk_sampler_new(&a, V), *sb = wrk_sampler_new(&b, V);
    for (int i = 0; i < 2000; i++) {
        float x[V], y[V];
        memcpy(x, l, sizeof l);
        memcpy(y, l, sizeof l);
        ck_assert_int_eq(wrk_sampler_sample(sa, x), wrk_sampler_sample(sb, y));
    }
    wrk_sampler_free(sa);
    wrk_sampler_free(sb);
    /* top_k = 1 is greedy; top_p tiny keeps the best only. */
    wrk_sampler_params g = params(1.5f, 1, 1.0f, 0.0f, 1.0f, 3);
    wrk_sampler_params q = params(1.5f, 0, 1e-6f, 0.0f, 1.0f, 3);
    sa = wrk_sampler_new(&g, V);
    sb = wrk_sampler_new(&q, V);
    int best = 0;
    for (int i = 1; i < V; i++) if (l[i] > l[best]) best = i;
    for (int i = 0; i < 200; i++) {
        float x[V], y[V];
        memcpy(x, l, sizeof l);
        memcpy(y, l, sizeof l);
        ck_assert_int_eq(wrk_sampler_sample(sa, x), best);
        ck_assert_int_eq(wrk_sampler_sample(sb, y), best);
    }
    wrk_sampler_free(sa);
    wrk_sampler_free(sb);
    ck_assert_ptr_null(wrk_sampler_new(&g, 0));
    ck_assert_ptr_null(wrk_sampler_new(NULL, 4));
    ck_assert_int_eq(wrk_sampler_sample(NULL, l), -1);
    wrk_sampler_free(NULL);
}
END_TEST

/* The polynomial exp: within (1e-6 + 1e-7 abs(x)) of libm, relative; 0 below -87, for
 * -inf and NaN; the vector path bit-identical to the scalar one. */
START_TEST(test_exp)
{
    enum { N = 100003 };
    float *x = malloc(sizeof *x * N), *a = malloc(sizeof *a * N), *b = malloc(sizeof *b * N);
    for (int i = 0; i < N; i++) x[i] = -(float)(urand() * 90.0);
    x[0] = 0.0f; x[1] = -INFINITY; x[2] = NAN; x[3] = -87.0f; x[4] = -1e30f; x[5] = -0.5f;
    wrk_sampler_exp_test(x, a, b, N);
    ck_assert(memcmp(a, b, sizeof *a * N) == 0);
    ck_assert(a[0] == 1.0f);
    ck_assert(a[1] == 0.0f && a[2] == 0.0f && a[4] == 0.0f);
    for (int i = 0; i < N; i++) {
        if (x[i] >= -80.0f) {
            double e = exp((double)x[i]);
            /* float rounding of x * log2(e) grows with abs(x) */
            ck_assert_msg(fabs(a[i] - e) <= (1e-6 - 1e-7 * x[i]) * e, "exp(%g) = %g, libm %g", x[i], a[i], e);
        }
    }
    free(x); free(a); free(b);
}
END_TEST

/* Same seed, same ids; another seed, another sequence. */
START_TEST(test_determinism)
{
    enum { V = 1000, STEPS = 300 };
    float *l = malloc(sizeof *l * V * STEPS), buf[V];
    int32_t a[STEPS], b[STEPS], c[STEPS];
    for (int i = 0; i < V * STEPS; i++) l[i] = nrand() * 2;
    for (int run = 0; run < 3; run++) {
        wrk_sampler_params sp = params(0.8f, 50, 0.95f, 0.01f, 1.1f, run == 2 ? 2 : 1);
        wrk_sampler *s = wrk_sampler_new(&sp, V);
        int32_t *out = run == 0 ? a : run == 1 ? b : c;
        for (int k = 0; k < STEPS; k++) {
            memcpy(buf, l + (size_t)k * V, sizeof buf);
            out[k] = wrk_sampler_sample(s, buf);
            wrk_sampler_accept(s, out[k]);
        }
        wrk_sampler_free(s);
    }
    ck_assert(memcmp(a, b, sizeof a) == 0);
    ck_assert(memcmp(a, c, sizeof a) != 0);
    free(l);
}
END_TEST

/* 128k vocabulary: draws stay inside a full-sort reference nucleus, and the cost per
 * token is small (printed; asserted with a generous bound for slow CI machines). */
START_TEST(test_large_vocab)
{
    enum { V = 128256, STEPS = 200 };
    float *l = malloc(sizeof *l * V), *buf = malloc(sizeof *buf * V);
    double *p = malloc(sizeof *p * V), *sorted = malloc(sizeof *sorted * V), cum = 0, cut = 0;
    int *all = malloc(sizeof *all * V);
    const float t = 0.8f, top_p = 0.9f;
    struct timespec t0, t1;
    for (int i = 0; i < V; i++) { l[i] = nrand() * 3; all[i] = 1; }
    for (int i = 0; i < 20; i++) l[(int)(urand() * V)] += 12.0f;   /* a peaked head */
    ref_probs(l, all, V, t, p);
    memcpy(sorted, p, sizeof *p * V);
    qsort(sorted, V, sizeof *sorted, cmp_desc);
    for (int i = 0; i < V; i++) { cum += sorted[i]; if (cum >= top_p) { cut = sorted[i]; break; } }
    /* The 40th largest logit (reference for top-k). */
    double kth;
    for (int i = 0; i < V; i++) sorted[i] = l[i];
    qsort(sorted, V, sizeof *sorted, cmp_desc);
    kth = sorted[39];

    const char *names[] = { "T=1 only", "top_k=40 top_p=0.9", "top_p=0.9", "min_p=0.05" };
    wrk_sampler_params ps[] = {
        params(1.0f, 0, 1.0f, 0.0f, 1.0f, 1), params(t, 40, top_p, 0.0f, 1.1f, 1),
        params(t, 0, top_p, 0.0f, 1.0f, 1), params(t, 0, 1.0f, 0.05f, 1.0f, 1),
    };
    /* The copy each step makes (the sampler may modify its input) is timed on its own,
     * so that the printed sampling cost excludes it. */
    double copy_ns;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < STEPS; i++) {
        memcpy(buf, l, sizeof *buf * V);
        __asm__ volatile("" : : "r"(buf) : "memory");   /* keep the copy */
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    copy_ns = ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / STEPS;
    for (int k = 0; k < 4; k++) {
        wrk_sampler *s = wrk_sampler_new(&ps[k], V);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (int i = 0; i < STEPS; i++) {
            memcpy(buf, l, sizeof *buf * V);
            int32_t id = wrk_sampler_sample(s, buf);
            ck_assert(id >= 0 && id < V);
            if (k == 2) ck_assert_msg(p[id] >= cut, "id %d outside the nucleus", id);
            if (k == 1) ck_assert_msg(l[id] >= kth, "id %d outside the top 40", id);
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double per = ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / STEPS;
        printf("sampler %-20s %.1f us per token (vocab %d; %.1f us with the 512 KB copy)\n",
               names[k], (per - copy_ns) / 1000.0, V, per / 1000.0);
        /* Only gross regressions fail here (the bound also holds under valgrind); the
         * printed figure is the one to compare with decode time. */
        ck_assert_msg(per < 50e6, "sampling took %.0f us", per / 1000.0);
        wrk_sampler_free(s);
    }
    free(l); free(buf); free(p); free(sorted); free(all);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sampler");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_rng);
    tcase_add_test(tc, test_exp);
    tcase_add_test(tc, test_greedy);
    tcase_add_test(tc, test_temperature_distribution);
    tcase_add_test(tc, test_top_k);
    tcase_add_test(tc, test_top_p);
    tcase_add_test(tc, test_min_p);
    tcase_add_test(tc, test_top_p_flat);
    tcase_add_test(tc, test_top_p_min_p);
    tcase_add_test(tc, test_filter_edges);
    tcase_add_test(tc, test_repetition_penalty);
    tcase_add_test(tc, test_edge_cases);
    tcase_add_test(tc, test_determinism);
    tcase_add_test(tc, test_large_vocab);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
