/*
 * main.c - worker-convert: command line, source dispatch, output.
 *
 *   worker-convert --from llama2c MODEL.bin TOKENIZER.bin -o OUT.gguf [--type f32|f16|bf16]
 *                  [--name NAME]
 *
 * Exit status: 0 written, 1 a bad input or output (the message names file and offset),
 * 2 a usage error. The output is written atomically, so a failed run leaves no partial file.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "core/wrk_error.h"
#include "worker_plugin.h"
#include "convert.h"

static void usage(FILE *f)
{
    const wc_source *s;
    fprintf(f, "usage: worker-convert --from FORMAT INPUT... -o OUT.gguf [--type f32|f16|bf16]"
               " [--name NAME]\n\nformats:\n");
    for (s = wc_sources(); s->name; s++)
        fprintf(f, "  --from %-10s %s\n      %s\n", s->name, s->inputs, s->summary);
    fprintf(f, "\noptions:\n"
               "  -o, --output PATH   the GGUF to write (replaced atomically)\n"
               "  -t, --type TYPE     2-D weights as f32 (default), f16 or bf16; norms stay f32\n"
               "  -n, --name NAME     general.name (default: the model file's base name)\n"
               "  -h, --help          this text\n"
               "  -V, --version       the version\n");
}

static int parse_type(const char *s, uint32_t *out)
{
    if (strcasecmp(s, "f32") == 0) *out = WP_DTYPE_F32;
    else if (strcasecmp(s, "f16") == 0) *out = WP_DTYPE_F16;
    else if (strcasecmp(s, "bf16") == 0) *out = WP_DTYPE_BF16;
    else return -1;
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "from", required_argument, NULL, 'f' }, { "output", required_argument, NULL, 'o' },
        { "type", required_argument, NULL, 't' }, { "name", required_argument, NULL, 'n' },
        { "help", no_argument, NULL, 'h' },       { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 } };
    const char *from = NULL, *out = NULL;
    const wc_source *src;
    wc_options opt = { WP_DTYPE_F32, NULL };
    gguf_writer *w;
    int c, rc;

    while ((c = getopt_long(argc, argv, "f:o:t:n:hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'f': from = optarg; break;
        case 'o': out = optarg; break;
        case 'n': opt.name = optarg; break;
        case 't':
            if (parse_type(optarg, &opt.weight_type) != 0) {
                fprintf(stderr, "worker-convert: unknown --type '%s' (f32, f16, bf16)\n",
                        optarg);
                return 2;
            }
            break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("worker-convert %s\n", PACKAGE_VERSION); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!from || !out) {
        fprintf(stderr, "worker-convert: --from and -o are required\n");
        usage(stderr);
        return 2;
    }
    for (src = wc_sources(); src->name && strcmp(src->name, from) != 0; src++)
        ;
    if (!src->name) {
        fprintf(stderr, "worker-convert: unknown --from '%s'\n", from);
        usage(stderr);
        return 2;
    }
    if (argc - optind != src->n_inputs) {
        fprintf(stderr, "worker-convert: --from %s takes %d inputs (%s), got %d\n", src->name,
                src->n_inputs, src->inputs, argc - optind);
        return 2;
    }

    w = gguf_writer_new();
    if (!w) {
        fprintf(stderr, "worker-convert: out of memory\n");
        return 1;
    }
    rc = src->convert((const char *const *)(argv + optind), &opt, w);
    if (rc == 0) {
        rc = gguf_writer_write(w, out);
        if (rc) wrk_error_prefix("writing %s: ", out);
    }
    gguf_writer_free(w);
    if (rc) {
        fprintf(stderr, "worker-convert: error: %s\n", wrk_error_detail());
        return 1;
    }
    fprintf(stderr, "worker-convert: wrote %s\n", out);
    return 0;
}
