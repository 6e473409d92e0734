/*
 * bench_bw.h - the card's device-to-device copy bandwidth, measured with cudart.
 *
 * Each repetition times `copies` back-to-back cudaMemcpyAsync of `bytes` (about 1 GiB, or
 * less when that much memory is not free) between two device buffers with CUDA events; the
 * rate counts the bytes read and the bytes written (2 * bytes per copy), as the device
 * README's 3.0 TB/s figure for the H100 does. Buffers are freed before return.
 */
#ifndef BENCH_BW_H
#define BENCH_BW_H

#include <stddef.h>

#define BENCH_BW_MAX_REPS 64

typedef struct bench_bw {
    int device;
    size_t bytes;            /* size of each buffer */
    int copies, reps;
    double gbs[BENCH_BW_MAX_REPS];   /* GB/s (1e9) per repetition, read + write */
} bench_bw;

/** Measure on CUDA device `device`. 0, or -1 with a message in err (no CUDA in this build,
 *  no device, a failing CUDA call). */
int bench_bw_measure(int device, int reps, bench_bw *out, char *err, size_t err_size);

#endif
