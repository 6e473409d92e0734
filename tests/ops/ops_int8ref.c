/*
 * ops_int8ref.c - see ops_int8ref.h.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "gguf/quant.h"
#include "ops_int8ref.h"

void tu_i8_rows(const wp_tensor *w, const float *x, tu_i8row *rows)
{
    const uint64_t in = w->ne[0], out = w->ne[1], nxb = in / 32;
    const uint64_t rb = wrk_dtype_row_bytes(w->type, in);
    float *wr = malloc(in * sizeof(float));
    double *xq = malloc(in * sizeof(double)), *dx = malloc(nxb * sizeof(double));
    if (!wr || !xq || !dx)
        abort();
    /* x' as the kernel stages it: the same fp32 operations (IEEE division, roundf) */
    for (uint64_t b = 0; b < nxb; b++) {
        float amax = 0.0f;
        for (int l = 0; l < 32; l++)
            amax = fmaxf(amax, fabsf(x[32 * b + l]));
        const float d = amax / 127.0f;
        for (int l = 0; l < 32; l++) {
            const float q = amax == 0.0f ? 0.0f : roundf(x[32 * b + l] / d);
            xq[32 * b + l] = (double)q * (double)d;
        }
        dx[b] = d;
    }
    for (uint64_t r = 0; r < out; r++) {
        wrk_dequantize_row(w->type, (const uint8_t *)w->data + r * rb, wr, in);
        double emu = 0, exact = 0, s_wxq = 0, s_slop = 0, s_main = 0;
        for (uint64_t b = 0; b < nxb; b++) {
            double s_w = 0;
            for (int l = 0; l < 32; l++) {
                const uint64_t j = 32 * b + l;
                const double wj = wr[j], aw = fabs(wj);
                emu += wj * xq[j];
                exact += wj * x[j];
                s_w += aw;
                s_wxq += aw * fabs(xq[j]);
                s_slop += aw * (fabs((double)x[j]) + dx[b]);
            }
            s_main += dx[b] / 2 * s_w;
        }
        rows[r].emu = emu;
        rows[r].exact = exact;
        rows[r].sum_abs = s_wxq;
        rows[r].tol_emu = 1e-6 * s_wxq + 1e-6;
        rows[r].bound = (1 + 2e-5) * s_main + 1e-4 * s_slop + 1e-6;
    }
    free(wr);
    free(xq);
    free(dx);
}

void tu_exact_rows(const wp_tensor *w, const float *x, tu_i8row *rows)
{
    const uint64_t in = w->ne[0], out = w->ne[1];
    const uint64_t rb = wrk_dtype_row_bytes(w->type, in);
    float *wr = malloc(in * sizeof(float));
    if (!wr)
        abort();
    for (uint64_t r = 0; r < out; r++) {
        wrk_dequantize_row(w->type, (const uint8_t *)w->data + r * rb, wr, in);
        double exact = 0, s_abs = 0;
        for (uint64_t j = 0; j < in; j++) {
            exact += (double)wr[j] * x[j];
            s_abs += fabs((double)wr[j] * x[j]);
        }
        rows[r].emu = rows[r].exact = exact;
        rows[r].sum_abs = s_abs;
        rows[r].tol_emu = rows[r].bound = 1e-5 * s_abs + 1e-6;
    }
    free(wr);
}

int tu_i8_check(const char *what, const tu_i8row *rows, size_t out, const float *y,
                const float *y_ref, const float *y0, const float *bias, int emu)
{
    double worst_emu = 0, worst_bound = 0, err2 = 0, bound2 = 0;
    int bad = 0;
    for (size_t r = 0; r < out; r++) {
        const double a0 = y0 ? y0[r] : 0.0, b = bias ? bias[r] : 0.0;
        const double slop = 1e-6 * (fabs(a0) + fabs(b));
        const double e_emu = fabs((double)y[r] - (a0 + b + rows[r].emu));
        const double t_emu = rows[r].tol_emu + slop;
        const double e_ref = fabs((double)y[r] - (double)y_ref[r]);
        const double t_ref = rows[r].bound + slop;
        const int ok = (!emu || e_emu <= t_emu) && e_ref <= t_ref; /* NaN fails */
        if (emu && e_emu / t_emu > worst_emu)
            worst_emu = e_emu / t_emu;
        if (e_ref / t_ref > worst_bound)
            worst_bound = e_ref / t_ref;
        err2 += e_ref * e_ref;
        bound2 += t_ref * t_ref;
        if (!ok && bad++ < 5)
            printf("%s: row %zu: y %.9g, emulated %.9g (tol %.3g), host %.9g (bound %.3g)\n",
                   what, r, (double)y[r], a0 + b + rows[r].emu, t_emu, (double)y_ref[r], t_ref);
    }
    printf("%s: int8 x: worst |y - emulated| / tol %.3g, worst |y - host| / bound %.3g, "
           "rms err / rms bound %.3g\n",
           what, worst_emu, worst_bound, bound2 > 0 ? sqrt(err2 / bound2) : 0.0);
    return bad;
}

int tu_i8_check_matmul(const char *what, const wp_tensor *w, const float *x, const float *y,
                       const float *y_ref, const float *y0, const float *bias, int emu)
{
    tu_i8row *rows = malloc(w->ne[1] * sizeof(tu_i8row));
    if (!rows)
        abort();
    tu_i8_rows(w, x, rows);
    const int bad = tu_i8_check(what, rows, w->ne[1], y, y_ref, y0, bias, emu);
    free(rows);
    return bad;
}

static double silu(double g)
{
    return g / (1.0 + exp(-g));
}

/* |silu(g') u' - silu(g) u| <= 1.1 |g' - g| (|u| + |u' - u|) + |silu(g)| |u' - u|, plus the
 * rounding of the fp32 silu and product. */
static double glu_tol(double g, double u, double eg, double eu)
{
    return 1.1 * eg * (fabs(u) + eu) + fabs(silu(g)) * eu + 2e-5 * fabs(silu(g) * u) + 2e-6;
}

int tu_i8_check_glu(const char *what, const tu_i8row *g, const tu_i8row *u, size_t out,
                    const float *y, const float *y_ref)
{
    double worst_emu = 0, worst_bound = 0;
    int bad = 0;
    for (size_t r = 0; r < out; r++) {
        const double e_emu = fabs((double)y[r] - silu(g[r].emu) * u[r].emu);
        const double t_emu = glu_tol(g[r].emu, u[r].emu, g[r].tol_emu, u[r].tol_emu);
        const double e_ref = fabs((double)y[r] - (double)y_ref[r]);
        const double t_ref = glu_tol(g[r].exact, u[r].exact, g[r].bound, u[r].bound);
        if (e_emu / t_emu > worst_emu)
            worst_emu = e_emu / t_emu;
        if (e_ref / t_ref > worst_bound)
            worst_bound = e_ref / t_ref;
        if (!(e_emu <= t_emu && e_ref <= t_ref) && bad++ < 5)
            printf("%s: row %zu: y %.9g, emulated %.9g (tol %.3g), host %.9g (bound %.3g)\n",
                   what, r, (double)y[r], silu(g[r].emu) * u[r].emu, t_emu, (double)y_ref[r],
                   t_ref);
    }
    printf("%s: int8 x: worst |y - emulated| / tol %.3g, worst |y - host| / bound %.3g\n", what,
           worst_emu, worst_bound);
    return bad;
}
