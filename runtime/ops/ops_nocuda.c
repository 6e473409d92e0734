/*
 * ops_nocuda.c - wrk_ops_cuda() of a build without CUDA: there is no CUDA kernel set.
 */
#include "config.h"

#include <stddef.h>

#include "ops/ops.h"

#ifndef HAVE_CUDA
const wp_ops *wrk_ops_cuda(void)
{
    return NULL;
}
#endif
