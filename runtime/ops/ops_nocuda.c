/*
 * ops_nocuda.c - wrk_ops_cuda() of a build without CUDA: there is no CUDA kernel set, and
 * nothing of it to release.
 */
#include "config.h"

#include <stddef.h>

#include "ops/ops.h"

#ifndef HAVE_CUDA
const wp_ops *wrk_ops_cuda(void)
{
    return NULL;
}

void wrk_ops_cuda_release(int device)
{
    (void)device;
}
#endif
