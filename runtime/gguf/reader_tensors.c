/*
 * reader_tensors.c - parse and validate the tensor infos of a GGUF image.
 *
 * Info: string name, u32 n_dims, u64 ne[n_dims], u32 type, u64 offset (relative to the data
 * section, which starts at the first multiple of general.alignment after the infos).
 * Checked: names non-empty, at most GGUF_MAX_NAME bytes, unique; n_dims 1..4; no zero dims;
 * element count and byte size without overflow; supported type with ne[0] a whole number
 * of blocks; offset aligned; data inside the data section; no two tensors overlap.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/wrk_error.h"
#include "gguf/gguf_internal.h"
#include "gguf/quant.h"

static int oom(const gguf_cursor *c, uint64_t at)
{
    return gguf_fail(c, at, "tensor infos: out of host memory");
}

/* Parse info idx at c into t (name copied); at = byte offset of the info. */
static int read_info(gguf_cursor *c, int64_t idx, gguf_tensor_info *t, uint64_t at,
                     uint64_t alignment)
{
    char ctx[64];
    const uint8_t *np;
    uint64_t nlen = 0;
    uint32_t v = 0;
    int rc;

    snprintf(ctx, sizeof ctx, "tensor %lld name", (long long)idx);
    if ((rc = gguf_rd_str(c, &np, &nlen, ctx))) return rc;
    if (nlen == 0) return gguf_fail(c, at, "tensor %lld: empty name", (long long)idx);
    if (nlen > GGUF_MAX_NAME)
        return gguf_fail(c, at, "tensor %lld: name of %llu bytes is longer than %d",
                         (long long)idx, (unsigned long long)nlen, GGUF_MAX_NAME);
    if (memchr(np, 0, nlen))
        return gguf_fail(c, at, "tensor %lld: name contains a NUL byte", (long long)idx);
    char *name = malloc(nlen + 1);
    if (!name) return oom(c, at);
    memcpy(name, np, nlen);
    name[nlen] = '\0';
    t->name = name;

    char tctx[GGUF_MAX_NAME + 16];
    snprintf(tctx, sizeof tctx, "tensor '%s'", name);
    if ((rc = gguf_rd_u32(c, &t->n_dims, tctx))) return rc;
    if (t->n_dims < 1 || t->n_dims > GGUF_MAX_DIMS)
        return gguf_fail(c, at, "%s: n_dims %u is out of range 1..%d", tctx, t->n_dims,
                         GGUF_MAX_DIMS);
    for (uint32_t d = 0; d < GGUF_MAX_DIMS; d++) t->ne[d] = 1;
    for (uint32_t d = 0; d < t->n_dims; d++) {
        if ((rc = gguf_rd_u64(c, &t->ne[d], tctx))) return rc;
        if (t->ne[d] == 0) return gguf_fail(c, at, "%s: dimension %u is zero", tctx, d);
        if (t->ne[d] > (uint64_t)INT64_MAX)
            return gguf_fail(c, at, "%s: dimension %u (%llu) is too large", tctx, d,
                             (unsigned long long)t->ne[d]);
    }
    if ((rc = gguf_rd_u32(c, &v, tctx))) return rc;
    t->type = v;
    if ((rc = gguf_rd_u64(c, &t->offset, tctx))) return rc;

    if (!wrk_dtype_supported(t->type))
        return gguf_fail(c, at, "%s: type %s (%u) is not supported", tctx,
                         wrk_dtype_name(t->type), t->type);
    uint64_t nel = 1;
    for (uint32_t d = 0; d < t->n_dims; d++)
        if (__builtin_mul_overflow(nel, t->ne[d], &nel) || nel > (uint64_t)INT64_MAX)
            return gguf_fail(c, at, "%s: element count overflows", tctx);
    uint32_t be = wrk_dtype_block_elems(t->type);
    if (t->ne[0] % be != 0)
        return gguf_fail(c, at, "%s: ne[0] = %llu is not a multiple of the %s block size %u",
                         tctx, (unsigned long long)t->ne[0], wrk_dtype_name(t->type), be);
    uint64_t nbytes = wrk_dtype_row_bytes(t->type, t->ne[0]); /* 0: overflow */
    if (nbytes == 0) return gguf_fail(c, at, "%s: byte size overflows", tctx);
    for (uint32_t d = 1; d < t->n_dims; d++)
        if (__builtin_mul_overflow(nbytes, t->ne[d], &nbytes))
            return gguf_fail(c, at, "%s: byte size overflows", tctx);
    t->nbytes = nbytes;
    if (t->offset % alignment != 0)
        return gguf_fail(c, at, "%s: data offset %llu is not a multiple of the alignment %llu",
                         tctx, (unsigned long long)t->offset, (unsigned long long)alignment);
    return 0;
}

static int cmp_offset(const void *a, const void *b)
{
    const gguf_tensor_info *x = *(const gguf_tensor_info *const *)a;
    const gguf_tensor_info *y = *(const gguf_tensor_info *const *)b;
    return (x->offset > y->offset) - (x->offset < y->offset);
}

/* Every tensor inside the data section and no two overlapping (sorted by offset). */
static int check_extents(gguf_file *f, gguf_cursor *c, const uint64_t *at)
{
    uint64_t data_size = f->size - f->data_offset;
    for (int64_t i = 0; i < f->n_tensors; i++) {
        const gguf_tensor_info *t = &f->tensors[i];
        if (t->offset > data_size || t->nbytes > data_size - t->offset)
            return gguf_fail(c, at[i],
                             "tensor '%s': data [%llu, +%llu) lies outside the data section "
                             "(%llu bytes at byte %llu)",
                             t->name, (unsigned long long)t->offset,
                             (unsigned long long)t->nbytes, (unsigned long long)data_size,
                             (unsigned long long)f->data_offset);
    }
    if (f->n_tensors < 2) return 0;
    const gguf_tensor_info **by_off = malloc((size_t)f->n_tensors * sizeof *by_off);
    if (!by_off) return oom(c, 0);
    for (int64_t i = 0; i < f->n_tensors; i++) by_off[i] = &f->tensors[i];
    qsort(by_off, (size_t)f->n_tensors, sizeof *by_off, cmp_offset);
    int rc = 0;
    for (int64_t i = 1; i < f->n_tensors; i++) {
        const gguf_tensor_info *p = by_off[i - 1], *t = by_off[i];
        if (p->offset + p->nbytes > t->offset) {
            rc = gguf_fail(c, at[t - f->tensors], "tensors '%s' [%llu, +%llu) and '%s' "
                           "[%llu, +%llu) overlap", p->name, (unsigned long long)p->offset,
                           (unsigned long long)p->nbytes, t->name,
                           (unsigned long long)t->offset, (unsigned long long)t->nbytes);
            break;
        }
    }
    free(by_off);
    return rc;
}

int gguf_read_tensors(gguf_file *f, gguf_cursor *c, uint64_t n_tensors)
{
    int rc = 0;
    uint64_t *at = NULL, cap_at = 0, cap_t = 0;
    for (uint64_t i = 0; i < n_tensors; i++) {
        if (gguf_grow((void **)&at, &cap_at, i, sizeof *at) ||
            gguf_grow((void **)&f->tensors, &cap_t, i, sizeof *f->tensors)) {
            rc = oom(c, c->pos);
            goto out;
        }
        at[i] = c->pos;
        f->n_tensors = (int64_t)i + 1; /* so close() frees the name */
        if ((rc = read_info(c, (int64_t)i, &f->tensors[i], at[i], f->alignment))) goto out;
    }
    f->n_tensors = (int64_t)n_tensors;

    /* names unique */
    int64_t a, b;
    f->t_by_name = malloc((size_t)(n_tensors ? n_tensors : 1) * sizeof *f->t_by_name);
    if (!f->t_by_name) {
        rc = oom(c, c->pos);
        goto out;
    }
    for (int64_t i = 0; i < f->n_tensors; i++)
        f->t_by_name[i] = (gguf_name_idx){f->tensors[i].name, i};
    if (gguf_name_index(f->t_by_name, f->n_tensors, &a, &b)) {
        rc = gguf_fail(c, at[b], "duplicate tensor name '%s' (first at byte %llu)",
                       f->tensors[b].name, (unsigned long long)at[a]);
        goto out;
    }

    /* the data section: first multiple of the alignment after the infos */
    uint64_t pad = (f->alignment - c->pos % f->alignment) % f->alignment;
    f->data_offset = c->pos + pad; /* pos <= size < 2^63, alignment <= 2^31: no overflow */
    if (f->n_tensors == 0) {
        if (f->data_offset > f->size) f->data_offset = f->size; /* no data section needed */
        goto out;
    }
    if (f->data_offset > f->size) {
        rc = gguf_fail(c, c->pos, "truncated: the data section would start at byte %llu, "
                       "beyond the end of the file (%llu bytes)",
                       (unsigned long long)f->data_offset, (unsigned long long)f->size);
        goto out;
    }
    if ((rc = check_extents(f, c, at))) goto out;
    for (int64_t i = 0; i < f->n_tensors; i++)
        f->tensors[i].data = f->base + f->data_offset + f->tensors[i].offset;
out:
    free(at);
    return rc;
}
