/*
 * test_tokenizer_l2c.c - our GGUF "llama" tokenizer encodes like llama2.c on the default
 * model's vocabulary.
 *
 * llama2.c's encoder (run.c, encode()) is the reference the stories260K model was trained
 * with: prepend a space, map each UTF-8 character to its token (or its bytes to <0xNN>
 * tokens), then repeatedly merge the adjacent pair whose merged text has the best score
 * (leftmost on ties). It is reimplemented here on the converted vocabulary (U+2581 read back
 * as a space) and compared with wrk_tokenize on fixed and random texts.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf/gguf.h"
#include "text/tokenizer.h"

static gguf_file *g_gguf;
static wrk_tokenizer *g_tok;
static char **g_text;     /* vocab texts with U+2581 -> ' ' (NULL for control/byte tokens) */
static const float *g_score;
static uint64_t g_n;

static int32_t ref_lookup(const char *s, size_t len)
{
    for (uint64_t i = 0; i < g_n; i++)
        if (g_text[i] && strlen(g_text[i]) == len && memcmp(g_text[i], s, len) == 0)
            return (int32_t)i;
    return -1;
}

/* llama2.c encode() with bos = 1, eos = 0; returns the count. */
static size_t ref_encode(const char *text, int32_t *out)
{
    size_t n = 0, len = strlen(text);
    char buf[64];
    out[n++] = 1;   /* BOS */
    if (len) {
        int32_t sp = ref_lookup(" ", 1);
        ck_assert_int_ge(sp, 0);
        out[n++] = sp;
    }
    for (size_t i = 0; i < len;) {
        size_t cl = 1;
        int32_t id;
        while (i + cl < len && cl < 4 && ((unsigned char)text[i + cl] & 0xC0) == 0x80) cl++;
        id = ref_lookup(text + i, cl);
        if (id >= 0) out[n++] = id;
        else for (size_t k = 0; k < cl; k++) out[n++] = (unsigned char)text[i + k] + 3;
        i += cl;
    }
    for (;;) {
        float best = -1e10f;
        int32_t best_id = -1;
        size_t best_i = 0;
        for (size_t i = 1; i + 1 < n; i++) {   /* never merge the BOS */
            const char *a = g_text[out[i]], *b = g_text[out[i + 1]];
            int32_t id;
            size_t la, lb;
            if (!a || !b) continue;            /* byte tokens never merge by text */
            la = strlen(a); lb = strlen(b);
            if (la + lb >= sizeof buf) continue;
            memcpy(buf, a, la); memcpy(buf + la, b, lb);
            id = ref_lookup(buf, la + lb);
            if (id >= 0 && g_score[id] > best) { best = g_score[id]; best_id = id; best_i = i; }
        }
        if (best_id < 0) break;
        out[best_i] = best_id;
        memmove(out + best_i + 1, out + best_i + 2, (n - best_i - 2) * sizeof *out);
        n--;
    }
    return n;
}

static void compare(const char *text)
{
    int32_t want[4096], got[4096];
    size_t nw = ref_encode(text, want), ng = 0;
    int rc = wrk_tokenize(g_tok, text, strlen(text), 1, got, 4096, &ng);
    ck_assert_int_eq(rc, 0);
    ck_assert_msg(ng == nw, "\"%s\": %zu tokens, llama2.c gives %zu", text, ng, nw);
    for (size_t i = 0; i < nw; i++)
        ck_assert_msg(got[i] == want[i], "\"%s\": token %zu is %d, llama2.c gives %d", text, i,
                      got[i], want[i]);
}

static void setup(void)
{
    const char *src = getenv("top_srcdir");
    char path[1024];
    enum gguf_type et;
    snprintf(path, sizeof path, "%s/models/stories260K.gguf", src ? src : ".");
    ck_assert_msg(gguf_open(path, &g_gguf) == 0, "cannot open %s", path);
    ck_assert_int_eq(wrk_tokenizer_from_gguf(g_gguf, &g_tok), 0);
    ck_assert_int_eq(gguf_get_arr_info(g_gguf, "tokenizer.ggml.tokens", &et, &g_n), 0);
    g_score = gguf_get_arr_data(g_gguf, "tokenizer.ggml.scores");
    ck_assert_ptr_nonnull(g_score);
    g_text = calloc(g_n, sizeof *g_text);
    for (uint64_t i = 259; i < g_n; i++) {
        const char *t = gguf_get_arr_str(g_gguf, "tokenizer.ggml.tokens", i);
        char *o = malloc(strlen(t) + 1), *p = o;
        while (*t) {
            if (memcmp(t, "\xE2\x96\x81", 3) == 0) { *p++ = ' '; t += 3; }
            else *p++ = *t++;
        }
        *p = '\0';
        g_text[i] = o;
    }
}

static void teardown(void)
{
    for (uint64_t i = 0; i < g_n; i++) free(g_text[i]);
    free(g_text);
    wrk_tokenizer_free(g_tok);
    gguf_close(g_gguf);
}

START_TEST(fixed_texts)
{
    compare("Once upon a time");
    compare("Once upon a time, there was a little girl named Lily.");
    compare("Tom and  Sue played\tin the park.\n\"Look!\" she said.");
    compare("caf\xC3\xA9 \xE4\xB8\xAD\xE6\x96\x87 \xF0\x9F\x98\x80 ok");   /* byte fallback */
    compare("a");
    compare(" leading and trailing ");
}
END_TEST

START_TEST(random_texts)
{
    static const char *const pieces[] = { "a", "e", "the", " ", "  ", "Lily", "dog", ".",
                                          ",", "!", "\n", "\xC3\xA9", "\xE2\x80\x8A",
                                          "\xF0\x9F\x98\x80", "ing", "ed", "Z", "q", "7" };
    unsigned seed = 1234u + (unsigned)_i;
    for (int t = 0; t < 50; t++) {
        char text[512];
        size_t k = 0;
        int n = 1 + (int)(rand_r(&seed) % 40);
        for (int j = 0; j < n; j++) {
            const char *p = pieces[rand_r(&seed) % (sizeof pieces / sizeof pieces[0])];
            size_t l = strlen(p);
            memcpy(text + k, p, l);
            k += l;
        }
        text[k] = '\0';
        compare(text);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("tokenizer_l2c");
    TCase *tc = tcase_create("stories260K");
    SRunner *sr;
    int failed;
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, fixed_texts);
    tcase_add_loop_test(tc, random_texts, 0, 4);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
