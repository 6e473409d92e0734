/*
 * test_log.c - logging: text and JSON lines, level filtering, escaping, the environment
 * variables, and whole lines under concurrent writers.
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/wrk_log.h"
#include "capture.h"

static unsigned seed;

START_TEST(test_text_and_levels)
{
    stderr_capture c;
    char *log, tok[32];
    snprintf(tok, sizeof tok, "tok%u", seed);
    wrk_log_set_json(0);
    wrk_log_set_level(WRK_LOG_WARN);
    ck_assert_int_eq(capture_begin(&c), 0);
    wrk_log(WRK_LOG_ERROR, "gguf", "e-%s", tok);
    wrk_log(WRK_LOG_WARN, "gguf", "w-%s", tok);
    wrk_log(WRK_LOG_INFO, "gguf", "i-%s", tok);
    wrk_log(WRK_LOG_DEBUG, "gguf", "d-%s", tok);
    log = capture_end(&c);
    ck_assert_ptr_nonnull(strstr(log, "e-"));
    ck_assert_ptr_nonnull(strstr(log, "w-"));
    ck_assert_ptr_null(strstr(log, "i-tok"));
    ck_assert_ptr_null(strstr(log, "d-tok"));
    ck_assert_ptr_nonnull(strstr(log, "[gguf]"));
    ck_assert_int_eq(count_occurrences(log, "\n"), 2);
    free(log);
}
END_TEST

START_TEST(test_json)
{
    stderr_capture c;
    char *log, exp[96];
    wrk_log_set_json(1);
    wrk_log_set_level(WRK_LOG_DEBUG);
    ck_assert_int_eq(capture_begin(&c), 0);
    wrk_log(WRK_LOG_DEBUG, "plugin:llama", "quote \" back \\ nl \n tab \t ctl \x01 n=%u", seed);
    log = capture_end(&c);
    ck_assert_int_eq(log[0], '{');
    ck_assert_int_eq(count_occurrences(log, "\n"), 1);   /* one line, newline escaped */
    ck_assert_ptr_nonnull(strstr(log, "\"level\":\"debug\""));
    ck_assert_ptr_nonnull(strstr(log, "\"component\":\"plugin:llama\""));
    snprintf(exp, sizeof exp, "quote \\\" back \\\\ nl \\n tab \\t ctl \\u0001 n=%u\"}", seed);
    ck_assert_msg(strstr(log, exp), "got %s", log);
    free(log);
}
END_TEST

START_TEST(test_env)
{
    stderr_capture c;
    char *log;
    /* a fresh process reads the environment before its first line (check forks per test) */
    setenv("WORKER_LOG_FORMAT", "json", 1);
    setenv("WORKER_LOG_LEVEL", "error", 1);
    ck_assert_int_eq(capture_begin(&c), 0);
    wrk_log(WRK_LOG_WARN, "x", "dropped %u", seed);
    wrk_log(WRK_LOG_ERROR, "x", "kept %u", seed);
    log = capture_end(&c);
    ck_assert_ptr_null(strstr(log, "dropped"));
    ck_assert_ptr_nonnull(strstr(log, "\"level\":\"error\""));
    free(log);
}
END_TEST

/* Each writer logs lines tagged with its id. */
static void *writer(void *v)
{
    long id = (long)v;
    for (int i = 0; i < 200; i++)
        wrk_log(WRK_LOG_INFO, "t", "writer=%ld i=%d %s", id, i, "payload-payload-payload");
    return NULL;
}

START_TEST(test_concurrent_lines)
{
    stderr_capture c;
    pthread_t th[4];
    char *log, *line, *save = NULL;
    int lines = 0;
    wrk_log_set_json(0);
    wrk_log_set_level(WRK_LOG_INFO);
    ck_assert_int_eq(capture_begin(&c), 0);
    for (long i = 0; i < 4; i++) pthread_create(&th[i], NULL, writer, (void *)i);
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    log = capture_end(&c);
    for (line = strtok_r(log, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        ck_assert_msg(count_occurrences(line, "writer=") == 1, "mixed line: %s", line);
        ck_assert_ptr_nonnull(strstr(line, "payload-payload-payload"));
        lines++;
    }
    ck_assert_int_eq(lines, 800);
    free(log);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;

    seed = (unsigned)time(NULL);
    printf("TEST_SEED=%u\n", seed);
    tcase_add_test(tc, test_text_and_levels);
    tcase_add_test(tc, test_json);
    tcase_add_test(tc, test_env);
    tcase_add_test(tc, test_concurrent_lines);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    /* each test needs a fresh process: the environment is read once, before the first line */
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
