# gguf tests (owner: B): the type table and quantizers, writer -> reader round trips, and
# every class of malformed file.
GGUF_TEST_UTIL = tests/gguf/gguf_test_util.c tests/gguf/gguf_test_util.h
check_PROGRAMS += tests/gguf/test_quant tests/gguf/test_roundtrip tests/gguf/test_malformed
TESTS += tests/gguf/test_quant tests/gguf/test_roundtrip tests/gguf/test_malformed

tests_gguf_test_quant_SOURCES = tests/gguf/test_quant.c $(GGUF_TEST_UTIL)
tests_gguf_test_quant_CFLAGS = $(WRK_TESTCFLAGS)
tests_gguf_test_quant_LDADD = $(WRK_TESTLIBS)
tests_gguf_test_quant_LDFLAGS = $(WRK_TESTLINK)

tests_gguf_test_roundtrip_SOURCES = tests/gguf/test_roundtrip.c $(GGUF_TEST_UTIL)
tests_gguf_test_roundtrip_CFLAGS = $(WRK_TESTCFLAGS)
tests_gguf_test_roundtrip_LDADD = $(WRK_TESTLIBS)
tests_gguf_test_roundtrip_LDFLAGS = $(WRK_TESTLINK)

tests_gguf_test_malformed_SOURCES = tests/gguf/test_malformed.c $(GGUF_TEST_UTIL)
tests_gguf_test_malformed_CFLAGS = $(WRK_TESTCFLAGS)
tests_gguf_test_malformed_LDADD = $(WRK_TESTLIBS)
tests_gguf_test_malformed_LDFLAGS = $(WRK_TESTLINK)
