/*
 * gpt_kernels_none.c - a build without CUDA has no CUDA kernel set; gpt_load then refuses
 * the CUDA backend with a clear detail (and the descriptor does not claim it).
 */
#include <stddef.h>

#include "gpt.h"

const gpt_kernels *gpt_kernels_cuda(void)
{
    return NULL;
}
