/*
 * llama_kernels_none.c - the CUDA kernel set's entry in a build without CUDA: none, so
 * llama_load refuses a CUDA context with a clear error instead of a missing symbol.
 */
#include "llama.h"

const llama_kernels *llama_kernels_cuda(void)
{
    return NULL;
}
