/*
 * bench_stats.c - median and spread of repeated measurements (bench_stats.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench_stats.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

bench_summary bench_summarize(const double *v, int n)
{
    bench_summary s;
    double *w;
    memset(&s, 0, sizeof s);
    if (n <= 0 || !(w = malloc((size_t)n * sizeof *w))) return s;
    memcpy(w, v, (size_t)n * sizeof *w);
    qsort(w, (size_t)n, sizeof *w, cmp_double);
    s.n = n;
    s.min = w[0];
    s.max = w[n - 1];
    s.median = n % 2 ? w[n / 2] : 0.5 * (w[n / 2 - 1] + w[n / 2]);
    for (int i = 0; i < n; i++) s.mean += w[i];
    s.mean /= n;
    if (n > 1) {
        double ss = 0.0;
        for (int i = 0; i < n; i++) ss += (w[i] - s.mean) * (w[i] - s.mean);
        s.stddev = sqrt(ss / (n - 1));
    }
    free(w);
    return s;
}
