/*
 * ops_cudasuite.h - the end of every CUDA op test's main(): run the suite without fork()
 * (the CUDA context does not survive it), then release the test host.
 */
#ifndef OPS_CUDASUITE_H
#define OPS_CUDASUITE_H

#include <check.h>

#include "ops_cudahost.h"

/** Run suite s, free it, tu_cuda_host_fini(host); main()'s exit status: 0 when every test
 *  passed, else 1. */
static inline int tu_cuda_run_suite(Suite *s, wp_host *host)
{
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    const int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    tu_cuda_host_fini(host);
    return failed ? 1 : 0;
}

#endif
