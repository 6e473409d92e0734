/*
 * check_run.h - the end of a Check test's main(): run the suite, free the runner and
 * return main()'s exit status, 0 when every test passed, else 1.
 */
#ifndef CHECK_RUN_H
#define CHECK_RUN_H

#include <check.h>

/** Run suite s (the runner frees it). nofork: in this process (CK_NOFORK), for tests
 *  whose state does not survive fork(), such as a CUDA context; else Check's default,
 *  which CK_FORK in the environment may change. */
static inline int check_run_suite(Suite *s, int nofork)
{
    SRunner *sr = srunner_create(s);
    if (nofork)
        srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    const int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}

#endif
