/*
 * llama_reference.c - the llama plugin against the independent transformers reference
 * (tests/reference/make_reference.py -> tests/reference/data/NAME.{gguf,json,logits.f32}):
 * prefill logits and token-by-token decode logits within the fixture's tolerance
 * (1e-4 F32, 1e-2 F16/BF16), and the greedy continuation token for token. Host backend
 * always, CUDA when a device is present. Exits 77 (SKIP) when the data directory holds no
 * fixture yet.
 */
#include <check.h>
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llama_testutil.h"

#define MAX_FIXTURES 64

static char data_dir[1024];
static char *fixtures[MAX_FIXTURES];   /* sidecar paths */
static int n_fixtures;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void find_fixtures(void)
{
    const char *src = getenv("top_srcdir");
    snprintf(data_dir, sizeof(data_dir), "%s/tests/reference/data", src ? src : ".");
    DIR *d = opendir(data_dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) && n_fixtures < MAX_FIXTURES) {
        size_t len = strlen(e->d_name);
        if (len > 5 && strcmp(e->d_name + len - 5, ".json") == 0) {
            char *p = malloc(strlen(data_dir) + len + 2);
            sprintf(p, "%s/%s", data_dir, e->d_name);
            fixtures[n_fixtures++] = p;
        }
    }
    closedir(d);
    qsort(fixtures, n_fixtures, sizeof(char *), cmp_str);
}

typedef struct fixture {
    char gguf[1200], logits[1200];
    int n, vocab, n_greedy;
    int32_t *tokens, *greedy;
    float *ref;
    double tol;
} fixture;

/* Read one sidecar and its logits; every field is checked (the data is input too). */
static void fixture_read(const char *json_path, fixture *f)
{
    json_error_t jerr;
    json_t *j = json_load_file(json_path, 0, &jerr);
    ck_assert_msg(j != NULL, "%s: %s", json_path, jerr.text);
    json_t *shape = json_object_get(j, "shape"), *tok = json_object_get(j, "tokens"),
           *gr = json_object_get(j, "greedy");
    const char *gg = json_string_value(json_object_get(j, "gguf")),
               *lg = json_string_value(json_object_get(j, "logits"));
    ck_assert_msg(json_is_array(shape) && json_array_size(shape) == 2 && json_is_array(tok) &&
                  json_is_array(gr) && gg && lg, "%s: malformed sidecar", json_path);
    f->n = (int)json_integer_value(json_array_get(shape, 0));
    f->vocab = (int)json_integer_value(json_array_get(shape, 1));
    f->tol = json_real_value(json_object_get(j, "tolerance"));
    ck_assert_msg(f->n > 0 && f->n <= 4096 && f->vocab > 0 && f->vocab <= (1 << 20) &&
                  (int)json_array_size(tok) == f->n && f->tol > 0,
                  "%s: bad shape/tokens/tolerance", json_path);
    f->n_greedy = (int)json_array_size(gr);
    f->tokens = malloc(sizeof(int32_t) * f->n);
    f->greedy = malloc(sizeof(int32_t) * (f->n_greedy + 1));
    for (int i = 0; i < f->n; i++)
        f->tokens[i] = (int32_t)json_integer_value(json_array_get(tok, i));
    for (int i = 0; i < f->n_greedy; i++)
        f->greedy[i] = (int32_t)json_integer_value(json_array_get(gr, i));
    snprintf(f->gguf, sizeof(f->gguf), "%s/%s", data_dir, gg);
    snprintf(f->logits, sizeof(f->logits), "%s/%s", data_dir, lg);
    json_decref(j);

    size_t count = (size_t)f->n * f->vocab;
    f->ref = malloc(count * sizeof(float));
    FILE *fp = fopen(f->logits, "rb");
    ck_assert_msg(fp != NULL, "cannot open %s", f->logits);
    ck_assert_msg(fread(f->ref, sizeof(float), count, fp) == count, "%s: short", f->logits);
    fclose(fp);
}

static void fixture_free(fixture *f)
{
    free(f->tokens);
    free(f->greedy);
    free(f->ref);
}

static void check_fixture(const char *device, int idx)
{
    fixture f;
    fixture_read(fixtures[idx], &f);
    CudaContext *ctx;
    CudaModel *m = lt_load(device, f.gguf, &ctx);
    ck_assert_int_eq((int)m->info.vocab_size, f.vocab);
    size_t count = (size_t)f.n * f.vocab;
    float *ours = malloc(count * sizeof(float));
    int32_t *gen = malloc(sizeof(int32_t) * (f.n_greedy + 1));

    ck_assert_int_eq(lt_prefill(m, f.tokens, f.n, 0, ours), 0);
    double e = lt_rel_err(ours, f.ref, count);
    ck_assert_msg(e <= f.tol, "%s on %s: prefill rel err %g > %g", f.gguf, device, e, f.tol);
    ck_assert_int_eq(lt_decode(m, f.tokens, f.n, ours), 0);
    e = lt_rel_err(ours, f.ref, count);
    ck_assert_msg(e <= f.tol, "%s on %s: decode rel err %g > %g", f.gguf, device, e, f.tol);
    ck_assert_int_eq(lt_greedy(m, f.tokens, f.n, f.n_greedy, gen), 0);
    for (int i = 0; i < f.n_greedy; i++)
        ck_assert_msg(gen[i] == f.greedy[i], "%s on %s: greedy token %d is %d, reference %d",
                      f.gguf, device, i, gen[i], f.greedy[i]);
    free(ours);
    free(gen);
    lt_unload(m, ctx);
    fixture_free(&f);
}

START_TEST(test_host_reference)
{
    check_fixture("host", _i);
}
END_TEST

START_TEST(test_cuda_reference)
{
    check_fixture("cuda:0", _i);
}
END_TEST

int main(void)
{
    find_fixtures();
    if (n_fixtures == 0) {
        fprintf(stderr, "no fixtures in %s: run tests/reference/make_reference.py\n",
                data_dir);
        return 77;
    }
    Suite *s = suite_create("llama_reference");
    TCase *tc = tcase_create("reference");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, test_host_reference, 0, n_fixtures);
    if (lt_have_gpu())
        tcase_add_loop_test(tc, test_cuda_reference, 0, n_fixtures);
    else
        fprintf(stderr, "no CUDA device: host backend only\n");
    suite_add_tcase(s, tc);
    const int status = check_run_suite(s, 0);
    for (int i = 0; i < n_fixtures; i++)
        free(fixtures[i]);
    return status;
}
