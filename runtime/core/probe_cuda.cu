#include <cuda_runtime.h>
extern "C" int wrk_probe_cuda_tmp(void);
__global__ void k(int *p) { *p = 1; }
extern "C" int wrk_probe_cuda_tmp(void) { int n = 0; cudaGetDeviceCount(&n); return n; }
