/*
 * ops_multicheck.h - matmul_multi on the CUDA kernel set against the host set, shared by
 * the fused-op and the int8-path tests.
 */
#ifndef OPS_MULTICHECK_H
#define OPS_MULTICHECK_H

#include "ops_testutil.h"

/** Tolerance (relative 2-norm) of the CUDA set's fp32-x product against the host set's for
 *  a weight type at n columns: 1e-5 for F32; 1e-3 for a quantized prefill (the f16 copy of
 *  W, ~2e-4 relative per product); 1e-4 otherwise (16-bit hi/lo splits of x). */
double tu_matmul_tol(uint32_t type, int n);

/** count parts of the given types and row counts over x (n columns of in values, host
 *  memory) with flags, on h (its ops: the CUDA set) and on the host set. Even parts have a
 *  bias; an accumulating call starts from random y. raw: weights from random block bytes.
 *  A part the int8 path served (wrk_cuda_int8_takes) is checked row by row against its
 *  rounding bound (ops_int8ref.h), the others within tu_matmul_tol.
 *  Fails the running Check test on a mismatch; returns how many parts the int8 path served. */
int tu_check_multi(const wp_host *h, tu_rng *r, const uint32_t *types, const int *outs,
                   int count, const float *x, int in, int n, unsigned flags, int raw);

#endif
