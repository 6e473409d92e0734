/*
 * ops_devweight.c - see ops_devweight.h.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>

#include "ops_cudahost.h"
#include "ops_devweight.h"

void tu_pair_make(tu_rng *r, uint32_t type, int in, int out, int raw, tu_pair *p)
{
    ck_assert_int_eq(tu_make_weight(r, type, in, out, raw, &p->h), 0);
    p->d = p->h;
    p->d.data = tu_dalloc(p->h.nbytes);
    tu_upload(p->d.data, p->h.data, p->h.nbytes);
}

void tu_pair_free(tu_pair *p)
{
    tu_dfree(p->d.data);
    free(p->h.data);
}
