# tests/plugin: config, plugin registry, model loading, plugin SDK (engineer C).
#
# Test plugins: one source (tests/plugin/toy/toy.c) built into several modules, each in its
# own directory so a test can point the registry at exactly the set it wants. They are
# check_LTLIBRARIES with -rpath so libtool builds real shared modules.
TOY_MODULE_FLAGS = -module -avoid-version -shared -rpath /nowhere
TOY_MODULE_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden

check_LTLIBRARIES += tests/plugin/good/toy.la tests/plugin/dup/toyalt.la \
	tests/plugin/badmajor/badmajor.la tests/plugin/newminor/newminor.la \
	tests/plugin/small/small.la tests/plugin/noentry/noentry.la \
	tests/plugin/failload/failload.la tests/plugin/ltx/ltxmod.la \
	tests/plugin/minor2/minor2.la

tests_plugin_good_toy_la_SOURCES = tests/plugin/toy/toy.c
tests_plugin_good_toy_la_CFLAGS = $(TOY_MODULE_CFLAGS)
tests_plugin_good_toy_la_LDFLAGS = $(TOY_MODULE_FLAGS)

tests_plugin_dup_toyalt_la_SOURCES = tests/plugin/toy/toy.c
tests_plugin_dup_toyalt_la_CPPFLAGS = $(AM_CPPFLAGS) -DTOY_NAME='"toyalt"' -DTOY_SCALE=-1.0f
tests_plugin_dup_toyalt_la_CFLAGS = $(TOY_MODULE_CFLAGS)
tests_plugin_dup_toyalt_la_LDFLAGS = $(TOY_MODULE_FLAGS)

tests_plugin_badmajor_badmajor_la_SOURCES = tests/plugin/toy/toy.c
tests_plugin_badmajor_badmajor_la_CPPFLAGS = $(AM_CPPFLAGS) -DTOY_NAME='"badmajor"' \
	-DTOY_ABI_MAJOR=2 -DTOY_ABI_MINOR=0
tests_plugin_badmajor_badmajor_la_CFLAGS = $(TOY_MODULE_CFLAGS)
tests_plugin_badmajor_badmajor_la_LDFLAGS = $(TOY_MODULE_FLAGS)

tests_plugin_newminor_newminor_la_SOURCES = tests/plugin/toy/toy.c
tests_plugin_newminor_newminor_la_CPPFLAGS = $(AM_CPPFLAGS) -DTOY_NAME='"newminor"' \
	-DTOY_ABI_MINOR=7
tests_plugin_newminor_newminor_la_CFLAGS = $(TOY_MODULE_CFLAGS)
tests_plugin_newminor_newminor_la_LDFLAGS = $(TOY_MODULE_FLAGS)

tests_plugin_small_small_la_SOURCES = tests/plugin/toy/toy.c
tests_plugin_small_small_la_CPPFLAGS = $(AM_CPPFLAGS) -DTOY_NAME='"small"' -DTOY_SMALL
tests_plugin_small_small_la_CFLAGS = $(TOY_MODULE_CFLAGS)
tests_plugin_small_small_la_LDFLAGS = $(TOY_MODULE_FLAGS)

tests_plugin_noentry_noentry_la_SOURCES = tests/plugin/toy/toy.c
tests_plugin_noentry_noentry_la_CPPFLAGS = $(AM_CPPFLAGS) -DTOY_NAME='"noentry"' -DTOY_NO_ENTRY
tests_plugin_noentry_noentry_la_CFLAGS = $(TOY_MODULE_CFLAGS)
tests_plugin_noentry_noentry_la_LDFLAGS = $(TOY_MODULE_FLAGS)

tests_plugin_failload_failload_la_SOURCES = tests/plugin/toy/toy.c
tests_plugin_failload_failload_la_CPPFLAGS = $(AM_CPPFLAGS) -DTOY_NAME='"failload"' \
	-DTOY_FAIL_LOAD
tests_plugin_failload_failload_la_CFLAGS = $(TOY_MODULE_CFLAGS)
tests_plugin_failload_failload_la_LDFLAGS = $(TOY_MODULE_FLAGS)

tests_plugin_ltx_ltxmod_la_SOURCES = tests/plugin/toy/toy.c
tests_plugin_ltx_ltxmod_la_CPPFLAGS = $(AM_CPPFLAGS) -DTOY_NAME='"ltxmod"' -DTOY_LTX
tests_plugin_ltx_ltxmod_la_CFLAGS = $(TOY_MODULE_CFLAGS)
tests_plugin_ltx_ltxmod_la_LDFLAGS = $(TOY_MODULE_FLAGS)

# An ABI 1.2 plugin: its descriptor ends before the 1.3 members (greedy_queue, ...).
tests_plugin_minor2_minor2_la_SOURCES = tests/plugin/toy/toy.c
tests_plugin_minor2_minor2_la_CPPFLAGS = $(AM_CPPFLAGS) -DTOY_NAME='"minor2"' \
	-DTOY_ABI_MINOR=2 -DTOY_STRUCT_SIZE='offsetof(wp_plugin, greedy_queue)'
tests_plugin_minor2_minor2_la_CFLAGS = $(TOY_MODULE_CFLAGS)
tests_plugin_minor2_minor2_la_LDFLAGS = $(TOY_MODULE_FLAGS)

# Check programs.
PLUGIN_TEST_UTIL = tests/plugin/plugin_test_util.c tests/plugin/plugin_test_util.h
TOY_FIXTURE = tests/plugin/toy_fixture.c tests/plugin/toy_fixture.h

check_PROGRAMS += tests/plugin/check_config tests/plugin/check_registry \
	tests/plugin/check_model tests/plugin/check_model_cuda \
	tests/plugin/toy_fixture tests/plugin/sdk_run
TESTS += tests/plugin/check_config tests/plugin/check_registry tests/plugin/check_model \
	tests/plugin/check_model_cuda tests/plugin/sdk_test.sh

tests_plugin_check_config_SOURCES = tests/plugin/check_config.c
tests_plugin_check_config_CFLAGS = $(WRK_TESTCFLAGS)
tests_plugin_check_config_LDADD = $(WRK_TESTLIBS)
tests_plugin_check_config_LDFLAGS = $(WRK_TESTLINK)

tests_plugin_check_registry_SOURCES = tests/plugin/check_registry.c $(PLUGIN_TEST_UTIL)
tests_plugin_check_registry_CFLAGS = $(WRK_TESTCFLAGS)
tests_plugin_check_registry_LDADD = $(WRK_TESTLIBS)
tests_plugin_check_registry_LDFLAGS = $(WRK_TESTLINK)

tests_plugin_check_model_SOURCES = tests/plugin/check_model.c $(PLUGIN_TEST_UTIL) \
	$(TOY_FIXTURE)
tests_plugin_check_model_CFLAGS = $(WRK_TESTCFLAGS)
tests_plugin_check_model_LDADD = $(WRK_TESTLIBS)
tests_plugin_check_model_LDFLAGS = $(WRK_TESTLINK)

# The same cases on CUDA device 0 (SKIP, exit 77, without a device).
tests_plugin_check_model_cuda_SOURCES = $(tests_plugin_check_model_SOURCES)
tests_plugin_check_model_cuda_CPPFLAGS = $(AM_CPPFLAGS) -DTEST_CUDA
tests_plugin_check_model_cuda_CFLAGS = $(WRK_TESTCFLAGS)
tests_plugin_check_model_cuda_LDADD = $(WRK_TESTLIBS)
tests_plugin_check_model_cuda_LDFLAGS = $(WRK_TESTLINK)

# SDK test helpers: the fixture writer (internal GGUF writer) and the driver, which links
# libworker.so and uses the public API only.
tests_plugin_toy_fixture_SOURCES = tests/plugin/toy_fixture_main.c $(TOY_FIXTURE)
tests_plugin_toy_fixture_LDADD = runtime/libwrk.la
tests_plugin_toy_fixture_LDFLAGS = $(WRK_TESTLINK)

tests_plugin_sdk_run_SOURCES = tests/plugin/sdk_run.c
tests_plugin_sdk_run_LDADD = runtime/libworker.la
tests_plugin_sdk_run_LDFLAGS = -no-install

EXTRA_DIST += tests/plugin/sdk_test.sh tests/plugin/sdk_example/toy2.c

# Load-speed benchmark (issue 3 item 6): built by `make check`, run by hand on the device:
#   top_builddir=. tests/plugin/bench_load 4096 cuda:0
check_PROGRAMS += tests/plugin/bench_load
tests_plugin_bench_load_SOURCES = tests/plugin/bench_load.c $(PLUGIN_TEST_UTIL) $(TOY_FIXTURE)
tests_plugin_bench_load_CFLAGS = $(WRK_TESTCFLAGS)
tests_plugin_bench_load_LDADD = $(WRK_TESTLIBS)
tests_plugin_bench_load_LDFLAGS = $(WRK_TESTLINK)
