/*
 * wc_input.h - read-only, bounds-checked access to a converter's input file.
 *
 * A checkpoint is untrusted: every read names the file, the byte offset and what was being
 * read when the file ends early, so a truncated download is diagnosed at once.
 */
#ifndef WC_INPUT_H
#define WC_INPUT_H

#include <stddef.h>
#include <stdint.h>

typedef struct wc_input {
    const char *path;     /* as given on the command line (not owned) */
    const uint8_t *data;  /* the whole file, mapped read-only */
    size_t size;
    size_t off;           /* read position */
} wc_input;

/** Map path read-only. 0, or CUDA_ERROR_INVALID_PARAMETER + detail naming the file. */
int wc_input_open(const char *path, wc_input *in);
void wc_input_close(wc_input *in);

/** Read a little-endian int32 / float32 at the read position and advance. Errors name
 *  the file, offset and what (e.g. "header field dim"). */
int wc_read_i32(wc_input *in, const char *what, int32_t *out);
int wc_read_f32(wc_input *in, const char *what, float *out);

/** Point *out at n bytes at the read position (inside the mapping) and advance; n is
 *  checked against the bytes left. */
int wc_read_bytes(wc_input *in, uint64_t n, const char *what, const uint8_t **out);

/** Point *out at n float32 values at the read position and advance. The mapping is page
 *  aligned and the offset a multiple of 4 here, so the values can be read in place. */
int wc_read_f32_array(wc_input *in, uint64_t n, const char *what, const float **out);

#endif
