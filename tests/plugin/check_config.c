/*
 * check_config.c - worker-orcd.ini parsing (runtime/config): every key, every class of bad
 * value reported as file:line, and the override order defaults < file < later file < flag.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "worker_errors.h"
#include "core/wrk_log.h"
#include "config/config.h"

static char tmpdir[256];
static unsigned rnd_state;

static unsigned rnd(unsigned lo, unsigned hi)
{
    rnd_state = rnd_state * 1103515245u + 12345u;
    return lo + (rnd_state >> 8) % (hi - lo + 1);
}

static void setup(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/check_config.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    rnd_state = (unsigned)time(NULL) ^ (unsigned)getpid();
}

static void teardown(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

/* Write text to <tmpdir>/name and return the path (static buffer per call site). */
static const char *write_file(const char *name, const char *text, char *path, size_t cap)
{
    FILE *fp;
    snprintf(path, cap, "%s/%s", tmpdir, name);
    fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    ck_assert_int_eq(fputs(text, fp) >= 0, 1);
    ck_assert_int_eq(fclose(fp), 0);
    return path;
}

START_TEST(defaults)
{
    wrk_config c;
    wrk_config_defaults(&c);
    ck_assert_str_eq(c.device, "cuda:0");
    ck_assert_str_eq(c.server_host, "127.0.0.1");
    ck_assert_uint_eq(c.server_port, 8080);
    ck_assert_uint_eq(c.max_tokens, 2048);
    ck_assert_uint_eq(c.inference_timeout_s, 300);
    ck_assert_int_eq(c.log_level, WRK_LOG_INFO);
    ck_assert_int_eq(c.log_json, 0);
    ck_assert_str_eq(c.model_path, "");
    ck_assert_str_eq(c.plugin_path, "");
}
END_TEST

START_TEST(every_key)
{
    char text[4096], path[512], err[512];
    unsigned port = rnd(1, 65535), queue = rnd(1, 1000), body = rnd(1024, 1u << 30);
    unsigned cto = rnd(1, 86400), maxc = rnd(1, 65536), maxt = rnd(1, 100000);
    unsigned ito = rnd(1, 86400), depth = rnd(1, 1024), hci = rnd(0, 86400);
    unsigned ctx = rnd(0, 1u << 20), dev = rnd(0, 1023);
    wrk_config c;

    snprintf(text, sizeof text,
             "; comment\n# another\n[runtime]\ndevice = cuda:%u\n\n[model]\n"
             "path = /models/m%u.gguf\ncontext_length = %u\n[plugins]\npath = /a/%u:/b\n"
             "prefer = llama=llama%u,gpt2=gpt\ndisable = x%u,y\n[server]\nhost = 0.0.0.0\n"
             "port = %u\nqueue_size = %u\nmax_body_bytes = %u\nconnection_timeout_s = %u\n"
             "max_connections = %u\nworker_id = w-%u\n[limits]\nmax_tokens = %u\n"
             "inference_timeout_s = %u\nmax_json_depth = %u\nhealth_check_interval_s = %u\n"
             "[logging]\nformat = json\nlevel = debug\n",
             dev, port, ctx, queue, maxc, depth, port, queue, body, cto, maxc, ito, maxt, ito,
             depth, hci);
    wrk_config_defaults(&c);
    ck_assert_int_eq(wrk_config_load(write_file("all.ini", text, path, sizeof path), &c, err,
                                     sizeof err), 0);
    ck_assert_str_eq(err, "");
    {
        char want[300];
        snprintf(want, sizeof want, "cuda:%u", dev);
        ck_assert_str_eq(c.device, want);
        snprintf(want, sizeof want, "/models/m%u.gguf", port);
        ck_assert_str_eq(c.model_path, want);
        snprintf(want, sizeof want, "/a/%u:/b", queue);
        ck_assert_str_eq(c.plugin_path, want);
        snprintf(want, sizeof want, "llama=llama%u,gpt2=gpt", maxc);
        ck_assert_str_eq(c.plugin_prefer, want);
        snprintf(want, sizeof want, "x%u,y", depth);
        ck_assert_str_eq(c.plugin_disable, want);
        snprintf(want, sizeof want, "w-%u", ito);
        ck_assert_str_eq(c.worker_id, want);
    }
    ck_assert_uint_eq(c.context_length, ctx);
    ck_assert_str_eq(c.server_host, "0.0.0.0");
    ck_assert_uint_eq(c.server_port, port);
    ck_assert_uint_eq(c.queue_size, queue);
    ck_assert_uint_eq(c.max_body_bytes, body);
    ck_assert_uint_eq(c.connection_timeout_s, cto);
    ck_assert_uint_eq(c.max_connections, maxc);
    ck_assert_uint_eq(c.max_tokens, maxt);
    ck_assert_uint_eq(c.inference_timeout_s, ito);
    ck_assert_uint_eq(c.max_json_depth, depth);
    ck_assert_uint_eq(c.health_check_interval_s, hci);
    ck_assert_int_eq(c.log_json, 1);
    ck_assert_int_eq(c.log_level, WRK_LOG_DEBUG);
}
END_TEST

/* Each bad file: the line the error must name and a word the message must contain. */
static const struct {
    const char *text;
    int line;
    const char *word;
} bad[] = {
    {"[server]\nport = 80\n[nosuch]\nx = 1\n", 4, "unknown section [nosuch]"},
    {"[server]\nport = 80\nportt = 81\n", 3, "unknown key 'portt'"},
    {"[server]\n\n\nport = eighty\n", 4, "port"},
    {"[server]\nport = 70000\n", 2, "out of range"},
    {"[server]\nport = 0\n", 2, "out of range"},
    {"[server]\nport = -5\n", 2, "port"},
    {"[server]\nport = 12x\n", 2, "decimal"},
    {"[server]\nport = 99999999999999999999999\n", 2, "range"},
    {"[limits]\nmax_tokens =\n", 2, "max_tokens"},
    {"[runtime]\ndevice = gpu:0\n", 2, "cuda:N"},
    {"[runtime]\ndevice = cuda:\n", 2, "cuda:N"},
    {"[runtime]\ndevice = cuda:1x\n", 2, "cuda:N"},
    {"[logging]\nlevel = verbose\n", 2, "error, warn, info or debug"},
    {"[logging]\nformat = xml\n", 2, "text or json"},
    {"device = host\n", 1, "outside any [section]"},
    {"[server]\nthis line has no equals sign\n", 2, "syntax error"},
    {"[plugins]\nprefer = llama\n", 2, "arch=plugin"},
    {"[plugins]\nprefer = llama=a,\n", 2, "arch=plugin"},
    {"[plugins]\npath = /a::/b\n", 2, "empty item"},
    {"[plugins]\ndisable = a,,b\n", 2, "empty item"},
    {"[server]\nhost =\n", 2, "empty"},
};

START_TEST(bad_values_name_file_and_line)
{
    char path[512], err[512], want[600];
    wrk_config c, before;

    wrk_config_defaults(&c);
    c.server_port = rnd(1, 65535);   /* a non-default value that must survive */
    before = c;
    write_file("bad.ini", bad[_i].text, path, sizeof path);
    ck_assert_int_eq(wrk_config_load(path, &c, err, sizeof err), CUDA_ERROR_INVALID_PARAMETER);
    snprintf(want, sizeof want, "%s:%d: ", path, bad[_i].line);
    ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "case %d: '%s' does not start '%s'",
                  _i, err, want);
    ck_assert_msg(strstr(err, bad[_i].word) != NULL, "case %d: '%s' lacks '%s'", _i, err,
                  bad[_i].word);
    ck_assert_msg(memcmp(&c, &before, sizeof c) == 0, "case %d: config changed on error", _i);
}
END_TEST

START_TEST(long_line_is_an_error)
{
    char text[1024], path[512], err[512], want[600];
    wrk_config c;
    size_t n;

    n = (size_t)snprintf(text, sizeof text, "[model]\npath = /");
    memset(text + n, 'a', 400);
    snprintf(text + n + 400, sizeof text - n - 400, "\n[server]\nport = 1\n");
    wrk_config_defaults(&c);
    write_file("long.ini", text, path, sizeof path);
    ck_assert_int_eq(wrk_config_load(path, &c, err, sizeof err), CUDA_ERROR_INVALID_PARAMETER);
    snprintf(want, sizeof want, "%s:2: line too long", path);
    ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "'%s'", err);
    ck_assert_uint_eq(c.server_port, 8080);
}
END_TEST

START_TEST(missing_file)
{
    char path[512], err[512];
    wrk_config c;
    snprintf(path, sizeof path, "%s/absent-%u.ini", tmpdir, rnd(0, 1u << 30));
    wrk_config_defaults(&c);
    ck_assert_int_eq(wrk_config_load(path, &c, err, sizeof err), CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_ptr_nonnull(strstr(err, path));
    ck_assert_ptr_nonnull(strstr(err, "cannot open"));
    ck_assert_int_eq(wrk_config_load(NULL, &c, err, sizeof err), CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_int_eq(wrk_config_load(path, NULL, NULL, 0), CUDA_ERROR_INVALID_PARAMETER);
}
END_TEST

/* defaults < first file < second file < command-line flag (wrk_config_set). */
START_TEST(override_order)
{
    char a[512], b[512], text[512], err[512], v[32];
    unsigned p1 = rnd(1, 30000), p2 = rnd(30001, 65535), t1 = rnd(1, 1000), q = rnd(1, 99);
    unsigned flag_port = rnd(1, 65535);
    wrk_config c;

    snprintf(text, sizeof text, "[server]\nport = %u\nqueue_size = %u\n[limits]\nmax_tokens = %u\n",
             p1, q, t1);
    write_file("a.ini", text, a, sizeof a);
    snprintf(text, sizeof text, "[server]\nport = %u\n[logging]\nlevel = warn\n", p2);
    write_file("b.ini", text, b, sizeof b);

    wrk_config_defaults(&c);
    ck_assert_int_eq(wrk_config_load(a, &c, err, sizeof err), 0);
    ck_assert_uint_eq(c.server_port, p1);
    ck_assert_int_eq(wrk_config_load(b, &c, err, sizeof err), 0);
    ck_assert_uint_eq(c.server_port, p2);          /* later file wins */
    ck_assert_uint_eq(c.queue_size, q);            /* kept from the first */
    ck_assert_uint_eq(c.max_tokens, t1);
    ck_assert_int_eq(c.log_level, WRK_LOG_WARN);
    ck_assert_uint_eq(c.inference_timeout_s, 300); /* default where no file says */

    snprintf(v, sizeof v, "%u", flag_port);
    ck_assert_int_eq(wrk_config_set(&c, "server", "port", v, err, sizeof err), 0);
    ck_assert_uint_eq(c.server_port, flag_port);   /* the flag wins */
    ck_assert_int_eq(wrk_config_set(&c, "runtime", "device", "host", err, sizeof err), 0);
    ck_assert_str_eq(c.device, "host");

    /* A bad flag is refused with a message and changes nothing. */
    ck_assert_int_eq(wrk_config_set(&c, "server", "port", "http", err, sizeof err),
                     CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_ptr_nonnull(strstr(err, "port"));
    ck_assert_uint_eq(c.server_port, flag_port);
    ck_assert_int_eq(wrk_config_set(&c, "server", "nope", "1", err, sizeof err),
                     CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_ptr_nonnull(strstr(err, "unknown key 'nope'"));
    ck_assert_int_eq(wrk_config_set(NULL, "server", "port", "1", err, sizeof err),
                     CUDA_ERROR_INVALID_PARAMETER);
}
END_TEST


/* docs/worker-orcd.ini documents every key with its default: loading it over a config in
 * which every field differs from the defaults must give exactly the defaults. */
START_TEST(documented_example_is_the_defaults)
{
    char doc[1024], path[512], err[512];
    const char *src = getenv("top_srcdir");
    wrk_config c, d;

    snprintf(doc, sizeof doc, "%s/docs/worker-orcd.ini", src && *src ? src : ".");
    wrk_config_defaults(&c);
    ck_assert_int_eq(wrk_config_load(write_file("nondefault.ini",
        "[runtime]\ndevice = host\n[model]\npath = /m.gguf\ncontext_length = 7\n"
        "[plugins]\npath = /p\nprefer = a=b\ndisable = c\n[server]\nhost = ::1\n"
        "port = 1\nqueue_size = 2\nmax_body_bytes = 2048\nconnection_timeout_s = 3\n"
        "max_connections = 4\nworker_id = w\n[limits]\nmax_tokens = 5\n"
        "inference_timeout_s = 6\nmax_json_depth = 7\nhealth_check_interval_s = 8\n"
        "[logging]\nformat = json\nlevel = error\n", path, sizeof path), &c, err, sizeof err), 0);
    ck_assert_int_eq(wrk_config_load(doc, &c, err, sizeof err), 0);
    wrk_config_defaults(&d);
    ck_assert_str_eq(c.device, d.device);
    ck_assert_str_eq(c.model_path, d.model_path);
    ck_assert_str_eq(c.plugin_path, d.plugin_path);
    ck_assert_str_eq(c.plugin_prefer, d.plugin_prefer);
    ck_assert_str_eq(c.plugin_disable, d.plugin_disable);
    ck_assert_str_eq(c.server_host, d.server_host);
    ck_assert_str_eq(c.worker_id, d.worker_id);
    ck_assert_uint_eq(c.context_length, d.context_length);
    ck_assert_uint_eq(c.server_port, d.server_port);
    ck_assert_uint_eq(c.queue_size, d.queue_size);
    ck_assert_uint_eq(c.max_body_bytes, d.max_body_bytes);
    ck_assert_uint_eq(c.connection_timeout_s, d.connection_timeout_s);
    ck_assert_uint_eq(c.max_connections, d.max_connections);
    ck_assert_uint_eq(c.max_tokens, d.max_tokens);
    ck_assert_uint_eq(c.inference_timeout_s, d.inference_timeout_s);
    ck_assert_uint_eq(c.max_json_depth, d.max_json_depth);
    ck_assert_uint_eq(c.health_check_interval_s, d.health_check_interval_s);
    ck_assert_int_eq(c.log_json, d.log_json);
    ck_assert_int_eq(c.log_level, d.log_level);
}
END_TEST

static Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("ini");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, defaults);
    tcase_add_test(tc, every_key);
    tcase_add_loop_test(tc, bad_values_name_file_and_line, 0, (int)(sizeof bad / sizeof *bad));
    tcase_add_test(tc, long_line_is_an_error);
    tcase_add_test(tc, missing_file);
    tcase_add_test(tc, override_order);
    tcase_add_test(tc, documented_example_is_the_defaults);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(config_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
