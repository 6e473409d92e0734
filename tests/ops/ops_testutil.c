/*
 * ops_testutil.c - see ops_testutil.h.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gguf/quant.h"
#include "ops_testutil.h"

const uint32_t tu_types[7] = {WP_DTYPE_F32, WP_DTYPE_F16, WP_DTYPE_BF16, WP_DTYPE_Q8_0,
                              WP_DTYPE_Q4_0, WP_DTYPE_Q4_K, WP_DTYPE_Q6_K};

void tu_seed(tu_rng *r, uint64_t seed)
{
    r->s = seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull;
}

/* splitmix64: good enough and reproducible everywhere */
uint64_t tu_u64(tu_rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

float tu_uniform(tu_rng *r, float lo, float hi)
{
    return lo + (hi - lo) * (float)((tu_u64(r) >> 40) * (1.0 / 16777216.0));
}

void tu_fill(tu_rng *r, float *a, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; i++)
        a[i] = tu_uniform(r, lo, hi);
}

/* Overwrite the f16 scale fields of each block with finite values so raw random blocks
 * dequantize to finite numbers of a sane size. */
static void fix_scales(tu_rng *r, uint32_t type, uint8_t *row, uint64_t nb)
{
    const uint32_t bb = wrk_dtype_block_bytes(type);
    for (uint64_t b = 0; b < nb; b++) {
        uint8_t *blk = row + b * bb;
        uint16_t h;
        switch (type) {
        case WP_DTYPE_Q8_0:
        case WP_DTYPE_Q4_0:
            h = wrk_f32_to_f16(tu_uniform(r, -0.05f, 0.05f));
            memcpy(blk, &h, 2);
            break;
        case WP_DTYPE_Q4_K:
            h = wrk_f32_to_f16(tu_uniform(r, 0.0f, 0.01f));
            memcpy(blk, &h, 2);
            h = wrk_f32_to_f16(tu_uniform(r, 0.0f, 0.01f));
            memcpy(blk + 2, &h, 2);
            break;
        case WP_DTYPE_Q6_K:
            h = wrk_f32_to_f16(tu_uniform(r, -0.002f, 0.002f));
            memcpy(blk + 208, &h, 2);
            break;
        default:
            break;
        }
    }
}

int tu_make_weight(tu_rng *r, uint32_t type, uint64_t in, uint64_t out, int raw, wp_tensor *t)
{
    const uint64_t rb = wrk_dtype_row_bytes(type, in);
    if (rb == 0)
        return -1;
    memset(t, 0, sizeof(*t));
    t->name = "test.weight";
    t->type = type;
    t->n_dims = 2;
    t->ne[0] = in;
    t->ne[1] = out;
    t->ne[2] = t->ne[3] = 1;
    t->nbytes = rb * out;
    t->data = malloc(t->nbytes);
    float *tmp = malloc(in * sizeof(float));
    if (!t->data || !tmp) {
        free(t->data);
        free(tmp);
        t->data = NULL;
        return -1;
    }
    const int block_type = wrk_dtype_block_elems(type) > 1;
    for (uint64_t o = 0; o < out; o++) {
        uint8_t *row = (uint8_t *)t->data + o * rb;
        if (raw && block_type) {
            for (uint64_t i = 0; i < rb; i++)
                row[i] = (uint8_t)tu_u64(r);
            fix_scales(r, type, row, in / wrk_dtype_block_elems(type));
        } else {
            tu_fill(r, tmp, in, -1.0f, 1.0f);
            wrk_quantize_row(type, tmp, row, in);
        }
    }
    free(tmp);
    return 0;
}

double tu_rel_err(const float *a, const float *ref, size_t n)
{
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double d = (double)a[i] - (double)ref[i];
        num += d * d;
        den += (double)ref[i] * ref[i];
    }
    if (den == 0.0)
        return num == 0.0 ? 0.0 : INFINITY;
    return sqrt(num / den);
}

int tu_all_finite(const float *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(a[i]))
            return 0;
    return 1;
}
