/*
 * convert.h - worker-convert: turn other checkpoint formats into a GGUF our runtime serves.
 *
 * Each source format is a handler in a table (wc_sources): its --from name, how many input
 * files it takes, and a function that reads them and fills a gguf_writer. Adding a format
 * (e.g. safetensors) is one new file and one table row; main.c does arguments and writing.
 */
#ifndef WC_CONVERT_H
#define WC_CONVERT_H

#include <stdint.h>
#include "gguf/gguf_writer.h"

/** Options shared by all handlers. */
typedef struct wc_options {
    uint32_t weight_type;   /* enum wp_dtype for 2-D weights; 1-D tensors stay F32 */
    const char *name;       /* general.name, or NULL: derived from the first input */
} wc_options;

typedef struct wc_source {
    const char *name;       /* value of --from */
    const char *inputs;     /* usage text of the positional inputs */
    int n_inputs;
    const char *summary;
    /** Read inputs[0..n_inputs) and add metadata and tensors to w. 0, or an error code with
     *  a wrk_error detail naming the file and byte offset. */
    int (*convert)(const char *const *inputs, const wc_options *opt, gguf_writer *w);
} wc_source;

/** The handler table, terminated by an entry with name == NULL. */
const wc_source *wc_sources(void);

/** llama2.c legacy checkpoint + tokenizer.bin (llama2c.c). */
int wc_convert_llama2c(const char *const *inputs, const wc_options *opt, gguf_writer *w);

/** Add one weight: as F32 when it is 1-D or type is F32, else converted to opt's type.
 *  ne0 must be a multiple of the type's block size (checked, naming the tensor). */
int wc_add_weight(gguf_writer *w, const wc_options *opt, const char *name, uint32_t n_dims,
                  const uint64_t *ne, const float *values);

#endif
