/*
 * check_registry.c - the plugin registry (runtime/plugin): accepting a good module,
 * refusing every kind of bad one (with the reason logged, the registry still usable),
 * choosing among duplicates (first found, prefer, disable), and the search path order.
 * The test modules are built by tests/plugin.mk, each in its own directory.
 */
#include <check.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker_errors.h"
#include "core/wrk_error.h"
#include "plugin/registry.h"
#include "plugin_test_util.h"

static char dirs[8][512];
static char path[4096];

/* ':'-join the directories of the named test modules into path. */
static const char *join(int n, const char *const *names)
{
    size_t used = 0;
    path[0] = '\0';
    for (int i = 0; i < n; i++) {
        const char *d = names[i][0] == '/' ? names[i]
                                           : ptu_module_dir(names[i], dirs[i], sizeof dirs[i]);
        used += (size_t)snprintf(path + used, sizeof path - used, "%s%s", i ? ":" : "", d);
    }
    return path;
}

/* Open a registry over only the given directories, capturing its log in *log. */
static wrk_plugin_registry *open_only(const char *search, const char *prefer,
                                      const char *disable, char **log)
{
    wrk_plugin_settings s = {search, prefer, disable, 1};
    wrk_plugin_registry *r = NULL;
    char *text;
    ptu_capture_begin();
    ck_assert_int_eq(wrk_plugins_open(&s, &r), 0);
    text = ptu_capture_end();
    if (log) *log = text;
    else free(text);
    ck_assert_ptr_nonnull(r);
    return r;
}

START_TEST(good_plugin_loads)
{
    const char *n[] = {"good"};
    wrk_plugin_registry *r = open_only(join(1, n), NULL, NULL, NULL);
    const wp_plugin *p;
    ck_assert_int_eq(wrk_plugins_count(r), 1);
    p = wrk_plugins_get(r, 0);
    ck_assert_str_eq(p->name, "toy");
    ck_assert_str_eq(p->architectures[0], "toy");
    ck_assert_ptr_eq(wrk_plugins_find(r, "toy", WP_BACKEND_HOST), p);
    ck_assert_ptr_eq(wrk_plugins_find(r, "toy", WP_BACKEND_CUDA), p);
    ck_assert_ptr_null(wrk_plugins_get(r, 1));
    ck_assert_ptr_null(wrk_plugins_get(r, -1));
    ck_assert_int_eq(wrk_plugin_check_descriptor(p, "x"), 0);
    wrk_plugins_close(r);
}
END_TEST

#define STR_(x) #x
#define STR(x) STR_(x)
/* "1.3": the runtime's plugin ABI as the registry prints it */
#define RUNTIME_ABI STR(WORKER_PLUGIN_ABI_MAJOR) "." STR(WORKER_PLUGIN_ABI_MINOR)

/* Each bad module alone: nothing accepted, the reason in the log, lookups fail cleanly. */
static const struct {
    const char *dir;
    const char *words[3];
} rejected[] = {
    {"badmajor", {"rejected", "ABI 2.0, runtime ABI " RUNTIME_ABI, "badmajor"}},
    {"newminor", {"rejected", "ABI 1.7, runtime ABI " RUNTIME_ABI, "newminor"}},
    {"small", {"rejected", "bytes, ABI 1.0 needs at least", "small"}},
    {"noentry", {"rejected", "not a worker-orcd plugin", "worker_plugin_entry"}},
};

START_TEST(bad_module_refused)
{
    const char *n[] = {rejected[_i].dir};
    char *log = NULL;
    wrk_plugin_registry *r = open_only(join(1, n), NULL, NULL, &log);
    ck_assert_int_eq(wrk_plugins_count(r), 0);
    for (int w = 0; w < 3; w++)
        ck_assert_msg(strstr(log, rejected[_i].words[w]) != NULL, "log lacks '%s':\n%s",
                      rejected[_i].words[w], log);
    ck_assert_ptr_nonnull(strstr(log, dirs[0]));   /* the path is named */
    ck_assert_ptr_null(wrk_plugins_find(r, "toy", WP_BACKEND_HOST));
    ck_assert_ptr_nonnull(strstr(wrk_error_detail(), "no plugin serves architecture 'toy'"));
    free(log);
    wrk_plugins_close(r);
}
END_TEST

START_TEST(non_plugin_files_refused_registry_stays_usable)
{
    char tmp[256], f[600], so[600];
    const char *n[6];
    char *log = NULL;
    wrk_plugin_registry *r;

    ck_assert_ptr_nonnull(ptu_mkdtemp(tmp, sizeof tmp));
    /* A file that is not a shared object at all, and a real library that is no plugin. */
    snprintf(f, sizeof f, "%s/bogus.so", tmp);
    ck_assert_int_eq(ptu_write(f, "this is not an ELF file\n"), 0);
    snprintf(f, sizeof f, "%s/other.so", tmp);
    ck_assert_int_eq(ptu_copy(ptu_module_so("noentry", "noentry", so, sizeof so), f), 0);
    n[0] = "badmajor"; n[1] = "small"; n[2] = "noentry"; n[3] = tmp; n[4] = "good";
    n[5] = "newminor";
    r = open_only(join(6, n), NULL, NULL, &log);
    ck_assert_ptr_nonnull(strstr(log, "bogus"));
    ck_assert_ptr_nonnull(strstr(log, "cannot open"));
    ck_assert_ptr_nonnull(strstr(log, "other"));
    ck_assert_int_eq(wrk_plugins_count(r), 1);
    ck_assert_str_eq(wrk_plugins_find(r, "toy", WP_BACKEND_HOST)->name, "toy");
    free(log);
    wrk_plugins_close(r);
    ptu_rmdir(tmp);
}
END_TEST

/* An ABI 1.2 module (its descriptor ends before greedy_queue) is accepted; the 1.3 members
 * read as absent. */
START_TEST(older_minor_accepted)
{
    const char *n[] = {"minor2"};
    char *log = NULL;
    wrk_plugin_registry *r = open_only(join(1, n), NULL, NULL, &log);
    ck_assert_msg(wrk_plugins_count(r) == 1, "log:\n%s", log);
    const wp_plugin *p = wrk_plugins_get(r, 0);
    ck_assert_str_eq(p->name, "minor2");
    ck_assert_uint_eq(p->abi_minor, 2);
    ck_assert_uint_eq(p->struct_size, offsetof(wp_plugin, greedy_queue));
    ck_assert(!WRK_PLUGIN_HAS(p, greedy_queue) && !WRK_PLUGIN_HAS(p, greedy_collect));
    ck_assert_ptr_nonnull(strstr(log, "(ABI 1.2)"));
    free(log);
    wrk_plugins_close(r);
}
END_TEST

START_TEST(ltx_prefixed_entry)
{
    const char *n[] = {"ltx"};
    wrk_plugin_registry *r = open_only(join(1, n), NULL, NULL, NULL);
    ck_assert_int_eq(wrk_plugins_count(r), 1);
    ck_assert_str_eq(wrk_plugins_get(r, 0)->name, "ltxmod");
    wrk_plugins_close(r);
}
END_TEST

/* Stands in for a plugin's greedy_queue (never called). */
static int fake_greedy_queue(void *model, void *kv, int32_t token, int pos)
{
    (void)model;
    (void)kv;
    (void)token;
    (void)pos;
    return 0;
}

START_TEST(descriptor_check_names_both_versions)
{
    const char *n[] = {"good"};
    wrk_plugin_registry *r = open_only(join(1, n), NULL, NULL, NULL);
    wp_plugin d = *wrk_plugins_get(r, 0), bad;
    static const size_t members[] = {
        offsetof(wp_plugin, name), offsetof(wp_plugin, architectures),
        offsetof(wp_plugin, load), offsetof(wp_plugin, unload),
        offsetof(wp_plugin, model_info), offsetof(wp_plugin, kv_size),
        offsetof(wp_plugin, kv_create), offsetof(wp_plugin, kv_free),
        offsetof(wp_plugin, forward)};

    ck_assert_int_eq(wrk_plugin_check_descriptor(NULL, "/p/x.so"), CUDA_ERROR_MODEL_LOAD_FAILED);
    bad = d;
    bad.abi_major = 3 + (unsigned)(rand() % 5);
    ck_assert_int_eq(wrk_plugin_check_descriptor(&bad, "/p/x.so"), CUDA_ERROR_MODEL_LOAD_FAILED);
    {
        char want[64];
        snprintf(want, sizeof want, "ABI %u.%u, runtime ABI %s", bad.abi_major, bad.abi_minor,
                 RUNTIME_ABI);
        ck_assert_ptr_nonnull(strstr(wrk_error_detail(), want));
        ck_assert_ptr_nonnull(strstr(wrk_error_detail(), "/p/x.so"));
    }
    bad = d;
    bad.struct_size = (uint32_t)offsetof(wp_plugin, kv_free);
    ck_assert_int_eq(wrk_plugin_check_descriptor(&bad, "/p/x.so"), CUDA_ERROR_MODEL_LOAD_FAILED);
    ck_assert_ptr_nonnull(strstr(wrk_error_detail(), "runtime ABI " RUNTIME_ABI));
    for (size_t i = 0; i < sizeof members / sizeof *members; i++) {
        bad = d;
        memset((char *)&bad + members[i], 0, sizeof(void *));
        ck_assert_int_eq(wrk_plugin_check_descriptor(&bad, "/p/x.so"),
                         CUDA_ERROR_MODEL_LOAD_FAILED);
        ck_assert_ptr_nonnull(strstr(wrk_error_detail(), "missing"));
    }
    bad = d;
    bad.backends = 0;
    ck_assert_int_eq(wrk_plugin_check_descriptor(&bad, "/p/x.so"), CUDA_ERROR_MODEL_LOAD_FAILED);
    /* every minor up to ours is accepted, the next one refused */
    for (unsigned minor = 0; minor <= WORKER_PLUGIN_ABI_MINOR + 1; minor++) {
        bad = d;
        bad.abi_minor = minor;
        ck_assert_int_eq(wrk_plugin_check_descriptor(&bad, "/p/x.so"),
                         minor <= WORKER_PLUGIN_ABI_MINOR ? 0 : CUDA_ERROR_MODEL_LOAD_FAILED);
    }
    ck_assert_ptr_nonnull(strstr(wrk_error_detail(), "plugin needs a newer runtime"));
    /* half of the pipelined greedy pair (ABI 1.3) */
    bad = d;
    bad.greedy_queue = fake_greedy_queue;
    ck_assert_int_eq(wrk_plugin_check_descriptor(&bad, "/p/x.so"), CUDA_ERROR_MODEL_LOAD_FAILED);
    ck_assert_ptr_nonnull(strstr(wrk_error_detail(), "greedy_queue and greedy_collect"));
    /* A larger descriptor of a future minor... of our own minor is fine. */
    bad = d;
    bad.struct_size = sizeof(wp_plugin) + 64;
    ck_assert_int_eq(wrk_plugin_check_descriptor(&bad, "/p/x.so"), 0);
    wrk_plugins_close(r);
}
END_TEST

/* Two plugins serve "toy": the first found wins and the choice is logged; prefer
 * overrides; a prefer naming a plugin that is absent falls back to the first. */
START_TEST(duplicates_first_found_and_prefer)
{
    const char *gd[] = {"good", "dup"}, *dg[] = {"dup", "good"};
    char *log = NULL;
    wrk_plugin_registry *r;
    const wp_plugin *p;

    r = open_only(join(2, gd), NULL, NULL, NULL);
    ck_assert_int_eq(wrk_plugins_count(r), 2);
    ptu_capture_begin();
    p = wrk_plugins_find(r, "toy", WP_BACKEND_HOST);
    log = ptu_capture_end();
    ck_assert_str_eq(p->name, "toy");
    ck_assert_ptr_nonnull(strstr(log, "first found"));
    ck_assert_ptr_nonnull(strstr(log, "toyalt"));
    free(log);
    wrk_plugins_close(r);

    r = open_only(join(2, dg), NULL, NULL, NULL);
    ck_assert_str_eq(wrk_plugins_find(r, "toy", WP_BACKEND_HOST)->name, "toyalt");
    wrk_plugins_close(r);

    r = open_only(join(2, gd), "llama=llama,toy=toyalt", NULL, NULL);
    ptu_capture_begin();
    p = wrk_plugins_find(r, "toy", WP_BACKEND_HOST);
    log = ptu_capture_end();
    ck_assert_str_eq(p->name, "toyalt");
    ck_assert_ptr_nonnull(strstr(log, "prefer"));
    free(log);
    wrk_plugins_close(r);

    r = open_only(join(2, gd), "toy=absent", NULL, NULL);
    ptu_capture_begin();
    p = wrk_plugins_find(r, "toy", WP_BACKEND_HOST);
    log = ptu_capture_end();
    ck_assert_str_eq(p->name, "toy");
    ck_assert_ptr_nonnull(strstr(log, "absent"));
    free(log);
    wrk_plugins_close(r);
}
END_TEST

START_TEST(disable_skips)
{
    const char *gd[] = {"good", "dup"};
    char *log = NULL;
    wrk_plugin_registry *r = open_only(join(2, gd), NULL, "other,toy", &log);
    ck_assert_int_eq(wrk_plugins_count(r), 1);
    ck_assert_str_eq(wrk_plugins_find(r, "toy", WP_BACKEND_HOST)->name, "toyalt");
    ck_assert_ptr_nonnull(strstr(log, "disable"));
    free(log);
    wrk_plugins_close(r);

    r = open_only(join(2, gd), NULL, "toy,toyalt", NULL);
    ck_assert_int_eq(wrk_plugins_count(r), 0);
    wrk_plugins_close(r);
}
END_TEST

/* A module name found in an earlier directory shadows the same name later; the settings'
 * path comes before WORKER_PLUGIN_PATH. */
START_TEST(search_path_order)
{
    char tmp[256], so[600], f[600], env[1200];
    const char *n[2];
    wrk_plugin_registry *r;
    wrk_plugin_settings s = {NULL, NULL, NULL, 0};
    char *log = NULL;

    ck_assert_ptr_nonnull(ptu_mkdtemp(tmp, sizeof tmp));
    snprintf(f, sizeof f, "%s/toy.so", tmp);   /* toyalt's code under the name "toy" */
    ck_assert_int_eq(ptu_copy(ptu_module_so("dup", "toyalt", so, sizeof so), f), 0);

    n[0] = tmp; n[1] = "good";
    r = open_only(join(2, n), NULL, NULL, &log);
    ck_assert_int_eq(wrk_plugins_count(r), 1);
    ck_assert_str_eq(wrk_plugins_get(r, 0)->name, "toyalt");
    ck_assert_ptr_nonnull(strstr(log, "shadowed"));
    free(log);
    wrk_plugins_close(r);

    n[0] = "good"; n[1] = tmp;
    r = open_only(join(2, n), NULL, NULL, NULL);
    ck_assert_int_eq(wrk_plugins_count(r), 1);
    ck_assert_str_eq(wrk_plugins_get(r, 0)->name, "toy");
    wrk_plugins_close(r);

    /* settings path (dup) before WORKER_PLUGIN_PATH (good). */
    snprintf(env, sizeof env, "%s", ptu_module_dir("good", dirs[0], sizeof dirs[0]));
    ck_assert_int_eq(setenv("WORKER_PLUGIN_PATH", env, 1), 0);
    s.path = ptu_module_dir("dup", dirs[1], sizeof dirs[1]);
    ck_assert_int_eq(wrk_plugins_open(&s, &r), 0);
    ck_assert_int_eq(wrk_plugins_count(r), 2);
    ck_assert_str_eq(wrk_plugins_get(r, 0)->name, "toyalt");
    ck_assert_str_eq(wrk_plugins_get(r, 1)->name, "toy");
    ck_assert_str_eq(wrk_plugins_find(r, "toy", WP_BACKEND_HOST)->name, "toyalt");
    wrk_plugins_close(r);
    /* WORKER_PLUGIN_PATH alone. */
    s.path = NULL;
    ck_assert_int_eq(wrk_plugins_open(&s, &r), 0);
    ck_assert_str_eq(wrk_plugins_find(r, "toy", WP_BACKEND_HOST)->name, "toy");
    wrk_plugins_close(r);
    ptu_rmdir(tmp);
}
END_TEST

START_TEST(find_errors)
{
    const char *n[] = {"good"};
    wrk_plugin_registry *r = open_only(join(1, n), NULL, NULL, NULL);
    ck_assert_ptr_null(wrk_plugins_find(r, "mamba", WP_BACKEND_HOST));
    ck_assert_ptr_nonnull(strstr(wrk_error_detail(), "'mamba'"));
    ck_assert_ptr_nonnull(strstr(wrk_error_detail(), "served: toy"));
    ck_assert_ptr_null(wrk_plugins_find(r, "toy", 7));
    ck_assert_ptr_null(wrk_plugins_find(NULL, "toy", WP_BACKEND_HOST));
    ck_assert_ptr_null(wrk_plugins_find(r, NULL, WP_BACKEND_HOST));
    ck_assert_int_eq(wrk_plugins_count(NULL), 0);
    ck_assert_int_eq(wrk_plugins_open(NULL, NULL), CUDA_ERROR_INVALID_PARAMETER);
    wrk_plugins_close(NULL);
    wrk_plugins_close(r);
}
END_TEST

/* Opening and closing many registries leaves no file descriptors behind. */
START_TEST(no_descriptor_leak)
{
    const char *n[] = {"badmajor", "noentry", "good", "dup"};
    int before;
    join(4, n);
    for (int i = 0; i < 2; i++) wrk_plugins_close(open_only(path, NULL, NULL, NULL));
    before = ptu_count_fds();
    for (int i = 0; i < 20; i++) wrk_plugins_close(open_only(path, NULL, NULL, NULL));
    ck_assert_int_eq(ptu_count_fds(), before);
}
END_TEST

static Suite *registry_suite(void)
{
    Suite *s = suite_create("registry");
    TCase *tc = tcase_create("modules");
    tcase_add_test(tc, good_plugin_loads);
    tcase_add_loop_test(tc, bad_module_refused, 0, (int)(sizeof rejected / sizeof *rejected));
    tcase_add_test(tc, non_plugin_files_refused_registry_stays_usable);
    tcase_add_test(tc, older_minor_accepted);
    tcase_add_test(tc, ltx_prefixed_entry);
    tcase_add_test(tc, descriptor_check_names_both_versions);
    tcase_add_test(tc, duplicates_first_found_and_prefer);
    tcase_add_test(tc, disable_skips);
    tcase_add_test(tc, search_path_order);
    tcase_add_test(tc, find_errors);
    tcase_add_test(tc, no_descriptor_leak);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(registry_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
