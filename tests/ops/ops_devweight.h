/*
 * ops_devweight.h - a random weight in host memory together with its device copy, for the
 * CUDA op tests that run the same product on both kernel sets.
 */
#ifndef OPS_DEVWEIGHT_H
#define OPS_DEVWEIGHT_H

#include "ops_testutil.h"

typedef struct tu_pair {
    wp_tensor h, d;   /* host weight (malloc) and the same tensor on the device */
} tu_pair;

/** tu_make_weight(r, type, in, out, raw) and its upload; fails the running Check test when
 *  the weight cannot be made. */
void tu_pair_make(tu_rng *r, uint32_t type, int in, int out, int raw, tu_pair *p);
void tu_pair_free(tu_pair *p);

#endif
