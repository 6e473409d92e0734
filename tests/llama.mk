# llama plugin tests. They load models through the runtime (libwrk internals) and call the
# plugin's forward directly; the plugin module is found through WORKER_PLUGIN_PATH, so it
# must be built first (check_PROGRAMS depend on it through EXTRA_DEPENDENCIES).
LLAMA_TEST_UTIL = tests/llama/llama_testutil.c tests/llama/llama_testutil.h
LLAMA_TEST_DEPS = plugins/llama.la

check_PROGRAMS += tests/llama/llama_host tests/llama/llama_quant tests/llama/llama_cuda \
	tests/llama/llama_ffi tests/llama/llama_reference tests/llama/llama_greedy
TESTS += tests/llama/llama_host tests/llama/llama_quant tests/llama/llama_cuda \
	tests/llama/llama_ffi tests/llama/llama_reference tests/llama/llama_greedy

tests_llama_llama_host_SOURCES = tests/llama/llama_host.c $(LLAMA_TEST_UTIL)
tests_llama_llama_host_CFLAGS = $(WRK_TESTCFLAGS)
tests_llama_llama_host_LDADD = $(WRK_TESTLIBS) -lm
tests_llama_llama_host_LDFLAGS = $(WRK_TESTLINK)
EXTRA_tests_llama_llama_host_DEPENDENCIES = $(LLAMA_TEST_DEPS)

tests_llama_llama_quant_SOURCES = tests/llama/llama_quant.c $(LLAMA_TEST_UTIL)
tests_llama_llama_quant_CFLAGS = $(WRK_TESTCFLAGS)
tests_llama_llama_quant_LDADD = $(WRK_TESTLIBS) -lm
tests_llama_llama_quant_LDFLAGS = $(WRK_TESTLINK)
EXTRA_tests_llama_llama_quant_DEPENDENCIES = $(LLAMA_TEST_DEPS)

tests_llama_llama_cuda_SOURCES = tests/llama/llama_cuda.c $(LLAMA_TEST_UTIL)
tests_llama_llama_cuda_CFLAGS = $(WRK_TESTCFLAGS)
tests_llama_llama_cuda_LDADD = $(WRK_TESTLIBS) -lm
tests_llama_llama_cuda_LDFLAGS = $(WRK_TESTLINK)
EXTRA_tests_llama_llama_cuda_DEPENDENCIES = $(LLAMA_TEST_DEPS)

tests_llama_llama_ffi_SOURCES = tests/llama/llama_ffi.c $(LLAMA_TEST_UTIL)
tests_llama_llama_ffi_CFLAGS = $(WRK_TESTCFLAGS)
tests_llama_llama_ffi_LDADD = $(WRK_TESTLIBS) -lm
tests_llama_llama_ffi_LDFLAGS = $(WRK_TESTLINK)
EXTRA_tests_llama_llama_ffi_DEPENDENCIES = $(LLAMA_TEST_DEPS)

# greedy_queue/greedy_collect (ABI 1.3) called directly: host, and CUDA when present.
tests_llama_llama_greedy_SOURCES = tests/llama/llama_greedy.c $(LLAMA_TEST_UTIL)
tests_llama_llama_greedy_CFLAGS = $(WRK_TESTCFLAGS)
tests_llama_llama_greedy_LDADD = $(WRK_TESTLIBS) -lm
tests_llama_llama_greedy_LDFLAGS = $(WRK_TESTLINK)
EXTRA_tests_llama_llama_greedy_DEPENDENCIES = $(LLAMA_TEST_DEPS)

tests_llama_llama_reference_SOURCES = tests/llama/llama_reference.c $(LLAMA_TEST_UTIL)
tests_llama_llama_reference_CFLAGS = $(WRK_TESTCFLAGS) $(JANSSON_CFLAGS)
tests_llama_llama_reference_LDADD = $(WRK_TESTLIBS) $(JANSSON_LIBS) -lm
tests_llama_llama_reference_LDFLAGS = $(WRK_TESTLINK)
EXTRA_tests_llama_llama_reference_DEPENDENCIES = $(LLAMA_TEST_DEPS)

# The plugin's own kernels, built from its sources into a test-only library so the test
# can call both sets directly (the module exports only its entry symbol).
check_LTLIBRARIES += tests/llama/libllama_kernels.la
tests_llama_libllama_kernels_la_SOURCES = plugins/llama/llama.h \
	plugins/llama/llama_kernels_host.c
tests_llama_libllama_kernels_la_LIBADD = -lm
if HAVE_CUDA
tests_llama_libllama_kernels_la_SOURCES += plugins/llama/llama_kernels_cuda.cu
tests_llama_libllama_kernels_la_LIBADD += -L$(CUDA_LIBDIR) -lcudart -lstdc++
else
tests_llama_libllama_kernels_la_SOURCES += plugins/llama/llama_kernels_none.c
endif
check_PROGRAMS += tests/llama/llama_kernels
TESTS += tests/llama/llama_kernels
tests_llama_llama_kernels_SOURCES = tests/llama/llama_kernels.c $(LLAMA_TEST_UTIL)
tests_llama_llama_kernels_CFLAGS = $(WRK_TESTCFLAGS) -I$(top_srcdir)/plugins/llama
tests_llama_llama_kernels_LDADD = tests/llama/libllama_kernels.la $(WRK_TESTLIBS) -lm
tests_llama_llama_kernels_LDFLAGS = $(WRK_TESTLINK)
EXTRA_tests_llama_llama_kernels_DEPENDENCIES = $(LLAMA_TEST_DEPS)

# Decode throughput, run by hand on the device (see the file's header); not in TESTS.
check_PROGRAMS += tests/llama/llama_bench
tests_llama_llama_bench_SOURCES = tests/llama/llama_bench.c $(LLAMA_TEST_UTIL)
tests_llama_llama_bench_CFLAGS = $(WRK_TESTCFLAGS)
tests_llama_llama_bench_LDADD = $(WRK_TESTLIBS) -lm
tests_llama_llama_bench_LDFLAGS = $(WRK_TESTLINK)
EXTRA_tests_llama_llama_bench_DEPENDENCIES = $(LLAMA_TEST_DEPS)

# The reference generator and its fixtures (committed by the lead after a device run).
dist_noinst_SCRIPTS += tests/reference/make_reference.py
EXTRA_DIST += tests/reference/data
