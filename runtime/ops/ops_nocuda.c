/*
 * ops_nocuda.c - wrk_ops_cuda() of a build without CUDA: there is no CUDA kernel set,
 * nothing of it to release, and no launch flags.
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

uint32_t wrk_ops_cuda_launch_flags(void)
{
    return 0;
}
#endif
