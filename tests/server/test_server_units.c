/*
 * test_server_units.c - unit tests of worker-orcd's request checks, without a model:
 * strict UTF-8, nesting depth and surrogate escapes (srv_json), /execute and OpenAI field
 * validation (srv_params) and chat template rendering (srv_chat). Random inputs, seeded
 * from the time (printed) so a failure can be replayed with SERVER_UNITS_SEED.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "srv_chat.h"
#include "srv_json.h"
#include "srv_params.h"

static unsigned seed;

static uint32_t rnd(void)
{
    seed = seed * 1103515245u + 12345u;
    return (seed >> 8) & 0xFFFFFF;
}

/* Encode code point cp as UTF-8 into out; returns the length. */
static int utf8_put(uint32_t cp, unsigned char *out)
{
    if (cp < 0x80) { out[0] = (unsigned char)cp; return 1; }
    if (cp < 0x800) { out[0] = 0xC0 | (cp >> 6); out[1] = 0x80 | (cp & 0x3F); return 2; }
    if (cp < 0x10000) {
        out[0] = 0xE0 | (cp >> 12); out[1] = 0x80 | ((cp >> 6) & 0x3F);
        out[2] = 0x80 | (cp & 0x3F);
        return 3;
    }
    out[0] = 0xF0 | (cp >> 18); out[1] = 0x80 | ((cp >> 12) & 0x3F);
    out[2] = 0x80 | ((cp >> 6) & 0x3F); out[3] = 0x80 | (cp & 0x3F);
    return 4;
}

static uint32_t random_scalar(void)
{
    for (;;) {
        uint32_t cp;
        switch (rnd() % 4) {
        case 0: cp = 0x20 + rnd() % 0x5F; break;
        case 1: cp = 0x80 + rnd() % 0x780; break;
        case 2: cp = 0x800 + rnd() % 0xF800; break;
        default: cp = 0x10000 + rnd() % 0x100000; break;
        }
        if (cp >= 0xD800 && cp <= 0xDFFF) continue;
        return cp;
    }
}

START_TEST(utf8_random_valid_strings_pass)
{
    unsigned char buf[4096];
    for (int iter = 0; iter < 200; iter++) {
        size_t len = 0, chars = 0;
        while (len < sizeof buf - 5) {
            len += (size_t)utf8_put(random_scalar(), buf + len);
            chars++;
            if (rnd() % 50 == 0) break;
        }
        buf[len] = '\0';
        ck_assert_uint_eq(srv_utf8_valid_prefix((char *)buf, len), len);
        ck_assert_uint_eq(srv_utf8_chars((char *)buf), chars);
    }
}
END_TEST

START_TEST(utf8_invalid_sequences_fail_at_their_offset)
{
    /* a random valid prefix, then one invalid sequence */
    static const unsigned char *bad[] = {
        (const unsigned char *)"\xC0\xAF", (const unsigned char *)"\xE0\x80\xAF",
        (const unsigned char *)"\xED\xA0\x80", (const unsigned char *)"\xF4\x90\x80\x80",
        (const unsigned char *)"\xFF", (const unsigned char *)"\x80",
        (const unsigned char *)"\xE2\x82", (const unsigned char *)"\xF0\x9F\x98"};
    unsigned char buf[512];
    for (int iter = 0; iter < 100; iter++) {
        size_t len = 0;
        int n = (int)(rnd() % 20);
        for (int k = 0; k < n; k++) len += (size_t)utf8_put(random_scalar(), buf + len);
        size_t at = len;
        const unsigned char *b = bad[rnd() % (sizeof bad / sizeof bad[0])];
        memcpy(buf + len, b, strlen((const char *)b));
        len += strlen((const char *)b);
        ck_assert_uint_eq(srv_utf8_valid_prefix((char *)buf, len), at);
    }
}
END_TEST

START_TEST(utf8_sanitize_replaces_bad_bytes)
{
    unsigned char buf[1024];
    for (int iter = 0; iter < 100; iter++) {
        size_t len = 0;
        int bad = 0, n = 1 + (int)(rnd() % 30);
        for (int k = 0; k < n; k++) {
            if (rnd() % 4 == 0) {
                buf[len++] = 0xFF;   /* never valid in UTF-8 */
                bad++;
            } else {
                len += (size_t)utf8_put(random_scalar(), buf + len);
            }
        }
        buf[len] = '\0';
        char *out = srv_utf8_sanitize((char *)buf);
        ck_assert_ptr_nonnull(out);
        ck_assert_uint_eq(srv_utf8_valid_prefix(out, strlen(out)), strlen(out));
        ck_assert_uint_eq(strlen(out), len + 2 * (size_t)bad);   /* 1 byte -> 3 bytes */
        ck_assert_uint_eq(srv_utf8_chars(out), (size_t)n);
        free(out);
    }
}
END_TEST

START_TEST(precheck_depth_limit)
{
    char body[512], msg[256];
    for (unsigned limit = 1; limit < 40; limit++) {
        unsigned depth = 1 + rnd() % 60;
        size_t n = 0;
        n += (size_t)snprintf(body, sizeof body, "{\"a\":");
        for (unsigned d = 1; d < depth; d++) body[n++] = '[';
        body[n++] = '1';
        for (unsigned d = 1; d < depth; d++) body[n++] = ']';
        body[n++] = '}';
        body[n] = '\0';
        int rc = srv_body_precheck(body, n, limit, msg, sizeof msg);
        ck_assert_int_eq(rc, depth > limit ? -1 : 0);
        /* brackets inside strings never count */
        char s[600];
        int m = snprintf(s, sizeof s, "{\"a\":\"%.*s\"}", (int)(depth * 2), "[[[[[[[[[[[[[[[[["
                         "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
                         "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[");
        ck_assert_int_eq(srv_body_precheck(s, (size_t)m, 1, msg, sizeof msg), 0);
    }
}
END_TEST

START_TEST(precheck_surrogate_escapes)
{
    char msg[256], body[128];
    for (int iter = 0; iter < 200; iter++) {
        unsigned hi = 0xD800 + rnd() % 0x400, lo = 0xDC00 + rnd() % 0x400;
        unsigned other = 0x20 + rnd() % 0xD000;
        int n = snprintf(body, sizeof body, "{\"p\":\"x\\u%04X\\u%04Xy\"}", hi, lo);
        ck_assert_int_eq(srv_body_precheck(body, (size_t)n, 8, msg, sizeof msg), 0);
        n = snprintf(body, sizeof body, "{\"p\":\"x\\u%04x\"}", hi);
        ck_assert_int_eq(srv_body_precheck(body, (size_t)n, 8, msg, sizeof msg), -1);
        ck_assert_ptr_nonnull(strstr(msg, "surrogate"));
        n = snprintf(body, sizeof body, "{\"p\":\"\\u%04X\"}", lo);
        ck_assert_int_eq(srv_body_precheck(body, (size_t)n, 8, msg, sizeof msg), -1);
        n = snprintf(body, sizeof body, "{\"p\":\"\\u%04X\\u%04X\"}", hi, other);
        ck_assert_int_eq(srv_body_precheck(body, (size_t)n, 8, msg, sizeof msg), -1);
        /* an escaped backslash followed by "ud800" is plain text, not an escape */
        n = snprintf(body, sizeof body, "{\"p\":\"\\\\u%04X\"}", hi);
        ck_assert_int_eq(srv_body_precheck(body, (size_t)n, 8, msg, sizeof msg), 0);
    }
}
END_TEST

static json_t *parse(const char *text)
{
    char msg[256];
    json_t *o = srv_body_parse_object(text, strlen(text), 32, msg, sizeof msg);
    ck_assert_msg(o != NULL, "%s: %s", text, msg);
    return o;
}

START_TEST(execute_defaults_and_values)
{
    srv_limits lim = {2048, 512};
    srv_gen_request req;
    char msg[256], body[512];
    for (int iter = 0; iter < 100; iter++) {
        int mt = 1 + (int)(rnd() % 2048), tk = (int)(rnd() % 513);
        double temp = (rnd() % 2001) / 1000.0, tp = (rnd() % 1001) / 1000.0;
        unsigned long long sd = ((unsigned long long)rnd() << 24) | rnd();
        snprintf(body, sizeof body, "{\"job_id\":\"j%u\",\"prompt\":\"p %u\",\"max_tokens\":%d,"
                 "\"temperature\":%.3f,\"top_p\":%.3f,\"top_k\":%d,\"seed\":%llu,"
                 "\"stop\":[\"a%u\",\"b\"]}", rnd(), rnd(), mt, temp, tp, tk, sd, rnd());
        json_t *o = parse(body);
        ck_assert_int_eq(srv_parse_execute(o, &lim, &req, msg, sizeof msg), 0);
        ck_assert_int_eq(req.sp.max_tokens, mt);
        ck_assert_int_eq(req.sp.top_k, tk);
        ck_assert_float_eq_tol(req.sp.temperature, temp, 1e-6);
        ck_assert_float_eq_tol(req.sp.top_p, tp, 1e-6);
        ck_assert(req.sp.seed == sd && req.seed_given);
        ck_assert_int_eq(req.sp.n_stop, 2);
        ck_assert_str_eq(req.sp.stop[1], "b");
        srv_gen_request_free(&req);
        json_decref(o);
    }
    json_t *o = parse("{\"job_id\":\"x\",\"prompt\":\"y\"}");
    ck_assert_int_eq(srv_parse_execute(o, &lim, &req, msg, sizeof msg), 0);
    ck_assert_int_eq(req.sp.max_tokens, 2048);
    ck_assert_float_eq(req.sp.temperature, 1.0f);
    ck_assert_float_eq(req.sp.top_p, 1.0f);
    ck_assert_int_eq(req.sp.top_k, 0);
    ck_assert_float_eq(req.sp.repetition_penalty, 1.0f);
    ck_assert_float_eq(req.sp.min_p, 0.0f);
    ck_assert_int_eq(req.sp.n_stop, 0);
    ck_assert(!req.seed_given && req.sp.seed < (1ULL << 53));
    srv_gen_request_free(&req);
    json_decref(o);
}
END_TEST

START_TEST(execute_rejects_out_of_range)
{
    static const char *const bad[] = {
        "{\"prompt\":\"y\"}", "{\"job_id\":\"\",\"prompt\":\"y\"}", "{\"job_id\":\"x\"}",
        "{\"job_id\":\"x\",\"prompt\":\"y\",\"max_tokens\":0}",
        "{\"job_id\":\"x\",\"prompt\":\"y\",\"max_tokens\":2049}",
        "{\"job_id\":\"x\",\"prompt\":\"y\",\"max_tokens\":true}",
        "{\"job_id\":\"x\",\"prompt\":\"y\",\"temperature\":2.001}",
        "{\"job_id\":\"x\",\"prompt\":\"y\",\"top_p\":-0.001}",
        "{\"job_id\":\"x\",\"prompt\":\"y\",\"top_k\":513}",
        "{\"job_id\":\"x\",\"prompt\":\"y\",\"repetition_penalty\":2.01}",
        "{\"job_id\":\"x\",\"prompt\":\"y\",\"min_p\":1.01}",
        "{\"job_id\":\"x\",\"prompt\":\"y\",\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\"]}",
        "{\"job_id\":\"x\",\"prompt\":\"y\",\"stop\":\"a\"}",
        "{\"job_id\":\"x\",\"prompt\":\"y\",\"seed\":-1}",
    };
    srv_limits lim = {2048, 512};
    srv_gen_request req;
    char msg[256];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *o = parse(bad[i]);
        msg[0] = '\0';
        ck_assert_msg(srv_parse_execute(o, &lim, &req, msg, sizeof msg) == -1, "%s", bad[i]);
        ck_assert_msg(msg[0] != '\0', "no message for %s", bad[i]);
        json_decref(o);
    }
}
END_TEST

START_TEST(openai_fields)
{
    srv_limits lim = {2048, 512};
    srv_gen_request req;
    char msg[256];
    json_t *o = parse("{\"prompt\":[\"hello\"],\"stop\":\"x\",\"stream\":true,\"model\":\"m\"}");
    ck_assert_int_eq(srv_parse_openai_completion(o, &lim, &req, msg, sizeof msg), 0);
    ck_assert_str_eq(req.prompt, "hello");
    ck_assert_int_eq(req.sp.max_tokens, 16);   /* OpenAI's completion default */
    ck_assert_int_eq(req.sp.n_stop, 1);
    ck_assert_int_eq(req.stream, 1);
    srv_gen_request_free(&req);
    json_decref(o);
    o = parse("{\"prompt\":\"a\",\"n\":2}");
    ck_assert_int_eq(srv_parse_openai_completion(o, &lim, &req, msg, sizeof msg), -1);
    json_decref(o);
    o = parse("{\"messages\":[],\"max_completion_tokens\":7}");
    ck_assert_int_eq(srv_parse_openai_chat(o, &lim, &req, msg, sizeof msg), 0);
    ck_assert_int_eq(req.sp.max_tokens, 7);
    srv_gen_request_free(&req);
    json_decref(o);
}
END_TEST

static char *render(const char *tmpl, const char *msgs_json, char *msg)
{
    json_error_t e;
    json_t *m = json_loads(msgs_json, 0, &e);
    ck_assert_ptr_nonnull(m);
    char *out = srv_chat_render(tmpl, m, msg, 256);
    json_decref(m);
    return out;
}

START_TEST(chat_families)
{
    char msg[256], msgs[512], sys_t[32], user_t[32], asst_t[32], expect[1024];
    snprintf(sys_t, sizeof sys_t, "s%u", rnd());
    snprintf(user_t, sizeof user_t, "u%u", rnd());
    snprintf(asst_t, sizeof asst_t, "a%u", rnd());
    snprintf(msgs, sizeof msgs, "[{\"role\":\"system\",\"content\":\"%s\"},{\"role\":\"user\","
             "\"content\":[{\"type\":\"text\",\"text\":\"%s\"}]},{\"role\":\"assistant\","
             "\"content\":\"%s\"},{\"role\":\"user\",\"content\":\"%s\"}]",
             sys_t, user_t, asst_t, user_t);

    ck_assert_int_eq(srv_chat_detect(NULL), SRV_CHAT_PLAIN);
    ck_assert_int_eq(srv_chat_detect("{% for m in messages %}<|im_start|>"), SRV_CHAT_CHATML);
    ck_assert_int_eq(srv_chat_detect("x<|start_header_id|>y"), SRV_CHAT_LLAMA3);
    ck_assert_int_eq(srv_chat_detect("{{ '[INST] ' + content }}"), SRV_CHAT_LLAMA2);
    ck_assert_int_eq(srv_chat_detect("{{ '<start_of_turn>' }}"), SRV_CHAT_UNSUPPORTED);

    char *out = render("<|start_header_id|>", msgs, msg);
    snprintf(expect, sizeof expect,
             "<|start_header_id|>system<|end_header_id|>\n\n%s<|eot_id|>"
             "<|start_header_id|>user<|end_header_id|>\n\n%s<|eot_id|>"
             "<|start_header_id|>assistant<|end_header_id|>\n\n%s<|eot_id|>"
             "<|start_header_id|>user<|end_header_id|>\n\n%s<|eot_id|>"
             "<|start_header_id|>assistant<|end_header_id|>\n\n", sys_t, user_t, asst_t, user_t);
    ck_assert_str_eq(out, expect);
    free(out);

    out = render("<|im_start|>", msgs, msg);
    snprintf(expect, sizeof expect,
             "<|im_start|>system\n%s<|im_end|>\n<|im_start|>user\n%s<|im_end|>\n"
             "<|im_start|>assistant\n%s<|im_end|>\n<|im_start|>user\n%s<|im_end|>\n"
             "<|im_start|>assistant\n", sys_t, user_t, asst_t, user_t);
    ck_assert_str_eq(out, expect);
    free(out);

    out = render("[INST]", msgs, msg);
    snprintf(expect, sizeof expect,
             "[INST] <<SYS>>\n%s\n<</SYS>>\n\n%s [/INST] %s </s><s>[INST] %s [/INST]",
             sys_t, user_t, asst_t, user_t);
    ck_assert_str_eq(out, expect);
    free(out);

    out = render(NULL, msgs, msg);
    snprintf(expect, sizeof expect, "System: %s\nUser: %s\nAssistant: %s\nUser: %s\nAssistant:",
             sys_t, user_t, asst_t, user_t);
    ck_assert_str_eq(out, expect);
    free(out);

    ck_assert_ptr_null(render("<start_of_turn>", msgs, msg));
    ck_assert_ptr_nonnull(strstr(msg, "chat template"));
    ck_assert_ptr_null(render(NULL, "[{\"role\":\"tool\",\"content\":\"x\"}]", msg));
    ck_assert_ptr_null(render(NULL, "[{\"role\":\"user\",\"content\":3}]", msg));
    ck_assert_ptr_null(render(NULL, "[]", msg));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("server_units");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, utf8_random_valid_strings_pass);
    tcase_add_test(tc, utf8_invalid_sequences_fail_at_their_offset);
    tcase_add_test(tc, utf8_sanitize_replaces_bad_bytes);
    tcase_add_test(tc, precheck_depth_limit);
    tcase_add_test(tc, precheck_surrogate_escapes);
    tcase_add_test(tc, execute_defaults_and_values);
    tcase_add_test(tc, execute_rejects_out_of_range);
    tcase_add_test(tc, openai_fields);
    tcase_add_test(tc, chat_families);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    const char *env = getenv("SERVER_UNITS_SEED");
    seed = env ? (unsigned)strtoul(env, NULL, 10) : (unsigned)time(NULL);
    printf("SERVER_UNITS_SEED=%u\n", seed);
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
