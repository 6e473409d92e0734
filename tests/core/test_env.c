/*
 * test_env.c - the runtime's "off when set to 0" switches (core/wrk_env.h): unset, "0",
 * other values, the once-read form keeping its first answer and a state set by a test.
 */
#include <check.h>
#include <stdlib.h>

#include "config.h"
#include "check_run.h"
#include "core/wrk_env.h"

#define VAR "WORKER_TEST_ENV_SWITCH"

START_TEST(test_env_on)
{
    unsetenv(VAR);
    ck_assert_int_eq(wrk_env_on(VAR), 1);
    setenv(VAR, "0", 1);
    ck_assert_int_eq(wrk_env_on(VAR), 0);
    /* only "0" turns a switch off */
    const char *on[] = {"1", "", "00", "0 ", "off", "no"};
    for (size_t i = 0; i < sizeof on / sizeof on[0]; i++) {
        setenv(VAR, on[i], 1);
        ck_assert_msg(wrk_env_on(VAR) == 1, "\"%s\" turned the switch off", on[i]);
    }
    ck_assert_int_eq(wrk_env_on(NULL), 1);
    unsetenv(VAR);
}
END_TEST

START_TEST(test_env_on_once)
{
    volatile int state = -1;
    setenv(VAR, "0", 1);
    ck_assert_int_eq(wrk_env_on_once(VAR, &state), 0);
    ck_assert_int_eq(state, 0);
    unsetenv(VAR); /* read once: the first answer stays */
    ck_assert_int_eq(wrk_env_on_once(VAR, &state), 0);
    state = 1; /* a test's override is kept */
    setenv(VAR, "0", 1);
    ck_assert_int_eq(wrk_env_on_once(VAR, &state), 1);
    volatile int fresh = -1;
    unsetenv(VAR);
    ck_assert_int_eq(wrk_env_on_once(VAR, &fresh), 1);
    ck_assert_int_eq(fresh, 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("env");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_env_on);
    tcase_add_test(tc, test_env_on_once);
    suite_add_tcase(s, tc);
    return check_run_suite(s, 0);
}
