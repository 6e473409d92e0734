/*
 * ops_testutil.h - helpers of the kernel-library tests: a seeded generator, random weight
 * matrices of every supported type in host memory, and error norms.
 */
#ifndef OPS_TESTUTIL_H
#define OPS_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "worker_plugin.h"

typedef struct tu_rng {
    uint64_t s;
} tu_rng;

/** The weight types of wp_ops.matmul, for loops over all of them. */
extern const uint32_t tu_types[7];
#define TU_N_TYPES 7

void tu_seed(tu_rng *r, uint64_t seed);
uint64_t tu_u64(tu_rng *r);
/** Uniform in [lo, hi). */
float tu_uniform(tu_rng *r, float lo, float hi);
void tu_fill(tu_rng *r, float *a, size_t n, float lo, float hi);

/**
 * A random [out][in] weight of type in host memory (t->data from malloc, the caller frees
 * it). raw == 0: random values in [-1, 1) through the reference quantizer; raw != 0 (block
 * types only): random block bytes with finite random scale fields, so every bit pattern of
 * quants and packed scales is exercised. Returns 0, or -1 when in is not a whole number of
 * blocks or memory is short.
 */
int tu_make_weight(tu_rng *r, uint32_t type, uint64_t in, uint64_t out, int raw, wp_tensor *t);

/** ||a - ref|| / ||ref|| in double (0 when both are 0). */
double tu_rel_err(const float *a, const float *ref, size_t n);
/** 1 when every value is finite. */
int tu_all_finite(const float *a, size_t n);

#endif
