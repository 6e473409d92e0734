/*
 * test_tok_gguf.c - wrk_tokenizer_from_gguf: the fixture vocabularies written into GGUF
 * files (tokenizer.ggml.* as llama.cpp's converter writes them) give the same ids as the
 * tokenizer built from the arrays; malformed metadata is a clean MODEL_LOAD_FAILED.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker_errors.h"
#include "core/wrk_error.h"
#include "gguf/gguf.h"
#include "gguf/gguf_writer.h"
#include "fixture_vocab.h"

/* What to leave out or break when writing the metadata. */
enum { OK = 0, NO_MODEL, BAD_MODEL, SHORT_SCORES, BAD_PRE, TYPES_AS_STR, NO_TOKENS };

static gguf_writer *write_vocab(const wrk_vocab_desc *d, int flaw)
{
    gguf_writer *w = gguf_writer_new();
    ck_assert_ptr_nonnull(w);
    gguf_writer_set_str(w, "general.architecture", "llama");
    if (flaw != NO_MODEL)
        gguf_writer_set_str(w, "tokenizer.ggml.model", flaw == BAD_MODEL ? "bert" : d->model);
    if (d->pre || flaw == BAD_PRE)
        gguf_writer_set_str(w, "tokenizer.ggml.pre", flaw == BAD_PRE ? "no-such-pre" : d->pre);
    if (flaw != NO_TOKENS)
        ck_assert_int_eq(gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", d->tokens, NULL,
                                                 d->n_tokens), 0);
    if (d->scores || flaw == SHORT_SCORES) {
        float *sc = calloc(d->n_tokens, sizeof *sc);
        if (d->scores) memcpy(sc, d->scores, d->n_tokens * sizeof *sc);
        gguf_writer_set_arr(w, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, sc,
                            flaw == SHORT_SCORES ? d->n_tokens - 1 : d->n_tokens);
        free(sc);
    }
    if (flaw == TYPES_AS_STR)
        gguf_writer_set_arr_str(w, "tokenizer.ggml.token_type", d->tokens, NULL, d->n_tokens);
    else
        gguf_writer_set_arr(w, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, d->types,
                            d->n_tokens);
    if (d->n_merges)
        gguf_writer_set_arr_str(w, "tokenizer.ggml.merges", d->merges, NULL, d->n_merges);
    if (d->bos >= 0) gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)d->bos);
    if (d->eos >= 0) gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)d->eos);
    if (d->eot >= 0) gguf_writer_set_u32(w, "tokenizer.ggml.eot_token_id", (uint32_t)d->eot);
    if (d->add_bos >= 0) gguf_writer_set_bool(w, "tokenizer.ggml.add_bos_token", d->add_bos);
    return w;
}

static int from_writer(gguf_writer *w, wrk_tokenizer **t, void **mem, gguf_file **f)
{
    size_t size = 0;
    int rc;
    ck_assert_int_eq(gguf_writer_to_memory(w, mem, &size), 0);
    ck_assert_int_eq(gguf_open_memory(*mem, size, f), 0);
    rc = wrk_tokenizer_from_gguf(*f, t);
    return rc;
}

static void compare_vocab(const char *name)
{
    const wrk_vocab_desc *d = NULL;
    fixture_vocab *v = fixture_vocab_load(name, &d);
    wrk_tokenizer *a = NULL, *b = NULL;
    gguf_file *f = NULL;
    void *mem = NULL;
    uint64_t x = 0x9E3779B97F4A7C15ull;
    gguf_writer *w;
    ck_assert_ptr_nonnull(v);
    ck_assert_int_eq(wrk_tokenizer_build(d, &a), 0);
    w = write_vocab(d, OK);
    ck_assert_int_eq(from_writer(w, &b, &mem, &f), 0);
    ck_assert_str_eq(wrk_tokenizer_kind(a), wrk_tokenizer_kind(b));
    ck_assert_int_eq(wrk_tokenizer_vocab_size(a), wrk_tokenizer_vocab_size(b));
    ck_assert_int_eq(wrk_tokenizer_bos(a), wrk_tokenizer_bos(b));
    ck_assert_int_eq(wrk_tokenizer_eos(a), wrk_tokenizer_eos(b));
    /* Random texts from printable ASCII, a few multi-byte characters and specials. */
    static const char *const bits[] = { " ", "the", "e", "\xC3\xA9", "\xE4\xB8\xAD",
                                        "\xF0\x9F\x98\x80", "\n", "12", "<s>", "'s", "\t" };
    for (int iter = 0; iter < 300; iter++) {
        char text[512];
        size_t o = 0, na = 0, nb = 0;
        int32_t ia[600], ib[600];
        int len = 1 + iter % 40;
        for (int k = 0; k < len; k++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            if (x % 3 == 0) text[o++] = (char)(32 + (x >> 8) % 95);
            else {
                const char *b2 = bits[(x >> 8) % (sizeof bits / sizeof *bits)];
                memcpy(text + o, b2, strlen(b2));
                o += strlen(b2);
            }
        }
        ck_assert_int_eq(wrk_tokenize(a, text, o, 1, ia, 600, &na), 0);
        ck_assert_int_eq(wrk_tokenize(b, text, o, 1, ib, 600, &nb), 0);
        ck_assert_uint_eq(na, nb);
        ck_assert(memcmp(ia, ib, na * sizeof *ia) == 0);
    }
    wrk_tokenizer_free(a);
    wrk_tokenizer_free(b);
    gguf_close(f);
    free(mem);
    gguf_writer_free(w);
    fixture_vocab_free(v);
}

START_TEST(test_llama2_gguf) { compare_vocab("llama2"); }
END_TEST

START_TEST(test_gpt2_gguf) { compare_vocab("gpt2"); }
END_TEST

START_TEST(test_malformed)
{
    const wrk_vocab_desc *d = NULL;
    fixture_vocab *v = fixture_vocab_load("llama2", &d);
    const int flaws[] = { NO_MODEL, BAD_MODEL, SHORT_SCORES, BAD_PRE, TYPES_AS_STR, NO_TOKENS };
    ck_assert_ptr_nonnull(v);
    for (size_t i = 0; i < sizeof flaws / sizeof *flaws; i++) {
        wrk_tokenizer *t = (wrk_tokenizer *)1;
        gguf_file *f = NULL;
        void *mem = NULL;
        wrk_vocab_desc dd = *d;
        gguf_writer *w;
        if (flaws[i] == BAD_PRE) { dd.model = "gpt2"; }
        w = write_vocab(&dd, flaws[i]);
        wrk_error_clear();
        ck_assert_int_eq(from_writer(w, &t, &mem, &f), CUDA_ERROR_MODEL_LOAD_FAILED);
        ck_assert_ptr_null(t);
        ck_assert_msg(strstr(wrk_error_detail(), "tokenizer") != NULL, "flaw %d: %s",
                      flaws[i], wrk_error_detail());
        gguf_close(f);
        free(mem);
        gguf_writer_free(w);
    }
    ck_assert_int_eq(wrk_tokenizer_from_gguf(NULL, NULL), CUDA_ERROR_INVALID_PARAMETER);
    fixture_vocab_free(v);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("tok_gguf");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_llama2_gguf);
    tcase_add_test(tc, test_gpt2_gguf);
    tcase_add_test(tc, test_malformed);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
