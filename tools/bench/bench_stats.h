/*
 * bench_stats.h - summary of repeated measurements: median, min, max, mean, stddev.
 */
#ifndef BENCH_STATS_H
#define BENCH_STATS_H

typedef struct bench_summary {
    int n;
    double median, min, max, mean, stddev;   /* stddev: sample (n - 1); 0 for n < 2 */
} bench_summary;

/** Summarise v[0..n) (not modified); all zeros for n <= 0. */
bench_summary bench_summarize(const double *v, int n);

#endif
