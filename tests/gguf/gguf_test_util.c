/*
 * gguf_test_util.c - see gguf_test_util.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gguf_test_util.h"

static uint64_t state;

void tu_seed(void)
{
    const char *s = getenv("GGUF_TEST_SEED");
    uint64_t seed = s ? strtoull(s, NULL, 0) : ((uint64_t)time(NULL) << 16) ^ (uint64_t)getpid();
    if (seed == 0) seed = 1;
    state = seed;
    fprintf(stderr, "GGUF_TEST_SEED=%llu\n", (unsigned long long)seed);
}

/* xorshift64* */
uint64_t tu_rand(void)
{
    if (state == 0) state = 88172645463325252ull;
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return state * 2685821657736338717ull;
}

float tu_uniform(float lo, float hi)
{
    return lo + (hi - lo) * (float)((tu_rand() >> 40) / (double)(1ull << 24));
}

uint64_t tu_range(uint64_t lo, uint64_t hi)
{
    return lo + tu_rand() % (hi - lo + 1);
}

void tu_fill(void *p, size_t n)
{
    uint8_t *b = p;
    for (size_t i = 0; i < n; i++) b[i] = (uint8_t)(tu_rand() >> 56);
}

void tu_bytes(tu_buf *b, const void *p, size_t n)
{
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n) cap *= 2;
        b->b = realloc(b->b, cap);
        if (!b->b) abort();
        b->cap = cap;
    }
    if (n) memcpy(b->b + b->n, p, n);
    b->n += n;
}

void tu_u8(tu_buf *b, uint8_t v) { tu_bytes(b, &v, 1); }
void tu_u32(tu_buf *b, uint32_t v) { tu_bytes(b, &v, 4); }
void tu_u64(tu_buf *b, uint64_t v) { tu_bytes(b, &v, 8); }

void tu_str(tu_buf *b, const char *s)
{
    tu_u64(b, strlen(s));
    tu_bytes(b, s, strlen(s));
}

void tu_header(tu_buf *b, uint32_t version, uint64_t n_tensors, uint64_t n_kv)
{
    tu_bytes(b, "GGUF", 4);
    tu_u32(b, version);
    tu_u64(b, n_tensors);
    tu_u64(b, n_kv);
}

void tu_tensor(tu_buf *b, const char *name, uint32_t n_dims, const uint64_t *ne,
               uint32_t type, uint64_t offset)
{
    tu_str(b, name);
    tu_u32(b, n_dims);
    for (uint32_t d = 0; d < n_dims; d++) tu_u64(b, ne[d]);
    tu_u32(b, type);
    tu_u64(b, offset);
}

void tu_pad(tu_buf *b, size_t align)
{
    while (b->n % align) tu_u8(b, 0);
}

void tu_random(tu_buf *b, size_t n)
{
    for (size_t i = 0; i < n; i++) tu_u8(b, (uint8_t)(tu_rand() >> 56));
}

void tu_free(tu_buf *b)
{
    free(b->b);
    b->b = NULL;
    b->n = b->cap = 0;
}
