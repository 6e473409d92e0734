# convert tests: worker-convert round trip and bad inputs; the default model's tokenizer;
# the end-to-end story on the default model (host backend, and cuda:0 when there is a GPU).
check_PROGRAMS += tests/convert/test_convert tests/convert/test_tokenizer_l2c \
	tests/convert/test_story_host tests/convert/test_story_cuda
TESTS += tests/convert/test_convert tests/convert/test_tokenizer_l2c \
	tests/convert/test_story_host tests/convert/test_story_cuda

tests_convert_test_convert_SOURCES = tests/convert/test_convert.c \
	tests/convert/l2c_fixture.c tests/convert/l2c_fixture.h
tests_convert_test_convert_CFLAGS = $(WRK_TESTCFLAGS)
tests_convert_test_convert_LDADD = $(WRK_TESTLIBS) -lm
tests_convert_test_convert_LDFLAGS = $(WRK_TESTLINK)
# The test runs the built tool.
EXTRA_tests_convert_test_convert_DEPENDENCIES = tools/worker-convert

tests_convert_test_tokenizer_l2c_SOURCES = tests/convert/test_tokenizer_l2c.c
tests_convert_test_tokenizer_l2c_CFLAGS = $(WRK_TESTCFLAGS)
tests_convert_test_tokenizer_l2c_LDADD = $(WRK_TESTLIBS)
tests_convert_test_tokenizer_l2c_LDFLAGS = $(WRK_TESTLINK)

tests_convert_test_story_host_SOURCES = tests/convert/test_story.c
tests_convert_test_story_host_CFLAGS = $(WRK_TESTCFLAGS)
tests_convert_test_story_host_CPPFLAGS = $(AM_CPPFLAGS) -DSTORY_DEVICE='"host"'
tests_convert_test_story_host_LDADD = $(WRK_TESTLIBS)
tests_convert_test_story_host_LDFLAGS = $(WRK_TESTLINK)
EXTRA_tests_convert_test_story_host_DEPENDENCIES = plugins/llama.la

tests_convert_test_story_cuda_SOURCES = tests/convert/test_story.c
tests_convert_test_story_cuda_CFLAGS = $(WRK_TESTCFLAGS)
tests_convert_test_story_cuda_CPPFLAGS = $(AM_CPPFLAGS) -DSTORY_DEVICE='"cuda:0"'
tests_convert_test_story_cuda_LDADD = $(WRK_TESTLIBS)
tests_convert_test_story_cuda_LDFLAGS = $(WRK_TESTLINK)
EXTRA_tests_convert_test_story_cuda_DEPENDENCIES = plugins/llama.la

