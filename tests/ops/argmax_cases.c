/*
 * argmax_cases.c - inputs of the argmax tests (argmax_cases.h). Values come from the tests'
 * seeded generator (ops_testutil.h), so a failure names a reproducible (kind, n, seed).
 */
#include "argmax_cases.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "ops/ops.h"
#include "ops_testutil.h"

const int argmax_sizes[ARGMAX_N_SIZES] = { 1, 7, 1000, 4099, 128256, 262144 };

static const char *const names[AC_COUNT] = {
    "random", "ties", "nan", "-inf", "+inf", "all-nan", "all--inf", "nan+-inf",
    "one-finite", "signed-zero", "last", "first-tie", "denormal",
};

const char *argmax_case_name(int kind)
{
    return kind >= 0 && kind < AC_COUNT ? names[kind] : "?";
}

/* Every step-th value (from a random offset) set to v; also index 0 and n-1 when ends. */
static void sprinkle(tu_rng *r, float *x, size_t n, size_t step, float v, int ends)
{
    for (size_t i = (size_t)(tu_u64(r) % step); i < n; i += step)
        x[i] = v;
    if (ends) {
        x[0] = v;
        x[n - 1] = v;
    }
}

void argmax_case_fill(int kind, float *x, size_t n, uint64_t seed)
{
    tu_rng r;
    tu_seed(&r, seed);
    tu_fill(&r, x, n, -8.0f, 8.0f);
    switch (kind) {
    case AC_RANDOM:
        break;
    case AC_TIES:
        /* 5 levels: the top one appears ~n/5 times, first at a random place */
        for (size_t i = 0; i < n; i++)
            x[i] = (float)(tu_u64(&r) % 5) - 2.0f;
        break;
    case AC_NAN:
        sprinkle(&r, x, n, 3, NAN, 1);
        break;
    case AC_NEG_INF:
        sprinkle(&r, x, n, 2, -INFINITY, 1);
        break;
    case AC_POS_INF:
        sprinkle(&r, x, n, 5, NAN, 0);
        for (int k = 0; k < 3; k++)
            x[tu_u64(&r) % n] = INFINITY;
        break;
    case AC_ALL_NAN:
        for (size_t i = 0; i < n; i++)
            x[i] = NAN;
        break;
    case AC_ALL_NEG_INF:
        for (size_t i = 0; i < n; i++)
            x[i] = -INFINITY;
        break;
    case AC_NAN_NEG_INF:
        for (size_t i = 0; i < n; i++)
            x[i] = (tu_u64(&r) & 1) ? NAN : -INFINITY;
        break;
    case AC_ONE_FINITE:
        for (size_t i = 0; i < n; i++)
            x[i] = (tu_u64(&r) & 1) ? NAN : -INFINITY;
        x[n - 1 - (size_t)(tu_u64(&r) % (n < 3 ? n : 3))] = -1e30f;
        break;
    case AC_SIGNED_ZERO:
        for (size_t i = 0; i < n; i++)
            x[i] = -fabsf(x[i]) - 1.0f;
        sprinkle(&r, x, n, 7, (tu_u64(&r) & 1) ? 0.0f : -0.0f, 0);
        x[tu_u64(&r) % n] = -0.0f;
        x[tu_u64(&r) % n] = 0.0f;
        break;
    case AC_LAST:
        for (size_t i = 0; i < n; i++)
            x[i] = (float)i * 0.5f - 1000.0f;
        break;
    case AC_FIRST_TIE:
        x[0] = 9.0f;
        x[n / 2] = 9.0f;
        x[n - 1] = 9.0f;
        break;
    case AC_DENORMAL:
        /* 0, -0 and subnormals k * 2^-149 (k < 64); the largest is unique only by luck */
        for (size_t i = 0; i < n; i++) {
            const uint64_t u = tu_u64(&r);
            x[i] = (u & 3) == 0 ? 0.0f : (u & 3) == 1 ? -0.0f
                 : ldexpf((float)((u >> 8) % 64), -149);
        }
        break;
    }
}

int32_t argmax_case_host(const float *x, size_t n, uint64_t seed)
{
    (void)seed;
    int32_t at = -1;
    ck_assert_int_eq(wrk_ops_host()->argmax(NULL, x, (int)n, &at), 0);
    return at;
}

void argmax_case_compare(int i, argmax_fn got, const char *got_name, argmax_fn want,
                         const char *want_name)
{
    const int kind = i / ARGMAX_N_SIZES;
    const size_t n = (size_t)argmax_sizes[i % ARGMAX_N_SIZES];
    float *x = malloc(n * sizeof(float));
    ck_assert_ptr_nonnull(x);
    for (uint64_t seed = 1; seed <= 3; seed++) {
        argmax_case_fill(kind, x, n, seed * 1000 + (uint64_t)i);
        const int32_t g = got(x, n, seed), w = want(x, n, seed);
        ck_assert_msg(g == w, "%s n=%zu seed %llu: %s %d, %s %d", argmax_case_name(kind), n,
                      (unsigned long long)seed, got_name, g, want_name, w);
        ck_assert(g >= 0 && (size_t)g < n);
    }
    free(x);
}
