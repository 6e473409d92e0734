# gpt tests: the gpt plugin on random GPT-2 models (host, and cuda:0 when there is a GPU),
# the comparison with the transformers fixtures (tests/gpt/data, made on the device by
# tests/gpt/make_gpt_reference.py), and the independence of gpt.so (a copy built apart).
GPT_TEST_SOURCES = tests/gpt/gpt_fixture.c tests/gpt/gpt_fixture.h \
	tests/gpt/gpt_testutil.c tests/gpt/gpt_testutil.h
check_PROGRAMS += tests/gpt/test_gpt_host tests/gpt/test_gpt_cuda tests/gpt/test_gpt_reference
TESTS += tests/gpt/test_gpt_host tests/gpt/test_gpt_cuda tests/gpt/test_gpt_reference \
	tests/gpt/independence.sh

tests_gpt_test_gpt_host_SOURCES = tests/gpt/test_gpt.c $(GPT_TEST_SOURCES)
tests_gpt_test_gpt_host_CPPFLAGS = $(AM_CPPFLAGS) -DGPT_DEVICE='"host"'
tests_gpt_test_gpt_host_CFLAGS = $(WRK_TESTCFLAGS)
tests_gpt_test_gpt_host_LDADD = $(WRK_TESTLIBS) -lm
tests_gpt_test_gpt_host_LDFLAGS = $(WRK_TESTLINK)
EXTRA_tests_gpt_test_gpt_host_DEPENDENCIES = plugins/gpt.la

tests_gpt_test_gpt_cuda_SOURCES = tests/gpt/test_gpt.c $(GPT_TEST_SOURCES)
tests_gpt_test_gpt_cuda_CPPFLAGS = $(AM_CPPFLAGS) -DGPT_DEVICE='"cuda:0"'
tests_gpt_test_gpt_cuda_CFLAGS = $(WRK_TESTCFLAGS)
tests_gpt_test_gpt_cuda_LDADD = $(WRK_TESTLIBS) -lm
tests_gpt_test_gpt_cuda_LDFLAGS = $(WRK_TESTLINK)
EXTRA_tests_gpt_test_gpt_cuda_DEPENDENCIES = plugins/gpt.la

tests_gpt_test_gpt_reference_SOURCES = tests/gpt/test_gpt_reference.c \
	tests/gpt/gpt_testutil.c tests/gpt/gpt_testutil.h
tests_gpt_test_gpt_reference_CFLAGS = $(WRK_TESTCFLAGS)
tests_gpt_test_gpt_reference_LDADD = $(WRK_TESTLIBS) -lm
tests_gpt_test_gpt_reference_LDFLAGS = $(WRK_TESTLINK)
EXTRA_tests_gpt_test_gpt_reference_DEPENDENCIES = plugins/gpt.la

EXTRA_DIST += tests/gpt/independence.sh tests/gpt/make_gpt_reference.py tests/gpt/data

# The plugin's two kernel sets, linked into a test that compares them on the GPU.
check_LTLIBRARIES += tests/gpt/libgpt_kernels.la
tests_gpt_libgpt_kernels_la_SOURCES = plugins/gpt/gpt_kernels_host.c plugins/gpt/gpt.h
if HAVE_CUDA
tests_gpt_libgpt_kernels_la_SOURCES += plugins/gpt/gpt_kernels_cuda.cu
else
tests_gpt_libgpt_kernels_la_SOURCES += plugins/gpt/gpt_kernels_none.c
endif
check_PROGRAMS += tests/gpt/test_gpt_kernels
TESTS += tests/gpt/test_gpt_kernels
tests_gpt_test_gpt_kernels_SOURCES = tests/gpt/test_gpt_kernels.c $(GPT_TEST_SOURCES)
tests_gpt_test_gpt_kernels_CFLAGS = $(WRK_TESTCFLAGS)
tests_gpt_test_gpt_kernels_LDADD = tests/gpt/libgpt_kernels.la $(WRK_TESTLIBS) -lm
tests_gpt_test_gpt_kernels_LDFLAGS = $(WRK_TESTLINK)
EXTRA_tests_gpt_test_gpt_kernels_DEPENDENCIES = plugins/gpt.la
