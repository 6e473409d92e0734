/*
 * bench_bw.c - device-to-device copy bandwidth with cudart (bench_bw.h). The only code of
 * worker-bench that talks to CUDA directly; everything else goes through libworker.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include <stdio.h>
#include <string.h>

#include "bench_bw.h"

#ifdef HAVE_CUDA
#include <cuda_runtime.h>

#define BW_CHECK(call)                                                                     \
    do {                                                                                   \
        cudaError_t e_ = (call);                                                           \
        if (e_ != cudaSuccess) {                                                           \
            snprintf(err, err_size, "%s: %s", #call, cudaGetErrorString(e_));              \
            goto fail;                                                                     \
        }                                                                                  \
    } while (0)

int bench_bw_measure(int device, int reps, bench_bw *out, char *err, size_t err_size)
{
    void *src = NULL, *dst = NULL;
    cudaEvent_t e0 = NULL, e1 = NULL;
    cudaStream_t st = NULL;
    size_t bytes = (size_t)1 << 30;
    int n_dev = 0, rc = -1;

    memset(out, 0, sizeof *out);
    if (reps < 1) reps = 1;
    if (reps > BENCH_BW_MAX_REPS) reps = BENCH_BW_MAX_REPS;
    BW_CHECK(cudaGetDeviceCount(&n_dev));
    if (device < 0 || device >= n_dev) {
        snprintf(err, err_size, "CUDA device %d does not exist (%d devices)", device, n_dev);
        return -1;
    }
    BW_CHECK(cudaSetDevice(device));
    /* 1 GiB each, halved while the memory is not there (down to 64 MiB). */
    for (;;) {
        if (cudaMalloc(&src, bytes) == cudaSuccess && cudaMalloc(&dst, bytes) == cudaSuccess)
            break;
        cudaFree(src);
        src = NULL;
        (void)cudaGetLastError();
        if (bytes <= ((size_t)64 << 20)) {
            snprintf(err, err_size, "cannot allocate two 64 MiB buffers on device %d", device);
            goto fail;
        }
        bytes /= 2;
    }
    BW_CHECK(cudaMemset(src, 0x5a, bytes));
    BW_CHECK(cudaMemset(dst, 0, bytes));
    BW_CHECK(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
    BW_CHECK(cudaEventCreate(&e0));
    BW_CHECK(cudaEventCreate(&e1));
    out->device = device;
    out->bytes = bytes;
    out->copies = 10;
    for (int i = 0; i < 3; i++)   /* warm-up: clocks up, TLBs filled */
        BW_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, st));
    BW_CHECK(cudaStreamSynchronize(st));
    for (int r = 0; r < reps; r++) {
        float ms = 0.0f;
        BW_CHECK(cudaEventRecord(e0, st));
        for (int i = 0; i < out->copies; i++)
            BW_CHECK(cudaMemcpyAsync(i % 2 ? src : dst, i % 2 ? dst : src, bytes,
                                     cudaMemcpyDeviceToDevice, st));
        BW_CHECK(cudaEventRecord(e1, st));
        BW_CHECK(cudaEventSynchronize(e1));
        BW_CHECK(cudaEventElapsedTime(&ms, e0, e1));
        if (ms <= 0.0f) {
            snprintf(err, err_size, "copy timing gave %g ms", (double)ms);
            goto fail;
        }
        out->gbs[r] = 2.0 * (double)bytes * out->copies / (ms * 1e-3) / 1e9;
        out->reps = r + 1;
    }
    rc = 0;
fail:
    if (e0) cudaEventDestroy(e0);
    if (e1) cudaEventDestroy(e1);
    if (st) cudaStreamDestroy(st);
    cudaFree(src);
    cudaFree(dst);
    return rc;
}

#else

int bench_bw_measure(int device, int reps, bench_bw *out, char *err, size_t err_size)
{
    (void)device;
    (void)reps;
    memset(out, 0, sizeof *out);
    snprintf(err, err_size, "this build has no CUDA (configure found no toolkit)");
    return -1;
}

#endif
