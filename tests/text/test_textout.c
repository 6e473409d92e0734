/*
 * test_textout.c - UTF-8 repair and boundaries (runtime/text/utf8.c) and the holdback of
 * generated text (runtime/session/textout.c), on random data against simple independent
 * models written here.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker_errors.h"
#include "session/textout.h"
#include "text/utf8.h"

static uint64_t rs = 0xD1B54A32D192ED03ull;
static uint32_t rnd(uint32_t n)
{
    rs ^= rs << 13; rs ^= rs >> 7; rs ^= rs << 17;
    return (uint32_t)(rs % n);
}

/* A random valid code point (all lengths, no surrogates). */
static uint32_t rand_cp(void)
{
    switch (rnd(4)) {
    case 0: return 0x20 + rnd(0x5F);
    case 1: return 0x80 + rnd(0x780);
    case 2: { uint32_t c = 0x800 + rnd(0xF800); return c >= 0xD800 && c < 0xE000 ? 0xE9 : c; }
    default: return 0x10000 + rnd(0x100000);
    }
}

/* Independent validity check: decode by the textbook rules (Unicode table 3-7). */
static int valid_utf8(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t len;
        uint32_t cp, min;
        if (c < 0x80) { i++; continue; }
        if ((c & 0xE0) == 0xC0) { len = 2; cp = c & 0x1F; min = 0x80; }
        else if ((c & 0xF0) == 0xE0) { len = 3; cp = c & 0x0F; min = 0x800; }
        else if ((c & 0xF8) == 0xF0) { len = 4; cp = c & 0x07; min = 0x10000; }
        else return 0;
        if (i + len > n) return 0;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp < 0xE000)) return 0;
        i += len;
    }
    return 1;
}

START_TEST(test_sanitize_valid_is_identity)
{
    for (int iter = 0; iter < 2000; iter++) {
        char s[400];
        size_t n = 0, m = 0;
        int count = (int)rnd(60);
        for (int k = 0; k < count; k++) n += wrk_utf8_encode(rand_cp(), s + n);
        ck_assert(valid_utf8((unsigned char *)s, n));
        char *o = wrk_utf8_sanitize(s, n, &m);
        ck_assert_uint_eq(m, n);
        ck_assert(memcmp(o, s, n) == 0);
        ck_assert_uint_eq(wrk_utf8_complete_prefix((unsigned char *)s, n), n);
        /* Cut anywhere: the complete prefix ends on the last boundary before the cut. */
        for (size_t cut = 0; cut <= n; cut++) {
            size_t p = wrk_utf8_complete_prefix((unsigned char *)s, cut);
            ck_assert(p <= cut && cut - p < 4);
            ck_assert(valid_utf8((unsigned char *)s, p));
            ck_assert(p == cut || ((unsigned char)s[p] & 0xC0) != 0x80);
        }
        free(o);
    }
}
END_TEST

START_TEST(test_sanitize_random_bytes)
{
    for (int iter = 0; iter < 5000; iter++) {
        unsigned char s[64];
        size_t n = rnd(64), m = 0;
        for (size_t k = 0; k < n; k++) s[k] = (unsigned char)(rnd(3) ? 0x80 + rnd(0x80) : rnd(256));
        char *o = wrk_utf8_sanitize((char *)s, n, &m);
        ck_assert(valid_utf8((unsigned char *)o, m));
        ck_assert_uint_le(m, 3 * n);
        ck_assert_int_eq(o[m], '\0');
        free(o);
    }
    /* Maximal subparts (Unicode 15, table 3-8): each becomes one U+FFFD. */
    {
        const char in[] = "\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64";
        const char want[] = "a\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD" "b\xEF\xBF\xBD" "c"
                            "\xEF\xBF\xBD\xEF\xBF\xBD" "d";
        size_t m = 0;
        char *o = wrk_utf8_sanitize(in, sizeof in - 1, &m);
        ck_assert_uint_eq(m, sizeof want - 1);
        ck_assert(memcmp(o, want, m) == 0);
        free(o);
    }
    /* Surrogates, overlongs and > U+10FFFF are rejected. */
    {
        size_t bad = 0;
        ck_assert_uint_eq(wrk_utf8_char((const unsigned char *)"\xED\xA0\x80", 3, &bad), 0);
        ck_assert_uint_eq(wrk_utf8_char((const unsigned char *)"\xC0\xAF", 2, &bad), 0);
        ck_assert_uint_eq(wrk_utf8_char((const unsigned char *)"\xE0\x80\xAF", 3, &bad), 0);
        ck_assert_uint_eq(wrk_utf8_char((const unsigned char *)"\xF4\x90\x80\x80", 4, &bad), 0);
        ck_assert_uint_eq(wrk_utf8_char((const unsigned char *)"\xF4\x8F\xBF\xBF", 4, &bad), 4);
    }
}
END_TEST

/* Reference: the released text is the stream up to the first stop occurrence; each
 * release is valid UTF-8 and is never followed by text completing a stop sequence. */
START_TEST(test_holdback_random_streams)
{
    static const char *const alphabet[] = { "a", "b", "ab", "\xC3", "\xA9", "\xE2\x82",
                                            "\xAC", "\xF0\x9F", "\x98\x80", " ", "ba" };
    for (int iter = 0; iter < 3000; iter++) {
        wrk_textout o;
        char stream[512], out[2048], stopbuf[2][8];
        const char *stops[2];
        size_t sn = 0, on = 0;
        int n_stop = (int)rnd(3), stopped = 0, pieces = 0;
        for (int k = 0; k < n_stop; k++) {
            size_t len = 1 + rnd(3);
            for (size_t j = 0; j < len; j++) stopbuf[k][j] = rnd(2) ? 'a' : 'b';
            stopbuf[k][len] = '\0';
            stops[k] = stopbuf[k];
        }
        ck_assert_int_eq(wrk_textout_init(&o, stops, n_stop), 0);
        for (int t = 0; t < 40 && !stopped; t++) {
            const char *p = alphabet[rnd(sizeof alphabet / sizeof *alphabet)];
            size_t at, len = strlen(p), m = 0;
            memcpy(stream + sn, p, len);
            sn += len;
            ck_assert_int_eq(wrk_textout_push(&o, p, len), 0);
            at = wrk_textout_ready(&o, 0, &stopped);
            if (stopped) o.len = at;   /* as the session does: drop the stop and after */
            {
                int again = 0;
                at = wrk_textout_ready(&o, stopped, &again);
                ck_assert_int_eq(again, 0);
            }
            if (at == 0) continue;
            char *piece = wrk_textout_take(&o, at, &m);
            ck_assert(valid_utf8((unsigned char *)piece, m));
            memcpy(out + on, piece, m);
            on += m;
            pieces++;
            free(piece);
        }
        if (!stopped) {   /* end of stream: flush */
            size_t m = 0, at = wrk_textout_ready(&o, 1, &stopped);
            char *piece = wrk_textout_take(&o, at, &m);
            memcpy(out + on, piece, m);
            on += m;
            free(piece);
        }
        /* Expected: the stream cut at the earliest stop occurrence, then repaired. */
        {
            size_t cut = sn, m = 0;
            for (int k = 0; k < n_stop; k++) {
                const char *h = memmem(stream, sn, stops[k], strlen(stops[k]));
                if (h && (size_t)(h - stream) < cut) cut = (size_t)(h - stream);
            }
            char *want = wrk_utf8_sanitize(stream, cut, &m);
            if (!(on == m && memcmp(out, want, m) == 0)) {
                fprintf(stderr, "stops:");
                for (int k = 0; k < n_stop; k++) fprintf(stderr, " [%s]", stops[k]);
                fprintf(stderr, "\nstream:");
                for (size_t k = 0; k < sn; k++) fprintf(stderr, " %02x", (unsigned char)stream[k]);
                fprintf(stderr, "\nout:");
                for (size_t k = 0; k < on; k++) fprintf(stderr, " %02x", (unsigned char)out[k]);
                fprintf(stderr, "\nwant:");
                for (size_t k = 0; k < m; k++) fprintf(stderr, " %02x", (unsigned char)want[k]);
                fprintf(stderr, "\n");
            }
            ck_assert_msg(on == m && memcmp(out, want, m) == 0, "iteration %d", iter);
            free(want);
        }
        wrk_textout_free(&o);
    }
}
END_TEST

START_TEST(test_textout_args)
{
    wrk_textout o;
    const char *bad[] = { "ok", NULL };
    const char *empty[] = { "" };
    ck_assert_int_eq(wrk_textout_init(&o, NULL, 1), CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_int_eq(wrk_textout_init(&o, bad, 2), CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_int_eq(wrk_textout_init(&o, empty, 1), CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_int_eq(wrk_textout_init(&o, bad, 5), CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_int_eq(wrk_textout_init(&o, bad, 1), 0);
    ck_assert_int_eq(wrk_textout_push(&o, "x\0y", 3), 0);   /* NUL dropped */
    ck_assert_uint_eq(o.len, 2);
    wrk_textout_free(&o);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("textout");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_sanitize_valid_is_identity);
    tcase_add_test(tc, test_sanitize_random_bytes);
    tcase_add_test(tc, test_holdback_random_streams);
    tcase_add_test(tc, test_textout_args);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
