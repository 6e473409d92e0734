/*
 * gguf_test_util.h - helpers shared by the GGUF tests: a seeded PRNG (the seed is printed
 * so a failure can be replayed with GGUF_TEST_SEED) and a builder of raw GGUF bytes for
 * files the writer would refuse to produce.
 */
#ifndef GGUF_TEST_UTIL_H
#define GGUF_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Seed from GGUF_TEST_SEED or the clock; prints it once. */
void tu_seed(void);
uint64_t tu_rand(void);
/* Uniform in [lo, hi). */
float tu_uniform(float lo, float hi);
/* Uniform integer in [lo, hi]. */
uint64_t tu_range(uint64_t lo, uint64_t hi);
void tu_fill(void *p, size_t n);

/* A growing byte buffer. */
typedef struct tu_buf {
    uint8_t *b;
    size_t n, cap;
} tu_buf;

void tu_bytes(tu_buf *b, const void *p, size_t n);
void tu_u8(tu_buf *b, uint8_t v);
void tu_u32(tu_buf *b, uint32_t v);
void tu_u64(tu_buf *b, uint64_t v);
/* GGUF string: u64 length + bytes. */
void tu_str(tu_buf *b, const char *s);
/* Header: magic, version, counts. */
void tu_header(tu_buf *b, uint32_t version, uint64_t n_tensors, uint64_t n_kv);
/* Tensor info with n_dims dims from ne. */
void tu_tensor(tu_buf *b, const char *name, uint32_t n_dims, const uint64_t *ne,
               uint32_t type, uint64_t offset);
/* Zero padding to a multiple of align. */
void tu_pad(tu_buf *b, size_t align);
/* n random bytes. */
void tu_random(tu_buf *b, size_t n);
void tu_free(tu_buf *b);

#endif
