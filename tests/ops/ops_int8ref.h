/*
 * ops_int8ref.h - what the CUDA int8-dot decode path (runtime/ops/cuda/matmul_int8.cu) is
 * checked against. That path multiplies the weights by x rounded per 32-element block b,
 * x'_j = q_j d_b with d_b = amax_b / 127 (fp32) and q_j = roundf(x_j / d_b), so it cannot
 * meet the fp32 path's 1e-4 against the host set. Per output row instead:
 *
 *   emulation: |y - (y0 + bias + sum_j w_j x'_j)| <= 1e-6 sum_j |w_j x'_j| + 1e-6 + slop.
 *     x' is computed here with the kernel's fp32 operations, so only fp32 rounding is
 *     left: ~1e-8 of that sum (a host emulation of the kernels' summation order gave at
 *     most 1.3e-8 over the test shapes), so 1e-6 keeps a ~80x margin while one quant
 *     decoded wrongly in a row of 2048 already fails it.
 *   bound: |y - y_host| <= (1 + 2e-5) sum_b d_b / 2 sum_{j in b} |w_j|
 *                          + 1e-4 sum_j |w_j| (|x_j| + d_b) + slop.
 *     The first term is the worst case of rounding x (|x_j - x'_j| <= d_b / 2, times
 *     1 + 2e-5 for the rounding of x_j / d_b), the second the fp32 rounding of both sides,
 *     slop = 1e-6 (1 + |y0| + |bias|) for the epilogue's additions.
 *
 * w_j are the host set's dequantized weights (wrk_dequantize_row). matmul_glu: the bounds
 * of the gate and up products carried through silu(g) u (|silu'| <= 1.1).
 */
#ifndef OPS_INT8REF_H
#define OPS_INT8REF_H

#include <stddef.h>

#include "worker_plugin.h"

typedef struct tu_i8row {
    double emu;     /* sum_j w_j x'_j */
    double tol_emu; /* its tolerance (no y0/bias term) */
    double sum_abs; /* sum_j |w_j x'_j| */
    double exact;   /* sum_j w_j x_j in double */
    double bound;   /* the bound against the host set (no y0/bias term) */
} tu_i8row;

/** rows[r] for every row r of the host weight w and the single column x (w->ne[0] values);
 *  rows holds w->ne[1] entries. */
void tu_i8_rows(const wp_tensor *w, const float *x, tu_i8row *rows);

/** rows[r] for a product the fp32-x path computes (the other operand of a mixed-type GLU):
 *  emu = exact = sum_j w_j x_j, tol_emu = bound = 1e-5 sum_j |w_j x_j| + 1e-6 (fp32
 *  rounding only). */
void tu_exact_rows(const wp_tensor *w, const float *x, tu_i8row *rows);

/** Check out values y (the GPU's) against rows and y_ref (the host set's result of the same
 *  call); y0: the values y held before an accumulating call, or NULL; bias or NULL. With
 *  emu == 0 only the bound is checked (x on the GPU not bit-identical to the host's x).
 *  Prints the worst ratios under `what`, and up to 5 rows out of bounds; returns how many. */
int tu_i8_check(const char *what, const tu_i8row *rows, size_t out, const float *y,
                const float *y_ref, const float *y0, const float *bias, int emu);

/** tu_i8_rows + tu_i8_check for weight w. */
int tu_i8_check_matmul(const char *what, const wp_tensor *w, const float *x, const float *y,
                       const float *y_ref, const float *y0, const float *bias, int emu);

/** matmul_glu (silu): out y against y_ref, gate and up rows from tu_i8_rows. */
int tu_i8_check_glu(const char *what, const tu_i8row *g, const tu_i8row *u, size_t out,
                    const float *y, const float *y_ref);

#endif
