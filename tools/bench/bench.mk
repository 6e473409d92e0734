# tools/bench: worker-bench (installed: decode/prefill/load throughput against the card's
# measured copy bandwidth) and make-bench-model (the random-weight benchmark GGUFs of
# issue 8; tools/bench/make-bench-models.sh makes the whole set).

bin_PROGRAMS += tools/worker-bench
tools_worker_bench_SOURCES = tools/bench/worker_bench.c tools/bench/bench_stats.c \
	tools/bench/bench_stats.h tools/bench/bench_prompt.c tools/bench/bench_prompt.h \
	tools/bench/bench_bw.c tools/bench/bench_bw.h tools/bench/bench_report.c \
	tools/bench/bench_report.h
# The public API only: libworker.so (and cudart for the bandwidth probe).
tools_worker_bench_LDADD = runtime/libworker.la -lm
tools_worker_bench_LDFLAGS = $(CUDA_LDFLAGS)
if HAVE_CUDA
tools_worker_bench_LDADD += -lcudart
endif

noinst_PROGRAMS += tools/bench/make-bench-model
tools_bench_make_bench_model_SOURCES = tools/bench/make_bench_model.c \
	tools/bench/bench_model.h tools/bench/bench_recipe.c tools/bench/bench_vocab.c \
	tools/bench/gguf_stream.c tools/bench/gguf_stream.h
tools_bench_make_bench_model_LDADD = runtime/libwrk.la -lm
tools_bench_make_bench_model_LDFLAGS = $(WRK_LINK_FLAGS)

dist_noinst_SCRIPTS += tools/bench/make-bench-models.sh tools/bench/bench-all.sh
EXTRA_DIST += docs/performance.md

# Test: a small random model of each type written by make-bench-model, checked by the
# GGUF reader and loaded through cuda_load_model on the host backend; worker-bench run on it.
check_PROGRAMS += tests/bench/test_bench_model
TESTS += tests/bench/test_bench_model
tests_bench_test_bench_model_SOURCES = tools/bench/test_bench_model.c
tests_bench_test_bench_model_CFLAGS = $(WRK_TESTCFLAGS)
tests_bench_test_bench_model_LDADD = $(WRK_TESTLIBS) -lm
tests_bench_test_bench_model_LDFLAGS = $(WRK_TESTLINK)
EXTRA_tests_bench_test_bench_model_DEPENDENCIES = tools/bench/make-bench-model \
	tools/worker-bench
