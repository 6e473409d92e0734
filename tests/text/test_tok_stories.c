/*
 * test_tok_stories.c - the stories260K vocabulary (tests/text/fixtures/stories260K_tok512.bin,
 * a copy of shared/data/stories260K/tok512.bin, llama2.c format, MIT) as a GGUF "llama"
 * vocabulary would hold it (spaces as U+2581, <0xNN> byte tokens), against llama2.c's own
 * encoder re-implemented here: prepend a space, map each character to its token (bytes
 * + 3 when absent), then merge the adjacent pair whose concatenation scores best (first
 * on ties) until none is left.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture_vocab.h"

typedef struct l2c_vocab {
    int n;
    char **text;     /* llama2.c form: spaces as ' ' */
    float *score;
} l2c_vocab;

static l2c_vocab load(void)
{
    l2c_vocab v = { 0 };
    FILE *f = fopen(fixture_path("stories260K_tok512.bin"), "rb");
    int32_t maxlen;
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fread(&maxlen, 4, 1, f), 1);
    v.n = 512;
    v.text = calloc(512, sizeof *v.text);
    v.score = calloc(512, sizeof *v.score);
    for (int i = 0; i < 512; i++) {
        int32_t len;
        ck_assert_int_eq(fread(&v.score[i], 4, 1, f), 1);
        ck_assert_int_eq(fread(&len, 4, 1, f), 1);
        ck_assert(len > 0 && len <= maxlen);
        v.text[i] = calloc((size_t)len + 1, 1);
        ck_assert_int_eq(fread(v.text[i], 1, (size_t)len, f), (size_t)len);
    }
    fclose(f);
    return v;
}

static int lookup(const l2c_vocab *v, const char *s, size_t n)
{
    for (int i = 0; i < v->n; i++)
        if (strlen(v->text[i]) == n && memcmp(v->text[i], s, n) == 0) return i;
    return -1;
}

/* llama2.c's encode (run.c), without BOS/EOS. */
static size_t l2c_encode(const l2c_vocab *v, const char *text, int *ids)
{
    size_t n = 0, len = strlen(text);
    char buf[64];
    if (len) ids[n++] = lookup(v, " ", 1);
    for (size_t i = 0; i < len;) {
        size_t c = 1;
        while (i + c < len && ((unsigned char)text[i + c] & 0xC0) == 0x80 && c < 4) c++;
        int id = lookup(v, text + i, c);
        if (id >= 0) ids[n++] = id;
        else for (size_t k = 0; k < c; k++) ids[n++] = (unsigned char)text[i + k] + 3;
        i += c;
    }
    for (;;) {
        float best = -1e10f;
        int best_id = -1;
        size_t best_i = 0;
        for (size_t i = 0; i + 1 < n; i++) {
            snprintf(buf, sizeof buf, "%s%s", v->text[ids[i]], v->text[ids[i + 1]]);
            int id = lookup(v, buf, strlen(buf));
            if (id >= 0 && v->score[id] > best) { best = v->score[id]; best_id = id; best_i = i; }
        }
        if (best_id < 0) break;
        ids[best_i] = best_id;
        memmove(ids + best_i + 1, ids + best_i + 2, (n - best_i - 2) * sizeof *ids);
        n--;
    }
    return n;
}

/* The same vocabulary as a GGUF converter writes it. */
static wrk_tokenizer *as_gguf_vocab(const l2c_vocab *v)
{
    const char *toks[512];
    int32_t types[512];
    char *conv[512];
    wrk_vocab_desc d;
    wrk_tokenizer *t = NULL;
    for (int i = 0; i < 512; i++) {
        const char *s = v->text[i];
        size_t o = 0;
        conv[i] = malloc(strlen(s) * 3 + 1);
        for (; *s; s++) {
            if (*s == ' ') { memcpy(conv[i] + o, "\xE2\x96\x81", 3); o += 3; }
            else conv[i][o++] = *s;
        }
        conv[i][o] = '\0';
        toks[i] = conv[i];
        types[i] = i == 0 ? WRK_TOK_UNKNOWN : i <= 2 ? WRK_TOK_CONTROL : i <= 258 ? WRK_TOK_BYTE
                                                                            : WRK_TOK_NORMAL;
    }
    toks[1] = "<s>";
    toks[2] = "</s>";
    wrk_vocab_desc_init(&d);
    d.model = "llama";
    d.n_tokens = 512;
    d.tokens = toks;
    d.scores = v->score;
    d.types = types;
    ck_assert_int_eq(wrk_tokenizer_build(&d, &t), 0);
    for (int i = 0; i < 512; i++) free(conv[i]);
    return t;
}

START_TEST(test_stories_vocab)
{
    static const char *const words[] = {
        "Once", "upon", "a", "time", "there", "was", "little", "girl", "named", "Lily",
        "She", "liked", "to", "play", "with", "her", "ball", "in", "the", "park", "One",
        "day", "saw", "big", "dog", ",", ".", "!", "\"", "happy", "Tom", "and", "said",
        "caf\xC3\xA9", "\xE2\x82\xAC", "42", "x", "  ", "\n", "zq", "The"
    };
    l2c_vocab v = load();
    wrk_tokenizer *t = as_gguf_vocab(&v);
    uint64_t x = 12345;
    int want[2048];
    int32_t got[2048];
    const char *fixed[] = { "Once upon a time",
                            ("Once upon a time, there was a little girl named Lily."),
                            " leading", "a", " ", "" };
    for (int iter = 0; iter < 600; iter++) {
        char text[600];
        size_t o = 0, n = 0, m;
        if (iter < 6) {
            snprintf(text, sizeof text, "%s", fixed[iter]);
        } else {
            int count = 1 + iter % 25;
            for (int k = 0; k < count; k++) {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17;
                const char *w = words[x % (sizeof words / sizeof *words)];
                if (k && (x >> 20) % 4) text[o++] = ' ';
                memcpy(text + o, w, strlen(w));
                o += strlen(w);
            }
            text[o] = '\0';
        }
        m = l2c_encode(&v, text, want);
        ck_assert_int_eq(wrk_tokenize(t, text, strlen(text), 0, got, 2048, &n), 0);
        ck_assert_msg(n == m, "'%s': %zu ids, llama2.c %zu", text, n, m);
        for (size_t k = 0; k < n; k++)
            ck_assert_msg(got[k] == want[k], "'%s': id %zu is %d, llama2.c %d", text, k,
                          got[k], want[k]);
    }
    /* With BOS: id 1 first. */
    {
        size_t n = 0;
        ck_assert_int_eq(wrk_tokenize(t, "Once", 4, 1, got, 2048, &n), 0);
        ck_assert_int_eq(got[0], 1);
    }
    wrk_tokenizer_free(t);
    for (int i = 0; i < 512; i++) free(v.text[i]);
    free(v.text);
    free(v.score);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("tok_stories");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_stories_vocab);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
