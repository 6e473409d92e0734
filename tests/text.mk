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

check_PROGRAMS += tests/text/test_session
TESTS += tests/text/test_session
tests_text_test_session_SOURCES = tests/text/test_session.c
tests_text_test_session_CFLAGS = $(WRK_TESTCFLAGS)
tests_text_test_session_LDADD = $(WRK_TESTLIBS)
tests_text_test_session_LDFLAGS = $(WRK_TESTLINK)

check_PROGRAMS += tests/text/test_tok_gguf
TESTS += tests/text/test_tok_gguf
tests_text_test_tok_gguf_SOURCES = tests/text/test_tok_gguf.c tests/text/fixture_vocab.c \
	tests/text/fixture_vocab.h
tests_text_test_tok_gguf_CFLAGS = $(WRK_TESTCFLAGS)
tests_text_test_tok_gguf_LDADD = $(WRK_TESTLIBS)
tests_text_test_tok_gguf_LDFLAGS = $(WRK_TESTLINK)

check_PROGRAMS += tests/text/test_textout
TESTS += tests/text/test_textout
tests_text_test_textout_SOURCES = tests/text/test_textout.c
tests_text_test_textout_CFLAGS = $(WRK_TESTCFLAGS)
tests_text_test_textout_LDADD = $(WRK_TESTLIBS)
tests_text_test_textout_LDFLAGS = $(WRK_TESTLINK)

check_PROGRAMS += tests/text/test_tok_stories
TESTS += tests/text/test_tok_stories
tests_text_test_tok_stories_SOURCES = tests/text/test_tok_stories.c tests/text/fixture_vocab.c \
	tests/text/fixture_vocab.h
tests_text_test_tok_stories_CFLAGS = $(WRK_TESTCFLAGS)
tests_text_test_tok_stories_LDADD = $(WRK_TESTLIBS)
tests_text_test_tok_stories_LDFLAGS = $(WRK_TESTLINK)
EXTRA_DIST += tests/text/fixtures/stories260K_tok512.bin

# Pipelined greedy decode (ABI 1.3) on the default model, host backend.
check_PROGRAMS += tests/text/test_session_pipeline
TESTS += tests/text/test_session_pipeline
tests_text_test_session_pipeline_SOURCES = tests/text/test_session_pipeline.c
tests_text_test_session_pipeline_CFLAGS = $(WRK_TESTCFLAGS)
tests_text_test_session_pipeline_LDADD = $(WRK_TESTLIBS)
tests_text_test_session_pipeline_LDFLAGS = $(WRK_TESTLINK)

# End to end on the default model: host backend here, CUDA too on a machine with a GPU.
check_PROGRAMS += tests/text/test_session_e2e
TESTS += tests/text/test_session_e2e
tests_text_test_session_e2e_SOURCES = tests/text/test_session_e2e.c
tests_text_test_session_e2e_CFLAGS = $(WRK_TESTCFLAGS)
tests_text_test_session_e2e_LDADD = $(WRK_TESTLIBS)
tests_text_test_session_e2e_LDFLAGS = $(WRK_TESTLINK)
