/*
 * toy_fixture.h - GGUF fixtures for the toy test plugins (tests/plugin/toy/toy.c and the
 * SDK example), written at test time with the runtime's GGUF writer.
 */
#ifndef TOY_FIXTURE_H
#define TOY_FIXTURE_H

#include <stdint.h>

#define TOY_VOCAB 32

typedef struct toy_fixture {
    const char *arch;        /* general.architecture; tensors are "<arch>.embd" */
    uint32_t vocab;          /* <arch>.vocab_size (TOY_VOCAB entries in the tokenizer) */
    uint32_t type;           /* wp_dtype of the embedding */
    uint64_t ne0, ne1;       /* embedding shape (normally vocab x vocab) */
    int omit_tensor;         /* 1: write no embedding tensor */
    int omit_tokenizer;      /* 1: no tokenizer.* metadata */
    uint32_t seed;           /* values are random in [-1, 1) from this seed */
} toy_fixture;

/** Defaults: arch "toy", vocab TOY_VOCAB, F32, [vocab, vocab], seed 1. */
void toy_fixture_init(toy_fixture *f);

/** Write the fixture to path; the values of the embedding (ne0 * ne1 floats, before any
 *  conversion to type) are returned in a malloc'd array when values != NULL. 0 or error. */
int toy_fixture_write(const toy_fixture *f, const char *path, float **values);

#endif
