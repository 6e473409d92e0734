# text tests: tokenizers (conformance with npm reference tokenizers), UTF-8 / stop-sequence
# holdback, the sampler, and inference sessions driven by a toy plugin.
check_PROGRAMS += tests/text/test_tok_conformance
TESTS += tests/text/test_tok_conformance
tests_text_test_tok_conformance_SOURCES = tests/text/test_tok_conformance.c \
	tests/text/fixture_vocab.c tests/text/fixture_vocab.h
tests_text_test_tok_conformance_CFLAGS = $(WRK_TESTCFLAGS)
tests_text_test_tok_conformance_LDADD = $(WRK_TESTLIBS)
tests_text_test_tok_conformance_LDFLAGS = $(WRK_TESTLINK)

EXTRA_DIST += tests/text/fixtures/gen_fixtures.mjs tests/text/fixtures/expected.tsv \
	tests/text/fixtures/gpt2_vocab.tsv tests/text/fixtures/gpt2_merges.txt \
	tests/text/fixtures/llama2_vocab.tsv tests/text/fixtures/llama3_vocab.tsv \
	tests/text/fixtures/llama3_merges.txt

check_PROGRAMS += tests/text/test_sampler
TESTS += tests/text/test_sampler
tests_text_test_sampler_SOURCES = tests/text/test_sampler.c
tests_text_test_sampler_CFLAGS = $(WRK_TESTCFLAGS)
tests_text_test_sampler_LDADD = $(WRK_TESTLIBS) -lm
tests_text_test_sampler_LDFLAGS = $(WRK_TESTLINK)
