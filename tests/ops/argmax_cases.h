/*
 * argmax_cases.h - inputs of the argmax tests (wp_ops.argmax, ABI 1.2), shared by the host
 * test (host set vs the sampler's greedy choice) and the CUDA test (CUDA set vs host set):
 * random arrays and arrays built to hit each special case of the greedy rule.
 */
#ifndef ARGMAX_CASES_H
#define ARGMAX_CASES_H

#include <stddef.h>
#include <stdint.h>

/** The kinds of array (see argmax_cases.c for what each holds). */
enum argmax_case {
    AC_RANDOM,        /* uniform in [-8, 8): one clear maximum */
    AC_TIES,          /* few distinct values: the maximum repeats many times */
    AC_NAN,           /* random with NaN sprinkled, including at index 0 and n-1 */
    AC_NEG_INF,       /* random with -inf sprinkled */
    AC_POS_INF,       /* random with several +inf (the first wins) and NaN */
    AC_ALL_NAN,       /* every value NaN: the answer is 0 */
    AC_ALL_NEG_INF,   /* every value -inf: 0 */
    AC_NAN_NEG_INF,   /* NaN and -inf only: 0 */
    AC_ONE_FINITE,    /* NaN/-inf except one finite value near the end */
    AC_SIGNED_ZERO,   /* negative values, maxima +0 and -0 (equal: the first wins) */
    AC_LAST,          /* increasing: the maximum is the last index */
    AC_FIRST_TIE,     /* the maximum at index 0 and again later */
    AC_DENORMAL,      /* zeros of both signs and subnormals: a flush-to-zero compare ties */
    AC_COUNT
};

/** Name of a kind, for messages. */
const char *argmax_case_name(int kind);

/** Fill x[0..n) with an array of kind from seed (n >= 1). */
void argmax_case_fill(int kind, float *x, size_t n, uint64_t seed);

/** The sizes every test covers: 1, small, a Llama 3 vocabulary, 2^18. */
extern const int argmax_sizes[];
#define ARGMAX_N_SIZES 6

/** One side of a comparison: the index it picks in x[0..n); seed is the loop's (1..3), for
 *  a side that varies how it runs (the CUDA test uploads at an odd offset for seed 3). */
typedef int32_t (*argmax_fn)(const float *x, size_t n, uint64_t seed);

/** The host kernel set's argmax of x (the reference side of both tests; seed unused). */
int32_t argmax_case_host(const float *x, size_t n, uint64_t seed);

/** The comparison of both tests, for Check loop index i = kind * ARGMAX_N_SIZES + size:
 *  three seeded arrays of that kind and size; fails the running test unless got's index
 *  equals want's and lies in x. The names label the sides in the failure message. */
void argmax_case_compare(int i, argmax_fn got, const char *got_name, argmax_fn want,
                         const char *want_name);

#endif
