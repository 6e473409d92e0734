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

# The reader's libFuzzer target (./configure CC=clang --enable-fuzzers; or fuzz/run-ci.sh,
# which builds it with clang directly and runs it for 60 s). The gguf sources are compiled
# into the fuzzer itself, instrumented.
EXTRA_DIST += fuzz/gguf_fuzz.c fuzz/gen_corpus.c fuzz/run-ci.sh fuzz/corpus fuzz/README.md
if ENABLE_FUZZERS
noinst_PROGRAMS += fuzz/gguf_fuzz
fuzz_gguf_fuzz_SOURCES = fuzz/gguf_fuzz.c runtime/gguf/reader.c runtime/gguf/reader_tensors.c \
	runtime/gguf/reader_get.c runtime/gguf/writer.c runtime/gguf/quant.c \
	runtime/gguf/quant_k.c runtime/core/error.c
fuzz_gguf_fuzz_CFLAGS = $(AM_CFLAGS) -g -O1 -fno-omit-frame-pointer \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
fuzz_gguf_fuzz_LDFLAGS = -fsanitize=fuzzer,address,undefined
fuzz_gguf_fuzz_LDADD = -lm
endif

# GGUF files written by llama.cpp's own Python writer (gguf-py), read back with identical
# metadata (owner: B2). tests/gguf/llamacpp/README.md says how to regenerate the fixtures.
check_PROGRAMS += tests/gguf/test_llamacpp
TESTS += tests/gguf/test_llamacpp
tests_gguf_test_llamacpp_SOURCES = tests/gguf/test_llamacpp.c
tests_gguf_test_llamacpp_CFLAGS = $(WRK_TESTCFLAGS)
tests_gguf_test_llamacpp_LDADD = $(WRK_TESTLIBS)
tests_gguf_test_llamacpp_LDFLAGS = $(WRK_TESTLINK)
EXTRA_DIST += tests/gguf/llamacpp/README.md tests/gguf/llamacpp/make_fixtures.py \
	tests/gguf/llamacpp/llama.gguf tests/gguf/llamacpp/llama.expected \
	tests/gguf/llamacpp/align64.gguf tests/gguf/llamacpp/align64.expected \
	tests/gguf/llamacpp/tokenizer.gguf tests/gguf/llamacpp/tokenizer.expected
