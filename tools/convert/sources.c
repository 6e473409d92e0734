/*
 * sources.c - the table of input formats worker-convert understands, and the shared helper
 * that adds a weight in the requested type.
 */
#include <stddef.h>

#include "core/wrk_error.h"
#include "gguf/quant.h"
#include "worker_plugin.h"
#include "convert.h"

static const wc_source k_sources[] = {
    { "llama2c", "MODEL.bin TOKENIZER.bin", 2,
      "llama2.c legacy checkpoint (7 int32 header, float32 arrays) and its tokenizer.bin",
      wc_convert_llama2c },
    { NULL, NULL, 0, NULL, NULL }
};

const wc_source *wc_sources(void)
{
    return k_sources;
}

int wc_add_weight(gguf_writer *w, const wc_options *opt, const char *name, uint32_t n_dims,
                  const uint64_t *ne, const float *values)
{
    /* Norm weights and biases stay F32, as llama.cpp's converters keep them: they are tiny
     * and the kernels read them as fp32. */
    uint32_t type = n_dims < 2 ? WP_DTYPE_F32 : opt->weight_type;
    uint32_t block = wrk_dtype_block_elems(type);
    int rc;

    if (block == 0)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "unsupported output type %u", type);
    if (ne[0] % block != 0)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                         "tensor %s: row length %llu is not a multiple of %s's block of %u; "
                         "use --type f32 or f16", name, (unsigned long long)ne[0],
                         wrk_dtype_name(type), block);
    rc = gguf_writer_add_tensor_f32(w, name, type, n_dims, ne, values);
    if (rc) wrk_error_prefix("adding tensor %s: ", name);
    return rc;
}
