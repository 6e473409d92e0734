/*
 * fixture_vocab.h - loading the vocabulary fixtures of tests/text/fixtures (written by
 * gen_fixtures.mjs) into tokenizers, for the text tests.
 */
#ifndef WRK_TEST_FIXTURE_VOCAB_H
#define WRK_TEST_FIXTURE_VOCAB_H

#include <stddef.h>
#include "text/tok_internal.h"

/** Path of a fixture file ($top_srcdir/tests/text/fixtures/name) in a static buffer. */
const char *fixture_path(const char *name);

/** Build the tokenizer of one fixture vocabulary: "gpt2", "llama2" or "llama3".
 *  NULL (with a message on stderr) when the files are missing or malformed. */
wrk_tokenizer *fixture_tokenizer(const char *vocab);

/** The vocabulary arrays of one fixture (owned by the returned handle). */
typedef struct fixture_vocab fixture_vocab;
fixture_vocab *fixture_vocab_load(const char *vocab, const wrk_vocab_desc **desc);
void fixture_vocab_free(fixture_vocab *v);

/** Unescape \\ \t \n \r in place; returns the new length. */
size_t fixture_unescape(char *s);

#endif
